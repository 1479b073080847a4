import { App } from 'cdk8s';
import { EnvironmentConfig } from './config/environment';
import { Rollouts } from './delivery/store';
import { ObservabilityChart } from './charts/observability-chart';

/** What one environment is rendered from. */
export interface StackInput {
  readonly env: EnvironmentConfig;
  /** The rollout state of every service (`rollout/<env>/`). */
  readonly rollouts: Rollouts;
}

/** The charts of one environment; each becomes a directory `dist/<env>/<chart id>/`. */
export interface Stack {
  readonly observability: ObservabilityChart;
}

/** Defines every chart of an environment in `app`. */
export function defineStack(app: App, input: StackInput): Stack {
  const observability = new ObservabilityChart(app, 'observability', { env: input.env });
  return { observability };
}
