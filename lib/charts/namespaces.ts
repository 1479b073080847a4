import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ENVOY_METRICS } from '../constructs/istio-scrape';
import { PodSecurityLevel } from '../constructs/types';

/** Namespace of the observability stack. */
export const OBSERVABILITY_NAMESPACE = 'observability';

/**
 * Port of Istio's merged metrics in the services' namespaces (the app's and its sidecar's, served by the sidecar agent):
 * Prometheus in `observability` scrapes it.
 */
export const MERGED_METRICS_PORT = 15020;

/**
 * Port of Envoy's own metrics in every sidecar (`/stats/prometheus`, the container port `http-envoy-prom`): the
 * `istio_*` and `envoy_*` series alone, which the application cannot add to. Prometheus scrapes it beside
 * {@link MERGED_METRICS_PORT}, and keeps those names only from here.
 */
export const ENVOY_METRICS_PORT = ENVOY_METRICS.port;

/**
 * The annotations of every Namespace the charts render. A namespace holds what Argo CD does not manage (the Secrets
 * created by hand, the StatefulSets' volumes), so Argo CD never deletes one on its own: `Delete=false` keeps it when
 * its Application is deleted (the Application's other objects still go), `Prune=confirm` asks a person before a
 * namespace that left git is pruned (argo-cd docs/user-guide/sync-options.md).
 */
const NAMESPACE_ANNOTATIONS: Readonly<Record<string, string>> = { 'argocd.argoproj.io/sync-options': 'Prune=confirm,Delete=false' };

/** The Namespace a chart renders: `labels`, and the {@link NAMESPACE_ANNOTATIONS} every one carries. */
export function namespaceObject(scope: Construct, name: string, labels: Readonly<Record<string, string>>): k8s.KubeNamespace {
  return new k8s.KubeNamespace(scope, 'Namespace', { metadata: { name, annotations: { ...NAMESPACE_ANNOTATIONS }, labels: { ...labels } } });
}

/** Pod Security labels that enforce `enforce` and warn and audit at `restricted`, so that what would fail it shows. */
export function podSecurityLabels(enforce: PodSecurityLevel): Record<string, string> {
  return {
    'pod-security.kubernetes.io/enforce': enforce,
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/audit': 'restricted',
  };
}

/**
 * The ports Istio's sidecar takes in every pod of the mesh (istio.io/latest/docs/ops/deployment/application-requirements,
 * "Ports used by Istio"): Envoy's admin, outbound, debug, inbound, HBONE, merged metrics, health, DNS and stats ports.
 * An app that listens on one of them cannot bind it, or its traffic loops through Envoy.
 */
export const ISTIO_SIDECAR_PORTS: readonly number[] = [
  15000, 15001, 15004, 15006, 15008, 15009, MERGED_METRICS_PORT, 15021, 15053, ENVOY_METRICS_PORT,
];

const LEVELS: readonly PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];

/**
 * The Pod Security level a namespace enforces: the most hardened one that still admits every pod it runs, given the
 * levels of the components that need more than `restricted` (everything else is held to `restricted` by the policy
 * tests).
 */
export function enforcedPodSecurity(needs: readonly PodSecurityLevel[]): PodSecurityLevel {
  return LEVELS.find(level => needs.includes(level)) ?? 'restricted';
}
