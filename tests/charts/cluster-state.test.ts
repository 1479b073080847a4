// The observability chart's view of what the cluster runs: kube-state-metrics and its scrape job, the scrapes of
// istiod and the ingress gateway, and their network flows, in every environment; and the CRS path the exporter
// follows, resolved against the VirtualService the services chart renders for a canary in flight.
import { Testing } from 'cdk8s';
import { ObservabilityChart } from '../../lib/charts/observability-chart';
import { OBSERVABILITY_NAMESPACE } from '../../lib/charts/namespaces';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { ROUTE_WEIGHT } from '../../lib/slo/cluster-state';
import { SINGLE_CLUSTER_ENVIRONMENTS, K8sObject, configFile, find, ofKind, synthStack } from '../support/manifest';
import { testApp } from '../support/chart';

/** The value a CRS path (map keys, `[key=value]` list lookups) resolves to, as kube-state-metrics v2.20.0 resolves it. */
function resolve(obj: unknown, path: readonly string[]): unknown {
  let at: unknown = obj;
  for (const part of path) {
    const lookup = /^\[([^=]+)=(.*)\]$/.exec(part);
    if (lookup) at = Array.isArray(at) ? at.find(e => e !== null && typeof e === 'object' && String((e as any)[lookup[1]]) === lookup[2]) : undefined;
    else at = at !== null && typeof at === 'object' && !Array.isArray(at) ? (at as any)[part] : undefined;
    if (at === undefined) return undefined;
  }
  return at;
}

/** The series the CRS config makes of a VirtualService: labels and value, per destination of the configured route. */
function routeWeightSeries(crs: any, vs: K8sObject): Array<Record<string, string | number>> {
  const [resource] = crs.spec.resources;
  const base = Object.fromEntries(Object.entries<string[]>(resource.labelsFromPath).map(([label, p]) => [label, resolve(vs, p) as string]));
  return resource.metrics.flatMap((metric: any) => {
    const { path, labelsFromPath, valueFrom } = metric.each.gauge;
    const elements = resolve(vs, path);
    if (!Array.isArray(elements)) return [];
    return elements.flatMap(e => {
      const value = resolve(e, valueFrom);
      if (value === undefined) return [];
      const own = Object.fromEntries(Object.entries<string[]>(labelsFromPath).map(([label, p]) => [label, resolve(e, p) as string]));
      return [{ ...base, ...metric.commonLabels, ...own, value: value as number }];
    });
  });
}

describe.each(SINGLE_CLUSTER_ENVIRONMENTS)('cluster state ($name)', env => {
  const objects = synthStack(env).charts.observability;
  const prometheusYaml = configFile(objects, 'prometheus-config', 'prometheus.yml');
  const job = (name: string) => prometheusYaml.scrape_configs.find((j: any) => j.job_name === name);
  const policy = (name: string) => find(objects, 'NetworkPolicy', name).spec;

  test('kube-state-metrics runs in the namespace', () => {
    expect(find(objects, 'Deployment', 'kube-state-metrics').metadata.namespace).toBe(OBSERVABILITY_NAMESPACE);
  });

  test('kube-state-metrics watches only the services\' namespaces, and the gate\'s for its CronJob', () => {
    const args: string[] = find(objects, 'Deployment', 'kube-state-metrics').spec.template.spec.containers[0].args;
    const gate = env.delivery.loop === 'cluster' ? ['observability'] : [];
    expect(args).toContain(`--namespaces=${[...Object.keys(synthStack(env).stack.namespaces), ...gate].join(',')}`);
  });

  test('Prometheus scrapes it honouring the exported namespace and pod labels', () => {
    expect(job('kube-state-metrics')).toMatchObject({ honor_labels: true, metrics_path: '/metrics' });
    expect(job('kube-state-metrics').relabel_configs.some((r: any) => ['namespace', 'pod'].includes(r.target_label))).toBe(false);
  });

  test('Prometheus scrapes istiod on http-monitoring (15014) /metrics and the ingress gateway on 15020 /stats/prometheus', () => {
    const gateway = env.apps.ingressGateway;
    expect(job('istiod')).toMatchObject({
      metrics_path: '/metrics',
      kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: ['istio-system'] }, selectors: [{ role: 'pod', label: 'app=istiod' }] }],
    });
    expect(job('istiod').relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http-monitoring', action: 'keep' });
    const label = Object.entries(gateway.selector).map(([k, v]) => `${k}=${v}`).join(',');
    expect(job('ingress-gateway')).toMatchObject({
      metrics_path: '/stats/prometheus',
      kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [gateway.namespace] }, selectors: [{ role: 'pod', label }] }],
    });
    expect(job('ingress-gateway').relabel_configs.slice(0, 2)).toEqual([
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http-envoy-prom', action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_ip'], regex: '(.+)', replacement: '$1:15020', target_label: '__address__' },
    ]);
  });

  test('flows: Prometheus to kube-state-metrics on 8080, to istiod on 15014 and to the gateway on 15020 (egress only: not our namespace)', () => {
    const prometheus = { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } };
    const ksm = { matchLabels: { 'app.kubernetes.io/name': 'kube-state-metrics' } };
    expect(policy('prometheus-to-kube-state-metrics-egress')).toEqual({
      podSelector: prometheus, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: ksm }], ports: [{ port: 8080, protocol: 'TCP' }] }],
    });
    expect(policy('prometheus-to-kube-state-metrics-ingress')).toEqual({
      podSelector: ksm, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: prometheus }], ports: [{ port: 8080, protocol: 'TCP' }] }],
    });
    const podsIn = (namespace: string, selector: Readonly<Record<string, string>>) => [{
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } }, podSelector: { matchLabels: selector },
    }];
    const gateway = env.apps.ingressGateway;
    expect(policy('prometheus-to-istiod-egress').egress).toEqual([{ to: podsIn(env.apps.istiod.namespace, { app: 'istiod' }), ports: [{ port: 15014, protocol: 'TCP' }] }]);
    expect(policy('prometheus-to-ingress-gateway-egress').egress).toEqual([{ to: podsIn(gateway.namespace, gateway.selector), ports: [{ port: 15020, protocol: 'TCP' }] }]);
    expect(ofKind(objects, 'NetworkPolicy').map(p => p.metadata.name)).not.toContain('prometheus-to-istiod-ingress');
  });

  test('kube-state-metrics reaches the API server through the kubernetesApi dependency, and nothing else outside the cluster', () => {
    const api = env.egress.dependencies.kubernetesApi as { cidrs: string[]; ports: Array<{ port: number }> };
    expect(policy('kube-state-metrics-to-kube-api-egress').egress).toEqual([{
      to: api.cidrs.map(cidr => ({ ipBlock: { cidr } })), ports: api.ports.map(p => ({ port: p.port, protocol: 'TCP' })),
    }]);
    const fromKsm = ofKind(objects, 'NetworkPolicy')
      .filter(p => p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === 'kube-state-metrics' && p.spec.policyTypes.includes('Egress'));
    expect(fromKsm.map(p => p.metadata.name)).toEqual(['kube-state-metrics-to-kube-api-egress']);
  });
});

describe('the CRS path against the VirtualService of a canary in flight', () => {
  const { charts } = synthStack(ENVIRONMENTS.local, 'canary');
  const crs = configFile(charts.observability, 'kube-state-metrics-config', 'custom-resource-state.yaml');
  const virtualServices = Object.entries(charts).filter(([id]) => !['observability', 'argocd', 'bootstrap'].includes(id))
    .flatMap(([, objects]) => ofKind(objects, 'VirtualService'));

  test('one series per destination of the weighted route, the weights adding up to 100', () => {
    expect(virtualServices.length).toBeGreaterThan(0);
    for (const vs of virtualServices) {
      const series = routeWeightSeries(crs, vs);
      const route = vs.spec.http.find((h: any) => h.name === 'weighted');
      expect([vs.metadata.name, series]).toEqual([vs.metadata.name, route.route.map((r: any) => ({
        [ROUTE_WEIGHT.labels.namespace]: vs.metadata.namespace, [ROUTE_WEIGHT.labels.virtualService]: vs.metadata.name,
        [ROUTE_WEIGHT.labels.route]: 'weighted', [ROUTE_WEIGHT.labels.subset]: r.destination.subset, [ROUTE_WEIGHT.labels.host]: r.destination.host,
        value: r.weight,
      }))]);
      expect(series.reduce((sum, s) => sum + (s.value as number), 0)).toBe(100);
    }
    // the canary scenario does split some service's traffic
    expect(virtualServices.flatMap(vs => routeWeightSeries(crs, vs)).some(s => s.subset === 'canary' && (s.value as number) > 0)).toBe(true);
  });
});

describe('ObservabilityChart props', () => {
  test('without serviceNamespaces kube-state-metrics watches every namespace; istiod may be elsewhere', () => {
    const chart = new ObservabilityChart(testApp(), 'observability', {
      env: ENVIRONMENTS.local, istiod: { name: 'istiod', namespace: 'istio-control', selector: { app: 'istiod', 'istio.io/rev': 'canary' } },
    });
    const objects = Testing.synth(chart) as K8sObject[];
    expect(find(objects, 'Deployment', 'kube-state-metrics').spec.template.spec.containers[0].args.some((a: string) => a.startsWith('--namespaces'))).toBe(false);
    const istiod = configFile(objects, 'prometheus-config', 'prometheus.yml').scrape_configs.find((j: any) => j.job_name === 'istiod');
    expect(istiod.kubernetes_sd_configs[0]).toMatchObject({ namespaces: { names: ['istio-control'] }, selectors: [{ label: 'app=istiod,istio.io/rev=canary' }] });
    expect(find(objects, 'NetworkPolicy', 'prometheus-to-istiod-egress').spec.egress[0].to[0].namespaceSelector)
      .toEqual({ matchLabels: { 'kubernetes.io/metadata.name': 'istio-control' } });
  });

  test('serviceNamespaces become --namespaces', () => {
    const chart = new ObservabilityChart(testApp(), 'observability', { env: ENVIRONMENTS.local, serviceNamespaces: ['apps', 'payments'] });
    const args = find(Testing.synth(chart) as K8sObject[], 'Deployment', 'kube-state-metrics').spec.template.spec.containers[0].args;
    expect(args).toContain('--namespaces=apps,payments,observability');
  });
});
