import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { DNS_LABEL } from '../private/names';
import { toYaml } from '../private/yaml';
import { AgentConfig, NodeLocalK8sAttributesProcessor } from './otel-agent-config';
import { COLLECTOR_PORTS, K8sAttributesProcessor, collectorParts, k8sAttributesRules } from './otel-collector-config';
import { PodScrapeTarget } from './prometheus-config';
import { ServicePort, bindClusterRole, endpoints, service, serviceAccount } from './private/component';
import { collectorConfigVolume, collectorContainer } from './private/collector-pod';
import { CLIENT_TLS_KEYS, checksum, fieldEnv, nodeDaemonSet, podSecurityContext, secretVolume } from './private/workload';
import { ContainerResources, PodSecurityLevel, SecretKeyRef, WorkloadPeer } from './types';
import { CLUSTER_ATTRIBUTE } from '../slo/vocabulary';

/** Properties of {@link OtelAgent}. */
export interface OtelAgentProps {
  /** `host:port` of the central gateway, e.g. `telemetry.example.com:443`. */
  readonly gatewayEndpoint: string;
  /**
   * Secret (in this namespace) with `ca.crt` (the CA the gateway's certificate is checked against), `tls.crt` and
   * `tls.key` (this cluster's client certificate, for mutual TLS at the gateway's edge). Mounted read-only.
   */
  readonly clientCertificateSecret: string;
  /** The Secret key holding the bearer token the gateway Collector checks. Mounted as a file; never an env literal. */
  readonly token: SecretKeyRef;
  /** `k8s.cluster.name` of every signal (upsert). */
  readonly clusterName: string;
  /**
   * Collector image (contrib: it has k8s_attributes and bearertokenauth), pinned by tag or digest.
   * @default IMAGES.collector
   */
  readonly image?: string;
  /**
   * CPU and memory of each agent container (GOMEMLIMIT is set to 80 % of the limit).
   * @default - 50m/500m CPU, 128Mi/512Mi
   */
  readonly resources?: ContainerResources;
  /**
   * The pods' PriorityClass (a `NodeAgentPriority`'s name), so that a full node still runs one.
   * @default - none (priority 0, as any pod)
   */
  readonly priorityClassName?: string;
}

const NAME = 'otel-agent';
const PORTS = COLLECTOR_PORTS satisfies Record<string, ServicePort>;
/** The image's user, as the gateway runs it. */
const UID = 10001;
/** Where the client-certificate Secret is mounted: `ca.crt`, `tls.crt`, `tls.key`. */
export const OTEL_AGENT_TLS_DIR = '/etc/otel-agent/tls';
/** Where the bearer token is mounted, as the one file `token`. */
export const OTEL_AGENT_TOKEN_DIR = '/etc/otel-agent/auth';
/** `k8s_attributes` watching only the pods of the node an environment variable names (filter before extract, as rendered). */
function withNodeFilter(processor: K8sAttributesProcessor, env: string): NodeLocalK8sAttributesProcessor {
  const { auth_type, passthrough, ...rest } = processor;
  return { auth_type, passthrough, filter: { node_from_env_var: env }, ...rest };
}

/** The downward-API variable naming the pod's node, which `k8s_attributes` filters pods by. */
const NODE_NAME_ENV = 'K8S_NODE_NAME';
// host or IPv4 address, then a port; no scheme, no path
const HOST_PORT = /^[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?)*:(?<port>[1-9][0-9]{0,4})$/;

/**
 * The OpenTelemetry Collector (contrib) as a node agent of an application cluster in the central topology: a
 * DaemonSet that receives OTLP from the pods of its node (its Service is node-local), adds their Kubernetes metadata
 * (it watches only its node's pods) and `k8s.cluster.name`, and sends traces, logs and metrics over OTLP gRPC to the
 * central gateway, with mutual TLS and a bearer token read from a file. `memory_limiter` runs first and `batch` last
 * in every pipeline. It runs as a non-root user with a read-only root file system and meets Pod Security `restricted`.
 */
export class OtelAgent extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  /** Ports, for network policies. */
  public readonly ports = PORTS;
  /**
   * Where applications send OTLP over gRPC (`http://host:4317`, the form `OTEL_EXPORTER_OTLP_ENDPOINT` takes). The
   * Service's `internalTrafficPolicy: Local` keeps each pod's traffic on the agent of its own node.
   */
  public readonly otlpGrpcUrl: string;
  /** The agents' own metrics. */
  public readonly metricsTarget: PodScrapeTarget;
  /** The agents' pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** The rendered configuration. */
  public readonly config: AgentConfig;
  /** The most hardened Pod Security level its pods meet: `restricted` (no host access, non-root, no capabilities). */
  public readonly podSecurityLevel: PodSecurityLevel = 'restricted';
  /** `host:port` of the central gateway the agents export to. */
  public readonly gatewayEndpoint: string;

  public constructor(scope: Construct, id: string, props: OtelAgentProps) {
    super(scope, id);
    this.image = props.image ?? IMAGES.collector;
    this.gatewayEndpoint = props.gatewayEndpoint;
    const resources = props.resources ?? {
      cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512),
    };
    const namespace = chartNamespace(this, 'OtelAgent');
    const port = HOST_PORT.exec(props.gatewayEndpoint)?.groups?.port;
    if (port === undefined || Number(port) > 65535) {
      throw validationError(this,
        `'gatewayEndpoint' must be host:port without a scheme or path (e.g. telemetry.example.com:443), got ${show(props.gatewayEndpoint)}`);
    }
    if (!DNS_LABEL.test(props.clusterName)) {
      throw validationError(this,
        `'clusterName' must be a DNS label (lower-case letters, digits and "-", at most 63 characters), got ${show(props.clusterName)}`);
    }

    const endpoint = endpoints(NAME, namespace, PORTS.metrics);
    this.otlpGrpcUrl = endpoint.url(PORTS.otlpGrpc);
    this.peer = endpoint.peer;
    this.metricsTarget = endpoint.metricsTarget;

    const processors = ['memory_limiter', 'k8s_attributes', 'resource/cluster', 'batch'];
    const pipeline = { receivers: ['otlp'], processors, exporters: ['otlp_grpc/gateway'] };
    this.config = {
      extensions: {
        health_check: collectorParts.healthCheck(),
        // keys of contrib's extension/bearertokenauthextension/config.go (Config: header, scheme, token, tokens, filename):
        // https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/v0.159.0/extension/bearertokenauthextension/config.go
        // a file, so that the token stays out of the ConfigMap and a rotated Secret is picked up without a restart
        bearertokenauth: { filename: `${OTEL_AGENT_TOKEN_DIR}/token` },
      },
      receivers: { otlp: collectorParts.otlpReceiver() },
      processors: {
        memory_limiter: collectorParts.memoryLimiter(),
        // only the pods of this node send here: watching the others would cost every agent the whole cluster's pods
        k8s_attributes: withNodeFilter(collectorParts.k8sAttributes(), NODE_NAME_ENV),
        'resource/cluster': { attributes: [{ key: CLUSTER_ATTRIBUTE, value: props.clusterName, action: 'upsert' }] },
        batch: collectorParts.batch(),
      },
      exporters: {
        'otlp_grpc/gateway': {
          endpoint: props.gatewayEndpoint,
          tls: { ca_file: `${OTEL_AGENT_TLS_DIR}/ca.crt`, cert_file: `${OTEL_AGENT_TLS_DIR}/tls.crt`, key_file: `${OTEL_AGENT_TLS_DIR}/tls.key` },
          auth: { authenticator: 'bearertokenauth' },
        },
      },
      service: {
        extensions: ['health_check', 'bearertokenauth'],
        telemetry: collectorParts.telemetry(),
        pipelines: { traces: pipeline, logs: pipeline, metrics: pipeline },
      },
    };
    const configYaml = toYaml(this.config);

    const account = serviceAccount(this, NAME, true);
    bindClusterRole(this, namespace, NAME, k8sAttributesRules());
    const config = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: `${NAME}-config` }, data: { 'config.yaml': configYaml } });
    // node-local: a pod's OTLP goes to the agent on its node, whose k8s_attributes knows that pod
    service(this, NAME, [PORTS.otlpGrpc, PORTS.otlpHttp], { internalTrafficPolicy: 'Local' });

    nodeDaemonSet(this, {
      name: NAME,
      ...(props.priorityClassName ? { priorityClassName: props.priorityClassName } : {}),
      component: 'telemetry-agent',
      annotations: { 'checksum/config': checksum(configYaml) },
      spec: {
        serviceAccountName: account.name,
        automountServiceAccountToken: true,
        securityContext: podSecurityContext({ user: UID, group: UID }),
        containers: [collectorContainer({
          name: NAME,
          image: this.image,
          resources,
          env: [fieldEnv(NODE_NAME_ENV, 'spec.nodeName')],
          volumeMounts: [
            { name: 'client-certificate', mountPath: OTEL_AGENT_TLS_DIR, readOnly: true },
            { name: 'gateway-token', mountPath: OTEL_AGENT_TOKEN_DIR, readOnly: true },
          ],
        })],
        volumes: [
          collectorConfigVolume(config.name),
          secretVolume('client-certificate', props.clientCertificateSecret, CLIENT_TLS_KEYS),
          secretVolume('gateway-token', props.token.name, [{ key: props.token.key, path: 'token' }]),
        ],
      },
    });
  }
}
