/**
 * Every key path this project may render, each checked for Mimir 3.2 against grafana/mimir's
 * docs/sources/mimir/configure/configuration-parameters/index.md (generated from cmd/mimir/config-descriptor.json;
 * read at 0013c446, a 3.x main commit) and the structs it documents: pkg/storage/bucket/s3/config.go (`bucket_lookup_type`),
 * pkg/storage/bucket/azure/config.go, pkg/storegateway/gateway_ring.go, pkg/ruler/notifier/notifier_config.go
 * (`ruler_alertmanager_client_config.alertmanager_url`, used with mimir-3.2.1 by several public deployments).
 */
export const MIMIR_3_2_KEYS: readonly string[] = [
  'multitenancy_enabled',
  'server.http_listen_port', 'server.grpc_listen_port',
  'memberlist.join_members', 'memberlist.bind_port',
  'common.storage.backend',
  'common.storage.s3.endpoint', 'common.storage.s3.region', 'common.storage.s3.access_key_id', 'common.storage.s3.secret_access_key',
  'common.storage.s3.insecure', 'common.storage.s3.bucket_lookup_type',
  'common.storage.azure.account_name',
  'blocks_storage.backend', 'blocks_storage.filesystem.dir',
  'blocks_storage.s3.bucket_name', 'blocks_storage.gcs.bucket_name', 'blocks_storage.azure.container_name',
  'blocks_storage.tsdb.dir', 'blocks_storage.bucket_store.sync_dir',
  'compactor.data_dir', 'compactor.sharding_ring.kvstore.store',
  'ingester.ring.replication_factor', 'ingester.ring.kvstore.store',
  'distributor.ring.kvstore.store',
  'store_gateway.sharding_ring.replication_factor', 'store_gateway.sharding_ring.kvstore.store',
  'ruler.rule_path',
  'ruler_storage.backend', 'ruler_storage.local.directory',
  'limits.compactor_blocks_retention_period', 'limits.ruler_alertmanager_client_config.alertmanager_url',
  // validation.max-label-names-per-series, ingester.max-global-exemplars-per-user, ingester.out-of-order-time-window
  'limits.max_label_names_per_series', 'limits.max_global_exemplars_per_user', 'limits.out_of_order_time_window',
  // distributor.ingestion-rate-limit, distributor.ingestion-burst-size, ingester.max-global-series-per-user
  'limits.ingestion_rate', 'limits.ingestion_burst_size', 'limits.max_global_series_per_user',
  'activity_tracker.filepath',
  'usage_stats.enabled',
];
