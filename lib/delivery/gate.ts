import { parseDuration } from '../rollout/duration';
import { EffectiveSettings } from '../rollout/settings';
import { RolloutState } from '../rollout/state';
import { ServiceSpec } from '../services/service';
import { GateResult, Stage, decide, stageOf } from './decide';
import { MeasureOutcome, measure } from './measure';
import { queryValue } from './prometheus';
import { GateQueries, gateQueries } from './queries';

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
  readonly prometheus: {
    readonly url: string;
    /**
     * Sent as `Authorization: Bearer <token>`.
     * @default - no Authorization header
     */
    readonly token?: string;
  };
}

/** One run of the gate: where the canary stood, what was asked of Prometheus, its answers, and the decision. */
export interface GateRun {
  readonly stage: Stage;
  /** The resolved PromQL (empty without a canary); sent only when the stage is `measure`. */
  readonly queries: GateQueries;
  /** The measurement of the window, or undefined when nothing was measured (no canary, dwelling). */
  readonly outcome?: MeasureOutcome;
  readonly result: GateResult;
}

/**
 * The SLO gate for one service, as `canary advance` runs it and `bench/decision` times it: where the canary stands
 * ({@link stageOf}), the queries of its window ({@link gateQueries}), their answers from Prometheus, all at `now` and
 * at once ({@link measure}), and the decision ({@link decide}). Nothing is queried without a canary or while it
 * dwells. Writes nothing: the state to write is the result's `change`.
 */
export async function runGate(input: GateInput): Promise<GateRun> {
  const { state, service, settings, now } = input;
  const { slo, analysis } = settings;
  const stage = stageOf(state, settings, now);
  const queries = state.canary ? gateQueries({
    metrics: analysis.metrics, service: state.service, namespace: service.namespace, window: analysis.window,
    p99: slo.p99LatencyMs !== undefined, baseline: analysis.baseline.enabled, ...(service.metrics.http ? { http: service.metrics.http } : {}),
  }) : {};
  let outcome: MeasureOutcome | undefined;
  if (stage.kind === 'measure') {
    const prometheus = { ...input.prometheus, timeoutMs: parseDuration(analysis.queryTimeout, 'analysis.queryTimeout') };
    outcome = await measure(queries, promql => queryValue(prometheus, promql, now), analysis.baseline.enabled);
  }
  return { stage, queries, outcome, result: decide({ state, settings, now, stage, outcome }) };
}
