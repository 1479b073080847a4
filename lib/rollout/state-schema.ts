import { SchemaObject } from 'ajv';
import { DURATION_PATTERN, DurationOptions, POSITIVE_DURATION_PATTERN } from './duration';
import { DNS_LABEL_PATTERN } from '../private/names';

/** An image reference: registry/name with an optional tag and an optional digest. */
export const IMAGE_PATTERN = '^[a-z0-9][a-z0-9._/:-]*?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$';
const NUMBER_OR_NULL = { type: 'number', nullable: true } as const;
const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$';

/**
 * The state file's durations and what each requires beyond the syntax. A window of zero holds no samples (and PromQL
 * refuses a zero range); a query timeout of zero fails every query before it is sent, and one beyond Node's longest
 * timer (about 24.8 days) fires at once, so a query's budget stays within minutes; a settle of zero is a choice: the
 * window may start right at the weight change. The upper bounds catch a unit typed wrong (30d for 30s): dwelling is
 * not a hold in a row, so a settle of a month would park a canary at its step for a month with no fail safe.
 */
export const ANALYSIS_DURATIONS = {
  window: { positive: true, max: '6h' },
  settle: { positive: false, max: '1h' },
  queryTimeout: { positive: true, max: '10m' },
  progressDeadline: { positive: true, max: '24h' },
} as const satisfies Record<string, DurationOptions>;

/**
 * The SLO's durations and what each requires beyond the syntax. The period is what the objective is measured over and
 * what the burn-rate alerts scale their factors by (lib/slo/alerting-rules.ts): at 7 days the slow-burn factor is 1.4,
 * shorter periods bring it to 1 and below, where a "burn" no longer spends the budget early; beyond a quarter the
 * fast-burn threshold leaves most objectives (14.4 × 3 = 43.2 × the error budget) unreachable.
 */
export const SLO_DURATIONS = {
  period: { positive: true, min: '7d', max: '90d' },
} as const satisfies Record<string, DurationOptions>;

/** The schema of a duration field: the pattern of {@link DURATION_PATTERN}, so editors agree with the CLI. */
function duration(options: DurationOptions): SchemaObject {
  return options.positive
    ? { type: 'string', pattern: POSITIVE_DURATION_PATTERN, nullable: true, description: 'a duration longer than 0 such as 30s, 5m or 1h30m' }
    : { type: 'string', pattern: DURATION_PATTERN, nullable: true, description: 'a duration such as 0s, 30s, 5m or 1h30m' };
}

/**
 * The release plan, SLO and analysis settings: a service file sets its service's defaults with them, a state file
 * overrides those for one environment.
 */
export const ROLLOUT_SETTINGS_PROPERTIES: Record<'steps' | 'slo' | 'analysis', SchemaObject> = {
  steps: { type: 'array', minItems: 1, maxItems: 20, items: { type: 'integer', minimum: 1, maximum: 100 } },
  slo: {
    type: 'object', nullable: true, additionalProperties: false, required: [],
    properties: {
      successRatio: { type: 'number', minimum: 0, maximum: 1, nullable: true },
      p95LatencyMs: { type: 'number', exclusiveMinimum: 0, nullable: true },
      p99LatencyMs: { type: 'number', exclusiveMinimum: 0, nullable: true },
      period: { ...duration(SLO_DURATIONS.period), description: 'a duration from 7d to 90d such as 30d: the period the objective (successRatio) is measured over' },
    },
  },
  analysis: {
    type: 'object', nullable: true, additionalProperties: false, required: [],
    properties: {
      metrics: { type: 'string', enum: ['istio', 'http'], nullable: true },
      window: duration(ANALYSIS_DURATIONS.window),
      settle: duration(ANALYSIS_DURATIONS.settle),
      minRequests: { type: 'integer', minimum: 0, nullable: true },
      canaryTrafficFactor: { type: 'number', minimum: 0, maximum: 1, nullable: true },
      minCanaryRequests: { type: 'integer', minimum: 0, nullable: true },
      // at most a week of holds at a 10-minute schedule: beyond that the fail safe fails no one
      maxFailedChecks: { type: 'integer', minimum: 1, maximum: 100, nullable: true },
      rollbackBelowSuccessRatio: {
        type: 'number', minimum: 0, maximum: 1, nullable: true,
        description: 'a canary whose success ratio in a window is below this is rolled back at once, whatever maxFailedChecks (default 0.5; 0: never '
          + 'at once); at most slo.successRatio',
      },
      maxConsecutiveHolds: { type: 'integer', minimum: 1, maximum: 1000, nullable: true },
      baseline: {
        type: 'object', nullable: true, additionalProperties: false, required: ['enabled', 'maxErrorRatioIncrease'],
        properties: {
          enabled: { type: 'boolean' },
          maxErrorRatioIncrease: { type: 'number', minimum: 0, maximum: 1 },
          maxLatencyRatio: {
            type: 'number', minimum: 1, maximum: 100, nullable: true,
            description: "the canary's p95 (and p99) may be at most this many times stable's, such as 1.5",
          },
          minLatencyIncreaseMs: {
            type: 'number', minimum: 0, maximum: 60000, nullable: true,
            description: "a canary within this many milliseconds of stable's latency passes whatever the ratio (default 25)",
          },
        },
      },
      queryTimeout: duration(ANALYSIS_DURATIONS.queryTimeout),
      progressDeadline: { ...duration(ANALYSIS_DURATIONS.progressDeadline), description: 'how long a step may take to be observed applied and ready, such as 10m; beyond it the canary is rolled back' },
    },
  },
};

const ENV_NAME = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } as const;
const PROBE: SchemaObject = {
  type: 'object', additionalProperties: false, minProperties: 1, maxProperties: 1,
  properties: { http: { type: 'string', pattern: '^/' }, tcp: { const: true }, grpc: { const: true } },
};
/** A startup probe's time: below 30 s liveness alone (10 s × 3) lets a pod start longer. */
export const STARTUP_SECONDS = { type: 'integer', minimum: 30, maximum: 3600 } as const;
const requestAndLimit = (pattern: string, description: string): SchemaObject => ({
  type: 'object', additionalProperties: false, required: ['request', 'limit'],
  properties: { request: { type: 'string', pattern, description }, limit: { type: 'string', pattern, description } },
});

/**
 * What a track runs (`PodRecord`, pod.ts): written by the CLI from the service file and the environment's defaults,
 * checked against its `hash` when read.
 */
const POD_RECORD: SchemaObject = {
  type: 'object', additionalProperties: false,
  description: 'what the track runs, as released: written by the canary CLI from the service file and the environment\'s defaults',
  required: ['hash', 'resources', 'env', 'secretEnv', 'probes', 'runAsUser', 'runAsGroup', 'writablePaths', 'terminationGracePeriodSeconds'],
  properties: {
    hash: { type: 'string', pattern: '^[0-9a-f]{12}$', description: 'the first 12 hex digits of the SHA-256 of the other fields as JSON, keys sorted' },
    resources: {
      type: 'object', additionalProperties: false, required: ['cpu', 'memory'],
      properties: { cpu: requestAndLimit('^[1-9][0-9]*m$', 'millicores such as 250m'), memory: requestAndLimit('^[1-9][0-9]*(Mi|Gi)$', 'such as 128Mi or 1Gi') },
    },
    env: {
      type: 'object', propertyNames: ENV_NAME,
      additionalProperties: {
        oneOf: [{ type: 'string' }, { type: 'object', additionalProperties: false, required: ['fieldRef'], properties: { fieldRef: { type: 'string', minLength: 1 } } }],
      },
    },
    secretEnv: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'secret', 'key'],
        properties: { name: ENV_NAME, secret: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 } },
      },
    },
    probes: {
      type: 'object', additionalProperties: false, required: ['readiness', 'liveness'],
      properties: { readiness: PROBE, liveness: PROBE, startupSeconds: STARTUP_SECONDS },
    },
    command: { type: 'array', minItems: 1, items: { type: 'string' } },
    args: { type: 'array', items: { type: 'string' } },
    runAsUser: { type: 'integer', minimum: 1 },
    runAsGroup: { type: 'integer', minimum: 1 },
    writablePaths: { type: 'array', items: { type: 'string', pattern: '^/' } },
    terminationGracePeriodSeconds: { type: 'integer', minimum: 1 },
  },
};

/**
 * The JSON Schema of a state file (`rollout/schema.json` is this, for editors). It mirrors `RolloutState` (state.ts); the
 * tests check the two against each other with fixtures, since ajv's schema typing cannot express a required nullable
 * object.
 */
export const ROLLOUT_STATE_SCHEMA: SchemaObject = {
  $id: 'https://obs-canary.dev/schemas/rollout-state.json',
  title: 'obs-canary rollout state',
  description: 'The rollout state of one service in one environment: rollout/<env>/<service>.yaml',
  type: 'object',
  additionalProperties: false,
  required: ['service', 'stable', 'canary', 'history'],
  $defs: { pod: POD_RECORD },
  properties: {
    service: { type: 'string', pattern: DNS_LABEL_PATTERN, description: 'the service: services/<service>.yaml must exist' },
    stable: {
      type: 'object', additionalProperties: false, required: ['image'],
      properties: { image: { type: 'string', pattern: IMAGE_PATTERN }, pod: { $ref: '#/$defs/pod' } },
    },
    canary: {
      type: 'object', nullable: true, additionalProperties: false,
      required: ['image', 'weight', 'startedAt', 'weightChangedAt', 'failedChecks', 'consecutiveHolds'],
      properties: {
        image: { type: 'string', pattern: IMAGE_PATTERN },
        weight: { type: 'integer', minimum: 0, maximum: 100 },
        phase: { type: 'string', enum: ['progressing', 'promoting', 'draining', 'rolling-back'] },
        startedAt: { type: 'string', pattern: ISO_TIME },
        weightChangedAt: { type: 'string', pattern: ISO_TIME },
        appliedAt: { type: 'string', pattern: ISO_TIME },
        failedChecks: { type: 'integer', minimum: 0 },
        consecutiveHolds: { type: 'integer', minimum: 0 },
        pod: { $ref: '#/$defs/pod' },
      },
    },
    ...ROLLOUT_SETTINGS_PROPERTIES,
    history: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['at', 'decision', 'by', 'image', 'fromWeight', 'toWeight', 'reason'],
        properties: {
          at: { type: 'string', pattern: ISO_TIME },
          decision: { type: 'string', enum: ['start', 'advance', 'promote', 'rollback', 'hold'] },
          by: { type: 'string', enum: ['cli', 'gate'] },
          image: { type: 'string' },
          fromWeight: { type: 'integer', minimum: 0, maximum: 100 },
          toWeight: { type: 'integer', minimum: 0, maximum: 100 },
          reason: { type: 'string' },
          measurements: {
            type: 'object', nullable: true, additionalProperties: false,
            required: ['requests', 'canaryRequests', 'successRatio', 'p95Ms', 'p99Ms'],
            properties: {
              requests: NUMBER_OR_NULL, canaryRequests: NUMBER_OR_NULL, successRatio: NUMBER_OR_NULL, p95Ms: NUMBER_OR_NULL, p99Ms: NUMBER_OR_NULL,
            },
          },
          baseline: {
            type: 'object', nullable: true, additionalProperties: false,
            required: ['requests', 'successRatio', 'p95Ms', 'p99Ms'],
            properties: { requests: NUMBER_OR_NULL, successRatio: NUMBER_OR_NULL, p95Ms: NUMBER_OR_NULL, p99Ms: NUMBER_OR_NULL },
          },
          failedChecks: { type: 'array', nullable: true, items: { type: 'string' } },
          count: { type: 'integer', minimum: 2, nullable: true },
          firstAt: { type: 'string', pattern: ISO_TIME, nullable: true },
        },
      },
    },
  },
};

