// Prometheus scrapes every node's kubelet for the PersistentVolume usage VolumeFillingUp reads: the job, its RBAC
// (nodes/metrics, never nodes/proxy) and its egress (the `kubelet` dependency, to the nodes on 10250).
import { DirectEgress, KUBELET_PORT } from '../../lib/config/egress';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { Prometheus } from '../../lib/constructs/prometheus';
import { KUBELET_KEPT_METRICS, kubeletScrapeConfig } from '../../lib/constructs/prometheus-config';
import { PIPELINE_ALERTS } from '../../lib/slo/pipeline-alerts';
import { synth, testChart } from '../support/chart';
import { ALL_ENVIRONMENTS, configFile, find, ofKind, synthStack } from '../support/manifest';
import { promtoolCheckConfig } from '../support/promtool';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const NODE_RULES = [
  { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
];

describe('kubeletScrapeConfig', () => {
  test('node discovery over HTTPS on the default address, the ServiceAccount token, and only kubelet_volume_stats_* kept', () => {
    expect(kubeletScrapeConfig()).toEqual({
      job_name: 'kubelet',
      scheme: 'https',
      metrics_path: '/metrics',
      authorization: { credentials_file: `${SA_DIR}/token` },
      tls_config: { ca_file: `${SA_DIR}/ca.crt`, insecure_skip_verify: true },
      kubernetes_sd_configs: [{ role: 'node' }],
      relabel_configs: [{ source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' }],
      metric_relabel_configs: [{ source_labels: ['__name__'], regex: 'kubelet_volume_stats_.*', action: 'keep' }],
    });
  });

  test('no relabelling touches __address__: the target stays the node\'s InternalIP on the kubelet\'s port (10250)', () => {
    expect(kubeletScrapeConfig().relabel_configs?.map(r => r.target_label)).not.toContain('__address__');
  });

  test('promtool accepts a config of the job alone', () => {
    expect(promtoolCheckConfig({
      global: { scrape_interval: '30s', evaluation_interval: '30s' }, rule_files: [], scrape_configs: [kubeletScrapeConfig()],
    })).toContain('SUCCESS');
  });
});

describe('Prometheus.scrapeKubelets', () => {
  const render = (scrape: boolean) => {
    const chart = testChart();
    const prometheus = new Prometheus(chart, 'Prometheus');
    if (scrape) prometheus.scrapeKubelets();
    return { prometheus, objects: synth(chart) };
  };

  test('without it: no kubelet job and no access to nodes', () => {
    const { objects } = render(false);
    expect(configFile(objects, 'prometheus-config', 'prometheus.yml').scrape_configs.map((j: any) => j.job_name)).toEqual(['prometheus']);
    expect(JSON.stringify(find(objects, 'ClusterRole', 'observability-prometheus').rules)).not.toContain('nodes');
  });

  test('adds the kubelet job and nodes list/watch and nodes/metrics get to Prometheus\'s own ClusterRole', () => {
    const { objects } = render(true);
    const config = configFile(objects, 'prometheus-config', 'prometheus.yml');
    expect(config.scrape_configs.find((j: any) => j.job_name === 'kubelet')).toEqual(kubeletScrapeConfig());
    expect(find(objects, 'ClusterRole', 'observability-prometheus').rules).toEqual(NODE_RULES);
    expect(ofKind(objects, 'ClusterRole')).toHaveLength(1);
  });

  test('fails if called twice: the job name is taken', () => {
    const { prometheus } = render(true);
    expect(() => prometheus.scrapeKubelets()).toThrow(/scrape job "kubelet" already exists/);
  });
});

describe.each(ALL_ENVIRONMENTS)('kubelet scrape ($name)', env => {
  const { charts } = synthStack(env);
  const objects = charts.observability;
  const config = configFile(objects, 'prometheus-config', 'prometheus.yml');
  const kubelet = env.egress.dependencies.kubelet;

  test('Prometheus scrapes the kubelets', () => {
    expect(config.scrape_configs.filter((j: any) => j.job_name === 'kubelet')).toEqual([kubeletScrapeConfig()]);
  });

  test('every series VolumeFillingUp reads is one the job keeps', () => {
    // Prometheus's rules, or Mimir's ruler's where Mimir is the store
    const rules = env.mimir ? configFile(objects, 'mimir-rules', 'rules.yaml') : configFile(objects, 'prometheus-config', 'rules.yml');
    const alert = rules.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === PIPELINE_ALERTS.volumeFillingUp);
    const names: string[] = alert.expr.match(/kubelet_[a-z_]+/g);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect([name, new RegExp(`^(?:${KUBELET_KEPT_METRICS})$`).test(name)]).toEqual([name, true]);
  });

  test('RBAC: nodes list/watch and nodes/metrics get, bound to Prometheus; no ClusterRole grants nodes/proxy', () => {
    expect(find(objects, 'ClusterRole', 'observability-prometheus').rules).toEqual(expect.arrayContaining(NODE_RULES));
    expect(find(objects, 'ClusterRoleBinding', 'observability-prometheus').subjects)
      .toEqual([{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'observability' }]);
    for (const chart of Object.values(charts)) {
      for (const role of [...ofKind(chart, 'ClusterRole'), ...ofKind(chart, 'Role')]) {
        expect([role.metadata.name, JSON.stringify(role.rules)]).toEqual([role.metadata.name, expect.not.stringContaining('nodes/proxy')]);
      }
    }
  });

  test('Prometheus, and only Prometheus, has egress to egress.dependencies.kubelet on 10250', () => {
    expect(kubelet).toEqual({ cidrs: expect.any(Array), ports: [{ port: KUBELET_PORT }] });
    const direct = kubelet as DirectEgress;
    expect(find(objects, 'NetworkPolicy', 'prometheus-to-kubelet-egress').spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      policyTypes: ['Egress'],
      egress: [{ to: direct.cidrs.map(cidr => ({ ipBlock: { cidr } })), ports: [{ port: 10250, protocol: 'TCP' }] }],
    });
    const others = ofKind(objects, 'NetworkPolicy').filter(p => p.metadata.name !== 'prometheus-to-kubelet-egress');
    expect(others.filter(p => JSON.stringify(p.spec.egress ?? []).includes('10250')).map(p => p.metadata.name)).toEqual([]);
  });
});

describe('the environments\' kubelet egress', () => {
  test('local: anywhere on 10250 (allowWideCidrs); prod: the VPC range the nodes share with the pods', () => {
    expect(ENVIRONMENTS.local.egress.dependencies.kubelet).toEqual({ cidrs: ['0.0.0.0/0'], ports: [{ port: 10250 }] });
    expect(ENVIRONMENTS.prod.egress.dependencies.kubelet).toEqual({ cidrs: ['10.0.0.0/16'], ports: [{ port: 10250 }] });
    expect(ENVIRONMENTS.prod.egress.clusterCidrs).toContain('10.0.0.0/16');
  });
});
