import { RelabelConfig } from './prometheus-config';

/**
 * What a pod's log stream looks like in Loki, whichever shipper sends it: Promtail and Alloy both render from these
 * tables, so the same pod gives the same streams (labels) and the same structured metadata with either.
 */

/** The labels every log stream gets; everything else a shipper would add (filename, stream, job) is dropped. */
export const STREAM_LABELS = ['namespace', 'pod', 'container', 'app', 'level'] as const;

/**
 * Fields of a JSON log line kept as structured metadata, on lines whose {@link TRACE_FLAGS_FIELD} says the trace was
 * sampled: per-request values must never become labels.
 */
export const STRUCTURED_METADATA = ['trace_id', 'span_id'] as const;

/** The JSON field holding the W3C trace flags of the request a line was logged in. */
export const TRACE_FLAGS_FIELD = 'trace_flags';

/** The JSON field holding the ISO timestamp of a line. */
export const TIME_FIELD = 'time';

/** The JSON field that becomes the `level` label. */
export const LEVEL_FIELD = 'level';

/** The fields extracted from each JSON line (extracted name → JMESPath expression), in the order the stage lists them. */
export const JSON_FIELDS: Readonly<Record<string, string>> = {
  [LEVEL_FIELD]: LEVEL_FIELD,
  [TIME_FIELD]: TIME_FIELD,
  ...Object.fromEntries(STRUCTURED_METADATA.map(k => [k, k])),
  [TRACE_FLAGS_FIELD]: TRACE_FLAGS_FIELD,
};

/**
 * Relabeling of a discovered pod (the `__meta_kubernetes_*` labels of Kubernetes pod discovery) into the stream
 * labels `app`, `namespace`, `pod` and `container`; `level` comes from the line itself. The same rules are Promtail's
 * `relabel_configs` and Alloy's `discovery.relabel` rules.
 */
export const POD_STREAM_RELABELING: readonly RelabelConfig[] = [
  { source_labels: ['__meta_kubernetes_pod_controller_name'], regex: '([0-9a-z-.]+?)(-[0-9a-f]{8,10})?', target_label: '__tmp_controller_name' },
  {
    source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name', '__meta_kubernetes_pod_label_app', '__tmp_controller_name', '__meta_kubernetes_pod_name'],
    regex: '^;*([^;]+)(;.*)?$', target_label: 'app',
  },
  { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
  { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
];

/** The sampled bit (bit 0) of W3C trace flags written as hex (`01`, `03`, …; `00` is not sampled). */
export const SAMPLED_TRACE_FLAGS = '^[0-9a-f]?[13579bdf]$';

/**
 * The Go template of a `template` stage that keeps the extracted value it is applied to only when the extracted trace
 * flags `flags` have the sampled bit, and renders empty otherwise (also when either is missing). Promtail's and
 * Alloy's template stages both delete a value whose template renders empty, so a later structured-metadata stage
 * skips it. `and` stops at the first empty operand, so `regexMatch` (sprig) only sees a string.
 */
export function sampledOnlyTemplate(flags: string): string {
  return `{{ if and .Value .${flags} (regexMatch "${SAMPLED_TRACE_FLAGS}" .${flags}) }}{{ .Value }}{{ end }}`;
}

/**
 * The services' probe and scrape requests (`route` of their access-log lines: `/healthz`, `/readyz`, `/metrics`, the
 * `PATHS` of `apps/contract.ts`, which manifest code may not import): logged at debug level, noise in Loki. Both
 * shippers drop them.
 */
export const PROBE_LINES = {
  /** The JSON field naming the request's route. */
  field: 'route',
  /** The routes whose lines are dropped. */
  routes: ['/healthz', '/readyz', '/metrics'],
  /** The `reason` of the shipper's dropped-lines counter. */
  reason: 'probe',
} as const;

/** The anchored regular expression matching exactly the {@link PROBE_LINES} routes. */
export function probeRouteRegex(): string {
  return `^(${PROBE_LINES.routes.map(r => r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}
