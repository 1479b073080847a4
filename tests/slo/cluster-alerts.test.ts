import { CLUSTER_RULE_GROUP, CLUSTER_SILENT_ALERT, clusterAlertingRules } from '../../lib/slo/cluster-alerts';
import { PromtoolTestCase, promtoolCheckRules, promtoolTestRules } from '../support/promtool';
import { configFile, synthStack } from '../support/manifest';
import { ENVIRONMENTS } from '../../lib/config/environments';

describe('clusterAlertingRules', () => {
  const group = clusterAlertingRules(['a', 'b']);

  test('one page per application cluster, labelled with it', () => {
    expect(group.name).toBe(CLUSTER_RULE_GROUP);
    expect(group.rules.map((r: any) => [r.alert, r.labels.cluster, r.labels.severity])).toEqual([[CLUSTER_SILENT_ALERT, 'a', 'page'], [CLUSTER_SILENT_ALERT, 'b', 'page']]);
    expect(promtoolCheckRules([group])).toContain('SUCCESS: 2 rules found');
  });

  /** The alert as it fires for `cluster` (absent_over_time keeps the equality matchers' labels). */
  const firing = (cluster: string) => {
    const rule: any = group.rules.find((r: any) => r.labels.cluster === cluster);
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
    const clusters = rules.groups.find((g: any) => g.name === CLUSTER_RULE_GROUP).rules.map((r: any) => r.labels.cluster);
    expect(clusters).toEqual(env.topology!.appClusters.map(c => c.name));
  });
});
