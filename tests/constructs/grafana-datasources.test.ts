import {
  DATASOURCE_UIDS, LokiJsonData, PrometheusJsonData, TempoJsonData, escapeProvisioningDollars, lokiDatasource,
  alertmanagerDatasource, prometheusDatasource, referencedDatasourceUids, tempoDatasource,
} from '../../lib/constructs/grafana-datasources';

describe('prometheusDatasource', () => {
  const ds = prometheusDatasource({ url: 'http://prom:9090', scrapeInterval: '15s' });
  const json = ds.jsonData as PrometheusJsonData;

  test('fixed uid prometheus, the default datasource, read-only', () => {
    expect(ds).toMatchObject({ uid: 'prometheus', type: 'prometheus', isDefault: true, editable: false, url: 'http://prom:9090', access: 'proxy' });
  });

  test('timeInterval is the scrape interval', () => {
    expect(json.timeInterval).toBe('15s');
  });

  test('exemplars with trace_id (SDKs) and traceID (Tempo metrics-generator) open the trace in Tempo', () => {
    expect(json.exemplarTraceIdDestinations.map(d => [d.name, d.datasourceUid])).toEqual([['trace_id', 'tempo'], ['traceID', 'tempo']]);
  });

  test('tempoUid changes the exemplar target', () => {
    const other = prometheusDatasource({ url: 'x', scrapeInterval: '1s', tempoUid: 'traces' }).jsonData as PrometheusJsonData;
    expect(other.exemplarTraceIdDestinations.map(d => d.datasourceUid)).toEqual(['traces', 'traces']);
  });
});

describe('lokiDatasource', () => {
  const ds = lokiDatasource({ url: 'http://loki:3100' });
  const fields = (ds.jsonData as LokiJsonData).derivedFields;

  test('fixed uid loki', () => {
    expect(ds).toMatchObject({ uid: 'loki', type: 'loki', isDefault: false });
  });

  test('one "View Trace" link to Tempo, on the trace_id structured metadata that only sampled lines carry', () => {
    expect(fields).toEqual([
      { name: 'trace_id', matcherType: 'label', matcherRegex: '^trace_id$', datasourceUid: 'tempo', url: '${__value.raw}', urlDisplayLabel: 'View Trace' },
    ]);
  });

  test('no derived field reads the log line, where every request\'s trace id is, sampled or not', () => {
    expect(fields.filter(f => f.matcherType !== 'label')).toEqual([]);
    // Grafana tests a label matcher against each label and structured-metadata key, never against the line
    const keys = ['app', 'namespace', 'level', 'trace_id', 'span_id', 'trace_id_extracted'];
    expect(keys.filter(k => new RegExp(fields[0].matcherRegex).test(k))).toEqual(['trace_id']);
  });

  test('traceIdKey renames the matched key', () => {
    const other = (lokiDatasource({ url: 'x', traceIdKey: 'traceId' }).jsonData as LokiJsonData).derivedFields;
    expect(other.map(f => f.matcherRegex)).toEqual(['^traceId$']);
  });
});

describe('tempoDatasource', () => {
  const ds = tempoDatasource({ url: 'http://tempo:3200' });
  const json = ds.jsonData as TempoJsonData;

  test('span → logs: Loki, filtered by trace id (capital ID), selecting app and namespace', () => {
    expect(json.tracesToLogsV2).toMatchObject({ datasourceUid: 'loki', filterByTraceID: true, filterBySpanID: false, customQuery: false });
    expect(json.tracesToLogsV2.tags).toEqual([{ key: 'service.name', value: 'app' }, { key: 'k8s.namespace.name', value: 'namespace' }]);
    expect(json.tracesToLogsV2.spanStartTimeShift).toBe('-2m');
  });

  test('service graph and span metrics from Prometheus; node graph and streaming on', () => {
    expect(json.serviceMap).toEqual({ datasourceUid: 'prometheus' });
    expect(json.tracesToMetrics.datasourceUid).toBe('prometheus');
    expect(json.nodeGraph.enabled).toBe(true);
    expect(json.streamingEnabled).toEqual({ search: true, metrics: true });
  });

  test('span-metrics queries use the $__tags keyword that Grafana replaces with the span\'s tags, escaped as $$__tags in the file', () => {
    expect(json.tracesToMetrics.queries.map(q => q.query)).toEqual([
      'sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))',
      'histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{$__tags}[5m])))',
    ]);
    for (const { query } of (escapeProvisioningDollars(json) as TempoJsonData).tracesToMetrics.queries) {
      expect(query).toContain('{$$__tags}');
      expect(query).not.toContain('${');
    }
  });

  test('logLabels replace the default span → label mapping', () => {
    const other = tempoDatasource({ url: 'x', logLabels: [{ key: 'service.name', value: 'service_name' }] }).jsonData as TempoJsonData;
    expect(other.tracesToLogsV2.tags).toEqual([{ key: 'service.name', value: 'service_name' }]);
  });
});

describe('referencedDatasourceUids', () => {
  test('walks nested settings', () => {
    expect(referencedDatasourceUids(tempoDatasource({ url: 'x' }).jsonData)).toEqual(['loki', 'prometheus']);
    expect(referencedDatasourceUids(lokiDatasource({ url: 'x' }).jsonData)).toEqual(['tempo']);
  });

  test('the three datasources only link to each other', () => {
    const all = [
      prometheusDatasource({ url: 'a', scrapeInterval: '1s' }), lokiDatasource({ url: 'b' }), tempoDatasource({ url: 'c' }),
      alertmanagerDatasource({ url: 'd' }),
    ];
    const uids = new Set(all.map(d => d.uid));
    expect([...uids].sort()).toEqual(Object.values(DATASOURCE_UIDS).sort());
    for (const ds of all) for (const target of referencedDatasourceUids(ds.jsonData)) expect(uids).toContain(target);
  });
});

describe('escapeProvisioningDollars', () => {
  test('doubles every $ in every string, deeply, and leaves other values alone', () => {
    expect(escapeProvisioningDollars({ a: '${__value.raw}', b: ['$__tags', 1, true, null], c: { d: 'no dollars' } }))
      .toEqual({ a: '$${__value.raw}', b: ['$$__tags', 1, true, null], c: { d: 'no dollars' } });
  });
});
