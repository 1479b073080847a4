import { Duration, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, checkMinSize, checkWholeHours, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { hours } from '../private/units';
import { LokiConfig, LokiObjectStore } from './loki-config';
import { PodScrapeTarget } from './prometheus-config';
import {
  ServicePort, endpoints, proxyEnv, s3KeyReferences, serviceAccount, serviceHost, storageCredentialEnv, storageIdentity,
} from './private/component';
import { checkRingReplicas, ringStatefulSet } from './private/ring-stateful-set';
import { checksum, httpProbe } from './private/workload';
import { ContainerResources, EgressProxyEnv, ObjectStorage, WorkloadPeer, objectStorageKind } from './types';
import { toYaml } from '../private/yaml';
import { CLUSTER_LABEL } from '../slo/vocabulary';

/** Properties of {@link Loki}. */
export interface LokiProps {
  /**
   * Loki image, pinned by tag or digest.
   * @default IMAGES.loki
   */
  readonly image?: string;
  /**
   * Replicas of the monolithic binary. More than one needs `objectStorage`: the replicas then share the bucket and a
   * memberlist ring, and every stream is written to three of them.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * How long logs are kept; whole hours, at least 24h (retention works on the 24h index period).
   * @default Duration.days(7)
   */
  readonly retention?: Duration;
  /**
   * Size of each replica's volume: chunks and index with filesystem storage, the WAL and index cache with S3.
   * @default Size.gibibytes(10)
   */
  readonly volumeSize?: Size;
  /**
   * StorageClass of the volume.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * Object storage for chunks and index: S3-compatible, Google Cloud Storage or Azure Blob Storage. Static S3 keys come
   * from Secrets through `-config.expand-env`; with workload identity no key is rendered and the ServiceAccount and pods
   * carry the identity's annotations and labels.
   * @default - the filesystem of the volume
   */
  readonly objectStorage?: ObjectStorage;
  /**
   * An HTTP CONNECT proxy for Loki's outbound HTTP (object storage, STS, Entra ID), as `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`.
   * `noProxy` must keep the cluster off it: Loki's gRPC clients honour the variables too and dial ring members by pod IP.
   * @default - no proxy: Loki connects directly
   */
  readonly egressProxy?: EgressProxyEnv;
  /**
   * Start of the (only) schema period: tsdb with schema v13, which structured metadata and OTLP ingestion need. A
   * date in the past; when the schema changes one day, append a period instead of editing this one.
   * @default '2024-04-01'
   */
  readonly schemaFrom?: string;
  /**
   * CPU and memory of the Loki container.
   * @default - 100m/1 CPU, 256Mi/1Gi
   */
  readonly resources?: ContainerResources;
}

const NAME = 'loki';
const DATA = '/var/loki';
/** The share of the memory limit a WAL replay may hold (Loki's advice: 75 % of what is available). */
const WAL_REPLAY_SHARE = 0.75;
/** The oldest entry Loki accepts when retention keeps more: a week, for a shipper catching up after an outage. */
const MAX_SAMPLE_AGE_HOURS = 168;
const PORTS = {
  http: { name: 'http', port: 3100, appProtocol: 'http' },
  grpc: { name: 'grpc', port: 9095, appProtocol: 'grpc' },
  memberlist: { name: 'memberlist', port: 7946, appProtocol: 'tcp' },
} as const satisfies Record<string, ServicePort>;

/**
 * Grafana Loki in monolithic mode (`-target=all`) as a StatefulSet: tsdb with schema v13, structured metadata and OTLP
 * ingestion on, retention by the compactor, the ruler WAL and /tmp on writable volumes under a read-only root.
 */
export class Loki extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  public readonly replicas: number;
  public readonly retention: Duration;
  /** Ports, for network policies. */
  public readonly ports = PORTS;
  /** In-cluster base URL of the HTTP API (Grafana's datasource). */
  public readonly url: string;
  /** Push endpoint of the Loki API (Promtail). */
  public readonly pushUrl: string;
  /** OTLP base URL: an OTLP/HTTP exporter appends `/v1/logs` itself. */
  public readonly otlpUrl: string;
  /** What Loki exposes for scraping. */
  public readonly metricsTarget: PodScrapeTarget;
  /** Loki's pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** The rendered configuration. */
  public readonly config: LokiConfig;

  public constructor(scope: Construct, id: string, props: LokiProps = {}) {
    super(scope, id);
    this.image = props.image ?? IMAGES.loki;
    this.replicas = props.replicas ?? 1;
    this.retention = props.retention ?? Duration.days(7);
    const volumeSize = props.volumeSize ?? Size.gibibytes(10);
    const schemaFrom = props.schemaFrom ?? '2024-04-01';
    const resources = props.resources ?? {
      cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1),
    };
    const storage = props.objectStorage;
    const keys = storage && s3KeyReferences(storage);
    const identity = storageIdentity(storage);

    const namespace = chartNamespace(this, 'Loki');
    checkRingReplicas(this, this.replicas);
    if (this.replicas > 1 && !storage) {
      throw validationError(this, `'replicas' must be 1 unless 'objectStorage' is set (replicas cannot share a filesystem), got ${this.replicas}`);
    }
    checkWholeHours(this, 'retention', this.retention, 24, 'the index period');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(schemaFrom) || Number.isNaN(Date.parse(schemaFrom))) {
      throw validationError(this, `'schemaFrom' must be a date YYYY-MM-DD, got ${show(schemaFrom)}`);
    }
    checkMinSize(this, 'volumeSize', volumeSize, Size.gibibytes(1));

    const endpoint = endpoints(NAME, namespace, PORTS.http);
    this.url = endpoint.url(PORTS.http);
    this.pushUrl = `${this.url}/loki/api/v1/push`;
    this.otlpUrl = `${this.url}/otlp`;
    this.peer = endpoint.peer;
    this.metricsTarget = endpoint.metricsTarget;

    const clustered = this.replicas > 1;
    const memberlistService = `${NAME}-memberlist`;
    const store: LokiObjectStore = storage ? objectStorageKind(storage) : 'filesystem';
    this.config = {
      auth_enabled: false,
      server: { http_listen_port: PORTS.http.port, grpc_listen_port: PORTS.grpc.port, log_level: 'info', log_format: 'json' },
      common: {
        path_prefix: DATA,
        replication_factor: clustered ? 3 : 1,
        ...(clustered ? { compactor_address: this.url } : {}),
        ring: { kvstore: { store: clustered ? 'memberlist' : 'inmemory' } },
        storage: storage
          ? lokiObjectStorage(storage)
          : { filesystem: { chunks_directory: `${DATA}/chunks`, rules_directory: `${DATA}/rules` } },
      },
      ...(clustered ? { memberlist: { join_members: [`${serviceHost(memberlistService, namespace)}:${PORTS.memberlist.port}`], bind_port: PORTS.memberlist.port } } : {}),
      schema_config: {
        configs: [{ from: schemaFrom, store: 'tsdb', object_store: store, schema: 'v13', index: { prefix: 'index_', period: '24h' } }],
      },
      limits_config: {
        allow_structured_metadata: true,
        retention_period: hours(this.retention),
        reject_old_samples: true,
        // never older than retention keeps: an entry Loki would accept and delete at the next compaction is lost
        // without an error, where a refusal shows in the shipper's metrics and LokiDiscardingSamples
        reject_old_samples_max_age: hours(Duration.hours(Math.min(this.retention.toHours(), MAX_SAMPLE_AGE_HOURS))),
        volume_enabled: true,
        otlp_config: {
          resource_attributes: {
            // Loki puts its default index-label list (which has k8s.pod.name and service.instance.id) in front of
            // attributes_config unless told to ignore it, and the first entry naming an attribute wins, so without
            // this the entries below could not demote anything (grafana/loki@v3.7.6: pkg/loghttp/push/otlp_config.go
            // ApplyGlobalOTLPConfig, actionForAttribute; docs/sources/shared/otel.md; grafana/loki#15927)
            ignore_defaults: true,
            attributes_config: [
              // the stream labels the stack queries: the shippers' app, namespace and cluster (dashboards, Tempo's span
              // → logs link), and service_name, which Loki sets only from an indexed service.name (pkg/loghttp/push/otlp.go)
              { action: 'index_label', attributes: ['service.name', 'app', 'namespace', CLUSTER_LABEL] },
              // unbounded values: structured metadata, never stream labels (docs/sources/get-started/labels/
              // modify-default-labels.md); any other attribute is structured metadata too
              { action: 'structured_metadata', attributes: ['k8s.pod.name', 'service.instance.id'] },
            ],
          },
        },
      },
      ingester: {
        // replaying a WAL holds its streams in memory, flushing only at 90 % of this ceiling, whose default (4GB) is
        // the whole limit of prod's pods and four times local's: a WAL grown during an outage of the store would kill
        // the pod on every restart, accepting no logs, in a loop. Loki's advice: three quarters of the memory
        // (docs/sources/operations/storage/wal.md, v3.7.6; its sizes are binary: 1MB is 1MiB)
        wal: { replay_memory_ceiling: `${Math.floor(resources.memoryLimit.toMebibytes() * WAL_REPLAY_SHARE)}MB` },
      },
      compactor: {
        working_directory: `${DATA}/compactor`,
        compaction_interval: '10m',
        retention_enabled: true,
        retention_delete_delay: '2h',
        delete_request_store: store,
      },
      // the default WAL directory is relative ("ruler-wal"): it would land on the read-only root file system
      ruler: { wal: { dir: `${DATA}/ruler-wal` } },
      analytics: { reporting_enabled: false },
    };
    const configYaml = toYaml(this.config);

    const serviceAccountObject = serviceAccount(this, NAME, false, identity.annotations);
    const config = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: `${NAME}-config` }, data: { 'config.yaml': configYaml } });
    ringStatefulSet(this, {
      name: NAME,
      component: 'logs',
      image: this.image,
      replicas: this.replicas,
      ports: PORTS,
      ...(clustered ? { memberlistService } : {}),
      serviceAccountName: serviceAccountObject.name,
      podLabels: identity.podLabels,
      podAnnotations: { 'checksum/config': checksum(configYaml) },
      configMap: { name: config.name, mountPath: '/etc/loki/config' },
      args: keys ? ['-config.expand-env=true'] : [],
      env: [...(storage ? storageCredentialEnv(storage) : []), ...proxyEnv(props.egressProxy)],
      // /ready turns false while the ring settles; the build info only needs a live HTTP server
      livenessProbe: httpProbe('/loki/api/v1/status/buildinfo', PORTS.http.name, { periodSeconds: 30, timeoutSeconds: 2, failureThreshold: 10 }),
      resources,
      dataDir: DATA,
      volumeSize,
      ...(props.storageClassName !== undefined ? { storageClassName: props.storageClassName } : {}),
    });
  }
}

/**
 * Loki's `common.storage` on object storage: the backend of the storage's kind, Loki's bucket in it. The S3 keys, if
 * any, are expanded from the environment at start-up (-config.expand-env), which reads them from Secrets; with
 * workload identity no key is set and the client's default chain (AWS SDK, Application Default Credentials, the
 * federated token of Azure Workload Identity) finds the pod's identity.
 */
function lokiObjectStorage(storage: ObjectStorage): LokiConfig['common']['storage'] {
  switch (storage.kind) {
    case 'gcs':
      return { gcs: { bucket_name: storage.lokiBucket } };
    case 'azure':
      return { azure: { account_name: storage.accountName, container_name: storage.lokiBucket, use_federated_token: true } };
    default: {
      const keys = s3KeyReferences(storage);
      return {
        s3: {
          endpoint: storage.endpoint,
          bucketnames: storage.lokiBucket,
          region: storage.region,
          ...(keys ? { access_key_id: keys.accessKeyId, secret_access_key: keys.secretAccessKey } : {}),
          s3forcepathstyle: storage.forcePathStyle,
          insecure: storage.insecure,
        },
      };
    }
  }
}
