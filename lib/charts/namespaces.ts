import { PodSecurityLevel } from '../constructs/types';

/** Namespace of the observability stack. */
export const OBSERVABILITY_NAMESPACE = 'observability';

/**
 * Port of Istio's merged metrics in the services' namespaces (the app's and its sidecar's, served by the sidecar agent):
 * Prometheus in `observability` scrapes it.
 */
export const MERGED_METRICS_PORT = 15020;

const LEVELS: readonly PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];

/**
 * The Pod Security level a namespace enforces: the most hardened one that still admits every pod it runs, given the
 * levels of the components that need more than `restricted` (everything else is held to `restricted` by the policy
 * tests).
 */
export function enforcedPodSecurity(needs: readonly PodSecurityLevel[]): PodSecurityLevel {
  return LEVELS.find(level => needs.includes(level)) ?? 'restricted';
}
