import { QueryTarget, gateQueries } from '../../lib/delivery/queries';
import { HttpMetrics } from '../../lib/slo/vocabulary';
import { promtoolCheckRules } from '../support/promtool';

/** The demo services' own metrics, as their service files name them. */
const DEMO_HTTP: HttpMetrics = {
  requests: 'http_requests_total', duration: 'http_request_duration_seconds', durationUnit: 'seconds', codeLabel: 'status_code',
  routeLabel: 'route', ignoreRoutes: ['/healthz', '/readyz', '/metrics'],
};
const ISTIO: QueryTarget = { metrics: 'istio', service: 'gateway', namespace: 'apps', window: '5m', p99: false, baseline: false, http: DEMO_HTTP };

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

  test('the service\'s namespace, in both sources', () => {
    const istio = gateQueries({ ...ISTIO, service: 'ledger', namespace: 'payments' });
    expect(istio.canaryRequests).toBe('sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="payments",'
      + 'destination_workload="ledger-canary"}[5m])) or vector(0)');
    expect(istio.canaryCallerErrors).toContain('reporter="source",destination_workload_namespace="payments",destination_workload="ledger-canary"');
    expect(gateQueries({ ...ISTIO, metrics: 'http', service: 'ledger', namespace: 'payments' }).stableRequests)
      .toContain('http_requests_total{namespace="payments",app="ledger",version="stable",');
  });

  test('http: the service\'s own metric names, status label and unit; its ignored routes, escaped, or none', () => {
    const own: HttpMetrics = {
      requests: 'ledger_requests_total', duration: 'ledger_request_latency_ms', durationUnit: 'milliseconds', codeLabel: 'code',
      routeLabel: 'handler', ignoreRoutes: ['/health.json', '/metrics'],
    };
    const q = gateQueries({ ...ISTIO, metrics: 'http', service: 'ledger', namespace: 'payments', http: own });
    const canary = 'namespace="payments",app="ledger",version="canary",handler!~"/health\\\\.json|/metrics"';
    expect(q).toEqual({
      stableRequests: 'sum(increase(ledger_requests_total{namespace="payments",app="ledger",version="stable",handler!~"/health\\\\.json|/metrics"}[5m]))'
        + ' or vector(0)',
      canaryRequests: `sum(increase(ledger_requests_total{${canary}}[5m])) or vector(0)`,
      canaryErrors: `sum(increase(ledger_requests_total{${canary},code=~"5.."}[5m])) or (0 * sum(increase(ledger_requests_total{${canary},code!=""}[5m])))`,
      // milliseconds already: no conversion
      canaryP95: `histogram_quantile(0.95, sum by (le) (rate(ledger_request_latency_ms_bucket{${canary}}[5m]))`
        + ` and on () (sum(rate(ledger_request_latency_ms_bucket{${canary},le="+Inf"}[5m])) > 0))`,
    });
    const everything = gateQueries({ ...ISTIO, metrics: 'http', http: { ...own, ignoreRoutes: [] } });
    expect(everything.canaryRequests).toBe('sum(increase(ledger_requests_total{namespace="apps",app="gateway",version="canary"}[5m])) or vector(0)');
  });

  test('fails if metrics is http and the service names no metrics of its own', () => {
    const { http, ...withoutHttp } = ISTIO;
    expect(http).toBeDefined();
    expect(() => gateQueries({ ...withoutHttp, metrics: 'http' })).toThrow('\'http\' must name the request metrics of gateway when \'metrics\' is "http"');
    expect(() => gateQueries(withoutHttp)).not.toThrow();
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
    const escaped: HttpMetrics = { ...DEMO_HTTP, ignoreRoutes: ['/health.json', '/a|b', '/metrics'] };
    const rules = (['istio', 'http'] as const).flatMap(metrics => Object.entries(gateQueries({ ...ISTIO, metrics, p99: true, baseline: true, http: escaped }))
      .map(([name, expr]) => ({ record: `gate:${metrics}_${name}`, expr })));
    expect(promtoolCheckRules([{ name: 'gate', rules }])).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test('fails if the window is not a duration', () => {
    expect(() => gateQueries({ ...ISTIO, window: 'five minutes' })).toThrow('\'window\' must be a duration such as 30s, 5m or 1h30m, got "five minutes"');
  });
});
