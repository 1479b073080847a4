// Pod Security: each namespace enforces the most hardened level that admits the pods rendered into it. In
// observability that is `privileged` only because of the host-access log shipper (Promtail); every other pod there,
// and every pod of the services' namespaces, meets `restricted` (the rules of the Pod Security Standards, checked on
// the rendered pod templates).
import { enforcedPodSecurity } from '../lib/charts/namespaces';
import { validateEnvironment } from '../lib/config/environment';
import { ENVIRONMENTS } from '../lib/config/environments';
import { S3_IRSA } from './support/fixtures';
import { ALL_ENVIRONMENTS, K8sObject, find, synthStack, workloads } from './support/manifest';
import { restrictedViolations } from './support/policy';

const IRSA = validateEnvironment({
  ...ENVIRONMENTS.prod, name: 'irsa', objectStorage: S3_IRSA,
  egress: { ...ENVIRONMENTS.prod.egress, dependencies: { ...ENVIRONMENTS.prod.egress.dependencies, objectStorageIdentity: { via: 'corporate' } } },
});

describe.each([...ALL_ENVIRONMENTS, IRSA].map(env => ({ env, name: env.name })))('Pod Security ($name)', ({ env }) => {
  const { stack, charts } = synthStack(env);
  const observability = charts.observability;
  const labels = find(observability, 'Namespace', 'observability').metadata.labels;

  test('observability enforces the level its components need: privileged exactly while a host-access shipper runs', () => {
    const needs = [stack.observability.logShipper.podSecurityLevel];
    expect(labels['pod-security.kubernetes.io/enforce']).toBe(enforcedPodSecurity(needs));
    expect(labels['pod-security.kubernetes.io/enforce']).toBe(stack.observability.podSecurityLevel);
    expect(labels['pod-security.kubernetes.io/warn']).toBe('restricted');
    expect(labels['pod-security.kubernetes.io/audit']).toBe('restricted');
  });

  test('the pods that fall short of restricted are exactly the host-access shipper\'s, so privileged is needed, and only for it', () => {
    const failing = workloads(observability).filter(w => restrictedViolations([w]).length > 0).map(w => `${w.kind}/${w.metadata.name}`);
    // Alloy reads the logs through the API: with it, nothing falls short and the namespace enforces restricted
    expect(failing).toEqual(env.logs.shipper === 'promtail' ? ['DaemonSet/promtail'] : []);
    expect(labels['pod-security.kubernetes.io/enforce']).toBe(env.logs.shipper === 'promtail' ? 'privileged' : 'restricted');
  });

  test('Alloy runs exactly where it ships the logs, and meets restricted', () => {
    const alloy = observability.filter(o => o.kind === 'DaemonSet' && o.metadata.name === 'alloy');
    expect(alloy.length).toBe(env.logs.shipper === 'alloy' ? 1 : 0);
    expect(restrictedViolations(alloy)).toEqual([]);
  });

  test('every other pod in observability meets restricted', () => {
    const others = observability.filter(o => !(o.kind === 'DaemonSet' && o.metadata.name === 'promtail'));
    expect(workloads(others).length).toBeGreaterThanOrEqual(5);
    expect(restrictedViolations(others)).toEqual([]);
  });

  test('every namespace of services enforces restricted, and every pod rendered into it meets it', () => {
    for (const namespace of Object.keys(stack.namespaces)) {
      expect(find(charts[namespace], 'Namespace', namespace).metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
      expect(restrictedViolations(charts[namespace])).toEqual([]);
    }
  });
});

describe('enforcedPodSecurity', () => {
  test.each([
    [[], 'restricted'],
    [['restricted'], 'restricted'],
    [['baseline', 'restricted'], 'baseline'],
    [['privileged', 'baseline'], 'privileged'],
  ] as const)('%j → %s', (needs, level) => {
    expect(enforcedPodSecurity(needs)).toBe(level);
  });
});

describe('restrictedViolations fails on what restricted refuses', () => {
  const LOCAL = synthStack(ENVIRONMENTS.local).charts.observability;
  const grafana = (change: (d: K8sObject) => void): K8sObject[] => {
    const d = structuredClone(find(LOCAL, 'Deployment', 'grafana'));
    change(d);
    return [d];
  };
  const pod = (d: K8sObject) => d.spec.template.spec;
  const container = (d: K8sObject) => pod(d).containers[0];
  const at = 'Deployment/grafana[grafana]';

  test('Grafana as rendered passes', () => {
    expect(restrictedViolations(grafana(() => undefined))).toEqual([]);
  });

  test.each([
    ['a hostPath volume', (d: K8sObject) => pod(d).volumes.push({ name: 'logs-host', hostPath: { path: '/var/log' } }),
      'Deployment/grafana: volume logs-host is hostPath, restricted admits only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret'],
    ['an nfs volume', (d: K8sObject) => pod(d).volumes.push({ name: 'share', nfs: { server: 'nas', path: '/' } }), 'Deployment/grafana: volume share is nfs'],
    ['the host network', (d: K8sObject) => { pod(d).hostNetwork = true; }, 'Deployment/grafana: hostNetwork must not be true'],
    ['the host PID namespace', (d: K8sObject) => { pod(d).hostPID = true; }, 'Deployment/grafana: hostPID must not be true'],
    ['a host port', (d: K8sObject) => { container(d).ports[0].hostPort = 3000; }, `${at}: hostPort 3000 must not be set`],
    ['a privileged container', (d: K8sObject) => { container(d).securityContext.privileged = true; }, `${at}: must not be privileged`],
    ['an added capability', (d: K8sObject) => { container(d).securityContext.capabilities.add = ['SYS_ADMIN']; },
      `${at}: capabilities may add only NET_BIND_SERVICE, not SYS_ADMIN`],
    ['capabilities not dropped', (d: K8sObject) => { container(d).securityContext.capabilities = {}; }, `${at}: capabilities must drop ALL`],
    ['privilege escalation left open', (d: K8sObject) => { delete container(d).securityContext.allowPrivilegeEscalation; }, `${at}: allowPrivilegeEscalation must be false`],
    ['root', (d: K8sObject) => { container(d).securityContext.runAsUser = 0; }, `${at}: runAsUser must not be 0`],
    ['runAsNonRoot unset everywhere', (d: K8sObject) => { delete container(d).securityContext.runAsNonRoot; delete pod(d).securityContext.runAsNonRoot; },
      `${at}: runAsNonRoot must be true`],
    ['an unconfined seccomp profile', (d: K8sObject) => { container(d).securityContext.seccompProfile = { type: 'Unconfined' }; },
      `${at}: seccompProfile must be RuntimeDefault or Localhost`],
    ['no seccomp profile at all', (d: K8sObject) => { delete container(d).securityContext.seccompProfile; delete pod(d).securityContext.seccompProfile; },
      `${at}: seccompProfile must be RuntimeDefault or Localhost`],
    ['an unmasked /proc', (d: K8sObject) => { container(d).securityContext.procMount = 'Unmasked'; }, `${at}: procMount must be Default`],
    ['an unsafe sysctl', (d: K8sObject) => { pod(d).securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }]; },
      'Deployment/grafana: sysctl kernel.msgmax is not a safe one'],
  ] as const)('%s', (_what, change, message) => {
    expect(restrictedViolations(grafana(change))).toEqual([expect.stringContaining(message)]);
  });

  test('NET_BIND_SERVICE may be added', () => {
    expect(restrictedViolations(grafana(d => { container(d).securityContext.capabilities.add = ['NET_BIND_SERVICE']; }))).toEqual([]);
  });

  test('Promtail, which reads the nodes\' logs, is refused for its hostPath volumes and root', () => {
    const violations = restrictedViolations([find(LOCAL, 'DaemonSet', 'promtail')]);
    expect(violations).toEqual(expect.arrayContaining([
      expect.stringContaining('DaemonSet/promtail: volume pods is hostPath'),
      'DaemonSet/promtail: the pod\'s runAsNonRoot must be true or unset',
      'DaemonSet/promtail: the pod\'s runAsUser must not be 0',
    ]));
  });
});
