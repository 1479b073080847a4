/**
 * The one PromQL vocabulary of the project: the names of workloads, tracks, metrics and labels that the gate's
 * queries, the recording rules and the dashboards are written in. Nothing else spells them.
 *
 * @packageDocumentation
 */

/** A release track: the pod's `version` label, the DestinationRule subset and the Deployment name suffix. */
export type Track = 'stable' | 'canary';

/** The release tracks, stable first. */
export const TRACKS: readonly Track[] = ['stable', 'canary'];

/** The pod label that carries the track (Istio reports it as `destination_version`). */
export const TRACK_LABEL = 'version';

/** The pod label that carries the service name (Istio reports it as `destination_app`). */
export const APP_LABEL = 'app';

/**
 * The label that carries the pod's namespace: the target label Prometheus adds to a service's own metrics, and the
 * label Promtail gives its log streams.
 */
export const NAMESPACE_LABEL = 'namespace';

/** The Deployment of one track of a service, `<service>-<track>`: Istio's `destination_workload`. */
export function workloadName(service: string, track: Track): string {
  return `${service}-${track}`;
}

/** Istio's standard metrics and the labels the gate, the rules and the dashboards select them by. */
export const ISTIO = {
  /** Counter of requests. */
  requests: 'istio_requests_total',
  /** Histogram of request durations in milliseconds (the `_bucket` series). */
  durationBucket: 'istio_request_duration_milliseconds_bucket',
  /** The histogram's base name, for recording-rule names. */
  duration: 'istio_request_duration_milliseconds',
  /** `destination` (the called pod's sidecar) or `source` (the caller's). */
  reporter: 'reporter',
  /** The HTTP status code (or gRPC's, mapped). */
  code: 'response_code',
  workload: 'destination_workload',
  workloadNamespace: 'destination_workload_namespace',
  app: 'destination_app',
  version: 'destination_version',
  serviceName: 'destination_service_name',
  serviceNamespace: 'destination_service_namespace',
} as const;

/**
 * A service's own request metrics (a counter and a histogram in seconds or milliseconds), as its service file names
 * them. Prometheus adds `namespace`, `app` and `version` from the pod.
 */
export interface HttpMetrics {
  /** Counter of finished requests, such as `http_requests_total`. */
  readonly requests: string;
  /** Histogram of request durations, without `_bucket`, such as `http_request_duration_seconds`. */
  readonly duration: string;
  /** The unit of the histogram. */
  readonly durationUnit: 'seconds' | 'milliseconds';
  /** The label that carries the status code, such as `status_code`. */
  readonly codeLabel: string;
  /** The label that carries the route template, such as `route`; with `ignoreRoutes`, what is not traffic. */
  readonly routeLabel?: string;
  /** Routes that are probes and scrapes, not traffic: left out of every SLO number. */
  readonly ignoreRoutes: readonly string[];
}

/** The selector (without braces) of a service's own request metrics that count as traffic. */
export function httpTrafficSelector(metrics: HttpMetrics): string | undefined {
  if (!metrics.routeLabel || metrics.ignoreRoutes.length === 0) return undefined;
  return `${metrics.routeLabel}!~${JSON.stringify(metrics.ignoreRoutes.map(escapeRegex).join('|'))}`;
}

/** The `_bucket` series of a histogram, given its base name: `http_request_duration_seconds` → `…_seconds_bucket`. */
export function bucketOf(histogram: string): string {
  return `${histogram}_bucket`;
}

/** Multiplier from a histogram's unit to milliseconds. */
export function toMillis(metrics: HttpMetrics): number {
  return metrics.durationUnit === 'seconds' ? 1000 : 1;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
