import { currentPod } from '../../lib/charts/service-pods';
import { EnvironmentConfig } from '../../lib/config/environment';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { PodRecord } from '../../lib/rollout/pod';
import { RolloutState, parseRolloutState } from '../../lib/rollout/state';
import { ServiceSpec, parseServiceFile } from '../../lib/services/service';

/**
 * Rollout states and service files for the tests of lib/rollout and lib/delivery, written out here: the tests never
 * read the live rollout/ (every release commit changes it) nor services/ (whose services are data).
 *
 * @packageDocumentation
 */

/** The fixtures' image registry. */
export const REGISTRY = 'registry.example.com';

/**
 * A service file of a fixture service: `<REGISTRY>/obs-canary-<name>`, port 8080, the demo services' own metrics, and
 * `extra` (more YAML lines: steps, slo, analysis, namespace, …).
 */
export function fixtureService(name: string, extra: readonly string[] = []): ServiceSpec {
  return parseServiceFile([
    `name: ${name}`,
    `image: ${REGISTRY}/obs-canary-${name}`,
    'port: 8080',
    'metrics:',
    '  http:',
    '    requests: http_requests_total',
    '    duration: http_request_duration_seconds',
    '    codeLabel: status_code',
    '    routeLabel: route',
    '    ignoreRoutes: [/healthz, /readyz, /metrics]',
    '    scrape: { port: 8080, path: /metrics }',
    ...extra,
  ].join('\n'), `services/${name}.yaml`);
}

/** The fixtures' gateway, with no release settings of its own. */
export const GATEWAY: ServiceSpec = fixtureService('gateway');

/** A state file of gateway with its canary 1.1.0 at 25 % after one advance, one failed check so far, a p95 SLO of 250 ms. */
export const CANARY_YAML = `service: gateway
stable:
  image: ${REGISTRY}/obs-canary-gateway:1.0.0
canary:
  image: ${REGISTRY}/obs-canary-gateway:1.1.0
  weight: 25
  startedAt: "2026-11-01T10:00:00Z"
  weightChangedAt: "2026-11-01T10:20:00Z"
  failedChecks: 1
  consecutiveHolds: 0
steps: [10, 25, 50, 100]
slo:
  p95LatencyMs: 250
history:
  - at: "2026-11-01T10:00:00Z"
    decision: start
    by: cli
    image: ${REGISTRY}/obs-canary-gateway:1.1.0
    fromWeight: 0
    toWeight: 10
    reason: canary ${REGISTRY}/obs-canary-gateway:1.1.0 started at 10%
  - at: "2026-11-01T10:20:00Z"
    decision: advance
    by: gate
    image: ${REGISTRY}/obs-canary-gateway:1.1.0
    fromWeight: 10
    toWeight: 25
    reason: SLO met over 5m
`;

/** Rollout scenarios: `steady` (no canary) and `canary` (gateway's canary at 25 %, {@link CANARY_YAML}). */
export type Scenario = 'steady' | 'canary';

/**
 * The state of a fixture service in a scenario: stable `<image>:1.0.0` and no canary, with no steps, SLO or analysis of
 * its own, except gateway's in `canary`.
 */
export function fixtureState(scenario: Scenario, service = 'gateway'): RolloutState {
  if (scenario === 'canary' && service === 'gateway') return parseRolloutState(CANARY_YAML, 'rollout/canary/gateway.yaml', 'gateway');
  return { service, stable: { image: `${REGISTRY}/obs-canary-${service}:1.0.0` }, canary: null, history: [] };
}

/**
 * The pod record of a fixture service's file in an environment (local unless named): what `canary start` would record
 * for it now.
 */
export function fixturePod(service: ServiceSpec = GATEWAY, env: EnvironmentConfig = ENVIRONMENTS.local): PodRecord {
  return currentPod(service, env, { [service.name]: service });
}
