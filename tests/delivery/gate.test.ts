import { decide } from '../../lib/delivery/decide';
import { runGate } from '../../lib/delivery/gate';
import { settingsOf, withOverrides } from '../../lib/delivery/plan';
import { RolloutState } from '../../lib/delivery/state';
import { StubServer } from '../apps/support/stub-server';
import { fixtureRollouts } from '../support/manifest';

/** runGate against a fake Prometheus: what it asks, when, and that the decision is decide()'s on the answers. */
describe('runGate', () => {
  const NOW = new Date('2026-11-22T12:00:00.000Z');
  const steady = fixtureRollouts('steady').gateway;
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
    const run = await runGate({ state: steady, settings: settingsOf(steady), now: NOW, prometheus: { url: prometheus.url } });
    expect(run).toMatchObject({ stage: { kind: 'none' }, queries: {}, outcome: undefined, result: { decision: 'none' } });
    expect(prometheus.requests).toEqual([]);
  });

  test('dwelling: the queries are resolved for the report, none is sent', async () => {
    const state = inFlight(1);
    const run = await runGate({ state, settings: settingsOf(state), now: NOW, prometheus: { url: prometheus.url } });
    expect(run.stage.kind).toBe('dwelling');
    expect(Object.keys(run.queries)).toContain('canaryRequests');
    expect(run).toMatchObject({ outcome: undefined, result: { decision: 'hold', hold: 'dwelling' } });
    expect(prometheus.requests).toEqual([]);
  });

  test('a window to measure: each query sent once, at now, with the query timeout and the token; decide() on the answers', async () => {
    const state = inFlight(10);
    const settings = withOverrides(settingsOf(state), { queryTimeout: '1500ms' });
    const run = await runGate({ state, settings, now: NOW, prometheus: { url: prometheus.url, token: 's3cret' } });
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
