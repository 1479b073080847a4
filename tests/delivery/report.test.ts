import { commitMessage, exitCodeOf } from '../../lib/delivery/cli';
import { decide, stageOf } from '../../lib/delivery/decide';
import { MeasureOutcome } from '../../lib/delivery/measure';
import { settingsOf } from '../../lib/rollout/settings';
import { gateQueries } from '../../lib/delivery/queries';
import { GateReport, describeGate, gateReport, gateSummaryMarkdown } from '../../lib/delivery/report';
import { RolloutState } from '../../lib/rollout/state';
import { observedReleaseQuery } from '../../lib/slo/cluster-state';
import { GATEWAY, fixtureState } from '../rollout/fixtures';

// the fixture: gateway's canary 1.1.0 at 25 %, one failed check so far, p95 SLO 250 ms; its step committed at 10:20; the
// canary's p95 above the SLO's bound but within 1.5 × stable's
const fixture: RolloutState = fixtureState('canary');
// its step observed applied at 10:21, so the window ending at 11:00 is due
const state: RolloutState = { ...fixture, canary: { ...fixture.canary!, appliedAt: '2026-11-01T10:21:00.000Z' } };
const settings = settingsOf(state, GATEWAY);
const NOW = new Date('2026-11-01T11:00:00.000Z');
const queries = gateQueries({ metrics: 'istio', service: 'gateway', namespace: 'apps', window: '5m', p99: false, baseline: true });
const outcome: MeasureOutcome = {
  ok: true,
  measurements: { requests: 1000, canaryRequests: 250, successRatio: 0.99, p95Ms: 260.5, p99Ms: null },
  baseline: { requests: 750, successRatio: 0.995, p95Ms: 200, p99Ms: null },
  samples: { stableRequests: 750.2, canaryRequests: 250.7, canaryErrors: 2.5, canaryCallerErrors: 2.5, canaryP95: 260.48 },
};
const result = decide({ state, settings, now: NOW, stage: stageOf(state, settings, NOW), outcome });

function report(overrides: Partial<GateReport> = {}): GateReport {
  return {
    ...gateReport({
      service: 'gateway', env: 'prod', image: state.canary!.image, result, settings, queries, samples: outcome.samples,
      window: { length: '5m', start: '2026-11-01T10:55:00.000Z', end: NOW.toISOString() }, observation: null,
      outcome: { dryRun: false, changed: ['rollout/prod/gateway.yaml'], commit: 'abc1234' },
    }),
    ...overrides,
  };
}

/** The report of a run at 10:25, the fixture's step not yet observed applied: the observation, no window, no queries. */
function applyingReport(applied: boolean | null): GateReport {
  const now = new Date('2026-11-01T10:25:00.000Z');
  const stage = stageOf(fixture, settings, now);
  if (stage.kind !== 'applying') throw new Error(`expected the fixture to be applying, got ${stage.kind}`);
  const query = observedReleaseQuery({ service: 'gateway', namespace: 'apps', ...stage.release });
  const observed = applied === null ? { ok: false as const, error: 'prometheus at http://p:9090: no answer within 10s' } : { ok: true as const, applied };
  return gateReport({
    service: 'gateway', env: 'prod', image: fixture.canary!.image, result: decide({ state: fixture, settings, now, stage, observed }), settings,
    queries: {}, samples: {}, window: null, observation: { query, applied }, outcome: { dryRun: true, changed: [], commit: null },
  });
}

describe('gate reports', () => {
  test('the JSON report: decision, numbers, limits, window, queries', () => {
    expect(report()).toMatchObject({
      service: 'gateway', env: 'prod', decision: 'hold', hold: 'failed-check', fromWeight: 25, toWeight: 25,
      reason: 'failed check 2 of 3: p95Ms: 260.5 > 250', failedChecks: ['p95Ms: 260.5 > 250'], failedCheckCount: 2, consecutiveHolds: 1,
      measurements: outcome.measurements, baseline: outcome.baseline, queries, samples: outcome.samples,
      thresholds: { successRatio: 0.95, p95LatencyMs: 250, p99LatencyMs: null, minRequests: 100, maxErrorRatioIncrease: 0.02, maxLatencyRatio: 1.5 },
    });
  });

  test('the text: one line with the decision, the numbers, what was written', () => {
    expect(describeGate(report())).toBe([
      'prod/gateway: hold 25% → 25%: failed check 2 of 3: p95Ms: 260.5 > 250',
      '  canary: requests 250 of 1000, success ratio 0.99, p95 260.5 ms, p99 –',
      '  stable: requests 750, success ratio 0.995, p95 200 ms, p99 –',
      '  failed: p95Ms: 260.5 > 250',
      '  failed checks 2/3, holds in a row 1/12',
      '  wrote rollout/prod/gateway.yaml; committed abc1234',
    ].join('\n'));
  });

  test('a dry run also prints the window and each query with its answer', () => {
    const text = describeGate(report({ dryRun: true, changed: [], commit: null }));
    expect(text).toContain('  window 5m: 2026-11-01T10:55:00.000Z .. 2026-11-01T11:00:00.000Z\n');
    expect(text).toContain(`  canaryRequests = 250.7\n    ${queries.canaryRequests}\n`);
    expect(text).toContain(`  stableErrors = not run\n    ${queries.stableErrors}\n`);
    expect(text.endsWith('  dry run: nothing changed')).toBe(true);
  });

  test('while a step is applying: the observation query and its answer in the JSON, null otherwise', () => {
    const r = applyingReport(false);
    const json = JSON.parse(JSON.stringify(r));
    expect(json.observation).toEqual({ query: r.observation!.query, applied: false });
    expect(json.observation.query).toContain('subset="canary"} == 25');
    expect(json).toMatchObject({ decision: 'hold', hold: 'applying', window: null, queries: {} });
    expect(JSON.parse(JSON.stringify(applyingReport(null))).observation.applied).toBeNull();
    expect(JSON.parse(JSON.stringify(report())).observation).toBeNull();
  });

  test('a dry run while a step is applying prints the answer, then the observation query indented', () => {
    const r = applyingReport(true);
    const lines = describeGate(r).split('\n');
    expect(lines[0]).toBe(`prod/gateway: hold 25% → 25%: applied: gateway-canary runs ready with ${fixture.canary!.image} and the route gives the canary 25%; `
      + 'measurable from 2026-11-01T10:31:00.000Z');
    const at = lines.indexOf('  applied = true');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, -1)).toEqual(r.observation!.query.split('\n').map(line => `    ${line}`));
    expect(lines[lines.length - 1]).toBe('  dry run: nothing changed');
    expect(describeGate(applyingReport(null))).toContain('\n  applied = unknown\n');
    // without --dry-run, no query is printed
    expect(describeGate({ ...r, dryRun: false })).not.toContain('applied =');
  });

  test('the Markdown summary: a table of canary, stable and limits', () => {
    expect(gateSummaryMarkdown(report())).toBe([
      '### canary prod/gateway: hold 25% → 25%',
      '',
      'failed check 2 of 3: p95Ms: 260.5 > 250',
      '',
      'Window 5m, 2026-11-01T10:55:00.000Z to 2026-11-01T11:00:00.000Z: 1000 requests to stable and canary.',
      '',
      '|  | canary | stable | limit |',
      '|---|---:|---:|---|',
      '| requests | 250 | 750 | ≥ 100 together; canary ≥ its weight × 0.5 |',
      '| success ratio | 0.99 | 0.995 | ≥ 0.95; error ratio ≤ stable\'s + 0.02 |',
      '| p95 latency | 260.5 ms | 200 ms | ≤ 250 ms; ≤ stable\'s × 1.5 |',
      '| p99 latency | – | – | not checked |',
      '',
      'Failed checks:',
      '',
      '- p95Ms: 260.5 > 250',
      '',
      'Failed checks in this run: 2 of 3; holds in a row: 1 (roll back beyond 12).',
      '',
      'Commit: `abc1234`',
      '',
      '', // a blank line before the next service's summary
    ].join('\n'));
  });

  test('the commit message: decision, reason, numbers, counters against their limits', () => {
    expect(commitMessage('prod', result.change!, settings.analysis)).toBe([
      'canary(gateway, prod): hold registry.example.com/obs-canary-gateway:1.1.0 25% → 25%',
      '',
      'failed check 2 of 3: p95Ms: 260.5 > 250',
      '',
      'requests: 1000', 'canaryRequests: 250', 'successRatio: 0.99', 'p95Ms: 260.5', 'p99Ms: unknown',
      '',
      'stable requests: 750', 'stable successRatio: 0.995', 'stable p95Ms: 200', 'stable p99Ms: unknown',
      '',
      'failed checks:', '- p95Ms: 260.5 > 250',
      '',
      'failed checks in this run: 2 of 3',
      'holds in a row: 1 (roll back beyond 12)',
      '',
    ].join('\n'));
  });

  test.each([['advance', 0], ['promote', 0], ['none', 0], ['hold', 3], ['rollback', 4]] as const)('exit code of %s: %d', (decision, code) => {
    expect(exitCodeOf(decision)).toBe(code);
  });
});
