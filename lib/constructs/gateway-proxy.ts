import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, checkInteger, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { GATEWAY_METRICS } from './istio-scrape';
import { ServicePort, endpoints, serviceAccount } from './private/component';
import {
  containerSecurityContext, injectedPodScratch, podLabels, podSecurityContext, resourceRequirements, selectorLabels, spreadReplicas,
} from './private/workload';
import { ContainerResources, WorkloadPeer } from './types';

/** Properties of {@link GatewayProxy}. */
export interface GatewayProxyProps {
  /** Name of the Deployment, Service and ServiceAccount, and the value of its pods' `istio` label. */
  readonly name: string;
  /**
   * Replicas; more than one get a PodDisruptionBudget and spread over nodes and zones.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Annotations of the LoadBalancer Service (a cloud's load-balancer type, an internal address).
   * @default - none
   */
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
  /**
   * The addresses the load balancer admits (IPv4 CIDR blocks): the application clusters' egress addresses.
   * @default - any (mutual TLS still refuses a sender without a client certificate)
   */
  readonly sourceRanges?: readonly string[];
  /**
   * The proxy image: the `proxyv2` of the control plane's release. The injector keeps a pinned image (a pod's own
   * container fields win over the template's), so it must be upgraded with istiod.
   * @default IMAGES.istioProxy
   */
  readonly image?: string;
  readonly resources?: ContainerResources;
}

/** The port the gateway listens on: 443, which the pod's sysctl lets a non-root process bind. */
const HTTPS: ServicePort = { name: 'https', port: 443, appProtocol: 'https' };
/** Istio's proxy status port: `/healthz/ready`. */
const STATUS: ServicePort = { name: 'status', port: 15021, appProtocol: 'http' };
/** Envoy's Prometheus port in Istio's gateway template. */
const ENVOY_PROMETHEUS_PORT = 15090;
/** The uid and gid of Istio's proxy image. */
const PROXY_UID = 1337;

/**
 * An Istio gateway of its own, installed by gateway injection (istio.io, "Installing Gateways"): a Deployment whose pods
 * istiod's injector turns into Envoy gateways (`inject.istio.io/templates: gateway`, `sidecar.istio.io/inject: "true"`),
 * a LoadBalancer Service in front of them, and read access to the namespace's Secrets (the gateway loads a
 * `credentialName` from its own namespace). Gateway and VirtualService resources select it by its `istio` label. The
 * pods meet Pod Security `restricted`: non-root (1337), no capabilities, read-only root, RuntimeDefault seccomp; port
 * 443 is bound through the safe sysctl `net.ipv4.ip_unprivileged_port_start`.
 */
export class GatewayProxy extends Construct {
  public readonly name: string;
  public readonly image: string;
  public readonly replicas: number;
  public readonly ports = { https: HTTPS, status: STATUS };
  /** Its pods (name and `istio` labels): what a Gateway selects and network policies name. */
  public readonly peer: WorkloadPeer;
  /** The addresses the load balancer admits; empty: any. */
  public readonly sourceRanges: readonly string[];

  public constructor(scope: Construct, id: string, props: GatewayProxyProps) {
    super(scope, id);
    const namespace = chartNamespace(this, 'GatewayProxy');
    this.name = props.name;
    this.image = props.image ?? IMAGES.istioProxy;
    this.replicas = props.replicas ?? 2;
    this.sourceRanges = props.sourceRanges ?? [];
    checkInteger(this, 'replicas', this.replicas, 1, 20);
    for (const [i, range] of (props.sourceRanges ?? []).entries()) {
      if (!/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(range)) {
        throw validationError(this, `'sourceRanges[${i}]' must be an IPv4 CIDR block, got ${show(range)}`);
      }
    }
    const resources = props.resources ?? {
      cpuRequestMillis: 100, cpuLimitMillis: 2000, memoryRequest: Size.mebibytes(128), memoryLimit: Size.gibibytes(1),
    };
    const istio = { istio: props.name };
    const selector = { ...selectorLabels(props.name), ...istio };
    this.peer = { ...endpoints(props.name, namespace, STATUS).peer, selector };

    const account = serviceAccount(this, props.name, true);
    const role = new k8s.KubeRole(this, 'SecretsReader', {
      metadata: { name: `${props.name}-secrets` },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }],
    });
    new k8s.KubeRoleBinding(this, 'SecretsReaderBinding', {
      metadata: { name: `${props.name}-secrets` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: account.name }],
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name: props.name, labels: { ...selector }, ...(props.serviceAnnotations ? { annotations: { ...props.serviceAnnotations } } : {}) },
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        selector: { ...selector },
        ports: [{ name: HTTPS.name, port: HTTPS.port, targetPort: k8s.IntOrString.fromNumber(HTTPS.port), protocol: 'TCP', appProtocol: 'https' }],
        ...(props.sourceRanges ? { loadBalancerSourceRanges: [...props.sourceRanges] } : {}),
      },
    });
    const spread = spreadReplicas(this, { name: props.name, replicas: this.replicas, selector, kind: 'Deployment' });
    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: props.name },
      spec: {
        replicas: this.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: { ...podLabels(props.name, 'telemetry-gateway'), ...istio, 'sidecar.istio.io/inject': 'true' },
            // what the gateway template's injection adds is scratch, which the cluster autoscaler may drop
            annotations: { 'inject.istio.io/templates': 'gateway', ...injectedPodScratch() },
          },
          spec: {
            serviceAccountName: account.name,
            // the proxy asks istiod for its certificate with the ServiceAccount's token
            automountServiceAccountToken: true,
            securityContext: {
              ...podSecurityContext({ user: PROXY_UID, group: PROXY_UID }),
              sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
            },
            ...spread,
            containers: [{
              name: 'istio-proxy',
              image: this.image,
              ports: [
                { name: HTTPS.name, containerPort: HTTPS.port, protocol: 'TCP' }, { name: STATUS.name, containerPort: STATUS.port, protocol: 'TCP' },
                // Envoy's own, as the gateway template declares it: the scrape finds the pods by it (merged metrics on 15020)
                { name: GATEWAY_METRICS.declaredPort, containerPort: ENVOY_PROMETHEUS_PORT, protocol: 'TCP' },
              ],
              readinessProbe: {
                httpGet: { path: '/healthz/ready', port: k8s.IntOrString.fromString(STATUS.name) }, periodSeconds: 5, failureThreshold: 3,
              },
              livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString(STATUS.name) }, periodSeconds: 15, failureThreshold: 6 },
              resources: resourceRequirements(resources),
              securityContext: { ...containerSecurityContext(), runAsUser: PROXY_UID, runAsGroup: PROXY_UID },
            }],
          },
        },
      },
    });
  }
}
