import {
  CLUSTER_RULE_GROUP, CLUSTER_SILENT_ALERT, MIMIR_DISCARDING_ALERT, OBSERVABILITY_AGENT_SILENT_ALERT, REMOTE_WRITE_FAILING_ALERT,
  clusterAlertingRules,
} from '../../lib/slo/cluster-alerts';
import { PromtoolTestCase, promtoolCheckRules, promtoolTestRules } from '../support/promtool';
import { configFile, synthStack } from '../support/manifest';
import { ENVIRONMENTS } from '../../lib/config/environments';

describe('clusterAlertingRules', () => {
  const group = clusterAlertingRules(['a', 'b'], { mimir: true });

  test('one page per application cluster, labelled with it; the agents\' failed writes and Mimir\'s discards as tickets', () => {
    expect(group.name).toBe(CLUSTER_RULE_GROUP);
    expect(group.rules.map((r: any) => [r.alert, r.labels.cluster, r.labels.severity])).toStrictEqual([
      [CLUSTER_SILENT_ALERT, 'a', 'page'], [CLUSTER_SILENT_ALERT, 'b', 'page'],
      [REMOTE_WRITE_FAILING_ALERT, undefined, 'ticket'], [MIMIR_DISCARDING_ALERT, undefined, 'ticket'],
    ]);
    expect(clusterAlertingRules(['a']).rules.map((r: any) => r.alert)).toEqual([CLUSTER_SILENT_ALERT, REMOTE_WRITE_FAILING_ALERT]);
    expect(promtoolCheckRules([group])).toContain('SUCCESS: 4 rules found');
  });

  test('promtool: failed writes of an agent and samples Mimir discards, each after 15 minutes, with what they name', () => {
    const rule = (alert: string): any => group.rules.find((r: any) => r.alert === alert);
    const expand = (text: string, labels: Record<string, string>) => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? '');
    const fired = (alert: string, labels: Record<string, string>) => {
      const all = { ...labels, ...rule(alert).labels };
      const annotations = Object.entries(rule(alert).annotations as Record<string, string>).map(([k, v]) => [k, expand(v, all)]);
      return { exp_labels: all, exp_annotations: Object.fromEntries(annotations) };
    };
    // the labels an application cluster's agent gives its own series: its self-scrape's, and the cluster's
    const { stack, charts } = synthStack(ENVIRONMENTS.central);
    const [name, cluster] = Object.entries(stack.clusters!)[0];
    const config = configFile(charts[cluster.agents.node.id], 'prometheus-config', 'prometheus.yml');
    const self = config.scrape_configs.find((j: any) => j.job_name === 'prometheus');
    const agent = { ...self.static_configs[0].labels, ...config.global.external_labels };
    expect(agent).toEqual({ namespace: 'observability', pod: 'prometheus-0', cluster: name });
    const series = Object.entries({ ...agent, job: 'prometheus' }).map(([k, v]) => `${k}="${v}"`).join(',');
    const cases: PromtoolTestCase[] = [{
      name: 'an agent failing 10 samples a minute; Mimir discarding 5 a minute for too many labels',
      interval: '1m',
      input_series: [
        { series: `prometheus_remote_storage_samples_failed_total{${series}}`, values: '0+10x40' },
        { series: 'cortex_discarded_samples_total{reason="max_label_names_per_series",user="obs-canary",job="mimir"}', values: '0+5x40' },
      ],
      alert_rule_test: [
        { eval_time: '12m', alertname: REMOTE_WRITE_FAILING_ALERT, exp_alerts: [] },
        // the summary names the agent: `Prometheus agent observability/prometheus-0 of <cluster>`, not ` / of`
        { eval_time: '25m', alertname: REMOTE_WRITE_FAILING_ALERT, exp_alerts: [fired(REMOTE_WRITE_FAILING_ALERT, agent)] },
        { eval_time: '25m', alertname: MIMIR_DISCARDING_ALERT, exp_alerts: [fired(MIMIR_DISCARDING_ALERT, { reason: 'max_label_names_per_series', user: 'obs-canary' })] },
      ],
    }];
    expect(promtoolTestRules([group], cases)).toContain('SUCCESS');
    expect(fired(REMOTE_WRITE_FAILING_ALERT, agent).exp_annotations.summary).toMatch(`Prometheus agent observability/prometheus-0 of ${name} `);
  });

  /** The alert as it fires for `cluster` (absent_over_time keeps the equality matchers' labels). */
  const firing = (cluster: string) => {
    const rule: any = group.rules.find((r: any) => r.alert === CLUSTER_SILENT_ALERT && r.labels.cluster === cluster);
    return { exp_labels: { ...rule.labels }, exp_annotations: { ...rule.annotations } };
  };

  test('promtool: a cluster whose series stop pages after 10 minutes; one that keeps sending does not', () => {
    const cases: PromtoolTestCase[] = [{
      name: 'a sends throughout; b for 20 minutes, then nothing',
      interval: '1m',
      input_series: [
        { series: 'up{cluster="a",job="services",instance="10.0.0.1:15020"}', values: '1x60' },
        { series: 'up{cluster="b",job="services",instance="10.1.0.1:15020"}', values: '1x20' },
      ],
      alert_rule_test: [
        { eval_time: '25m', alertname: CLUSTER_SILENT_ALERT, exp_alerts: [] },
        { eval_time: '35m', alertname: CLUSTER_SILENT_ALERT, exp_alerts: [firing('b')] },
      ],
    }];
    expect(promtoolTestRules([group], cases)).toContain('SUCCESS');
    // and it can fail: a cluster that keeps sending is not reported silent
    const wrong: PromtoolTestCase[] = [{ ...cases[0], alert_rule_test: [{ eval_time: '35m', alertname: CLUSTER_SILENT_ALERT, exp_alerts: [firing('a')] }] }];
    expect(() => promtoolTestRules([group], wrong)).toThrow(/promtool test rules failed/);
  });

  test('central: the group names each of its application clusters, in Mimir\'s ruler', () => {
    const env = ENVIRONMENTS.central;
    const rules = configFile(synthStack(env).charts.observability, 'mimir-rules', 'rules.yaml');
    const rendered = rules.groups.find((g: any) => g.name === CLUSTER_RULE_GROUP);
    const clusters = rendered.rules.filter((r: any) => r.alert === CLUSTER_SILENT_ALERT).map((r: any) => r.labels.cluster);
    expect(clusters).toStrictEqual(env.topology!.appClusters.map(c => c.name));
    expect(rendered.rules.map((r: any) => r.alert)).toContain(MIMIR_DISCARDING_ALERT);
  });

  describe('the observability cluster\'s own agent (Mimir\'s ruler evaluates the rules)', () => {
    const withOwn = clusterAlertingRules(['a'], { mimir: true, observabilityCluster: 'obs' });
    const own: any = withOwn.rules.find((r: any) => r.alert === OBSERVABILITY_AGENT_SILENT_ALERT);

    test('pages, labelled with its cluster; not without Mimir (Prometheus evaluates its own rules: the heartbeat stops with it)', () => {
      expect(own.labels).toEqual({ severity: 'page', component: 'prometheus', cluster: 'obs' });
      expect(own.expr).toBe('absent_over_time(up{cluster="obs"}[10m])');
      expect(clusterAlertingRules(['a'], { observabilityCluster: 'obs' }).rules.map((r: any) => r.alert)).not.toContain(OBSERVABILITY_AGENT_SILENT_ALERT);
    });

    test('promtool: the observability cluster falls silent while an application cluster keeps sending: it pages, the application cluster does not', () => {
      const cases: PromtoolTestCase[] = [{
        name: 'a sends throughout; obs for 20 minutes, then nothing',
        interval: '1m',
        input_series: [
          { series: 'up{cluster="a",job="services",instance="10.0.0.1:15020"}', values: '1x60' },
          { series: 'up{cluster="obs",job="prometheus",namespace="observability",pod="prometheus-0"}', values: '1x20' },
        ],
        alert_rule_test: [
          { eval_time: '25m', alertname: OBSERVABILITY_AGENT_SILENT_ALERT, exp_alerts: [] },
          { eval_time: '35m', alertname: OBSERVABILITY_AGENT_SILENT_ALERT, exp_alerts: [{ exp_labels: { ...own.labels }, exp_annotations: { ...own.annotations } }] },
          { eval_time: '35m', alertname: CLUSTER_SILENT_ALERT, exp_alerts: [] },
        ],
      }];
      expect(promtoolTestRules([withOwn], cases)).toContain('SUCCESS');
    });

    test('rendered where Mimir is the store, matching the cluster label the agent gives its series; with or without application clusters', () => {
      const central = ENVIRONMENTS.central;
      // one cluster that keeps its metrics in Mimir: central's settings without the application clusters
      const { topology: _, ...alone } = central;
      for (const env of [central, { ...alone, name: 'mimir-alone' }]) {
        const { charts } = synthStack(env);
        const agent = configFile(charts.observability, 'prometheus-config', 'prometheus.yml').global.external_labels.cluster;
        const clusters = configFile(charts.observability, 'mimir-rules', 'rules.yaml').groups.find((g: any) => g.name === CLUSTER_RULE_GROUP);
        const rule = clusters.rules.find((r: any) => r.alert === OBSERVABILITY_AGENT_SILENT_ALERT);
        expect([env.name, rule?.labels.cluster, rule?.expr]).toEqual([env.name, agent, `absent_over_time(up{cluster="${agent}"}[10m])`]);
      }
      // prod: its Prometheus evaluates its own rules, and has no cluster group
      const prodRules = configFile(synthStack(ENVIRONMENTS.prod).charts.observability, 'prometheus-config', 'rules.yml');
      expect(prodRules.groups.map((g: any) => g.name)).not.toContain(CLUSTER_RULE_GROUP);
    });
  });
});
