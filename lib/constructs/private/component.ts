import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { quantity } from '../../private/units';
import { PodScrapeTarget } from '../prometheus-config';
import { ObjectStorage, WorkloadPeer } from '../types';
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

/** A ServiceAccount with the token mounted only when the component calls the API server. */
export function serviceAccount(scope: Construct, name: string, callsApi: boolean): k8s.KubeServiceAccount {
  return new k8s.KubeServiceAccount(scope, 'ServiceAccount', {
    metadata: { name },
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
  /** Labels of the pods to select; the Service carries them too. @default - `app.kubernetes.io/name: <component>` */
  readonly selector?: Readonly<Record<string, string>>;
}

/** A Service selecting the component's pods (by name unless told otherwise), targeting the container ports by name. */
export function service(scope: Construct, component: string, ports: readonly ServicePort[], options: ServiceOptions = {}): k8s.KubeService {
  const selector = options.selector ?? selectorLabels(component);
  return new k8s.KubeService(scope, options.id ?? 'Service', {
    metadata: { name: options.name ?? component, labels: { ...selector } },
    spec: {
      ...(options.headless ? { clusterIp: 'None' } : {}),
      ...(options.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
      selector: { ...selector },
      ports: ports.map(p => ({
        name: p.name,
        port: p.port,
        targetPort: k8s.IntOrString.fromString(p.name),
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

/** A ClusterRole for a component, bound to its ServiceAccount; both named `<namespace>-<component>`. */
export function bindClusterRole(scope: Construct, namespace: string, component: string, rules: k8s.PolicyRule[]): void {
  const role = new k8s.KubeClusterRole(scope, 'ClusterRole', { metadata: { name: `${namespace}-${component}` }, rules });
  new k8s.KubeClusterRoleBinding(scope, 'ClusterRoleBinding', {
    metadata: { name: `${namespace}-${component}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.name },
    subjects: [{ kind: 'ServiceAccount', name: component, namespace }],
  });
}

/** The `data` volume claim of a StatefulSet: one ReadWriteOnce volume per replica. */
export function dataVolumeClaim(size: Size, storageClassName?: string): k8s.KubePersistentVolumeClaimProps {
  return {
    metadata: { name: 'data' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(storageClassName ? { storageClassName } : {}),
      resources: { requests: { storage: k8s.Quantity.fromString(quantity(size)) } },
    },
  };
}

/** Environment variables Loki and Tempo expand `${…}` references in their S3 config from (`-config.expand-env`). */
export const S3_ENV = { accessKeyId: 'S3_ACCESS_KEY_ID', secretAccessKey: 'S3_SECRET_ACCESS_KEY' } as const;

/** The S3 credentials as environment variables read from their Secrets. */
export function s3CredentialEnv(storage: ObjectStorage): k8s.EnvVar[] {
  return [secretEnv(S3_ENV.accessKeyId, storage.accessKeyId), secretEnv(S3_ENV.secretAccessKey, storage.secretAccessKey)];
}
