import { GateDecision, GateResult, HoldKind } from './decide';
import { Samples } from './measure';
import { EffectiveSettings } from '../rollout/settings';
import { GateQueries } from './queries';
import { SmokeResult } from './smoke';
import { BaselineMeasurements, Measurements } from '../rollout/state';

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

const show = (value: number | null | undefined, unit = ''): string => (value === null || value === undefined ? '–' : `${value}${unit}`);

function movement(r: GateReport): string {
  if (r.decision === 'none') return 'none';
  return `${r.decision} ${r.fromWeight}% → ${r.toWeight}%`;
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

const latencyBaseline = (t: GateReport['thresholds']): string => (t.maxLatencyRatio === null ? '' : `; ≤ stable's × ${t.maxLatencyRatio}`);

/** A Markdown summary of a gate run, for `$GITHUB_STEP_SUMMARY`. */
export function gateSummaryMarkdown(r: GateReport): string {
  const m = r.measurements;
  const b = r.baseline;
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
      row('requests', show(m.canaryRequests), show(b?.requests), `≥ ${t.minRequests} together; canary ≥ its weight × ${t.canaryTrafficFactor}`),
      row('success ratio', show(m.successRatio), show(b?.successRatio),
        `≥ ${t.successRatio}${t.maxErrorRatioIncrease === null ? '' : `; error ratio ≤ stable's + ${t.maxErrorRatioIncrease}`}`),
      row('p95 latency', show(m.p95Ms, ' ms'), show(b?.p95Ms, ' ms'), `≤ ${t.p95LatencyMs} ms${latencyBaseline(t)}`),
      row('p99 latency', show(m.p99Ms, ' ms'), show(b?.p99Ms, ' ms'), t.p99LatencyMs === null ? 'not checked' : `≤ ${t.p99LatencyMs} ms${latencyBaseline(t)}`),
      '',
    );
  }
  if (r.failedChecks.length > 0) lines.push('Failed checks:', '', ...r.failedChecks.map(c => `- ${c}`), '');
  if (r.decision === 'hold') {
    lines.push(`Failed checks in this run: ${r.failedCheckCount} of ${t.maxFailedChecks}; holds in a row: ${r.consecutiveHolds} (roll back beyond ${t.maxConsecutiveHolds}).`, '');
  }
  if (r.commit) lines.push(`Commit: \`${r.commit}\``, '');
  return `${lines.join('\n')}\n`;
}
