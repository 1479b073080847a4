/**
 * Every container image the manifests use, pinned by exact tag.
 *
 * One place to review and bump: each construct takes an `image` prop whose default comes from here, and the policy
 * test fails on an image without a tag or with `latest`. Versions and reasons are listed in the README.
 */
export const IMAGES = {
  /** Prometheus 3.x: remote-write receiver and exemplar storage, config-file retention (3.8+). */
  prometheus: 'quay.io/prometheus/prometheus:v3.15.0',
  /** Alertmanager 0.35.x: `url_file` for webhooks (0.26+), `proxy_from_environment` for the receivers' proxy. */
  alertmanager: 'quay.io/prometheus/alertmanager:v0.35.1',
  /** Grafana 13.x. */
  grafana: 'docker.io/grafana/grafana:13.2.3',
  /** Loki 3.7.x, monolithic. */
  loki: 'docker.io/grafana/loki:3.7.8',
  /** Promtail: end of life since 2026-03-02; 3.6.11 is the last image Grafana built (see the README for the migration). */
  promtail: 'docker.io/grafana/promtail:3.6.11',
  /** Tempo 3.0.x, monolithic (its 3.0 block set: no `ingester`/`compactor` blocks). */
  tempo: 'docker.io/grafana/tempo:3.0.3',
  /** OpenTelemetry Collector, contrib distribution (k8s_attributes, prometheus_remote_write). */
  collector: 'docker.io/otel/opentelemetry-collector-contrib:0.159.0',
  /** kube-state-metrics v2.20.x (client-go v0.36): Deployment, pod and custom-resource-state metrics. */
  kubeStateMetrics: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0',
} as const;
