/**
 * The part of the OpenTelemetry Collector configuration this project renders (contrib 0.159), typed so that a
 * misspelt key fails `tsc`; the Collector rejects unknown keys at start-up. Component names are the snake_case ones
 * (`otlp_grpc`, `otlp_http`, `k8s_attributes`, `prometheus_remote_write`); the old names only log deprecation warnings
 * at 0.159.
 *
 * @see https://opentelemetry.io/docs/collector/configuration/
 */
import { OBSERVER_METRIC_PATTERNS } from '../slo/vocabulary';

/** An OTLP receiver's server: where it listens, and the authenticator every request must pass. */
export interface OtlpServer {
  readonly endpoint: string;
  /** gRPC only: the largest message accepted (gRPC's default: 4). */
  readonly max_recv_msg_size_mib?: number;
  readonly auth?: { readonly authenticator: string };
}

export interface CollectorConfig {
  readonly extensions: {
    readonly health_check: { readonly endpoint: string };
    /** Senders' bearer token, checked against the file's content (contrib's extension/bearertokenauthextension). */
    readonly bearertokenauth?: { readonly filename: string };
  };
  readonly receivers: {
    readonly otlp: { readonly protocols: { readonly grpc: OtlpServer; readonly http: OtlpServer } };
  };
  readonly processors: {
    readonly memory_limiter: { readonly check_interval: string; readonly limit_percentage: number; readonly spike_limit_percentage: number };
    /** Left out where the senders add Kubernetes metadata themselves (app-cluster agents): here it would be the edge's. */
    readonly k8s_attributes?: K8sAttributesProcessor;
    readonly probabilistic_sampler: { readonly sampling_percentage: number };
    readonly 'resource/cluster': ResourceProcessor;
    readonly 'resource/log-labels': ResourceProcessor;
    readonly 'transform/sidecar-service-name': TransformProcessor;
    readonly 'transform/redact': TransformProcessor;
    readonly 'transform/metric-resource': TransformProcessor;
    /** Metrics dropped by OTTL conditions on the metric (any one true drops it). */
    readonly 'filter/observer-metrics': { readonly error_mode: 'ignore'; readonly metrics: { readonly metric: readonly string[] } };
    readonly batch: CollectorBatch;
  };
  readonly exporters: {
    readonly 'otlp_grpc/tempo': { readonly endpoint: string; readonly tls: { readonly insecure: boolean } };
    readonly 'otlp_http/loki': { readonly endpoint: string };
    readonly prometheus_remote_write: {
      readonly endpoint: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly resource_to_telemetry_conversion: { readonly enabled: boolean; readonly exclude_service_attributes: boolean };
    };
  };
  readonly service: CollectorService;
}

/** The `service` section of a Collector's config: its extensions, its own logs and metrics, one pipeline per signal. */
export interface CollectorService {
  readonly extensions: readonly string[];
  readonly telemetry: {
    readonly logs: { readonly level: string; readonly encoding: 'json' | 'console' };
    readonly metrics: { readonly readers: ReadonlyArray<{ readonly pull: PullReader }> };
  };
  readonly pipelines: Readonly<Record<'traces' | 'logs' | 'metrics', CollectorPipeline>>;
}

/** A Prometheus endpoint serving the Collector's own metrics. */
export interface PullReader {
  readonly exporter: { readonly prometheus: { readonly host: string; readonly port: number } };
}

/** A pipeline: components by id, processors in order. */
export interface CollectorPipeline {
  readonly receivers: readonly string[];
  readonly processors: readonly string[];
  readonly exporters: readonly string[];
}

/** Adds Kubernetes metadata of the sending pod to every signal. */
export interface K8sAttributesProcessor {
  readonly auth_type: 'serviceAccount';
  readonly passthrough: boolean;
  readonly extract: { readonly metadata: readonly string[] };
  readonly pod_association: ReadonlyArray<{ readonly sources: ReadonlyArray<{ readonly from: 'resource_attribute' | 'connection'; readonly name?: string }> }>;
}

/** Edits resource attributes. */
export interface ResourceProcessor {
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly action: 'insert' | 'upsert' | 'update' | 'delete'; readonly value?: string; readonly from_attribute?: string }>;
}

/**
 * The `transform` processor (contrib): OTTL statements per signal, run in order. Each group's statements share one
 * context, inferred from their path prefixes (`resource.`, `span.`, `spanevent.`, `datapoint.`); a group without a
 * `context` key is the 0.120+ style.
 *
 * @see https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/v0.159.0/processor/transformprocessor/README.md
 */
export interface TransformProcessor {
  /** `ignore`: a failing statement is logged and skipped, the data goes on. */
  readonly error_mode: 'ignore' | 'silent' | 'propagate';
  readonly trace_statements?: readonly OttlStatementGroup[];
  readonly metric_statements?: readonly OttlStatementGroup[];
}

/** Statements that run in one OTTL context. */
export interface OttlStatementGroup {
  readonly statements: readonly string[];
}

// Sources of the OTTL functions used below, all in contrib v0.159.0 (pkg/ottl/ottlfuncs/README.md, "Editors" and
// "Converters"): set, delete_key, delete_matching_keys, keep_matching_keys, replace_pattern, replace_all_patterns
// (editors), Concat and IsMatch (converters). Paths: pkg/ottl/contexts (resource, span, spanevent, metric); context
// inference since v0.120.0 (processor/transformprocessor/README.md, "Context inference"); the filter processor's
// `metrics.metric` conditions in the metric context (processor/filterprocessor/README.md).

/** An OTTL string literal: Go escapes, which JSON's are for this text (backslashes and quotes). */
function str(value: string): string {
  return JSON.stringify(value);
}

/**
 * `text` as a string value in the Collector's config file: the config resolver reads `${...}` as a variable and
 * `$$` as a literal `$`, so every `$` of a regex anchor or a `${1}` group reference is doubled.
 */
export function escapeConfigDollars(text: string): string {
  return text.replace(/\$/g, '$$$$');
}

/** One rule of {@link TRACE_REDACTIONS}. */
export interface RedactionRule {
  /** What it removes. */
  readonly what: string;
  /** An RE2 regex (Go `regexp`: no lookaround, no back-references). */
  readonly pattern: string;
  /** The replacement, with `${n}` group references (Go `regexp.Expand`). */
  readonly replacement: string;
}

// Names of credential `name=value` pairs, as in the services' rules (apps/shared/redact.ts, which lib/ may not import):
// tokens, passwords, secrets, API and access keys, authorization, login-state ids (session, JSESSIONID, PHPSESSID,
// sid, connect.sid), presigned URLs' signatures and credentials (X-Amz-Signature, X-Goog-Signature, sig, key), also
// nested (`user[password]`) or percent-encoded (`access%5Ftoken`, `user%5Bpass%5D`)
const NAME_CHAR = String.raw`[\w.%\[\]-]`;
const NAME_SEPARATOR = String.raw`(?:[-_]|%5F|%2D)?`;
const secretName = (nameChar: string): string => String.raw`${nameChar}*(?:passw(?:or)?d|pwd|secret|token|api${NAME_SEPARATOR}key|access${NAME_SEPARATOR}key|authorization|session|sessid`
  + String.raw`|signature|credential|private${NAME_SEPARATOR}key|cvv|cvc)`
  + String.raw`${nameChar}*|(?:${nameChar}*[._-])?sid|(?:${nameChar}*(?:\[|%5B))?(?:pass|auth|sid|sig|key|csc)(?:\]|%5D)?`;
const SECRET_NAME = secretName(NAME_CHAR);
/**
 * A name's character inside a percent-encoded value: never an encoded `&`, `/`, `;`, `=` or `?` (`%26`, `%2F`, `%3B`,
 * `%3D`, `%3F`), which end it or start it. Disjoint from the delimiters, so that each text has one reading: a class
 * that overlapped them backtracked exponentially on a run of `%3B`.
 */
const ENCODED_NAME_CHAR = String.raw`(?:[\w.\[\]-]|%[014-9a-f][0-9a-f]|%2[0-57-9a-e]|%3[0-9ace])`;

/** The authentication schemes an `Authorization` value may start with: the services' list (apps/shared/redact.ts). */
export const AUTH_SCHEMES = 'bearer|basic|token|digest|apikey|api-key|negotiate|ntlm|hoba|mutual|aws4-hmac-sha256|dpop|gnap|oauth|sso-key|sharedkey|key';

/**
 * What the trace pipeline removes from every string value of span, event and resource attributes and from span names
 * and status messages: the services' log rules in RE2, in the same order. RE2 has no callbacks, so card numbers are
 * matched by shape alone (13 to 19 digits starting with 2 to 6, grouped or not), without the services' Luhn check:
 * the Collector also replaces a long id that happens to have that shape (not epoch timestamps, which start with 1).
 */
export const TRACE_REDACTIONS: readonly RedactionRule[] = [
  { what: 'Cookie and Set-Cookie lines', pattern: String.raw`(?i:\b((?:set-)?cookie:[ \t]*)[^\r\n]*)`, replacement: '${1}[redacted]' },
  {
    what: 'Authorization and Proxy-Authorization lines, after their scheme',
    pattern: String.raw`(?i:\b((?:proxy-)?authorization:[ \t]*(?:(?:${AUTH_SCHEMES})[ \t]+)?)[^\r\n]+)`,
    replacement: '${1}[redacted]',
  },
  { what: 'Bearer and Basic credentials', pattern: String.raw`(?i:\b((?:bearer|basic)[ \t]+)[\w.~+/-]{8,}=*)`, replacement: '${1}[redacted]' },
  {
    what: 'the user information of URLs (scheme://user:password@)', pattern: String.raw`(?i:\b([a-z][a-z\d+.-]*://)[^\t\n\f\r /?#"<>]+@)`,
    replacement: '${1}[redacted]@',
  },
  {
    what: 'values of credential-named pairs (access_token=, password=, sessionid=, JSESSIONID=, sid=, ...)',
    pattern: String.raw`(?i:(^|[?&;,\t\n\f\r /])((?:${SECRET_NAME})=)[^&;,#?\t\n\f\r ]*)`,
    replacement: '${1}${2}[redacted]',
  },
  {
    what: 'the same pairs percent-encoded inside a value (redirect_uri=...%3Faccess_token%3D...), up to an encoded &',
    pattern: String.raw`(?i:(^|[?&;,\t\n\f\r /=]|%3F|%26|%3B|%2F)((?:${secretName(ENCODED_NAME_CHAR)})%3D)(?:[^&;,#?%\t\n\f\r ]|%[013-9a-f][0-9a-f]|%2[0-57-9a-f])*)`,
    replacement: '${1}${2}[redacted]',
  },
  { what: 'JSON Web Tokens', pattern: String.raw`eyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*`, replacement: '[redacted]' },
  { what: 'e-mail addresses, also URL-encoded', pattern: String.raw`(?i:[\w.%+-]+(?:@|%40)[\w-]+(?:(?:\.|%2E)[\w-]+)*(?:\.|%2E)[a-z]{2,})`, replacement: '[email]' },
  { what: 'card numbers (by shape)', pattern: String.raw`\b[2-6](?:(?:[ +-]|%20)?\d){12,18}\b`, replacement: '[card]' },
];

/**
 * Attribute keys removed whole: request and response headers (and gRPC metadata) that carry credentials, cookies,
 * login-state ids or W3C baggage and tracestate. Header attributes are string arrays, which the value rules do not reach.
 */
export const SECRET_HEADER_KEYS = String.raw`(?i:^(?:http\.(?:request|response)\.header\.|rpc\.grpc\.(?:request|response)\.metadata\.)`
  + String.raw`(?:[\w.-]*(?:authorization|cookie|passw(?:or)?d|pwd|secret|token|api[-_]?key|access[-_]?key|session|sessid|signature|credential`
  + String.raw`|private[-_]?key|baggage|tracestate)[\w.-]*|(?:[\w.-]*[._-])?(?:sid|sig|auth|pass))$)`;

/**
 * Statements of the trace pipeline's `transform/redact` processor. Resource: the process's command-line arguments go
 * (an array, which the value rules do not reach, and command lines carry passwords); span: secret header attributes
 * go, then every rule on attribute values, the name and the status message; span events: every rule on attribute
 * values (`exception.message`, `exception.stacktrace`). Span links are not reachable from trace statements in 0.159.
 */
export function traceRedactionStatements(): OttlStatementGroup[] {
  const onValues = (map: string) => TRACE_REDACTIONS.map(r => `replace_all_patterns(${map}, "value", ${str(r.pattern)}, ${str(r.replacement)})`);
  const onString = (field: string) => TRACE_REDACTIONS.map(r => `replace_pattern(${field}, ${str(r.pattern)}, ${str(r.replacement)})`);
  return [
    { statements: ['delete_key(resource.attributes, "process.command_args")', ...onValues('resource.attributes')] },
    {
      statements: [
        `delete_matching_keys(span.attributes, ${str(SECRET_HEADER_KEYS)})`,
        ...onValues('span.attributes'), ...onString('span.name'), ...onString('span.status.message'),
      ],
    },
    { statements: onValues('spanevent.attributes') },
  ].map(escapeGroup);
}

/**
 * Statements of `transform/sidecar-service-name`. Istio names the spans of a sidecar `<app label>.<namespace>`
 * (ProxyConfig `tracingServiceName`, default `APP_LABEL_AND_NAMESPACE`), while the service's own spans and its logs'
 * `app` label carry the bare name: two nodes per service in the service map, and "logs for this span" finds nothing.
 * Every sidecar span carries the workload's canonical service as the tag `istio.canonical_service` (Istio tags, on
 * unless a Telemetry resource turns `enableIstioTags` off); its value becomes `service.name`. Istio writes
 * `unknown` when the pod has no canonical name, which is left alone.
 */
export function sidecarServiceNameStatements(): OttlStatementGroup[] {
  const canonical = 'span.attributes["istio.canonical_service"]';
  return [
    { statements: [`set(resource.attributes["service.name"], ${canonical}) where ${canonical} != nil and ${canonical} != "unknown"`] },
  ].map(escapeGroup);
}

/**
 * Statements of `transform/metric-resource`: the resource attributes the metrics keep, because Prometheus remote
 * write turns each into a label on every series. Kept: `service.name` and `service.namespace` (the `job` label),
 * `service.instance.id` (the `instance` label, one per pod, which keeps the series of two replicas apart),
 * `service.version`, the environment, the cluster, the namespace and the track. Gone: pod name and uid, node,
 * deployment, host, process, SDK and every other per-pod attribute. A resource without `service.instance.id` gets
 * `<namespace>.<pod>`, unique per pod as a scrape's `instance` is, or the series of two replicas would collide.
 */
export function metricResourceStatements(keep: readonly string[]): OttlStatementGroup[] {
  const attr = (key: string) => `resource.attributes[${str(key)}]`;
  const keepPattern = `^(?:${keep.map(key => key.replace(/[.]/g, '\\.')).join('|')})$`;
  return [{
    statements: [
      `set(${attr('service.instance.id')}, Concat([${attr('k8s.namespace.name')}, ${attr('k8s.pod.name')}], "."))`
        + ` where ${attr('service.instance.id')} == nil and ${attr('k8s.namespace.name')} != nil and ${attr('k8s.pod.name')} != nil`,
      `keep_matching_keys(resource.attributes, ${str(keepPattern)})`,
    ],
  }].map(escapeGroup);
}

/**
 * Conditions of `filter/observer-metrics`: a metric pushed over OTLP that would be stored under a name only the
 * platform's observers may write ({@link OBSERVER_METRIC_PATTERNS}) is dropped. `name` is the metric's name (the
 * filter processor's metric context).
 */
export function observerMetricConditions(): string[] {
  return OBSERVER_METRIC_PATTERNS.map(pattern => escapeConfigDollars(`IsMatch(name, ${str(pattern)})`));
}

function escapeGroup(group: OttlStatementGroup): OttlStatementGroup {
  return { statements: group.statements.map(escapeConfigDollars) };
}

/** What `k8s_attributes` reads from the API server: pods and namespaces, and ReplicaSets for `k8s.deployment.name`. */
export function k8sAttributesRules(): Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> {
  return [
    { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
    // k8s.deployment.name is found through the pod's ReplicaSet
    { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
  ];
}

/**
 * The largest batch a Collector here sends (spans, log records or metric points), and the largest OTLP message a
 * receiver here (Tempo, a gateway Collector) accepts. gRPC's default of 4 MiB holds 8,192 spans of 512 bytes at most:
 * a full batch of larger spans (many attributes, an exception's stack) would be refused whole. 16 MiB holds 8,192 of 2 KiB.
 */
export const OTLP_BATCH = { maxItems: 8192, maxMessageMiB: 16 } as const;

/** The batch processor: batches of at most {@link OTLP_BATCH}.maxItems (without a maximum, a large request is sent whole). */
export interface CollectorBatch {
  readonly send_batch_size: number;
  readonly send_batch_max_size: number;
  readonly timeout: string;
}

/** The ports of every Collector here, the gateway's and the node agents'. */
export const COLLECTOR_PORTS = {
  otlpGrpc: { name: 'otlp-grpc', port: 4317, appProtocol: 'grpc' },
  otlpHttp: { name: 'otlp-http', port: 4318, appProtocol: 'http' },
  health: { name: 'health', port: 13133, appProtocol: 'http' },
  metrics: { name: 'metrics', port: 8888, appProtocol: 'http' },
} as const;

/** The parts every Collector here shares, as fresh objects (a shared one would be written as a YAML alias). */
export const collectorParts = {
  /** OTLP on both protocols, on every address (the pods of the cluster send from theirs). */
  otlpReceiver: (): { protocols: { grpc: OtlpServer; http: OtlpServer } } => ({
    protocols: {
      grpc: { endpoint: `0.0.0.0:${COLLECTOR_PORTS.otlpGrpc.port}`, max_recv_msg_size_mib: OTLP_BATCH.maxMessageMiB },
      http: { endpoint: `0.0.0.0:${COLLECTOR_PORTS.otlpHttp.port}` },
    },
  }),
  /** 0.0.0.0, not the localhost default: the kubelet probes from outside the pod. */
  healthCheck: () => ({ endpoint: `0.0.0.0:${COLLECTOR_PORTS.health.port}` }),
  /** First in every pipeline: refuses data before the pod runs out of memory. */
  memoryLimiter: () => ({ check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 25 }),
  /**
   * The pod's Kubernetes metadata, found by the pod IP or uid the SDK and the sidecars report, else by the connection's
   * address: the same attributes wherever the Collector runs, so that the labels, dashboards and links agree.
   */
  k8sAttributes: (): K8sAttributesProcessor => ({
    auth_type: 'serviceAccount',
    passthrough: false,
    extract: { metadata: ['k8s.namespace.name', 'k8s.pod.name', 'k8s.pod.uid', 'k8s.deployment.name', 'k8s.node.name'] },
    pod_association: [
      { sources: [{ from: 'resource_attribute', name: 'k8s.pod.ip' }] },
      { sources: [{ from: 'resource_attribute', name: 'k8s.pod.uid' }] },
      { sources: [{ from: 'connection' }] },
    ],
  }),
  /** Last before export. */
  batch: (): CollectorBatch => ({ send_batch_size: OTLP_BATCH.maxItems, send_batch_max_size: OTLP_BATCH.maxItems, timeout: '1s' }),
  /** JSON logs, and the Collector's own metrics for Prometheus on {@link COLLECTOR_PORTS}.metrics. */
  telemetry: () => ({
    logs: { level: 'info', encoding: 'json' as const },
    metrics: { readers: [{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: COLLECTOR_PORTS.metrics.port } } } }] },
  }),
};
