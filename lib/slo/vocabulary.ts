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

/**
 * The label naming the cluster a series comes from: Prometheus's (and Tempo's metrics generator's) external label,
 * which remote write adds to every series it sends to a central store. The gate's queries for a service of one
 * cluster carry it, so that another cluster's traffic never judges its canary.
 */
export const CLUSTER_LABEL = 'cluster';

/**
 * The resource attribute naming the cluster a span or an OTLP record comes from, which the Collectors set: Tempo's
 * metrics generator makes it a label of its own in a central topology.
 */
export const CLUSTER_ATTRIBUTE = 'k8s.cluster.name';

/** The Deployment of one track of a service, `<service>-<track>`: Istio's `destination_workload`. */
export function workloadName(service: string, track: Track): string {
  return `${service}-${track}`;
}

/**
 * The canary pin: a request with this header goes to the canary track on every hop that forwards it (inside the mesh,
 * and through the edge only from the environment's `apps.canaryPinSources`). Pinned requests are tests, not traffic:
 * Istio's request metrics mark them with {@link ISTIO.pin}, and the gate leaves them out.
 */
export const CANARY_PIN = { header: 'x-canary', value: 'always' } as const;

/**
 * What the canary-pin route adds to its answers: proof that a pinned request reached the canary. The gate's smoke
 * checks require it, so that checks sent from where the pin is ignored (the edge without an allowlist) cannot pass
 * on stable's answers.
 */
export const CANARY_PIN_ANSWER = { header: 'x-obs-canary-pinned', value: 'canary' } as const;

/**
 * The bucket boundaries, in milliseconds, of the services' sidecars' request-duration histogram (each service pod's
 * `sidecar.istio.io/statsHistogramBuckets`): Istio's default jumps from 250 to 500 ms, where a p95 is interpolated
 * linearly (a true 260 ms read as 375 ms), so these are denser where latency limits are set, and stop at a minute.
 * A latency limit the gate judges on this histogram must be one of them (`slo.p95LatencyMs`, `slo.p99LatencyMs`).
 */
export const ISTIO_DURATION_BUCKETS_MS: readonly number[] = [
  1, 5, 10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 2500, 5000, 10000, 30000, 60000,
];

/** The first word of the metric names of the sidecars (Istio's, Envoy's) and of kube-state-metrics. */
const OBSERVER_PREFIXES = ['istio', 'envoy', 'kube'] as const;

/**
 * The metric names only the platform's observers write: the sidecars' (`istio_`, `envoy_`), kube-state-metrics'
 * (`kube_`), a scrape's `up`, and recording rules' (a name with `:`). The gate and the SLO rules read them as
 * witnesses the service does not control, so the Collector drops any metric a service pushes over OTLP that would be
 * stored under such a name: a canary could otherwise report its own successful requests and pass its gate.
 *
 * What is stored is not the OTLP name as sent: the export to Prometheus splits it into words at every character
 * other than a letter, a digit or `:` (so `istio.requests`, `istio-requests` and `_istio_requests` all become
 * `istio_requests`), then appends the unit's words and, for a counter, moves every word `total` to the end. So each
 * RE2 pattern (any one drops the metric) looks at the name's first word other than `total`, not its spelling, and a
 * name with no other word, whose stored name would be its unit's, is dropped too.
 */
export const OBSERVER_METRIC_PATTERNS: readonly string[] = [
  // a first word of istio, envoy or kube, or up as the only word (a unit would make it another name), after any words
  // `total` (a counter's are moved to the end)
  `^(?:[^A-Za-z0-9:]*total[^A-Za-z0-9:]+)*[^A-Za-z0-9:]*(?:(?:${OBSERVER_PREFIXES.join('|')})(?:[^A-Za-z0-9:].*)?|up[^A-Za-z0-9:]*)$`,
  // a recording rule's name
  ':',
  // no word at all but `total`
  '^(?:[^A-Za-z0-9]|total)*$',
];

/**
 * The same names as Prometheus stores them (a relabel regex, anchored), for what a service's own scrape must not
 * bring: the services' job drops them, and the sidecars' job, on Envoy's own port, brings the `istio_*` series.
 */
export const SCRAPED_OBSERVER_METRIC_NAMES = `(?:${OBSERVER_PREFIXES.join('|')})_.*|up|.*:.*`;

/** {@link SCRAPED_OBSERVER_METRIC_NAMES} as people read them, for messages. */
export const OBSERVER_METRIC_NAMES_WORDS = `${OBSERVER_PREFIXES.map(p => `${p}_*`).join(', ')}, up, or with ':'`;

/** The scrape jobs of the services' pods: their own metrics (merged by the sidecar agent), and their sidecars'. */
export const SERVICE_SCRAPE_JOBS = { services: 'services', sidecars: 'sidecars' } as const;

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
  /** The HTTP status code: 200 for a gRPC call that failed with a status of its own (see {@link grpcStatus}). */
  code: 'response_code',
  /** A gRPC call's status code as a number (`0` OK, `14` UNAVAILABLE, …); empty for plain HTTP. */
  grpcStatus: 'grpc_response_status',
  /** Envoy's response flags, comma-separated (`UH`, `UF,URX`, …); `-` for none. */
  responseFlags: 'response_flags',
  workload: 'destination_workload',
  workloadNamespace: 'destination_workload_namespace',
  app: 'destination_app',
  version: 'destination_version',
  serviceName: 'destination_service_name',
  serviceNamespace: 'destination_service_namespace',
  /**
   * Not a standard label: the services' namespaces add it to `istio_requests_total` and
   * `istio_request_duration_milliseconds` (their Telemetry). {@link CANARY_PIN}'s value on a pinned request, `none`
   * when the header has another value and `unknown` (Istio's value for an expression that fails) without the header.
   * Series of proxies outside those namespaces (the ingress gateway) do not carry it.
   */
  pin: 'canary_pin',
} as const;

/**
 * The matcher that leaves pinned requests ({@link CANARY_PIN}) out of Istio's series: smoke checks and people trying
 * the canary are not its traffic share, and their failures are not its success ratio. The gate and the canary
 * dashboard count with it; series without the label (the ingress gateway's) match.
 */
export const UNPINNED = `${ISTIO.pin}!=${JSON.stringify(CANARY_PIN.value)}`;

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
  /**
   * The values of `codeLabel` that count against the SLO, as a regex.
   * @default ERROR_CODES: a 5xx status
   */
  readonly errorCodes?: string;
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

/** The status codes that count against a service's SLO: server errors (a 4xx is the caller's fault). */
export const ERROR_CODES = '5..';

/**
 * The gRPC status codes that count against a service's SLO: the server's failures, those gRPC's HTTP mapping
 * (google.rpc.Code) answers with a 5xx: UNKNOWN (2), DEADLINE_EXCEEDED (4), UNIMPLEMENTED (12), INTERNAL (13),
 * UNAVAILABLE (14) and DATA_LOSS (15). A gRPC call that fails so still has HTTP status 200.
 */
export const GRPC_ERROR_CODES = '2|4|12|13|14|15';

/**
 * How a metric source tells failed requests from the rest, as selector matchers (without braces). PromQL has no "or"
 * between matchers: the failed requests are one or more disjoint matcher sets, whose series a query joins with `or`
 * ({@link failedSeries}); no series is in two of them, so sums over the union count each request once.
 */
export interface Outcomes {
  readonly failed: readonly string[];
  /** The requests that did not fail: the complement of every `failed` set. */
  readonly ok: string;
}

/** Istio's request metrics: a 5xx, or a gRPC call that ended with a server failure ({@link GRPC_ERROR_CODES}). */
export const ISTIO_OUTCOMES: Outcomes = {
  failed: [`${ISTIO.code}=~"${ERROR_CODES}"`, `${ISTIO.code}!~"${ERROR_CODES}",${ISTIO.grpcStatus}=~"${GRPC_ERROR_CODES}"`],
  ok: `${ISTIO.code}!~"${ERROR_CODES}",${ISTIO.grpcStatus}!~"${GRPC_ERROR_CODES}"`,
};

/**
 * Requests a service never answered, as its callers' sidecars report them, by Envoy's response flags: no ready pod
 * (UH), a connection that failed, was reset or closed (UF, UC), retries spent on such failures (URX), the route's timeout
 * (UT) and an overflowing circuit breaker (UO). A status the service sent itself carries none, so a code its own metrics
 * do not count as failed (a 503 it sheds load with, left out of `errorCodes`) is not counted here either.
 */
const UNANSWERED_FLAGS = '(.*,)?(UH|UF|UC|UT|URX|UO)(,.*)?';
export const ISTIO_UNANSWERED: Outcomes = {
  failed: [`${ISTIO.responseFlags}=~"${UNANSWERED_FLAGS}"`],
  ok: `${ISTIO.responseFlags}!~"${UNANSWERED_FLAGS}"`,
};

/** A service's own request metrics: `codeLabel` matching its `errorCodes` (a 5xx by default). */
export function httpOutcomes(metrics: HttpMetrics): Outcomes {
  const codes = JSON.stringify(metrics.errorCodes ?? ERROR_CODES);
  return { failed: [`${metrics.codeLabel}=~${codes}`], ok: `${metrics.codeLabel}!~${codes}` };
}

/**
 * The series of the failed requests: `series(matchers)` (a rate or an increase of the request counter whose selector
 * includes `matchers`) for each of the outcome's failed sets, joined with `or`. Aggregate outside it.
 */
export function failedSeries(outcomes: Outcomes, series: (matchers: string) => string): string {
  const parts = outcomes.failed.map(series);
  return parts.length === 1 ? parts[0] : `(${parts.join(' or ')})`;
}

/**
 * The metrics the pipeline-health alerts read, as each pinned component exposes them (see lib/images.ts). Where a
 * counter's name depends on how it is exported, the alerts match both spellings (`{__name__=~"…(_total)?"}`).
 */
/** A selector of the metrics whose name matches `pattern`, so that a counter matches with and without `_total`. */
export function metricsNamed(pattern: string, matchers = ''): string {
  return `{__name__=~${JSON.stringify(pattern)}${matchers ? `,${matchers}` : ''}}`;
}

/**
 * The fewest scrapes a rate or increase window may span: `increase()` needs two samples in it, and a window of one or
 * two scrape intervals now and then holds fewer (a late scrape, Prometheus 3's left-open ranges). Four, as Grafana's
 * `$__rate_interval` takes.
 */
export const SCRAPES_PER_WINDOW = 4;

export const PIPELINE = {
  /** Every scrape's health: 1 when the target answered, 0 when not. */
  up: 'up',
  /** The label of a scrape job. */
  job: 'job',
  /** The label of one scrape target of a job (its address, unless relabelled). */
  instance: 'instance',
  /** The label Prometheus sets to the scraped pod. */
  pod: 'pod',
  /**
   * OpenTelemetry Collector (contrib 0.159): items a receiver could not push into the pipeline, per signal. The
   * Collector here serves its metrics through a `readers: pull: prometheus` block without `without_type_suffix`, so
   * since 0.119 its counters carry `_total`; the `(_total)?` keeps the alert right either way.
   */
  collectorRefused: 'otelcol_receiver_refused_(spans|metric_points|log_records)(_total)?',
  /** Collector: items an exporter failed to send (after its retries), per signal. */
  collectorSendFailed: 'otelcol_exporter_send_failed_(spans|metric_points|log_records)(_total)?',
  /** Collector: items an exporter could not put on its full sending queue. */
  collectorEnqueueFailed: 'otelcol_exporter_enqueue_failed_(spans|metric_points|log_records)(_total)?',
  /** Collector: batches in an exporter's sending queue, and the queue's capacity (gauges). */
  collectorQueueSize: 'otelcol_exporter_queue_size',
  collectorQueueCapacity: 'otelcol_exporter_queue_capacity',
  /** The label of a Collector exporter or receiver. */
  exporter: 'exporter',
  receiver: 'receiver',
  /** Loki 3.7: lines refused by validation or limits, by `reason`. */
  lokiDiscarded: 'loki_discarded_samples_total',
  /** Loki: requests by `route` and `status_code` (the `_count` of its request histogram). */
  lokiRequests: 'loki_request_duration_seconds_count',
  /** Loki's push routes: Promtail's `/loki/api/v1/push` and the Collector's `/otlp/v1/logs`. */
  lokiPushRoutes: 'loki_api_v1_push|otlp_v1_logs',
  /** Loki 3.x: appends from the distributor to an ingester that timed out (3.0 replaced `…_append_failures_total`). */
  lokiAppendTimeouts: 'loki_distributor_ingester_append_timeouts_total',
  /** Tempo 3.0: spans discarded after they were received (rate limits, trace size, live traces), by `reason`. */
  tempoDiscarded: 'tempo_discarded_spans_total',
  /** Tempo: spans its OTLP receiver refused. */
  tempoRefused: 'tempo_receiver_refused_spans(_total)?',
  /** Promtail 3.6: entries dropped after the retries to Loki ran out, by `reason`. */
  promtailDropped: 'promtail_dropped_entries_total',
  /** Promtail: pushes to Loki by `status_code` (the `_count` of its request histogram). */
  promtailRequests: 'promtail_request_duration_seconds_count',
  /**
   * The `status_code` of a shipper's push that failed and will be retried (Promtail's and Alloy's Loki client, which
   * retries exactly these): a 5xx, Loki's rate limit (429), and `-1`, the code it records when no answer came at all
   * (connection refused, a timeout, DNS). Other answers (a 400 for a batch Loki refuses) are not retried: their
   * entries are dropped at once and counted as dropped.
   */
  pushFailureCodes: '5..|429|-1',
  /**
   * Alloy's `loki.write` (grafana/alloy v1.21: internal/component/common/loki/client/metrics.go, and the component's
   * reference page): entries dropped once the retries ran out, by `reason`.
   */
  alloyDropped: 'loki_write_dropped_entries_total',
  /** Alloy's `loki.write`: pushes to Loki by `status_code`. */
  alloyRequests: 'loki_write_request_duration_seconds_count',
  /** Prometheus: rule evaluations that failed, by `rule_group`. */
  ruleEvaluationFailures: 'prometheus_rule_evaluation_failures_total',
  /** The same counter of Mimir's ruler (its metrics carry the `cortex_` prefix). */
  mimirRuleEvaluationFailures: 'cortex_prometheus_rule_evaluation_failures_total',
  /** The label of a rule group. */
  ruleGroup: 'rule_group',
  /** Prometheus: compactions that deleted blocks because the TSDB reached its size limit. */
  sizeRetentions: 'prometheus_tsdb_size_retentions_total',
  /** Alertmanager's notifications that failed after their retries, by `integration` (slack, pagerduty, webhook). */
  notificationsFailed: 'alertmanager_notifications_failed_total',
  integration: 'integration',
  /** The receiver of a notification counter (Alertmanager with `--enable-feature=receiver-name-in-metrics`). */
  receiverName: 'receiver_name',
  /** Kubelet (`/metrics`): a mounted PersistentVolume's free and total bytes, by `namespace` and `persistentvolumeclaim`. */
  volumeAvailable: 'kubelet_volume_stats_available_bytes',
  volumeCapacity: 'kubelet_volume_stats_capacity_bytes',
  persistentVolumeClaim: 'persistentvolumeclaim',
  /**
   * kube-state-metrics 2.20 (docs/metrics/workload/cronjob-metrics.md, all STABLE): when a CronJob's last Job
   * succeeded and when the CronJob was created (Unix seconds), and whether it is suspended (1), by `cronjob`.
   */
  cronJobLastSuccess: 'kube_cronjob_status_last_successful_time',
  cronJobCreated: 'kube_cronjob_created',
  cronJobSuspended: 'kube_cronjob_spec_suspend',
  cronJob: 'cronjob',
  /** The label of a status code in Loki's and Promtail's request metrics. */
  statusCode: 'status_code',
  route: 'route',
  reason: 'reason',
} as const;
