import { PIPELINE_DASHBOARD_UID, pipelineDashboard } from '../../lib/dashboards';
import { PIPELINE_ALERTS, pipelineAlertingRules } from '../../lib/slo/pipeline-alerts';
import { PIPELINE } from '../../lib/slo/vocabulary';
import { ALL_ENVIRONMENTS, synthStack } from '../support/manifest';
import { panelsOf, targetsOf } from './support';

const exprs = (shipper: 'alloy' | 'promtail'): string[] => targetsOf(pipelineDashboard({ shipper })).map(t => t.target.expr);

describe('pipelineDashboard', () => {
  test('each shipper\'s own drops and push errors, and not the other\'s', () => {
    const alloy = exprs('alloy').join('\n');
    const promtail = exprs('promtail').join('\n');
    expect(alloy).toContain(PIPELINE.alloyDropped);
    expect(alloy).toContain(PIPELINE.alloyRequests);
    expect(alloy).not.toContain('promtail_');
    expect(promtail).toContain(PIPELINE.promtailDropped);
    expect(promtail).toContain(PIPELINE.promtailRequests);
    expect(promtail).not.toContain('loki_write_');
  });

  test('every alert on the data flow has a panel on the same metric, and the panel names the alert', () => {
    const rules = pipelineAlertingRules().rules as ReadonlyArray<{ alert: string; expr: string }>;
    const panels = panelsOf(pipelineDashboard({ shipper: 'alloy' })).filter(p => p.type === 'timeseries');
    const flow = [
      PIPELINE_ALERTS.targetDown, PIPELINE_ALERTS.collectorRefusing, PIPELINE_ALERTS.collectorExportFailing, PIPELINE_ALERTS.collectorQueueFull,
      PIPELINE_ALERTS.lokiDiscarding, PIPELINE_ALERTS.tempoIngestionErrors, PIPELINE_ALERTS.tempoDiscarding, PIPELINE_ALERTS.alloyDropping,
      PIPELINE_ALERTS.alloyPushErrors,
    ];
    for (const alert of flow) {
      const rule = rules.find(r => r.alert === alert)!;
      const panel = panels.find(p => p.description?.includes(`(${alert}`));
      expect([alert, panel?.title]).toEqual([alert, expect.any(String)]);
      // the first metric (or name pattern) of the alert is queried by its panel
      const metric = /(\{__name__=~"[^"]+"|[a-z_]+_total|[a-z_]+_count|\bup\b|otelcol_exporter_queue_size)/.exec(rule.expr)![0];
      expect([alert, panel!.targets.some((t: { expr: string }) => t.expr.includes(metric))]).toEqual([alert, true]);
    }
  });

  test('the alerts of the shipper an environment runs, not the other\'s', () => {
    const names = (shipper: 'alloy' | 'promtail'): string[] => (pipelineAlertingRules(shipper).rules as ReadonlyArray<{ alert?: string }>).map(r => r.alert ?? '');
    expect(names('alloy')).toEqual(expect.arrayContaining([PIPELINE_ALERTS.alloyDropping, PIPELINE_ALERTS.alloyPushErrors]));
    expect(names('alloy')).not.toContain(PIPELINE_ALERTS.promtailDropping);
    expect(names('promtail')).toEqual(expect.arrayContaining([PIPELINE_ALERTS.promtailDropping, PIPELINE_ALERTS.promtailPushErrors]));
    expect(names('promtail')).not.toContain(PIPELINE_ALERTS.alloyPushErrors);
  });

  test('a store of several clusters (central): a cluster variable, and every query on its cluster alone', () => {
    const model = pipelineDashboard({ shipper: 'alloy', clusters: ['observability', 'apps-eu'] });
    const variable = ((model.templating as { list?: any[] } | undefined)?.list ?? []).find((v: any) => v.name === 'cluster');
    expect(variable.options.map((o: any) => o.value)).toEqual(['observability', 'apps-eu']);
    const queries = targetsOf(model).map(t => t.target.expr as string);
    expect(queries.length).toBeGreaterThan(8);
    // every selector, both sides of the queue ratio included: with the selectors on the cluster, the groupings and the
    // ranges taken out, nothing is left but functions and operators (a metric read bare would be)
    for (const expr of queries) {
      const rest = expr.replace(/[a-z_]*\{[^}]*cluster="\$cluster"[^}]*\}/g, '').replace(/by \([^)]*\)/g, '').replace(/\[[^\]]*\]/g, '');
      expect([expr, rest.match(/\b[a-z_][a-z0-9_]*\b(?!\s*\()|\{/g)]).toEqual([expr, null]);
    }
    // one cluster: no variable, no matcher
    expect(JSON.stringify(pipelineDashboard({ shipper: 'alloy' }))).not.toContain('$cluster');
  });

  test('central\'s lists the observability cluster and every application cluster', () => {
    const central = ALL_ENVIRONMENTS.find(env => env.topology)!;
    const platform = synthStack(central).charts.observability.find(o => o.metadata.name === 'grafana-dashboards-platform')!;
    const model = JSON.parse(Object.values(platform.data as Record<string, string>)[0]);
    expect(model.templating.list.find((v: any) => v.name === 'cluster').options.map((o: any) => o.value))
      .toEqual([central.clusterName, ...central.topology!.appClusters.map(c => c.name)]);
  });

  test.each(ALL_ENVIRONMENTS)('$name provisions it in the Platform folder, for the shipper it runs', env => {
    const dashboards = synthStack(env).charts.observability.filter(o => o.kind === 'ConfigMap' && /^grafana-dashboards-/.test(o.metadata.name));
    const platform = dashboards.find(o => o.metadata.name === 'grafana-dashboards-platform');
    expect(platform).toBeDefined();
    const model = JSON.parse(Object.values(platform!.data as Record<string, string>)[0]);
    expect(model.uid).toBe(PIPELINE_DASHBOARD_UID);
    const text = JSON.stringify(model);
    expect(text).toContain(env.logs.shipper === 'alloy' ? PIPELINE.alloyDropped : PIPELINE.promtailDropped);
  });
});
