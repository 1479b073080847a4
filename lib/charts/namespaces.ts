/** Namespace of the observability stack. */
export const OBSERVABILITY_NAMESPACE = 'observability';

/** Namespace of the services released by canary. */
export const APPS_NAMESPACE = 'apps';

/**
 * Port of Istio's merged metrics in the `apps` namespace (the app's and its sidecar's, served by the sidecar agent):
 * Prometheus in `observability` scrapes it.
 */
export const MERGED_METRICS_PORT = 15020;
