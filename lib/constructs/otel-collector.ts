import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, checkInteger, show, validationError } from '../errors';
import { IMAGES } from '../images';
import {
  COLLECTOR_PORTS, CollectorConfig, collectorParts, k8sAttributesRules, metricResourceStatements, observerMetricConditions,
  sidecarServiceNameStatements,
  traceRedactionStatements,
} from './otel-collector-config';
import { PodScrapeTarget } from './prometheus-config';
import { collectorConfigVolume, collectorContainer } from './private/collector-pod';
import { ServicePort, bindClusterRole, endpoints, service, serviceAccount } from './private/component';
import { TRACK_ATTRIBUTE } from './private/telemetry';
import { checksum, podLabels, podSecurityContext, secretVolume, selectorLabels, spreadReplicas } from './private/workload';
import { ContainerResources, SecretKeyRef, WorkloadPeer } from './types';
import { toYaml } from '../private/yaml';
import { CLUSTER_ATTRIBUTE, CLUSTER_LABEL } from '../slo/vocabulary';

/** Properties of {@link OtelCollector}. */
export interface OtelCollectorProps {
  /** `host:port` of Tempo's OTLP gRPC receiver: {@link Tempo.otlpGrpcEndpoint}. */
  readonly tempoOtlpGrpcEndpoint: string;
  /** Loki's OTLP base URL: {@link Loki.otlpUrl}. */
  readonly lokiOtlpUrl: string;
  /** The metrics store's remote-write endpoint: {@link Prometheus.remoteWriteUrl} or {@link Mimir.remoteWriteUrl}. */
  readonly prometheusRemoteWriteUrl: string;
  /**
   * Headers of those writes, such as Mimir's tenant `X-Scope-OrgID`.
   * @default - none
   */
  readonly prometheusRemoteWriteHeaders?: Readonly<Record<string, string>>;
  /**
   * Collector image (contrib: it has k8s_attributes and prometheus_remote_write), pinned by tag or digest.
   * @default IMAGES.collector
   */
  readonly image?: string;
  /**
   * Replicas: the Collector is stateless here, so any number works.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Share of traces kept, in percent. The services and the mesh already sample at the head, so the default keeps all.
   * @default 100
   */
  readonly samplingPercent?: number;
  /**
   * Name of the cluster, added to every signal as `k8s.cluster.name`.
   * @default - not added
   */
  readonly clusterName?: string;
  /**
   * A central topology's gateway: OTLP is accepted only with this bearer token (the app clusters' agents send it),
   * and the senders' Kubernetes metadata and `k8s.cluster.name` are kept as they come (the connection is the edge's).
   * @default - OTLP from the cluster's own pods, without a token, their metadata looked up here
   */
  readonly senderToken?: SecretKeyRef;
  /**
   * CPU and memory of the Collector container (GOMEMLIMIT is set to 80 % of the limit).
   * @default - 100m/1 CPU, 256Mi/1Gi
   */
  readonly resources?: ContainerResources;
}

const NAME = 'otel-collector';
/** Where the senders' bearer token is mounted, with the gateway's `senderToken`. */
const TOKEN_DIR = '/secrets/sender-token';
const PORTS = COLLECTOR_PORTS satisfies Record<string, ServicePort>;

/**
 * The resource attributes metrics keep, each a label on every series they send to Prometheus: the service's identity
 * (`job` and `instance`), its version and track, and where it runs down to the namespace, nothing per pod.
 */
const METRIC_RESOURCE_ATTRIBUTES = [
  'service.name', 'service.namespace', 'service.instance.id', 'service.version', 'deployment.environment', 'deployment.environment.name',
  CLUSTER_ATTRIBUTE, 'k8s.namespace.name', TRACK_ATTRIBUTE,
];

/**
 * The OpenTelemetry Collector (contrib) as a gateway Deployment: OTLP in, Kubernetes metadata added, traces to Tempo,
 * logs to Loki's OTLP endpoint, metrics to Prometheus by remote write. `memory_limiter` runs first and `batch` last in
 * every pipeline. Traces: the sidecars' spans get their service's own `service.name`, and every span loses what the
 * services' log redaction removes (tokens, passwords, login-state ids, cookies, credentials, e-mail addresses, card
 * numbers), whichever service sent it. Metrics: only service-level resource attributes become labels.
 */
export class OtelCollector extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  public readonly replicas: number;
  public readonly samplingPercent: number;
  /** Ports, for network policies. */
  public readonly ports = PORTS;
  /** Where applications send OTLP over gRPC (`http://host:4317`, the form `OTEL_EXPORTER_OTLP_ENDPOINT` takes). */
  public readonly otlpGrpcUrl: string;
  /** The Collector's own metrics. */
  public readonly metricsTarget: PodScrapeTarget;
  /** The Collector's pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** The rendered configuration. */
  public readonly config: CollectorConfig;

  public constructor(scope: Construct, id: string, props: OtelCollectorProps) {
    super(scope, id);
    this.image = props.image ?? IMAGES.collector;
    this.replicas = props.replicas ?? 1;
    this.samplingPercent = props.samplingPercent ?? 100;
    const resources = props.resources ?? {
      cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1),
    };
    const namespace = chartNamespace(this, 'OtelCollector');
    checkInteger(this, 'replicas', this.replicas, 1, 20);
    if (!(this.samplingPercent > 0 && this.samplingPercent <= 100)) {
      throw validationError(this, `'samplingPercent' must be more than 0 and at most 100, got ${show(this.samplingPercent)}`);
    }
    if (/^[a-z]+:\/\//.test(props.tempoOtlpGrpcEndpoint)) {
      throw validationError(this, `'tempoOtlpGrpcEndpoint' must be host:port without a scheme, got ${show(props.tempoOtlpGrpcEndpoint)}`);
    }
    if (!/\/otlp$/.test(props.lokiOtlpUrl)) {
      throw validationError(this, `'lokiOtlpUrl' must end in /otlp (the exporter appends /v1/logs), got ${show(props.lokiOtlpUrl)}`);
    }

    const endpoint = endpoints(NAME, namespace, PORTS.metrics);
    this.otlpGrpcUrl = endpoint.url(PORTS.otlpGrpc);
    this.peer = endpoint.peer;
    this.metricsTarget = endpoint.metricsTarget;

    const gateway = props.senderToken !== undefined;
    const head = gateway ? ['memory_limiter', 'resource/cluster'] : ['memory_limiter', 'k8s_attributes', 'resource/cluster'];
    const auth = gateway ? { auth: { authenticator: 'bearertokenauth' } } : {};
    const { protocols } = collectorParts.otlpReceiver();
    this.config = {
      extensions: {
        health_check: collectorParts.healthCheck(),
        // keys: extension/bearertokenauthextension/config.go of opentelemetry-collector-contrib v0.159.0 (`filename`:
        // the token is the file's content, re-read when it changes)
        ...(props.senderToken ? { bearertokenauth: { filename: `${TOKEN_DIR}/${props.senderToken.key}` } } : {}),
      },
      receivers: {
        otlp: { protocols: { grpc: { ...protocols.grpc, ...auth }, http: { ...protocols.http, ...auth } } },
      },
      processors: {
        memory_limiter: collectorParts.memoryLimiter(),
        ...(gateway ? {} : { k8s_attributes: collectorParts.k8sAttributes() }),
        probabilistic_sampler: { sampling_percentage: this.samplingPercent },
        // a gateway keeps the cluster its senders name, and names only what comes without one
        'resource/cluster': {
          attributes: props.clusterName ? [{ key: CLUSTER_ATTRIBUTE, value: props.clusterName, action: gateway ? 'insert' : 'upsert' }] : [],
        },
        // the shippers' label names, so that Loki indexes OTLP logs under the same `app`, `namespace` and `cluster`
        // labels; upserted, not inserted: a service's own `cluster` (its database's) or `namespace` resource attribute
        // would otherwise become the index label, and its logs would leave its cluster's and namespace's dashboards
        // (a source attribute that is missing changes nothing)
        'resource/log-labels': {
          attributes: [
            { key: 'app', from_attribute: 'service.name', action: 'upsert' },
            { key: 'namespace', from_attribute: 'k8s.namespace.name', action: 'upsert' },
            { key: CLUSTER_LABEL, from_attribute: CLUSTER_ATTRIBUTE, action: 'upsert' },
          ],
        },
        'transform/sidecar-service-name': { error_mode: 'ignore', trace_statements: sidecarServiceNameStatements() },
        'transform/redact': { error_mode: 'ignore', trace_statements: traceRedactionStatements() },
        'transform/metric-resource': { error_mode: 'ignore', metric_statements: metricResourceStatements(METRIC_RESOURCE_ATTRIBUTES) },
        'filter/observer-metrics': { error_mode: 'ignore', metrics: { metric: observerMetricConditions() } },
        batch: collectorParts.batch(),
      },
      exporters: {
        'otlp_grpc/tempo': { endpoint: props.tempoOtlpGrpcEndpoint, tls: { insecure: true } },
        'otlp_http/loki': { endpoint: props.lokiOtlpUrl },
        // the resource attributes transform/metric-resource keeps become labels; service.name, service.namespace and
        // service.instance.id only as `job` and `instance`, not a second time
        prometheus_remote_write: {
          endpoint: props.prometheusRemoteWriteUrl,
          ...(props.prometheusRemoteWriteHeaders ? { headers: { ...props.prometheusRemoteWriteHeaders } } : {}),
          resource_to_telemetry_conversion: { enabled: true, exclude_service_attributes: true },
        },
      },
      service: {
        extensions: gateway ? ['health_check', 'bearertokenauth'] : ['health_check'],
        telemetry: collectorParts.telemetry(),
        pipelines: {
          // the service name is fixed before anything could key on it; redaction runs on what the sampler keeps and
          // last before export, so that no processor can add anything after it
          traces: {
            receivers: ['otlp'],
            processors: [...head, 'transform/sidecar-service-name', 'probabilistic_sampler', 'transform/redact', 'batch'],
            exporters: ['otlp_grpc/tempo'],
          },
          logs: { receivers: ['otlp'], processors: [...head, 'resource/log-labels', 'batch'], exporters: ['otlp_http/loki'] },
          // what only the platform's observers may write is dropped first, before any work is spent on it
          metrics: {
            receivers: ['otlp'],
            processors: ['memory_limiter', 'filter/observer-metrics', ...head.slice(1), 'transform/metric-resource', 'batch'],
            exporters: ['prometheus_remote_write'],
          },
        },
      },
    };
    const configYaml = toYaml(this.config);

    const account = serviceAccount(this, NAME, !gateway);
    // a gateway looks up no pods: its senders add their metadata
    if (!gateway) bindClusterRole(this, namespace, NAME, k8sAttributesRules());
    const config = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: `${NAME}-config` }, data: { 'config.yaml': configYaml } });
    service(this, NAME, [PORTS.otlpGrpc, PORTS.otlpHttp]);
    const spread = spreadReplicas(this, { name: NAME, replicas: this.replicas, selector: selectorLabels(NAME), kind: 'Deployment' });

    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: NAME },
      spec: {
        replicas: this.replicas,
        selector: { matchLabels: selectorLabels(NAME) },
        template: {
          metadata: { labels: podLabels(NAME, 'telemetry-gateway'), annotations: { 'checksum/config': checksum(configYaml) } },
          spec: {
            serviceAccountName: account.name,
            automountServiceAccountToken: !gateway,
            securityContext: podSecurityContext({ user: 10001, group: 10001 }),
            ...spread,
            containers: [collectorContainer({
              name: NAME,
              image: this.image,
              resources,
              volumeMounts: props.senderToken ? [{ name: 'sender-token', mountPath: TOKEN_DIR, readOnly: true }] : [],
            })],
            volumes: [
              collectorConfigVolume(config.name),
              ...(props.senderToken
                ? [secretVolume('sender-token', props.senderToken.name, [props.senderToken.key])]
                : []),
            ],
          },
        },
      },
    });
  }
}
