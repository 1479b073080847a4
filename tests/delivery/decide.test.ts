import { CLOCK_SKEW_TOLERANCE_MS, DecideInput, GateResult, decide, stageOf } from '../../lib/delivery/decide';
import { MeasureOutcome } from '../../lib/delivery/measure';
import { AnalysisOverrides, UsageError, withOverrides } from '../../lib/delivery/plan';
import { EffectiveSettings, settingsOf } from '../../lib/rollout/settings';
import { BaselineMeasurements, Measurements, RolloutState, SloSettings } from '../../lib/rollout/state';
import { GATEWAY, fixtureState } from '../rollout/fixtures';

// defaults: window 5m, settle 1m, minRequests 100, canaryTrafficFactor 0.5, maxFailedChecks 3, maxConsecutiveHolds 12,
// baseline on with a 0.02 margin, success ratio ≥ 0.95, p95 ≤ 300 ms, p99 unchecked
const CHANGED = Date.parse('2026-11-22T12:00:00.000Z');
const READY = new Date(CHANGED + 6 * 60_000);
const IMAGE = 'registry.example.com/obs-canary-gateway:2.0.0';
const steady = fixtureState('steady');

function inFlight(weight = 10, counters: { failedChecks?: number; consecutiveHolds?: number } = {}): RolloutState {
  return {
    ...steady,
    canary: {
      image: IMAGE, weight, startedAt: new Date(CHANGED - 3_600_000).toISOString(), weightChangedAt: new Date(CHANGED).toISOString(),
      failedChecks: counters.failedChecks ?? 0, consecutiveHolds: counters.consecutiveHolds ?? 0,
    },
  };
}

type More = { slo?: Partial<SloSettings>; baseline?: boolean };

function settings(state: RolloutState, overrides: AnalysisOverrides = {}, more: More = {}): EffectiveSettings {
  const s = withOverrides(settingsOf(state, GATEWAY), overrides);
  return {
    ...s,
    slo: { ...s.slo, ...more.slo },
    analysis: more.baseline === false ? { ...s.analysis, baseline: { ...s.analysis.baseline, enabled: false } } : s.analysis,
  };
}

const HEALTHY: Measurements = { requests: 1000, canaryRequests: 100, successRatio: 0.99, p95Ms: 120, p99Ms: 200 };
const STABLE: BaselineMeasurements = { requests: 900, successRatio: 0.99, p95Ms: 110, p99Ms: 180 };
const measured = (m: Partial<Measurements> = {}, b: BaselineMeasurements | null = STABLE): MeasureOutcome =>
  ({ ok: true, measurements: { ...HEALTHY, ...m }, baseline: b, samples: {} });
const failedQuery: MeasureOutcome = { ok: false, error: 'canaryRequests: prometheus at http://p:9090: no answer within 10s', samples: {} };

function run(input: Partial<DecideInput> & { state?: RolloutState } = {}): GateResult {
  const state = input.state ?? inFlight();
  const s = input.settings ?? settings(state);
  const now = input.now ?? READY;
  return decide({ state, settings: s, now, stage: stageOf(state, s, now), outcome: 'outcome' in input ? input.outcome : measured() });
}

describe('decide: what happens when', () => {
  test.each<[string, Partial<DecideInput>, Partial<GateResult>]>([
    ['no canary is in flight: none', { state: steady, outcome: undefined }, { decision: 'none', fromWeight: 0, toWeight: 0, change: null }],
    ['the window would start 1 ms before weight change + settle: hold (dwelling), nothing written',
      { now: new Date(READY.getTime() - 1), outcome: undefined },
      { decision: 'hold', hold: 'dwelling', toWeight: 10, change: null, consecutiveHolds: 0 }],
    ['the window starts exactly at weight change + settle: measured', {}, { decision: 'advance', toWeight: 25 }],
    ['--settle 0s makes a 5m old change measurable', { settings: settings(inFlight(), { settle: '0s' }), now: new Date(CHANGED + 5 * 60_000) },
      { decision: 'advance' }],
    ['--window 10m moves the start back: dwelling', { settings: settings(inFlight(), { window: '10m' }), outcome: undefined },
      { decision: 'hold', hold: 'dwelling', change: null }],
    ['a query failed: hold', { outcome: failedQuery },
      { decision: 'hold', hold: 'no-data', reason: 'no verdict: canaryRequests: prometheus at http://p:9090: no answer within 10s', measurements: null,
        failedChecks: [], failedCheckCount: 0, consecutiveHolds: 1 }],
    ['a query failed at 2 of 3 failed checks: hold, never a roll back on missing data', { state: inFlight(10, { failedChecks: 2 }), outcome: failedQuery },
      { decision: 'hold', hold: 'no-data', failedChecks: [], failedCheckCount: 2 }],
    ['99 requests, minimum 100: hold', { outcome: measured({ requests: 99 }) },
      { decision: 'hold', hold: 'too-little-traffic', reason: 'too little traffic: fewer than 100 requests (stable and canary) in the 5m window', consecutiveHolds: 1 }],
    ['exactly 100 requests: judged', { outcome: measured({ requests: 100, canaryRequests: 10 }) }, { decision: 'advance' }],
    ['--min-requests 50 for this run: 60 requests judged', { settings: settings(inFlight(), { minRequests: 50 }), outcome: measured({ requests: 60, canaryRequests: 6 }) },
      { decision: 'advance' }],
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
    ['p95 300.1 ms > 300', { outcome: measured({ p95Ms: 300.1 }) }, ['p95Ms']],
    ['p95 300 ms', { outcome: measured({ p95Ms: 300 }) }, []],
    ['p99 5000 ms without a p99 SLO', { outcome: measured({ p99Ms: 5000 }) }, []],
    ['p99 500.1 ms > 500', { outcome: measured({ p99Ms: 500.1 }), settings: settings(inFlight(), {}, { slo: { p99LatencyMs: 500 } }) }, ['p99Ms']],
    ['p99 500 ms', { outcome: measured({ p99Ms: 500 }), settings: settings(inFlight(), {}, { slo: { p99LatencyMs: 500 } }) }, []],
    ['error ratio 0.05 vs stable 0.03: +0.02, the margin', { outcome: measured({ successRatio: 0.95 }, { ...STABLE, successRatio: 0.97 }) }, []],
    ['error ratio 0.05 vs stable 0.0299: +0.0201', { outcome: measured({ successRatio: 0.95 }, { ...STABLE, successRatio: 0.9701 }) }, ['baselineErrorRatio']],
    ['the same numbers with the baseline off', { outcome: measured({ successRatio: 0.95 }, null), settings: settings(inFlight(), {}, { baseline: false }) }, []],
    ['stable served nothing: no comparison', { outcome: measured({ successRatio: 0.95 }, { requests: 0, successRatio: null, p95Ms: null, p99Ms: null }) }, []],
    ['everything at once', { outcome: measured({ canaryRequests: 10, successRatio: 0.5, p95Ms: 900 }) },
      ['canaryTraffic', 'successRatio', 'p95Ms', 'baselineErrorRatio']],
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

  test('an unknown number does not hide a failed check', () => {
    expect(run({ outcome: measured({ successRatio: 0.5, p95Ms: null }) })).toMatchObject({ hold: 'failed-check' });
  });
});

describe('decide: counters, roll back and fail safe', () => {
  test.each<[string, RolloutState, MeasureOutcome, Partial<GateResult>]>([
    ['the 2nd failed check of 3: hold', inFlight(10, { failedChecks: 1 }), measured({ successRatio: 0.5 }),
      { decision: 'hold', failedCheckCount: 2, consecutiveHolds: 1 }],
    ['the 3rd failed check of 3: roll back', inFlight(10, { failedChecks: 2 }), measured({ successRatio: 0.5 }),
      { decision: 'rollback', hold: null, fromWeight: 10, toWeight: 0, failedCheckCount: 3, consecutiveHolds: 1, reason: 'rolled back: failed check 3 of 3: successRatio: 0.5 < 0.95; baselineErrorRatio: canary 0.5 − stable 0.01 = 0.49 > 0.02' }],
    ['failed checks count across steps and passes: 2 earlier, at 50%', inFlight(50, { failedChecks: 2 }), measured({ canaryRequests: 100 }),
      { decision: 'rollback', fromWeight: 50 }],
    ['the 12th hold in a row of 12: hold', inFlight(10, { consecutiveHolds: 11 }), failedQuery, { decision: 'hold', consecutiveHolds: 12 }],
    ['the 13th hold in a row, beyond 12: roll back (fail safe)', inFlight(10, { consecutiveHolds: 12 }), measured({ requests: 3 }),
      { decision: 'rollback', failedCheckCount: 0, consecutiveHolds: 13, reason: 'rolled back (fail safe): 13 holds in a row, more than 12; last: too little traffic: fewer than 100 requests (stable and canary) in the 5m window' }],
    ['a failed check is a hold in a row too', inFlight(10, { consecutiveHolds: 12 }), measured({ successRatio: 0.5 }),
      { decision: 'rollback', reason: expect.stringMatching(/^rolled back \(fail safe\): 13 holds in a row, more than 12; last: failed check 1 of 3/) }],
    ['a pass after holds: advance, holds reset, failed checks kept', inFlight(10, { failedChecks: 1, consecutiveHolds: 5 }), measured(),
      { decision: 'advance', failedCheckCount: 1, consecutiveHolds: 0 }],
  ])('%s', (_name, state, outcome, expected) => {
    expect(run({ state, outcome })).toMatchObject(expected);
  });

  test('a roll back removes the canary and leaves stable as it was, with the numbers in the history', () => {
    const r = run({ state: inFlight(25, { failedChecks: 2 }), outcome: measured({ canaryRequests: 300, successRatio: 0.5 }) });
    expect(r.change?.state.canary).toBeNull();
    expect(r.change?.state.stable).toEqual(steady.stable);
    expect(r.change?.entry).toMatchObject({
      decision: 'rollback', by: 'gate', image: IMAGE, fromWeight: 25, toWeight: 0, at: READY.toISOString(),
      measurements: { ...HEALTHY, canaryRequests: 300, successRatio: 0.5 }, baseline: STABLE, failedChecks: ['successRatio: 0.5 < 0.95', expect.stringMatching(/^baselineErrorRatio/)],
    });
  });

  test('a hold writes only counters and history', () => {
    const state = inFlight(25, { failedChecks: 1, consecutiveHolds: 2 });
    const r = run({ state, outcome: measured({ canaryRequests: 300, p95Ms: 301 }) });
    expect(r.change?.state).toEqual({
      ...state,
      canary: { ...state.canary, failedChecks: 2, consecutiveHolds: 3 },
      history: [{
        at: READY.toISOString(), decision: 'hold', by: 'gate', image: IMAGE, fromWeight: 25, toWeight: 25,
        reason: 'failed check 2 of 3: p95Ms: 301 > 300', measurements: { ...HEALTHY, canaryRequests: 300, p95Ms: 301 }, baseline: STABLE, failedChecks: ['p95Ms: 301 > 300'],
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
    for (let i = 0; i < 3; i++) state = run({ state, outcome: measured({ requests: 5 }), now: new Date(READY.getTime() + i * 60_000) }).change!.state;
    expect(state.history).toEqual([expect.objectContaining({ decision: 'hold', count: 3, firstAt: READY.toISOString() })]);
    expect(state.canary?.consecutiveHolds).toBe(3);
    for (let i = 0; i < 2; i++) state = run({ state, outcome: measured({ successRatio: 0.5 }) }).change!.state;
    expect(state.history.map(h => h.count ?? 1)).toEqual([3, 1, 1]);
  });
});

describe('decide: advance and promote', () => {
  test('the next step: weight, time of the change, counters, and the numbers in the history', () => {
    const state = inFlight(10, { failedChecks: 1, consecutiveHolds: 3 });
    const r = run({ state });
    expect(r).toMatchObject({ decision: 'advance', fromWeight: 10, toWeight: 25, hold: null, failedChecks: [], measurements: HEALTHY, baseline: STABLE });
    expect(r.change?.state.canary).toEqual({
      ...state.canary, weight: 25, weightChangedAt: READY.toISOString(), failedChecks: 1, consecutiveHolds: 0,
    });
    expect(r.change?.entry).toMatchObject({ decision: 'advance', by: 'gate', fromWeight: 10, toWeight: 25, measurements: HEALTHY, baseline: STABLE });
    expect(r.reason).toBe('advanced to 25%: SLO met over 5m: canary served 100 of 1000 requests (≥ 50), success ratio 0.99 ≥ 0.95, '
      + 'p95 120 ms ≤ 300, error ratio canary 0.01 − stable 0.01 = 0 ≤ 0.02 over stable');
  });

  test('the service\'s own steps', () => {
    const state: RolloutState = { ...inFlight(5), steps: [5, 20, 100] };
    expect(run({ state, outcome: measured({ canaryRequests: 25 }) })).toMatchObject({ decision: 'advance', fromWeight: 5, toWeight: 20 });
  });

  test('after the last step: promote; stable runs the canary\'s image, the canary is removed', () => {
    const noStable = { requests: 0, successRatio: null, p95Ms: null, p99Ms: null };
    const r = run({ state: inFlight(100), outcome: measured({ canaryRequests: 1000 }, noStable) });
    expect(r).toMatchObject({ decision: 'promote', fromWeight: 100, toWeight: 0, failedCheckCount: 0, consecutiveHolds: 0 });
    expect(r.change?.state.stable).toEqual({ image: IMAGE });
    expect(r.change?.state.canary).toBeNull();
    expect(r.reason).toMatch(/^promoted: stable now runs registry\.example\.com\/obs-canary-gateway:2\.0\.0; SLO met over 5m: /);
    expect(r.reason).toMatch(/, baseline not compared \(stable served no requests\)$/);
  });
});

describe('stageOf', () => {
  const state = inFlight();
  test('none, dwelling with the time it ends, measure with the window start', () => {
    expect(stageOf(steady, settingsOf(steady, GATEWAY), READY)).toEqual({ kind: 'none' });
    expect(stageOf(state, settingsOf(state, GATEWAY), new Date(CHANGED))).toEqual({ kind: 'dwelling', window: '5m', readyAt: READY });
    expect(stageOf(state, settingsOf(state, GATEWAY), READY)).toEqual({ kind: 'measure', window: '5m', windowStart: new Date(CHANGED + 60_000) });
  });

  test('the window as the queries and the reasons write it: the largest whole unit', () => {
    const at = (window: string) => stageOf(state, settings(state, { window, settle: '0s' }), new Date(CHANGED + 8 * 86_400_000));
    expect([at('300s'), at('1h30m'), at('1w'), at('1500ms')].map(s => s.kind !== 'none' && s.window)).toEqual(['5m', '90m', '7d', '1500ms']);
    expect(run({ settings: settings(inFlight(), { window: '300s' }), now: READY, outcome: measured({ requests: 99 }) }).reason)
      .toBe('too little traffic: fewer than 100 requests (stable and canary) in the 5m window');
  });

  test('a weight change up to the clock skew tolerance in the future dwells; further is a configuration error', () => {
    expect(stageOf(state, settingsOf(state, GATEWAY), new Date(CHANGED - CLOCK_SKEW_TOLERANCE_MS)).kind).toBe('dwelling');
    const future = () => stageOf(state, settingsOf(state, GATEWAY), new Date(CHANGED - CLOCK_SKEW_TOLERANCE_MS - 1));
    expect(future).toThrow(UsageError);
    expect(future).toThrow("'canary.weightChangedAt' of gateway is 2026-11-22T12:00:00.000Z, in the future (now 2026-11-22T11:54:59.999Z); "
      + 'fix the clock of this machine or the state file');
  });

  test('decide refuses to judge a due window without its measurement', () => {
    expect(() => run({ outcome: undefined })).toThrow('decide: the 5m window of gateway is due; measure it first');
  });
});
