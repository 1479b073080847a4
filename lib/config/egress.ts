import { gitHostOf, gitTransportOf } from '../constructs/canary-gate';
import { FlowPort } from '../constructs/network-policies';
import { ObjectStorage } from '../constructs/types';

/** A dependency reached directly: the addresses it answers on and its ports. */
export interface DirectEgress {
  /** IPv4 CIDR blocks of the dependency (a provider's published ranges, a VPC endpoint's subnet, a database's host). */
  readonly cidrs: readonly string[];
  /** Its ports, TCP unless a port says otherwise. */
  readonly ports: readonly FlowPort[];
}

/**
 * A dependency reached through an HTTP CONNECT proxy of the environment: the components that use it get egress to the
 * proxy only, and `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` naming it.
 */
export interface ProxiedEgress {
  /** The proxy's key in `egress.proxies`. */
  readonly via: string;
}

/** How a dependency is reached: directly, or through a proxy. */
export type DependencyEgress = DirectEgress | ProxiedEgress;

/** An egress proxy outside the cluster (a corporate proxy), at fixed addresses. */
export interface ExternalProxy {
  /** `http://host:port` the components send through (`HTTPS_PROXY`); the port is the one the policy opens. */
  readonly url: string;
  /** Its addresses. */
  readonly cidrs: readonly string[];
}

/** An egress proxy inside the cluster (a forward proxy or an egress gateway that speaks HTTP CONNECT): its pods. */
export interface InClusterProxy {
  /** `http://host:port` the components send through (`HTTPS_PROXY`), usually the proxy's Service. */
  readonly url: string;
  /** Namespace of its pods. */
  readonly namespace: string;
  /** Labels of its pods. */
  readonly selector: Readonly<Record<string, string>>;
  /**
   * The pods' port, when the Service maps the URL's port to another (network policies see the pod's port).
   * @default - the URL's port
   */
  readonly port?: number;
}

/** An HTTP CONNECT proxy dependencies may be reached through. */
export type EgressProxy = ExternalProxy | InClusterProxy;

/** Cluster DNS: where every pod of every namespace resolves names. At least one of `pods` and `cidrs`. */
export interface ClusterDns {
  /** DNS server pods (CoreDNS, kube-dns). */
  readonly pods?: { readonly namespace: string; readonly selector: Readonly<Record<string, string>> };
  /** DNS addresses that are no pods' (NodeLocal DNSCache's link-local address, which a host-network pod serves). */
  readonly cidrs?: readonly string[];
  readonly ports: readonly FlowPort[];
}

/** DNS over UDP and TCP (TCP for answers too large for a datagram). */
export const DNS_PORTS: readonly FlowPort[] = [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }];

/** CoreDNS or kube-dns as clusters install it: pods labelled `k8s-app=kube-dns` in `kube-system`. */
export const KUBE_DNS: ClusterDns = { pods: { namespace: 'kube-system', selector: { 'k8s-app': 'kube-dns' } }, ports: DNS_PORTS };

/** Options of {@link nodeLocalDns}. */
export interface NodeLocalDnsOptions {
  /**
   * The address the caches listen on (`__PILLAR__LOCAL__DNS__` of the addon manifest).
   * @default '169.254.20.10'
   */
  readonly localIp?: string;
  /**
   * The kube-dns Service's ClusterIP, when kube-proxy runs in iptables mode: the caches then answer on it too, and the
   * pods, which keep it as their nameserver, need an ipBlock for it (the caches run on the host network, which no pod
   * selector matches).
   * @default - none (IPVS mode: the kubelet hands pods `localIp` as their nameserver)
   */
  readonly kubeDnsServiceIp?: string;
}

/**
 * NodeLocal DNSCache: a caching agent on every node on the host network, listening on a link-local address
 * (169.254.20.10 by default), so pods reach it through an ipBlock rather than a pod selector. The kube-dns pods stay
 * allowed for pods that fall back to them while a node's cache restarts.
 *
 * @see https://kubernetes.io/docs/tasks/administer-cluster/nodelocaldns/ and the addon's README
 *   (kubernetes/kubernetes cluster/addons/dns/nodelocaldns/README.md, "Network policy and DNS connectivity")
 */
export function nodeLocalDns(options: NodeLocalDnsOptions = {}): ClusterDns {
  const local = options.localIp ?? '169.254.20.10';
  return { ...KUBE_DNS, cidrs: [`${local}/32`, ...(options.kubeDnsServiceIp ? [`${options.kubeDnsServiceIp}/32`] : [])] };
}

/** NodeLocal DNSCache on its default address, kube-proxy in IPVS mode; see {@link nodeLocalDns}. */
export const NODE_LOCAL_DNS: ClusterDns = nodeLocalDns();

/**
 * The EKS Pod Identity Agent: a host-network pod on every node serving credentials on the link-local 169.254.170.23,
 * port 80 (`objectStorageIdentity` with `eks-pod-identity`).
 *
 * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html
 */
export const EKS_POD_IDENTITY_AGENT: DirectEgress = { cidrs: ['169.254.170.23/32'], ports: [{ port: 80 }] };

/**
 * The GKE metadata server as pods reach it on GKE Dataplane V2: the link-local 169.254.169.254, port 80, which the node's
 * gke-metadata-server answers for the pod's Kubernetes ServiceAccount (`objectStorageIdentity` with `gke`). Clusters
 * whose network policies are enforced by Calico (Dataplane V1) see the address after the node rewrote it,
 * 169.254.169.252:988 on GKE 1.21 and later: give `{ cidrs: ['169.254.169.252/32'], ports: [{ port: 988 }] }` there
 * (as public GKE network policies do, e.g. gke-labs/kube-agents#676; Google's page was not at hand to confirm it).
 *
 * @see https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity
 */
export const GKE_METADATA_SERVER: DirectEgress = { cidrs: ['169.254.169.254/32'], ports: [{ port: 80 }] };

/**
 * The kubelet's HTTPS port, which node discovery gives as each node's target (the node's `daemonEndpoints`): the
 * `kubelet` dependency must open it.
 */
export const KUBELET_PORT = 10250;

/** The address of the GKE metadata server: Application Default Credentials ask 169.254.169.254 (or metadata.google.internal). */
const GKE_METADATA_HOSTS = ['169.254.169.254', 'metadata.google.internal'] as const;

/** The components of the observability namespace a dependency may be used by. */
export type ObservabilityComponent =
  | 'prometheus' | 'alertmanager' | 'grafana' | 'loki' | 'promtail' | 'tempo' | 'collector' | 'kube-state-metrics' | 'canary-gate'
  | 'kiali' | 'alloy' | 'mimir';

/** What the dependency table reads of an environment to decide whether a dependency is used. */
export interface DependencyContext {
  readonly grafana: { readonly databaseUrl?: unknown };
  /** A central topology: its gateway Collector looks up no Kubernetes metadata (its senders add their own). */
  readonly topology?: unknown;
  /** Whether Mimir runs (it stores its blocks in the object storage). */
  readonly mimir?: unknown;
  /** Which log shipper runs: the other one is granted nothing. */
  readonly logs?: { readonly shipper: 'alloy' | 'promtail' };
  readonly objectStorage?: ObjectStorage;
  readonly alerting?: { readonly receivers: ReadonlyArray<{ readonly name: string; readonly kind: string }>; readonly heartbeat?: unknown };
  /** The repository the in-cluster gate clones and pushes to. */
  readonly gitops?: { readonly repoURL: string };
  /** Where the gate's loop runs, and whether it notifies a webhook. */
  readonly delivery?: { readonly loop: string; readonly webhook?: unknown };
}

/** Whether the SLO gate's loop runs in the cluster (the canary-gate CronJob), so that its dependencies are called from there. */
function gateInCluster(env: DependencyContext): boolean {
  return env.delivery?.loop === 'cluster';
}

/** A kind of service outside the cluster that components of the stack call. */
export interface ExternalDependency {
  /** What it is, in messages. */
  readonly description: string;
  /** Names its policies: `<component>-to-<flow>-egress`. */
  readonly flow: string;
  /** The components that call it: exactly these get its egress. */
  readonly users: readonly ObservabilityComponent[];
  /**
   * Users that do not call it in this environment although they run.
   * @default - none
   */
  notUsedBy?(env: DependencyContext): readonly ObservabilityComponent[];
  /** Why the environment uses it (so must name it), or undefined when nothing does (so it must not). */
  usedBecause(env: DependencyContext): string | undefined;
  /** Why it cannot be reached `via` an HTTP proxy, or undefined when its clients honour `HTTPS_PROXY`. */
  proxyRefused(env: DependencyContext): string | undefined;
  /**
   * Hosts its clients dial that `NO_PROXY` must name, beyond its CIDR blocks, when it is reached directly and the
   * component has a proxy for other dependencies.
   * @default - its CIDR blocks only
   */
  noProxy?(env: DependencyContext): readonly string[];
}

/**
 * Every external dependency of the stack: who calls it and when. An environment names how each one in use is reached
 * (`egress.dependencies`), and each user gets exactly that egress. A new dependency (an alert receiver, a package
 * registry) is one more entry here; the type of `egress.dependencies`, the validation and the policies follow.
 */
export const EXTERNAL_DEPENDENCIES = {
  kubernetesApi: {
    description: 'the Kubernetes API server',
    flow: 'kube-api',
    // of the two log shippers only the one the environment runs (`logs.shipper`) is rendered, and granted this
    users: ['prometheus', 'promtail', 'collector', 'kube-state-metrics', 'kiali', 'alloy'],
    usedBecause: () => 'Prometheus, Promtail and the Collector discover targets and pod metadata through it',
    // a central topology's gateway Collector looks up no pods: its senders add their own metadata
    notUsedBy: env => (env.topology !== undefined ? ['collector'] : []),
    // the policy sees the control plane's addresses after the `kubernetes` Service is resolved: a proxy has no part
    proxyRefused: () => 'in-cluster clients reach it through the kubernetes Service, never through an HTTP proxy',
  },
  kubelet: {
    description: 'the kubelets (port 10250 of every node)',
    flow: 'kubelet',
    users: ['prometheus'],
    usedBecause: () => 'Prometheus scrapes every node\'s kubelet for the PersistentVolume usage VolumeFillingUp reads',
    // the scrape job sets no proxy_url, and Prometheus takes no HTTPS_PROXY: its scrapes go straight to the nodes
    proxyRefused: () => 'Prometheus scrapes each node\'s InternalIP on 10250 directly, never through an HTTP proxy',
  },
  grafanaDatabase: {
    description: 'Grafana\'s database',
    flow: 'database',
    users: ['grafana'],
    usedBecause: env => (env.grafana.databaseUrl !== undefined ? '\'grafana.databaseUrl\' is set' : undefined),
    proxyRefused: () => 'Grafana\'s PostgreSQL and MySQL clients speak their own protocols over TCP and ignore HTTP proxies',
  },
  objectStorage: {
    description: 'object storage',
    flow: 'object-storage',
    users: ['loki', 'tempo', 'mimir'],
    usedBecause: env => (env.objectStorage ? '\'objectStorage\' is set' : undefined),
    proxyRefused: () => undefined,
  },
  objectStorageIdentity: {
    description: 'the token exchange of the object storage\'s workload identity',
    flow: 'object-storage-identity',
    users: ['loki', 'tempo', 'mimir'],
    usedBecause: env => {
      const credentials = env.objectStorage?.credentials;
      if (credentials?.kind !== 'workloadIdentity') return undefined;
      switch (credentials.provider) {
        case 'eks-irsa':
          return '\'objectStorage.credentials\' is eks-irsa (STS at sts.<region>.amazonaws.com:443)';
        case 'eks-pod-identity':
          return '\'objectStorage.credentials\' is eks-pod-identity (the Pod Identity Agent, EKS_POD_IDENTITY_AGENT)';
        case 'gke':
          return '\'objectStorage.credentials\' is gke (the GKE metadata server at 169.254.169.254:80, GKE_METADATA_SERVER)';
        case 'azure':
          return '\'objectStorage.credentials\' is azure (Microsoft Entra ID at login.microsoftonline.com:443)';
      }
    },
    proxyRefused: env => {
      const credentials = env.objectStorage?.credentials;
      if (credentials?.kind !== 'workloadIdentity') return undefined;
      if (credentials.provider === 'eks-pod-identity') return 'the Pod Identity Agent listens on each node\'s link-local 169.254.170.23, which no proxy reaches';
      // the metadata client of Application Default Credentials (cloud.google.com/go/compute/metadata) dials directly
      if (credentials.provider === 'gke') return 'the GKE metadata server answers on each node\'s link-local 169.254.169.254, which no proxy reaches';
      return undefined;
    },
    noProxy: env => {
      const credentials = env.objectStorage?.credentials;
      return credentials?.kind === 'workloadIdentity' && credentials.provider === 'gke' ? GKE_METADATA_HOSTS : [];
    },
  },
  alertReceivers: {
    description: 'the alert receivers (webhook, Slack and PagerDuty endpoints, and the heartbeat service)',
    flow: 'alert-receivers',
    users: ['alertmanager'],
    // their URLs are in Secrets, unknown at synth: every receiver is taken to be outside the cluster
    usedBecause: env => {
      const receivers = env.alerting?.receivers ?? [];
      const named = [...receivers.map(r => `${r.name} (${r.kind})`), ...(env.alerting?.heartbeat ? ['the heartbeat'] : [])];
      return named.length > 0 ? `'alerting.receivers' and 'alerting.heartbeat' name ${named.join(', ')}, whose endpoints are outside the cluster` : undefined;
    },
    // the config sets `proxy_from_environment`, so the notifiers honour HTTPS_PROXY and NO_PROXY
    proxyRefused: () => undefined,
  },
  gitHost: {
    description: 'the git host of gitops.repoURL',
    flow: 'git-host',
    users: ['canary-gate'],
    usedBecause: env => (gateInCluster(env)
      ? `'delivery.loop' is "cluster": the canary-gate CronJob clones ${gitHostOf(env.gitops?.repoURL ?? '') ?? 'the repository'} and pushes its decisions there`
      : undefined),
    // git over HTTPS (libcurl) honours HTTPS_PROXY and NO_PROXY; ssh has no notion of them
    proxyRefused: env => (gitTransportOf(env.gitops?.repoURL ?? '') === 'ssh'
      ? '\'gitops.repoURL\' is an SSH URL, and git over SSH dials the host directly: ssh ignores HTTPS_PROXY'
      : undefined),
  },
  notificationWebhook: {
    description: 'the webhook of delivery.webhook',
    flow: 'notification-webhook',
    users: ['canary-gate'],
    // its URL is in a Secret, unknown at synth: taken to be outside the cluster
    usedBecause: env => (gateInCluster(env) && env.delivery?.webhook !== undefined
      ? '\'delivery.webhook\' is set and the canary-gate CronJob (\'delivery.loop\' "cluster") posts each decision to it'
      : undefined),
    // Node.js's fetch honours HTTPS_PROXY and NO_PROXY with NODE_USE_ENV_PROXY=1 (Node.js 24), which the gate sets with a proxy
    proxyRefused: () => undefined,
  },
} as const satisfies Record<string, ExternalDependency>;

/** The name of an external dependency: a key of {@link EXTERNAL_DEPENDENCIES}. */
export type ExternalDependencyName = keyof typeof EXTERNAL_DEPENDENCIES;

/** The names of {@link EXTERNAL_DEPENDENCIES}, in the table's order. */
export const EXTERNAL_DEPENDENCY_NAMES = Object.keys(EXTERNAL_DEPENDENCIES) as readonly ExternalDependencyName[];

/** The egress of an environment: DNS, proxies, and how each external dependency is reached. Nothing else leaves the cluster. */
export interface EgressSettings {
  /**
   * Allows CIDR blocks wider than /8 (0.0.0.0/0 above all) anywhere in this section. For a local cluster only, where
   * the API server's address is not known in advance.
   * @default false
   */
  readonly allowWideCidrs?: boolean;
  /** Cluster DNS, for every namespace's `dns` flow: {@link KUBE_DNS}, {@link NODE_LOCAL_DNS} or your own. */
  readonly dns: ClusterDns;
  /**
   * The cluster's pod and Service CIDRs, kept off the proxies (`NO_PROXY`). Required once a dependency goes `via` a
   * proxy: Loki's and Tempo's gRPC clients honour `HTTPS_PROXY` and dial their ring members by pod IP.
   * @default - none
   */
  readonly clusterCidrs?: readonly string[];
  /**
   * HTTP CONNECT proxies by name (a DNS label), for dependencies reached `via` one.
   * @default - none
   */
  readonly proxies?: Readonly<Record<string, EgressProxy>>;
  /** How each dependency in use is reached (see {@link EXTERNAL_DEPENDENCIES}): those not in use must be left out. */
  readonly dependencies: Readonly<Partial<Record<ExternalDependencyName, DependencyEgress>>>;
}

/** Whether a dependency is reached through a proxy. */
export function isProxied(egress: DependencyEgress): egress is ProxiedEgress {
  return 'via' in egress;
}

/** Whether a proxy runs in the cluster. */
export function isInClusterProxy(proxy: EgressProxy): proxy is InClusterProxy {
  return 'namespace' in proxy;
}
