import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { QueryTarget, gateQueries } from '../../lib/delivery/queries';
import { HttpMetrics } from '../../lib/slo/vocabulary';
import { PrometheusServer, startPrometheus } from '../support/prometheus-server';
import { promtoolCheckRules, promtoolTestRules } from '../support/promtool';
import { waitFor } from '../support/wait';

/** The demo services' own metrics, as their service files name them. */
const DEMO_HTTP: HttpMetrics = {
  requests: 'http_requests_total', duration: 'http_request_duration_seconds', durationUnit: 'seconds', codeLabel: 'status_code',
  routeLabel: 'route', ignoreRoutes: ['/healthz', '/readyz', '/metrics'],
};
const ISTIO: QueryTarget = { metrics: 'istio', service: 'gateway', namespace: 'apps', window: '5m', p99: false, baseline: false, http: DEMO_HTTP };

/**
 * The count of requests of `metric` with any of the matcher sets `selectors` in the window `w`, as the gate spells it:
 * the sum of their increases, plus the first value of each series that appeared in the window on a target already
 * scraped at its start (`up`, of the cluster's when given).
 */
function counted(metric: string, selectors: readonly string[], w: string, scrapedBefore = `up offset ${w} == 1`): string {
  const union = (series: (selector: string) => string): string => (selectors.length === 1 ? series(selectors[0]) : `(${selectors.map(series).join(' or ')})`);
  const grown = `sum(${union(s => `increase(${metric}{${s}}[${w}])`)})`;
  const fresh = `sum(${union(s => `(min_over_time(${metric}{${s}}[${w}]) unless max_over_time(${metric}{${s}}[1h] offset ${w}))`)} `
    + `and on (job, instance) (${scrapedBefore}))`;
  return `(${grown} + (${fresh} or vector(0)) or ${fresh})`;
}

describe('gateQueries', () => {
  test('istio: destination-reported requests, errors and p95 of the canary, stable\'s requests, callers\' errors; never pinned requests', () => {
    const canary = 'reporter="destination",destination_workload_namespace="apps",destination_workload="gateway-canary",canary_pin!="always"';
    const caller = 'reporter="source",destination_workload_namespace="apps",destination_workload="gateway-canary",canary_pin!="always"';
    const failed = (selector: string) => [`${selector},response_code=~"5.."`, `${selector},response_code!~"5..",grpc_response_status=~"2|4|12|13|14|15"`];
    expect(gateQueries(ISTIO)).toEqual({
      stableRequests: `${counted('istio_requests_total', [
        'reporter="destination",destination_workload_namespace="apps",destination_workload="gateway-stable",canary_pin!="always"'], '5m')} or vector(0)`,
      canaryRequests: `${counted('istio_requests_total', [canary], '5m')} or vector(0)`,
      // a 5xx, or a gRPC call that failed on the server (HTTP 200 with its own status): two disjoint sets, joined
      canaryErrors: `${counted('istio_requests_total', failed(canary), '5m')} or (0 * ${counted('istio_requests_total', [`${canary},response_code!=""`], '5m')})`,
      canaryCallerErrors: `${counted('istio_requests_total', failed(caller), '5m')} or vector(0)`,
      canaryP95: `histogram_quantile(0.95, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${canary}}[5m]))`
        + ` and on () (sum(rate(istio_request_duration_milliseconds_bucket{${canary},le="+Inf"}[5m])) > 0))`,
      // not Istio's: whether a pod of the canary was ready at all in the window (kube-state-metrics)
      canaryAvailable: 'max(max_over_time(kube_deployment_status_replicas_available{namespace="apps",deployment="gateway-canary"}[5m])) and on () count(count_over_time(kube_deployment_status_replicas_available{namespace="apps",deployment="gateway-canary"}[5m] offset 5m))',
    });
  });

  test('http: the services\' own metrics by namespace, app and version, without probes and scrapes, latency in ms', () => {
    const q = gateQueries({ ...ISTIO, metrics: 'http', service: 'backend', window: '90s' });
    const canary = 'namespace="apps",app="backend",version="canary",route!~"/healthz|/readyz|/metrics"';
    expect(q).toEqual({
      stableRequests: `${counted('http_requests_total', ['namespace="apps",app="backend",version="stable",route!~"/healthz|/readyz|/metrics"'], '90s')} or vector(0)`,
      canaryRequests: `${counted('http_requests_total', [canary], '90s')} or vector(0)`,
      canaryErrors: `${counted('http_requests_total', [`${canary},status_code=~"5.."`], '90s')}`
        + ` or (0 * ${counted('http_requests_total', [`${canary},status_code!=""`], '90s')})`,
      canaryP95: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${canary}}[90s]))`
        + ` and on () (sum(rate(http_request_duration_seconds_bucket{${canary},le="+Inf"}[90s])) > 0)) * 1000`,
      canaryAvailable: 'max(max_over_time(kube_deployment_status_replicas_available{namespace="apps",deployment="backend-canary"}[90s])) and on () count(count_over_time(kube_deployment_status_replicas_available{namespace="apps",deployment="backend-canary"}[90s] offset 90s))',
    });
  });

  test('the service\'s namespace, in both sources', () => {
    const istio = gateQueries({ ...ISTIO, service: 'ledger', namespace: 'payments' });
    expect(istio.canaryRequests).toBe(`${counted('istio_requests_total', ['reporter="destination",destination_workload_namespace="payments",'
      + 'destination_workload="ledger-canary",canary_pin!="always"'], '5m')} or vector(0)`);
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
      stableRequests: `${counted('ledger_requests_total', ['namespace="payments",app="ledger",version="stable",handler!~"/health\\\\.json|/metrics"'], '5m')}`
        + ' or vector(0)',
      canaryRequests: `${counted('ledger_requests_total', [canary], '5m')} or vector(0)`,
      canaryErrors: `${counted('ledger_requests_total', [`${canary},code=~"5.."`], '5m')} or (0 * ${counted('ledger_requests_total', [`${canary},code!=""`], '5m')})`,
      // milliseconds already: no conversion
      canaryP95: `histogram_quantile(0.95, sum by (le) (rate(ledger_request_latency_ms_bucket{${canary}}[5m]))`
        + ` and on () (sum(rate(ledger_request_latency_ms_bucket{${canary},le="+Inf"}[5m])) > 0))`,
      canaryAvailable: 'max(max_over_time(kube_deployment_status_replicas_available{namespace="payments",deployment="ledger-canary"}[5m])) and on () count(count_over_time(kube_deployment_status_replicas_available{namespace="payments",deployment="ledger-canary"}[5m] offset 5m))',
    });
    const everything = gateQueries({ ...ISTIO, metrics: 'http', http: { ...own, ignoreRoutes: [] } });
    expect(everything.canaryRequests).toBe(`${counted('ledger_requests_total', ['namespace="apps",app="gateway",version="canary"'], '5m')} or vector(0)`);
  });

  test('http: a service\'s own error codes (gRPC\'s grpc_code names) are what counts as an error', () => {
    const grpc: HttpMetrics = {
      requests: 'grpc_server_handled_total', duration: 'grpc_server_handling_seconds', durationUnit: 'seconds', codeLabel: 'grpc_code',
      errorCodes: 'Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss', ignoreRoutes: [],
    };
    const canary = 'namespace="apps",app="gateway",version="canary"';
    expect(gateQueries({ ...ISTIO, metrics: 'http', http: grpc }).canaryErrors).toBe(
      `${counted('grpc_server_handled_total', [`${canary},grpc_code=~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"`], '5m')}`
      + ` or (0 * ${counted('grpc_server_handled_total', [`${canary},grpc_code!=""`], '5m')})`);
  });

  test('every istio query, of every series it reads, excludes pinned requests; no http query mentions the pin', () => {
    const selectors = (promql: string): string[] => [...promql.matchAll(/\{([^}]*)\}/g)].map(m => m[1]);
    const istio = gateQueries({ ...ISTIO, p99: true, baseline: true });
    expect(Object.keys(istio)).toHaveLength(11);
    // the canary's ready pods are kube-state-metrics', not a request metric
    for (const [name, promql] of Object.entries(istio).filter(([n]) => n !== 'canaryAvailable')) {
      expect(selectors(promql).length).toBeGreaterThan(0);
      for (const selector of selectors(promql)) expect([name, selector.split(',')]).toEqual([name, expect.arrayContaining(['canary_pin!="always"'])]);
    }
    for (const [name, promql] of Object.entries(gateQueries({ ...ISTIO, metrics: 'http', p99: true, baseline: true }))) {
      expect([name, promql.includes('canary_pin')]).toEqual([name, false]);
    }
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
      'stableErrors', 'stableCallerErrors', 'stableP95', 'stableP99', 'canaryAvailable',
    ]);
    expect(Object.keys(gateQueries({ ...ISTIO, metrics: 'http', baseline: true }))).toEqual([
      'stableRequests', 'canaryRequests', 'canaryErrors', 'canaryP95', 'stableErrors', 'stableP95', 'canaryAvailable',
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
        expect([name, promql.endsWith(' or vector(0)')]).toEqual([name, /Requests$|CallerErrors$/.test(name)]);
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

// promtool (Debian's 2.42) evaluates the gate's own queries over series that Istio would start inside a window: the
// first 503 of a label set the canary's sidecar reports begins a series of its own. Scraped every 30 s, evaluated at
// 10m over 5m: 40 requests answered 200 on a series older than the window; 503s first scraped at 6m30s (2 so far, 3
// from 8m30s); one 500 to another caller, first scraped at 7m30s. Truth: 44 requests, 4 errors (9.1 %).
describe('gateQueries in promtool: errors on series that start inside the window count', () => {
  const canary = 'reporter="destination",destination_workload_namespace="apps",destination_workload="gateway-canary"';
  const target = (instance: string) => `job="services",instance="${instance}"`;
  /** A series of the canary's request counter on `instance`, answered `code` to `source`. */
  const requests = (instance: string, code: string, values: string, source = 'edge') => ({
    series: `istio_requests_total{${canary},${target(instance)},response_code="${code}",source_workload="${source}"}`, values,
  });
  const up = (instance: string, values: string) => ({ series: `up{${target(instance)}}`, values });
  const series = (instance: string) => [
    requests(instance, '200', '0+4x20'),
    requests(instance, '503', '_x13 2 2 2 2 3 3 3'),
    requests(instance, '500', '_x15 1 1 1 1 1', 'backend-stable'),
  ];
  const queries = gateQueries({ ...ISTIO, scrapeInterval: '30s' });
  const evaluate = (exp: { requests: number; errors: number }, input: ReadonlyArray<{ series: string; values: string }>) => promtoolTestRules([], [{
    interval: '30s',
    input_series: input,
    promql_expr_test: [
      { expr: queries.canaryRequests!, eval_time: '10m', exp_samples: [{ labels: '{}', value: exp.requests }] },
      { expr: queries.canaryErrors!, eval_time: '10m', exp_samples: [{ labels: '{}', value: exp.errors }] },
    ],
  }]);

  test('a target scraped since before the window: each new series adds its first value (4.25 errors of 44.25, not 1.25 of 41.25)', () => {
    // increase() extrapolates the 503s' 2 → 3 to 1.25 and sees nothing of the 500; the first values add 2 and 1
    expect(evaluate({ requests: 44.25, errors: 4.25 }, [...series('10.0.0.7:15020'), up('10.0.0.7:15020', '1+0x20')]))
      .toContain('SUCCESS');
  });

  test('a target first scraped inside the window (a new pod, a gap in Prometheus): first values may hold older counts, and stay out', () => {
    expect(evaluate({ requests: 41.25, errors: 1.25 }, [...series('10.0.0.8:15020'), up('10.0.0.8:15020', '_x13 1+0x7')]))
      .toContain('SUCCESS');
  });

  test('a failed scrape at the window\'s start (the target\'s series marked stale) is no new series: their lifetime would count', () => {
    // the 200s' series starts at 1,000 (its pod's history); the scrape at 5m fails, so every series is absent there
    expect(evaluate({ requests: 41.25, errors: 1.25 }, [
      requests('10.0.0.9:15020', '200', '1000+4x9 _ 1044+4x10'),
      ...series('10.0.0.9:15020').slice(1),
      up('10.0.0.9:15020', '1x9 0 1x10'),
    ])).toContain('SUCCESS');
  });

  test('a gap in Prometheus over the window\'s start, shorter than its 5m lookback: no new series either', () => {
    // nothing scraped from 1m30s to 5m30s: the last up before the window is 3.5 minutes old, the two intervals before it empty
    expect(evaluate({ requests: 40, errors: 0 }, [
      requests('10.0.0.7:15020', '200', '0+4x3 _x7 44+4x9'),
      requests('10.0.0.7:15020', '503', '_x11 20x9'),
      up('10.0.0.7:15020', '1x3 _x7 1x9'),
    ])).toContain('SUCCESS');
  });

  test('a series Istio\'s merged endpoint left out of a scrape before the window (its Envoy part failed, up stayed 1) is no new series', () => {
    // the 503s' series counted 500 before; the scrape at 5m answered without it: stale there, back at 5m30s with 500
    expect(evaluate({ requests: 40, errors: 0 }, [
      requests('10.0.0.7:15020', '200', '0+4x20'),
      requests('10.0.0.7:15020', '503', '500x9 stale 500x10'),
      up('10.0.0.7:15020', '1+0x20'),
    ])).toContain('SUCCESS');
  });

  test('without the scrape interval, the last scrape before the window must have succeeded', () => {
    expect(gateQueries(ISTIO).canaryRequests).toContain('and on (job, instance) (up offset 5m == 1)');
    expect(queries.canaryRequests).toContain('and on (job, instance) (min_over_time(up[1m] offset 5m) == 1)');
  });

  test('the check can tell: without the first values, the gate read 3 % errors where there were 9 %', () => {
    expect(() => evaluate({ requests: 41.25, errors: 1.25 }, [...series('10.0.0.7:15020'), up('10.0.0.7:15020', '1+0x20')]))
      .toThrow('exp:');
  });
});

// The queries against a real Prometheus (Debian's /usr/bin/prometheus) scraping, from loopback, the canary's and
// stable's Istio series as the sidecars of the services' namespaces report them: unpinned (`unknown`: no header),
// pinned (`always`), and a series without the label (a proxy the Telemetry does not reach). Counters grow with
// wall-clock time from one start, so every ratio of two answers is exact, whatever the samples in the window.
describe('gateQueries against Prometheus: pinned requests do not count', () => {
  const RATES = [
    // [reporter, track, response_code, canary_pin (undefined: no label), requests per second]
    ['destination', 'canary', '200', 'unknown', 10], ['destination', 'canary', '503', 'unknown', 1], ['destination', 'canary', '200', undefined, 5],
    ['destination', 'canary', '200', 'always', 100], ['destination', 'canary', '503', 'always', 50],
    ['source', 'canary', '503', 'unknown', 2], ['source', 'canary', '503', 'always', 40],
    ['destination', 'stable', '200', 'unknown', 30], ['destination', 'stable', '200', 'always', 300],
  ] as const;
  // a gRPC service, ledger in payments: every call has HTTP status 200, a failure is in grpc_response_status
  const GRPC_RATES = [
    // [reporter, track, grpc_response_status, requests per second]: OK, UNAVAILABLE (a server failure), NOT_FOUND (the caller's)
    ['destination', 'canary', '0', 6], ['destination', 'canary', '14', 2], ['destination', 'canary', '5', 2], ['source', 'canary', '14', 1],
  ] as const;
  // every unpinned request takes 10 to 25 ms, every pinned one 25 ms to 5 s
  const BUCKETS = ['10', '25', '5000', '+Inf'];
  const started = Date.now();
  let server: Server;
  let prometheus: PrometheusServer;

  function exposition(): string {
    const seconds = (Date.now() - started) / 1000;
    return RATES.flatMap(([reporter, track, code, pin, rps]) => {
      const labels = `reporter="${reporter}",destination_workload_namespace="apps",destination_workload="gateway-${track}"${pin ? `,canary_pin="${pin}"` : ''}`;
      const count = rps * seconds;
      const inBucket = (le: string) => (le === '10' || (le === '25' && pin === 'always') ? 0 : count);
      return [
        `istio_requests_total{${labels},response_code="${code}"} ${count}`,
        ...BUCKETS.map(le => `istio_request_duration_milliseconds_bucket{${labels},response_code="${code}",le="${le}"} ${inBucket(le)}`),
      ];
    }).concat(GRPC_RATES.map(([reporter, track, status, rps]) => `istio_requests_total{reporter="${reporter}",destination_workload_namespace="payments",`
      + `destination_workload="ledger-${track}",canary_pin="unknown",response_code="200",grpc_response_status="${status}"} ${rps * seconds}`)).join('\n') + '\n';
  }

  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition()));
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    prometheus = await startPrometheus({ interval: '250ms', scrapeConfigs: [{ job_name: 'mesh', honor_labels: true, static_configs: [{ targets: [target] }] }] });
    const queries = gateQueries({ ...ISTIO, window: '1m' });
    await waitFor(async () => (await value(queries.canaryRequests!)) > 0, { what: 'two scrapes of the mesh', timeoutMs: 30_000, intervalMs: 100 });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await new Promise<void>(resolve => (server ? server.close(() => resolve()) : resolve()));
  });

  /** The one value of an instant query; NaN when it answers nothing. */
  async function value(promql: string, time?: number): Promise<number> {
    const params = new URLSearchParams({ query: promql, ...(time !== undefined ? { time: String(time) } : {}) });
    const body = await (await fetch(`${prometheus.url}/api/v1/query?${params}`)).json() as { status: string; error?: string; data: { result: Array<{ value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result.length === 1 ? Number(body.data.result[0].value[1]) : Number.NaN;
  }

  /** Every query of a decision at one evaluation time, as the gate sends them. */
  async function answers(queries: Readonly<Record<string, string | undefined>>): Promise<Record<string, number>> {
    const time = Date.now() / 1000;
    return Object.fromEntries(await Promise.all(Object.entries(queries).map(async ([name, promql]) => [name, await value(promql!, time)])));
  }

  test('requests, errors and callers\' errors: only the unpinned series and the one without the label', async () => {
    const a = await answers(gateQueries({ ...ISTIO, window: '1m', baseline: true }));
    expect(a.canaryErrors / a.canaryRequests).toBeCloseTo(1 / 16, 6);
    expect(a.canaryCallerErrors / a.canaryRequests).toBeCloseTo(2 / 16, 6);
    expect(a.stableRequests / a.canaryRequests).toBeCloseTo(30 / 16, 6);
    expect(a.stableErrors).toBe(0);
  });

  test('a gRPC service: a call that failed on the server (HTTP 200, UNAVAILABLE) is an error, a caller\'s NOT_FOUND is not', async () => {
    const a = await answers(gateQueries({ ...ISTIO, service: 'ledger', namespace: 'payments', window: '1m' }));
    expect(a.canaryRequests).toBeGreaterThan(0);
    expect(a.canaryErrors / a.canaryRequests).toBeCloseTo(2 / 10, 6);
    expect(a.canaryCallerErrors / a.canaryRequests).toBeCloseTo(1 / 10, 6);
  });

  test('latency: the pinned requests\' 5 s are not in the canary\'s p95', async () => {
    const a = await answers(gateQueries({ ...ISTIO, window: '1m', p99: true }));
    // 16 unpinned requests a second, all from 10 to 25 ms: Prometheus interpolates within the bucket
    expect(a.canaryP95).toBeCloseTo(10 + 15 * 0.95, 6);
    expect(a.canaryP99).toBeCloseTo(10 + 15 * 0.99, 6);
  });

  test('the check can tell: the same queries without the pin selector count the pinned requests', async () => {
    const unpinned = Object.fromEntries(Object.entries(gateQueries({ ...ISTIO, window: '1m' })).map(([name, q]) => [name, q.replaceAll(',canary_pin!="always"', '')]));
    expect(Object.values(unpinned).join('\n')).not.toContain('canary_pin');
    const a = await answers(unpinned);
    expect(a.canaryErrors / a.canaryRequests).toBeCloseTo(51 / 166, 6);
    expect(a.canaryCallerErrors / a.canaryRequests).toBeCloseTo(42 / 166, 6);
    expect(a.canaryP95).toBeGreaterThan(1000);
  });
});
