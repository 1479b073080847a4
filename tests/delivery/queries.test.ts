import { QueryTarget, gateQueries } from '../../lib/delivery/queries';
import { promtoolCheckRules } from '../support/promtool';

const ISTIO: QueryTarget = { metrics: 'istio', service: 'gateway', window: '5m', p99: false, baseline: false };

describe('gateQueries', () => {
  test('istio: destination-reported requests, errors and p95 of the canary, stable\'s requests, callers\' errors', () => {
    const canary = 'reporter="destination",destination_workload_namespace="apps",destination_workload="gateway-canary"';
    expect(gateQueries(ISTIO)).toEqual({
      stableRequests: 'sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="apps",destination_workload="gateway-stable"}[5m]))'
        + ' or vector(0)',
      canaryRequests: `sum(increase(istio_requests_total{${canary}}[5m])) or vector(0)`,
      canaryErrors: `sum(increase(istio_requests_total{${canary},response_code=~"5.."}[5m]))`
        + ` or (0 * sum(increase(istio_requests_total{${canary},response_code!=""}[5m])))`,
      canaryCallerErrors: 'sum(increase(istio_requests_total{reporter="source",destination_workload_namespace="apps",destination_workload="gateway-canary",'
        + 'response_code=~"5.."}[5m])) or vector(0)',
      canaryP95: `histogram_quantile(0.95, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${canary}}[5m]))`
        + ` and on () (sum(rate(istio_request_duration_milliseconds_bucket{${canary},le="+Inf"}[5m])) > 0))`,
    });
  });

  test('http: the services\' own metrics by namespace, app and version, without probes and scrapes, latency in ms', () => {
    const q = gateQueries({ ...ISTIO, metrics: 'http', service: 'backend', window: '90s' });
    const canary = 'namespace="apps",app="backend",version="canary",route!~"/healthz|/readyz|/metrics"';
    expect(q).toEqual({
      stableRequests: 'sum(increase(http_requests_total{namespace="apps",app="backend",version="stable",route!~"/healthz|/readyz|/metrics"}[90s])) or vector(0)',
      canaryRequests: `sum(increase(http_requests_total{${canary}}[90s])) or vector(0)`,
      canaryErrors: `sum(increase(http_requests_total{${canary},status_code=~"5.."}[90s]))`
        + ` or (0 * sum(increase(http_requests_total{${canary},status_code!=""}[90s])))`,
      canaryP95: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${canary}}[90s]))`
        + ` and on () (sum(rate(http_request_duration_seconds_bucket{${canary},le="+Inf"}[90s])) > 0)) * 1000`,
    });
  });

  test('p99 and the baseline add their queries; the window is normalized', () => {
    expect(Object.keys(gateQueries({ ...ISTIO, p99: true, baseline: true }))).toEqual([
      'stableRequests', 'canaryRequests', 'canaryErrors', 'canaryCallerErrors', 'canaryP95', 'canaryP99',
      'stableErrors', 'stableCallerErrors', 'stableP95', 'stableP99',
    ]);
    expect(Object.keys(gateQueries({ ...ISTIO, metrics: 'http', baseline: true }))).toEqual([
      'stableRequests', 'canaryRequests', 'canaryErrors', 'canaryP95', 'stableErrors', 'stableP95',
    ]);
    expect(gateQueries({ ...ISTIO, p99: true }).canaryP99).toContain('histogram_quantile(0.99, ');
    expect(gateQueries({ ...ISTIO, baseline: true }).stableP95).toContain('destination_workload="gateway-stable"');
    expect(gateQueries({ ...ISTIO, window: '300s' }).canaryRequests).toContain('[5m]');
    expect(gateQueries({ ...ISTIO, window: '1w' }).canaryRequests).toContain('[7d]');
  });

  test('an empty answer means zero only for counts; latency has no fallback', () => {
    for (const metrics of ['istio', 'http'] as const) {
      const q = gateQueries({ ...ISTIO, metrics, p99: true, baseline: true });
      for (const [name, promql] of Object.entries(q)) {
        expect([name, promql.includes('or vector(0)')]).toEqual([name, /Requests$|CallerErrors$/.test(name)]);
        if (/P9\d$/.test(name)) expect(promql).not.toMatch(/\bor\b/);
      }
    }
  });

  test('every query of both sources is valid PromQL (promtool)', () => {
    const rules = (['istio', 'http'] as const).flatMap(metrics => Object.entries(gateQueries({ ...ISTIO, metrics, p99: true, baseline: true }))
      .map(([name, expr]) => ({ record: `gate:${metrics}_${name}`, expr })));
    expect(promtoolCheckRules([{ name: 'gate', rules }])).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test('fails if the window is not a duration', () => {
    expect(() => gateQueries({ ...ISTIO, window: 'five minutes' })).toThrow('\'window\' must be a duration such as 30s, 5m or 1h30m, got "five minutes"');
  });
});
