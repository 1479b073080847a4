import { RecordingRule } from '../../lib/constructs/prometheus-config';
import { HTTP_SLO_SELECTOR, SLO_RECORDS, sloRecordingRules } from '../../lib/slo/recording-rules';
import { promtoolCheckRules } from '../support/promtool';

const rules = sloRecordingRules().flatMap(g => g.rules) as RecordingRule[];
const expr = (record: string): string => rules.find(r => r.record === record)!.expr.replace(/\s+/g, ' ');

describe('SLO recording rules', () => {
  test('one rule per name in SLO_RECORDS, and nothing else', () => {
    expect(rules.map(r => r.record).sort()).toEqual(Object.values(SLO_RECORDS).sort());
  });

  test('Istio rules count the destination reporter only (each request is reported twice) per workload and version', () => {
    const istio = [SLO_RECORDS.istioRequestRate, SLO_RECORDS.istioSuccessRatio, SLO_RECORDS.istioLatencyP95, SLO_RECORDS.istioLatencyP99];
    for (const record of istio) {
      expect(expr(record)).toContain('reporter="destination"');
      expect(expr(record)).toContain('destination_workload_namespace, destination_workload, destination_app, destination_version');
    }
  });

  test('success ratio: responses that are not 5xx over all responses', () => {
    expect(expr(SLO_RECORDS.istioSuccessRatio)).toMatch(/response_code!~"5\.\."\}\[5m\]\)\) \/ sum by/);
    expect(expr(SLO_RECORDS.httpSuccessRatio)).toMatch(/status_code!~"5\.\."\}\[5m\]\)\) \/ sum by/);
  });

  test('latency quantiles: p95 and p99 from the histogram buckets, by le', () => {
    expect(expr(SLO_RECORDS.istioLatencyP95))
      .toMatch(/^histogram_quantile\(0\.95, sum by \(.*, le\) \(rate\(istio_request_duration_milliseconds_bucket/);
    expect(expr(SLO_RECORDS.istioLatencyP99)).toMatch(/^histogram_quantile\(0\.99, /);
    expect(expr(SLO_RECORDS.httpLatencyP95))
      .toMatch(/^histogram_quantile\(0\.95, sum by \(namespace, app, version, le\) \(rate\(http_request_duration_seconds_bucket/);
  });

  test('the services\' own metrics exclude probes and scrapes', () => {
    for (const record of [SLO_RECORDS.httpRequestRate, SLO_RECORDS.httpSuccessRatio, SLO_RECORDS.httpLatencyP95, SLO_RECORDS.httpLatencyP99]) {
      expect(expr(record)).toContain(HTTP_SLO_SELECTOR);
    }
  });

  test('promtool check rules accepts them', () => {
    expect(promtoolCheckRules(sloRecordingRules())).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test('promtool rejects a broken rule (the check can fail)', () => {
    expect(() => promtoolCheckRules([{ name: 'g', rules: [{ record: 'x:y:z', expr: 'sum(rate(x[5m])' }] }])).toThrow(/promtool check rules failed/);
  });
});
