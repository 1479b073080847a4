import { SERVICE_SCRAPE_JOBS } from '../slo/vocabulary';
import { SERVICE_CLUSTER_LABEL_RELABELS, ScrapeConfig, annotatedPodsScrapeConfig, podScrapeConfig, servicePodRelabels } from './prometheus-config';
import { WorkloadPeer } from './types';

/**
 * Scrape jobs for Istio's own pods, which live in Istio's namespace and are installed by istioctl, not by this project.
 * Ports and paths as Istio 1.30.3 renders them:
 *
 * - istiod (manifests/charts/istio-control/istio-discovery/templates/deployment.yaml): pods labelled `app: istiod`,
 *   container port `http-monitoring` 15014, `/metrics` (pilot's xDS pushes, rejected configs, proxy convergence).
 * - the ingress gateway (manifests/charts/gateways/istio-ingress/templates/deployment.yaml): the agent's merged
 *   metrics on 15020, `/stats/prometheus` (the `prometheus.io/*` annotations), which is not a declared container port;
 *   the pods declare only Envoy's own `http-envoy-prom` 15090, so the job finds each pod by that port and scrapes
 *   15020 of the same address. Its `istio_requests_total{reporter="source"}` shows the 503s at the edge.
 *
 * @see https://github.com/istio/istio/tree/1.30.3/manifests/charts
 */

/** istiod's metrics port. */
/** istiod's xDS and certificate port: every proxy (sidecar or gateway) connects to it. */
export const ISTIOD_XDS_PORT = 15012;
export const ISTIOD_METRICS_PORT = { name: 'http-monitoring', port: 15014 } as const;

/**
 * Envoy's own metrics in every proxy, sidecar or gateway: the container port the injected `istio-proxy` declares, its
 * number, and the path. Envoy serves its `istio_*` and `envoy_*` series there, and nothing of the application's.
 */
export const ENVOY_METRICS = { declaredPort: 'http-envoy-prom', port: 15090, path: '/stats/prometheus' } as const;

/** The ingress gateway's merged metrics (the agent's and Envoy's), and the port its pods declare for Envoy's. */
export const GATEWAY_METRICS = { port: 15020, path: ENVOY_METRICS.path, declaredPort: ENVOY_METRICS.declaredPort } as const;

/** istiod's pods as istioctl labels them (`app: istiod`), in the namespace it was installed in (`apps.istiod.namespace`). */
export function istiodPeer(namespace: string): WorkloadPeer {
  return { name: 'istiod', namespace, selector: { app: 'istiod' } };
}

/** A job scraping istiod's pods on 15014 `/metrics`, labelled with `namespace`, `pod` and `node`. */
export function istiodScrapeConfig(istiod: WorkloadPeer): ScrapeConfig {
  return podScrapeConfig({ job: 'istiod', namespace: istiod.namespace, selector: istiod.selector, port: ISTIOD_METRICS_PORT.name });
}

/**
 * A job scraping the ingress gateway's pods on their merged metrics (15020 `/stats/prometheus`), labelled with
 * `namespace`, `pod` and `node`: one target per pod, found by the port the pods do declare.
 */
export function ingressGatewayScrapeConfig(gateway: WorkloadPeer, jobName = 'ingress-gateway'): ScrapeConfig {
  const job = podScrapeConfig({
    job: jobName, namespace: gateway.namespace, selector: gateway.selector, port: GATEWAY_METRICS.declaredPort, path: GATEWAY_METRICS.path,
  });
  const [keepPort, ...rest] = job.relabel_configs ?? [];
  return {
    ...job,
    relabel_configs: [
      keepPort,
      { source_labels: ['__meta_kubernetes_pod_ip'], regex: '(.+)', replacement: `$1:${GATEWAY_METRICS.port}`, target_label: '__address__' },
      ...rest,
    ],
  };
}

/**
 * A job scraping every sidecar of the services' namespaces on Envoy's own port ({@link ENVOY_METRICS}), found by the
 * port the injected container declares, labelled like the services' own job (`namespace`, `pod`, `app`, `version`).
 * The gate's and the SLO rules' `istio_*` series come from here only: the merged endpoint the services' job scrapes
 * also carries what the application serves on its own `/metrics`, where a service could report requests for itself.
 */
export function sidecarsScrapeConfig(job: string, namespaces: readonly string[]): ScrapeConfig {
  return {
    job_name: job,
    metrics_path: ENVOY_METRICS.path,
    kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [...namespaces] } }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: ENVOY_METRICS.declaredPort, action: 'keep' },
      ...servicePodRelabels(),
    ],
    metric_relabel_configs: SERVICE_CLUSTER_LABEL_RELABELS,
  };
}

/**
 * The scrape jobs of the services' namespaces: the services' own metrics through Istio's merged endpoint (STRICT mTLS
 * refuses a plaintext scrape of their own port), and their sidecars' on Envoy's port, where the application cannot
 * add to them. None without a namespace.
 */
export function serviceScrapeConfigs(namespaces: readonly string[]): ScrapeConfig[] {
  if (namespaces.length === 0) return [];
  return [annotatedPodsScrapeConfig(SERVICE_SCRAPE_JOBS.services, namespaces), sidecarsScrapeConfig(SERVICE_SCRAPE_JOBS.sidecars, namespaces)];
}
