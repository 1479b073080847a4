/**
 * The part of Mimir's configuration this project renders (Mimir 3.2, monolithic `-target=all`), typed so that a
 * misspelt key fails `tsc`; Mimir decodes its YAML with known fields only and refuses to start on an unknown key.
 * Keys keep Mimir's own spelling.
 *
 * @see https://github.com/grafana/mimir/blob/mimir-3.2.1/docs/sources/mimir/configure/configuration-parameters/index.md
 */
export interface MimirConfig {
  /** `true`: every request names its tenant in `X-Scope-OrgID`. */
  readonly multitenancy_enabled: boolean;
  readonly server: { readonly http_listen_port: number; readonly grpc_listen_port: number };
  readonly memberlist: { readonly join_members: readonly string[]; readonly bind_port: number };
  /** Connection settings every store inherits (`-common.storage.*`); absent with the filesystem backend. */
  readonly common?: { readonly storage: MimirBucketConfig };
  readonly blocks_storage: {
    /** Set only with the filesystem backend; object storage inherits `common.storage.backend`. */
    readonly backend?: 'filesystem';
    readonly filesystem?: { readonly dir: string };
    /** The blocks bucket, overriding the (bucket-less) common one. */
    readonly s3?: { readonly bucket_name: string };
    readonly gcs?: { readonly bucket_name: string };
    readonly azure?: { readonly container_name: string };
    readonly tsdb: { readonly dir: string };
    readonly bucket_store: { readonly sync_dir: string };
  };
  readonly compactor: {
    readonly data_dir: string;
    readonly sharding_ring: { readonly kvstore: MimirKvStore };
  };
  readonly ingester: { readonly ring: { readonly replication_factor: number; readonly kvstore: MimirKvStore } };
  readonly distributor: { readonly ring: { readonly kvstore: MimirKvStore } };
  readonly store_gateway: { readonly sharding_ring: { readonly replication_factor: number; readonly kvstore: MimirKvStore } };
  readonly ruler: { readonly rule_path: string };
  /** Read-only rule files: `<directory>/<tenant>/<namespace file>`. */
  readonly ruler_storage: { readonly backend: 'local'; readonly local: { readonly directory: string } };
  readonly limits: {
    /** Go duration; `0s` keeps blocks forever. */
    readonly compactor_blocks_retention_period: string;
    readonly max_label_names_per_series: number;
    readonly max_global_exemplars_per_user: number;
    /** Go duration. */
    readonly out_of_order_time_window: string;
    readonly max_global_series_per_user: number;
    /** Samples per second. */
    readonly ingestion_rate: number;
    readonly ingestion_burst_size: number;
    readonly ruler_alertmanager_client_config?: { readonly alertmanager_url: string };
  };
  readonly activity_tracker: { readonly filepath: string };
  readonly usage_stats: { readonly enabled: boolean };
}

/** A ring's key-value store: Mimir's rings gossip over memberlist. */
export interface MimirKvStore {
  readonly store: 'memberlist';
}

/**
 * `common.storage` on object storage: the backend and how to reach it, not the bucket. GCS needs nothing here: without
 * a `service_account` key the client uses Application Default Credentials (GKE Workload Identity).
 */
export interface MimirBucketConfig {
  readonly backend: 's3' | 'gcs' | 'azure';
  readonly s3?: MimirS3Config;
  readonly azure?: MimirAzureConfig;
}

/**
 * An S3-compatible store. Without keys the client falls back to its credential chain (web identity, container
 * credentials), which is what IRSA and EKS Pod Identity need.
 */
export interface MimirS3Config {
  /** `host[:port]`, no scheme. */
  readonly endpoint: string;
  readonly region: string;
  readonly access_key_id?: string;
  readonly secret_access_key?: string;
  /** `true`: plain HTTP. */
  readonly insecure: boolean;
  /** `path` for path-style addressing (MinIO), `auto` otherwise (pkg/storage/bucket/s3/config.go). */
  readonly bucket_lookup_type: 'auto' | 'path';
}

/**
 * Azure Blob Storage. Without `account_key`, `connection_string` and `user_assigned_id`, the client builds
 * `azidentity.NewDefaultAzureCredential`, which reads Azure Workload Identity's `AZURE_*` variables
 * (thanos-io/objstore providers/azure/helpers.go getTokenCredential).
 */
export interface MimirAzureConfig {
  readonly account_name: string;
}
