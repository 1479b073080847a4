import { GateDecision, GateResult, HoldKind } from './decide';
import { Samples } from './measure';
import { EffectiveSettings } from '../rollout/settings';
import { GateQueries } from './queries';
import { SmokeResult } from './smoke';
import { BaselineMeasurements, DecisionKind, HistoryEntry, Measurements } from '../rollout/state';

/** What a change did to the working tree. */
export interface Outcome {
  readonly dryRun: boolean;
  /** Files written, relative to the repository root (empty for a dry run). */
  readonly changed: readonly string[];
  /** The commit made, or null. */
  readonly commit: string | null;
}

/** What `canary advance --json` prints: one object per run. */
export interface GateReport extends Outcome {
  readonly service: string;
  readonly env: string;
  readonly decision: GateDecision;
  readonly fromWeight: number;
  readonly toWeight: number;
  readonly reason: string;
  /** Why the gate held, or null. */
  readonly hold: HoldKind | null;
  /** The canary image decided about, or null when none is in flight. */
  readonly image: string | null;
  /** The canary's numbers over the window; each null when unknown. */
  readonly measurements: Measurements;
  /** Stable's numbers over the same window, when the baseline comparison is on and was measured; else null. */
  readonly baseline: BaselineMeasurements | null;
  readonly failedChecks: readonly string[];
  /** Failed checks of the canary run as this decision leaves them (for a roll back or promotion: the run's last count). */
  readonly failedCheckCount: number;
  /** Holds in a row as this decision leaves them (for a roll back: the count that ended the run). */
  readonly consecutiveHolds: number;
  /** The limits the numbers were compared with. */
  readonly thresholds: {
    readonly successRatio: number;
    readonly p95LatencyMs: number;
    readonly p99LatencyMs: number | null;
    readonly minRequests: number;
    readonly canaryTrafficFactor: number;
    readonly minCanaryRequests: number;
    /** Null when the baseline comparison is off. */
    readonly maxErrorRatioIncrease: number | null;
    /** Null when the baseline comparison is off or compares no latency. */
    readonly maxLatencyRatio: number | null;
    readonly maxFailedChecks: number;
    readonly maxConsecutiveHolds: number;
  };
  /** The window measured, or null when nothing was (no canary, dwelling). */
  readonly window: { readonly length: string; readonly start: string; readonly end: string } | null;
  /** The resolved PromQL, by name (empty without a canary, and while a step is applying). */
  readonly queries: GateQueries;
  /**
   * While a step (or a promotion's or roll back's first half) is applying: the PromQL asking whether the cluster runs
   * it, and the answer (null when the query failed); else null.
   */
  readonly observation: { readonly query: string; readonly applied: boolean | null } | null;
  /** The smoke checks run through the pin before the first weighted step, or null when none ran. */
  readonly smoke: readonly SmokeResult[] | null;
  /** What each query answered; empty when nothing was measured. */
  readonly samples: Samples;
}

const UNKNOWN: Measurements = { requests: null, canaryRequests: null, successRatio: null, p95Ms: null, p99Ms: null };

/** Assembles the report of one gate run. */
export function gateReport(input: {
  readonly service: string;
  readonly env: string;
  readonly image: string | null;
  readonly result: GateResult;
  readonly settings: EffectiveSettings;
  readonly window: GateReport['window'];
  readonly queries: GateQueries;
  readonly samples: Samples;
  readonly observation: GateReport['observation'];
  /** @default null */
  readonly smoke?: GateReport['smoke'];
  readonly outcome: Outcome;
}): GateReport {
  const { result, settings: { slo, analysis } } = input;
  return {
    service: input.service,
    env: input.env,
    decision: result.decision,
    fromWeight: result.fromWeight,
    toWeight: result.toWeight,
    reason: result.reason,
    hold: result.hold,
    image: input.image,
    measurements: result.measurements ?? UNKNOWN,
    baseline: result.baseline,
    failedChecks: result.failedChecks,
    failedCheckCount: result.failedCheckCount,
    consecutiveHolds: result.consecutiveHolds,
    thresholds: {
      successRatio: slo.successRatio,
      p95LatencyMs: slo.p95LatencyMs,
      p99LatencyMs: slo.p99LatencyMs ?? null,
      minRequests: analysis.minRequests,
      canaryTrafficFactor: analysis.canaryTrafficFactor,
      minCanaryRequests: analysis.minCanaryRequests,
      maxErrorRatioIncrease: analysis.baseline.enabled ? analysis.baseline.maxErrorRatioIncrease : null,
      maxLatencyRatio: analysis.baseline.enabled ? analysis.baseline.maxLatencyRatio ?? null : null,
      maxFailedChecks: analysis.maxFailedChecks,
      maxConsecutiveHolds: analysis.maxConsecutiveHolds,
    },
    window: input.window,
    queries: input.queries,
    samples: input.samples,
    observation: input.observation,
    smoke: input.smoke ?? null,
    ...input.outcome,
  };
}

/** A number as the reports print it: `–` when unknown, else the value and its unit (`260.5 ms`). */
export const showValue = (value: number | null | undefined, unit = ''): string => (value === null || value === undefined ? '–' : `${value}${unit}`);
const show = showValue;

/** A decision with the weights it moves between, as the reports print it: `advance 10% → 25%`, or `none`. */
export function movementOf(decision: GateDecision | DecisionKind, fromWeight: number, toWeight: number): string {
  if (decision === 'none') return 'none';
  return `${decision} ${fromWeight}% → ${toWeight}%`;
}

const movement = (r: GateReport): string => movementOf(r.decision, r.fromWeight, r.toWeight);

/**
 * The error ratio of a success ratio, to the 4 decimals ratios are recorded with, as the gate compares them (0.99 →
 * 0.01, never 0.010000000000000009); null when unknown.
 */
export function errorRatioOf(successRatio: number | null | undefined): number | null {
  return successRatio === null || successRatio === undefined ? null : (1e4 - Math.round(successRatio * 1e4)) / 1e4;
}

/** One number of a gate run: the canary's, stable's over the same window, and the limit it was held to, all formatted. */
export interface MeasuredRow {
  readonly name: 'requests' | 'success ratio' | 'p95 latency' | 'p99 latency';
  readonly canary: string;
  readonly stable: string;
  readonly limit: string;
}

const latencyBaseline = (t: GateReport['thresholds']): string => (t.maxLatencyRatio === null ? '' : `; ≤ stable's × ${t.maxLatencyRatio}`);

/**
 * The numbers of a gate run beside stable's and their limits, as the step summary's table and the notifications show
 * them; `–` where a number is unknown.
 */
export function measuredRowsOf(r: GateReport): MeasuredRow[] {
  const m = r.measurements;
  const b = r.baseline;
  const t = r.thresholds;
  return [
    { name: 'requests', canary: show(m.canaryRequests), stable: show(b?.requests), limit: `≥ ${t.minRequests} together; canary ≥ its weight × ${t.canaryTrafficFactor} and ≥ ${t.minCanaryRequests}` },
    {
      name: 'success ratio', canary: show(m.successRatio), stable: show(b?.successRatio),
      limit: `≥ ${t.successRatio}${t.maxErrorRatioIncrease === null ? '' : `; error ratio ≤ stable's + ${t.maxErrorRatioIncrease}`}`,
    },
    { name: 'p95 latency', canary: show(m.p95Ms, ' ms'), stable: show(b?.p95Ms, ' ms'), limit: `≤ ${t.p95LatencyMs} ms${latencyBaseline(t)}` },
    {
      name: 'p99 latency', canary: show(m.p99Ms, ' ms'), stable: show(b?.p99Ms, ' ms'),
      limit: t.p99LatencyMs === null ? 'not checked' : `≤ ${t.p99LatencyMs} ms${latencyBaseline(t)}`,
    },
  ];
}

/** The text `canary advance` prints without `--json`; with `--dry-run`, the PromQL and its answers too. */
export function describeGate(r: GateReport): string {
  const m = r.measurements;
  const lines = [`${r.env}/${r.service}: ${movement(r)}: ${r.reason}`];
  if (r.window) {
    lines.push(`  canary: requests ${show(m.canaryRequests)} of ${show(m.requests)}, success ratio ${show(m.successRatio)}, `
      + `p95 ${show(m.p95Ms, ' ms')}, p99 ${show(m.p99Ms, ' ms')}`);
  }
  if (r.baseline) {
    const b = r.baseline;
    lines.push(`  stable: requests ${show(b.requests)}, success ratio ${show(b.successRatio)}, p95 ${show(b.p95Ms, ' ms')}, p99 ${show(b.p99Ms, ' ms')}`);
  }
  if (r.smoke) lines.push(...r.smoke.filter(c => c.passed).map(c => `  smoke: ${c.detail}`));
  if (r.failedChecks.length > 0) lines.push(...r.failedChecks.map(c => `  failed: ${c}`));
  if (r.decision === 'hold') {
    lines.push(`  failed checks ${r.failedCheckCount}/${r.thresholds.maxFailedChecks}, holds in a row ${r.consecutiveHolds}/${r.thresholds.maxConsecutiveHolds}`);
  }
  if (r.dryRun) {
    if (r.window) lines.push(`  window ${r.window.length}: ${r.window.start} .. ${r.window.end}`);
    if (r.observation) lines.push(`  applied = ${r.observation.applied ?? 'unknown'}`, `    ${r.observation.query.split('\n').join('\n    ')}`);
    for (const [name, promql] of Object.entries(r.queries)) {
      const answer = name in r.samples ? show(r.samples[name as keyof Samples]) : 'not run';
      lines.push(`  ${name} = ${answer}`, `    ${promql}`);
    }
    lines.push('  dry run: nothing changed');
  } else if (r.changed.length > 0) {
    lines.push(`  wrote ${r.changed.join(', ')}${r.commit ? `; committed ${r.commit}` : ''}`);
  }
  return lines.join('\n');
}

/** Decisions a chart of the step summary shows at most: the latest of the run. */
export const CHART_DECISIONS = 24;

/**
 * The decisions of the canary run of `image`, oldest first: the trailing entries of the history about that image, from
 * its last `start` on (a history bounded by its limit may have lost the start; then as far back as it goes).
 */
export function canaryRunOf(history: readonly HistoryEntry[], image: string): HistoryEntry[] {
  const run: HistoryEntry[] = [];
  for (let i = history.length - 1; i >= 0 && history[i].image === image; i--) {
    run.unshift(history[i]);
    if (history[i].decision === 'start') break;
  }
  return run;
}

// Mermaid's xychart grammar takes plain decimals only: no exponent, no NaN
const chartNumber = (value: number): string => {
  const rounded = Math.round(value * 100) / 100;
  const text = String(rounded);
  return /e/i.test(text) ? rounded.toFixed(2) : text;
};

/** A quoted label of a Mermaid chart: its strings end at the first `"`, which labels here never contain. */
const chartLabel = (text: string): string => `"${text.replace(/"/g, "'")}"`;

function xyChart(title: string, labels: readonly string[], yAxis: string, top: number, series: readonly string[]): string[] {
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${chartLabel(title)}`,
    `  x-axis "decision (UTC)" [${labels.map(chartLabel).join(', ')}]`,
    `  y-axis ${chartLabel(yAxis)} 0 --> ${chartNumber(top)}`,
    ...series.map(s => `  ${s}`),
    '```',
    '',
  ];
}

/**
 * Two small Mermaid `xychart-beta` charts of the canary run (one unit each, since the chart has one y-axis): the
 * weight after each decision, as bars from 0 to 100 %; and the canary's p95 latency of each decision that measured one,
 * as bars (a line of one point would not show) under a flat line at the SLO's bound. Labels are `#<n> <HH:MM>` (UTC),
 * numbered over the run so that both charts name a decision alike (and unique: Mermaid merges equal labels); decisions
 * with an unknown p95 are left out of the second chart, which is omitted when none measured one. Nothing without a run.
 */
function runCharts(r: GateReport, run: readonly HistoryEntry[]): string[] {
  const shown = run.map((entry, i) => ({ entry, label: `#${i + 1} ${entry.at.slice(11, 16)}` })).slice(-CHART_DECISIONS);
  if (shown.length === 0) return [];
  const latest = shown.length < run.length ? `, the latest ${shown.length}` : '';
  const lines = xyChart(`Canary weight after each decision (%)${latest}`, shown.map(s => s.label), 'weight (%)', 100,
    [`bar [${shown.map(s => chartNumber(s.entry.toWeight)).join(', ')}]`]);
  const measured = shown.flatMap(s => {
    const p95 = s.entry.measurements?.p95Ms;
    return p95 === null || p95 === undefined || !Number.isFinite(p95) ? [] : [{ label: s.label, p95 }];
  });
  if (measured.length > 0) {
    const slo = r.thresholds.p95LatencyMs;
    const top = Math.ceil((Math.max(slo, ...measured.map(p => p.p95)) * 1.1) / 10) * 10;
    lines.push(...xyChart(`Canary p95 latency (ms) per measured decision; line: the SLO's ${slo} ms`, measured.map(p => p.label), 'p95 (ms)', top, [
      `bar [${measured.map(p => chartNumber(p.p95)).join(', ')}]`,
      `line [${measured.map(() => chartNumber(slo)).join(', ')}]`,
    ]));
  }
  return lines;
}

/**
 * A Markdown summary of a gate run, for `$GITHUB_STEP_SUMMARY`: the decision, the numbers against their limits and,
 * given the history the run leaves, charts of the canary run so far ({@link canaryRunOf}).
 *
 * @param history the state's history after this decision (the state the decision wrote, else the one it read)
 */
export function gateSummaryMarkdown(r: GateReport, history: readonly HistoryEntry[] = []): string {
  const m = r.measurements;
  const t = r.thresholds;
  const row = (name: string, canary: string, stable: string, limit: string): string => `| ${name} | ${canary} | ${stable} | ${limit} |`;
  const lines = [
    `### canary ${r.env}/${r.service}: ${movement(r)}${r.dryRun ? ' (dry run)' : ''}`,
    '',
    r.reason,
    '',
  ];
  if (r.window) {
    lines.push(
      `Window ${r.window.length}, ${r.window.start} to ${r.window.end}: ${show(m.requests)} requests to stable and canary.`,
      '',
      row('', 'canary', 'stable', 'limit'),
      '|---|---:|---:|---|',
      ...measuredRowsOf(r).map(n => row(n.name, n.canary, n.stable, n.limit)),
      '',
    );
  }
  if (r.image !== null) lines.push(...runCharts(r, canaryRunOf(history, r.image)));
  if (r.failedChecks.length > 0) lines.push('Failed checks:', '', ...r.failedChecks.map(c => `- ${c}`), '');
  if (r.decision === 'hold') {
    lines.push(`Failed checks in this run: ${r.failedCheckCount} of ${t.maxFailedChecks}; holds in a row: ${r.consecutiveHolds} (roll back beyond ${t.maxConsecutiveHolds}).`, '');
  }
  if (r.commit) lines.push(`Commit: \`${r.commit}\``, '');
  return `${lines.join('\n')}\n`;
}
