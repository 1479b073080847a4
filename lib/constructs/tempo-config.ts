import { OtlpServer } from './otel-collector-config';

/**
 * The part of Tempo's configuration this project renders, for Tempo 3.0 monolithic (`-target=all`): 3.0 removed the
 * `ingester`, `compactor`, `ingester_client` and `metrics_generator_client` blocks, so none of them appear here, and
 * overrides use the scoped `defaults` format (legacy flat overrides stop 3.0 at start-up).
 *
 * @see https://grafana.com/docs/tempo/latest/configuration/
 */
export interface TempoConfig {
  readonly stream_over_http_enabled: boolean;
  readonly server: { readonly http_listen_port: number; readonly grpc_listen_port: number; readonly log_level: string; readonly log_format: 'json' | 'logfmt' };
  readonly distributor: {
    readonly receivers: {
      readonly otlp: { readonly protocols: { readonly grpc: OtlpServer; readonly http: OtlpServer } };
    };
  };
  readonly storage: {
    readonly trace: {
      readonly backend: 'local' | 's3' | 'gcs' | 'azure';
      readonly wal: { readonly path: string };
      readonly local?: { readonly path: string };
      readonly s3?: TempoS3Storage;
      readonly gcs?: TempoGcsStorage;
      readonly azure?: TempoAzureStorage;
    };
  };
  readonly metrics_generator?: {
    readonly registry: { readonly external_labels: Readonly<Record<string, string>> };
    /** Attributes added as labels: `dimensions` of each processor (resource and span attributes, where present). */
    readonly processor?: {
      readonly span_metrics: { readonly dimensions: readonly string[] };
      readonly service_graphs: { readonly dimensions: readonly string[]; readonly enable_client_server_prefix: boolean };
    };
    readonly storage: {
      readonly path: string;
      readonly remote_write: ReadonlyArray<{
        readonly url: string;
        readonly send_exemplars: boolean;
        readonly headers?: Readonly<Record<string, string>>;
      }>;
    };
  };
  readonly backend_worker: { readonly compaction: { readonly block_retention: string } };
  readonly overrides: {
    readonly defaults: {
      readonly compaction: { readonly block_retention: string };
      readonly metrics_generator?: { readonly processors: ReadonlyArray<'service-graphs' | 'span-metrics'> };
    };
  };
  readonly memory: { readonly automemlimit_enabled: boolean };
  readonly usage_report: { readonly reporting_enabled: boolean };
}

/** Blocks in an S3 bucket (Tempo's key names differ from Loki's). */
export interface TempoS3Storage {
  readonly bucket: string;
  /** host[:port], no scheme. */
  readonly endpoint: string;
  readonly region: string;
  /** Unset with workload identity: the client falls back to its credential chain (web identity, container credentials). */
  readonly access_key?: string;
  readonly secret_key?: string;
  readonly insecure: boolean;
  readonly forcepathstyle: boolean;
}

/**
 * Blocks in a Google Cloud Storage bucket; with no key file the client uses Application Default Credentials (GKE
 * Workload Identity's metadata server), through google.golang.org/api/transport/http
 * (grafana/tempo tempodb/backend/gcs/gcs.go createBucket).
 *
 * @see https://grafana.com/docs/tempo/latest/configuration/hosted-storage/gcs/
 */
export interface TempoGcsStorage {
  readonly bucket_name: string;
}

/**
 * Blocks in an Azure Blob Storage container of `storage_account_name` at `<account>.blob.core.windows.net` (the default
 * `endpoint_suffix`); `use_federated_token` makes the client use azidentity's WorkloadIdentityCredential, which reads
 * the webhook's `AZURE_*` variables (grafana/tempo tempodb/backend/azure getContainerClient).
 *
 * @see https://grafana.com/docs/tempo/latest/configuration/hosted-storage/azure/
 */
export interface TempoAzureStorage {
  readonly storage_account_name: string;
  readonly container_name: string;
  readonly use_federated_token: boolean;
}
