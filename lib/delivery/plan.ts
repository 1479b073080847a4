import { canaryCommand, initCommand } from '../rollout/commands';
import { DELIVERY_DEFAULTS } from '../rollout/defaults';
import { PodField, PodRecord, describePodChange, podChanges } from '../rollout/pod';
import { EffectiveSettings, defined, nextStep, settingsOf } from '../rollout/settings';
import { AnalysisSettings, CanaryPhase, HistoryEntry, RolloutState, SloSettings, appliedAtOf, imageProblem } from '../rollout/state';
import { repositoryOf } from '../rollout/store';
import { SERVICES_DIR, Services, serviceFile } from '../services/catalog';
import { ServiceSpec } from '../services/service';

/**
 * Why the CLI refused a request (exit code 2), as `--json` reports it:
 * - `usage`: bad arguments, an unknown service, uncommitted changes under `--commit`;
 * - `config`: a configuration, service or state file that cannot be used;
 * - `in-flight`: a canary is already in flight;
 * - `not-in-flight`: no canary to promote or roll back;
 * - `exists`: `init` would overwrite a state file;
 * - `busy`: another run on this checkout holds the lock of the service (or of the writes);
 * - `superseded`: the remote branch's state file changed since this run read it (`--push`): its decision was dropped;
 * - `not-releasable`: an image from a registry the environment does not allow, or without the digest it requires.
 */
export type UsageErrorCode = 'usage' | 'config' | 'in-flight' | 'not-in-flight' | 'exists' | 'busy' | 'superseded' | 'not-releasable';

/** A request the CLI cannot carry out: bad arguments, bad configuration, or a state that forbids it (exit code 2). */
export class UsageError extends Error {
  public constructor(message: string, public readonly code: UsageErrorCode = 'usage') {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The service file of the service a command names.
 *
 * @throws {@link UsageError} when no file under services/ names it, listing those that do and how to onboard it
 */
export function serviceNamed(services: Services, name: string): ServiceSpec {
  if (Object.hasOwn(services, name)) return services[name];
  const known = Object.keys(services);
  throw new UsageError(`--service must name a service with a file under ${SERVICES_DIR}/ (${known.join(', ') || 'none yet'}), `
    + `got ${JSON.stringify(name)}; to onboard it, add ${serviceFile(name)} (${SERVICES_DIR}/schema.json says what it holds), then run `
    + `\`${initCommand(name)}\``);
}

/**
 * Checks an image a person names for a service (`init`, `start`): a reference pinned by tag or digest, of the
 * repository the service's file names.
 *
 * @throws {@link UsageError} naming the flag, the image and what is allowed
 */
export function checkServiceImage(service: ServiceSpec, image: string, flag = '--image'): void {
  const problem = imageProblem(image);
  if (problem) throw new UsageError(`${flag} ${problem}`);
  if (repositoryOf(image) !== service.image) {
    throw new UsageError(`${flag} must be an image of ${service.image}, the repository ${service.file} names, got ${JSON.stringify(image)}; `
      + `push the image there, or change 'image' in ${service.file}`);
  }
}

/**
 * The first state of a service in an environment (`canary init`): stable runs `image` with the configuration `pod`,
 * no canary, no history, and no steps, SLO or analysis of its own, so that the service file's (or the defaults) apply.
 *
 * @param pod the configuration the service file and the environment give now (`currentPod`, lib/charts/service-pods.ts)
 * @throws {@link UsageError} when the image is not pinned or not of the service's repository
 */
export function initialState(service: ServiceSpec, image: string, pod: PodRecord): RolloutState {
  checkServiceImage(service, image);
  return { service: service.name, stable: { image, pod }, canary: null, history: [] };
}

/** Analysis settings a single run may override on the command line (`--window`, `--min-requests`, `--settle`, `--timeout`). */
export type AnalysisOverrides = Partial<Pick<AnalysisSettings, 'window' | 'minRequests' | 'settle' | 'queryTimeout'>>;

/** The settings with one run's overrides applied; the state file is not changed by them. */
export function withOverrides(settings: EffectiveSettings, overrides: AnalysisOverrides): EffectiveSettings {
  return { ...settings, analysis: { ...settings.analysis, ...defined(overrides) } };
}

/**
 * `now` as a state file's time, but never before `earlier` (the canary's own times): runs on machines whose clocks
 * differ (a laptop a minute behind the CronJob) must still write a state where the step follows the start and the
 * observation follows the step, or the next run refuses the file.
 */
export function stampNotBefore(now: Date, ...earlier: ReadonlyArray<string | undefined>): string {
  const latest = Math.max(now.getTime(), ...earlier.filter((t): t is string => t !== undefined).map(t => Date.parse(t)));
  return new Date(latest).toISOString();
}

/**
 * Appends a decision to a history, merging a hold into the previous entry when that was the same hold (same reason
 * and weight, no failed checks: each failed check keeps its own entry and numbers), and keeping at most `limit` entries.
 */
export function appendHistory(history: readonly HistoryEntry[], entry: HistoryEntry,
  limit: number = DELIVERY_DEFAULTS.historyLimit): HistoryEntry[] {
  const last = history[history.length - 1];
  if (entry.decision === 'hold' && last?.decision === 'hold' && last.reason === entry.reason && last.toWeight === entry.toWeight
    && last.image === entry.image && !entry.failedChecks?.length && !last.failedChecks?.length) {
    const merged: HistoryEntry = { ...entry, count: (last.count ?? 1) + 1, firstAt: last.firstAt ?? last.at };
    return [...history.slice(0, -1), merged].slice(-limit);
  }
  return [...history, entry].slice(-limit);
}

/** The result of a state change: the new state and the history entry that explains it. */
export interface Change {
  readonly state: RolloutState;
  readonly entry: HistoryEntry;
}

/** What a release brings stable: an image (the new one, else stable's) and the configuration, with what is new in it. */
interface Release {
  readonly image: string;
  /** The configuration change in words (`pod … → … (env)`), or undefined when the configuration is stable's. */
  readonly config?: string;
}

/**
 * What releasing `image` (undefined: stable's) with the configuration `pod` would change: a new image, a new
 * configuration (`pod` differs from stable's record), or both.
 *
 * @param how `start` for a canary, `--ungated` for stable at once, for the messages
 * @throws {@link UsageError} (code `in-flight`) while a canary is in flight; (code `usage`) when the image is not
 *   pinned or not of the service's repository, or when neither the image nor the configuration is new
 */
function releaseOf(state: RolloutState, image: string | undefined, service: ServiceSpec, pod: PodRecord | undefined,
  how: 'start' | '--ungated'): Release {
  if (state.canary) {
    const { phase } = state.canary;
    // an ending canary cannot be rolled back any more (draining) or promoted (rolling-back): say what ends it
    const end = phase === 'draining' ? 'its promotion is ending: the gate removes it once the cluster runs that (canary advance)'
      : phase === 'rolling-back' ? 'it is being rolled back: the gate removes it once the cluster runs that (canary advance)'
        : 'promote or roll it back';
    throw new UsageError(`a canary of ${state.service} is already in flight (${state.canary.image} at ${state.canary.weight}%`
      + `${phase ? `, ${phase}` : ''}); ${end} before ${how === 'start' ? 'starting another' : 'changing stable with --ungated'}`, 'in-flight');
  }
  if (image !== undefined) checkServiceImage(service, image);
  const stable = state.stable;
  const config = stable.pod && pod && podChanges(stable.pod, pod).length > 0 ? describePodChange(stable.pod, pod) : undefined;
  if (config === undefined && (image ?? stable.image) === stable.image) {
    if (image !== undefined) {
      throw new UsageError(`${image} is what ${state.service} already runs as stable, with the configuration ${service.file} gives; `
        + `build and push a new image first, or change ${service.file}`);
    }
    throw new UsageError(stable.pod
      ? `nothing to release: stable runs ${stable.image} with the configuration ${service.file} and the environment give now `
        + `(pod ${stable.pod.hash}); name a new image with --image, or change ${service.file}`
      : `${how} needs --image: the state of ${state.service} records no configuration of stable yet, so stable runs what ${service.file} `
        + 'says now and only a new image is a release; name one with --image (pinned by tag or digest)');
  }
  return { image: image ?? stable.image, ...(config ? { config } : {}) };
}

/**
 * Starts a canary at weight 0: its Deployment runs and the pin reaches it, the weighted route sends it nothing until
 * the gate has observed it running ready (then it goes to the first of the service's steps, {@link settingsOf}: the
 * state file's, else the service file's, else the defaults). The canary runs `image` (undefined: stable's) with the
 * configuration `pod`, which it records; a state whose stable has no record yet records `pod` for stable too, since
 * stable runs what the files say until now.
 *
 * @param service the service file of the state's service
 * @param pod the configuration the service file and the environment give now (`currentPod`, lib/charts/service-pods.ts);
 *   without it nothing is recorded, the canary runs what the files say, and only a new image is a release
 * @throws {@link UsageError} when a canary is already in flight, the image is not pinned or not of the service's
 *   repository, or neither the image nor the configuration differs from stable's
 */
export function startCanary(state: RolloutState, image: string | undefined, now: Date, service: ServiceSpec, pod?: PodRecord): Change {
  const release = releaseOf(state, image, service, pod, 'start');
  const at = now.toISOString();
  const first = settingsOf(state, service).steps[0];
  const config = release.config ? ` with the configuration of ${service.file}: ${release.config}` : '';
  // not refused (the history keeps the image, not the configuration it failed with), but said: in the output, the
  // commit message and the notification, where whoever re-ran a deploy sees it
  const rolledBack = gateRolledBack(state.history, release.image);
  const again = rolledBack ? `; note: the gate rolled ${release.image} back at ${rolledBack.at}` : '';
  const entry: HistoryEntry = {
    at, decision: 'start', by: 'cli', image: release.image, fromWeight: 0, toWeight: 0,
    reason: `canary ${release.image} started at 0% (only the pin reaches it)${config}; the gate gives it ${first}% once it runs ready${again}`,
  };
  return {
    state: {
      ...state,
      stable: state.stable.pod || !pod ? state.stable : { ...state.stable, pod },
      canary: { image: release.image, weight: 0, startedAt: at, weightChangedAt: at, failedChecks: 0, consecutiveHolds: 0, ...(pod ? { pod } : {}) },
      history: appendHistory(state.history, entry),
    },
    entry,
  };
}

/**
 * Releases `image` (undefined: stable's) with the configuration `pod` to stable at once, without a canary or the gate
 * (`canary start --ungated`): stable records both, and the history says it was ungated.
 *
 * @param pod the configuration the service file and the environment give now (`currentPod`, lib/charts/service-pods.ts)
 * @throws {@link UsageError} as {@link startCanary}
 */
export function releaseUngated(state: RolloutState, image: string | undefined, now: Date, service: ServiceSpec, pod: PodRecord): Change {
  const release = releaseOf(state, image, service, pod, '--ungated');
  const config = release.config ? ` with the configuration of ${service.file}: ${release.config}` : '';
  const entry: HistoryEntry = {
    at: now.toISOString(), decision: 'promote', by: 'cli', image: release.image, fromWeight: 0, toWeight: 0,
    reason: `ungated: stable runs ${release.image}${config} at once, without a canary or the gate`,
  };
  return { state: { ...state, stable: { image: release.image, pod }, history: appendHistory(state.history, entry) }, entry };
}

/**
 * How a canary run moves towards its end: promoted (stable takes the canary's image and configuration) or rolled back
 * (stable untouched).
 */
export interface EndOptions {
  readonly decision: 'promote' | 'rollback';
  readonly by: HistoryEntry['by'];
  readonly now: Date;
  readonly reason: string;
  /** Numbers and checks behind a gate decision, recorded in the history entry. */
  readonly evidence?: Pick<HistoryEntry, 'measurements' | 'baseline' | 'failedChecks'>;
}

/**
 * Moves the canary in flight towards its end, in two halves so that no request meets a pod that is not there:
 * - promote: first stable rolls out the canary's image and configuration while the canary keeps its weight
 *   (`promoting`); then, called again, the canary is removed and stable takes its image and its record of the
 *   configuration (and all the traffic);
 * - roll back: first the route gives stable everything (weight 0, `rolling-back`); then, called again, the canary is
 *   removed.
 * A roll back may interrupt a promotion (stable goes back to its image); a promotion cannot interrupt a roll back.
 *
 * @throws {@link UsageError} (code `not-in-flight`) when no canary is in flight, or a promotion while rolling back
 */
export function endCanary(state: RolloutState, options: EndOptions): Change {
  const canary = state.canary;
  const promote = options.decision === 'promote';
  if (!canary) {
    throw new UsageError(`no canary of ${state.service} is in flight; nothing to ${promote ? 'promote' : 'roll back'}`, 'not-in-flight');
  }
  if (promote && canary.phase === 'rolling-back') {
    throw new UsageError(`the canary ${canary.image} of ${state.service} is being rolled back; it cannot be promoted`, 'not-in-flight');
  }
  if (!promote && canary.phase === 'draining') {
    throw new UsageError(`the promotion of ${canary.image} (${state.service}) is ending: stable already runs it; the gate removes the canary `
      + 'once the cluster runs that (canary advance), then release the previous image with canary start to go back', 'not-in-flight');
  }
  const at = stampNotBefore(options.now, canary.startedAt, canary.weightChangedAt, canary.appliedAt);
  // a promoted canary that still takes traffic drains first: the route gives it 0 before it is removed
  if (promote && canary.phase === 'promoting' && canary.weight > 0) {
    const entry: HistoryEntry = {
      at, decision: 'promote', by: options.by, image: canary.image, fromWeight: canary.weight, toWeight: 0, reason: options.reason, ...options.evidence,
    };
    const { appliedAt: _drained, ...kept } = canary;
    return {
      state: {
        ...state,
        stable: { image: canary.image, ...(canary.pod ? { pod: canary.pod } : {}) },
        canary: { ...kept, phase: 'draining', weight: 0, weightChangedAt: at, consecutiveHolds: 0 },
        history: appendHistory(state.history, entry),
      },
      entry,
    };
  }
  const finishing = canary.phase === (promote ? 'promoting' : 'rolling-back') || (promote && canary.phase === 'draining');
  const toWeight = finishing || !promote ? 0 : canary.weight;
  const entry: HistoryEntry = {
    at, decision: options.decision, by: options.by, image: canary.image, fromWeight: canary.weight, toWeight, reason: options.reason,
    ...options.evidence,
  };
  const history = appendHistory(state.history, entry);
  if (finishing) {
    // a canary started before records ran what the files say, as stable then does
    const stable = promote && canary.phase !== 'draining' ? { image: canary.image, ...(canary.pod ? { pod: canary.pod } : {}) } : state.stable;
    return { state: { ...state, stable, canary: null, history }, entry };
  }
  const { appliedAt: _applied, pod, ...rest } = canary;
  // a new phase with its own progress deadline: the holds that led here (reported in the result) do not count against it
  const next = {
    ...rest, phase: promote ? 'promoting' : 'rolling-back', weight: toWeight, weightChangedAt: at, consecutiveHolds: 0, ...(pod ? { pod } : {}),
  } as const;
  return { state: { ...state, canary: next, history }, entry };
}

/**
 * How the reason of a roll back's first half (all traffic to stable) begins; its second half, the canary removed,
 * begins `rolled back`.
 */
export const ROLLBACK_BEGUN = 'rolling back';

/**
 * The gate's roll back of `image` (its first half, {@link ROLLBACK_BEGUN}; the second, removing the canary, the gate
 * writes after a roll back by hand too), unless the image was promoted since; undefined when there is none.
 */
function gateRolledBack(history: readonly HistoryEntry[], image: string): HistoryEntry | undefined {
  // newest first: a promotion counts only when no roll back of the image followed it (a promotion abandoned halfway)
  let rolledBackSince = false;
  for (const entry of [...history].reverse()) {
    if (entry.image !== image) continue;
    if (entry.decision === 'promote' && !rolledBackSince) return undefined;
    if (entry.decision === 'rollback') {
      if (entry.by === 'gate' && entry.reason.startsWith(ROLLBACK_BEGUN)) return entry;
      rolledBackSince = true;
    }
  }
  return undefined;
}

/**
 * A promotion or roll back by hand (`canary promote`, `canary rollback`), with an optional reason: each call takes the
 * next step the gate would take, without waiting for the gate to observe the last one. A roll back takes two calls; a
 * promotion from a step three (stable rolls out, traffic returns to it, the canary is removed), from 0 % two. The call
 * that removes a canary whose traffic the last one moved to stable needs `force`: nothing records that the cluster runs
 * that route (the gate removes the canary itself once it sees it), and both could reach the cluster in one sync; so
 * does the call that moves a promotion's traffic to stable before stable was observed running the release.
 *
 * @throws {@link UsageError} for those calls without `force`
 */
export function endCanaryByHand(state: RolloutState, env: string, decision: 'promote' | 'rollback', now: Date, reason?: string, force = false): Change {
  // without a canary, endCanary refuses before the text is used
  const canary = state.canary;
  // the canary's traffic went to stable in the last change: removing it before the cluster runs that change could land
  // both in one Argo CD sync, and the requests in flight to it would fail (the gate removes it once it sees the route)
  const leaving = canary?.phase === (decision === 'promote' ? 'draining' : 'rolling-back');
  if (canary && leaving && canary.appliedAt === undefined && !force) {
    throw new UsageError(`the canary ${canary.image} of ${state.service} got its traffic moved to stable at ${canary.weightChangedAt}, and nothing `
      + 'observed the cluster running that yet: removed now, both changes could reach the cluster in one sync, failing the requests in flight '
      + `to it. ${canaryCommand('advance', env, state.service)} (or the gate's loop) removes it once the cluster runs the route; --force removes it now`);
  }
  // the same for a promotion's first two halves: stable told to roll out the canary's release, then the canary's
  // traffic moved to it, in one sync, would send that traffic to stable's old pods for the whole rolling update
  if (canary && decision === 'promote' && canary.phase === 'promoting' && canary.weight > 0 && !force) {
    throw new UsageError(`stable of ${state.service} was told to roll out ${canary.image} at ${canary.weightChangedAt}, and nothing observed it running `
      + `that yet: the canary's ${canary.weight}% moved to stable now could reach the cluster in the same sync, and go to stable's pods of the old `
      + `release while they are replaced. ${canaryCommand('advance', env, state.service)} (or the gate's loop) moves it once stable runs ready; --force `
      + 'moves it now');
  }
  const what = decision === 'promote'
    ? canary?.phase === 'draining' || (canary?.phase === 'promoting' && canary.weight === 0)
      ? `promoted by hand: stable runs ${canary.image}; the canary is removed`
      : canary?.phase === 'promoting'
        ? `promoting by hand: stable runs ${canary.image}, all traffic to it; the gate removes the canary once that is applied`
        : `promoting by hand: stable rolls out ${canary?.image} while the canary keeps its ${canary?.weight}%; `
          + 'the gate moves the traffic to stable once it runs ready'
    : canary?.phase === 'rolling-back'
      ? `rolled back by hand: the canary ${canary.image} is removed`
      : `rolling back by hand: stable ${state.stable.image} gets all traffic; the gate removes the canary once that is applied`;
  return endCanary(state, { decision, by: 'cli', now, reason: reason === undefined ? what : `${what} (${reason})` });
}

/** What `canary status` reports about one service. */
export interface ServiceStatus {
  readonly env: string;
  readonly service: string;
  readonly stableImage: string;
  readonly canary: null | {
    readonly image: string;
    readonly weight: number;
    readonly phase: CanaryPhase;
    /** When the gate observed the current step running, or null (not yet). */
    readonly appliedAt: string | null;
    readonly stableWeight: number;
    /** 1-based position of the current weight in the steps. */
    readonly step: number;
    readonly steps: readonly number[];
    /** The weight an advance would set, or null when the next move is a promotion. */
    readonly nextWeight: number | null;
    readonly startedAt: string;
    readonly weightChangedAt: string;
    readonly failedChecks: number;
    readonly maxFailedChecks: number;
    readonly consecutiveHolds: number;
    readonly maxConsecutiveHolds: number;
  };
  /** The configuration each track runs (a pod record's hash), and what the service file would change. */
  readonly config: ConfigStatus;
  /**
   * The service file's `previousImage` while stable or the canary in flight still runs an image of it (a registry move,
   * which a release completes), else null.
   */
  readonly movingFrom: string | null;
  readonly slo: SloSettings;
  readonly analysis: AnalysisSettings;
  readonly lastDecision: HistoryEntry | null;
}

/** What `canary status` reports about a service's configuration. */
export interface ConfigStatus {
  /** The service file, whose configuration (with the environment's defaults) a release records. */
  readonly file: string;
  /** The hash of stable's record, or null: stable has none and runs what the files say now. */
  readonly stable: string | null;
  /** The hash of the canary's record, or null: no canary, or one without a record (it runs what the files say now). */
  readonly canary: string | null;
  /** The hash of what the service file and the environment give now: what `canary start` would record. */
  readonly current: string;
  /**
   * What the current configuration changes against the latest record (the canary's while it has one, else stable's):
   * not running anywhere yet, released by the next `canary start`. Empty when they agree, or without a record.
   */
  readonly unreleased: readonly PodField[];
}

/**
 * The status of one service, with the settings its releases run with ({@link settingsOf}).
 *
 * @param service the service file of the state's service
 * @param current the configuration the service file and the environment give now (`currentPod`, lib/charts/service-pods.ts)
 */
export function statusOf(env: string, state: RolloutState, service: ServiceSpec, current: PodRecord): ServiceStatus {
  const { slo, analysis, steps } = settingsOf(state, service);
  const canary = state.canary;
  // the steps at or below its weight are done (a plan changed in flight may not have its weight)
  const done = canary ? steps.filter(step => step <= canary.weight).length : 0;
  const latest = canary?.pod ?? state.stable.pod;
  return {
    env,
    service: state.service,
    stableImage: state.stable.image,
    canary: canary && {
      image: canary.image,
      weight: canary.weight,
      phase: canary.phase ?? 'progressing',
      appliedAt: appliedAtOf(state) ?? null,
      stableWeight: 100 - canary.weight,
      step: done,
      steps,
      nextWeight: canary ? nextStep(steps, canary.weight) ?? null : null,
      startedAt: canary.startedAt,
      weightChangedAt: canary.weightChangedAt,
      failedChecks: canary.failedChecks,
      maxFailedChecks: analysis.maxFailedChecks,
      consecutiveHolds: canary.consecutiveHolds,
      maxConsecutiveHolds: analysis.maxConsecutiveHolds,
    },
    config: {
      file: service.file,
      stable: state.stable.pod?.hash ?? null,
      canary: canary?.pod?.hash ?? null,
      current: current.hash,
      unreleased: latest ? podChanges(latest, current) : [],
    },
    movingFrom: [state.stable.image, canary?.image].some(image => image !== undefined && repositoryOf(image) === service.previousImage)
      ? service.previousImage ?? null : null,
    slo,
    analysis,
    lastDecision: state.history[state.history.length - 1] ?? null,
  };
}

/** One line of human-readable status. */
export function describeStatus(s: ServiceStatus): string {
  const head = `${s.env}/${s.service}: stable ${s.stableImage}${s.config.stable ? ` (pod ${s.config.stable})` : ''}`;
  // without a record, stable runs what the files say: a change to them reaches it at the next sync, ungated
  const unrecorded = s.config.stable === null && !s.canary
    ? `; stable runs no recorded configuration: a change to ${s.config.file} reaches it at once, without a canary (canary start records it)` : '';
  const unreleased = s.config.unreleased.length === 0 ? unrecorded : s.canary
    ? `; ${s.config.file} has changed since the canary started (${s.config.unreleased.join(', ')}): the next canary start releases it`
    : `; ${s.config.file} differs from what stable runs (${s.config.unreleased.join(', ')}): canary start releases it`;
  const moving = s.movingFrom === null ? '' : `; a registry move: what runs from ${s.movingFrom} (previousImage in ${s.config.file}) runs `
    + `until a release replaces it (${s.canary ? 'the canary\'s promotion, or canary start after it' : 'canary start'}); remove previousImage then`;
  if (!s.canary) return `${head}; no canary in flight${unreleased}${moving}`;
  const c = s.canary;
  const next = c.nextWeight === null ? 'next: promote' : `next: ${c.nextWeight}%`;
  // the canary's configuration where it is not stable's: an image release does not repeat it
  const image = `${c.image}${s.config.canary && s.config.canary !== s.config.stable ? ` (pod ${s.config.canary})` : ''}`;
  const where = c.phase === 'promoting'
    ? `promoting: stable rolls out ${image}, the canary keeps ${c.weight}%`
    : c.phase === 'draining'
      ? `promoted to stable ${s.stableImage}: all traffic to stable, the canary is removed once that is applied`
      : c.phase === 'rolling-back'
      ? `rolling back ${image}: all traffic to stable, the canary is removed once that is applied`
      : `canary ${image} at ${c.weight}% (step ${c.step} of ${c.steps.length}, ${next}; ${c.appliedAt ? `applied ${c.appliedAt}` : 'not yet observed applied'})`;
  // why it stands where it stands: the last decision's reason (a hold's numbers, what it waits for), as --json has it
  const last = s.lastDecision;
  const why = last ? `; last: ${last.decision} at ${last.at}${last.count && last.count > 1 ? ` (${last.count} in a row)` : ''}: ${last.reason}` : '';
  return `${head}; ${where}, since ${c.startedAt}, `
    + `failed checks ${c.failedChecks}/${c.maxFailedChecks}, holds in a row ${c.consecutiveHolds}/${c.maxConsecutiveHolds}${why}${unreleased}${moving}`;
}
