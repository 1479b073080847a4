import {
  CLOCK_SKEW_TOLERANCE_MS, DecideInput, GateResult, ObserveOutcome, Stage, decide, stageOf,
} from '../../lib/delivery/decide';
import { MeasureOutcome } from '../../lib/delivery/measure';
import { SmokeOutcome } from '../../lib/delivery/smoke';
import { AnalysisOverrides, UsageError, startCanary, withOverrides } from '../../lib/delivery/plan';
import { EffectiveSettings, settingsOf } from '../../lib/rollout/settings';
import {
  BaselineMeasurements, CanaryState, Measurements, RolloutState, SloSettings, parseRolloutState, renderRolloutState,
} from '../../lib/rollout/state';
import { GATEWAY, fixtureState } from '../rollout/fixtures';

// defaults: window 5m, settle 1m, minRequests 100, canaryTrafficFactor 0.5, maxFailedChecks 3, maxConsecutiveHolds 12,
// baseline on with a 0.02 margin and latency at most 1.5 × stable's, success ratio ≥ 0.95, p95 ≤ 300 ms, p99 unchecked,
// progress deadline 10m
const CHANGED = Date.parse('2026-11-22T12:00:00.000Z');
// the step is observed applied 2 minutes after its commit: windows count from here, the progress deadline from CHANGED
const APPLIED = CHANGED + 2 * 60_000;
const READY = new Date(APPLIED + 6 * 60_000);
const DEADLINE = new Date(CHANGED + 10 * 60_000);
const IMAGE = 'registry.example.com/obs-canary-gateway:2.0.0';
const steady = fixtureState('steady');

/** A canary at `weight` whose step was observed applied at APPLIED; `more` overrides its fields (counters, phase, …). */
function inFlight(weight = 10, more: Partial<CanaryState> = {}): RolloutState {
  return {
    ...steady,
    canary: {
      image: IMAGE, weight, startedAt: new Date(CHANGED - 3_600_000).toISOString(), weightChangedAt: new Date(CHANGED).toISOString(),
      appliedAt: new Date(APPLIED).toISOString(), failedChecks: 0, consecutiveHolds: 0, ...more,
    },
  };
}

/** {@link inFlight} without `appliedAt`: its step (or its phase's first half) is not yet observed running. */
function unapplied(weight: number, more: Partial<CanaryState> = {}): RolloutState {
  const { appliedAt: _applied, ...canary } = inFlight(weight, more).canary!;
  return { ...steady, canary };
}

/** `baseline: false` turns the comparison with stable off; `latencyRatio: null` leaves its latency out. */
type More = { slo?: Partial<SloSettings>; baseline?: boolean; latencyRatio?: null };

function settings(state: RolloutState, overrides: AnalysisOverrides = {}, more: More = {}): EffectiveSettings {
  const s = withOverrides(settingsOf(state, GATEWAY), overrides);
  const { maxLatencyRatio: _ratio, ...withoutRatio } = s.analysis.baseline;
  const baseline = more.latencyRatio === null ? withoutRatio : s.analysis.baseline;
  return { ...s, slo: { ...s.slo, ...more.slo }, analysis: { ...s.analysis, baseline: { ...baseline, enabled: more.baseline ?? baseline.enabled } } };
}

const HEALTHY: Measurements = { requests: 1000, canaryRequests: 100, successRatio: 0.99, p95Ms: 120, p99Ms: 200 };
const STABLE: BaselineMeasurements = { requests: 900, successRatio: 0.99, p95Ms: 110, p99Ms: 180 };
// a stable slow enough (× 1.5: 375 and 600 ms) that only the SLO's absolute bounds judge the canary's latency
const SLOW_STABLE: BaselineMeasurements = { ...STABLE, p95Ms: 250, p99Ms: 400 };
const measured = (m: Partial<Measurements> = {}, b: BaselineMeasurements | null = STABLE): MeasureOutcome =>
  ({ ok: true, measurements: { ...HEALTHY, ...m }, baseline: b, samples: {} });
const failedQuery: MeasureOutcome = { ok: false, error: 'canaryRequests: prometheus at http://p:9090: no answer within 10s', samples: {} };
/**
 * A measurement whose query `failed` got no answer, the others as `answered` says over 450 stable and 50 canary
 * requests (stable's without errors, its p95 110 ms).
 */
const partly = (answered: Record<string, number>, failed: string): MeasureOutcome => {
  const samples: Record<string, number> = {
    stableRequests: 450, canaryRequests: 50, canaryCallerErrors: 0, canaryP95: 120, stableErrors: 0, stableCallerErrors: 0, stableP95: 110,
    ...answered,
  };
  delete samples[failed];
  return { ok: false, error: `${failed}: prometheus at http://p:9090: no answer within 10s`, samples };
};

function run(input: Partial<DecideInput> = {}): GateResult {
  const state = input.state ?? inFlight();
  const s = input.settings ?? settings(state);
  const now = input.now ?? READY;
  const outcome = 'outcome' in input ? input.outcome : measured();
  const stage = stageOf(state, s, now);
  return decide({ state, settings: s, now, stage, outcome, observed: input.observed, ...(input.smoke ? { smoke: input.smoke } : {}) });
}

describe('decide: what happens when', () => {
  test.each<[string, Partial<DecideInput>, Partial<GateResult>]>([
    ['no canary is in flight: none', { state: steady, outcome: undefined }, { decision: 'none', fromWeight: 0, toWeight: 0, change: null }],
    ['the window would start 1 ms before the step was applied + settle: hold (dwelling), nothing written',
      { now: new Date(READY.getTime() - 1), outcome: undefined },
      { decision: 'hold', hold: 'dwelling', toWeight: 10, change: null, consecutiveHolds: 0 }],
    ['the window starts exactly when the step was applied + settle: measured', {}, { decision: 'advance', toWeight: 25 }],
    ['--settle 0s makes a step applied 5m ago measurable', { settings: settings(inFlight(), { settle: '0s' }), now: new Date(APPLIED + 5 * 60_000) },
      { decision: 'advance' }],
    ['--window 10m moves the start back: dwelling', { settings: settings(inFlight(), { window: '10m' }), outcome: undefined },
      { decision: 'hold', hold: 'dwelling', change: null }],
    ['a query failed: hold', { outcome: failedQuery },
      { decision: 'hold', hold: 'no-data', reason: 'no verdict: canaryRequests: prometheus at http://p:9090: no answer within 10s', measurements: null,
        failedChecks: [], failedCheckCount: 0, consecutiveHolds: 1 }],
    ['a query failed at 2 of 3 failed checks: hold, never a roll back on missing data', { state: inFlight(10, { failedChecks: 2 }), outcome: failedQuery },
      { decision: 'hold', hold: 'no-data', failedChecks: [], failedCheckCount: 2 }],
    // a fifth of the canary's requests failing while its p95 query timed out: the ratio needs no p95, so the check fails
    ['a latency query failed while the answers show the canary failing: a failed check, not a hold',
      { state: inFlight(10, { failedChecks: 1 }), outcome: partly({ canaryErrors: 10, canaryCallerErrors: 10 }, 'canaryP95') },
      { decision: 'hold', hold: 'failed-check', failedCheckCount: 2, failedChecks: ['successRatio: 0.8 < 0.95'],
        reason: 'failed check 2 of 3: successRatio: 0.8 < 0.95 (on the queries that answered; canaryP95: prometheus at http://p:9090: no answer within 10s)' }],
    ['… at 2 of 3 failed checks: the roll back', { state: inFlight(10, { failedChecks: 2 }), outcome: partly({ canaryErrors: 10 }, 'canaryP95') },
      { decision: 'rollback', toWeight: 0, failedChecks: ['successRatio: 0.8 < 0.95'] }],
    ['… every request failing: rolled back at once, whatever the count', { outcome: partly({ canaryErrors: 50 }, 'canaryP95') },
      { decision: 'rollback', toWeight: 0, failedCheckCount: 1, failedChecks: ['successRatio: 0 < 0.95'] }],
    // the callers' view only adds errors: without it the ratio can only read higher, so a failure on the rest holds
    ['the callers\' errors failed, the canary\'s own show 10 % failing: a failed check',
      { outcome: partly({ canaryErrors: 5 }, 'canaryCallerErrors') }, { decision: 'hold', hold: 'failed-check', failedChecks: ['successRatio: 0.9 < 0.95'] }],
    ['a latency query failed, the answers within the SLO: hold, never a pass on part of the numbers',
      { outcome: partly({ canaryErrors: 0 }, 'canaryP95') }, { decision: 'hold', hold: 'no-data', failedCheckCount: 0 }],
    ['the canary\'s errors failed: no ratio to judge, hold', { outcome: partly({}, 'canaryErrors') }, { decision: 'hold', hold: 'no-data' }],
    ['the canary\'s requests failed: nothing to judge, hold', { outcome: partly({ canaryErrors: 50 }, 'canaryRequests') }, { decision: 'hold', hold: 'no-data' }],
    ['the answers hold fewer than minRequests: hold', { outcome: { ...partly({ canaryErrors: 5 }, 'canaryP95'), samples: { canaryRequests: 5, canaryErrors: 5 } } },
      { decision: 'hold', hold: 'no-data' }],
    // the callers' 503s of a subset without endpoints name no workload: the window reads as no traffic at all
    ['no pod of the canary ready all window at 10 %: rolled back at once, though the numbers read as too little traffic',
      { outcome: { ...measured({ requests: 0, canaryRequests: 0, successRatio: null, p95Ms: null, p99Ms: null }), samples: { canaryAvailable: 0 } } },
      { decision: 'rollback', toWeight: 0, failedCheckCount: 1,
        failedChecks: ['canaryPods: no pod of gateway-canary was ready in the 5m window, while the route gives it 10%'],
        reason: 'rolling back at once: its 10% of the requests fail; failed check 1 of 3: canaryPods: no pod of gateway-canary was ready in the 5m '
          + 'window, while the route gives it 10%' }],
    ['… whatever else failed to answer', { outcome: { ...failedQuery, samples: { canaryAvailable: 0 } } }, { decision: 'rollback', toWeight: 0 }],
    ['a pod of the canary ready at some time in the window: the numbers decide', { outcome: { ...measured(), samples: { canaryAvailable: 1 } } },
      { decision: 'advance', toWeight: 25 }],
    ['kube-state-metrics without an answer: the numbers decide', { outcome: { ...measured(), samples: { canaryAvailable: null } } },
      { decision: 'advance', toWeight: 25 }],
    ['99 requests, minimum 100: hold', { outcome: measured({ requests: 99 }) },
      { decision: 'hold', hold: 'too-little-traffic', reason: 'too little traffic: fewer than 100 requests (stable and canary) in the 5m window', consecutiveHolds: 1 }],
    ['exactly 100 requests: judged', { outcome: measured({ requests: 100, canaryRequests: 20 }) }, { decision: 'advance' }],
    // steady traffic just above the minimum: the canary's full share (15 of 150 at 10 %) is enough, whatever minCanaryRequests
    ['150 requests, the canary its 15 at 10 %: judged (the minimum is at most its share of minRequests)',
      { outcome: measured({ requests: 150, canaryRequests: 15 }) }, { decision: 'advance' }],
    // the canary needs at most its share of the minimum: 10 % of 50
    ['--min-requests 50 for this run: 60 requests judged', { settings: settings(inFlight(), { minRequests: 50 }), outcome: measured({ requests: 60, canaryRequests: 6 }) },
      { decision: 'advance' }],
    // its share of thin traffic: 5 requests say nothing of its ratios, so it waits for more rather than advance
    ['the canary served half its share of 100 requests (5, which the factor allows), fewer than the 10 of its share: hold, not advance',
      { outcome: measured({ requests: 100, canaryRequests: 5 }) },
      { decision: 'hold', hold: 'too-little-traffic', reason: 'too little canary traffic: fewer than 10 canary requests in the 5m window, the least it needs '
        + 'before it may advance (analysis.minCanaryRequests, at most its 10% of minRequests)' }],
    // at 25 % the share of 100 is 25: minCanaryRequests (20) is the limit, above the factor's 13
    ['at 25 %, 15 canary requests of 100: enough for the factor (13), fewer than minCanaryRequests (20): hold',
      { state: inFlight(25), settings: settings(inFlight(25)), outcome: measured({ requests: 100, canaryRequests: 15 }) },
      { decision: 'hold', hold: 'too-little-traffic', reason: expect.stringContaining('fewer than 20 canary requests') }],
    // less than its share is no thin traffic: the canary may be down or out of the route
    ['the canary served 10 of 1000 at 10 %, less than its share: a failed check, not a hold', { outcome: measured({ requests: 1000, canaryRequests: 10 }) },
      { decision: 'hold', hold: 'failed-check' }],
    ['a canary that fails its SLO on 10 requests: a failed check, whatever the minimum', { outcome: measured({ requests: 100, canaryRequests: 10, successRatio: 0.5 }) },
      { decision: 'hold', hold: 'failed-check' }],
    ['unknown total requests: hold', { outcome: measured({ requests: null }) }, { decision: 'hold', hold: 'too-little-traffic' }],
  ])('%s', (_name, input, expected) => {
    expect(run(input)).toMatchObject(expected);
  });
});

describe('decide: checks and their boundaries', () => {
  const failed = (r: GateResult) => r.failedChecks.map(c => c.split(':')[0]);
  test.each<[string, Partial<DecideInput>, string[]]>([
    ['canary 49 of 1000 at 10% × 0.5 (expects 50)', { outcome: measured({ canaryRequests: 49 }) }, ['canaryTraffic']],
    ['canary 50 of 1000 at 10% × 0.5', { outcome: measured({ canaryRequests: 50 }) }, []],
    ['canary 124 of 1000 at 25% × 0.5 (expects 125)', { state: inFlight(25), outcome: measured({ canaryRequests: 124 }) }, ['canaryTraffic']],
    ['canary 125 of 1000 at 25% × 0.5', { state: inFlight(25), outcome: measured({ canaryRequests: 125 }) }, []],
    ['a canary that served nothing, with its SLO numbers unknown', { outcome: measured({ canaryRequests: 0, successRatio: null, p95Ms: null, p99Ms: null }) },
      ['canaryTraffic']],
    ['a canary that served nothing where its weight predicts less than one request (minimum 0)',
      { settings: settings(inFlight(), { minRequests: 0 }), outcome: measured({ requests: 0, canaryRequests: 0, successRatio: null }) }, ['canaryTraffic']],
    ['success ratio 0.9499 < 0.95', { outcome: measured({ successRatio: 0.9499 }), settings: settings(inFlight(), {}, { baseline: false }) }, ['successRatio']],
    ['success ratio 0.95', { outcome: measured({ successRatio: 0.95 }), settings: settings(inFlight(), {}, { baseline: false }) }, []],
    ['p95 300.1 ms > 300', { outcome: measured({ p95Ms: 300.1 }, SLOW_STABLE) }, ['p95Ms']],
    ['p95 300 ms', { outcome: measured({ p95Ms: 300 }, SLOW_STABLE) }, []],
    ['p99 5000 ms without a p99 SLO (nor a comparison with stable\'s)', { outcome: measured({ p99Ms: 5000 }) }, []],
    ['p99 500.1 ms > 500', { outcome: measured({ p99Ms: 500.1 }, SLOW_STABLE), settings: settings(inFlight(), {}, { slo: { p99LatencyMs: 500 } }) }, ['p99Ms']],
    ['p99 500 ms', { outcome: measured({ p99Ms: 500 }, SLOW_STABLE), settings: settings(inFlight(), {}, { slo: { p99LatencyMs: 500 } }) }, []],
    ['p95 165 ms, stable 110 ms × 1.5', { outcome: measured({ p95Ms: 165 }) }, []],
    ['p95 165.1 ms > stable 110 ms × 1.5', { outcome: measured({ p95Ms: 165.1 }) }, ['baselineP95']],
    // a fast service: twice stable's 4.8 ms is one histogram bucket up, within the 25 ms floor
    ['p95 9.5 ms against stable 4.8 ms: within 25 ms of it', { outcome: measured({ p95Ms: 9.5 }, { ...STABLE, p95Ms: 4.8 }) }, []],
    ['p95 29.9 ms > stable 4.8 ms + 25 ms', { outcome: measured({ p95Ms: 29.9 }, { ...STABLE, p95Ms: 4.8 }) }, ['baselineP95']],
    ['p99 270.1 ms > stable 180 ms × 1.5, with a p99 SLO', { outcome: measured({ p99Ms: 270.1 }), settings: settings(inFlight(), {}, { slo: { p99LatencyMs: 500 } }) },
      ['baselineP99']],
    ['stable\'s p95 unknown: no latency comparison', { outcome: measured({ p95Ms: 290 }, { ...STABLE, p95Ms: null }) }, []],
    ['no latency ratio: latency held to the SLO alone', { outcome: measured({ p95Ms: 290 }), settings: settings(inFlight(), {}, { latencyRatio: null }) }, []],
    ['the baseline off: no latency comparison either', { outcome: measured({ p95Ms: 290 }), settings: settings(inFlight(), {}, { baseline: false }) }, []],
    ['error ratio 0.05 vs stable 0.03: +0.02, the margin', { outcome: measured({ successRatio: 0.95 }, { ...STABLE, successRatio: 0.97 }) }, []],
    ['error ratio 0.05 vs stable 0.0299: +0.0201', { outcome: measured({ successRatio: 0.95 }, { ...STABLE, successRatio: 0.9701 }) }, ['baselineErrorRatio']],
    ['the same numbers with the baseline off', { outcome: measured({ successRatio: 0.95 }, null), settings: settings(inFlight(), {}, { baseline: false }) }, []],
    ['everything at once', { outcome: measured({ canaryRequests: 10, successRatio: 0.5, p95Ms: 900 }) },
      ['canaryTraffic', 'successRatio', 'p95Ms', 'baselineErrorRatio', 'baselineP95']],
  ])('%s', (_name, input, checks) => {
    const r = run(input);
    expect(failed(r)).toEqual(checks);
    expect(r.decision).toBe(checks.length > 0 ? 'hold' : 'advance');
    if (checks.length > 0) expect(r).toMatchObject({ hold: 'failed-check', failedCheckCount: 1, consecutiveHolds: 1 });
  });

  test('failed checks carry their numbers', () => {
    const r = run({ outcome: measured({ canaryRequests: 40, successRatio: 0.9, p95Ms: 412.5 }, { ...STABLE, successRatio: 0.995 }) });
    expect(r.failedChecks).toEqual([
      'canaryTraffic: 40 requests < 50 expected (10% of 1000 × 0.5); is the canary running and in the route?',
      'successRatio: 0.9 < 0.95',
      'p95Ms: 412.5 > 300',
      'baselineErrorRatio: canary 0.1 − stable 0.005 = 0.095 > 0.02',
      'baselineP95: canary 412.5 ms > stable 110 ms × 1.5 = 165 ms',
    ]);
    expect(r.reason).toBe(`failed check 1 of 3: ${r.failedChecks.join('; ')}`);
  });

  test.each<[string, Partial<Measurements>]>([
    ['success ratio unknown although the canary served requests', { successRatio: null }],
    ['p95 unknown although the canary served requests', { p95Ms: null }],
  ])('%s: hold (no verdict), never a pass', (_name, m) => {
    expect(run({ outcome: measured(m) })).toMatchObject({ decision: 'hold', hold: 'inconclusive', failedChecks: [], consecutiveHolds: 1 });
  });

  test('stable served requests but its success ratio is unknown: hold (no verdict), the baseline is not skipped', () => {
    const r = run({ outcome: measured({}, { ...STABLE, requests: 900, successRatio: null }) });
    expect(r).toMatchObject({ decision: 'hold', hold: 'inconclusive', failedChecks: [] });
    expect(r.reason).toContain('stable\'s success ratio is unknown (no response codes for its 900 requests)');
    expect(r.reason).not.toContain('baseline not compared');
  });

  test.each<[string, Partial<Measurements>]>([
    ['stable served nothing at 10 % (its series missing): no pass for the comparison with it', { requests: 1000, canaryRequests: 1000 }],
    ['stable served less than half its share at 10 %', { requests: 1000, canaryRequests: 560 }],
  ])('%s: hold (no verdict)', (_name, m) => {
    const stable = (m.requests ?? 0) - (m.canaryRequests ?? 0);
    const baseline = stable === 0 ? { requests: 0, successRatio: null, p95Ms: null, p99Ms: null } : { ...STABLE, requests: stable };
    const r = run({ outcome: measured({ ...m, successRatio: 0.99 }, baseline) });
    expect(r).toMatchObject({ decision: 'hold', hold: 'inconclusive', failedChecks: [] });
    expect(r.reason).toContain(`stable served ${stable} of 1000 requests < 450 expected (90% of 1000 × 0.5)`);
    expect(r.reason).not.toContain('baseline not compared');
  });

  test('stable served just its share × the factor at 10 %: a verdict', () => {
    expect(run({ outcome: measured({ requests: 1000, canaryRequests: 550 }, { ...STABLE, requests: 450 }) })).toMatchObject({ decision: 'advance' });
  });

  test('a share below one request asks nothing of stable: at 99 % of 100 requests it may well get none', () => {
    const state: RolloutState = { ...inFlight(99), steps: [10, 99, 100] };
    const none = { requests: 0, successRatio: null, p95Ms: null, p99Ms: null };
    expect(run({ state, outcome: measured({ requests: 100, canaryRequests: 100 }, none) })).toMatchObject({ decision: 'advance', toWeight: 100 });
  });

  test('an unknown number does not hide a failed check', () => {
    expect(run({ outcome: measured({ successRatio: 0.5, p95Ms: null }) })).toMatchObject({ hold: 'failed-check' });
  });
});

describe('decide: a severe failure rolls back at once', () => {
  test('a success ratio below analysis.rollbackBelowSuccessRatio (0.5) over the canary requests it needs: the first failed check rolls back', () => {
    const r = run({ settings: settings(inFlight(), {}, { baseline: false }), outcome: measured({ successRatio: 0.4999 }) });
    expect(r).toMatchObject({ decision: 'rollback', toWeight: 0, failedCheckCount: 1, failedChecks: ['successRatio: 0.4999 < 0.95'] });
    expect(r.reason).toBe('rolling back at once: success ratio 0.4999 < 0.5 (analysis.rollbackBelowSuccessRatio) over 100 canary requests; '
      + 'failed check 1 of 3: successRatio: 0.4999 < 0.95');
    expect(r.change?.state.canary).toMatchObject({ weight: 0, phase: 'rolling-back' });
  });

  test('at the floor, or over fewer than minCanaryRequests (20) canary requests, whatever the weight: a failed check that counts', () => {
    expect(run({ outcome: measured({ successRatio: 0.5 }) })).toMatchObject({ decision: 'hold', hold: 'failed-check', failedCheckCount: 1 });
    // at 10 % of 150 requests the canary may advance on its 15, but 15 failures are no verdict for a roll back at once
    expect(run({ outcome: measured({ requests: 150, canaryRequests: 19, successRatio: 0 }) }))
      .toMatchObject({ decision: 'hold', hold: 'failed-check', failedCheckCount: 1 });
    expect(run({ outcome: measured({ requests: 150, canaryRequests: 20, successRatio: 0 }) })).toMatchObject({ decision: 'rollback' });
    // a 1 % step: one failed request of one is no verdict either
    const low = { ...inFlight(1), steps: [1, 10, 100] };
    expect(run({ state: low, outcome: measured({ requests: 100, canaryRequests: 1, successRatio: 0 }) })).toMatchObject({ decision: 'hold' });
  });

  test('an SLO below the default floor takes the floor down to its own ratio: 0.45 passes an SLO of 0.4, 0.39 rolls back at once', () => {
    const s = settings(inFlight(), {}, { slo: { successRatio: 0.4 }, baseline: false });
    expect(run({ settings: s, outcome: measured({ successRatio: 0.45 }) })).toMatchObject({ decision: 'advance' });
    expect(run({ settings: s, outcome: measured({ successRatio: 0.39 }) })).toMatchObject({ decision: 'rollback' });
  });

  test('0 never rolls back at once; the failed checks count as before', () => {
    const state = { ...inFlight(), analysis: { rollbackBelowSuccessRatio: 0 } };
    expect(run({ state, outcome: measured({ successRatio: 0 }) })).toMatchObject({ decision: 'hold', hold: 'failed-check', failedCheckCount: 1 });
  });
});

describe('decide: counters, roll back and fail safe', () => {
  test.each<[string, RolloutState, MeasureOutcome, Partial<GateResult>]>([
    ['the 2nd failed check of 3: hold', inFlight(10, { failedChecks: 1 }), measured({ successRatio: 0.5 }),
      { decision: 'hold', failedCheckCount: 2, consecutiveHolds: 1 }],
    ['the 3rd failed check of 3: roll back', inFlight(10, { failedChecks: 2 }), measured({ successRatio: 0.5 }),
      { decision: 'rollback', hold: null, fromWeight: 10, toWeight: 0, failedCheckCount: 3, consecutiveHolds: 1, reason: 'rolling back: failed check 3 of 3: successRatio: 0.5 < 0.95; baselineErrorRatio: canary 0.5 − stable 0.01 = 0.49 > 0.02' }],
    ['failed checks count across steps and passes: 2 earlier, at 50%', inFlight(50, { failedChecks: 2 }), measured({ canaryRequests: 100 }),
      { decision: 'rollback', fromWeight: 50 }],
    ['the 12th hold in a row of 12: hold', inFlight(10, { consecutiveHolds: 11 }), failedQuery, { decision: 'hold', consecutiveHolds: 12 }],
    ['the 13th hold in a row, beyond 12: roll back (fail safe)', inFlight(10, { consecutiveHolds: 12 }), measured({ requests: 3 }),
      { decision: 'rollback', failedCheckCount: 0, consecutiveHolds: 13, reason: 'rolling back (fail safe): 13 holds in a row, more than 12; last: too little traffic: fewer than 100 requests (stable and canary) in the 5m window' }],
    ['a failed check is a hold in a row too', inFlight(10, { consecutiveHolds: 12 }), measured({ successRatio: 0.5 }),
      { decision: 'rollback', reason: expect.stringMatching(/^rolling back \(fail safe\): 13 holds in a row, more than 12; last: failed check 1 of 3/) }],
    ['a pass after holds: advance, holds reset, failed checks kept', inFlight(10, { failedChecks: 1, consecutiveHolds: 5 }), measured(),
      { decision: 'advance', failedCheckCount: 1, consecutiveHolds: 0 }],
  ])('%s', (_name, state, outcome, expected) => {
    expect(run({ state, outcome })).toMatchObject(expected);
  });

  test('a roll back at the failed-check limit is its first half: the canary stays at 0% (rolling-back), stable as it was, the numbers in the history', () => {
    const state = inFlight(25, { failedChecks: 2 });
    const r = run({ state, outcome: measured({ canaryRequests: 300, successRatio: 0.5 }) });
    const { appliedAt: _applied, ...canary } = state.canary!;
    // strict: appliedAt is gone, so the next run observes the route at 0 before the canary is removed; the failed
    // checks are the run's, the one that ended it included (the state file says 3 of 3, as the reason does)
    expect(r.change?.state.canary).toStrictEqual({ ...canary, failedChecks: 3, phase: 'rolling-back', weight: 0, weightChangedAt: READY.toISOString() });
    expect(r.change?.state.stable).toEqual(steady.stable);
    expect(r.change?.entry).toMatchObject({
      decision: 'rollback', by: 'gate', image: IMAGE, fromWeight: 25, toWeight: 0, at: READY.toISOString(),
      measurements: { ...HEALTHY, canaryRequests: 300, successRatio: 0.5 }, baseline: STABLE, failedChecks: ['successRatio: 0.5 < 0.95', expect.stringMatching(/^baselineErrorRatio/)],
    });
  });

  test('a hold writes only counters and history', () => {
    const state = inFlight(25, { failedChecks: 1, consecutiveHolds: 2 });
    const r = run({ state, outcome: measured({ canaryRequests: 300, p95Ms: 301 }, SLOW_STABLE) });
    expect(r.change?.state).toEqual({
      ...state,
      canary: { ...state.canary, failedChecks: 2, consecutiveHolds: 3 },
      history: [{
        at: READY.toISOString(), decision: 'hold', by: 'gate', image: IMAGE, fromWeight: 25, toWeight: 25,
        reason: 'failed check 2 of 3: p95Ms: 301 > 300', measurements: { ...HEALTHY, canaryRequests: 300, p95Ms: 301 }, baseline: SLOW_STABLE,
        failedChecks: ['p95Ms: 301 > 300'],
      }],
    });
  });

  test('a failed query is recorded without numbers', () => {
    expect(run({ outcome: failedQuery }).change?.entry).toEqual({
      at: READY.toISOString(), decision: 'hold', by: 'gate', image: IMAGE, fromWeight: 10, toWeight: 10, reason: expect.stringMatching(/^no verdict: /),
    });
  });

  test('repeated identical holds become one history entry with a count; failed checks keep one entry each', () => {
    let state = inFlight();
    // a window apart: each counted hold measures a window of its own
    const window = (i: number) => new Date(READY.getTime() + i * 5 * 60_000);
    for (let i = 0; i < 3; i++) state = run({ state, outcome: measured({ requests: 5 }), now: window(i) }).change!.state;
    expect(state.history).toEqual([expect.objectContaining({ decision: 'hold', count: 3, firstAt: READY.toISOString() })]);
    expect(state.canary?.consecutiveHolds).toBe(3);
    for (let i = 3; i < 5; i++) state = run({ state, outcome: measured({ successRatio: 0.5 }), now: window(i) }).change!.state;
    expect(state.history.map(h => h.count ?? 1)).toEqual([3, 1, 1]);
  });
});

describe('decide: advance and promote', () => {
  test('steps changed while the canary is in flight: it goes on to the first step above its weight, or past the last to the promotion', () => {
    // the canary's share of 1000 requests at its weight
    const replanned = (weight: number, steps: number[]) => ({
      state: { ...inFlight(weight), steps }, outcome: measured({ canaryRequests: weight * 10 }),
    });
    expect(run(replanned(25, [20, 50, 100]))).toMatchObject({ decision: 'advance', fromWeight: 25, toWeight: 50 });
    expect(run(replanned(5, [20, 50, 100]))).toMatchObject({ decision: 'advance', toWeight: 20 });
    expect(run(replanned(60, [20, 50]))).toMatchObject({ decision: 'promote' });
  });

  test('the next step: weight, time of the change, counters, and the numbers in the history', () => {
    const state = inFlight(10, { failedChecks: 1, consecutiveHolds: 3 });
    const r = run({ state });
    expect(r).toMatchObject({ decision: 'advance', fromWeight: 10, toWeight: 25, hold: null, failedChecks: [], measurements: HEALTHY, baseline: STABLE });
    const { appliedAt: _applied, ...canary } = state.canary!;
    // strict: the new step is not yet applied, so the next run observes it before any window
    expect(r.change?.state.canary).toStrictEqual({
      ...canary, weight: 25, weightChangedAt: READY.toISOString(), failedChecks: 1, consecutiveHolds: 0,
    });
    expect(r.change?.entry).toMatchObject({ decision: 'advance', by: 'gate', fromWeight: 10, toWeight: 25, measurements: HEALTHY, baseline: STABLE });
    expect(r.reason).toBe('advanced to 25%: SLO met over 5m: canary served 100 of 1000 requests (≥ 50), success ratio 0.99 ≥ 0.95, '
      + 'p95 120 ms ≤ 300, error ratio canary 0.01 − stable 0.01 = 0 ≤ 0.02 over stable, p95 120 ms ≤ stable\'s × 1.5 (165 ms)');
  });

  test('the service\'s own steps', () => {
    const state: RolloutState = { ...inFlight(5), steps: [5, 20, 100] };
    expect(run({ state, outcome: measured({ canaryRequests: 25 }) })).toMatchObject({ decision: 'advance', fromWeight: 5, toWeight: 20 });
  });

  test('after the last step: promote, first half; stable rolls out the canary\'s image, the canary keeps its weight', () => {
    const noStable = { requests: 0, successRatio: null, p95Ms: null, p99Ms: null };
    const state = inFlight(100, { consecutiveHolds: 2 });
    const r = run({ state, outcome: measured({ canaryRequests: 1000 }, noStable) });
    expect(r).toMatchObject({ decision: 'promote', fromWeight: 100, toWeight: 100, failedCheckCount: 0, consecutiveHolds: 0 });
    // the state keeps stable's image: the chart renders stable with the canary's while the canary is promoting
    expect(r.change?.state.stable).toEqual(steady.stable);
    expect(r.change?.state.canary).toMatchObject({ image: IMAGE, weight: 100, phase: 'promoting', weightChangedAt: READY.toISOString() });
    expect(r.change?.state.canary?.appliedAt).toBeUndefined();
    expect(r.reason.startsWith(`promoting: stable rolls out ${IMAGE} while the canary keeps its 100%; SLO met over 5m: `)).toBe(true);
    expect(r.reason).toMatch(/, baseline not compared \(stable served no requests\)$/);
  });
});

describe('stageOf', () => {
  const state = inFlight();
  test('none, dwelling with the time it ends, measure with the window start', () => {
    expect(stageOf(steady, settingsOf(steady, GATEWAY), READY)).toEqual({ kind: 'none' });
    expect(stageOf(state, settingsOf(state, GATEWAY), new Date(APPLIED))).toEqual({ kind: 'dwelling', window: '5m', readyAt: READY });
    expect(stageOf(state, settingsOf(state, GATEWAY), READY)).toEqual({ kind: 'measure', window: '5m', windowStart: new Date(APPLIED + 60_000) });
  });

  test('a weight set by hand after the step was observed applied: a configuration error, neither measured nor timed against the old step', () => {
    // the gate's applied hold at 25 %, then someone edits the state file's weight to 50 and keeps appliedAt
    const applied = { at: new Date(APPLIED).toISOString(), decision: 'hold', by: 'gate', image: IMAGE, fromWeight: 25, toWeight: 25, reason: 'applied' } as const;
    const atStep = { ...inFlight(25), history: [applied] };
    expect(stageOf(atStep, settingsOf(atStep, GATEWAY), READY)).toMatchObject({ kind: 'measure' });
    // measured, it would judge the 25 % route's window; observed again, the step's deadline (from weightChangedAt) is
    // long past, and the first tick before Argo CD synced the edit would roll it back
    const edited = { ...atStep, canary: { ...atStep.canary!, weight: 50 } };
    const later = new Date(READY.getTime() + 3_600_000);
    let refusal: unknown;
    try {
      stageOf(edited, settingsOf(edited, GATEWAY), later);
    } catch (error) {
      refusal = error;
    }
    // a configuration error (exit 2, code config in --json), naming the remedy
    expect(refusal).toBeInstanceOf(UsageError);
    expect(refusal).toMatchObject({ code: 'config', message: "'canary.weight' of gateway is 50%, but 'canary.appliedAt' "
      + `(${new Date(APPLIED).toISOString()}) records the step at 25% observed applied: a weight set by hand. Set it back, or delete 'canary.appliedAt' `
      + 'and set \'canary.weightChangedAt\' to the time of the change, so that the gate observes the cluster run it before measuring' });
    // the remedy the message names: observed again within a deadline of its own
    const { appliedAt: _stale, ...rest } = edited.canary;
    const fixed = { ...edited, canary: { ...rest, weightChangedAt: later.toISOString() } };
    expect(stageOf(fixed, settingsOf(fixed, GATEWAY), later)).toMatchObject({ kind: 'applying', release: { track: 'canary', canaryWeight: 50 } });
    expect(run({ state: fixed, now: later, outcome: undefined, observed: { ok: true, applied: false } })).toMatchObject({ decision: 'hold', hold: 'applying' });
  });

  test('a tick every minute with 5m windows: each counted hold measures a window of its own, so three failed checks take three', () => {
    const failing = measured({ successRatio: 0.5 });
    let current = inFlight();
    const decisions: string[] = [];
    // ticks every minute from the first window on, for 15 minutes
    for (let minute = 0; minute <= 15; minute++) {
      const now = new Date(READY.getTime() + minute * 60_000);
      const result = run({ state: current, now, outcome: failing });
      decisions.push(`${minute}:${result.hold ?? result.decision}`);
      if (result.decision === 'hold' && result.hold === 'dwelling') {
        expect(result.change).toBeNull();
        if (minute === 1) {
          expect(result.reason).toBe(`dwelling: the last check measured the 5m window until ${READY.toISOString()}; the next may not overlap it; `
            + `measurable from ${new Date(READY.getTime() + 5 * 60_000).toISOString()}`);
        }
      }
      if (result.change) current = result.change.state;
      if (result.decision === 'rollback') break;
    }
    // one bad minute is not three failed checks: the windows are 0–5, 5–10 and 10–15 minutes after READY
    expect(decisions).toEqual([
      '0:failed-check', '1:dwelling', '2:dwelling', '3:dwelling', '4:dwelling', '5:failed-check', '6:dwelling', '7:dwelling', '8:dwelling',
      '9:dwelling', '10:rollback',
    ]);
  });

  test('a gate hold dated in the future would dwell forever: a configuration error, naming it', () => {
    const future = { ...inFlight(), history: [{
      at: '2036-11-22T12:07:00.000Z', decision: 'hold', by: 'gate', image: IMAGE, fromWeight: 10, toWeight: 10, reason: 'failed check 1 of 3',
    } as const] };
    expect(() => stageOf(future, settingsOf(future, GATEWAY), READY)).toThrow(
      `'history[0].at' of gateway is 2036-11-22T12:07:00.000Z, a gate hold in the future (now ${READY.toISOString()})`);
    // within the clock skew tolerance: ordinary skew, a later window
    const skewed = { ...future, history: [{ ...future.history[0], at: new Date(READY.getTime() + 60_000).toISOString() }] };
    expect(stageOf(skewed, settingsOf(skewed, GATEWAY), READY)).toMatchObject({ kind: 'dwelling', readyAt: new Date(READY.getTime() + 6 * 60_000) });
  });

  test('the limit of holds in a row counts windows too, not ticks', () => {
    let current = inFlight();
    let ticks = 0;
    let holds = 0;
    let result: GateResult;
    do {
      result = run({ state: current, now: new Date(READY.getTime() + ticks * 60_000), outcome: failedQuery });
      if (result.hold === 'no-data') holds++;
      if (result.change) current = result.change.state;
      ticks++;
    } while (result.decision === 'hold' && ticks < 500);
    // 12 holds in a row allowed, the 13th rolls back: 12 windows of 5m, an hour, with a tick every minute
    expect([result.decision, holds, ticks - 1]).toEqual(['rollback', 12, 60]);
  });

  test('dwelling and measuring count from the time the step was applied, not from its commit', () => {
    const late = inFlight(10, { appliedAt: new Date(CHANGED + 30 * 60_000).toISOString() });
    // 31 minutes after the commit the window would long be due if it counted from weightChangedAt
    expect(stageOf(late, settingsOf(late, GATEWAY), new Date(CHANGED + 31 * 60_000)))
      .toEqual({ kind: 'dwelling', window: '5m', readyAt: new Date(CHANGED + 36 * 60_000) });
    expect(stageOf(late, settingsOf(late, GATEWAY), new Date(CHANGED + 36 * 60_000)).kind).toBe('measure');
  });

  test.each<[string, RolloutState, Stage]>([
    ['a canary just started: the canary track at 0%', unapplied(0),
      { kind: 'applying', release: { track: 'canary', image: IMAGE, canaryWeight: 0 }, deadline: DEADLINE }],
    ['a new step: the canary track at its weight', unapplied(25),
      { kind: 'applying', release: { track: 'canary', image: IMAGE, canaryWeight: 25 }, deadline: DEADLINE }],
    ['promoting: stable with the canary\'s image, the route not checked (the canary keeps its weight)', unapplied(100, { phase: 'promoting' }),
      { kind: 'applying', release: { track: 'stable', image: IMAGE }, deadline: DEADLINE }],
    ['promoting, whatever an earlier step\'s appliedAt says', inFlight(100, { phase: 'promoting' }),
      { kind: 'applying', release: { track: 'stable', image: IMAGE }, deadline: DEADLINE }],
    ['rolling back: stable with its own image, the route at 0%', unapplied(0, { phase: 'rolling-back' }),
      { kind: 'applying', release: { track: 'stable', image: steady.stable.image, canaryWeight: 0 }, deadline: DEADLINE }],
  ])('applying, %s; the deadline is the commit + the progress deadline', (_name, applying, stage) => {
    // strict: a release without canaryWeight must not check the route at all
    expect(stageOf(applying, settingsOf(applying, GATEWAY), READY)).toStrictEqual(stage);
  });

  test('the progress deadline defaults to 10m; the state file\'s own counts from the same commit', () => {
    const applying = unapplied(25);
    expect(settingsOf(applying, GATEWAY).analysis.progressDeadline).toBe('10m');
    const own: RolloutState = { ...applying, analysis: { progressDeadline: '1h30m' } };
    expect(stageOf(own, settingsOf(own, GATEWAY), READY)).toMatchObject({ kind: 'applying', deadline: new Date(CHANGED + 90 * 60_000) });
  });

  test('the window as the queries and the reasons write it: the largest whole unit', () => {
    const at = (window: string) => stageOf(state, settings(state, { window, settle: '0s' }), new Date(CHANGED + 8 * 86_400_000));
    expect([at('300s'), at('1h30m'), at('1w'), at('1500ms')].map(s => (s.kind === 'dwelling' || s.kind === 'measure') && s.window))
      .toEqual(['5m', '90m', '7d', '1500ms']);
    expect(run({ settings: settings(inFlight(), { window: '300s' }), now: READY, outcome: measured({ requests: 99 }) }).reason)
      .toBe('too little traffic: fewer than 100 requests (stable and canary) in the 5m window');
  });

  test('a weight change up to the clock skew tolerance in the future is applying (or, applied, dwells); further is a configuration error', () => {
    const now = new Date(CHANGED - CLOCK_SKEW_TOLERANCE_MS);
    expect(stageOf(unapplied(10), settingsOf(state, GATEWAY), now).kind).toBe('applying');
    // applied as the gate records it (the time it saw the step), the same skew ahead
    const appliedNow = inFlight(10, { appliedAt: new Date(CHANGED).toISOString() });
    expect(stageOf(appliedNow, settingsOf(appliedNow, GATEWAY), now).kind).toBe('dwelling');
    for (const s of [state, unapplied(10)]) {
      const future = () => stageOf(s, settingsOf(s, GATEWAY), new Date(CHANGED - CLOCK_SKEW_TOLERANCE_MS - 1));
      expect(future).toThrow(UsageError);
      expect(future).toThrow("'canary.weightChangedAt' of gateway is 2026-11-22T12:00:00.000Z, in the future (now 2026-11-22T11:54:59.999Z); "
        + 'fix the clock of this machine or the state file');
    }
    // a step applied in the future would dwell until then, uncounted: refused the same way
    const farApplied = inFlight(10, { appliedAt: '2099-01-01T00:00:00.000Z' });
    expect(() => stageOf(farApplied, settingsOf(farApplied, GATEWAY), READY))
      .toThrow(/^'canary\.appliedAt' of gateway is 2099-01-01T00:00:00\.000Z, in the future/);
  });

  test('decide refuses to judge a due window without its measurement, or a step without its observation', () => {
    expect(() => run({ outcome: undefined })).toThrow('decide: the 5m window of gateway is due; measure it first');
    expect(() => run({ state: unapplied(10), outcome: undefined }))
      .toThrow('decide: whether the cluster runs gateway\'s release is due; observe it first');
  });
});

describe('decide: the applying stage', () => {
  const APPLIED_YES: ObserveOutcome = { ok: true, applied: true };
  const APPLIED_NO: ObserveOutcome = { ok: true, applied: false };
  const BROKEN: ObserveOutcome = { ok: false, error: 'prometheus at http://p:9090: no answer within 10s' };
  const NOW = new Date(CHANGED + 3 * 60_000);
  const observe = (state: RolloutState, observed: ObserveOutcome, now = NOW): GateResult => run({ state, observed, now, outcome: undefined });
  const canaryAt = (weight: number) => `gateway-canary runs ready with ${IMAGE} and the route gives the canary ${weight}%`;

  test.each<[string, RolloutState, ObserveOutcome, SmokeOutcome | undefined]>([
    ['Prometheus cannot tell whether a step runs', unapplied(25), BROKEN, undefined],
    ['smoke checks that cannot be sent', unapplied(0), APPLIED_YES, { ran: false, reason: 'no URL' }],
  ])('%s, every minute: counted once per window, so the fail safe takes 12 windows, not 13 ticks', (_name, start, observed, smoke) => {
    let current = start;
    let ticks = 0;
    const counted: number[] = [];
    let r: GateResult;
    do {
      r = run({ state: current, observed, now: new Date(NOW.getTime() + ticks * 60_000), outcome: undefined, ...(smoke ? { smoke } : {}) });
      if (r.decision === 'hold' && r.change) counted.push(ticks);
      if (r.decision === 'hold' && !r.change) {
        expect(r.hold).toBe('dwelling');
        expect(r.reason).toMatch(/^dwelling: .*\(not counted: the last counted hold, at .*, is less than a 5m window ago\)$/);
      }
      if (r.change) current = r.change.state;
      ticks++;
    } while (r.decision === 'hold' && ticks < 500);
    expect(counted).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]);
    expect([r.decision, ticks - 1]).toEqual(['rollback', 60]);
  });

  test('a canary at 0% observed running: to the first step, not yet applied there, holds reset', () => {
    const state = unapplied(0, { consecutiveHolds: 3, failedChecks: 1 });
    const r = observe(state, APPLIED_YES);
    expect(r).toMatchObject({ decision: 'advance', fromWeight: 0, toWeight: 10, hold: null, failedCheckCount: 1, consecutiveHolds: 0, measurements: null });
    expect(r.change?.state.canary).toStrictEqual({ ...state.canary, weight: 10, weightChangedAt: NOW.toISOString(), consecutiveHolds: 0 });
    expect(r.change?.entry).toEqual({
      at: NOW.toISOString(), decision: 'advance', by: 'gate', image: IMAGE, fromWeight: 0, toWeight: 10,
      reason: `advanced to 10%: ${canaryAt(0)} (only the pin reached it)`,
    });
    // the next run observes the first step before it measures anything
    const next = r.change!.state;
    expect(stageOf(next, settings(next), NOW)).toMatchObject({ kind: 'applying', release: { track: 'canary', canaryWeight: 10 } });
  });

  test('observed by a clock a minute behind the one that committed the step: the times written never go back, so the state stays valid', () => {
    const ahead = new Date(NOW.getTime() + 60_000).toISOString();
    // at 25%: applied when the step changed, not before it
    const step = observe(unapplied(25, { weightChangedAt: ahead }), APPLIED_YES);
    expect([step.decision, step.hold, step.change?.state.canary?.appliedAt]).toEqual(['hold', 'applied', ahead]);
    // at 0%: the first step changes the weight when the start did, not before it
    const first = observe(unapplied(0, { startedAt: ahead, weightChangedAt: ahead }), APPLIED_YES);
    expect([first.decision, first.change?.state.canary?.weightChangedAt]).toEqual(['advance', ahead]);
    for (const r of [step, first]) expect(() => parseRolloutState(renderRolloutState(r.change!.state), 'rollout/local/gateway.yaml')).not.toThrow();
  });

  describe('the smoke checks of a canary at 0% that runs ready', () => {
    const PASSED = { path: '/api/a', passed: true, reached: true, detail: 'GET /api/a answered 200 with x-trace-id' };
    const FAILED = { path: '/api/b', passed: false, reached: true, detail: 'GET /api/b answered 503, expected 200' };
    const smoked = (smoke: SmokeOutcome, more: Partial<CanaryState> = {}) =>
      run({ state: unapplied(0, more), observed: APPLIED_YES, now: NOW, outcome: undefined, smoke });

    test('all passed: to the first step, the reason says how many', () => {
      const r = smoked({ ran: true, results: [PASSED, PASSED] });
      expect(r).toMatchObject({ decision: 'advance', toWeight: 10, failedChecks: [] });
      expect(r.reason).toBe(`advanced to 10%: ${canaryAt(0)} (only the pin reached it); 2 smoke checks passed through the pin`);
    });

    test('one failed: the first half of a roll back, before any weighted step, each failure named', () => {
      const r = smoked({ ran: true, results: [PASSED, FAILED] }, { consecutiveHolds: 2 });
      expect(r).toMatchObject({ decision: 'rollback', fromWeight: 0, toWeight: 0, failedChecks: ['smoke: GET /api/b answered 503, expected 200'] });
      expect(r.reason).toBe('rolling back: 1 of 2 smoke checks failed through the pin');
      expect(r.change?.state.canary).toMatchObject({ phase: 'rolling-back', weight: 0, consecutiveHolds: 0 });
      expect(r.change?.entry.failedChecks).toEqual(['smoke: GET /api/b answered 503, expected 200']);
    });

    test('not run (nowhere to send them): a hold that counts, still at 0%', () => {
      const r = smoked({ ran: false, reason: 'no --smoke-url' }, { consecutiveHolds: 2 });
      expect(r).toMatchObject({ decision: 'hold', hold: 'no-data', toWeight: 0, consecutiveHolds: 3, reason: 'smoke checks not run: no --smoke-url' });
    });

    test('at the hold limit, not run: the fail safe rolls back', () => {
      expect(smoked({ ran: false, reason: 'no --smoke-url' }, { consecutiveHolds: 12 })).toMatchObject({ decision: 'rollback' });
    });
  });

  test('the first step is the service\'s own', () => {
    expect(observe({ ...unapplied(0), steps: [5, 20, 100] }, APPLIED_YES)).toMatchObject({ decision: 'advance', toWeight: 5 });
  });

  test('a step observed running: hold (applied), the time written, the holds in a row as they were', () => {
    const state = unapplied(25, { consecutiveHolds: 2 });
    const r = observe(state, APPLIED_YES);
    const measurable = new Date(NOW.getTime() + 6 * 60_000).toISOString();
    expect(r).toMatchObject({ decision: 'hold', hold: 'applied', fromWeight: 25, toWeight: 25, consecutiveHolds: 2, reason: `applied: ${canaryAt(25)}; measurable from ${measurable}` });
    expect(r.change?.state.canary).toStrictEqual({ ...state.canary, appliedAt: NOW.toISOString() });
    expect(r.change?.entry).toMatchObject({ decision: 'hold', at: NOW.toISOString(), fromWeight: 25, toWeight: 25 });
    // windows count from now: the first is due a settle time and a window later
    const next = r.change!.state;
    expect(stageOf(next, settings(next), NOW)).toEqual({ kind: 'dwelling', window: '5m', readyAt: new Date(measurable) });
  });

  test.each<[string, Date]>([
    ['before the deadline', NOW],
    ['at the deadline', DEADLINE],
  ])('not observed running %s: hold (applying), nothing written', (_name, now) => {
    const r = observe(unapplied(25, { consecutiveHolds: 2 }), APPLIED_NO, now);
    expect(r).toMatchObject({ decision: 'hold', hold: 'applying', fromWeight: 25, toWeight: 25, change: null, consecutiveHolds: 2 });
    expect(r.reason).toBe(`applying: waiting until ${canaryAt(25)} (deadline ${DEADLINE.toISOString()}, 10m after ${new Date(CHANGED).toISOString()})`);
  });

  test.each([0, 25])('a canary at %i%% not observed running 1 ms after the deadline: roll back, first half (rolling-back at 0%)', weight => {
    const late = new Date(DEADLINE.getTime() + 1);
    const state = unapplied(weight, { failedChecks: 1 });
    const r = observe(state, APPLIED_NO, late);
    expect(r).toMatchObject({ decision: 'rollback', hold: null, fromWeight: weight, toWeight: 0, failedCheckCount: 1 });
    expect(r.reason).toBe(`rolling back: not observed ${canaryAt(weight)} within 10m of ${new Date(CHANGED).toISOString()}`);
    expect(r.change?.state.stable).toEqual(steady.stable);
    expect(r.change?.state.canary).toStrictEqual({ ...state.canary, phase: 'rolling-back', weight: 0, weightChangedAt: late.toISOString() });
  });

  test('a promotion not observed by its deadline is rolled back: stable keeps its own image', () => {
    const r = observe(unapplied(100, { phase: 'promoting' }), APPLIED_NO, new Date(DEADLINE.getTime() + 1));
    expect(r).toMatchObject({ decision: 'rollback', fromWeight: 100, toWeight: 0 });
    expect(r.reason).toBe(`rolling back: not observed gateway-stable runs ready with ${IMAGE} within 10m of ${new Date(CHANGED).toISOString()}`);
    expect(r.change?.state.stable).toEqual(steady.stable);
    expect(r.change?.state.canary).toMatchObject({ phase: 'rolling-back', weight: 0 });
  });

  test('a roll back not observed by its deadline is finished anyway: the canary is removed', () => {
    const r = observe(unapplied(0, { phase: 'rolling-back' }), APPLIED_NO, new Date(DEADLINE.getTime() + 1));
    expect(r).toMatchObject({ decision: 'rollback', fromWeight: 0, toWeight: 0 });
    expect(r.reason).toBe(`rolled back: not observed gateway-stable runs ready with ${steady.stable.image} and the route gives the canary 0% `
      + `within 10m of ${new Date(CHANGED).toISOString()}; the canary is removed anyway`);
    expect(r.change?.state.canary).toBeNull();
    expect(r.change?.state.stable).toEqual(steady.stable);
  });

  test.each<[string, Date]>([
    ['before the deadline', NOW],
    ['after the deadline: missing data never rolls back', new Date(DEADLINE.getTime() + 60_000)],
  ])('the observation failed %s: hold (no data), counted as a hold in a row', (_name, now) => {
    const state = unapplied(25, { consecutiveHolds: 4 });
    const r = observe(state, BROKEN, now);
    expect(r).toMatchObject({ decision: 'hold', hold: 'no-data', toWeight: 25, consecutiveHolds: 5, failedChecks: [], failedCheckCount: 0 });
    expect(r.reason).toBe(`no verdict on whether ${canaryAt(25)}: prometheus at http://p:9090: no answer within 10s`);
    expect(r.change?.state.canary).toStrictEqual({ ...state.canary, consecutiveHolds: 5 });
  });

  test('failed observations beyond the holds in a row: the fail safe rolls back, or finishes a roll back', () => {
    const progressing = observe(unapplied(25, { consecutiveHolds: 12 }), BROKEN);
    expect(progressing).toMatchObject({ decision: 'rollback', consecutiveHolds: 13, reason: expect.stringMatching(/^rolling back \(fail safe\): 13 holds in a row/) });
    expect(progressing.change?.state.canary).toMatchObject({ phase: 'rolling-back', weight: 0 });
    const rollingBack = observe(unapplied(0, { phase: 'rolling-back', consecutiveHolds: 12 }), BROKEN);
    expect(rollingBack).toMatchObject({ decision: 'rollback', reason: expect.stringMatching(/^rolled back \(fail safe\): 13 holds in a row/) });
    expect(rollingBack.change?.state.canary).toBeNull();
  });

  test('a promotion observed (stable runs the canary\'s image): stable takes the image, the traffic drains to it first', () => {
    const r = observe(unapplied(100, { phase: 'promoting', consecutiveHolds: 1 }), APPLIED_YES);
    expect(r).toMatchObject({ decision: 'promote', fromWeight: 100, toWeight: 0, hold: null, consecutiveHolds: 0 });
    expect(r.change?.state).toMatchObject({ stable: { image: IMAGE }, canary: { phase: 'draining', weight: 0, image: IMAGE } });
    expect(r.reason).toBe(`promoting: gateway-stable runs ready with ${IMAGE}; all traffic returns to stable, then the canary is removed`);
    // draining: stable with its (new) image and the route at 0 observed, the canary goes
    const draining = r.change!.state;
    expect(stageOf(draining, settings(draining), NOW)).toMatchObject({ kind: 'applying', release: { track: 'stable', image: IMAGE, canaryWeight: 0 } });
    const done = observe({ ...draining, canary: { ...draining.canary!, weightChangedAt: new Date(CHANGED).toISOString() } }, APPLIED_YES);
    expect(done).toMatchObject({ decision: 'promote', fromWeight: 0, toWeight: 0 });
    expect(done.change?.state).toMatchObject({ stable: { image: IMAGE }, canary: null });
    // draining past its deadline, or at the fail-safe limit: the promotion ends anyway (nothing to roll back to)
    const late = observe({ ...draining, canary: { ...draining.canary!, weightChangedAt: new Date(CHANGED).toISOString() } }, APPLIED_NO,
      new Date(DEADLINE.getTime() + 1));
    expect(late).toMatchObject({ decision: 'promote', change: { state: { canary: null, stable: { image: IMAGE } } } });
    const failSafe = observe({ ...draining, canary: { ...draining.canary!, consecutiveHolds: 12 } }, BROKEN);
    expect(failSafe).toMatchObject({ decision: 'promote', change: { state: { canary: null } } });
  });

  test('a roll back observed (the route at 0%): the canary is removed, stable untouched', () => {
    const r = observe(unapplied(0, { phase: 'rolling-back' }), APPLIED_YES);
    expect(r).toMatchObject({ decision: 'rollback', fromWeight: 0, toWeight: 0 });
    expect(r.change?.state).toMatchObject({ stable: steady.stable, canary: null });
    expect(r.reason).toBe(`rolled back: gateway-stable runs ready with ${steady.stable.image} and the route gives the canary 0%; the canary is removed`);
  });

  test('a healthy canary from its start to its promotion: each step observed, then measured', () => {
    let state = startCanary(steady, IMAGE, new Date(CHANGED), GATEWAY).state;
    let now = new Date(CHANGED + 60_000);
    const moves: string[] = [];
    // bounded, so that a gate that never moves on fails the expectation instead of looping
    for (let i = 0; i < 30 && state.canary; i++) {
      const s = settings(state);
      const stage = stageOf(state, s, now);
      if (stage.kind === 'dwelling') {
        now = stage.readyAt;
        continue;
      }
      const weight = state.canary.weight;
      const r = decide({
        state, settings: s, now, stage,
        ...stage.kind === 'applying' ? { observed: APPLIED_YES } : { outcome: measured({ canaryRequests: weight * 10 }) },
      });
      moves.push(`${stage.kind}: ${r.decision}${r.hold ? ` (${r.hold})` : ''} ${r.fromWeight}→${r.toWeight}`);
      state = r.change!.state;
      now = new Date(now.getTime() + 60_000);
    }
    expect(moves).toEqual([
      'applying: advance 0→10',
      'applying: hold (applied) 10→10', 'measure: advance 10→25',
      'applying: hold (applied) 25→25', 'measure: advance 25→50',
      'applying: hold (applied) 50→50', 'measure: advance 50→100',
      'applying: hold (applied) 100→100', 'measure: promote 100→100',
      // stable runs it: the traffic returns to stable (draining), then the canary is removed
      'applying: promote 100→0', 'applying: promote 0→0',
    ]);
    expect(state.stable).toEqual({ image: IMAGE });
  });
});
