import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration } from 'cdk8s';
import { parse } from 'yaml';
import { CanaryGate, CanaryGateProps, gitHostOf, gitTransportOf } from '../../lib/constructs/canary-gate';
import { EnvironmentConfig, validateEnvironment } from '../../lib/config/environment';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { Services } from '../../lib/services/catalog';
import { BUILT_IMAGES, CANARY_GATE_INPUTS } from '../../lib/images';
import { synth, testChart } from '../support/chart';
import { ALL_ENVIRONMENTS, K8sObject, REPO_ROOT, find, ofKind, repoServices, synthStack } from '../support/manifest';
import { PIPELINE_ALERTS, gateStalledAfterMinutes } from '../../lib/slo/pipeline-alerts';
import { StubServer } from '../apps/support/stub-server';
import { DOWN_PORT } from '../support/ports';
import { restrictedViolations, secretViolations, securityViolations, serviceAccountViolations } from '../support/policy';

const REQUIRED: CanaryGateProps = {
  environment: 'prod',
  repoUrl: 'https://github.com/example/obs-canary.git',
  branch: 'main',
  gitCredentials: { name: 'canary-gate-git', key: 'token' },
  prometheusUrl: 'http://prometheus.observability.svc.cluster.local:9090',
};

function render(props: Partial<CanaryGateProps> = {}) {
  const chart = testChart();
  const gate = new CanaryGate(chart, 'CanaryGate', { ...REQUIRED, ...props });
  const all = synth(chart);
  const cronJob = find(all, 'CronJob', 'canary-gate');
  const pod = cronJob.spec.jobTemplate.spec.template.spec;
  const container = pod.containers[0];
  const env: Record<string, any> = Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
  return { gate, all, cronJob, job: cronJob.spec.jobTemplate.spec, pod, container, env };
}

/** The file a mounted path is: which volume, which key of which Secret. */
function mountedFile(pod: any, container: any, file: string): { secret: string; key: string; mode: number; readOnly: boolean } | undefined {
  const mount = container.volumeMounts.find((m: any) => file.startsWith(`${m.mountPath}/`));
  const volume = pod.volumes.find((v: any) => v.name === mount?.name);
  const item = volume?.secret?.items?.find((i: any) => `${mount.mountPath}/${i.path}` === file);
  return item && { secret: volume.secret.secretName, key: item.key, mode: volume.secret.defaultMode, readOnly: mount.readOnly === true };
}

const throwsOn = (props: Partial<CanaryGateProps>) => () => new CanaryGate(testChart(), 'CanaryGate', { ...REQUIRED, ...props });

describe('CanaryGate', () => {
  test('one tick every 2 minutes by default, one at a time, never retried, stopped before the next is due', () => {
    const { gate, cronJob, job } = render();
    expect(cronJob.spec).toMatchObject({
      schedule: '*/2 * * * *', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 60, successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 3,
    });
    expect(job.backoffLimit).toBe(0);
    expect(job.activeDeadlineSeconds).toBe(110);
    expect(gate.activeDeadline.toSeconds()).toBeLessThan(120);
    expect(job.template.spec.restartPolicy).toBe('Never');
  });

  test('Argo CD leaves its health out: a failed tick (by design, when something stays undecided) would read as a Degraded Application', () => {
    const { cronJob } = render();
    expect(cronJob.metadata.annotations).toEqual({ 'argocd.argoproj.io/ignore-healthcheck': 'true' });
  });

  test.each([
    [1, '*/1 * * * *', 50],
    [5, '*/5 * * * *', 290],
    [30, '*/30 * * * *', 1790],
  ])('interval %d minutes: schedule %s, a tick stopped after %ds', (minutes, schedule, deadline) => {
    const interval = Duration.minutes(minutes);
    const { cronJob, job } = render({ interval });
    expect(cronJob.spec.schedule).toBe(schedule);
    expect(job.activeDeadlineSeconds).toBe(deadline);
    expect(deadline).toBeLessThan(interval.toSeconds());
  });

  test.each(['90s', '7m', '45m', '0s', '2h'])('fails if the interval is %s', text => {
    const interval = { s: Duration.seconds, m: Duration.minutes, h: Duration.hours }[text.slice(-1) as 's' | 'm' | 'h'](Number(text.slice(0, -1)));
    expect(throwsOn({ interval })).toThrow(new RegExp(`'interval' must be whole minutes that divide an hour \\(1, 2, .*\\), got ${text}$`));
  });

  test('image defaults to the pinned gate image; another one is used as given', () => {
    expect(render().container.image).toBe(BUILT_IMAGES.canaryGate);
    expect(BUILT_IMAGES.canaryGate).toMatch(/^ghcr\.io\/[a-z0-9-]+\/obs-canary-gate:\d+\.\d+\.\d+-build\.[0-9a-f]{12}$/);
    expect(render({ image: 'registry.example.com/obs-canary-gate:1.2.3' }).container.image).toBe('registry.example.com/obs-canary-gate:1.2.3');
  });

  test('the pinned gate image is the one built from these files: its tag ends with their hash', () => {
    // a tick refuses a checkout whose lockfile its image was not built with (delivery/gate-tick.sh): a lockfile change
    // merged with the old tag pinned would stop the loop, roll backs included, in every cluster; a fix of the tick
    // script merged with it would never reach the clusters
    const hash = createHash('sha256');
    for (const file of CANARY_GATE_INPUTS) hash.update(file).update('\0').update(fs.readFileSync(path.join(REPO_ROOT, file))).update('\0');
    const built = hash.digest('hex').slice(0, 12);
    const tag = BUILT_IMAGES.canaryGate.slice(BUILT_IMAGES.canaryGate.lastIndexOf(':') + 1);
    if (!tag.endsWith(`-build.${built}`)) {
      throw new Error(`the gate image's files (${CANARY_GATE_INPUTS.join(', ')}) changed since ${BUILT_IMAGES.canaryGate} was pinned: pin a `
        + `new tag ending in -build.${built} (BUILT_IMAGES.canaryGate, lib/images.ts), which the images workflow builds, and run npm run synth`);
    }
  });

  test('the hash covers every file the image is built from: the Dockerfile, its .dockerignore, and what that lets in', () => {
    const letIn = fs.readFileSync(path.join(REPO_ROOT, 'delivery', 'Dockerfile.dockerignore'), 'utf8').split('\n')
      .filter(line => line.startsWith('!')).map(line => line.slice(1));
    expect([...CANARY_GATE_INPUTS].sort()).toEqual(['delivery/Dockerfile', 'delivery/Dockerfile.dockerignore', ...letIn].sort());
  });

  test('its own ServiceAccount, which mounts no token and which nothing binds: no cluster rights at all', () => {
    const { all, pod } = render();
    expect(find(all, 'ServiceAccount', 'canary-gate').automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('canary-gate');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(all.filter(o => /Role/.test(o.kind))).toEqual([]);
    expect(serviceAccountViolations(all)).toEqual([]);
  });

  test('meets Pod Security restricted: uid 65532, read-only root file system with emptyDirs for the checkout, HOME and /tmp', () => {
    const { all, pod, container, env } = render();
    expect(restrictedViolations(all)).toEqual([]);
    expect(securityViolations(all)).toEqual([]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const emptyDirs = pod.volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name);
    const writable = container.volumeMounts.filter((m: any) => emptyDirs.includes(m.name)).map((m: any) => m.mountPath).sort();
    expect(writable).toEqual(['/home/gate', '/tmp', '/work']);
    expect([env.HOME, env.WORK_DIR]).toEqual(['/home/gate', '/work']);
    for (const volume of pod.volumes.filter((v: any) => v.emptyDir)) expect(volume.emptyDir.sizeLimit).toBeDefined();
    expect(container.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(container.resources.limits).toEqual({ cpu: '1000m', memory: '1Gi' });
  });

  test('what to gate and where: DEPLOY_ENV, REPO_URL, GIT_BRANCH and PROMETHEUS_URL as given', () => {
    expect(render().env).toMatchObject({
      DEPLOY_ENV: 'prod', REPO_URL: REQUIRED.repoUrl, GIT_BRANCH: 'main', PROMETHEUS_URL: REQUIRED.prometheusUrl,
    });
  });

  test('https: the token is a file of a read-only Secret volume (the group may read it), named by GIT_TOKEN_FILE', () => {
    const { gate, pod, container, env } = render();
    expect(gate.transport).toBe('https');
    expect(mountedFile(pod, container, env.GIT_TOKEN_FILE)).toEqual({ secret: 'canary-gate-git', key: 'token', mode: 0o440, readOnly: true });
    expect(env.GIT_SSH_KEY_FILE).toBeUndefined();
    expect(env.GIT_KNOWN_HOSTS_FILE).toBeUndefined();
  });

  test.each(['git@github.com:example/obs-canary.git', 'ssh://git@git.example.com:2222/example/obs-canary.git'])('ssh (%s): the key and known_hosts from the Secret, named by GIT_SSH_KEY_FILE and GIT_KNOWN_HOSTS_FILE', repoUrl => {
    const { gate, pod, container, env } = render({ repoUrl, gitCredentials: { name: 'gate-ssh', key: 'ssh-privatekey' } });
    expect(gate.transport).toBe('ssh');
    expect(mountedFile(pod, container, env.GIT_SSH_KEY_FILE)).toEqual({ secret: 'gate-ssh', key: 'ssh-privatekey', mode: 0o440, readOnly: true });
    expect(mountedFile(pod, container, env.GIT_KNOWN_HOSTS_FILE)).toEqual({ secret: 'gate-ssh', key: 'known_hosts', mode: 0o440, readOnly: true });
    expect(env.GIT_TOKEN_FILE).toBeUndefined();
  });

  test('knownHostsKey: another key of the Secret holds the host keys', () => {
    const { pod, container, env } = render({ repoUrl: 'git@github.com:example/obs-canary.git', knownHostsKey: 'github-host-keys' });
    expect(mountedFile(pod, container, env.GIT_KNOWN_HOSTS_FILE)?.key).toBe('github-host-keys');
  });

  test('Prometheus credentials and the webhook only from secretKeyRef; headers, which are no secrets, as a JSON object', () => {
    const ref = (name: string, key: string) => ({ secretKeyRef: { name, key } });
    const token = render({ prometheusToken: { name: 'prom', key: 'token' }, webhook: { name: 'hooks', key: 'url' }, prometheusHeaders: { 'X-Scope-OrgID': 'prod' } });
    expect(token.env).toMatchObject({ PROMETHEUS_TOKEN: ref('prom', 'token'), CANARY_WEBHOOK_URL: ref('hooks', 'url'), PROMETHEUS_HEADERS: '{"X-Scope-OrgID":"prod"}' });
    const basic = render({ prometheusUsername: { name: 'prom', key: 'user' }, prometheusPassword: { name: 'prom', key: 'password' } });
    expect(basic.env).toMatchObject({ PROMETHEUS_USERNAME: ref('prom', 'user'), PROMETHEUS_PASSWORD: ref('prom', 'password') });
    const none = render().env;
    for (const name of ['PROMETHEUS_TOKEN', 'PROMETHEUS_USERNAME', 'PROMETHEUS_PASSWORD', 'PROMETHEUS_HEADERS', 'CANARY_WEBHOOK_URL']) expect(none[name]).toBeUndefined();
    for (const { all } of [token, basic]) {
      expect(secretViolations(all)).toEqual([]);
      expect(ofKind(all, 'Secret')).toEqual([]);
    }
  });

  test('fails on basic auth given by half, or together with a token', () => {
    expect(throwsOn({ prometheusUsername: { name: 'prom', key: 'user' } })).toThrow(/'prometheusUsername' and 'prometheusPassword' must be given together/);
    expect(throwsOn({
      prometheusToken: { name: 'prom', key: 'token' }, prometheusUsername: { name: 'prom', key: 'user' }, prometheusPassword: { name: 'prom', key: 'pw' },
    })).toThrow(/not both/);
  });

  test('an egress proxy: HTTPS_PROXY and NO_PROXY for git, NODE_USE_ENV_PROXY=1 for Node.js\'s fetch; none without', () => {
    const { env } = render({ egressProxy: { url: 'http://proxy.corp.example:3128', noProxy: ['.svc', '.cluster.local', '10.0.0.0/16'] } });
    expect(env).toMatchObject({
      HTTPS_PROXY: 'http://proxy.corp.example:3128', HTTP_PROXY: 'http://proxy.corp.example:3128', NO_PROXY: '.svc,.cluster.local,10.0.0.0/16', NODE_USE_ENV_PROXY: '1',
    });
    const direct = render().env;
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'NODE_USE_ENV_PROXY']) expect(direct[name]).toBeUndefined();
  });

  test.each([
    [{ repoUrl: 'github.com/example/obs-canary' }, /'repoUrl' must be a git URL the gate can push to/],
    [{ repoUrl: 'http://git.example.com/obs-canary.git' }, /'repoUrl' must be a git URL the gate can push to/],
    [{ repoUrl: 'https://x-access-token:ghp_secret@github.com/example/obs-canary.git' }, /'repoUrl' must carry no credentials, got one for "github.com"$/],
    [{ branch: 'HEAD' }, /'branch' must be a branch name/],
    [{ branch: 'my branch' }, /'branch' must be a branch name/],
    [{ environment: 'Prod' }, /'environment' must be a DNS label, got "Prod"/],
  ] as const)('fails on %j', (props, message) => {
    expect(throwsOn(props)).toThrow(message);
  });

  test('smoke URLs on a port of the gate\'s other peers are refused: the sidecar captures those ports to every address', () => {
    expect(throwsOn({ smokeUrls: { api: 'http://api.apps.svc.cluster.local:3128' }, egressProxy: { url: 'http://10.0.0.1:3128', noProxy: [] } }))
      .toThrow(/'smokeUrls' must not use the port of 'egressProxy' \(3128\): the sidecar captures the smoke checks' ports \(3128\) to every address/);
    // Prometheus (9090 here), the git host (443 over https, 22 or the URL's over ssh), the webhook (443)
    expect(throwsOn({ smokeUrls: { api: 'http://api.apps.svc.cluster.local:9090' } })).toThrow(/must not use the port of 'prometheusUrl' \(9090\)/);
    // the message names the service and what its team can do
    expect(throwsOn({ smokeUrls: { api: 'http://api.apps.svc.cluster.local:9090', web: 'http://web.apps.svc.cluster.local:8080' } })).toThrow(
      /; the smoke checks of api cannot run from the cluster: give the service another port, drop its smoke checks, or run the gate's loop/);
    expect(throwsOn({ smokeUrls: { api: 'https://api.apps.svc.cluster.local' } })).toThrow(/must not use the port of 'repoUrl' \(443\)/);
    const ssh = { repoUrl: 'ssh://git@git.example.com:2222/example/obs-canary.git', gitCredentials: { name: 'canary-gate-git', key: 'ssh-privatekey' } };
    expect(throwsOn({ ...ssh, smokeUrls: { api: 'http://api.apps.svc.cluster.local:2222' } })).toThrow(/must not use the port of 'repoUrl' \(2222\)/);
    expect(throwsOn({ ...ssh, smokeUrls: { api: 'http://api.apps.svc.cluster.local:443' }, webhook: { name: 'hooks', key: 'url' } }))
      .toThrow(/must not use the port of 'webhook' \(443\)/);
    expect(throwsOn({ smokeUrls: { api: 'http://api.apps.svc.cluster.local' } })).not.toThrow();
    expect(render({ smokeUrls: { api: 'http://api.apps.svc.cluster.local' } }).cronJob.spec.jobTemplate.spec.template.metadata.annotations)
      .toMatchObject({ 'traffic.sidecar.istio.io/includeOutboundPorts': '80' });
  });

  test('a refused URL with credentials does not repeat them', () => {
    expect(throwsOn({ repoUrl: 'https://user:ghp_secret@github.com/x.git' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('ghp_secret') }));
  });

  test.each([
    ['https://github.com/example/obs-canary.git', 'https', 'github.com'],
    ['git@github.com:example/obs-canary.git', 'ssh', 'github.com'],
    ['ssh://git@git.example.com:2222/example/obs-canary.git', 'ssh', 'git.example.com'],
    ['file:///srv/git/obs-canary.git', undefined, undefined],
  ] as const)('gitTransportOf and gitHostOf %s: %s, %s', (url, transport, host) => {
    expect(gitTransportOf(url)).toBe(transport);
    expect(gitHostOf(url)).toBe(host);
  });

  test('snapshot', () => {
    expect(render({ webhook: { name: 'hooks', key: 'url' } }).all).toMatchSnapshot();
  });
});

/** The alerting rule named `alert` among the rules the metrics store of `objects` evaluates (Prometheus' or Mimir's ruler's). */
function alertingRule(objects: readonly K8sObject[], alert: string): { expr: string } {
  const files = ofKind(objects, 'ConfigMap').flatMap(c => Object.entries<string>(c.data ?? {}).filter(([key]) => /rules\.ya?ml$/.test(key)).map(([, text]) => text));
  const rules = files.flatMap(text => (parse(text).groups as Array<{ rules: Array<{ alert?: string; expr: string }> }>).flatMap(g => g.rules));
  const rule = rules.find(r => r.alert === alert);
  if (!rule) throw new Error(`no alerting rule ${alert}`);
  return rule;
}

/** prod with the gate's loop on GitHub: its dependencies are then no cluster's business. */
function githubLoop(env: EnvironmentConfig): EnvironmentConfig {
  const { gitHost: _git, notificationWebhook: _hook, ...dependencies } = env.egress.dependencies;
  return validateEnvironment({ ...env, name: `${env.name}-github`, delivery: { ...env.delivery, loop: 'github' }, egress: { ...env.egress, dependencies } });
}

/** The repository's services without their smoke checks. */
const WITHOUT_SMOKE: Services = Object.fromEntries(Object.entries(repoServices()).map(([name, spec]) => [name, { ...spec, smoke: undefined }]));

/**
 * The environments whose gate runs in the cluster, with the services they can run it for: central's gate (shipped on
 * GitHub's loop) as a platform team runs it in the observability cluster, for services without smoke checks.
 */
const GATED_IN_CLUSTER: ReadonlyArray<{ env: EnvironmentConfig; services?: Services; name: string }> = ALL_ENVIRONMENTS.flatMap(env => {
  if (env.delivery.loop === 'cluster') return [{ env, name: env.name }];
  const { prod } = ENVIRONMENTS;
  const { gitHost, notificationWebhook } = prod.egress.dependencies;
  const dependencies = { ...env.egress.dependencies, gitHost, notificationWebhook };
  const inCluster = validateEnvironment({ ...env, delivery: prod.delivery, egress: { ...env.egress, dependencies } });
  return [{ env: inCluster, services: WITHOUT_SMOKE, name: `${env.name} (its loop in the cluster, no smoke checks)` }];
});

test('GATED_IN_CLUSTER: every environment, central among them', () => {
  expect(GATED_IN_CLUSTER.map(c => c.env.name)).toEqual(ALL_ENVIRONMENTS.map(env => env.name));
  expect(ENVIRONMENTS.central.delivery.loop).toBe('github');
});

test('a central topology whose gate runs in the cluster, with a service that names smoke checks: refused, naming the way out', () => {
  const central = GATED_IN_CLUSTER.find(c => c.env.topology !== undefined)!.env;
  // the gate there could never reach the pin in the application clusters: each such canary would hold, then roll back
  expect(() => synthStack(central))
    .toThrow(/'delivery\.loop' must be "github" with a central topology while a service names smoke checks \(services\/gateway\.yaml\), got/);
});

test('a central topology gated from promote.yml without the runners\' addresses, with a service that names smoke checks: refused', () => {
  const central = ENVIRONMENTS.central;
  expect(central.apps.canaryPinSources.length).toBeGreaterThan(0);
  // each edge would strip the pin from the runners: the checks would reach stable, and each canary hold, then roll back
  expect(() => synthStack({ ...central, apps: { ...central.apps, canaryPinSources: [] } }))
    .toThrow(new RegExp('\'apps\\.canaryPinSources\' must name the addresses of the runners that gate from promote\\.yml with a central topology '
      + 'while a service names smoke checks \\(services/gateway\\.yaml\\), got \\[\\]'));
  const quiet = Object.fromEntries(Object.entries(repoServices()).map(([name, spec]) => [name, { ...spec, smoke: [] }]));
  expect(() => synthStack({ ...central, apps: { ...central.apps, canaryPinSources: [] } }, 'steady', quiet)).not.toThrow();
});

describe.each(GATED_IN_CLUSTER)('the canary gate of $name', ({ env, services }) => {
  const { stack, charts } = synthStack(env, 'steady', services);
  const objects = charts.observability;
  const everything = Object.values(charts).flat();

  test('a CronJob ticking every delivery.intervalMinutes for this environment, repository and branch, measuring in the metrics store', () => {
    expect(env.delivery.loop).toBe('cluster');
    const cronJob = find(objects, 'CronJob', 'canary-gate');
    expect(cronJob.spec.schedule).toBe(`*/${env.delivery.intervalMinutes} * * * *`);
    expect(cronJob.spec.jobTemplate.spec.activeDeadlineSeconds).toBeLessThan(env.delivery.intervalMinutes * 60);
    const container = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
    const vars = Object.fromEntries(container.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    expect(vars).toMatchObject({
      DEPLOY_ENV: env.name, REPO_URL: env.gitops.repoURL, GIT_BRANCH: env.gitops.targetRevision,
      PROMETHEUS_URL: stack.observability.metricsStore.queryUrl,
    });
    // Mimir: every query names the tenant
    const headers = stack.observability.metricsStore.headers;
    if (Object.keys(headers).length > 0) expect(JSON.parse(vars.PROMETHEUS_HEADERS)).toMatchObject(headers);
    const volume = cronJob.spec.jobTemplate.spec.template.spec.volumes.find((v: any) => v.secret);
    expect(volume.secret.secretName).toBe(env.delivery.gitCredentials.name);
    expect(volume.secret.items[0].key).toBe(env.delivery.gitCredentials.key);
  });

  test('no RoleBinding or ClusterRoleBinding of any chart names the gate\'s ServiceAccount', () => {
    const bindings = everything.filter(o => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
    expect(bindings.length).toBeGreaterThan(0);
    expect(bindings.filter(b => (b.subjects ?? []).some((s: any) => s.name === 'canary-gate'))).toEqual([]);
    expect(everything.filter(o => /Role/.test(o.kind) && o.metadata.name.includes('canary-gate'))).toEqual([]);
  });

  test('no secret value in any rendered string: Secrets referenced by name, never a token, URL credentials or a key', () => {
    const text = JSON.stringify(objects.filter(o => JSON.stringify(o).includes('canary-gate')));
    expect(text).not.toMatch(/x-access-token|password=|Bearer |BEGIN [A-Z ]*PRIVATE KEY|https:\/\/[^/"]*@/);
    expect(secretViolations(objects)).toEqual([]);
  });

  test('the metrics store (Prometheus, or Mimir) admits the gate on its HTTP port; the gate may send there', () => {
    const store = stack.observability.metricsStore;
    const port = store.port.port;
    const ingress = find(objects, 'NetworkPolicy', `canary-gate-to-${store.name}-ingress`);
    expect(ingress.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': store.name });
    expect(ingress.spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'canary-gate' } } }], ports: [{ port, protocol: 'TCP' }] }]);
    expect(find(objects, 'NetworkPolicy', `canary-gate-to-${store.name}-egress`).spec.egress[0].ports).toEqual([{ port, protocol: 'TCP' }]);
  });

  test('a stalled loop is an alert: kube-state-metrics exports the gate\'s CronJob, and CanaryGateStalled reads it', () => {
    const ksm = find(objects, 'Deployment', 'kube-state-metrics').spec.template.spec.containers[0].args as string[];
    expect(ksm).toContain('--resources=deployments,replicasets,pods,cronjobs');
    expect(ksm.find(a => a.startsWith('--metric-allowlist='))).toContain(',kube_cronjob_status_last_successful_time,kube_cronjob_created,kube_cronjob_spec_suspend');
    const namespaces = ksm.find(a => a.startsWith('--namespaces='));
    if (namespaces) expect(namespaces.split('=')[1].split(',')).toContain('observability');
    expect(find(objects, 'ClusterRole', 'observability-kube-state-metrics').rules).toContainEqual({ apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['list', 'watch'] });
    const rule = alertingRule(objects, PIPELINE_ALERTS.canaryGateStalled);
    expect(rule.expr).toContain('kube_cronjob_status_last_successful_time{namespace="observability", cronjob="canary-gate"}) > 1800');
    // environments tick every 1 or 2 minutes, so the half hour is the threshold (tests/slo/alerting-rules.test.ts: slower loops)
    expect(gateStalledAfterMinutes({ intervalMinutes: env.delivery.intervalMinutes })).toBe(30);
  });

  test('the smoke checks run through the pin from inside the mesh: the gate\'s pods get a sidecar, SMOKE_URLS and the way to stop it', () => {
    const pod = find(objects, 'CronJob', 'canary-gate').spec.jobTemplate.spec.template;
    const env_ = Object.fromEntries(pod.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    if (stack.observability.canaryGate!.inMesh) {
      // the demo's gateway has smoke checks; the central topology's services run in other clusters, beyond this mesh
      expect(env.topology).toBeUndefined();
      expect(pod.metadata.labels['sidecar.istio.io/inject']).toBe('true');
      // the checks' port alone through the sidecar: git, a proxy, Prometheus and the webhook as before; no waiting on it
      expect(pod.metadata.annotations).toEqual({
        'traffic.sidecar.istio.io/includeOutboundIPRanges': '', 'traffic.sidecar.istio.io/includeOutboundPorts': '8080',
        // a native sidecar would hold the whole tick until it is ready
        'sidecar.istio.io/nativeSidecar': 'false',
        'proxy.istio.io/config': '{"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"false"}}',
      });
      expect(JSON.parse(env_.SMOKE_URLS)).toEqual({ gateway: 'http://gateway.apps.svc.cluster.local:8080' });
      expect(env_.SIDECAR_READY_URL).toBe('http://127.0.0.1:15021/healthz/ready');
      expect(env_.SIDECAR_QUIT_URL).toBe('http://127.0.0.1:15020/quitquitquit');
      const allow = find(charts.apps, 'AuthorizationPolicy', 'canary-gate-smoke-gateway').spec;
      // GET on the checks' paths (the query is no part of a path Istio matches), from the gate's identity alone
      expect(allow.rules).toEqual([{
        from: [{ source: { principals: ['cluster.local/ns/observability/sa/canary-gate'] } }],
        to: [{ operation: { methods: ['GET'], paths: ['/api/flight/airports', '/api/flight/routes'] } }],
      }]);
      expect(find(charts.apps, 'NetworkPolicy', 'canary-gate-smoke-gateway-ingress').spec.ingress[0].ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
      expect(find(objects, 'NetworkPolicy', 'canary-gate-sidecar-to-istiod-egress').spec.egress[0].ports).toEqual([{ port: 15012, protocol: 'TCP' }]);
    } else {
      expect(env.topology).toBeDefined();
      expect(pod.metadata.labels['sidecar.istio.io/inject']).toBeUndefined();
      expect(env_.SMOKE_URLS).toBeUndefined();
      expect(objects.filter(o => o.metadata.name === 'canary-gate-sidecar-to-istiod-egress')).toEqual([]);
    }
  });

  test('without a service that names smoke checks, the gate stays out of the mesh', () => {
    const plain = synthStack(env, 'steady', WITHOUT_SMOKE);
    const pod = find(plain.charts.observability, 'CronJob', 'canary-gate').spec.jobTemplate.spec.template;
    expect(plain.stack.observability.canaryGate!.inMesh).toBe(false);
    expect(pod.metadata).toEqual({ labels: expect.not.objectContaining({ 'sidecar.istio.io/inject': expect.anything() }) });
    expect(Object.values(plain.charts).flat().filter(o => o.metadata.name.startsWith('canary-gate-smoke-'))).toEqual([]);
  });

  test('with delivery.loop "github", no CronJob, ServiceAccount or policy of the gate is rendered, and no alert on it', () => {
    const githubCharts = synthStack(githubLoop(env), 'steady', services).charts;
    const github = githubCharts.observability;
    expect(Object.values(githubCharts).flat().filter(o => o.metadata.name.startsWith('canary-gate-smoke-gateway'))).toEqual([]);
    expect(github.filter(o => o.metadata.name.includes('canary-gate'))).toEqual([]);
    expect(ofKind(github, 'CronJob')).toEqual([]);
    expect(() => alertingRule(github, PIPELINE_ALERTS.canaryGateStalled)).toThrow('no alerting rule CanaryGateStalled');
    expect(find(github, 'Deployment', 'kube-state-metrics').spec.template.spec.containers[0].args.join(' ')).not.toContain('cronjob');
  });
});

describe('delivery/gate-tick.sh', () => {
  const SCRIPT = path.join(REPO_ROOT, 'delivery', 'gate-tick.sh');
  const TOKEN = `tok-${Math.random().toString(36).slice(2)}`;
  const LOCKFILE = '{"lockfileVersion":3,"name":"a"}\n';
  /** Holds the remote, shared by the tests (one clone of it costs a few git processes). */
  let root: string;
  let remote: string;
  /** Each test's own: HOME, the token file, checkouts. */
  let dir: string;
  let home: string;

  const gitEnv = () => ({ PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' });
  /** Runs `code` in bash with the script's functions defined, HOME in the test's directory and no system git config. */
  const bash = (code: string, env: Record<string, string> = {}) => {
    const r = spawnSync('bash', ['--noprofile', '--norc', '-c', `source ${JSON.stringify(SCRIPT)}\n${code}`], {
      cwd: dir, encoding: 'utf8', env: { ...gitEnv(), ...env },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(() => {
    // a bare repository with branch main holding a package-lock.json: the gate's remote
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-tick-'));
    remote = path.join(root, 'remote.git');
    const r = spawnSync('bash', ['--noprofile', '--norc', '-euc', `git init --quiet --initial-branch=main seed && cd seed
      printf %s '${LOCKFILE}' > package-lock.json && printf 'node_modules\n' > .gitignore && git add .
      git -c user.name=t -c user.email=t@t commit --quiet -m seed && git clone --quiet --bare . ${JSON.stringify(remote)}
      git --git-dir=${JSON.stringify(remote)} config uploadpack.allowFilter true`],
    { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: '1' } });
    expect(r.stderr).toBe('');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(root, 'test-'));
    home = path.join(dir, 'home');
    fs.mkdirSync(home);
    fs.writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`, { mode: 0o400 });
  });

  test('https: the credential helper answers git with the token read from its file, and no git config holds the token', () => {
    const r = bash('configure_git https://git.example.com/example/obs-canary.git\nprintf "protocol=https\\nhost=git.example.com\\n\\n" | git credential fill',
      { GIT_TOKEN_FILE: path.join(dir, 'token') });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`protocol=https\nhost=git.example.com\nusername=x-access-token\npassword=${TOKEN}\n`);
    const config = fs.readFileSync(path.join(home, '.gitconfig'), 'utf8');
    expect(config).not.toContain(TOKEN);
    // the helper's command line names the file, never the token
    expect(config).toContain('cat \\"$GIT_TOKEN_FILE\\"');
    expect(config).toMatch(/name = obs-canary gate/);
  });

  test('the checkout: the branch checked out, a remote URL without credentials, no token in its config, and a push works', () => {
    const checkout = path.join(dir, 'work', 'repo');
    const r = bash(`configure_git https://git.example.com/x.git
      clone_checkout file://${remote} main ${checkout} && cd ${checkout}
      git symbolic-ref --short HEAD && git remote get-url origin
      echo advance > decision && git add decision && git commit --quiet -m 'canary: advance' && git push --quiet origin HEAD:main
      git --git-dir=${remote} log -1 --format='%an: %s' main`, { GIT_TOKEN_FILE: path.join(dir, 'token') });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout.split('\n')).toEqual(['main', `file://${remote}`, 'obs-canary gate: canary: advance', '']);
    expect(fs.readFileSync(path.join(checkout, '.git', 'config'), 'utf8')).not.toContain(TOKEN);
  });

  test('links the image\'s node_modules when the lockfiles agree, leaving the work tree clean; refuses another lockfile', () => {
    const image = path.join(dir, 'image');
    fs.mkdirSync(path.join(image, 'node_modules'), { recursive: true });
    fs.symlinkSync(path.join(dir, 'bundles'), path.join(image, 'node_modules', '.cache'));
    fs.writeFileSync(path.join(image, 'package-lock.json'), LOCKFILE);
    const checkout = path.join(dir, 'repo');
    const linked = bash(`clone_checkout file://${remote} main ${checkout}\nlink_dependencies ${checkout} ${image}\ngit -C ${checkout} status --porcelain`);
    expect(linked).toMatchObject({ status: 0, stdout: '' });
    expect(fs.readlinkSync(path.join(checkout, 'node_modules'))).toBe(path.join(image, 'node_modules'));
    expect(fs.statSync(path.join(dir, 'bundles')).isDirectory()).toBe(true);

    fs.writeFileSync(path.join(image, 'package-lock.json'), '{"lockfileVersion":3,"name":"b"}\n');
    fs.rmSync(path.join(checkout, 'node_modules'));
    const refused = bash(`link_dependencies ${checkout} ${image}`);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('the images workflow must build a gate image for this lockfile');
    expect(fs.existsSync(path.join(checkout, 'node_modules'))).toBe(false);
  });

  test('ssh: git runs ssh with the mounted key and known_hosts, checking host keys strictly; without known_hosts it refuses', () => {
    const key = path.join(dir, 'ssh-key');
    const hosts = path.join(dir, 'known_hosts');
    fs.writeFileSync(key, 'not a real key\n', { mode: 0o400 });
    fs.writeFileSync(hosts, 'github.com ssh-ed25519 AAAA\n');
    const r = bash('configure_git git@github.com:example/obs-canary.git\nprintf %s "$GIT_SSH_COMMAND"', { GIT_SSH_KEY_FILE: key, GIT_KNOWN_HOSTS_FILE: hosts });
    expect(r.stdout).toBe(`ssh -i ${key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${hosts}`);
    expect(fs.readFileSync(path.join(home, '.gitconfig'), 'utf8')).not.toContain('credential');
    const refused = bash('configure_git ssh://git@github.com/example/obs-canary.git', { GIT_SSH_KEY_FILE: key });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('GIT_KNOWN_HOSTS_FILE must name a readable known_hosts file');
  });

  test('refuses an https URL without its token file, and a URL of another scheme', () => {
    expect(bash('configure_git https://github.com/x.git')).toMatchObject({ status: 1, stderr: expect.stringContaining('GIT_TOKEN_FILE must name a readable file') });
    expect(bash('configure_git file:///srv/x.git')).toMatchObject({ status: 1, stderr: expect.stringContaining('REPO_URL must be https://') });
  });

  test('the tick\'s exit status: 0 once the gate decided (0, 3, 4) or was superseded, 2 while services could not be gated; the CLI\'s own otherwise', () => {
    const cases = [
      [0, '', 0, 'done'],
      [3, '', 0, 'held'],
      [4, '', 0, 'rolled back'],
      [4, JSON.stringify({ services: [], failed: [{ service: 'backend', error: { code: 'config', message: 'x' } }] }, null, 2), 2,
        'the services listed under "failed" were not gated'],
      [4, JSON.stringify({ services: [], failed: [] }), 0, 'rolled back (recorded and pushed)'],
      [2, '{"error":{"code":"superseded","message":"the branch moved"}}', 0, 'superseded'],
      [2, '{"error":{"code":"usage","message":"unknown flag --all"}}', 2, 'usage or configuration error'],
      [1, '', 1, 'failed (exit 1)'],
      [137, '', 137, 'failed (exit 137)'],
    ] as const;
    cases.forEach(([, output], i) => fs.writeFileSync(path.join(dir, `out-${i}`), output));
    const r = bash(cases.map(([code], i) => `exit_status_of ${code} out-${i}`).join('\n'));
    expect(r.stdout.trim().split('\n')).toEqual(cases.map(([, , status]) => String(status)));
    const said = r.stderr.trim().split('\n');
    cases.forEach(([, , , says], i) => expect(said[i]).toContain(says));
  });

  test('run without what it gates, it fails before anything else', () => {
    const r = spawnSync('bash', ['--noprofile', '--norc', SCRIPT], { cwd: dir, encoding: 'utf8', env: gitEnv() });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('DEPLOY_ENV must name the environment to gate');
    expect(fs.existsSync(path.join(home, '.gitconfig'))).toBe(false);
  });

  test('a sidecar not ready in time: the smoke checks are not run this tick, the rest goes on; none, nothing waited for', () => {
    const waited = bash('await_sidecar 1\nprintf "%s|%s" "${SMOKE_URLS-unset}" "$(printenv SMOKE_UNAVAILABLE)"', {
      SIDECAR_READY_URL: `http://127.0.0.1:${DOWN_PORT}/healthz/ready`, SMOKE_URLS: '{"gateway":"x"}',
    });
    // the CLI is told why (the hold's reason), not left to say a flag is missing
    expect(waited).toMatchObject({ status: 0, stdout: 'unset|the gate\'s sidecar was not ready within 1s' });
    expect(waited.stderr).toContain('the sidecar is not ready after 1s: smoke checks are not run this tick');
    expect(bash('await_sidecar 1\nprintf "%s" "$SMOKE_URLS"', { SMOKE_URLS: '{"gateway":"x"}' })).toMatchObject({ status: 0, stdout: '{"gateway":"x"}', stderr: '' });
  });

  test('however the tick ends, it stops the pod\'s sidecar when it has one (a Job\'s pod ends only once every container has)', async () => {
    const quits: string[] = [];
    const sidecar = await StubServer.start(async request => {
      quits.push(`${request.method} ${request.url}`);
      return { status: 200, body: '' };
    });
    try {
      // the tick fails at once (no DEPLOY_ENV), with its own status, and the sidecar is told to quit
      const child = spawn('bash', ['--noprofile', '--norc', SCRIPT], { cwd: dir, env: { ...gitEnv(), SIDECAR_QUIT_URL: `${sidecar.url}/quitquitquit` } });
      const [status] = await once(child, 'close');
      expect(status).toBe(1);
      expect(quits).toEqual(['POST /quitquitquit']);
      // without a sidecar, nothing is sent
      const plain = spawn('bash', ['--noprofile', '--norc', SCRIPT], { cwd: dir, env: gitEnv() });
      await once(plain, 'close');
      expect(quits).toHaveLength(1);
      // a ready sidecar: the smoke checks go ahead
      let out = '';
      const ready = spawn('bash', ['--noprofile', '--norc', '-c', `source ${JSON.stringify(SCRIPT)}\nawait_sidecar 2\nprintf %s "$SMOKE_URLS"`], {
        cwd: dir, env: { ...gitEnv(), SIDECAR_READY_URL: `${sidecar.url}/healthz/ready`, SMOKE_URLS: '{"gateway":"x"}' },
      });
      ready.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await once(ready, 'close');
      expect(out).toBe('{"gateway":"x"}');
      expect(quits).toEqual(['POST /quitquitquit', 'GET /healthz/ready']);
    } finally {
      await sidecar.close();
    }
  });
});

describe('delivery/Dockerfile', () => {
  const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const dockerfile = read('delivery/Dockerfile');

  test('on the Node.js of .nvmrc, pinned, in every stage', () => {
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map(m => m[1]);
    expect(bases).toEqual([`node:${read('.nvmrc').trim()}-bookworm-slim`, `node:${read('.nvmrc').trim()}-bookworm-slim`]);
  });

  test('the dependencies of the lockfile with the dev ones (esbuild, cdk8s), without optional packages; git and ssh', () => {
    expect(dockerfile).toMatch(/^RUN npm ci --omit=optional --ignore-scripts /m);
    expect(dockerfile).not.toMatch(/--omit=dev/);
    expect(dockerfile).toContain('(cd node_modules/esbuild && node install.js)');
    expect(dockerfile).toMatch(/apt-get install .*\bgit openssh-client\b/);
    // the lockfile a tick compares the checkout's with, where gate-tick.sh looks for it
    expect(dockerfile).toMatch(/^WORKDIR \/opt\/gate$/m);
    expect(dockerfile).toContain('COPY --from=deps /opt/gate/package-lock.json ./');
  });

  test('runs the tick as uid 65532, the user the CronJob runs as, with a passwd entry for ssh', () => {
    const { pod } = render();
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toContain('useradd --uid 65532 --gid 65532 --home-dir /home/gate');
    expect(pod.securityContext.runAsUser).toBe(65532);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/gate-tick"\]$/m);
    expect(dockerfile).toContain('COPY --chmod=0755 delivery/gate-tick.sh /usr/local/bin/gate-tick');
  });

  test('its build context (delivery/Dockerfile.dockerignore) holds exactly what it copies from the context', () => {
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap(m => m[1].split(' '));
    const allowed = read('delivery/Dockerfile.dockerignore').split('\n').filter(l => l.startsWith('!')).map(l => l.slice(1));
    expect(read('delivery/Dockerfile.dockerignore')).toMatch(/^\*\*$/m);
    expect(allowed.sort()).toEqual([...new Set(copied)].sort());
  });
});
