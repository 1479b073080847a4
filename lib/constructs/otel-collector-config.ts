/**
 * The part of the OpenTelemetry Collector configuration this project renders (contrib 0.159), typed so that a
 * misspelt key fails `tsc`; the Collector rejects unknown keys at start-up. Component names are the snake_case ones
 * (`otlp_grpc`, `otlp_http`, `k8s_attributes`, `prometheus_remote_write`); the old names only log deprecation warnings
 * at 0.159.
 *
 * @see https://opentelemetry.io/docs/collector/configuration/
 */
export interface CollectorConfig {
  readonly extensions: { readonly health_check: { readonly endpoint: string } };
  readonly receivers: {
    readonly otlp: { readonly protocols: { readonly grpc: { readonly endpoint: string }; readonly http: { readonly endpoint: string } } };
  };
  readonly processors: {
    readonly memory_limiter: { readonly check_interval: string; readonly limit_percentage: number; readonly spike_limit_percentage: number };
    readonly k8s_attributes: K8sAttributesProcessor;
    readonly probabilistic_sampler: { readonly sampling_percentage: number };
    readonly 'resource/cluster': ResourceProcessor;
    readonly 'resource/log-labels': ResourceProcessor;
    readonly batch: { readonly send_batch_size: number; readonly timeout: string };
  };
  readonly exporters: {
    readonly 'otlp_grpc/tempo': { readonly endpoint: string; readonly tls: { readonly insecure: boolean } };
    readonly 'otlp_http/loki': { readonly endpoint: string };
    readonly prometheus_remote_write: { readonly endpoint: string; readonly resource_to_telemetry_conversion: { readonly enabled: boolean } };
  };
  readonly service: {
    readonly extensions: readonly string[];
    readonly telemetry: {
      readonly logs: { readonly level: string; readonly encoding: 'json' | 'console' };
      readonly metrics: { readonly readers: ReadonlyArray<{ readonly pull: PullReader }> };
    };
    readonly pipelines: Readonly<Record<'traces' | 'logs' | 'metrics', CollectorPipeline>>;
  };
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
