import { Services } from '../../lib/services/catalog';
import { ENVIRONMENTS } from '../../lib/config/environments';
import {
  SINGLE_CLUSTER_ENVIRONMENTS, K8sObject, configFile, find, ofKind, repoServices, servicesWithFixtures, synthStack,
} from '../support/manifest';
import { policyViolations } from '../support/policy';
import { schemaErrors } from '../support/schema';

// a team's service that is nothing like the demo: tests/fixtures/services/ledger.yaml
const WITH_LEDGER = servicesWithFixtures('ledger');

describe.each(SINGLE_CLUSTER_ENVIRONMENTS)('a third service, ledger, in its own namespace ($name)', env => {
  const { charts } = synthStack(env, 'steady', WITH_LEDGER);
  const payments = charts.payments;
  const all = Object.values(charts).flat();

  test('its namespace gets a chart of its own: the namespace, mesh and default-deny policies', () => {
    expect(find(payments, 'Namespace', 'payments').metadata.labels).toMatchObject({
      'istio-injection': 'enabled', 'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(find(payments, 'PeerAuthentication', 'default').spec.mtls.mode).toBe('STRICT');
    expect(find(payments, 'NetworkPolicy', 'default-deny-all').spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test('Deployment, Service, DestinationRule, VirtualService: port 9090, TCP probes, uid 65532, no metrics annotations', () => {
    const deployment = find(payments, 'Deployment', 'ledger-stable');
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0];
    expect(c.image).toBe('ghcr.io/example/ledger:1.0.0');
    expect(c.ports).toEqual([{ name: 'http', containerPort: 9090, protocol: 'TCP' }]);
    expect(c.readinessProbe.tcpSocket).toEqual({ port: 'http' });
    expect(c.livenessProbe.tcpSocket).toEqual({ port: 'http' });
    expect(c.args).toEqual(['--listen=:9090', '--scratch=/var/cache/ledger']);
    expect(c.command).toBeUndefined();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.volumeMounts).toEqual([{ name: 'writable-0', mountPath: '/var/cache/ledger' }]);
    expect(pod.volumes).toEqual([{ name: 'writable-0', emptyDir: {} }]);
    expect(c.env).toContainEqual({ name: 'LEDGER_DB_URL', valueFrom: { secretKeyRef: { name: 'ledger-db', key: 'url' } } });
    expect(c.env).toContainEqual({ name: 'LEDGER_TRACK', valueFrom: { fieldRef: { fieldPath: 'metadata.labels[\'version\']' } } });
    expect(c.env).toContainEqual({ name: 'OTEL_SERVICE_NAME', value: 'ledger' });
    expect(c.env.map((e: any) => e.name)).not.toContain('PORT');
    expect(c.env.map((e: any) => e.name)).not.toContain('APP_VERSION');
    expect(Object.keys(deployment.spec.template.metadata.annotations).filter(k => k.startsWith('prometheus.io/'))).toEqual([]);
    expect(deployment.spec.replicas).toBe(env.name === 'prod' ? 3 : env.apps.stableReplicas);
    expect(find(payments, 'Service', 'ledger').spec.ports[0]).toMatchObject({ port: 9090, targetPort: 9090 });
    expect(find(payments, 'DestinationRule', 'ledger').spec.host).toBe('ledger.payments.svc.cluster.local');
    expect(find(payments, 'VirtualService', 'ledger').spec.gateways).toEqual(['mesh']);
  });

  test('it reaches its database and cache (egress), from its own pods only; the database\'s blocks only where the file names them', () => {
    const db = ofKind(payments, 'NetworkPolicy').find(p => p.metadata.name === 'ledger-to-ledger-db-egress');
    if (env.name === 'prod') {
      expect(db?.spec).toEqual({
        podSelector: { matchLabels: { app: 'ledger' } }, policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '198.18.4.0/24' } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
      });
    } else {
      expect(db).toBeUndefined();
    }
    expect(find(payments, 'NetworkPolicy', 'ledger-to-ledger-cache-egress').spec).toEqual({
      podSelector: { matchLabels: { app: 'ledger' } }, policyTypes: ['Egress'],
      egress: [{
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'data' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }],
        ports: [{ port: 6379, protocol: 'TCP' }],
      }],
    });
  });

  test('the gateway may call it, and nothing else: AuthorizationPolicy and NetworkPolicies on both ends', () => {
    const policy = find(payments, 'AuthorizationPolicy', 'callers-to-ledger').spec;
    expect(policy.rules).toEqual([{ from: [{ source: { principals: ['cluster.local/ns/apps/sa/gateway'] } }] }]);
    expect(ofKind(payments, 'AuthorizationPolicy').map(p => p.metadata.name).sort()).toEqual(['callers-to-ledger', 'prometheus-scrapes']);
    expect(find(payments, 'NetworkPolicy', 'gateway-to-ledger-ingress').spec.ingress).toEqual([{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } }, podSelector: { matchLabels: { app: 'gateway' } } }],
      ports: [{ port: 9090, protocol: 'TCP' }],
    }]);
    expect(find(charts.apps, 'NetworkPolicy', 'gateway-to-ledger-egress').spec.egress).toEqual([{
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } }, podSelector: { matchLabels: { app: 'ledger' } } }],
      ports: [{ port: 9090, protocol: 'TCP' }],
    }]);
  });

  test('Prometheus may scrape its namespace and the Collector accepts its OTLP', () => {
    const config = configFile(charts.observability, 'prometheus-config', 'prometheus.yml');
    for (const job of ['services', 'sidecars']) {
      expect([job, config.scrape_configs.find((j: any) => j.job_name === job).kubernetes_sd_configs[0].namespaces.names]).toEqual([job, ['apps', 'payments']]);
    }
    expect(find(payments, 'NetworkPolicy', 'prometheus-to-payments-ingress').spec.ingress[0].ports)
      .toEqual([{ port: 15020, protocol: 'TCP' }, { port: 15090, protocol: 'TCP' }]);
    expect(find(charts.observability, 'NetworkPolicy', 'prometheus-to-payments-egress')).toBeDefined();
    expect(find(payments, 'NetworkPolicy', 'payments-to-collector-egress').spec.egress[0].ports.map((p: any) => p.port)).toEqual([4317, 4318]);
    expect(find(charts.observability, 'NetworkPolicy', 'payments-to-collector-ingress').spec.ingress[0].from)
      .toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } } }]);
  });

  test('it has SLO recording rules and a canary dashboard', () => {
    const rules = configFile(charts.observability, 'prometheus-config', 'rules.yml');
    expect(JSON.stringify(rules)).toContain('ledger-stable');
    const dashboards = ofKind(charts.observability, 'ConfigMap').filter(c => JSON.stringify(c.data ?? {}).includes('canary-ledger'));
    expect(dashboards).not.toHaveLength(0);
  });

  test('Argo CD: the project allows its namespace; an Application syncs its directory', () => {
    const project = ofKind(charts.bootstrap, 'AppProject').find(p => p.metadata.name === 'obs-canary')!.spec;
    expect(project.destinations.map((d: any) => d.namespace)).toContain('payments');
    const application = ofKind(charts.argocd, 'Application').find(a => a.spec.destination.namespace === 'payments')!;
    expect(application.spec.source.path).toBe(`dist/${env.name}/payments`);
  });

  test('every object passes the schema and policy checks', () => {
    expect(all.flatMap((obj: K8sObject) => schemaErrors(obj).map(e => `${obj.kind}/${obj.metadata.name}: ${e}`))).toEqual([]);
    expect(policyViolations(all)).toEqual([]);
  });
});

describe('removing a service file removes the service', () => {
  const { backend: _removed, ...withoutBackend } = repoServices();
  // the gateway names the backend as its URL; without the backend its file would be refused, so drop that variable
  const gateway = { ...withoutBackend.gateway, env: Object.fromEntries(Object.entries(withoutBackend.gateway.env ?? {}).filter(([k]) => k !== 'BACKEND_URL')) };
  const services: Services = { ...withoutBackend, gateway };

  // the word, not Tempo's `storage.trace.backend:` and `backend_worker` keys
  const MENTION = /backend(?!:\s|_worker)/;

  test.each(SINGLE_CLUSTER_ENVIRONMENTS)('no object of $name mentions the backend any more', env => {
    const { charts } = synthStack(env, 'canary', services);
    const mentions = Object.entries(charts).flatMap(([chart, objects]) => objects
      .filter(o => MENTION.test(JSON.stringify(o)))
      .map(o => `${chart}/${o.kind}/${o.metadata.name}`));
    expect(mentions).toEqual([]);
    // with it, the Deployment, Service, routes, policies, rules and dashboards do: the check can fail
    const withBackend = Object.entries(synthStack(env, 'canary').charts)
      .flatMap(([chart, objects]) => objects.filter(o => MENTION.test(JSON.stringify(o))).map(o => `${chart}/${o.kind}/${o.metadata.name}`));
    expect(withBackend).toEqual(expect.arrayContaining([
      'apps/Deployment/backend-stable', 'apps/Service/backend', 'apps/DestinationRule/backend', 'apps/VirtualService/backend',
      'apps/AuthorizationPolicy/callers-to-backend', 'observability/ConfigMap/prometheus-config',
    ]));
  });
});

describe('a service\'s egress is held to its environment\'s rules for addresses', () => {
  const anywhere: Services = { ...WITH_LEDGER, ledger: { ...WITH_LEDGER.ledger, egress: [{ name: 'internet', cidrs: ['0.0.0.0/0'], ports: [443] }] } };

  test('a block wider than /8 fails synth in prod, naming the file and the entry; local, which allows wide blocks, renders it', () => {
    expect(() => synthStack(ENVIRONMENTS.prod, 'steady', anywhere)).toThrow(
      'invalid service file services/ledger.yaml:\n  - \'egress[0].cidrs\' must be blocks of /8 or narrower in prod (the addresses of internet itself), '
      + 'unless the environment\'s \'egress.allowWideCidrs\' is true; got "0.0.0.0/0"');
    // a /8 is allowed in prod, but no blocks that hold all of the cluster's own addresses (10.0.0.0/16), one or several
    const egress = (...blocks: string[][]) => blocks.map((cidrs, i) => ({ name: `db-${i}`, cidrs, ports: [5432] }));
    for (const blocks of [[['10.0.0.0/8']], [['10.0.0.0/17'], ['10.0.128.0/17']]]) {
      const cluster: Services = { ...WITH_LEDGER, ledger: { ...WITH_LEDGER.ledger, egress: egress(...blocks) } };
      expect(() => synthStack(ENVIRONMENTS.prod, 'steady', cluster)).toThrow(
        '\'egress\' must not hold all of prod\'s own addresses (egress.clusterCidrs 10.0.0.0/16), with ');
    }
    const narrower: Services = { ...WITH_LEDGER, ledger: { ...WITH_LEDGER.ledger, egress: egress(['10.0.0.0/17'], ['10.0.192.0/18']) } };
    expect(ofKind(synthStack(ENVIRONMENTS.prod, 'steady', narrower).charts.payments, 'NetworkPolicy').map(p => p.metadata.name))
      .toEqual(expect.arrayContaining(['ledger-to-db-0-egress', 'ledger-to-db-1-egress']));
    const local = synthStack(ENVIRONMENTS.local, 'steady', anywhere).charts.payments;
    expect(find(local, 'NetworkPolicy', 'ledger-to-internet-egress').spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }] }]);
  });
});
