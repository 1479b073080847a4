import { commitMessage, exitCodeOf } from '../../lib/delivery/cli';
import { decide, stageOf } from '../../lib/delivery/decide';
import { MeasureOutcome } from '../../lib/delivery/measure';
import { settingsOf } from '../../lib/rollout/settings';
import { gateQueries } from '../../lib/delivery/queries';
import { CHART_DECISIONS, GateReport, canaryRunOf, describeGate, gateReport, gateSummaryMarkdown } from '../../lib/delivery/report';
import { HistoryEntry, RolloutState } from '../../lib/rollout/state';
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
      '| requests | 250 | 750 | ≥ 100 together; canary ≥ its weight × 0.5 and ≥ 20 |',
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

  test('the Markdown summary without a history has no chart', () => {
    expect(gateSummaryMarkdown(report(), [])).not.toContain('```mermaid');
    expect(gateSummaryMarkdown(report())).toBe(gateSummaryMarkdown(report(), []));
  });

  describe('charts of the canary run in the summary', () => {
    // the history this run leaves: the fixture's start (10:00) and advance (10:20), then this decision's hold (11:00)
    const history = result.change!.state.history;

    test('two well-formed xychart-beta blocks after the table: the weight per decision, the canary\'s p95 per measured decision', () => {
      const markdown = gateSummaryMarkdown(report(), history);
      const charts = chartsOf(markdown);
      expect(charts).toHaveLength(2);
      for (const chart of charts) {
        expect(chart.source.startsWith('```mermaid\nxychart-beta\n')).toBe(true);
        expect(chart.series.length).toBeGreaterThan(0);
        for (const values of chart.series) expect(values).toHaveLength(chart.labels.length);
        expect(chart.source).not.toMatch(/NaN|null|undefined|Infinity/);
        expect(new Set(chart.labels).size).toBe(chart.labels.length);
        for (const values of chart.series) for (const v of values) expect(v).toBeLessThanOrEqual(chart.max);
      }
      const [weight, p95] = charts;
      expect(weight).toMatchObject({ labels: ['#1 10:00', '#2 10:20', '#3 11:00'], yAxis: 'weight (%)', max: 100, series: [[10, 25, 25]] });
      expect(weight.source).toContain('\n  bar [10, 25, 25]\n');
      // only the hold measured a p95; the flat line is the SLO's bound
      expect(p95).toMatchObject({ labels: ['#3 11:00'], yAxis: 'p95 (ms)', series: [[260.5], [250]] });
      expect(p95.source).toContain('\n  bar [260.5]\n  line [250]\n');
      expect(p95.max).toBeGreaterThanOrEqual(260.5);
      expect(markdown.indexOf('```mermaid')).toBeGreaterThan(markdown.indexOf('| p99 latency |'));
      expect(markdown.indexOf('```mermaid')).toBeLessThan(markdown.indexOf('Failed checks:'));
    });

    test('the run starts at the last start of the canary\'s image: earlier runs and releases are left out', () => {
      const entry = (at: string, image: string, decision: HistoryEntry['decision'], toWeight: number, p95Ms?: number): HistoryEntry => ({
        at, image, decision, by: 'gate', fromWeight: 0, toWeight, reason: decision,
        ...(p95Ms === undefined ? {} : { measurements: { requests: 500, canaryRequests: 100, successRatio: 1, p95Ms, p99Ms: null } }),
      });
      const image = state.canary!.image;
      const older: HistoryEntry[] = [
        entry('2026-10-30T09:00:00.000Z', 'registry.example.com/obs-canary-gateway:1.0.9', 'start', 0),
        entry('2026-10-30T09:10:00.000Z', 'registry.example.com/obs-canary-gateway:1.0.9', 'rollback', 0, 900),
        // the same image released before (a configuration change), then started again
        entry('2026-10-31T08:00:00.000Z', image, 'start', 0),
        entry('2026-10-31T08:30:00.000Z', image, 'promote', 0),
      ];
      expect(canaryRunOf([...older, ...history], image)).toEqual(history);
      expect(canaryRunOf(older.slice(0, 2), image)).toEqual([]);
      // a history that lost the start to its limit: as far back as it goes
      expect(canaryRunOf(history.slice(1), image)).toEqual(history.slice(1));
      const [weight] = chartsOf(gateSummaryMarkdown(report(), [...older, ...history]));
      expect(weight.labels).toEqual(['#1 10:00', '#2 10:20', '#3 11:00']);
    });

    test('decisions with an unknown p95 are left out of its chart; without any, only the weight chart', () => {
      const unknown = history.map(e => (e.measurements ? { ...e, measurements: { ...e.measurements, p95Ms: null } } : e));
      const charts = chartsOf(gateSummaryMarkdown(report(), unknown));
      expect(charts.map(c => c.yAxis)).toEqual(['weight (%)']);
    });

    test(`at most the latest ${CHART_DECISIONS} decisions, numbered over the whole run`, () => {
      const holds: HistoryEntry[] = Array.from({ length: 40 }, (_, i) => ({
        ...history[2], at: new Date(Date.parse('2026-11-01T11:00:00.000Z') + i * 60_000).toISOString(),
        measurements: { ...history[2].measurements!, p95Ms: 100 + i * 10.125 },
      }));
      const [weight, p95] = chartsOf(gateSummaryMarkdown(report(), [...history, ...holds]));
      expect(weight.labels).toHaveLength(CHART_DECISIONS);
      expect(weight.labels[CHART_DECISIONS - 1]).toBe('#43 11:39');
      expect(weight.title).toContain(`the latest ${CHART_DECISIONS}`);
      expect(p95.series[0]).toHaveLength(CHART_DECISIONS);
      // rounded to 2 decimals, never in exponent notation
      expect(p95.series[0][CHART_DECISIONS - 1]).toBe(494.88);
    });

    test('nothing in flight: no chart', () => {
      expect(gateSummaryMarkdown(report({ decision: 'none', image: null }), history)).not.toContain('```mermaid');
    });
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

/** A Mermaid xychart of a summary, read back as its grammar reads it. */
interface Chart {
  readonly source: string;
  readonly title: string;
  readonly labels: string[];
  readonly yAxis: string;
  readonly max: number;
  readonly series: number[][];
}

// the number token of Mermaid's xychart grammar: a plain decimal, no exponent
const NUMBER = '[+-]?(?:\\d+(?:\\.\\d+)?|\\.\\d+)';
const QUOTED = '"([^"]*)"';

/** The ```mermaid blocks of a Markdown text, each checked line by line against the xychart-beta syntax. */
function chartsOf(markdown: string): Chart[] {
  return [...markdown.matchAll(/```mermaid\n([\s\S]*?)```/g)].map(([source, body]) => {
    const lines = body.trimEnd().split('\n').map(line => line.trim());
    expect(lines[0]).toBe('xychart-beta');
    const title = new RegExp(`^title ${QUOTED}$`).exec(lines[1]);
    const xAxis = new RegExp(`^x-axis ${QUOTED} \\[((?:${QUOTED}(?:, )?)+)\\]$`).exec(lines[2]);
    const yAxis = new RegExp(`^y-axis ${QUOTED} (${NUMBER}) --> (${NUMBER})$`).exec(lines[3]);
    if (!title || !xAxis || !yAxis) throw new Error(`not an xychart-beta header:\n${body}`);
    const series = lines.slice(4).map(line => {
      const data = new RegExp(`^(?:bar|line) \\[(${NUMBER}(?:, ${NUMBER})*)\\]$`).exec(line);
      if (!data) throw new Error(`not a bar or line of plain numbers: ${line}`);
      return data[1].split(', ').map(Number);
    });
    const labels = [...xAxis[2].matchAll(new RegExp(QUOTED, 'g'))].map(m => m[1]);
    return { source, title: title[1], labels, yAxis: yAxis[1], max: Number(yAxis[3]), series };
  });
}
