import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { quantity } from '../../private/units';
import { PodScrapeTarget } from '../prometheus-config';
import { EgressProxyEnv, ObjectStorage, WorkloadPeer } from '../types';
import { secretEnv, selectorLabels } from './workload';

/** A port a component serves. */
export interface ServicePort {
  /** Port name, also the container port name. */
  readonly name: string;
  readonly port: number;
  /** `http`, `grpc` or `tcp`: tells Istio and humans what speaks on it. */
  readonly appProtocol?: string;
}

/** The in-cluster DNS name of a Service: `<name>.<namespace>.svc.cluster.local`. */
export function serviceHost(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/** How other constructs reach a component: its Service, its pods and its metrics. */
export interface ComponentEndpoints {
  /** `<name>.<namespace>.svc.cluster.local`, the host of the component's Service. */
  readonly host: string;
  /** The component's pods, for network policies. */
  readonly peer: WorkloadPeer;
  /** What the component exposes for scraping. */
  readonly metricsTarget: PodScrapeTarget;
  /** `http://<host>:<port>`. */
  url(port: ServicePort): string;
}

/**
 * The endpoints of a component whose Service and pods are named and selected by `app.kubernetes.io/name: <name>`.
 *
 * @param metricsPort the container port that serves `/metrics`
 */
export function endpoints(name: string, namespace: string, metricsPort: ServicePort): ComponentEndpoints {
  const host = serviceHost(name, namespace);
  return {
    host,
    peer: { name, namespace, selector: selectorLabels(name) },
    metricsTarget: { job: name, namespace, selector: selectorLabels(name), port: metricsPort.name },
    url: port => `http://${host}:${port.port}`,
  };
}

/**
 * A ServiceAccount with the token mounted only when the component calls the API server.
 *
 * @param annotations what a workload identity webhook reads (IRSA's role ARN)
 */
export function serviceAccount(
  scope: Construct, name: string, callsApi: boolean, annotations: Readonly<Record<string, string>> = {},
): k8s.KubeServiceAccount {
  return new k8s.KubeServiceAccount(scope, 'ServiceAccount', {
    metadata: { name, ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}) },
    automountServiceAccountToken: callsApi,
  });
}

/** Options of {@link service}. */
export interface ServiceOptions {
  /** Construct id. @default 'Service' */
  readonly id?: string;
  /** Object name. @default - the component name */
  readonly name?: string;
  /** A headless Service (for StatefulSet identities and memberlist peers). @default false */
  readonly headless?: boolean;
  /** Publish pods before they are ready (memberlist peers must find each other to become ready). @default false */
  readonly publishNotReadyAddresses?: boolean;
  /**
   * `Local`: a pod reaches the endpoints on its own node only (a node agent).
   * @default - the cluster's endpoints
   */
  readonly internalTrafficPolicy?: 'Local';
  /** Labels of the pods to select; the Service carries them too. @default - `app.kubernetes.io/name: <component>` */
  readonly selector?: Readonly<Record<string, string>>;
}

/**
 * A Service selecting the component's pods (by name unless told otherwise), targeting the container ports by number,
 * which is theirs too: a container port renamed (a service's port when its protocol changes) must not leave the Service
 * without endpoints while the old pods, which only have the old name, still serve.
 */
export function service(scope: Construct, component: string, ports: readonly ServicePort[], options: ServiceOptions = {}): k8s.KubeService {
  const selector = options.selector ?? selectorLabels(component);
  return new k8s.KubeService(scope, options.id ?? 'Service', {
    metadata: { name: options.name ?? component, labels: { ...selector } },
    spec: {
      ...(options.headless ? { clusterIp: 'None' } : {}),
      ...(options.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
      ...(options.internalTrafficPolicy ? { internalTrafficPolicy: options.internalTrafficPolicy } : {}),
      selector: { ...selector },
      ports: ports.map(p => ({
        name: p.name,
        port: p.port,
        targetPort: k8s.IntOrString.fromNumber(p.port),
        protocol: 'TCP',
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      })),
    },
  });
}

/** The container ports for a component's service ports. */
export function containerPorts(ports: readonly ServicePort[]): k8s.ContainerPort[] {
  return ports.map(p => ({ name: p.name, containerPort: p.port, protocol: 'TCP' }));
}

/**
 * The ports of a memberlist gossip cluster (Alertmanager's, Grafana's alerting): one number, TCP and UDP, named
 * `<prefix>-tcp` and `<prefix>-udp`, for the container and for the headless Service that finds the peers.
 */
export function gossipPorts(prefix: string, port: number): { readonly container: k8s.ContainerPort[]; readonly service: k8s.ServicePort[] } {
  const protocols = ['TCP', 'UDP'] as const;
  return {
    container: protocols.map(protocol => ({ name: `${prefix}-${protocol.toLowerCase()}`, containerPort: port, protocol })),
    service: protocols.map(protocol => ({ name: `${prefix}-${protocol.toLowerCase()}`, port, targetPort: k8s.IntOrString.fromNumber(port), protocol })),
  };
}

/**
 * A headless Service over a component's pods, published before they are ready, so that a replica finds its peers
 * while it starts (a gossip cluster's, which a replica may need to become ready) and gets its DNS name.
 */
export function peerService(scope: Construct, id: string, name: string, component: string, ports: readonly k8s.ServicePort[]): k8s.KubeService {
  return new k8s.KubeService(scope, id, {
    metadata: { name, labels: selectorLabels(component) },
    spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: selectorLabels(component), ports: [...ports] },
  });
}

/** A ClusterRole for a component, bound to its ServiceAccount; both named `<namespace>-<component>`. */
export function bindClusterRole(scope: Construct, namespace: string, component: string, rules: k8s.PolicyRule[]): void {
  const role = new k8s.KubeClusterRole(scope, 'ClusterRole', { metadata: { name: `${namespace}-${component}` }, rules });
  new k8s.KubeClusterRoleBinding(scope, 'ClusterRoleBinding', {
    metadata: { name: `${namespace}-${component}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.name },
    subjects: [{ kind: 'ServiceAccount', name: component, namespace }],
  });
}

/** The name of a StatefulSet's data volume: its claim template's, so each replica's claim is `data-<name>-<ordinal>`. */
export const DATA_VOLUME = 'data';

/** The `data` volume claim of a StatefulSet: one ReadWriteOnce volume per replica. */
export function dataVolumeClaim(size: Size, storageClassName?: string): k8s.KubePersistentVolumeClaimProps {
  return {
    metadata: { name: DATA_VOLUME },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(storageClassName ? { storageClassName } : {}),
      resources: { requests: { storage: k8s.Quantity.fromString(quantity(size)) } },
    },
  };
}

/**
 * A StatefulSet whose volume claim templates carry `apiVersion` and `kind`, as the API server returns them. The k8s
 * types leave them out (and drop them from JSON patches); Argo CD's diff under server-side apply compares the list as
 * a whole, so templates without them would keep the Application OutOfSync for good (argoproj/argo-cd#11143).
 */
class StatefulSetWithTypedClaims extends k8s.KubeStatefulSet {
  public toJson(): any {
    const json = super.toJson();
    const templates: unknown[] | undefined = json.spec?.volumeClaimTemplates;
    if (templates === undefined) return json;
    return { ...json, spec: { ...json.spec, volumeClaimTemplates: templates.map(t => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', ...(t as object) })) } };
  }
}

/** A StatefulSet (the construct id `Resource`) rendered as {@link StatefulSetWithTypedClaims} renders it. */
export function statefulSet(scope: Construct, props: k8s.KubeStatefulSetProps): k8s.KubeStatefulSet {
  return new StatefulSetWithTypedClaims(scope, 'Resource', props);
}

/** Environment variables Loki and Tempo expand `${…}` references in their S3 config from (`-config.expand-env`). */
export const S3_ENV = { accessKeyId: 'S3_ACCESS_KEY_ID', secretAccessKey: 'S3_SECRET_ACCESS_KEY' } as const;

/** Azure Workload Identity's pod label: only pods carrying it are mutated by the webhook. */
export const AZURE_WORKLOAD_IDENTITY_USE_LABEL = 'azure.workload.identity/use';
/** Azure Workload Identity's ServiceAccount annotation naming the client id the pods act as. */
export const AZURE_CLIENT_ID_ANNOTATION = 'azure.workload.identity/client-id';

/**
 * The S3 keys as `${…}` references for the config, expanded at start-up; none with workload identity, where the
 * clients fall back to their credential chains, nor for GCS and Azure, which only take workload identity here.
 */
export function s3KeyReferences(storage: ObjectStorage): { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined {
  return storage.credentials.kind === 'secret' ? { accessKeyId: `\${${S3_ENV.accessKeyId}}`, secretAccessKey: `\${${S3_ENV.secretAccessKey}}` } : undefined;
}

/**
 * What the container needs in its environment for the object storage credentials: the keys from their Secrets, or for
 * IRSA the bucket's region with regional STS, so that both S3 clients exchange their token at `sts.<region>` (the
 * address the egress names) rather than the global endpoint. The webhook leaves variables that are set alone. Nothing
 * for GCS (the metadata server) and Azure (the webhook injects `AZURE_*` itself).
 */
export function storageCredentialEnv(storage: ObjectStorage): k8s.EnvVar[] {
  if (storage.kind === 'gcs' || storage.kind === 'azure') return [];
  const credentials = storage.credentials;
  if (credentials.kind === 'secret') {
    return [secretEnv(S3_ENV.accessKeyId, credentials.accessKeyId), secretEnv(S3_ENV.secretAccessKey, credentials.secretAccessKey)];
  }
  return credentials.provider === 'eks-irsa'
    ? [{ name: 'AWS_REGION', value: storage.region }, { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }]
    : [];
}

/**
 * The ServiceAccount annotations and pod labels of the object storage's workload identity; empty with static keys.
 * Azure's client id becomes the webhook's annotation and its pods get the label the webhook selects them by.
 */
export function storageIdentity(storage: ObjectStorage | undefined): {
  readonly annotations: Record<string, string>; readonly podLabels: Record<string, string>;
} {
  const credentials = storage?.credentials;
  if (credentials?.kind !== 'workloadIdentity') return { annotations: {}, podLabels: {} };
  const annotations = { ...credentials.serviceAccountAnnotations };
  const podLabels = { ...credentials.podLabels };
  if (credentials.provider === 'azure') {
    if (credentials.clientId !== undefined) annotations[AZURE_CLIENT_ID_ANNOTATION] = credentials.clientId;
    podLabels[AZURE_WORKLOAD_IDENTITY_USE_LABEL] = 'true';
  }
  return { annotations, podLabels };
}

/** `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` for a component whose outbound HTTP goes through a proxy; none without one. */
export function proxyEnv(proxy: EgressProxyEnv | undefined): k8s.EnvVar[] {
  if (!proxy) return [];
  return [
    { name: 'HTTPS_PROXY', value: proxy.url },
    { name: 'HTTP_PROXY', value: proxy.url },
    { name: 'NO_PROXY', value: proxy.noProxy.join(',') },
  ];
}
