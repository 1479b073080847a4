import { AnalysisSettings, SloSettings } from './state';

/**
 * Defaults of every service's canary release; a service file (`services/<name>.yaml`) overrides any of them for its
 * service, and a state file (`rollout/<env>/<name>.yaml`) overrides those for one environment (see `settingsOf`).
 */
export const DELIVERY_DEFAULTS = {
  /** Canary weights in percent, advanced one by one; after the last one the canary is promoted. */
  steps: [10, 25, 50, 100],
  slo: {
    successRatio: 0.95,
    p95LatencyMs: 300,
    period: '30d',
  } satisfies SloSettings,
  analysis: {
    metrics: 'istio',
    window: '5m',
    settle: '1m',
    minRequests: 100,
    canaryTrafficFactor: 0.5,
    minCanaryRequests: 20,
    maxFailedChecks: 3,
    rollbackBelowSuccessRatio: 0.5,
    maxConsecutiveHolds: 12,
    baseline: { enabled: true, maxErrorRatioIncrease: 0.02, maxLatencyRatio: 1.5, minLatencyIncreaseMs: 25 },
    queryTimeout: '10s',
    progressDeadline: '10m',
  } satisfies AnalysisSettings,
  /** Decisions kept in a state file's history; older ones are dropped (git keeps them all). */
  historyLimit: 50,
} as const;
