import { ENVIRONMENTS } from '../lib/config/environments';
import { Loki } from '../lib/constructs/loki';
import { Tempo } from '../lib/constructs/tempo';
import { testChart } from './support/chart';
import { keyPaths, unknownKeys } from './support/config-keys';
import { AZURE_WI, GCS_GKE, S3_IRSA } from './support/fixtures';
import { synthStack } from './support/manifest';

/**
 * Every key the project renders into Loki, Promtail, Tempo and Collector configs, checked by hand against the key
 * reference of the pinned lines (Loki 3.7, Promtail 3.6, Tempo 3.0, Collector contrib 0.159: patch releases add no
 * keys). These components stop at start-up on an unknown key, so a new key must be checked against the upstream
 * configuration reference of the pinned release and added here; the test fails until it is.
 */
const KNOWN = {
  loki: [
    'analytics.reporting_enabled', 'auth_enabled', 'common.compactor_address', 'common.path_prefix', 'common.replication_factor',
    'common.ring.kvstore.store', 'common.storage.azure.account_name', 'common.storage.azure.container_name', 'common.storage.azure.use_federated_token',
    'common.storage.filesystem.chunks_directory', 'common.storage.filesystem.rules_directory', 'common.storage.gcs.bucket_name',
    'common.storage.s3.access_key_id', 'common.storage.s3.bucketnames', 'common.storage.s3.endpoint', 'common.storage.s3.insecure',
    'common.storage.s3.region', 'common.storage.s3.s3forcepathstyle', 'common.storage.s3.secret_access_key', 'compactor.compaction_interval',
    'compactor.delete_request_store', 'compactor.retention_delete_delay', 'compactor.retention_enabled', 'compactor.working_directory',
    'ingester.wal.replay_memory_ceiling',
    'limits_config.allow_structured_metadata', 'limits_config.otlp_config.resource_attributes.attributes_config[].action',
    'limits_config.otlp_config.resource_attributes.attributes_config[].attributes', 'limits_config.otlp_config.resource_attributes.ignore_defaults',
    'limits_config.reject_old_samples',
    'limits_config.reject_old_samples_max_age', 'limits_config.retention_period', 'limits_config.volume_enabled', 'memberlist.bind_port',
    'memberlist.join_members', 'ruler.wal.dir', 'schema_config.configs[].from', 'schema_config.configs[].index.period',
    'schema_config.configs[].index.prefix', 'schema_config.configs[].object_store', 'schema_config.configs[].schema',
    'schema_config.configs[].store', 'server.grpc_listen_port', 'server.http_listen_port', 'server.log_format', 'server.log_level',
  ],
  promtail: [
    'clients[].backoff_config.max_period', 'clients[].backoff_config.max_retries', 'clients[].backoff_config.min_period',
    'clients[].external_labels.*', 'clients[].url',
    'positions.filename', 'scrape_configs[].job_name', 'scrape_configs[].kubernetes_sd_configs[].role', 'scrape_configs[].pipeline_stages[].cri',
    'scrape_configs[].pipeline_stages[].drop.drop_counter_reason', 'scrape_configs[].pipeline_stages[].drop.expression',
    'scrape_configs[].pipeline_stages[].drop.source',
    'scrape_configs[].pipeline_stages[].json.expressions.*', 'scrape_configs[].pipeline_stages[].labelallow',
    'scrape_configs[].pipeline_stages[].labels.*', 'scrape_configs[].pipeline_stages[].structured_metadata.*',
    'scrape_configs[].pipeline_stages[].template.source', 'scrape_configs[].pipeline_stages[].template.template',
    'scrape_configs[].pipeline_stages[].timestamp.action_on_failure', 'scrape_configs[].pipeline_stages[].timestamp.format',
    'scrape_configs[].pipeline_stages[].timestamp.source', 'scrape_configs[].relabel_configs[].regex', 'scrape_configs[].relabel_configs[].replacement',
    'scrape_configs[].relabel_configs[].separator', 'scrape_configs[].relabel_configs[].source_labels', 'scrape_configs[].relabel_configs[].target_label',
    'server.grpc_listen_port', 'server.http_listen_port', 'server.log_format', 'server.log_level',
  ],
  tempo: [
    'backend_worker.compaction.block_retention', 'distributor.receivers.otlp.protocols.grpc.endpoint',
    // the Collector's OTLP receiver config (Tempo vendors it): receivers.otlp.protocols.grpc of otelcol-contrib
    'distributor.receivers.otlp.protocols.grpc.max_recv_msg_size_mib', 'distributor.receivers.otlp.protocols.http.endpoint',
    'memory.automemlimit_enabled', 'metrics_generator.registry.external_labels.*', 'metrics_generator.storage.path',
    // a central Tempo's labels from the spans' own cluster (modules/generator config at v3.0.3: each processor's `dimensions`)
    'metrics_generator.processor.service_graphs.dimensions', 'metrics_generator.processor.service_graphs.enable_client_server_prefix',
    'metrics_generator.processor.span_metrics.dimensions',
    'metrics_generator.storage.remote_write[].send_exemplars', 'metrics_generator.storage.remote_write[].url',
    // Prometheus's remote_write block (Tempo embeds its config): a tenant header for Mimir
    'metrics_generator.storage.remote_write[].headers.*',
    'overrides.defaults.compaction.block_retention', 'overrides.defaults.metrics_generator.processors', 'server.grpc_listen_port',
    'server.http_listen_port', 'server.log_format', 'server.log_level', 'storage.trace.azure.container_name', 'storage.trace.azure.storage_account_name',
    'storage.trace.azure.use_federated_token', 'storage.trace.backend', 'storage.trace.gcs.bucket_name', 'storage.trace.local.path',
    'storage.trace.s3.access_key', 'storage.trace.s3.bucket', 'storage.trace.s3.endpoint', 'storage.trace.s3.forcepathstyle',
    'storage.trace.s3.insecure', 'storage.trace.s3.region', 'storage.trace.s3.secret_key', 'storage.trace.wal.path',
    'stream_over_http_enabled', 'usage_report.reporting_enabled',
  ],
  collector: [
    // a central topology's gateway: receivers' auth (config-keys tree) and the bearertokenauth extension's `filename`
    // (extension/bearertokenauthextension/config.go at v0.159.0)
    'extensions.bearertokenauth.filename', 'receivers.otlp.protocols.grpc.auth.authenticator', 'receivers.otlp.protocols.http.auth.authenticator',
    'exporters.otlp_grpc/tempo.endpoint', 'exporters.otlp_grpc/tempo.tls.insecure', 'exporters.otlp_http/loki.endpoint',
    'exporters.prometheus_remote_write.endpoint', 'exporters.prometheus_remote_write.headers.*', 'exporters.prometheus_remote_write.resource_to_telemetry_conversion.enabled',
    'exporters.prometheus_remote_write.resource_to_telemetry_conversion.exclude_service_attributes',
    'extensions.health_check.endpoint', 'processors.batch.send_batch_size', 'processors.batch.send_batch_max_size', 'processors.batch.timeout', 'processors.k8s_attributes.auth_type',
    'processors.k8s_attributes.extract.metadata', 'processors.k8s_attributes.passthrough', 'processors.k8s_attributes.pod_association[].sources[].from',
    'processors.k8s_attributes.pod_association[].sources[].name', 'processors.memory_limiter.check_interval',
    'processors.memory_limiter.limit_percentage', 'processors.memory_limiter.spike_limit_percentage',
    'processors.probabilistic_sampler.sampling_percentage', 'processors.resource/cluster.attributes[].action',
    'processors.resource/cluster.attributes[].key', 'processors.resource/cluster.attributes[].value', 'processors.resource/log-labels.attributes[].action',
    'processors.resource/log-labels.attributes[].from_attribute', 'processors.resource/log-labels.attributes[].key',
    'processors.transform/metric-resource.error_mode', 'processors.transform/metric-resource.metric_statements[].statements',
    // the filter processor's OTTL conditions in the metric context (processor/filterprocessor/config.go at v0.159.0)
    'processors.filter/observer-metrics.error_mode', 'processors.filter/observer-metrics.metrics.metric',
    'processors.transform/redact.error_mode', 'processors.transform/redact.trace_statements[].statements',
    'processors.transform/sidecar-service-name.error_mode', 'processors.transform/sidecar-service-name.trace_statements[].statements',
    'receivers.otlp.protocols.grpc.endpoint', 'receivers.otlp.protocols.grpc.max_recv_msg_size_mib', 'receivers.otlp.protocols.http.endpoint', 'service.extensions', 'service.pipelines.*',
    'service.telemetry.logs.encoding', 'service.telemetry.logs.level', 'service.telemetry.metrics.readers[].pull.exporter.prometheus.host',
    'service.telemetry.metrics.readers[].pull.exporter.prometheus.port',
  ],
} as const;

describe.each(Object.values(ENVIRONMENTS))('rendered config keys exist in the pinned releases ($name)', env => {
  const { loki, promtail, tempo, collector } = synthStack(env).stack.observability;

  test.each([
    ['Loki 3.7', loki.config, KNOWN.loki],
    // Promtail only where it ships the logs (Alloy's configuration is not YAML: its tests check it)
    ...(promtail ? [['Promtail 3.6.x', promtail.config, KNOWN.promtail] as const] : []),
    ['Tempo 3.0.3', tempo.config, KNOWN.tempo],
    ['Collector contrib 0.159.0', collector.config, KNOWN.collector],
  ] as const)('%s', (_name, config, known) => {
    expect(keyPaths(config).length).toBeGreaterThan(10);
    expect(unknownKeys(config, known)).toEqual([]);
  });
});

// the shipped environments use S3 or none: the other backends are rendered here (keys from Loki's and Tempo's
// configuration references, `gcs_storage_config` and `azure_storage_config`, and the hosted-storage pages of Tempo)
describe.each([['S3 with IRSA', S3_IRSA], ['GCS', GCS_GKE], ['Azure', AZURE_WI]] as const)('rendered config keys on %s exist in the pinned releases', (_kind, objectStorage) => {
  test('Loki 3.7', () => {
    const loki = new Loki(testChart(), 'Loki', { objectStorage, replicas: 3 });
    expect(unknownKeys(loki.config, KNOWN.loki)).toEqual([]);
  });

  test('Tempo 3.0.3', () => {
    const tempo = new Tempo(testChart(), 'Tempo', { objectStorage });
    expect(unknownKeys(tempo.config, KNOWN.tempo)).toEqual([]);
  });
});

describe('the key check', () => {
  test('reports a key that is not on the list, such as a Tempo 2.x block', () => {
    expect(unknownKeys({ compactor: { compaction: { block_retention: '1h' } }, server: { http_listen_port: 1 } }, KNOWN.tempo))
      .toEqual(['compactor.compaction.block_retention']);
  });

  test('accepts any key below a free-form entry, and names list items with []', () => {
    expect(unknownKeys({ metrics_generator: { registry: { external_labels: { anything: 'x' } } } }, KNOWN.tempo)).toEqual([]);
    expect(keyPaths({ a: [{ b: 1 }, { c: [1, 2] }], d: {} })).toEqual(['a[].b', 'a[].c', 'd']);
  });
});
