/**
 * The part of Loki's configuration this project renders (Loki 3.7, monolithic `-target=all`), typed so that a
 * misspelt key fails `tsc`; Loki rejects unknown keys at start-up. Keys keep Loki's own spelling.
 *
 * @see https://grafana.com/docs/loki/v3.7.x/configure/
 */
export interface LokiConfig {
  readonly auth_enabled: boolean;
  readonly server: { readonly http_listen_port: number; readonly grpc_listen_port: number; readonly log_level: string; readonly log_format: 'json' | 'logfmt' };
  readonly common: {
    readonly path_prefix: string;
    readonly replication_factor: number;
    readonly compactor_address?: string;
    readonly ring: { readonly kvstore: { readonly store: 'inmemory' | 'memberlist' } };
    readonly storage: {
      readonly filesystem?: LokiFilesystemStorage;
      readonly s3?: LokiS3Storage;
      readonly gcs?: LokiGcsStorage;
      readonly azure?: LokiAzureStorage;
    };
  };
  readonly memberlist?: { readonly join_members: readonly string[]; readonly bind_port: number };
  readonly schema_config: { readonly configs: readonly LokiPeriodConfig[] };
  readonly limits_config: {
    readonly allow_structured_metadata: boolean;
    readonly retention_period: string;
    readonly reject_old_samples: boolean;
    readonly reject_old_samples_max_age: string;
    readonly volume_enabled: boolean;
    readonly otlp_config: {
      readonly resource_attributes: {
        /**
         * `true`: Loki's default index-label list (`distributor.otlp_config.default_resource_attributes_as_index_labels`)
         * is not put in front of `attributes_config`; otherwise it is, and as the first matching entry wins, it decides.
         */
        readonly ignore_defaults: boolean;
        /** Checked in order, the first entry naming an attribute decides; an attribute no entry names is structured metadata. */
        readonly attributes_config: ReadonlyArray<{ readonly action: 'index_label' | 'structured_metadata' | 'drop'; readonly attributes: readonly string[] }>;
      };
    };
  };
  /** The write-ahead log's replay ceiling, a size such as `768MB` (binary units: 1MB is 1MiB). */
  readonly ingester: { readonly wal: { readonly replay_memory_ceiling: string } };
  readonly compactor: {
    readonly working_directory: string;
    readonly compaction_interval: string;
    readonly retention_enabled: boolean;
    readonly retention_delete_delay: string;
    readonly delete_request_store: LokiObjectStore;
  };
  readonly ruler: { readonly wal: { readonly dir: string } };
  readonly analytics: { readonly reporting_enabled: boolean };
}

/** Chunks and rules on a local volume. */
export interface LokiFilesystemStorage {
  readonly chunks_directory: string;
  readonly rules_directory: string;
}

/** Chunks and index in an S3 bucket. */
export interface LokiS3Storage {
  readonly endpoint: string;
  readonly bucketnames: string;
  readonly region: string;
  /** Unset with workload identity: both unset, the client uses the AWS SDK's default credential chain. */
  readonly access_key_id?: string;
  readonly secret_access_key?: string;
  readonly s3forcepathstyle: boolean;
  readonly insecure: boolean;
}

/**
 * Chunks and index in a Google Cloud Storage bucket, with Application Default Credentials (GKE Workload Identity's
 * metadata server) since no `service_account` key is given.
 *
 * @see https://grafana.com/docs/loki/v3.7.x/configure/#gcs_storage_config
 */
export interface LokiGcsStorage {
  readonly bucket_name: string;
}

/**
 * Chunks and index in an Azure Blob Storage container. `use_federated_token` reads `AZURE_CLIENT_ID`,
 * `AZURE_TENANT_ID` and `AZURE_FEDERATED_TOKEN_FILE` (Azure Workload Identity's webhook) and exchanges the token at
 * the environment's Entra ID endpoint, `login.microsoftonline.com` for the default `AzureGlobal`
 * (grafana/loki@v3.7.x pkg/storage/chunk/client/azure/blob_storage_client.go servicePrincipalTokenFromFederatedToken).
 *
 * @see https://grafana.com/docs/loki/v3.7.x/configure/#azure_storage_config
 */
export interface LokiAzureStorage {
  readonly account_name: string;
  readonly container_name: string;
  readonly use_federated_token: boolean;
}

/** The object stores Loki's schema periods and compactor name. */
export type LokiObjectStore = 'filesystem' | 's3' | 'gcs' | 'azure';

/** A schema period: never change one that is in use, append a new one with a later `from`. */
export interface LokiPeriodConfig {
  readonly from: string;
  readonly store: 'tsdb';
  readonly object_store: LokiObjectStore;
  readonly schema: 'v13';
  readonly index: { readonly prefix: string; readonly period: '24h' };
}
