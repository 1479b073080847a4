import { ENVIRONMENTS } from '../../lib/config/environments';
import { ALL_ENVIRONMENTS, configFile, find, ofKind, synthStack } from '../support/manifest';
import { promtoolCheckConfig } from '../support/promtool';

describe.each(ALL_ENVIRONMENTS)('ObservabilityChart ($name)', env => {
  const { stack, charts } = synthStack(env);
  const objects = charts.observability;

  test('the observability namespace, with Pod Security enforced', () => {
    const ns = find(objects, 'Namespace', 'observability');
    expect(ns.metadata.namespace).toBeUndefined();
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  test('every namespaced object is in observability; cluster-scoped objects have no namespace', () => {
    for (const obj of objects) {
      const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(obj.kind);
      expect([obj.kind, obj.metadata.name, obj.metadata.namespace]).toEqual([obj.kind, obj.metadata.name, clusterScoped ? undefined : 'observability']);
    }
  });

  test('every object carries the part-of label', () => {
    for (const obj of objects) expect(obj.metadata.labels?.['app.kubernetes.io/part-of']).toBe('obs-canary');
  });

  test('names are stable and readable (no hash suffixes)', () => {
    expect(objects.map(o => `${o.kind}/${o.metadata.name}`)).toEqual(expect.arrayContaining([
      'StatefulSet/prometheus', 'Service/prometheus', 'ConfigMap/prometheus-config', 'Deployment/grafana', 'Service/grafana',
    ]));
  });

  test('Prometheus follows the environment', () => {
    const cfg = configFile(objects, 'prometheus-config', 'prometheus.yml');
    const sts = find(objects, 'StatefulSet', 'prometheus');
    expect(cfg.global.external_labels).toEqual({ cluster: env.clusterName });
    expect(cfg.storage.tsdb.retention.time).toBe(`${env.prometheus.retention.toDays()}d`);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(`${env.prometheus.volumeSize.toGibibytes()}Gi`);
  });

  test('Prometheus records the SLO rules and scrapes Grafana', () => {
    const rules = configFile(objects, 'prometheus-config', 'rules.yml');
    expect(rules.groups.map((g: any) => g.name)).toEqual(['slo-istio', 'slo-http']);
    const cfg = configFile(objects, 'prometheus-config', 'prometheus.yml');
    expect(cfg.scrape_configs.map((j: any) => j.job_name)).toEqual(expect.arrayContaining(['prometheus', 'grafana']));
  });

  test('promtool accepts the Prometheus configuration', () => {
    expect(promtoolCheckConfig(configFile(objects, 'prometheus-config', 'prometheus.yml'))).toContain('SUCCESS');
  });

  test('Grafana reads Prometheus at the URL Prometheus publishes', () => {
    const ds = configFile(objects, 'grafana-provisioning', 'datasources.yaml').datasources;
    expect(ds.find((d: any) => d.uid === 'prometheus').url).toBe(stack.observability.prometheus.url);
    expect(ds.map((d: any) => d.uid)).toEqual(['prometheus', 'loki', 'tempo']);
  });

  test('Grafana replicas follow the environment, with a budget only when there is more than one', () => {
    expect(find(objects, 'Deployment', 'grafana').spec.replicas).toBe(env.grafana.replicas);
    expect(ofKind(objects, 'PodDisruptionBudget').map(p => p.metadata.name)).toEqual(env.grafana.replicas > 1 ? ['grafana'] : []);
  });

  test('snapshot', () => {
    expect(objects).toMatchSnapshot();
  });
});

describe('promtoolCheckConfig', () => {
  test('fails on a config Prometheus would reject (the check can fail)', () => {
    const objects = synthStack(ENVIRONMENTS.local).charts.observability;
    const cfg = configFile(objects, 'prometheus-config', 'prometheus.yml');
    expect(() => promtoolCheckConfig({ ...cfg, scrape_configs: [...cfg.scrape_configs, { job_name: 'prometheus', scrape_interval: 'often' }] }))
      .toThrow(/promtool check config failed/);
  });
});
