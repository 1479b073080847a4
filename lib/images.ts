/**
 * Every container image the manifests use, pinned by exact tag.
 *
 * One place to review and bump: each construct takes an `image` prop whose default comes from here, and the policy
 * test fails on an image without a tag or with `latest`. Versions and reasons are listed in the README.
 */
export const IMAGES = {
  /** Prometheus 3.x: remote-write receiver and exemplar storage, config-file retention (3.8+). */
  prometheus: 'quay.io/prometheus/prometheus:v3.14.0',
  /** Grafana 13.x. */
  grafana: 'docker.io/grafana/grafana:13.2.0',
} as const;
