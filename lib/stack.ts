import { App } from 'cdk8s';
import { EnvironmentConfig } from './config/environment';
import { ObservabilityChart } from './charts/observability-chart';

/** The charts of one environment; each becomes a directory `dist/<env>/<chart id>/`. */
export interface Stack {
  readonly observability: ObservabilityChart;
}

/** Defines every chart of an environment in `app`. */
export function defineStack(app: App, env: EnvironmentConfig): Stack {
  const observability = new ObservabilityChart(app, 'observability', { env });
  return { observability };
}
