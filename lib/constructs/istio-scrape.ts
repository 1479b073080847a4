import { ScrapeConfig, podScrapeConfig } from './prometheus-config';
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

/** The ingress gateway's merged metrics (the agent's and Envoy's), and the port its pods declare for Envoy's. */
export const GATEWAY_METRICS = { port: 15020, path: '/stats/prometheus', declaredPort: 'http-envoy-prom' } as const;

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
