import { decide } from '../../lib/delivery/decide';
import { runGate } from '../../lib/delivery/gate';
import { withOverrides } from '../../lib/delivery/plan';
import { settingsOf } from '../../lib/rollout/settings';
import { RolloutState } from '../../lib/rollout/state';
import { StubServer } from '../apps/support/stub-server';
import { GATEWAY, fixtureState } from '../rollout/fixtures';

/** runGate against a fake Prometheus: what it asks, when, and that the decision is decide()'s on the answers. */
describe('runGate', () => {
  const NOW = new Date('2026-11-22T12:00:00.000Z');
  const steady = fixtureState('steady');
  const inFlight = (minutesAgo: number): RolloutState => {
    const changed = new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();
    return {
      ...steady,
      canary: { image: 'ghcr.io/example/obs-canary-gateway:0.2.0', weight: 10, startedAt: changed, weightChangedAt: changed, failedChecks: 0, consecutiveHolds: 0 },
    };
  };
  let prometheus: StubServer;

  beforeAll(async () => {
    // 1000 requests per track and window, none of them errors, every latency quantile 100 ms
    prometheus = await StubServer.start(async ({ body }) => {
      const query = new URLSearchParams(body).get('query') ?? '';
      const value = query.startsWith('histogram_quantile') ? '100' : query.includes('=~"5.."') ? '0' : '1000';
      return { status: 200, body: { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [NOW.getTime() / 1000, value] }] } } };
    });
  });
  afterAll(() => prometheus.close());
  beforeEach(() => {
    prometheus.requests.length = 0;
  });

  test('no canary in flight: no queries, nothing asked, decision none', async () => {
    const settings = settingsOf(steady, GATEWAY);
    const run = await runGate({ state: steady, service: GATEWAY, settings, now: NOW, prometheus: { url: prometheus.url } });
    expect(run).toMatchObject({ stage: { kind: 'none' }, queries: {}, outcome: undefined, result: { decision: 'none' } });
    expect(prometheus.requests).toEqual([]);
  });

  test('dwelling: the queries are resolved for the report, none is sent', async () => {
    const state = inFlight(1);
    const run = await runGate({ state, service: GATEWAY, settings: settingsOf(state, GATEWAY), now: NOW, prometheus: { url: prometheus.url } });
    expect(run.stage.kind).toBe('dwelling');
    expect(Object.keys(run.queries)).toContain('canaryRequests');
    expect(run).toMatchObject({ outcome: undefined, result: { decision: 'hold', hold: 'dwelling' } });
    expect(prometheus.requests).toEqual([]);
  });

  test('the queries are about the service file\'s namespace and, with metrics: http, its own metric names and unit', async () => {
    const state = inFlight(1);
    const istio = await runGate({ state, service: { ...GATEWAY, namespace: 'payments' }, settings: settingsOf(state, GATEWAY), now: NOW,
      prometheus: { url: prometheus.url } });
    expect(istio.queries.canaryRequests).toContain('destination_workload_namespace="payments",destination_workload="gateway-canary"');
    const service = {
      ...GATEWAY, namespace: 'payments',
      metrics: {
        source: 'http' as const,
        http: { ...GATEWAY.metrics.http!, requests: 'ledger_requests_total', duration: 'ledger_latency', durationUnit: 'milliseconds' as const, codeLabel: 'code' },
      },
    };
    const http = await runGate({ state, service, settings: settingsOf(state, service), now: NOW, prometheus: { url: prometheus.url } });
    expect(http.queries.canaryErrors).toContain('ledger_requests_total{namespace="payments",app="gateway",version="canary",'
      + 'route!~"/healthz|/readyz|/metrics",code=~"5.."}');
    expect(http.queries.canaryP95).toContain('rate(ledger_latency_bucket{namespace="payments"');
    expect(http.queries.canaryP95).not.toContain('* 1000');
    expect(prometheus.requests).toEqual([]);
  });

  test('a window to measure: each query sent once, at now, with the query timeout and the token; decide() on the answers', async () => {
    const state = inFlight(10);
    const settings = withOverrides(settingsOf(state, GATEWAY), { queryTimeout: '1500ms' });
    const run = await runGate({ state, service: GATEWAY, settings, now: NOW, prometheus: { url: prometheus.url, token: 's3cret' } });
    expect(run.stage).toEqual({ kind: 'measure', window: '5m', windowStart: new Date(NOW.getTime() - 5 * 60_000) });
    const sent = prometheus.requests.map(r => Object.fromEntries(new URLSearchParams(r.body)));
    expect(sent.map(q => q.query).sort()).toEqual(Object.values(run.queries).sort());
    expect(new Set(sent.map(q => `time=${q.time} timeout=${q.timeout}`))).toEqual(new Set(['time=1795348800.000 timeout=1500ms']));
    expect(new Set(prometheus.requests.map(r => r.headers.authorization))).toEqual(new Set(['Bearer s3cret']));
    expect(run.outcome).toMatchObject({ ok: true, measurements: { requests: 2000, canaryRequests: 1000, successRatio: 1, p95Ms: 100 } });
    expect(run.result).toEqual(decide({ state, settings, now: NOW, stage: run.stage, outcome: run.outcome }));
    expect(run.result).toMatchObject({ decision: 'advance', toWeight: 25 });
  });
});
