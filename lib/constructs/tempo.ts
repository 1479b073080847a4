import { Duration, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, checkMinSize, checkWholeHours, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { hours } from '../private/units';
import { PodScrapeTarget } from './prometheus-config';
import {
  DATA_VOLUME, ServicePort, containerPorts, dataVolumeClaim, endpoints, proxyEnv, s3KeyReferences, service, serviceAccount, storageCredentialEnv,
  statefulSet, storageIdentity,
} from './private/component';
import {
  checksum, containerSecurityContext, httpProbe, podLabels, podSecurityContext, resourceRequirements, selectorLabels,
} from './private/workload';
import { OTLP_BATCH } from './otel-collector-config';
import { TempoConfig } from './tempo-config';
import { ContainerResources, EgressProxyEnv, ObjectStorage, WorkloadPeer } from './types';
import { toYaml } from '../private/yaml';

/** Properties of {@link Tempo}. */
export interface TempoProps {
  /**
   * Tempo image, pinned by tag or digest; the rendered config is Tempo 3.0's.
   * @default IMAGES.tempo
   */
  readonly image?: string;
  /**
   * How long traces are kept; whole hours, at least 1h.
   * @default Duration.days(7)
   */
  readonly retention?: Duration;
  /**
   * Size of the volume holding the WAL (and the blocks, without object storage).
   * @default Size.gibibytes(10)
   */
  readonly volumeSize?: Size;
  /**
   * StorageClass of the volume.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * Object storage for blocks: S3-compatible, Google Cloud Storage or Azure Blob Storage. Static S3 keys come from
   * Secrets through `-config.expand-env`; with workload identity no key is rendered and the ServiceAccount and pods
   * carry the identity's annotations and labels.
   * @default - the volume
   */
  readonly objectStorage?: ObjectStorage;
  /**
   * An HTTP CONNECT proxy for Tempo's outbound HTTP (object storage, STS, Entra ID), as `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`.
   * `noProxy` must keep the cluster off it: Tempo's gRPC clients honour the variables too.
   * @default - no proxy: Tempo connects directly
   */
  readonly egressProxy?: EgressProxyEnv;
  /**
   * Where the metrics-generator writes service-graph and span metrics: {@link Prometheus.remoteWriteUrl}.
   * @default - no metrics-generator (no service graph in Grafana)
   */
  readonly remoteWriteUrl?: string;
  /**
   * Headers of those writes, such as Mimir's tenant `X-Scope-OrgID`.
   * @default - none
   */
  readonly remoteWriteHeaders?: Readonly<Record<string, string>>;
  /**
   * Labels added to the generated metrics.
   * @default - `source: tempo`
   */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /**
   * Resource or span attributes that become labels of the span metrics and of the service graph's series, named as
   * Prometheus names them (`k8s.cluster.name` → `k8s_cluster_name`; the service graph's with `client_`/`server_`): a
   * Tempo that takes the spans of several clusters tells them apart by `k8s.cluster.name`, not by a label of its own.
   * @default - none
   */
  readonly metricsDimensions?: readonly string[];
  /**
   * CPU and memory of the Tempo container (GOMEMLIMIT follows the limit).
   * @default - 100m/1 CPU, 256Mi/1Gi
   */
  readonly resources?: ContainerResources;
}

const NAME = 'tempo';
const DATA = '/var/tempo';
const PORTS = {
  http: { name: 'http', port: 3200, appProtocol: 'http' },
  grpc: { name: 'grpc', port: 9095, appProtocol: 'grpc' },
  otlpGrpc: { name: 'otlp-grpc', port: 4317, appProtocol: 'grpc' },
  otlpHttp: { name: 'otlp-http', port: 4318, appProtocol: 'http' },
} as const satisfies Record<string, ServicePort>;

/**
 * Grafana Tempo 3.0 in monolithic mode (one replica: Tempo 3.0 has no scalable single binary) receiving OTLP on gRPC
 * and HTTP, with the metrics-generator writing service graphs and span metrics (with exemplars) to Prometheus.
 */
export class Tempo extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  public readonly retention: Duration;
  /** Ports, for network policies. */
  public readonly ports = PORTS;
  /** In-cluster base URL of the query API (Grafana's datasource). */
  public readonly url: string;
  /** `host:port` of the OTLP gRPC receiver (the Collector's exporter). */
  public readonly otlpGrpcEndpoint: string;
  /** What Tempo exposes for scraping. */
  public readonly metricsTarget: PodScrapeTarget;
  /** Tempo's pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** The rendered configuration. */
  public readonly config: TempoConfig;
  /** {@link TempoProps.metricsDimensions}: the attributes the generated metrics carry as labels of their own. */
  private readonly metricsDimensions: readonly string[];

  /**
   * The label of the span metrics that holds an attribute, when it is one of {@link TempoProps.metricsDimensions}: its
   * name with every character Prometheus does not allow in a label name as `_` (`k8s.cluster.name` →
   * `k8s_cluster_name`); undefined otherwise.
   */
  public metricLabelOf(attribute: string): string | undefined {
    return this.metricsDimensions.includes(attribute) ? attribute.replace(/[^A-Za-z0-9_]/g, '_') : undefined;
  }

  public constructor(scope: Construct, id: string, props: TempoProps = {}) {
    super(scope, id);
    this.metricsDimensions = props.metricsDimensions ?? [];
    this.image = props.image ?? IMAGES.tempo;
    this.retention = props.retention ?? Duration.days(7);
    const volumeSize = props.volumeSize ?? Size.gibibytes(10);
    const resources = props.resources ?? {
      cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1),
    };
    const storage = props.objectStorage;
    const keys = storage && s3KeyReferences(storage);
    const identity = storageIdentity(storage);

    const namespace = chartNamespace(this, 'Tempo');
    checkWholeHours(this, 'retention', this.retention, 1);
    if (props.remoteWriteUrl !== undefined && !/^https?:\/\/\S+\/api\/v1\/(write|push)$/.test(props.remoteWriteUrl)) {
      throw validationError(this, `'remoteWriteUrl' must be a remote-write URL ending in /api/v1/write (Prometheus) or /api/v1/push (Mimir), got ${show(props.remoteWriteUrl)}`);
    }
    checkMinSize(this, 'volumeSize', volumeSize, Size.gibibytes(1));

    const endpoint = endpoints(NAME, namespace, PORTS.http);
    this.url = endpoint.url(PORTS.http);
    this.otlpGrpcEndpoint = `${endpoint.host}:${PORTS.otlpGrpc.port}`;
    this.peer = endpoint.peer;
    this.metricsTarget = endpoint.metricsTarget;

    const retention = hours(this.retention);
    this.config = {
      // Grafana streams search and TraceQL metrics results over HTTP
      stream_over_http_enabled: true,
      server: { http_listen_port: PORTS.http.port, grpc_listen_port: PORTS.grpc.port, log_level: 'info', log_format: 'json' },
      distributor: {
        // receivers default to localhost since 2.7: other pods could not reach them
        // as large a message as a Collector here sends (OTLP_BATCH)
        receivers: { otlp: { protocols: {
          grpc: { endpoint: `0.0.0.0:${PORTS.otlpGrpc.port}`, max_recv_msg_size_mib: OTLP_BATCH.maxMessageMiB },
          http: { endpoint: `0.0.0.0:${PORTS.otlpHttp.port}` },
        } } },
      },
      storage: {
        trace: storage
          ? tempoObjectStorage(storage, { path: `${DATA}/wal` })
          : { backend: 'local', wal: { path: `${DATA}/wal` }, local: { path: `${DATA}/blocks` } },
      },
      ...(props.remoteWriteUrl ? {
        metrics_generator: {
          registry: { external_labels: { source: 'tempo', ...props.externalLabels } },
          ...(props.metricsDimensions?.length ? {
            processor: {
              span_metrics: { dimensions: [...props.metricsDimensions] },
              // each edge's two ends may be in different clusters: client_ and server_ labels, not one overwritten
              service_graphs: { dimensions: [...props.metricsDimensions], enable_client_server_prefix: true },
            },
          } : {}),
          storage: { path: `${DATA}/generator/wal`, remote_write: [{
            url: props.remoteWriteUrl, send_exemplars: true, ...(props.remoteWriteHeaders ? { headers: { ...props.remoteWriteHeaders } } : {}),
          }] },
        },
      } : {}),
      backend_worker: { compaction: { block_retention: retention } },
      overrides: {
        defaults: {
          compaction: { block_retention: retention },
          ...(props.remoteWriteUrl ? { metrics_generator: { processors: ['service-graphs', 'span-metrics'] } } : {}),
        },
      },
      // GOMEMLIMIT from the container's memory limit
      memory: { automemlimit_enabled: true },
      usage_report: { reporting_enabled: false },
    };
    const configYaml = toYaml(this.config);

    const account = serviceAccount(this, NAME, false, identity.annotations);
    const config = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: `${NAME}-config` }, data: { 'tempo.yaml': configYaml } });
    const ports = [PORTS.http, PORTS.grpc, PORTS.otlpGrpc, PORTS.otlpHttp];
    const svc = service(this, NAME, ports);

    statefulSet(this, {
      metadata: { name: NAME },
      spec: {
        serviceName: svc.name,
        replicas: 1,
        selector: { matchLabels: selectorLabels(NAME) },
        template: {
          metadata: { labels: { ...identity.podLabels, ...podLabels(NAME, 'traces') }, annotations: { 'checksum/config': checksum(configYaml) } },
          spec: {
            serviceAccountName: account.name,
            automountServiceAccountToken: false,
            securityContext: podSecurityContext({ user: 10001, group: 10001 }),
            terminationGracePeriodSeconds: 120,
            containers: [{
              name: NAME,
              image: this.image,
              args: ['-config.file=/etc/tempo/tempo.yaml', '-target=all', ...(keys ? ['-config.expand-env=true'] : [])],
              env: [...(storage ? storageCredentialEnv(storage) : []), ...proxyEnv(props.egressProxy)],
              ports: containerPorts(ports),
              readinessProbe: httpProbe('/ready', PORTS.http.name, { initialDelaySeconds: 20, periodSeconds: 10, timeoutSeconds: 3 }),
              // /ready waits for the WAL replay; /api/echo only needs a live HTTP server
              livenessProbe: httpProbe('/api/echo', PORTS.http.name, { periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 6 }),
              resources: resourceRequirements(resources),
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: 'config', mountPath: '/etc/tempo', readOnly: true },
                { name: DATA_VOLUME, mountPath: DATA },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: config.name } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
            ],
          },
        },
        volumeClaimTemplates: [dataVolumeClaim(volumeSize, props.storageClassName)],
      },
    });
  }
}

/**
 * Tempo's trace backend on object storage: the backend of the storage's kind, Tempo's bucket in it (Tempo's key names
 * differ from Loki's). With workload identity no key is set: minio-go's chain, Application Default Credentials or
 * azidentity's WorkloadIdentityCredential finds the pod's identity.
 */
function tempoObjectStorage(storage: ObjectStorage, wal: { readonly path: string }): TempoConfig['storage']['trace'] {
  switch (storage.kind) {
    case 'gcs':
      return { backend: 'gcs', wal, gcs: { bucket_name: storage.tempoBucket } };
    case 'azure':
      return { backend: 'azure', wal, azure: { storage_account_name: storage.accountName, container_name: storage.tempoBucket, use_federated_token: true } };
    default: {
      const keys = s3KeyReferences(storage);
      return {
        backend: 's3',
        wal,
        s3: {
          bucket: storage.tempoBucket,
          endpoint: storage.endpoint,
          region: storage.region,
          ...(keys ? { access_key: keys.accessKeyId, secret_key: keys.secretAccessKey } : {}),
          insecure: storage.insecure,
          forcepathstyle: storage.forcePathStyle,
        },
      };
    }
  }
}
