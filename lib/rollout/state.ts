import * as path from 'node:path';
import { parse } from 'yaml';
import { fieldOf as fieldAt, unknownFieldMessage, valueAt } from '../private/schema-errors';
import { toYaml, yamlSyntaxError } from '../private/yaml';
import { canaryCommand } from './commands';
import { DURATION_PATTERN, POSITIVE_DURATION_PATTERN, durationProblem } from './duration';
import validateRolloutStateSchema from './generated/validate-rollout-state.cjs';
import { PodRecord, podHashOf } from './pod';
import { ANALYSIS_DURATIONS, IMAGE_PATTERN, ROLLOUT_STATE_SCHEMA, SLO_DURATIONS } from './state-schema';

export { ROLLOUT_STATE_SCHEMA };

/**
 * The rollout state of one service in one environment, kept in git as `rollout/<env>/<service>.yaml`: what runs as
 * stable, what runs as canary at which weight, the plan, the SLO, and what was decided when. Synth renders the
 * Deployments and Istio weights from it; the `canary` CLI changes it and commits.
 */
export interface RolloutState {
  /** The service this file is about (`services/<service>.yaml`); must match the file name. */
  readonly service: string;
  readonly stable: StableState;
  /** The canary in flight, or null. */
  readonly canary: CanaryState | null;
  /**
   * Canary weights in percent, strictly increasing; after the last one the canary is promoted. Unset: the service
   * file's, else the defaults.
   */
  readonly steps?: readonly number[];
  /** Overrides of the service's SLO in this environment. */
  readonly slo?: Partial<SloSettings>;
  /** Overrides of the service's analysis settings in this environment. */
  readonly analysis?: Partial<AnalysisSettings>;
  /** Decisions, oldest first, bounded; consecutive identical holds are one entry with a count. */
  readonly history: readonly HistoryEntry[];
}

/** What runs as stable. */
export interface StableState {
  readonly image: string;
  /**
   * The configuration stable runs, recorded by `canary init`, the first `canary start`, the end of a promotion (the
   * canary's) and `canary start --ungated`: synth renders stable from it, so a change of the service file (or of the
   * environment's defaults) waits for a release.
   * @default - none: stable runs what the service file and the environment say now (a state written before records)
   */
  readonly pod?: PodRecord;
}

/**
 * Where a canary in flight is:
 * - `progressing` (the field unset): through the steps, from weight 0 (only the pin reaches it) to the last;
 * - `promoting`: stable rolls out the canary's image while the canary keeps its traffic;
 * - `draining`: stable runs it (the state's `stable` already says so), the route gives the canary 0; once that is
 *   observed, the canary is removed;
 * - `rolling-back`: the route gives everything to stable (weight 0); once that is observed, the canary is removed.
 */
export type CanaryPhase = 'progressing' | 'promoting' | 'draining' | 'rolling-back';

/** A canary in flight. */
export interface CanaryState {
  readonly image: string;
  /** Current weight in percent: 0 (started, or rolling back) or one of the steps. */
  readonly weight: number;
  /** @default 'progressing' */
  readonly phase?: CanaryPhase;
  /** When the canary started (ISO 8601, UTC). */
  readonly startedAt: string;
  /** When the weight (or the phase) last changed, by a commit: the progress deadline counts from it. */
  readonly weightChangedAt: string;
  /**
   * When the gate observed the cluster running this step (through kube-state-metrics: the route at the weight, the
   * Deployment available with the image); analysis windows start after it plus the settle time. Unset: not yet.
   */
  readonly appliedAt?: string;
  /** Failed checks so far in this run; at the configured maximum the gate rolls back. */
  readonly failedChecks: number;
  /** Holds in a row; beyond the configured maximum the gate rolls back. */
  readonly consecutiveHolds: number;
  /**
   * The configuration the canary runs, from the service file and the environment when it started; stable takes it
   * when the promotion ends.
   * @default - none: the canary runs what the service file and the environment say now (a canary started before records)
   */
  readonly pod?: PodRecord;
}

/** The service level a canary must meet. */
export interface SloSettings {
  /** Minimum share of responses that are not 5xx, from 0 to 1. */
  readonly successRatio: number;
  /** Maximum 95th percentile latency in milliseconds. */
  readonly p95LatencyMs: number;
  /** Maximum 99th percentile latency in milliseconds. Unset: not checked. */
  readonly p99LatencyMs?: number;
  /**
   * The period `successRatio` is measured over, a duration from 7d to 90d such as `30d`: the error budget is
   * `1 − successRatio` of the period's requests, and the burn-rate alerts scale their factors by it. Unset: the
   * defaults' (30d). The gate does not read it: a canary is judged over its analysis window.
   */
  readonly period?: string;
}

/** How the gate measures a canary. */
export interface AnalysisSettings {
  /** `istio`: the mesh's standard metrics; `http`: the services' own `http_*` metrics. */
  readonly metrics: 'istio' | 'http';
  /** Measurement window, such as `5m`. */
  readonly window: string;
  /** Time after a weight change before a window may start, such as `1m`. */
  readonly settle: string;
  /** Requests (stable and canary together) a window needs before anything is judged. */
  readonly minRequests: number;
  /** The canary must get at least this share of the requests its weight predicts (0 to 1); fewer is a failed check. */
  readonly canaryTrafficFactor: number;
  /**
   * Requests the canary itself must have served before it may advance (0: no minimum), but never more than its weight's
   * share of `minRequests` (a service with just enough traffic can always advance): its ratios and percentiles over a
   * handful of requests say nothing. A canary that got its share but fewer than this holds for more traffic.
   */
  readonly minCanaryRequests: number;
  /** Failed checks across a run that trigger a roll back. */
  readonly maxFailedChecks: number;
  /**
   * A canary whose success ratio in a window is below this, over at least the canary requests it needs to advance, is
   * rolled back at once, whatever `maxFailedChecks`: half its requests failing for three more windows is no margin to
   * wait out. 0: never at once. At most the SLO's `successRatio`.
   */
  readonly rollbackBelowSuccessRatio: number;
  /** Holds in a row beyond which the gate rolls back (fail safe). */
  readonly maxConsecutiveHolds: number;
  /**
   * Compare the canary with stable over the same window: its error ratio may exceed stable's by at most
   * `maxErrorRatioIncrease`, and its p95 (and p99, when the SLO sets one) may be at most `maxLatencyRatio` times
   * stable's (unset: latency is held to the SLO alone) — unless it is within `minLatencyIncreaseMs` of stable's, so
   * that a fast service's coarse histogram buckets (5, 10, 25 ms) do not fail a healthy canary.
   */
  readonly baseline: {
    readonly enabled: boolean;
    readonly maxErrorRatioIncrease: number;
    readonly maxLatencyRatio?: number;
    readonly minLatencyIncreaseMs?: number;
  };
  /** Timeout of each Prometheus query, such as `10s`. */
  readonly queryTimeout: string;
  /**
   * How long a step (and a promotion's or roll back's first half) may take to be observed applied and ready after its
   * commit, such as `10m`: Argo CD's sync, the image pull, the readiness probes. Beyond it the canary is rolled back.
   */
  readonly progressDeadline: string;
}

/** What a decision was. */
export type DecisionKind = 'start' | 'advance' | 'promote' | 'rollback' | 'hold';

/** Numbers measured for a decision; null when unknown. */
export interface Measurements {
  readonly requests: number | null;
  readonly canaryRequests: number | null;
  readonly successRatio: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

/** Stable's numbers over the same window, for the baseline comparison; null when unknown. */
export interface BaselineMeasurements {
  readonly requests: number | null;
  readonly successRatio: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

/** One decision in the history. */
export interface HistoryEntry {
  /** When (ISO 8601, UTC); for a repeated hold, the latest time. */
  readonly at: string;
  readonly decision: DecisionKind;
  /** `cli` for a person's command, `gate` for the SLO gate. */
  readonly by: 'cli' | 'gate';
  /** The canary image the decision was about. */
  readonly image: string;
  readonly fromWeight: number;
  readonly toWeight: number;
  readonly reason: string;
  readonly measurements?: Measurements;
  /** Stable's numbers over the same window, when the gate compared the canary with them. */
  readonly baseline?: BaselineMeasurements;
  /** Checks that failed, for a hold or roll back by the gate. */
  readonly failedChecks?: readonly string[];
  /** Repetitions of this hold in a row. */
  readonly count?: number;
  /** The first of the repeated holds. */
  readonly firstAt?: string;
}


/** A state file that cannot be used; the message names the file and every field at fault. */
export class StateError extends Error {
  public constructor(public readonly file: string, public readonly problems: readonly string[]) {
    super(`invalid rollout state ${file}:\n${problems.map(p => `  - ${p}`).join('\n')}`);
    this.name = 'StateError';
  }
}

/** `/canary/weight` → `canary.weight`, `/history/3/at` → `history[3].at`, and `(file)` for the document itself. */
function fieldOf(instancePath: string): string {
  return fieldAt(instancePath) || '(file)';
}

/**
 * Parses and validates a state file.
 *
 * @param text the file's YAML
 * @param file its path, for messages
 * @param expectedService the service the file name says it is about
 * @throws {@link StateError} naming the file and each invalid field, with the value found and what is allowed
 */
export function parseRolloutState(text: string, file: string, expectedService?: string): RolloutState {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new StateError(file, [yamlSyntaxError(error)]);
  }
  if (!validateRolloutStateSchema(data)) {
    const problems = (validateRolloutStateSchema.errors ?? []).map(e => {
      const field = fieldOf(e.instancePath);
      if (e.keyword === 'required') return `'${field === '(file)' ? '' : `${field}.`}${String(e.params.missingProperty)}' is required`;
      if (e.keyword === 'additionalProperties') return unknownFieldMessage(e);
      const found = valueAt(data, e.instancePath);
      // the pattern itself tells a reader nothing; the duration rule's own words say what is allowed
      const pattern = e.keyword === 'pattern' ? e.params.pattern : undefined;
      if ((pattern === DURATION_PATTERN || pattern === POSITIVE_DURATION_PATTERN) && typeof found === 'string') {
        return `'${field}' ${durationProblem(found, { positive: pattern === POSITIVE_DURATION_PATTERN })}`;
      }
      if (pattern === IMAGE_PATTERN) {
        return `'${field}' must be an image reference such as registry/name:tag or registry/name@sha256:<64 hex digits>, in lower case up to `
          + `the tag, got ${JSON.stringify(found)}`;
      }
      return `'${field}' ${e.message ?? 'is invalid'}${e.keyword === 'enum' ? ` (${(e.params.allowedValues as unknown[]).map(v => JSON.stringify(v)).join(', ')})` : ''}, got ${JSON.stringify(found)}`;
    });
    throw new StateError(file, [...new Set(problems)]);
  }
  const state = data as RolloutState;
  // a state file's directory is named after its environment (rollout/<env>/<service>.yaml)
  const problems = semanticProblems(state, path.posix.basename(path.posix.dirname(file)));
  if (expectedService !== undefined && state.service !== expectedService) {
    problems.unshift(`'service' must match the file name (${JSON.stringify(expectedService)}), got ${JSON.stringify(state.service)}`);
  }
  if (problems.length > 0) throw new StateError(file, problems);
  return state;
}

/**
 * The weight `canary.appliedAt` was recorded at, when it is not the weight the state holds now: the last history entry
 * written at or before it (the gate's `applied` hold) moved or held the canary at that other weight, so the weight was
 * set by hand afterwards. Undefined when appliedAt is unset or stands for the current weight (or the history that
 * recorded it was trimmed away).
 */
export function handSetWeightSince(state: RolloutState): number | undefined {
  const canary = state.canary;
  if (canary?.appliedAt === undefined) return undefined;
  const applied = Date.parse(canary.appliedAt);
  const recorded = state.history.findLast(entry => Date.parse(entry.at) <= applied);
  return recorded === undefined || recorded.toWeight === canary.weight ? undefined : recorded.toWeight;
}

/** `canary.appliedAt` when it stands for the weight the state holds now ({@link handSetWeightSince}), else undefined. */
export function appliedAtOf(state: RolloutState): string | undefined {
  return handSetWeightSince(state) === undefined ? state.canary?.appliedAt : undefined;
}

/**
 * The rule an image reference breaks, or undefined: it must be a reference, pinned by a tag or a digest, and a
 * `latest` tag pins nothing. Says what the reference must be (`must be pinned by tag or digest`), not what it is; the
 * policy tests hold every rendered container to the same rule.
 */
export function unmetImageRequirement(image: string): string | undefined {
  if (!new RegExp(IMAGE_PATTERN).test(image)) return 'must be an image reference such as registry/name:tag';
  const withoutRegistryPort = image.replace(/^[^/]*:\d+\//, '');
  if (!/:[A-Za-z0-9_][A-Za-z0-9_.-]*$|@sha256:/.test(withoutRegistryPort)) return 'must be pinned by tag or digest';
  if (/:latest(@|$)/.test(withoutRegistryPort) && !image.includes('@sha256:')) return 'must not use the latest tag';
  return undefined;
}

/** What is wrong with an image reference for a release, with the reference, or undefined (see {@link unmetImageRequirement}). */
export function imageProblem(image: string): string | undefined {
  const requirement = unmetImageRequirement(image);
  return requirement && `${requirement}, got ${JSON.stringify(image)}`;
}

/** What is wrong with a list of steps, or undefined: the schema checks each; only this checks their order. */
export function stepsProblemOf(steps: readonly number[]): string | undefined {
  return steps.some((s, i) => i > 0 && s <= steps[i - 1]) ? `must be strictly increasing, got ${JSON.stringify(steps)}` : undefined;
}

/**
 * What is wrong with a timestamp the schema's pattern let through, or undefined: the pattern checks the form, this that
 * it names a real instant (no month 13, no 23:60, no 31 April), which every comparison of times relies on.
 */
export function timeProblem(value: string): string | undefined {
  const [, y, mo, d, h, mi, sec] = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(value) ?? [];
  const at = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)));
  const real = y !== undefined && at.getUTCFullYear() === Number(y) && at.getUTCMonth() === Number(mo) - 1 && at.getUTCDate() === Number(d)
    && at.getUTCHours() === Number(h) && at.getUTCMinutes() === Number(mi) && at.getUTCSeconds() === Number(sec);
  return real ? undefined : `must be a real UTC time such as 2026-11-01T12:00:00Z, got ${JSON.stringify(value)}`;
}

/** Rules the schema cannot express. */
function semanticProblems(state: RolloutState, env: string): string[] {
  const problems: string[] = [];
  const times: Array<[string, string | undefined]> = [
    ['canary.startedAt', state.canary?.startedAt], ['canary.weightChangedAt', state.canary?.weightChangedAt], ['canary.appliedAt', state.canary?.appliedAt],
    ...state.history.flatMap((entry, i): Array<[string, string | undefined]> => [[`history[${i}].at`, entry.at], [`history[${i}].firstAt`, entry.firstAt ?? undefined]]),
  ];
  for (const [field, value] of times) {
    const problem = value === undefined ? undefined : timeProblem(value);
    if (problem) problems.push(`'${field}' ${problem}`);
  }
  const steps = state.steps;
  const stepsProblem = steps && stepsProblemOf(steps);
  if (stepsProblem) problems.push(`'steps' ${stepsProblem}`);
  for (const [field, image] of [['stable.image', state.stable.image], ['canary.image', state.canary?.image]] as const) {
    const problem = image === undefined ? undefined : imageProblem(image);
    if (problem) problems.push(`'${field}' ${problem}`);
  }
  for (const [field, pod] of [['stable.pod', state.stable.pod], ['canary.pod', state.canary?.pod]] as const) {
    const hash = pod && podHashOf(pod);
    if (pod && hash !== pod.hash) {
      problems.push(`'${field}.hash' must be the hash of the record's fields, ${hash}, got ${JSON.stringify(pod.hash)}: the record was changed by hand; `
        + 'release a configuration with canary start instead (or, to correct the record itself, write that hash)');
    }
  }
  if (state.canary) {
    // a canary of what stable runs measures nothing and would be promoted as a release (canary start refuses it; a
    // promotion's later phases have stable on the canary's release by design)
    const samePod = (state.canary.pod?.hash ?? null) === (state.stable.pod?.hash ?? null);
    if ((state.canary.phase ?? 'progressing') === 'progressing' && state.canary.image === state.stable.image && samePod) {
      problems.push(`'canary' must release something stable does not run: its image and configuration are stable's (${state.canary.image}`
        + `${state.canary.pod ? `, pod ${state.canary.pod.hash}` : ''}); give it another image (canary start --image) or remove it (canary: null, and the history entries since its start)`);
    }
    if ((state.canary.phase === 'rolling-back' || state.canary.phase === 'draining') && state.canary.weight !== 0) {
      problems.push(`'canary.weight' must be 0 while the canary is ${state.canary.phase} (all traffic to stable), got ${state.canary.weight}`);
    }
    if (state.canary.appliedAt !== undefined && (state.canary.weight === 0 || (state.canary.phase ?? 'progressing') !== 'progressing')) {
      problems.push(`'canary.appliedAt' is only for a step (a weight above 0, phase progressing), got ${state.canary.appliedAt} at weight `
        + `${state.canary.weight}${state.canary.phase ? ` (${state.canary.phase})` : ''}`);
    }
    if (state.canary.appliedAt !== undefined && Date.parse(state.canary.appliedAt) < Date.parse(state.canary.weightChangedAt)) {
      problems.push(`'canary.appliedAt' must not be before 'canary.weightChangedAt', got ${state.canary.appliedAt}`);
    }
    if (Date.parse(state.canary.weightChangedAt) < Date.parse(state.canary.startedAt)) {
      problems.push(`'canary.weightChangedAt' must not be before 'canary.startedAt', got ${state.canary.weightChangedAt}`);
    }
  } else {
    const last = state.history[state.history.length - 1];
    if (last && leavesCanaryInFlight(last)) {
      problems.push(`'canary' is null, but the last history entry (${last.decision} of ${last.image} at ${last.toWeight}%, ${last.at}) leaves `
        + 'that canary in flight: the canary block was removed by hand, and its traffic and its pods would go in one sync (the requests in '
        + `flight to them fail). Restore the block (git checkout -- the file), then end the canary with ${canaryCommand('rollback', env, state.service)} `
        + `or ${canaryCommand('promote', env, state.service)}; to remove it by hand all the same, also remove the history entries since its start`);
    }
  }
  // the schema checks the syntax; only this checks the length against Prometheus's limit
  for (const [field, options] of Object.entries(ANALYSIS_DURATIONS)) {
    const value = state.analysis?.[field as keyof typeof ANALYSIS_DURATIONS];
    const problem = value === undefined || value === null ? undefined : durationProblem(value, options);
    if (problem) problems.push(`'analysis.${field}' ${problem}`);
  }
  for (const [field, options] of Object.entries(SLO_DURATIONS)) {
    const value = state.slo?.[field as keyof typeof SLO_DURATIONS];
    const problem = value === undefined || value === null ? undefined : durationProblem(value, options);
    if (problem) problems.push(`'slo.${field}' ${problem}`);
  }
  return problems;
}

/**
 * Whether a canary is in flight after `entry`: a start, a step or a hold leave one, and so does a promotion's first
 * half, whose canary keeps its traffic while stable rolls out its release. Only the entry that removes a canary (a
 * promotion or roll back to 0 %) may be the last one of a state without a canary; the halves of those that move its
 * traffic to stable go to 0 % too, so a canary block removed by hand after them is not seen.
 */
function leavesCanaryInFlight(entry: HistoryEntry): boolean {
  return entry.decision === 'start' || entry.decision === 'advance' || entry.decision === 'hold' || (entry.decision === 'promote' && entry.toWeight > 0);
}

/** Renders a state file: a schema hint for editors, then the state in a fixed key order. */
export function renderRolloutState(state: RolloutState): string {
  const ordered = {
    service: state.service,
    stable: state.stable,
    canary: state.canary,
    ...(state.steps ? { steps: state.steps } : {}),
    ...(state.slo ? { slo: state.slo } : {}),
    ...(state.analysis ? { analysis: state.analysis } : {}),
    history: state.history,
  };
  return `# yaml-language-server: $schema=../schema.json\n# Changed by the canary CLI; edit by hand only to change the plan, the SLO or the analysis.\n${toYaml(ordered)}`;
}
