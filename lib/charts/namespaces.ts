/** Namespace of the observability stack. */
export const OBSERVABILITY_NAMESPACE = 'observability';

/**
 * Port of Istio's merged metrics in the services' namespaces (the app's and its sidecar's, served by the sidecar agent):
 * Prometheus in `observability` scrapes it.
 */
export const MERGED_METRICS_PORT = 15020;
