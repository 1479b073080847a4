import { Chart, Size } from 'cdk8s';
import { KubeStateMetrics } from '../../lib/constructs/kube-state-metrics';
import { VIRTUAL_SERVICE_GVK } from '../../lib/constructs/kube-state-metrics-config';
import { IMAGES } from '../../lib/images';
import { CLUSTER_STATE_METRICS, ROUTE_WEIGHT, WEIGHTED_ROUTE } from '../../lib/slo/cluster-state';
import { synth, testApp, testChart } from '../support/chart';
import { configFile, find } from '../support/manifest';

function render(props: ConstructorParameters<typeof KubeStateMetrics>[2] = {}) {
  const chart = testChart();
  const ksm = new KubeStateMetrics(chart, 'KubeStateMetrics', props);
  const all = synth(chart);
  const deployment = find(all, 'Deployment', 'kube-state-metrics');
  return {
    ksm, all, deployment, pod: deployment.spec.template.spec, container: deployment.spec.template.spec.containers[0],
    crs: configFile(all, 'kube-state-metrics-config', 'custom-resource-state.yaml'),
  };
}

/** The container's `--flag=value` arguments as a map. */
function flags(container: any): Record<string, string> {
  return Object.fromEntries(container.args.map((a: string) => /^--([^=]+)=(.*)$/.exec(a)!.slice(1, 3)));
}

describe('KubeStateMetrics', () => {
  test('image defaults to the pinned kube-state-metrics', () => {
    const { ksm, container } = render();
    expect(IMAGES.kubeStateMetrics).toBe('registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0');
    expect(container.image).toBe(IMAGES.kubeStateMetrics);
    expect(ksm.image).toBe(IMAGES.kubeStateMetrics);
  });

  test('image: another one is used as given', () => {
    expect(render({ image: 'registry.example.com/mirror/kube-state-metrics:v2.20.0' }).container.image).toBe('registry.example.com/mirror/kube-state-metrics:v2.20.0');
  });

  test('exports Deployments, ReplicaSets and pods, only the allowlisted metrics, the CRS config from its ConfigMap', () => {
    const { container, pod } = render();
    expect(flags(container)).toEqual({
      'port': '8080',
      'telemetry-port': '8081',
      'resources': 'deployments,replicasets,pods',
      'metric-allowlist': CLUSTER_STATE_METRICS.join(','),
      // the one annotation it exports: the pod configuration a service's Deployment runs (its label: annotation_obs_canary_io_pod)
      'metric-annotations-allowlist': 'deployments=[obs-canary.io/pod]',
      'custom-resource-state-config-file': '/etc/kube-state-metrics/custom-resource-state.yaml',
    });
    expect(CLUSTER_STATE_METRICS).toEqual(expect.arrayContaining([
      'kube_deployment_status_replicas_available', 'kube_deployment_status_observed_generation', 'kube_deployment_metadata_generation',
      'kube_deployment_spec_replicas', 'kube_deployment_status_condition', 'kube_pod_container_info', 'kube_pod_owner', 'kube_replicaset_owner',
      'kube_deployment_annotations', ROUTE_WEIGHT.metric,
    ]));
    expect(container.volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/kube-state-metrics', readOnly: true }]);
    expect(pod.volumes).toEqual([{ name: 'config', configMap: { name: 'kube-state-metrics-config' } }]);
  });

  test('namespaces default to every namespace (no --namespaces); given, they become --namespaces', () => {
    expect(render().container.args.some((a: string) => a.startsWith('--namespaces'))).toBe(false);
    const { ksm, container } = render({ namespaces: ['apps', 'payments'] });
    expect(flags(container).namespaces).toBe('apps,payments');
    expect(ksm.namespaces).toEqual(['apps', 'payments']);
  });

  test('cronJobNamespaces: CronJobs exported too (last success, creation, suspension), their namespaces watched, list and watch on them', () => {
    const { all, container } = render({ namespaces: ['apps'], cronJobNamespaces: ['observability'] });
    expect(flags(container)).toMatchObject({
      'resources': 'deployments,replicasets,pods,cronjobs',
      'metric-allowlist': [...CLUSTER_STATE_METRICS, 'kube_cronjob_status_last_successful_time', 'kube_cronjob_created', 'kube_cronjob_spec_suspend'].join(','),
      'namespaces': 'apps,observability',
    });
    expect(find(all, 'ClusterRole', 'observability-kube-state-metrics').rules).toContainEqual({ apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['list', 'watch'] });
    // every namespace watched already: none added, nothing dropped
    const everywhere = render({ cronJobNamespaces: ['observability'] });
    expect(everywhere.container.args.some((a: string) => a.startsWith('--namespaces'))).toBe(false);
    expect(everywhere.ksm.scrapeConfig.metric_relabel_configs).toBeUndefined();
  });

  test('a namespace watched for its CronJobs alone: the rest exported of it is dropped at the scrape (a Job pod per tick)', () => {
    const { ksm } = render({ namespaces: ['apps'], cronJobNamespaces: ['observability', 'apps'] });
    const [drop] = ksm.scrapeConfig.metric_relabel_configs!;
    expect(drop).toEqual({ source_labels: ['__name__', 'namespace'], regex: 'kube_(deployment|replicaset|pod|customresource)_.+;(observability)', action: 'drop' });
    // as Prometheus joins the labels (';') and anchors the regex
    const dropped = (name: string, namespace: string) => new RegExp(`^(?:${drop.regex})$`).test(`${name};${namespace}`);
    expect(dropped('kube_pod_owner', 'observability')).toBe(true);
    expect(dropped('kube_pod_owner', 'apps')).toBe(false);
    expect(dropped('kube_cronjob_status_last_successful_time', 'observability')).toBe(false);
  });

  test('RBAC is read-only: list and watch on exactly pods, Deployments, ReplicaSets, VirtualServices and CRDs', () => {
    const { all } = render();
    const role = find(all, 'ClusterRole', 'observability-kube-state-metrics');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['list', 'watch'] },
      { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['list', 'watch'] },
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['list', 'watch'] },
    ]);
    for (const rule of role.rules) expect(rule.verbs.every((v: string) => ['get', 'list', 'watch'].includes(v))).toBe(true);
    const binding = find(all, 'ClusterRoleBinding', 'observability-kube-state-metrics');
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'kube-state-metrics', namespace: 'observability' }]);
    expect(find(all, 'ServiceAccount', 'kube-state-metrics').automountServiceAccountToken).toBe(true);
  });

  test('restricted security context: uid 65534, read-only root, no capabilities, RuntimeDefault seccomp', () => {
    const { pod, container } = render();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, privileged: false,
      capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test('probes: /healthz and /livez on the metrics port 8080, /readyz on the telemetry port 8081', () => {
    const { container } = render();
    expect(container.ports).toEqual([
      { name: 'http-metrics', containerPort: 8080, protocol: 'TCP' }, { name: 'telemetry', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'http-metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'telemetry' });
  });

  test('resources default to 50m/250m CPU and 64Mi/256Mi, GOMEMLIMIT at 80 % of the limit; the prop changes them', () => {
    const { container } = render();
    expect(container.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '250m', memory: '256Mi' } });
    expect(container.env).toEqual([{ name: 'GOMEMLIMIT', value: '204MiB' }]);
    const bigger = render({
      resources: { cpuRequestMillis: 100, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512) },
    });
    expect(bigger.container.resources.limits).toEqual({ cpu: '500m', memory: '512Mi' });
  });

  test('one replica and a Service on both ports; the Deployment is the default child', () => {
    const { ksm, deployment, all } = render();
    expect(deployment.spec.replicas).toBe(1);
    expect(find(all, 'Service', 'kube-state-metrics').spec.ports.map((p: any) => [p.name, p.port])).toEqual([['http-metrics', 8080], ['telemetry', 8081]]);
    expect(ksm.node.defaultChild).toBeDefined();
    expect((ksm.node.defaultChild as any).kind).toBe('Deployment');
  });

  test('the CRS config: VirtualService v1, one gauge per destination of the weighted route, value from weight', () => {
    const { crs, deployment } = render();
    expect(crs).toEqual({
      kind: 'CustomResourceStateMetrics',
      spec: {
        resources: [{
          groupVersionKind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' },
          metricNamePrefix: 'kube_customresource',
          labelsFromPath: { namespace: ['metadata', 'namespace'], virtualservice: ['metadata', 'name'] },
          metrics: [{
            name: 'virtualservice_route_weight',
            help: 'Weight of each destination of a VirtualService\'s HTTP route, in percent.',
            commonLabels: { route: WEIGHTED_ROUTE },
            each: {
              type: 'Gauge',
              gauge: {
                path: ['spec', 'http', '[name=weighted]', 'route'],
                labelsFromPath: { subset: ['destination', 'subset'], host: ['destination', 'host'] },
                valueFrom: ['weight'],
              },
            },
          }],
        }],
      },
    });
    expect(`${crs.spec.resources[0].metricNamePrefix}_${crs.spec.resources[0].metrics[0].name}`).toBe(ROUTE_WEIGHT.metric);
    expect(VIRTUAL_SERVICE_GVK.group).toBe('networking.istio.io');
    expect(deployment.spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{16}$/);
  });

  test('routes: one metric per route name, told apart by the route label; the config checksum follows', () => {
    const { crs, deployment } = render({ routes: ['weighted', 'mirror'] });
    expect(crs.spec.resources[0].metrics.map((m: any) => [m.commonLabels.route, m.each.gauge.path[2]])).toEqual([
      ['weighted', '[name=weighted]'], ['mirror', '[name=mirror]'],
    ]);
    expect(deployment.spec.template.metadata.annotations['checksum/config']).not.toBe(render().deployment.spec.template.metadata.annotations['checksum/config']);
  });

  test('the scrape job honours the exported labels and adds no namespace, pod or node target labels', () => {
    const { ksm } = render();
    expect(ksm.scrapeConfig.job_name).toBe('kube-state-metrics');
    expect(ksm.scrapeConfig.honor_labels).toBe(true);
    expect(ksm.scrapeConfig.kubernetes_sd_configs).toEqual([{
      role: 'pod', namespaces: { names: ['observability'] }, selectors: [{ role: 'pod', label: 'app.kubernetes.io/name=kube-state-metrics' }],
    }]);
    expect(ksm.scrapeConfig.relabel_configs?.map(r => r.target_label).filter(t => t !== undefined)).toEqual([]);
    expect(ksm.scrapeConfig.relabel_configs?.[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http-metrics', action: 'keep' });
  });

  test.each([
    ['a namespace that is no DNS label', { namespaces: ['Apps'] }, /'namespaces' must hold DNS labels, got \["Apps"\]/],
    ['a repeated namespace', { namespaces: ['apps', 'apps'] }, /'namespaces' must not repeat a name, got \["apps","apps"\]/],
    ['a route that is no DNS label', { routes: ['a b'] }, /'routes' must hold DNS labels, got \["a b"\]/],
    ['a repeated route', { routes: ['weighted', 'weighted'] }, /'routes' must not repeat a name/],
    ['no route', { routes: [] }, /'routes' must name at least one route, got \[\]/],
  ])('fails on %s', (_what, props, message) => {
    expect(() => render(props)).toThrow(message);
  });

  test('fails outside a chart with a namespace', () => {
    expect(() => new KubeStateMetrics(new Chart(testApp(), 'test'), 'KubeStateMetrics')).toThrow(/namespace/);
  });
});
