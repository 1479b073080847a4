import { CollectorBatch, CollectorService, K8sAttributesProcessor, OtlpServer, ResourceProcessor } from './otel-collector-config';

/**
 * The configuration of the node-local Collector agent (contrib 0.159) that {@link OtelAgent} renders, typed so that a
 * misspelt key fails `tsc`; the Collector rejects unknown keys at start-up. Component names are the snake_case ones,
 * as in the gateway's {@link CollectorConfig}.
 *
 * @see https://opentelemetry.io/docs/collector/configuration/
 */
export interface AgentConfig {
  readonly extensions: {
    readonly health_check: { readonly endpoint: string };
    readonly bearertokenauth: BearerTokenAuthExtension;
  };
  readonly receivers: {
    readonly otlp: { readonly protocols: { readonly grpc: OtlpServer; readonly http: OtlpServer } };
  };
  readonly processors: {
    readonly memory_limiter: { readonly check_interval: string; readonly limit_percentage: number; readonly spike_limit_percentage: number };
    readonly k8s_attributes: NodeLocalK8sAttributesProcessor;
    readonly 'resource/cluster': ResourceProcessor;
    readonly batch: CollectorBatch;
  };
  readonly exporters: { readonly 'otlp_grpc/gateway': GatewayExporter };
  readonly service: CollectorService;
}

/** `k8s_attributes` watching only the pods of its own node, named by an environment variable. */
export interface NodeLocalK8sAttributesProcessor extends K8sAttributesProcessor {
  readonly filter: { readonly node_from_env_var: string };
}

/**
 * The `bearertokenauth` extension (contrib): adds `Authorization: Bearer <token>` to every request of the exporters
 * that name it, the token read from `filename` and re-read when the file changes (a rotated Secret reaches the
 * Collector without a restart). Its keys are not in the project's key reference; they were checked against the
 * extension's `Config` struct: `header`, `scheme`, `token`, `tokens`, `filename` (and, in recent versions only,
 * `file_retry`). Only `filename` is rendered.
 *
 * @see https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/v0.159.0/extension/bearertokenauthextension/config.go
 */
export interface BearerTokenAuthExtension {
  /** The file holding the token; never the token itself (`token` would put it in the ConfigMap). */
  readonly filename: string;
}

/** The OTLP gRPC exporter to the central gateway: mutual TLS, and the bearer token from {@link BearerTokenAuthExtension}. */
export interface GatewayExporter {
  /** `host:port`, no scheme: gRPC with TLS. */
  readonly endpoint: string;
  readonly tls: { readonly ca_file: string; readonly cert_file: string; readonly key_file: string };
  readonly auth: { readonly authenticator: string };
}
