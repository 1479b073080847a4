import { ENVIRONMENTS } from '../../lib/config/environments';
import { ALL_ENVIRONMENTS, Scenario, configFile, find, fixtureRollouts, ofKind, synthStack } from '../support/manifest';
import { promtoolCheckConfig } from '../support/promtool';

const SCENARIOS: Scenario[] = ['steady', 'canary'];
const SERVICES = ['gateway', 'backend'] as const;

describe.each(ALL_ENVIRONMENTS.flatMap(env => SCENARIOS.map(scenario => ({ env, scenario, name: `${env.name}/${scenario}` }))))('AppsChart ($name)', ({ env, scenario }) => {
  const { stack, charts } = synthStack(env, scenario);
  const objects = charts.apps;
  const rollouts = fixtureRollouts(scenario);
  const deploymentsOf = (service: string) => ofKind(objects, 'Deployment').filter(d => d.metadata.name.startsWith(`${service}-`));

  test('the apps namespace: sidecar injection, Pod Security restricted', () => {
    expect(find(objects, 'Namespace', 'apps').metadata.labels).toMatchObject({
      'istio-injection': 'enabled', 'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });

  test.each(SERVICES)('names of %s: Deployments, Service, DestinationRule, VirtualService, host, subsets', service => {
    const state = rollouts[service];
    const deployments = deploymentsOf(service).map(d => d.metadata.name).sort();
    expect(deployments).toEqual(state.canary ? [`${service}-canary`, `${service}-stable`] : [`${service}-stable`]);
    const svc = find(objects, 'Service', service);
    expect(svc.spec.selector).toEqual({ app: service });
    expect(svc.spec.ports.map((p: any) => p.name)).toEqual(['http']);
    const host = `${service}.apps.svc.cluster.local`;
    expect(find(objects, 'DestinationRule', service).spec.host).toBe(host);
    expect(find(objects, 'VirtualService', service).spec.hosts[0]).toBe(host);
    expect(find(objects, 'DestinationRule', service).spec.subsets.map((s: any) => s.name)).toEqual(['stable', 'canary']);
  });

  test.each(SERVICES)('the subsets of %s select exactly the pods of each track', service => {
    const subsets = find(objects, 'DestinationRule', service).spec.subsets;
    const deployments = deploymentsOf(service);
    expect(deployments).toHaveLength(rollouts[service].canary ? 2 : 1);
    for (const deployment of deployments) {
      const labels = deployment.spec.template.metadata.labels;
      const matching = subsets.filter((s: any) => Object.entries(s.labels).every(([k, v]) => labels[k] === v));
      expect(matching.map((s: any) => s.name)).toEqual([labels.version]);
      expect(labels).toEqual({ app: service, version: deployment.metadata.name.slice(service.length + 1) });
    }
  });

  // stable takes 100 minus the canary's weight, so the exact check is also the "sums to 100" check
  test.each(SERVICES)('the weights of %s follow the state file and sum to 100', service => {
    const canary = rollouts[service].canary;
    const weighted = find(objects, 'VirtualService', service).spec.http.find((h: any) => h.name === 'weighted');
    const weights = Object.fromEntries(weighted.route.map((r: any) => [r.destination.subset, r.weight]));
    expect(weights).toEqual(canary ? { stable: 100 - canary.weight, canary: canary.weight } : { stable: 100 });
  });

  test.each(SERVICES)('the images of %s come from the state file', service => {
    const state = rollouts[service];
    const image = (name: string) => find(objects, 'Deployment', name).spec.template.spec.containers[0].image;
    expect(image(`${service}-stable`)).toBe(state.stable.image);
    if (state.canary) expect(image(`${service}-canary`)).toBe(state.canary.image);
  });

  test.each(SERVICES)('the Deployments of %s: own ServiceAccount, the Collector\'s OTLP URL, the environment\'s sampling, log level and replicas', service => {
    expect(find(objects, 'ServiceAccount', service).metadata.name).toBe(service);
    const deployments = deploymentsOf(service);
    expect(deployments).toHaveLength(rollouts[service].canary ? 2 : 1);
    for (const deployment of deployments) {
      const pod = deployment.spec.template.spec;
      const vars = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value]));
      const { name } = deployment.metadata;
      expect({ name, serviceAccountName: pod.serviceAccountName, ...vars }).toMatchObject({
        name, serviceAccountName: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: stack.observability.collector.otlpGrpcUrl,
        OTEL_TRACES_SAMPLER_ARG: String(env.apps.traceSamplingRatio),
        LOG_LEVEL: env.apps.logLevel,
      });
    }
    expect(find(objects, 'Deployment', `${service}-stable`).spec.replicas).toBe(env.apps.stableReplicas);
  });

  test('the flights Gateway serves the host: HTTPS with the environment\'s certificate when it names one, plain HTTP otherwise', () => {
    const hosts = [env.apps.host];
    const http = { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts };
    const credentialName = env.apps.tlsCredentialName;
    expect(find(objects, 'Gateway', 'flights').spec.servers).toEqual(credentialName === undefined ? [http] : [
      { ...http, tls: { httpsRedirect: true } },
      { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts, tls: { mode: 'SIMPLE', credentialName } },
    ]);
  });

  test('the gateway reaches the backend at its Service and is exposed on the ingress gateway', () => {
    const env0 = find(objects, 'Deployment', 'gateway-stable').spec.template.spec.containers[0].env;
    expect(env0.find((e: any) => e.name === 'BACKEND_URL').value).toBe('http://backend.apps.svc.cluster.local:8081');
    expect(env0.find((e: any) => e.name === 'BACKEND_TIMEOUT_MS').value).toBe(String(env.apps.backendTimeoutMs));
    const vs = find(objects, 'VirtualService', 'gateway').spec;
    expect(vs.gateways).toEqual(['apps/flights', 'mesh']);
    expect(vs.hosts).toContain(env.apps.host);
    expect(find(objects, 'VirtualService', 'backend').spec.gateways).toEqual(['mesh']);
    expect(find(objects, 'Gateway', 'flights').spec.servers.every((s: any) => s.hosts.includes(env.apps.host))).toBe(true);
  });

  test('the backend route outlasts the gateway\'s own budget, so callers see the gateway\'s 504', () => {
    const seconds = (t: string) => (t.endsWith('ms') ? Number(t.slice(0, -2)) / 1000 : Number(t.slice(0, -1)));
    const backendRoute = find(objects, 'VirtualService', 'backend').spec.http.find((h: any) => h.name === 'weighted');
    expect(seconds(backendRoute.timeout) * 1000).toBeGreaterThan(env.apps.backendTimeoutMs);
  });

  test('mesh security: STRICT mTLS; only ingress → gateway, gateway → backend and scrapes are allowed', () => {
    expect(find(objects, 'PeerAuthentication', 'default').spec.mtls.mode).toBe('STRICT');
    const policies = ofKind(objects, 'AuthorizationPolicy');
    expect(policies.map(p => p.metadata.name).sort()).toEqual(['gateway-to-backend', 'ingress-to-gateway', 'prometheus-scrapes']);
    const principals = (name: string) => find(objects, 'AuthorizationPolicy', name).spec.rules[0].from[0].source.principals;
    expect(principals('ingress-to-gateway')).toEqual([`cluster.local/ns/${env.apps.ingressGateway.namespace}/sa/${env.apps.ingressGateway.serviceAccount}`]);
    expect(principals('gateway-to-backend')).toEqual(['cluster.local/ns/apps/sa/gateway']);
    expect(find(objects, 'AuthorizationPolicy', 'ingress-to-gateway').spec.rules[0].to[0].operation.notPaths).toContain('/metrics');
    for (const p of policies) expect(p.spec.action).toBe('ALLOW');
  });

  test('sidecar tracing at the environment\'s mesh sampling', () => {
    expect(find(objects, 'Telemetry', 'tracing').spec.tracing[0].randomSamplingPercentage).toBe(env.apps.meshSamplingPercent);
  });

  test('network policies: default deny, DNS, istiod, the Collector, ingress, gateway → backend, scrapes', () => {
    expect(ofKind(objects, 'NetworkPolicy').map(p => p.metadata.name).sort()).toEqual([
      'apps-to-collector-egress', 'default-deny-all', 'dns-egress', 'gateway-to-backend-egress', 'gateway-to-backend-ingress',
      'ingress-to-gateway-ingress', 'prometheus-to-apps-ingress', 'sidecars-to-istiod-egress',
    ]);
    expect(find(objects, 'NetworkPolicy', 'prometheus-to-apps-ingress').spec.ingress[0]).toEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ port: 15020, protocol: 'TCP' }],
    });
  });

  test('snapshot', () => {
    expect(objects).toMatchSnapshot();
  });
});

describe('AppsChart props that no shipped environment sets apart from the defaults', () => {
  test('the environment\'s log level reaches every Deployment (both environments use the default, info)', () => {
    const env = { ...ENVIRONMENTS.local, apps: { ...ENVIRONMENTS.local.apps, logLevel: 'debug' as const } };
    const deployments = ofKind(synthStack(env, 'canary').charts.apps, 'Deployment');
    expect(deployments.map(d => d.metadata.name).sort()).toEqual(['backend-stable', 'gateway-canary', 'gateway-stable']);
    for (const d of deployments) expect([d.metadata.name, d.spec.template.spec.containers[0].env.find((e: any) => e.name === 'LOG_LEVEL')?.value]).toEqual([d.metadata.name, 'debug']);
  });
});

describe('Prometheus scrapes the apps through Istio\'s metrics merging', () => {
  const objects = synthStack(ENVIRONMENTS.local).charts.observability;
  const config = configFile(objects, 'prometheus-config', 'prometheus.yml');
  const job = config.scrape_configs.find((j: any) => j.job_name === 'apps');

  test('every annotated pod of apps, at the annotated port and path, labelled namespace, pod and app', () => {
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['apps'] } }]);
    const byTarget = (t: string) => job.relabel_configs.find((r: any) => r.target_label === t);
    expect(job.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' });
    expect(byTarget('__address__')).toEqual({
      source_labels: ['__meta_kubernetes_pod_ip', '__meta_kubernetes_pod_annotation_prometheus_io_port'], regex: '(.+);(\\d+)', replacement: '$1:$2', target_label: '__address__',
    });
    expect(byTarget('__metrics_path__').source_labels).toEqual(['__meta_kubernetes_pod_annotation_prometheus_io_path']);
    expect(byTarget('app').source_labels).toEqual(['__meta_kubernetes_pod_label_app']);
  });

  test('the relabelling turns a sidecar-rewritten pod into one target on the merged port', () => {
    // what the sidecar injector leaves on a pod, and what each relabel step makes of it
    const meta: Record<string, string> = {
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true', __meta_kubernetes_pod_annotation_prometheus_io_port: '15020',
      __meta_kubernetes_pod_annotation_prometheus_io_path: '/stats/prometheus', __meta_kubernetes_pod_ip: '10.1.2.3',
      __meta_kubernetes_namespace: 'apps', __meta_kubernetes_pod_name: 'gateway-canary-abc', __meta_kubernetes_pod_label_app: 'gateway',
      __meta_kubernetes_pod_phase: 'Running',
    };
    const labels = relabel(meta, job.relabel_configs);
    expect(labels).toMatchObject({ __address__: '10.1.2.3:15020', __metrics_path__: '/stats/prometheus', namespace: 'apps', pod: 'gateway-canary-abc', app: 'gateway' });
    expect(relabel({ ...meta, __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'false' }, job.relabel_configs)).toBeNull();
  });

  test('promtool accepts the configuration with the apps job', () => {
    expect(promtoolCheckConfig(config)).toContain('SUCCESS');
  });
});

/** Prometheus's replace/keep/drop relabelling, enough to check the rules above. */
function relabel(input: Record<string, string>, rules: any[]): Record<string, string> | null {
  const labels = { ...input };
  for (const r of rules) {
    const value = (r.source_labels ?? []).map((l: string) => labels[l] ?? '').join(r.separator ?? ';');
    const m = new RegExp(`^(?:${r.regex ?? '(.*)'})$`).exec(value);
    const action = r.action ?? 'replace';
    if (action === 'keep' && !m) return null;
    if (action === 'drop' && m) return null;
    if (action === 'replace' && m) labels[r.target_label] = (r.replacement ?? '$1').replace(/\$(\d)/g, (_: string, i: string) => m[Number(i)] ?? '');
  }
  return labels;
}

