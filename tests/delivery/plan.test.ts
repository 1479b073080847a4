import { DELIVERY_DEFAULTS } from '../../lib/config/delivery';
import { UsageError, appendHistory, describeStatus, endCanaryByHand, settingsOf, startCanary, statusOf, withOverrides } from '../../lib/delivery/plan';
import { HistoryEntry } from '../../lib/delivery/state';
import { fixtureRollouts } from '../support/manifest';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const steady = fixtureRollouts('steady').gateway;
const inFlight = fixtureRollouts('canary').gateway;

describe('startCanary', () => {
  test('puts the image at the first step, with fresh counters and a start entry', () => {
    const { state, entry } = startCanary(steady, 'registry.example.com/obs-canary-gateway:2.0.0', NOW);
    expect(state.canary).toEqual({
      image: 'registry.example.com/obs-canary-gateway:2.0.0', weight: 10, startedAt: '2026-11-22T12:00:00.000Z',
      weightChangedAt: '2026-11-22T12:00:00.000Z', failedChecks: 0, consecutiveHolds: 0,
    });
    expect(state.stable).toEqual(steady.stable);
    expect(entry).toEqual({
      at: '2026-11-22T12:00:00.000Z', decision: 'start', by: 'cli', image: 'registry.example.com/obs-canary-gateway:2.0.0',
      fromWeight: 0, toWeight: 10, reason: 'canary registry.example.com/obs-canary-gateway:2.0.0 started at 10%',
    });
    expect(state.history).toEqual([entry]);
  });

  test('uses the service\'s own first step', () => {
    expect(startCanary({ ...steady, steps: [5, 100] }, 'r/x:2', NOW).state.canary?.weight).toBe(5);
  });

  test('refuses while a canary is in flight (exit code 2, code in-flight)', () => {
    expect(() => startCanary(inFlight, 'r/x:2', NOW)).toThrow(new UsageError(
      'a canary of gateway is already in flight (registry.example.com/obs-canary-gateway:1.1.0 at 25%); promote or roll it back before starting another'));
    try {
      startCanary(inFlight, 'r/x:2', NOW);
    } catch (error) {
      expect((error as UsageError).code).toBe('in-flight');
    }
    expect.assertions(2);
  });

  test('refuses the stable image and unpinned images', () => {
    expect(() => startCanary(steady, steady.stable.image, NOW)).toThrow('is what gateway already runs as stable');
    expect(() => startCanary(steady, 'r/x:latest', NOW)).toThrow('--image must not use the latest tag, got "r/x:latest"');
  });
});

describe('settingsOf', () => {
  test('defaults, overridden field by field by the state file', () => {
    expect(settingsOf(steady).slo).toEqual(DELIVERY_DEFAULTS.slo);
    expect(settingsOf(inFlight).slo).toEqual({ ...DELIVERY_DEFAULTS.slo, p95LatencyMs: 250 });
    expect(settingsOf({ ...steady, analysis: { window: '10m' } }).analysis).toEqual({ ...DELIVERY_DEFAULTS.analysis, window: '10m' });
  });
});

describe('withOverrides', () => {
  test('one run\'s flags override the effective analysis settings; unset flags change nothing', () => {
    const base = settingsOf(inFlight);
    expect(withOverrides(base, {})).toEqual(base);
    expect(withOverrides(base, { window: '30s', minRequests: 0, settle: '0s', queryTimeout: '2s' }).analysis)
      .toEqual({ ...base.analysis, window: '30s', minRequests: 0, settle: '0s', queryTimeout: '2s' });
    expect(withOverrides(base, { window: undefined }).analysis.window).toBe('5m');
  });
});

describe('endCanaryByHand', () => {
  const NOW2 = new Date('2026-11-22T13:00:00.000Z');

  test('promote: stable runs the canary\'s image, the canary is removed, the history says who and why', () => {
    const { state, entry } = endCanaryByHand(inFlight, 'promote', NOW2, 'looks good in Grafana');
    expect(state.stable).toEqual({ image: 'registry.example.com/obs-canary-gateway:1.1.0' });
    expect(state.canary).toBeNull();
    expect(entry).toEqual({
      at: '2026-11-22T13:00:00.000Z', decision: 'promote', by: 'cli', image: 'registry.example.com/obs-canary-gateway:1.1.0', fromWeight: 25, toWeight: 0,
      reason: 'promoted by hand: stable now runs registry.example.com/obs-canary-gateway:1.1.0 (looks good in Grafana)',
    });
    expect(state.history[state.history.length - 1]).toEqual(entry);
  });

  test('rollback: the canary is removed, stable untouched', () => {
    const { state, entry } = endCanaryByHand(inFlight, 'rollback', NOW2);
    expect(state.stable).toEqual(inFlight.stable);
    expect(state.canary).toBeNull();
    expect(entry).toMatchObject({ decision: 'rollback', by: 'cli', fromWeight: 25, toWeight: 0,
      reason: 'rolled back by hand: stable registry.example.com/obs-canary-gateway:1.0.0 serves all traffic again' });
  });

  test.each(['promote', 'rollback'] as const)('%s refuses when no canary is in flight (exit code 2, code not-in-flight)', decision => {
    expect(() => endCanaryByHand(steady, decision, NOW2)).toThrow(expect.objectContaining({
      code: 'not-in-flight', message: `no canary of gateway is in flight; nothing to ${decision === 'promote' ? 'promote' : 'roll back'}`,
    }));
  });
});

describe('appendHistory', () => {
  const hold = (at: string, reason = 'too little traffic'): HistoryEntry => ({
    at, decision: 'hold', by: 'gate', image: 'r/x:2', fromWeight: 10, toWeight: 10, reason,
  });

  test('merges a repeated hold into one entry with a count and the first time', () => {
    const once = appendHistory([], hold('2026-01-01T00:00:00Z'));
    const twice = appendHistory(once, hold('2026-01-01T00:05:00Z'));
    const thrice = appendHistory(twice, hold('2026-01-01T00:10:00Z'));
    expect(thrice).toEqual([{ ...hold('2026-01-01T00:10:00Z'), count: 3, firstAt: '2026-01-01T00:00:00Z' }]);
  });

  test('keeps a different hold, or any other decision, as a new entry', () => {
    const h = appendHistory(appendHistory([], hold('2026-01-01T00:00:00Z')), hold('2026-01-01T00:05:00Z', 'dwelling'));
    expect(h).toHaveLength(2);
  });

  test('never merges failed checks: each keeps its own numbers', () => {
    const failed = (at: string): HistoryEntry => ({ ...hold(at, 'failed check'), failedChecks: ['p95Ms: 400 > 300'] });
    expect(appendHistory(appendHistory([], failed('2026-01-01T00:00:00Z')), failed('2026-01-01T00:05:00Z'))).toHaveLength(2);
  });

  test('keeps at most the limit, dropping the oldest', () => {
    let h: HistoryEntry[] = [];
    for (let i = 0; i < 5; i++) h = appendHistory(h, { ...hold(`2026-01-01T00:0${i}:00Z`), decision: 'advance', reason: `${i}` }, 3);
    expect(h.map(e => e.reason)).toEqual(['2', '3', '4']);
  });
});

describe('statusOf', () => {
  test('a service without a canary', () => {
    const s = statusOf('local', steady);
    expect(s.canary).toBeNull();
    expect(describeStatus(s)).toBe('local/gateway: stable registry.example.com/obs-canary-gateway:1.0.0; no canary in flight');
  });

  test('a canary in flight: weights, step, next move, counters against their limits', () => {
    const s = statusOf('prod', inFlight);
    expect(s.canary).toMatchObject({ weight: 25, stableWeight: 75, step: 2, nextWeight: 50, failedChecks: 1, maxFailedChecks: 3 });
    expect(s.lastDecision?.decision).toBe('advance');
    expect(describeStatus(s)).toContain('canary registry.example.com/obs-canary-gateway:1.1.0 at 25% (step 2 of 4, next: 50%)');
    expect(statusOf('prod', { ...inFlight, canary: { ...inFlight.canary!, weight: 100 } }).canary?.nextWeight).toBeNull();
  });
});
