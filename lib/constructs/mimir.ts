import { Duration, Lazy, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, checkInteger, checkMinSize, checkWholeHours, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { hours } from '../private/units';
import { toYaml } from '../private/yaml';
import { MimirBucketConfig, MimirConfig } from './mimir-config';
import { PodScrapeTarget, RuleFile, RuleGroup } from './prometheus-config';
import {
  ServicePort, endpoints, proxyEnv, s3KeyReferences, serviceAccount, serviceHost, storageCredentialEnv, storageIdentity,
} from './private/component';
import { RING_READY_PATH, checkRingReplicas, ringStatefulSet } from './private/ring-stateful-set';
import { checksum } from './private/workload';
import { ContainerResources, EgressProxyEnv, ObjectStorage, WorkloadPeer } from './types';

/** Properties of {@link Mimir}. */
export interface MimirProps {
  /**
   * Mimir image, pinned by tag or digest.
   * @default IMAGES.mimir
   */
  readonly image?: string;
  /**
   * Replicas of the monolithic binary (`-target=all`) on one memberlist ring; more than one needs `objectStorage`.
   * Series and blocks are replicated to min(3, replicas) of them.
   * @default 1
   */
  readonly replicas?: number;
  /** How long blocks are kept (`compactor_blocks_retention_period`): whole hours, at least 24h. */
  readonly retention: Duration;
  /**
   * Size of each replica's volume: the TSDB head and WAL, the store-gateway's index headers, the compactor's scratch
   * space, and the blocks themselves with filesystem storage.
   * @default Size.gibibytes(10)
   */
  readonly volumeSize?: Size;
  /**
   * StorageClass of the volume.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * Object storage for blocks (and for ruler and Alertmanager state, should they ever move there: each store needs a
   * bucket of its own, Mimir refuses to share the blocks bucket). Static S3 keys come from Secrets through
   * `-config.expand-env`; with workload identity no key is rendered and the ServiceAccount and pods carry the
   * identity's annotations and labels. An Azure account must have hierarchical namespace disabled.
   * @default - the filesystem of the volume, one replica only
   */
  readonly objectStorage?: ObjectStorage;
  /**
   * The bucket (or Azure container) of Mimir's blocks, in `objectStorage`; not Loki's or Tempo's. Required with
   * `objectStorage`.
   * @default - none: blocks stay on the volume
   */
  readonly bucket?: string;
  /** The tenant every writer and reader names in `X-Scope-OrgID`, and whose rules the ruler evaluates. */
  readonly tenant: string;
  /**
   * Alertmanager URL(s) the ruler sends alerts to: a comma-separated list, each URL a group of its own (Mimir's
   * `limits.ruler_alertmanager_client_config.alertmanager_url`).
   * @default - alerts are evaluated but sent nowhere
   */
  readonly alertmanagerUrl?: string;
  /**
   * Active series the tenant may hold (every cluster's together): ~8 KB of ingester memory each, on every replica
   * that holds it (the replication factor).
   * @default 150_000 (Mimir's own)
   */
  readonly maxSeries?: number;
  /**
   * Samples per second the tenant may send (every cluster's together), with a burst of ten seconds' worth.
   * @default 10_000 (Mimir's own)
   */
  readonly ingestionRate?: number;
  /**
   * An HTTP CONNECT proxy for Mimir's outbound HTTP (object storage, STS, Entra ID), as `HTTPS_PROXY`, `HTTP_PROXY`
   * and `NO_PROXY`. `noProxy` must keep the cluster off it: Mimir's gRPC clients dial ring members by pod IP.
   * @default - no proxy: Mimir connects directly
   */
  readonly egressProxy?: EgressProxyEnv;
  /**
   * CPU and memory of the Mimir container.
   * @default - 200m/2 CPU, 512Mi/2Gi
   */
  readonly resources?: ContainerResources;
}

const NAME = 'mimir';
const DATA = '/data';
const CONFIG_DIR = '/etc/mimir/config';
const RULES_DIR = '/etc/mimir/rules';
/** Label names a series may have (Mimir's default: 30). */
const MAX_LABEL_NAMES = 50;
/** Exemplars kept per tenant (Mimir's default: 0, none). */
const MAX_EXEMPLARS = 100_000;
/** The burst the tenant may send, in seconds of its ingestion rate. */
const BURST_SECONDS = 10;
/** How late a sample may arrive (Mimir's default: 0s, refused). */
const OUT_OF_ORDER_WINDOW = '10m';
const RULES_FILE = 'rules.yaml';
const PORTS = {
  http: { name: 'http', port: 8080, appProtocol: 'http' },
  grpc: { name: 'grpc', port: 9095, appProtocol: 'grpc' },
  memberlist: { name: 'memberlist', port: 7946, appProtocol: 'tcp' },
} as const satisfies Record<string, ServicePort>;
// a tenant ID Mimir accepts (dskit tenant.ValidTenantID: at most 150 characters) that is also a safe directory name
const TENANT = /^[A-Za-z0-9_.-]{1,150}$/;
const ALERTMANAGER_URL = /^(dns\+|dnssrv\+|dnssrvnoa\+)?https?:\/\/[^\s,]+$/;

/**
 * Grafana Mimir in monolithic mode (`-target=all`) as a StatefulSet: multi-tenant, every ring on memberlist, blocks on
 * the volume or in object storage, retention by the compactor, and a ruler that reads its rules from a ConfigMap (the
 * read-only `local` rule store).
 */
export class Mimir extends Construct {
  /** How often the ruler evaluates the rules: `ruler.evaluation_interval`, left at its default (1m). */
  public static readonly RULE_INTERVAL = Duration.minutes(1);
  public readonly name = NAME;
  public readonly image: string;
  public readonly replicas: number;
  public readonly retention: Duration;
  /** The tenant writers and readers send in `X-Scope-OrgID`. */
  public readonly tenant: string;
  /** Active series the tenant may hold. */
  public readonly maxSeries: number;
  /** Samples per second the tenant may send. */
  public readonly ingestionRate: number;
  /** Ports, for network policies. */
  public readonly ports = PORTS;
  /** In-cluster base URL of the HTTP API. */
  public readonly url: string;
  /** Prometheus-compatible query base (Grafana's datasource): `<url>/prometheus`. */
  public readonly prometheusUrl: string;
  /** Answers 200 once Mimir's modules run, without a tenant (its readiness probe): `<url>/ready`. */
  public readonly readyUrl: string;
  /** Prometheus remote-write endpoint: `<url>/api/v1/push`. */
  public readonly remoteWriteUrl: string;
  /** What Mimir exposes for scraping. */
  public readonly metricsTarget: PodScrapeTarget;
  /** Mimir's pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** The rendered configuration. */
  public readonly config: MimirConfig;

  private readonly ruleGroups: RuleGroup[] = [];

  public constructor(scope: Construct, id: string, props: MimirProps) {
    super(scope, id);
    this.image = props.image ?? IMAGES.mimir;
    this.replicas = props.replicas ?? 1;
    this.retention = props.retention;
    this.tenant = props.tenant;
    this.maxSeries = props.maxSeries ?? 150_000;
    this.ingestionRate = props.ingestionRate ?? 10_000;
    checkInteger(this, 'maxSeries', this.maxSeries, 1000, 1_000_000_000);
    checkInteger(this, 'ingestionRate', this.ingestionRate, 100, 100_000_000);
    const volumeSize = props.volumeSize ?? Size.gibibytes(10);
    const resources = props.resources ?? {
      cpuRequestMillis: 200, cpuLimitMillis: 2000, memoryRequest: Size.mebibytes(512), memoryLimit: Size.gibibytes(2),
    };
    const storage = props.objectStorage;
    const keys = storage && s3KeyReferences(storage);
    const identity = storageIdentity(storage);

    const namespace = chartNamespace(this, 'Mimir');
    checkRingReplicas(this, this.replicas);
    if (this.replicas > 1 && !storage) {
      throw validationError(this, `'replicas' must be 1 unless 'objectStorage' is set (replicas cannot share a filesystem), got ${this.replicas}`);
    }
    if (storage && props.bucket === undefined) {
      throw validationError(this, '\'bucket\' must be set with \'objectStorage\': the bucket (Azure: container) of Mimir\'s blocks');
    }
    if (!storage && props.bucket !== undefined) {
      throw validationError(this, `'bucket' needs 'objectStorage' (without it blocks stay on the volume), got ${show(props.bucket)}`);
    }
    if (storage && props.bucket !== undefined && (props.bucket === storage.lokiBucket || props.bucket === storage.tempoBucket)) {
      throw validationError(this, `'bucket' must be a bucket of Mimir's own, not Loki's or Tempo's, got ${show(props.bucket)}`);
    }
    if (!TENANT.test(this.tenant) || this.tenant === '.' || this.tenant === '..') {
      throw validationError(this, `'tenant' must be 1 to 150 letters, digits, '_', '-' or '.' (not '.' or '..'), got ${show(this.tenant)}`);
    }
    checkWholeHours(this, 'retention', this.retention, 24, 'the largest compaction range');
    checkMinSize(this, 'volumeSize', volumeSize, Size.gibibytes(1));
    const alertmanagerUrl = props.alertmanagerUrl;
    if (alertmanagerUrl !== undefined && !alertmanagerUrl.split(',').every(u => ALERTMANAGER_URL.test(u))) {
      throw validationError(this, `'alertmanagerUrl' must be comma-separated http(s) URLs, got ${show(alertmanagerUrl)}`);
    }

    const endpoint = endpoints(NAME, namespace, PORTS.http);
    this.url = endpoint.url(PORTS.http);
    // api.prometheus_http_prefix defaults to /prometheus; the distributor's remote write is POST /api/v1/push
    // (docs/sources/mimir/references/http-api/index.md at mimir-3.2.1)
    this.prometheusUrl = `${this.url}/prometheus`;
    this.remoteWriteUrl = `${this.url}/api/v1/push`;
    this.readyUrl = `${this.url}${RING_READY_PATH}`;
    this.peer = endpoint.peer;
    this.metricsTarget = endpoint.metricsTarget;

    const memberlistService = `${NAME}-memberlist`;
    const replication = Math.min(3, this.replicas);
    const memberlist = { store: 'memberlist' } as const;
    // every path Mimir writes is absolute and on the volume: the defaults (./tsdb/, ./metrics-activity.log, …) are
    // relative to the read-only root; Mimir refuses overlapping directories (pkg/mimir/mimir.go validateFilesystemPaths)
    this.config = {
      multitenancy_enabled: true,
      server: { http_listen_port: PORTS.http.port, grpc_listen_port: PORTS.grpc.port },
      memberlist: {
        // DNS service discovery of the headless Service, re-resolved as replicas come and go (join_members: "an IP,
        // hostname or an entry specified in the DNS Service Discovery format", configuration-parameters at mimir-3.2.1)
        join_members: [`dns+${serviceHost(memberlistService, namespace)}:${PORTS.memberlist.port}`],
        bind_port: PORTS.memberlist.port,
      },
      ...(storage ? { common: { storage: mimirObjectStorage(storage) } } : {}),
      blocks_storage: {
        ...(storage && props.bucket !== undefined
          ? blocksBucket(storage, props.bucket)
          : { backend: 'filesystem' as const, filesystem: { dir: `${DATA}/blocks` } }),
        tsdb: { dir: `${DATA}/tsdb` },
        bucket_store: { sync_dir: `${DATA}/tsdb-sync` },
      },
      compactor: { data_dir: `${DATA}/compactor`, sharding_ring: { kvstore: memberlist } },
      ingester: { ring: { replication_factor: replication, kvstore: memberlist } },
      distributor: { ring: { kvstore: memberlist } },
      store_gateway: { sharding_ring: { replication_factor: replication, kvstore: memberlist } },
      ruler: { rule_path: `${DATA}/ruler` },
      // read-only rules from the rules ConfigMap; the ruler API still lists them, writes are refused
      ruler_storage: { backend: 'local', local: { directory: RULES_DIR } },
      limits: {
        compactor_blocks_retention_period: hours(this.retention),
        // an Istio series has ~35 labels (its 25 standard ones, canary_pin, le, the scrape's job, instance, namespace,
        // pod, app and track, and cluster): Mimir's default of 30 would refuse every one of them, and the gate would
        // see no traffic
        max_label_names_per_series: MAX_LABEL_NAMES,
        // Mimir keeps no exemplars by default (0): the metric-to-trace links of Grafana's Prometheus datasource need them
        max_global_exemplars_per_user: MAX_EXEMPLARS,
        // several Collector replicas and each agent's parallel shards may deliver a series' samples out of order
        out_of_order_time_window: OUT_OF_ORDER_WINDOW,
        // the tenant is the whole environment: every cluster's series and samples; refusals show as MimirDiscardingSamples
        max_global_series_per_user: this.maxSeries,
        ingestion_rate: this.ingestionRate,
        ingestion_burst_size: this.ingestionRate * BURST_SECONDS,
        // ruler.alertmanager_url is deprecated in favour of this per-tenant limit (pkg/ruler/notifier/notifier_config.go)
        ...(alertmanagerUrl !== undefined ? { ruler_alertmanager_client_config: { alertmanager_url: alertmanagerUrl } } : {}),
      },
      activity_tracker: { filepath: `${DATA}/metrics-activity.log` },
      usage_stats: { enabled: false },
    };
    const configYaml = toYaml(this.config);
    const rulesYaml = (): string => toYaml({ groups: [...this.ruleGroups] } satisfies RuleFile);

    const serviceAccountObject = serviceAccount(this, NAME, false, identity.annotations);
    const config = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: `${NAME}-config` }, data: { 'config.yaml': configYaml } });
    // rule groups added after construction render too
    const rules = new k8s.KubeConfigMap(this, 'Rules', {
      metadata: { name: `${NAME}-rules` },
      data: { [RULES_FILE]: Lazy.any({ produce: rulesYaml }) },
    });
    ringStatefulSet(this, {
      name: NAME,
      component: 'metrics',
      image: this.image,
      replicas: this.replicas,
      ports: PORTS,
      // every module's ring gossips, with one replica too: memberlist peers must find each other to become ready
      memberlistService,
      serviceAccountName: serviceAccountObject.name,
      podLabels: identity.podLabels,
      podAnnotations: { 'checksum/config': Lazy.any({ produce: () => checksum(configYaml, rulesYaml()) }) },
      configMap: { name: config.name, mountPath: CONFIG_DIR },
      args: keys ? ['-config.expand-env=true'] : [],
      env: [...(storage ? storageCredentialEnv(storage) : []), ...proxyEnv(props.egressProxy)],
      // not /ready: it stays false while the write-ahead log replays, which a restart would only start again; a
      // process that stops answering on its port is restarted
      livenessProbe: {
        tcpSocket: { port: k8s.IntOrString.fromString(PORTS.http.name) },
        initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 2, failureThreshold: 6,
      },
      resources,
      // the local rule store reads <directory>/<tenant>/<namespace file> and takes every directory under <directory>
      // for a tenant (pkg/ruler/rulestore/local/local.go): mounting the ConfigMap one level down keeps its ..data
      // entries out of the tenant list
      volumeMounts: [{ name: 'rules', mountPath: `${RULES_DIR}/${this.tenant}`, readOnly: true }],
      volumes: [{ name: 'rules', configMap: { name: rules.name } }],
      dataDir: DATA,
      volumeSize,
      ...(props.storageClassName !== undefined ? { storageClassName: props.storageClassName } : {}),
    });
  }

  /**
   * Adds a Prometheus rule group that the ruler evaluates for {@link tenant}, rendered into the rules ConfigMap.
   *
   * @throws if the group name is taken
   */
  public addRuleGroup(group: RuleGroup): void {
    if (this.ruleGroups.some(g => g.name === group.name)) {
      throw validationError(this, `rule group ${show(group.name)} already exists; group names must be unique`);
    }
    this.ruleGroups.push(group);
  }
}

/**
 * Mimir's `common.storage` on object storage: the backend and its connection, inherited by every store. The S3 keys, if
 * any, are expanded from the environment at start-up (-config.expand-env), which reads them from Secrets; with
 * workload identity no key is set and the client's default chain finds the pod's identity.
 */
function mimirObjectStorage(storage: ObjectStorage): MimirBucketConfig {
  switch (storage.kind) {
    case 'gcs':
      return { backend: 'gcs' };
    case 'azure':
      return { backend: 'azure', azure: { account_name: storage.accountName } };
    default: {
      const keys = s3KeyReferences(storage);
      return {
        backend: 's3',
        s3: {
          endpoint: storage.endpoint,
          region: storage.region,
          ...(keys ? { access_key_id: keys.accessKeyId, secret_access_key: keys.secretAccessKey } : {}),
          insecure: storage.insecure,
          bucket_lookup_type: storage.forcePathStyle ? 'path' : 'auto',
        },
      };
    }
  }
}

/**
 * The blocks bucket, overriding the bucket-less common storage as Mimir's docs advise ("make blocks_storage use a
 * different bucket, overriding the common bucket name"; docs/sources/mimir/configure/configure-object-storage-backend.md).
 */
function blocksBucket(storage: ObjectStorage, bucket: string): Pick<MimirConfig['blocks_storage'], 's3' | 'gcs' | 'azure'> {
  switch (storage.kind) {
    case 'gcs':
      return { gcs: { bucket_name: bucket } };
    case 'azure':
      return { azure: { container_name: bucket } };
    default:
      return { s3: { bucket_name: bucket } };
  }
}
