import { decide } from '../../lib/delivery/decide';
import { runGate } from '../../lib/delivery/gate';
import { withOverrides } from '../../lib/delivery/plan';
import { settingsOf } from '../../lib/rollout/settings';
import { CanaryState, RolloutState } from '../../lib/rollout/state';
import { KSM_METRICS, ROUTE_WEIGHT, clusterSeenQuery, observedReleaseQuery } from '../../lib/slo/cluster-state';
import { StubServer } from '../apps/support/stub-server';
import { GATEWAY, fixtureState } from '../rollout/fixtures';

/** runGate against a fake Prometheus: what it asks, when, and that the decision is decide()'s on the answers. */
describe('runGate', () => {
  const NOW = new Date('2026-11-22T12:00:00.000Z');
  const IMAGE = 'ghcr.io/example/obs-canary-gateway:0.2.0';
  const steady = fixtureState('steady');
  /** A canary at 10% whose step was committed and observed applied `minutesAgo`. */
  const inFlight = (minutesAgo: number): RolloutState => {
    const changed = new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();
    return {
      ...steady,
      canary: { image: IMAGE, weight: 10, startedAt: changed, weightChangedAt: changed, appliedAt: changed, failedChecks: 0, consecutiveHolds: 0 },
    };
  };
  /** A canary committed a minute ago and not yet observed running: its step, or its phase's first half. */
  const applying = (weight: number, more: Partial<CanaryState> = {}): RolloutState => {
    const { appliedAt: _applied, ...canary } = inFlight(1).canary!;
    return { ...steady, canary: { ...canary, weight, ...more } };
  };
  /** What the stub answers the observation query with, when a test sets it; else the window's numbers. */
  let observation: { status: number; body: unknown } | undefined;
  /** Whether the stub has kube-state-metrics' series of the service at all (clusterSeenQuery). */
  let clusterSeen = true;
  /** Whether it has the route weights of the service's VirtualService (kube-state-metrics' custom-resource configuration). */
  let routeSeen = true;
  const vector = (...values: string[]) => ({
    status: 200, body: { status: 'success', data: { resultType: 'vector', result: values.map(value => ({ metric: {}, value: [NOW.getTime() / 1000, value] })) } },
  });
  let prometheus: StubServer;

  beforeAll(async () => {
    // 1000 requests per track and window, none of them errors, every latency quantile 100 ms
    prometheus = await StubServer.start(async ({ body }) => {
      const query = new URLSearchParams(body).get('query') ?? '';
      if (query.startsWith(`count(${KSM_METRICS.deploymentSpecReplicas}`)) {
        return clusterSeen && (routeSeen || !query.includes(ROUTE_WEIGHT.metric)) ? vector('2') : vector();
      }
      if (observation) return observation;
      return vector(query.startsWith('histogram_quantile') ? '100' : query.includes('=~"5.."') ? '0' : '1000');
    });
  });
  afterAll(() => prometheus.close());
  beforeEach(() => {
    prometheus.requests.length = 0;
    observation = undefined;
    clusterSeen = true;
    routeSeen = true;
  });
  /** The gate of gateway in `state` at `now`, against the stub. */
  const gateAt = (state: RolloutState, now = NOW) =>
    runGate({ state, service: GATEWAY, settings: settingsOf(state, GATEWAY), now, prometheus: { url: prometheus.url } });
  /** The queries sent, but for the check that Prometheus sees the cluster at all. */
  const sent = () => prometheus.requests.map(r => Object.fromEntries(new URLSearchParams(r.body)))
    .filter(q => !q.query.startsWith(`count(${KSM_METRICS.deploymentSpecReplicas}`));

  test('no canary in flight: no queries, nothing asked, decision none', async () => {
    const settings = settingsOf(steady, GATEWAY);
    const run = await runGate({ state: steady, service: GATEWAY, settings, now: NOW, prometheus: { url: prometheus.url } });
    expect(run).toMatchObject({ stage: { kind: 'none' }, outcome: undefined, result: { decision: 'none' } });
    expect([run.queries, run.observation]).toEqual([{}, undefined]);
    expect(prometheus.requests).toEqual([]);
  });

  test('dwelling: the queries are resolved for the report, none is sent', async () => {
    const state = inFlight(1);
    const run = await gateAt(state);
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
    const run = await runGate({ state, service: GATEWAY, settings, now: NOW, prometheus: { url: prometheus.url, headers: { authorization: 'Bearer s3cret' } } });
    expect(run.stage).toEqual({ kind: 'measure', window: '5m', windowStart: new Date(NOW.getTime() - 5 * 60_000) });
    expect(sent().map(q => q.query).sort()).toEqual(Object.values(run.queries).sort());
    expect(new Set(sent().map(q => `time=${q.time} timeout=${q.timeout}`))).toEqual(new Set(['time=1795348800.000 timeout=1500ms']));
    expect(new Set(prometheus.requests.map(r => r.headers.authorization))).toEqual(new Set(['Bearer s3cret']));
    expect(run.outcome).toMatchObject({ ok: true, measurements: { requests: 2000, canaryRequests: 1000, successRatio: 1, p95Ms: 100 } });
    expect(run.result).toEqual(decide({ state, settings, now: NOW, stage: run.stage, outcome: run.outcome }));
    expect(run.result).toMatchObject({ decision: 'advance', toWeight: 25 });
    expect(run.observation).toBeUndefined();
  });

  describe('applying: one query, whether the cluster runs the release; nothing measured', () => {
    test('a series (of value 0: the route gives the canary 0%) is "applied": the canary goes to its first step', async () => {
      observation = vector('0');
      const state = applying(0);
      const settings = withOverrides(settingsOf(state, GATEWAY), { queryTimeout: '1500ms' });
      const service = { ...GATEWAY, namespace: 'payments' };
      const run = await runGate({ state, service, settings, now: NOW, prometheus: { url: prometheus.url, headers: { authorization: 'Bearer s3cret' } } });
      const query = observedReleaseQuery({ service: 'gateway', namespace: 'payments', track: 'canary', image: IMAGE, canaryWeight: 0 });
      expect(sent()).toEqual([{ query, time: '1795348800.000', timeout: '1500ms' }]);
      expect(prometheus.requests[0].headers.authorization).toBe('Bearer s3cret');
      expect(run).toMatchObject({ stage: { kind: 'applying' }, observation: { query, outcome: { ok: true, applied: true } } });
      // the window's queries are neither sent nor reported
      expect([run.queries, run.outcome]).toEqual([{}, undefined]);
      expect(run.result).toEqual(decide({ state, settings, now: NOW, stage: run.stage, observed: run.observation!.outcome }));
      expect(run.result).toMatchObject({ decision: 'advance', fromWeight: 0, toWeight: 10 });
    });

    test('an empty vector is "not applied": hold (applying) before the deadline, nothing written', async () => {
      observation = vector();
      const state = applying(10);
      const run = await gateAt(state);
      expect(sent()).toHaveLength(1);
      expect(run.observation?.outcome).toEqual({ ok: true, applied: false });
      expect(run.result).toMatchObject({ decision: 'hold', hold: 'applying', change: null });
    });

    test('an error is no answer: hold (no data), counted', async () => {
      observation = { status: 200, body: { status: 'error', errorType: 'execution', error: 'query timed out' } };
      const state = applying(10);
      const run = await gateAt(state);
      expect(sent()).toHaveLength(1);
      expect(run.observation?.outcome).toEqual({ ok: false, error: `prometheus at ${prometheus.url}: query failed: execution: query timed out` });
      expect(run.result).toMatchObject({ decision: 'hold', hold: 'no-data', consecutiveHolds: 1 });
    });

    test('no kube-state-metrics series of the service at all: unknown, a counted hold (never a roll back), even past the deadline', async () => {
      observation = vector();
      clusterSeen = false;
      const state = applying(10);
      const late = new Date(NOW.getTime() + 3_600_000);
      const run = await gateAt(state, late);
      expect(prometheus.requests.map(r => new URLSearchParams(r.body).get('query'))).toContain(clusterSeenQuery({ service: 'gateway', namespace: GATEWAY.namespace, canaryWeight: 10 }));
      const error = expect.stringMatching(/^Prometheus cannot tell whether the cluster runs it: one of the Deployment gateway-stable in apps and /);
      expect(run.observation?.outcome).toEqual({ ok: false, error });
      expect(run.result).toMatchObject({ decision: 'hold', hold: 'no-data', consecutiveHolds: 1 });
    });

    test('the Deployments seen but no route weights (kube-state-metrics without its VirtualService configuration): unknown, never a roll back', async () => {
      observation = vector();
      routeSeen = false;
      const state = applying(10);
      const late = new Date(NOW.getTime() + 3_600_000);
      const run = await gateAt(state, late);
      expect(run.observation?.outcome).toEqual({
        ok: false,
        error: 'Prometheus cannot tell whether the cluster runs it: one of the Deployment gateway-stable in apps and the route weights of the '
          + 'VirtualService gateway (its custom-resource configuration) has no series; is kube-state-metrics up, scraped and configured as rendered?',
      });
      expect(run.result).toMatchObject({ decision: 'hold', hold: 'no-data' });
      // with the route weights there, the same empty answer is "not applied", and past the deadline a roll back
      routeSeen = true;
      const seen = await gateAt(state, late);
      expect(seen.result.decision).toBe('rollback');
    });

    test('a promotion asks for stable with the canary\'s image, not for the route; observed, the traffic returns to stable', async () => {
      observation = vector('2');
      const state = applying(100, { phase: 'promoting' });
      const run = await gateAt(state);
      const query = observedReleaseQuery({ service: 'gateway', namespace: GATEWAY.namespace, track: 'stable', image: IMAGE });
      expect(sent().map(q => q.query)).toEqual([query]);
      expect(query).not.toContain(ROUTE_WEIGHT.metric);
      // still at 100 %: the traffic returns to stable before the canary is removed
      expect(run.result).toMatchObject({ decision: 'promote', change: { state: { stable: { image: IMAGE }, canary: { phase: 'draining', weight: 0 } } } });
    });
  });
});
