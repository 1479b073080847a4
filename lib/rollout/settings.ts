import { DELIVERY_DEFAULTS } from './defaults';
import { AnalysisSettings, RolloutState, SloSettings } from './state';

/** The settings a service's releases run with: the defaults, overridden by its service file, then by its state file. */
export interface EffectiveSettings {
  readonly steps: readonly number[];
  readonly slo: SloSettings;
  readonly analysis: AnalysisSettings;
}

/** The fields of `o` that are set: an override that is null (in a state file) or undefined (a flag not given) is none. */
export function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}

/** What a service file says about its releases: its defaults for every environment's state file. */
export interface ServiceRolloutDefaults {
  readonly steps?: readonly number[];
  readonly slo?: Partial<SloSettings>;
  readonly analysis?: Partial<AnalysisSettings>;
  /** The metric source the service's file names for the gate. */
  readonly metrics?: { readonly source: AnalysisSettings['metrics'] };
}

/**
 * The settings of a service's releases in one environment: {@link DELIVERY_DEFAULTS}, overridden by the service file
 * (its `metrics.source` is the default of `analysis.metrics`), overridden by the state file.
 */
export function settingsOf(state: RolloutState, service: ServiceRolloutDefaults = {}): EffectiveSettings {
  return {
    steps: state.steps ?? service.steps ?? DELIVERY_DEFAULTS.steps,
    slo: { ...DELIVERY_DEFAULTS.slo, ...defined(service.slo), ...defined(state.slo) },
    analysis: {
      ...DELIVERY_DEFAULTS.analysis,
      ...(service.metrics ? { metrics: service.metrics.source } : {}),
      ...defined(service.analysis),
      ...defined(state.analysis),
    },
  };
}

/**
 * The weight after `weight`: the first step above it, or undefined after the last (a promotion). A weight that is not
 * a step (the plan changed while the canary was in flight) goes on to the first step above it.
 */
export function nextStep(steps: readonly number[], weight: number): number | undefined {
  return steps.find(step => step > weight);
}
