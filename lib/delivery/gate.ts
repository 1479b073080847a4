import { parseDuration } from '../rollout/duration';
import { EffectiveSettings } from '../rollout/settings';
import { RolloutState } from '../rollout/state';
import { ServiceSpec } from '../services/service';
import { clusterSeenQuery, clusterSeenRequirements, observedReleaseQuery } from '../slo/cluster-state';
import { GateResult, ObserveOutcome, Stage, TRAFFIC_CHECK, canaryStep, decide, describeRelease, stageOf } from './decide';
import { MeasureOutcome, measure } from './measure';
import { CLUSTER_PLACEHOLDER, SmokeOutcome, runSmokeChecks, smokeOutcomeOf, smokeUrlFor } from './smoke';
import { PrometheusOptions, queryValue } from './prometheus';
import { GateQueries, gateQueries } from './queries';
import { UsageError, appendHistory } from './plan';

/** What one run of the gate is about. */
export interface GateInput {
  readonly state: RolloutState;
  /** The state's service file: where the service runs and, for `metrics: http`, what its own metrics are called. */
  readonly service: ServiceSpec;
  /** Defaults, overridden by the service file, the state file, then this run's flags. */
  readonly settings: EffectiveSettings;
  /** The end of the analysis window, and the evaluation time of every query. */
  readonly now: Date;
  /** Where Prometheus is; the time budget of each query is the settings' `analysis.queryTimeout`. */
  readonly prometheus: Omit<PrometheusOptions, 'timeoutMs'>;
  /**
   * The cluster the service runs in, when Prometheus holds several clusters' series (a central store): every query
   * then carries its `cluster` label.
   * @default - none
   */
  readonly cluster?: string;
  /**
   * How often the services' series are scraped (the environment's `prometheus.scrapeInterval`), such as `30s`
   * ({@link QueryTarget}'s).
   * @default - only the last scrape before the window is checked
   */
  readonly scrapeInterval?: string;
  /**
   * Where the service answers through the pin, for its smoke checks; `{cluster}` in it is replaced by `cluster`
   * ({@link smokeUrlFor}).
   * @default - none: a canary whose file names smoke checks holds at weight 0
   */
  readonly smokeUrl?: string;
  /**
   * Why there is no smoke URL this time (the in-cluster gate's sidecar was not ready), for the hold's reason.
   * @default - none given: the reason names the flag and the variable
   */
  readonly smokeUnavailable?: string;
  /**
   * Why the smoke URL given for this service is unusable (a `SMOKE_URLS` entry that is no URL): a usage error of the
   * service, raised only when its smoke checks are due, so that a bad entry never keeps a roll back or a later step
   * from being decided.
   * @default - none
   */
  readonly smokeUrlError?: string;
}

/** One run of the gate: where the canary stood, what was asked of Prometheus, its answers, and the decision. */
export interface GateRun {
  readonly stage: Stage;
  /** The resolved PromQL (empty without a canary); sent only when the stage is `measure`. */
  readonly queries: GateQueries;
  /** The measurement of the window, or undefined when nothing was measured (no canary, applying, dwelling). */
  readonly outcome?: MeasureOutcome;
  /** While applying: the PromQL asking whether the cluster runs the release, and the answer. */
  readonly observation?: { readonly query: string; readonly outcome: ObserveOutcome };
  /** The smoke checks, when a canary at weight 0 was observed running ready and its file names some. */
  readonly smoke?: SmokeOutcome;
  readonly result: GateResult;
}

/**
 * The SLO gate for one service, as `canary advance` runs it and `bench/decision` times it: where the canary stands
 * ({@link stageOf}); while its step is applying, whether the cluster runs it ({@link observedReleaseQuery}); else the
 * queries of its window ({@link gateQueries}), their answers from Prometheus, all at `now` and at once
 * ({@link measure}); and the decision ({@link decide}). Nothing is queried without a canary or while it dwells.
 * Writes nothing: the state to write is the result's `change`.
 */
export async function runGate(input: GateInput): Promise<GateRun> {
  const { state, service, settings, now } = input;
  const { slo, analysis } = settings;
  const stage = stageOf(state, settings, now);
  const queries = state.canary ? gateQueries({
    metrics: analysis.metrics, service: state.service, namespace: service.namespace, window: analysis.window,
    p99: slo.p99LatencyMs !== undefined, baseline: analysis.baseline.enabled, ...(service.metrics.http ? { http: service.metrics.http } : {}),
    ...(input.cluster !== undefined ? { cluster: input.cluster } : {}),
    ...(input.scrapeInterval !== undefined ? { scrapeInterval: input.scrapeInterval } : {}),
  }) : {};
  const prometheus = { ...input.prometheus, timeoutMs: parseDuration(analysis.queryTimeout, 'analysis.queryTimeout') };
  if (stage.kind === 'applying') {
    const release = {
      service: state.service, namespace: service.namespace, ...stage.release, ...(input.cluster !== undefined ? { cluster: input.cluster } : {}),
    };
    const query = observedReleaseQuery(release);
    // any series is the answer "yes" (its value is the route's weight, 0 included); none is "no" only while Prometheus
    // could see the release at all: without the series it reads it is "unknown", a hold, never a roll back
    const seenQuery = clusterSeenQuery(release);
    const observed: ObserveOutcome = await Promise.all([queryValue(prometheus, query, now), queryValue(prometheus, seenQuery, now)])
      .then(([value, seen]): ObserveOutcome => (seen === null
        ? {
          ok: false,
          error: `Prometheus cannot tell whether the cluster runs it: one of ${clusterSeenRequirements(release)} has no series; is `
            + 'kube-state-metrics up, scraped and configured as rendered?',
        }
        : { ok: true, applied: value !== null }),
      (error: unknown) => ({ ok: false, error: error instanceof Error ? error.message : String(error) }));
    const checks = service.smoke ?? [];
    const smokeUrl = input.smokeUrl === undefined ? undefined : smokeUrlFor(input.smokeUrl, input.cluster);
    const noUrl = input.smokeUrl === undefined
      ? input.smokeUnavailable ?? `there is no --smoke-url or SMOKE_BASE_URL to reach ${state.service} through the pin`
      : `the smoke URL names ${CLUSTER_PLACEHOLDER}, and this environment has no clusters to put there`;
    const due = observed.ok && observed.applied && state.canary?.weight === 0 && stage.release.track === 'canary' && checks.length > 0;
    if (due && input.smokeUrlError !== undefined) throw new UsageError(input.smokeUrlError);
    const smoke: SmokeOutcome | undefined = due
      ? smokeUrl === undefined
        ? { ran: false, reason: `${service.file} names ${checks.length} smoke checks, but ${noUrl}` }
        : smokeOutcomeOf(await runSmokeChecks(smokeUrl, checks, prometheus.timeoutMs))
      : undefined;
    return {
      stage, queries: {}, observation: { query, outcome: observed }, ...(smoke ? { smoke } : {}),
      result: decide({ state, settings, now, stage, observed, ...(smoke ? { smoke } : {}) }),
    };
  }
  let outcome: MeasureOutcome | undefined;
  if (stage.kind === 'measure') outcome = await measure(queries, promql => queryValue(prometheus, promql, now), analysis.baseline.enabled);
  const result = decide({ state, settings, now, stage, outcome });
  // one cluster of several: its step was recorded applied once every cluster ran it, but a cluster may have joined
  // since, or gone silent. A failure of the canary's own numbers stands (one crash-looping there does not run ready,
  // and its failures, seen by its callers, are what a roll back is for), and so does a canary without a ready pod all
  // window (its share fails there); the canary getting no traffic otherwise is what a cluster not running the step
  // looks like (the route not yet applied), and that is no verdict on the release but a counted hold that says why (a
  // roll back at the fail-safe then says it too)
  const standing = result.failedChecks.some(check => !check.startsWith(`${TRAFFIC_CHECK}:`));
  if (stage.kind === 'measure' && input.cluster !== undefined && state.canary && !standing) {
    const absent = await clusterNotRunning(input, prometheus, state, service, now);
    if (absent !== undefined) {
      const unmeasured: MeasureOutcome = { ok: false, error: absent, samples: {} };
      return { stage, queries, outcome: unmeasured, result: decide({ state, settings, now, stage, outcome: unmeasured }) };
    }
  }
  return { stage, queries, outcome, result };
}

/**
 * Why the cluster of `input` cannot be measured for the canary's current step, or undefined when it runs it: its
 * series are not in the store (its agent does not write, or kube-state-metrics is not scraped), or it does not run
 * the step (a cluster added while the canary was in flight, its pods not ready). A query that fails is a reason too.
 */
async function clusterNotRunning(input: GateInput, prometheus: PrometheusOptions, state: RolloutState, service: ServiceSpec,
  now: Date): Promise<string | undefined> {
  const release = { service: state.service, namespace: service.namespace, ...canaryStep(state.canary!), cluster: input.cluster };
  try {
    const [running, seen] = await Promise.all([observedReleaseQuery(release), clusterSeenQuery(release)].map(q => queryValue(prometheus, q, now)));
    // the cluster is named by the caller (runGateInClusters)
    if (seen === null) {
      return `the store holds nothing of this cluster's ${state.service} (${clusterSeenRequirements(release)} has no series): is its agent `
        + 'writing, its client certificate valid?';
    }
    if (running === null) return `this cluster does not run the step yet (not observed: ${describeRelease(state.service, release)})`;
    return undefined;
  } catch (error) {
    return `whether this cluster runs the step: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** One cluster's gate run, in {@link runGateInClusters}. */
export interface ClusterGateRun {
  readonly cluster: string;
  readonly run: GateRun;
}

/** What {@link runGateInClusters} decided: the run of each cluster, and the one decision for the release. */
export interface ClustersGateRun {
  readonly runs: readonly ClusterGateRun[];
  /** The gravest cluster's result, its reason naming the cluster: what is written. */
  readonly result: GateResult;
  /** The cluster whose result was taken. */
  readonly decidedBy: string;
}

/** How grave a decision is for a release that runs in several clusters: a roll back anywhere wins, then a hold. */
const GRAVITY: Readonly<Record<GateResult['decision'], number>> = { rollback: 3, hold: 2, advance: 1, promote: 1, none: 0 };

/**
 * The order in which clusters' runs decide, gravest first, as a tuple compared element by element:
 * 1. a run that starts a roll back (the canary at weight 0 everywhere is safe whatever the other clusters run);
 * 2. a run whose cluster has not been observed running the release being applied: the step, promotion or roll back
 *    is applied only once every cluster runs it, so no cluster's "applied" is written for another's;
 * 3. the decision's {@link GRAVITY};
 * 4. a failed check before any other hold: it counts towards the roll back, which another cluster's hold for too
 *    little traffic or missing data must not hide;
 * 5. a hold for missing data (a cluster silent, or not running the step) before other holds: its reason is the one
 *    that says what is wrong, where another cluster's "too little traffic" would mislead;
 * 6. a hold that is written (counted) before one that is not.
 */
function rank(state: RolloutState, { run }: ClusterGateRun): readonly number[] {
  const { result, observation } = run;
  const startsRollback = result.decision === 'rollback' && state.canary?.phase !== 'rolling-back';
  const notObserved = observation !== undefined && !(observation.outcome.ok && observation.outcome.applied);
  return [startsRollback ? 1 : 0, notObserved ? 1 : 0, GRAVITY[result.decision], result.hold === 'failed-check' ? 1 : 0,
    result.hold === 'no-data' ? 1 : 0, result.change ? 1 : 0];
}

const graver = (a: readonly number[], b: readonly number[]): boolean => {
  const i = a.findIndex((value, at) => value !== b[at]);
  return i >= 0 && a[i] > b[i];
};

/**
 * The SLO gate for a release that runs in several clusters of one environment, against a store that holds all of
 * them (each cluster's series labelled with it): every cluster is judged on its own numbers ({@link runGate} with its
 * `cluster`), and the release moves only when every cluster lets it. A roll back in any cluster rolls the release back,
 * a hold in any holds it (with that cluster's counters); only when all advance (or promote) does it advance. While a
 * step, a promotion or a roll back is being applied, it is recorded as applied (or the canary removed) only once every
 * cluster was observed running it: until then the cluster that does not run it decides. Ties go to the first cluster
 * in `clusters`.
 *
 * @throws if `clusters` is empty
 */
export async function runGateInClusters(input: GateInput, clusters: readonly string[]): Promise<ClustersGateRun> {
  if (clusters.length === 0) throw new Error('runGateInClusters needs at least one cluster');
  const runs = await Promise.all(clusters.map(async cluster => ({ cluster, run: await runGate({ ...input, cluster }) })));
  const decisive = runs.reduce((worst, next) => (graver(rank(input.state, next), rank(input.state, worst)) ? next : worst));
  const { result } = decisive.run;
  const reason = `cluster ${decisive.cluster}: ${result.reason}`;
  // the entry again, now naming the cluster, on the history as it was (a repeated hold merges as it would have)
  const entry = result.change && { ...result.change.entry, reason };
  const change = result.change && entry ? { entry, state: { ...result.change.state, history: appendHistory(input.state.history, entry) } } : null;
  return { runs, decidedBy: decisive.cluster, result: { ...result, reason, change } };
}
