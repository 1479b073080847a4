import { Duration } from 'cdk8s';
import { goDuration } from '../private/units';
import { parseDuration } from '../rollout/duration';
import { MeasureOutcome, Samples, combineSamples } from './measure';
import { SmokeOutcome } from './smoke';
import { EffectiveSettings, nextStep } from '../rollout/settings';
import { ObservedRelease } from '../slo/cluster-state';
import { Change, ROLLBACK_BEGUN, UsageError, appendHistory, endCanary, stampNotBefore } from './plan';
import { BaselineMeasurements, CanaryState, HistoryEntry, Measurements, RolloutState, appliedAtOf, handSetWeightSince } from '../rollout/state';

/** What the gate decided; `none` when no canary is in flight. */
export type GateDecision = 'advance' | 'promote' | 'hold' | 'rollback' | 'none';

/** The check that the canary got its share of the traffic: the name its failures start with (`canaryTraffic: …`). */
export const TRAFFIC_CHECK = 'canaryTraffic';

/** The check that a pod of the canary was ready while the route gave it a share (`canaryPods: …`). */
export const PODS_CHECK = 'canaryPods';

/**
 * Why the gate held:
 * - `applying`: the step (or a promotion's or roll back's first half) is not yet observed running in the cluster, and
 *   its progress deadline has not passed; nothing is written;
 * - `applied`: the step was just observed running; its first window may start a settle time later (written: the
 *   state records when);
 * - `dwelling`: too early, the window would reach back before the step was applied plus the settle time;
 * - `no-data`: a query failed (unreachable, timeout, a bad answer);
 * - `too-little-traffic`: stable and canary together, or the canary alone, served fewer requests than the minimum;
 * - `inconclusive`: enough traffic, no failed check, but a number the verdict needs is unknown;
 * - `failed-check`: a check failed (the canary's traffic, the SLO or the baseline), below the roll back limit.
 */
export type HoldKind = 'applying' | 'applied' | 'dwelling' | 'no-data' | 'too-little-traffic' | 'inconclusive' | 'failed-check';

/**
 * How far in the future a weight change may lie before it is a configuration error rather than clock skew between
 * the machine that wrote it and the one deciding now.
 */
export const CLOCK_SKEW_TOLERANCE_MS = 5 * 60_000;

/** What the cluster must be observed running before the gate moves on: {@link ObservedRelease} without the names. */
export type ReleaseToObserve = Omit<ObservedRelease, 'service' | 'namespace'>;

/**
 * Where a canary stands before anything is measured; `window` is the analysis window in Prometheus notation, as the
 * queries and the reasons write it (`300s` reads `5m`).
 */
export type Stage =
  | { readonly kind: 'none' }
  | { readonly kind: 'applying'; readonly release: ReleaseToObserve; readonly deadline: Date }
  /**
   * `measuredUntil`: the end of the window the last counted hold of this step measured, when that and not the settle
   * time decides (`readyAt` is one window after it)
   */
  | { readonly kind: 'dwelling'; readonly window: string; readonly readyAt: Date; readonly measuredUntil?: Date }
  | { readonly kind: 'measure'; readonly window: string; readonly windowStart: Date };

/** Whether the cluster was observed running a release, or why that is unknown. */
export type ObserveOutcome = { readonly ok: true; readonly applied: boolean } | { readonly ok: false; readonly error: string };

/** Everything one gate decision depends on. */
export interface DecideInput {
  readonly state: RolloutState;
  /** Defaults, overridden by the service file, the state file, then this run's flags (settingsOf, then withOverrides). */
  readonly settings: EffectiveSettings;
  /** The end of the analysis window. */
  readonly now: Date;
  /** Where the canary stands: {@link stageOf} of the same state, settings and time. */
  readonly stage: Stage;
  /**
   * The measurement of the window ending at `now`.
   * @default - none; only allowed when the stage is not `measure`
   */
  readonly outcome?: MeasureOutcome;
  /**
   * Whether the cluster runs the stage's release.
   * @default - none; only allowed when the stage is not `applying`
   */
  readonly observed?: ObserveOutcome;
  /**
   * The smoke checks of a canary at weight 0 that runs ready, before its first weighted step.
   * @default - none: the service file names no smoke checks
   */
  readonly smoke?: SmokeOutcome;
}

/** A gate decision: what to do, why, with which numbers, and the state to write. */
export interface GateResult {
  readonly decision: GateDecision;
  readonly fromWeight: number;
  readonly toWeight: number;
  readonly reason: string;
  /** Why the gate held, or null when it did not. */
  readonly hold: HoldKind | null;
  /** The checks that failed in this decision, each with its numbers. */
  readonly failedChecks: readonly string[];
  readonly measurements: Measurements | null;
  readonly baseline: BaselineMeasurements | null;
  /** The new state and its history entry, or null when nothing is written (no canary, or dwelling). */
  readonly change: Change | null;
  /** Failed checks of the canary run as this decision leaves them; for a promotion or roll back, the run's last count. */
  readonly failedCheckCount: number;
  /** Holds in a row as this decision leaves them (0 after an advance or promotion); for a roll back, the count that ended it. */
  readonly consecutiveHolds: number;
}

/**
 * Where a canary stands at `now`: none in flight; applying (its step, or a promotion's or roll back's first half, is
 * not yet observed running in the cluster); dwelling (the window ending now would start before the step was observed
 * applied plus the settle time, or overlap the window a counted hold of the step measured); or ready to be measured.
 *
 * @throws {@link UsageError} (code `config`) when the last weight change lies further in the future than clock skew
 *   explains (the gate would dwell until then), or when the weight was set by hand after its step was observed
 *   applied ({@link handSetWeightSince}): a human must look
 */
export function stageOf(state: RolloutState, settings: EffectiveSettings, now: Date): Stage {
  const canary = state.canary;
  if (!canary) return { kind: 'none' };
  const changedAt = Date.parse(canary.weightChangedAt);
  // a time in the future would dwell until then: a human must look
  for (const [field, value] of [['weightChangedAt', canary.weightChangedAt], ['appliedAt', canary.appliedAt]] as const) {
    if (value !== undefined && Date.parse(value) - now.getTime() > CLOCK_SKEW_TOLERANCE_MS) {
      throw new UsageError(`'canary.${field}' of ${state.service} is ${value}, in the future (now ${now.toISOString()}); `
        + 'fix the clock of this machine or the state file', 'config');
    }
  }
  const deadline = new Date(changedAt + parseDuration(settings.analysis.progressDeadline, 'analysis.progressDeadline'));
  // the recorded configurations, when there are (a release that changes no image is seen by them alone)
  const hash = (pod: { readonly hash: string } | undefined) => (pod ? { podHash: pod.hash } : {});
  if (canary.phase === 'promoting') return { kind: 'applying', release: { track: 'stable', image: canary.image, ...hash(canary.pod) }, deadline };
  if (canary.phase === 'rolling-back' || canary.phase === 'draining') {
    return { kind: 'applying', release: { track: 'stable', image: state.stable.image, canaryWeight: 0, ...hash(state.stable.pod) }, deadline };
  }
  // a weight set by hand after the step was observed applied: measuring it would judge the old route's window, and
  // observing it again would time it against the old step's deadline, long past (a roll back): a human must look
  const handSet = handSetWeightSince(state);
  if (handSet !== undefined) {
    throw new UsageError(`'canary.weight' of ${state.service} is ${canary.weight}%, but 'canary.appliedAt' (${canary.appliedAt}) records the `
      + `step at ${handSet}% observed applied: a weight set by hand. Set it back, or delete 'canary.appliedAt' and set 'canary.weightChangedAt' `
      + 'to the time of the change, so that the gate observes the cluster run it before measuring', 'config');
  }
  const applied = appliedAtOf(state);
  if (applied === undefined) return { kind: 'applying', release: canaryStep(canary), deadline };
  const windowMs = parseDuration(settings.analysis.window, 'analysis.window');
  const window = goDuration(Duration.millis(windowMs));
  const appliedAt = Date.parse(applied);
  const settled = appliedAt + parseDuration(settings.analysis.settle, 'analysis.settle') + windowMs;
  // Every counted hold of this step measured the window that ended when it was written (its history entry's `at`); the
  // next window starts after it, so that a tick more frequent than the window (prod's in-cluster loop: every minute,
  // 5m windows) does not count one bad minute in five failed checks, nor reach the limit of holds in a row in
  // minutes: each count stands for a window of its own, whatever the schedule.
  const measured = lastCountedHold(state, canary, now) ?? Number.NEGATIVE_INFINITY;
  const readyAt = Math.max(settled, measured + windowMs);
  if (now.getTime() >= readyAt) return { kind: 'measure', window, windowStart: new Date(now.getTime() - windowMs) };
  return { kind: 'dwelling', window, readyAt: new Date(readyAt), ...(readyAt > settled ? { measuredUntil: new Date(measured) } : {}) };
}

/**
 * When the last counted hold of the canary's current step or phase was written (a gate hold after the step was
 * observed applied, else after the weight last changed), in ms; undefined when there is none. Each counted hold stands
 * for a window: the next may come one window later.
 *
 * @throws {@link UsageError} (code `config`) when that hold lies further in the future than clock skew explains: the
 *   gate would wait until then, counting and failing nothing, so a human must look
 */
function lastCountedHold(state: RolloutState, canary: CanaryState, now: Date): number | undefined {
  const since = Date.parse(canary.appliedAt ?? canary.weightChangedAt);
  let last: number | undefined;
  for (const [i, entry] of state.history.entries()) {
    const at = Date.parse(entry.at);
    if (entry.decision !== 'hold' || entry.by !== 'gate' || at <= since) continue;
    if (at - now.getTime() > CLOCK_SKEW_TOLERANCE_MS) {
      throw new UsageError(`'history[${i}].at' of ${state.service} is ${entry.at}, a gate hold in the future (now ${now.toISOString()}); `
        + 'fix the clock of the machine that wrote it, or the state file', 'config');
    }
    last = Math.max(last ?? at, at);
  }
  return last;
}

/** What the cluster runs when it runs the canary's current step: its Deployment ready with its release, at its weight. */
export function canaryStep(canary: CanaryState): ReleaseToObserve {
  return { track: 'canary', image: canary.image, canaryWeight: canary.weight, ...(canary.pod ? { podHash: canary.pod.hash } : {}) };
}

/** What a release to observe is, in words: `gateway-canary runs ready with <image> (pod <hash>) and the route gives it 10%`. */
export function describeRelease(service: string, release: ReleaseToObserve): string {
  const pod = release.podHash === undefined ? '' : ` (pod ${release.podHash})`;
  const route = release.canaryWeight === undefined ? '' : ` and the route gives the canary ${release.canaryWeight}%`;
  return `${service}-${release.track} runs ready with ${release.image}${pod}${route}`;
}

/**
 * Decides what to do with the canary in flight, in this order:
 * 1. no canary → `none`;
 * 2. the step (or a promotion's or roll back's first half) not yet observed running in the cluster → {@link progress};
 * 3. the window would start before the step was observed applied plus the settle time, or before the end of the window
 *    the last counted hold of this step measured → hold (dwelling), nothing written;
 * 4. no pod of the canary was ready for the whole window while its step gives it a share → a failed check that rolls
 *    it back at once (its share fails at the callers, where no track's numbers count it; {@link PODS_CHECK});
 *    a query failed → a failed check when the queries that answered show one ({@link failuresOnAnswered}), else hold;
 * 5. stable and canary together served fewer than `minRequests` → hold;
 * 6. checks: the canary served fewer requests than its weight predicts × `canaryTrafficFactor` (none at all
 *    included), the SLO (success ratio, p95, p99 when set), and with the baseline on, the canary's error ratio above
 *    stable's by more than the margin or its p95/p99 above stable's times `maxLatencyRatio`; any failure → a failed
 *    check, and at `maxFailedChecks` in the run → roll back; a success ratio below `rollbackBelowSuccessRatio` over
 *    at least `minCanaryRequests` canary requests → roll back at once ({@link severeFailure});
 * 7. the canary served fewer than `minCanaryRequests`, or than its weight's share of `minRequests` when that is less →
 *    hold (too little traffic: it got its share of thin traffic);
 *    a number the verdict needs is unknown (stable serving less than its share below 100 % included) → hold;
 * 8. every hold but applying, applied and dwelling counts as a hold in a row; beyond `maxConsecutiveHolds` → roll back (fail safe);
 * 9. otherwise → the next step, or after the last step → promote.
 *
 * Pure: the state to write comes back in `change`.
 */
export function decide(input: DecideInput): GateResult {
  const { state, settings, now, stage, outcome } = input;
  const canary = state.canary;
  if (stage.kind === 'none' || !canary) {
    return {
      decision: 'none', fromWeight: 0, toWeight: 0, reason: `no canary of ${state.service} in flight; nothing to decide`, hold: null,
      failedChecks: [], measurements: null, baseline: null, change: null, failedCheckCount: 0, consecutiveHolds: 0,
    };
  }
  const { analysis, steps } = settings;
  if (stage.kind === 'applying') return progress(input, canary, stage);
  const { window } = stage;
  if (stage.kind === 'dwelling') {
    return dwell(canary, (stage.measuredUntil
      ? `the last check measured the ${window} window until ${stage.measuredUntil.toISOString()}; the next may not overlap it; `
      : `the ${window} window may only start ${analysis.settle} (settle) after the step was applied at ${canary.appliedAt}; `)
      + `measurable from ${stage.readyAt.toISOString()}`);
  }
  if (!outcome) throw new Error(`decide: the ${window} window of ${state.service} is due; measure it first`);

  const held = (kind: HoldKind, reason: string, evidence: Evidence, failed: readonly string[] = [], severe?: string): GateResult =>
    hold(state, canary, settings, now, { kind, reason, evidence, failed, ...(severe ? { severe } : {}) });
  // the failed check this run would count, as every reason of one says it
  const nth = `failed check ${canary.failedChecks + 1} of ${analysis.maxFailedChecks}`;
  // a canary without a ready pod while its step gives it a share: that share fails at its callers, uncounted by any
  // track (Istio's "no healthy upstream" names no workload), so no other check would see it; whatever else answered
  if (outcome.samples.canaryAvailable === 0 && canary.weight > 0) {
    const failure = `${PODS_CHECK}: no pod of ${state.service}-canary was ready in the ${window} window, while the route gives it ${canary.weight}%`;
    const measurements = outcome.ok ? { measurements: outcome.measurements } : {};
    return held('failed-check', `${nth}: ${failure}`, measurements, [failure],
      `its ${canary.weight}% of the requests fail`);
  }
  if (!outcome.ok) {
    // a failure the queries that answered show is not thrown away for a number it does not need
    const partial = failuresOnAnswered(outcome.samples, settings);
    if (!partial) return held('no-data', `no verdict: ${outcome.error}`, {});
    return held('failed-check', `${nth}: ${partial.failed.join('; ')} `
      + `(on the queries that answered; ${outcome.error})`, { measurements: partial.measurements }, partial.failed,
    severeFailure(partial.measurements, settings));
  }
  const m = outcome.measurements;
  const b = outcome.baseline;
  const evidence: Evidence = { measurements: m, ...(b ? { baseline: b } : {}) };
  if (m.requests === null || m.requests < analysis.minRequests) {
    return held('too-little-traffic', `too little traffic: fewer than ${analysis.minRequests} requests (stable and canary) in the ${window} window`, evidence);
  }
  const verdict = evaluate(canary.weight, m, b, settings);
  if (verdict.failed.length > 0) {
    return held('failed-check', `${nth}: ${verdict.failed.join('; ')}`, evidence, verdict.failed, severeFailure(m, settings));
  }
  // after the checks: a canary that got less than its share fails (it may be down), one that got its share of thin
  // traffic waits for more rather than advance on a handful of requests
  // (never more than its weight's share of minRequests: a service with just enough traffic must be able to advance);
  // no count in the reason, so that repeated holds merge in the history
  const needed = Math.min(analysis.minCanaryRequests, wholeShare(canary.weight, analysis.minRequests));
  if ((m.canaryRequests ?? 0) < needed) {
    return held('too-little-traffic', `too little canary traffic: fewer than ${needed} canary requests in the ${window} window, the least it `
      + `needs before it may advance (analysis.minCanaryRequests, at most its ${canary.weight}% of minRequests)`, evidence);
  }
  if (verdict.unknown.length > 0) return held('inconclusive', `no verdict: ${verdict.unknown.join('; ')}`, evidence);

  const met = `SLO met over ${window}: ${verdict.passed.join(', ')}`;
  const next = nextStep(steps, canary.weight);
  if (next === undefined) {
    const change = endCanary(state, { decision: 'promote', by: 'gate', now, reason: `promoting: stable rolls out ${canary.image} while the canary keeps its ${canary.weight}%; ${met}`, evidence });
    return result(change, 'promote', canary, { failedChecks: [], measurements: m, baseline: b, failedCheckCount: canary.failedChecks, consecutiveHolds: 0 });
  }
  const change = advanceTo(state, canary, next, now, `advanced to ${next}%: ${met}`, evidence);
  return result(change, 'advance', canary, { failedChecks: [], measurements: m, baseline: b, failedCheckCount: canary.failedChecks, consecutiveHolds: 0 });
}

/** The canary at weight `next`: a new step, not yet observed applied. */
function advanceTo(state: RolloutState, canary: CanaryState, next: number, now: Date, reason: string, evidence: Evidence = {}): Change {
  const entry: HistoryEntry = {
    at: stampNotBefore(now, canary.weightChangedAt, canary.appliedAt), decision: 'advance', by: 'gate', image: canary.image, fromWeight: canary.weight,
    toWeight: next, reason, ...evidence,
  };
  const { appliedAt: _applied, ...rest } = canary;
  return {
    state: {
      ...state,
      canary: { ...rest, weight: next, weightChangedAt: entry.at, consecutiveHolds: 0 },
      history: appendHistory(state.history, entry),
    },
    entry,
  };
}

/**
 * A canary at weight 0 that runs ready: its smoke checks (through the pin), then the first step. Checks that could not
 * run (no URL to reach the service) are a hold that counts; one failed check rolls the canary back before any weighted
 * traffic reaches it.
 */
function firstStep(input: DecideInput, canary: CanaryState, what: string): GateResult {
  const { state, settings, now, smoke } = input;
  const numbers = { measurements: null, baseline: null, failedCheckCount: canary.failedChecks };
  if (smoke && !smoke.ran) {
    return unmeasuredHold(input, canary, `smoke checks not run: ${smoke.reason}`);
  }
  const results = smoke?.ran ? smoke.results : [];
  const failed = results.filter(r => !r.passed).map(r => `smoke: ${r.detail}`);
  if (failed.length > 0) {
    const change = endCanary(state, {
      decision: 'rollback', by: 'gate', now, reason: `${ROLLBACK_BEGUN}: ${failed.length} of ${results.length} smoke checks failed through the pin`, evidence: { failedChecks: failed },
    });
    return result(change, 'rollback', canary, { ...numbers, failedChecks: failed, consecutiveHolds: canary.consecutiveHolds });
  }
  const first = settings.steps[0];
  const checked = results.length > 0 ? `; ${results.length} smoke checks passed through the pin` : '';
  const change = advanceTo(state, canary, first, now, `advanced to ${first}%: ${what} (only the pin reached it)${checked}`);
  return result(change, 'advance', canary, { ...numbers, failedChecks: [], consecutiveHolds: 0 });
}

/**
 * The applying stage: what the cluster was observed running decides.
 * - A query failed → a hold (no data), counted like any other.
 * - Running: a canary at 0 % goes to the first step; a step is recorded as applied (its windows start a settle time
 *   later); a promotion removes the canary (stable runs its image); a roll back removes the canary (stable has all the
 *   traffic).
 * - Not running yet, within the progress deadline → hold, nothing written.
 * - Not running at the deadline → roll back; a roll back's first half not observed by then is finished anyway (what
 *   is left is the canary's Deployment, which no route uses once Argo CD applied the commit).
 */
function progress(input: DecideInput, canary: CanaryState, stage: Extract<Stage, { kind: 'applying' }>): GateResult {
  const { state, settings, now, observed } = input;
  if (!observed) throw new Error(`decide: whether the cluster runs ${state.service}'s release is due; observe it first`);
  const what = describeRelease(state.service, stage.release);
  const numbers = { failedChecks: [], measurements: null, baseline: null, failedCheckCount: canary.failedChecks };
  if (!observed.ok) {
    return unmeasuredHold(input, canary, `no verdict on whether ${what}: ${observed.error}`);
  }
  const phase = canary.phase ?? 'progressing';
  if (observed.applied) {
    if (phase === 'promoting' || phase === 'draining') {
      const reason = phase === 'draining' || canary.weight === 0
        ? `promoted: ${what}; the canary is removed`
        : `promoting: ${what}; all traffic returns to stable, then the canary is removed`;
      const change = endCanary(state, { decision: 'promote', by: 'gate', now, reason });
      return result(change, 'promote', canary, { ...numbers, consecutiveHolds: 0 });
    }
    if (phase === 'rolling-back') {
      const change = endCanary(state, { decision: 'rollback', by: 'gate', now, reason: `rolled back: ${what}; the canary is removed` });
      return result(change, 'rollback', canary, { ...numbers, consecutiveHolds: canary.consecutiveHolds });
    }
    if (canary.weight === 0) return firstStep(input, canary, what);
    const readyAt = new Date(now.getTime() + parseDuration(settings.analysis.settle, 'analysis.settle') + parseDuration(settings.analysis.window, 'analysis.window'));
    const entry: HistoryEntry = {
      at: stampNotBefore(now, canary.weightChangedAt), decision: 'hold', by: 'gate', image: canary.image, fromWeight: canary.weight,
      toWeight: canary.weight, reason: `applied: ${what}; measurable from ${readyAt.toISOString()}`,
    };
    const change: Change = { state: { ...state, canary: { ...canary, appliedAt: entry.at }, history: appendHistory(state.history, entry) }, entry };
    return { ...result(change, 'hold', canary, { ...numbers, consecutiveHolds: canary.consecutiveHolds }), hold: 'applied' };
  }
  if (now.getTime() <= stage.deadline.getTime()) {
    return {
      decision: 'hold', fromWeight: canary.weight, toWeight: canary.weight, hold: 'applying',
      reason: `applying: waiting until ${what} (deadline ${stage.deadline.toISOString()}, ${settings.analysis.progressDeadline} after ${canary.weightChangedAt})`,
      ...numbers, change: null, consecutiveHolds: canary.consecutiveHolds,
    };
  }
  const late = `not observed ${what} within ${settings.analysis.progressDeadline} of ${canary.weightChangedAt}`;
  if (phase === 'draining') {
    // stable runs the new release already: what is left is a Deployment the route no longer uses
    const change = endCanary(state, { decision: 'promote', by: 'gate', now, reason: `promoted: ${late}; the canary is removed anyway` });
    return result(change, 'promote', canary, { ...numbers, consecutiveHolds: canary.consecutiveHolds });
  }
  const change = phase === 'rolling-back'
    ? endCanary(state, { decision: 'rollback', by: 'gate', now, reason: `rolled back: ${late}; the canary is removed anyway` })
    : endCanary(state, { decision: 'rollback', by: 'gate', now, reason: `${ROLLBACK_BEGUN}: ${late}` });
  return result(change, 'rollback', canary, { ...numbers, consecutiveHolds: canary.consecutiveHolds });
}

type Evidence = Pick<HistoryEntry, 'measurements' | 'baseline'>;

interface HoldRequest {
  readonly kind: HoldKind;
  readonly reason: string;
  readonly evidence: Evidence;
  readonly failed: readonly string[];
  /** Why the failed checks roll the canary back at once, whatever the count ({@link severeFailure}). */
  readonly severe?: string;
}

/** A hold that waits for the next window: not counted, not notified, nothing written. */
function dwell(canary: CanaryState, why: string): GateResult {
  return {
    decision: 'hold', fromWeight: canary.weight, toWeight: canary.weight, hold: 'dwelling', reason: `dwelling: ${why}`,
    failedChecks: [], measurements: null, baseline: null, change: null,
    failedCheckCount: canary.failedChecks, consecutiveHolds: canary.consecutiveHolds,
  };
}

/**
 * A hold before the step is measured (its observation failed, its smoke checks could not run): nothing dwells there, so a
 * loop that runs more often than the window counts such a hold once per window, as the measured ones, and dwells in
 * between without writing (the same window in other words).
 */
function unmeasuredHold(input: DecideInput, canary: CanaryState, reason: string): GateResult {
  const { state, settings, now } = input;
  const last = lastCountedHold(state, canary, now);
  if (last !== undefined && now.getTime() - last < parseDuration(settings.analysis.window, 'analysis.window')) {
    return dwell(canary, `${reason} (not counted: the last counted hold, at ${new Date(last).toISOString()}, is less than a `
      + `${settings.analysis.window} window ago)`);
  }
  return hold(state, canary, settings, now, { kind: 'no-data', reason, evidence: {}, failed: [] });
}

/** A hold, or the roll back it triggers: at the failed-check limit, or beyond the limit of holds in a row. */
function hold(state: RolloutState, canary: CanaryState, settings: EffectiveSettings, now: Date, request: HoldRequest): GateResult {
  const { analysis } = settings;
  const failedCheckCount = canary.failedChecks + (request.failed.length > 0 ? 1 : 0);
  const consecutiveHolds = canary.consecutiveHolds + 1;
  const { reason } = request;
  const evidence = { ...request.evidence, ...(request.failed.length > 0 ? { failedChecks: request.failed } : {}) };
  const numbers = { failedChecks: request.failed, measurements: request.evidence.measurements ?? null, baseline: request.evidence.baseline ?? null };

  // the first half of a roll back (or, when one is under way, its end)
  const rollingBack = canary.phase === 'rolling-back' ? 'rolled back' : ROLLBACK_BEGUN;
  const rollback = request.failed.length > 0 && request.severe !== undefined
    ? `${rollingBack} at once: ${request.severe}; ${reason}`
    : request.failed.length > 0 && failedCheckCount >= analysis.maxFailedChecks
    ? `${rollingBack}: ${reason}`
    : consecutiveHolds > analysis.maxConsecutiveHolds
      ? `${rollingBack} (fail safe): ${consecutiveHolds} holds in a row, more than ${analysis.maxConsecutiveHolds}; last: ${reason}`
      : undefined;
  // the state the roll back starts from counts the hold that ended the run: the state file, its commit and `canary
  // status` then say "failed checks 3/3", as the reason does
  const counted: RolloutState = { ...state, canary: { ...canary, failedChecks: failedCheckCount, consecutiveHolds } };
  if (rollback !== undefined && canary.phase === 'draining') {
    // nothing to roll back to: stable runs the promoted release; the fail safe ends the promotion instead
    const change = endCanary(counted, { decision: 'promote', by: 'gate', now, reason: `promoted (fail safe): ${reason}; the canary is removed anyway`, evidence });
    return { ...result(change, 'promote', canary, { ...numbers, failedCheckCount, consecutiveHolds }), hold: null };
  }
  if (rollback !== undefined) {
    const change = endCanary(counted, { decision: 'rollback', by: 'gate', now, reason: rollback, evidence });
    return { ...result(change, 'rollback', canary, { ...numbers, failedCheckCount, consecutiveHolds }), hold: null };
  }
  const entry: HistoryEntry = {
    at: now.toISOString(), decision: 'hold', by: 'gate', image: canary.image, fromWeight: canary.weight, toWeight: canary.weight, reason, ...evidence,
  };
  const change: Change = { state: { ...counted, history: appendHistory(state.history, entry) }, entry };
  return { ...result(change, 'hold', canary, { ...numbers, failedCheckCount, consecutiveHolds }), hold: request.kind };
}

/**
 * Why a failed check rolls the canary back at once: its success ratio below `analysis.rollbackBelowSuccessRatio` (at
 * most the SLO's own ratio: the default 0.5 stays below an SLO of less), over at least `analysis.minCanaryRequests`
 * canary requests (at least one), never fewer for a low weight: a handful of failures at a 1 % step is no verdict, and
 * the counted failed checks are the margin there. Undefined otherwise.
 */
function severeFailure(m: Measurements, settings: EffectiveSettings): string | undefined {
  const floor = Math.min(settings.analysis.rollbackBelowSuccessRatio, settings.slo.successRatio);
  const enough = Math.max(settings.analysis.minCanaryRequests, 1);
  if (m.successRatio === null || bp(m.successRatio) >= bp(floor) || (m.canaryRequests ?? 0) < enough) return undefined;
  return `success ratio ${m.successRatio} < ${floor} (analysis.rollbackBelowSuccessRatio) over ${m.canaryRequests} canary requests`;
}

function result(change: Change, decision: Exclude<GateDecision, 'none'>, canary: CanaryState,
  numbers: Pick<GateResult, 'failedChecks' | 'measurements' | 'baseline' | 'failedCheckCount' | 'consecutiveHolds'>): GateResult {
  return { decision, fromWeight: canary.weight, toWeight: change.entry.toWeight, reason: change.entry.reason, hold: null, change, ...numbers };
}

interface Verdict {
  /** Failed checks, `name: numbers`. */
  readonly failed: string[];
  /** Numbers the verdict needs but does not have. */
  readonly unknown: string[];
  /** The checks that passed, with their numbers. */
  readonly passed: string[];
}

/** `percent` % of `requests`, rounded up to whole requests (a hair of float error is not one more request). */
function wholeShare(percent: number, requests: number): number {
  return Math.ceil((percent * requests) / 100 - 1e-9);
}

// ratios compared in integer units of 1e-4 (they are recorded with 4 decimals), so 0.08 - 0.06 is exactly 0.02
const bp = (ratio: number): number => Math.round(ratio * 1e4);
const ratio = (units: number): string => String(units / 1e4);

function evaluate(weight: number, m: Measurements, b: BaselineMeasurements | null, settings: EffectiveSettings): Verdict {
  const { slo, analysis } = settings;
  const verdict: Verdict = { failed: [], unknown: [], passed: [] };
  const total = m.requests ?? 0;
  const canaryRequests = m.canaryRequests ?? 0;
  // a canary that served nothing fails even when its weight predicts less than one request
  const expected = Math.max(1, wholeShare(weight, total * analysis.canaryTrafficFactor));
  if (canaryRequests < expected) {
    verdict.failed.push(`${TRAFFIC_CHECK}: ${canaryRequests} requests < ${expected} expected (${weight}% of ${total} × ${analysis.canaryTrafficFactor}); `
      + 'is the canary running and in the route?');
  } else {
    verdict.passed.push(`canary served ${canaryRequests} of ${total} requests (≥ ${expected})`);
  }
  if (canaryRequests === 0) return verdict;
  // the other side: traffic that reaches only the canary below 100 % means stable's series are missing or the route
  // is not what the state says, and a baseline of nothing would otherwise pass the comparison with stable
  const stableRequests = total - canaryRequests;
  // whole requests its share × the factor promises (none below one: at 99 % with little traffic stable may get none)
  const stableExpected = weight < 100 ? Math.floor(((100 - weight) * total * analysis.canaryTrafficFactor) / 100 + 1e-9) : 0;
  if (stableRequests < stableExpected) {
    verdict.unknown.push(`stable served ${stableRequests} of ${total} requests < ${stableExpected} expected (${100 - weight}% of ${total} × `
      + `${analysis.canaryTrafficFactor}); are stable's metrics missing, or does the route send it less than its share?`);
  }

  sloChecks(verdict, m, slo);

  if (analysis.baseline.enabled && m.successRatio !== null) {
    if (b === null || b.requests === 0) {
      // below 100 % that is an unknown already (above): no pass for a comparison that was not made
      if (stableExpected === 0) verdict.passed.push('baseline not compared (stable served no requests)');
    } else if (b.successRatio === null) {
      verdict.unknown.push(`stable's success ratio is unknown (no response codes for its ${b.requests} requests)`);
    } else {
      const canaryErrors = bp(1) - bp(m.successRatio);
      const stableErrors = bp(1) - bp(b.successRatio);
      const margin = bp(analysis.baseline.maxErrorRatioIncrease);
      const comparison = `canary ${ratio(canaryErrors)} − stable ${ratio(stableErrors)} = ${ratio(canaryErrors - stableErrors)}`;
      if (canaryErrors - stableErrors > margin) verdict.failed.push(`baselineErrorRatio: ${comparison} > ${ratio(margin)}`);
      else verdict.passed.push(`error ratio ${comparison} ≤ ${ratio(margin)} over stable`);
    }
  }
  const maxLatencyRatio = analysis.baseline.maxLatencyRatio;
  if (analysis.baseline.enabled && maxLatencyRatio !== undefined && maxLatencyRatio !== null && b !== null && (b.requests ?? 0) > 0) {
    const floor = analysis.baseline.minLatencyIncreaseMs ?? 0;
    compareLatency(verdict, 'p95Ms', m.p95Ms, b.p95Ms, maxLatencyRatio, floor);
    if (slo.p99LatencyMs !== undefined) compareLatency(verdict, 'p99Ms', m.p99Ms, b.p99Ms, maxLatencyRatio, floor);
  }
  return verdict;
}

/** The SLO's own checks of the canary's numbers: its success ratio, its p95, and its p99 when the SLO bounds it. */
function sloChecks(verdict: Verdict, m: Measurements, slo: EffectiveSettings['slo']): void {
  if (m.successRatio === null) verdict.unknown.push('the canary\'s success ratio is unknown (no response codes)');
  else if (bp(m.successRatio) < bp(slo.successRatio)) verdict.failed.push(`successRatio: ${m.successRatio} < ${slo.successRatio}`);
  else verdict.passed.push(`success ratio ${m.successRatio} ≥ ${slo.successRatio}`);

  const latency = (name: 'p95Ms' | 'p99Ms', limit: number | undefined): void => {
    if (limit === undefined) return;
    const value = m[name];
    if (value === null) verdict.unknown.push(`the canary's ${name.slice(0, 3)} latency is unknown (no histogram samples)`);
    else if (value > limit) verdict.failed.push(`${name}: ${value} > ${limit}`);
    else verdict.passed.push(`${name.slice(0, 3)} ${value} ms ≤ ${limit}`);
  };
  latency('p95Ms', slo.p95LatencyMs);
  latency('p99Ms', slo.p99LatencyMs);
}

/**
 * The SLO checks that fail on the queries that answered, when others did not (a timeout, a refusal, a partial
 * answer): one failed latency query must not turn a canary failing every request into a hold, 13 windows from its
 * roll back instead of 3. Only where a missing answer cannot have made a check fail: the canary's requests must have
 * answered, and with stable's (or without: a lower bound) reach `minRequests`; its success ratio needs its own errors,
 * and its callers' errors, when missing, count as none, which can only raise it; each latency needs its own quantile.
 * The traffic share and the comparison with stable need every number, so they wait for a window that has them.
 *
 * @returns the failed checks and the numbers they were judged on, or undefined when none can be shown to fail
 */
function failuresOnAnswered(samples: Samples, settings: EffectiveSettings): { failed: string[]; measurements: Measurements } | undefined {
  // a count's empty answer is an error of its own (measure): not an answer
  const answered = Object.fromEntries(Object.entries(samples).filter(([, value]) => typeof value === 'number')) as Samples;
  if (answered.canaryRequests === undefined) return undefined;
  const { measurements } = combineSamples(answered, false);
  if ((measurements.requests ?? 0) < settings.analysis.minRequests || (measurements.canaryRequests ?? 0) === 0) return undefined;
  const verdict: Verdict = { failed: [], unknown: [], passed: [] };
  sloChecks(verdict, measurements, settings.slo);
  return verdict.failed.length > 0 ? { failed: verdict.failed, measurements } : undefined;
}

/**
 * The canary's latency against stable's over the same window: at most `maxRatio` times it, or within `floorMs` of it.
 * Unknown on either side is no comparison (the SLO's absolute bound still holds, and an unknown canary latency is
 * already a missing number).
 */
function compareLatency(verdict: Verdict, name: 'p95Ms' | 'p99Ms', canary: number | null, stable: number | null, maxRatio: number,
  floorMs: number): void {
  if (canary === null || stable === null) return;
  const byRatio = Math.round(stable * maxRatio * 10) / 10;
  const byFloor = Math.round((stable + floorMs) * 10) / 10;
  const limit = Math.max(byRatio, byFloor);
  const how = byRatio >= byFloor ? `× ${maxRatio}` : `+ ${floorMs} ms`;
  const quantile = name.slice(0, 3);
  const baselineName = `baseline${quantile[0].toUpperCase()}${quantile.slice(1)}`;
  if (canary > limit) verdict.failed.push(`${baselineName}: canary ${canary} ms > stable ${stable} ms ${how} = ${limit} ms`);
  else verdict.passed.push(`${quantile} ${canary} ms ≤ stable's × ${maxRatio} (${limit} ms)`);
}
