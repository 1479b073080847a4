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
  /** Mimir 3.2.x, monolithic (`-target=all`): the multi-tenant metrics store with the ruler. */
  mimir: 'docker.io/grafana/mimir:3.2.1',
  /** Promtail: end of life since 2026-03-02; 3.6.11 is the last image Grafana built (see the README for the migration). */
  promtail: 'docker.io/grafana/promtail:3.6.11',
  /**
   * Grafana Alloy v1.21.x (v1.21.2, 2026-10-22, the newest v1.x release): Promtail's successor, shipping logs read
   * through the Kubernetes API (`loki.source.kubernetes`, generally available), so it needs no host access.
   */
  alloy: 'docker.io/grafana/alloy:v1.21.2',
  /** Tempo 3.0.x, monolithic (its 3.0 block set: no `ingester`/`compactor` blocks). */
  tempo: 'docker.io/grafana/tempo:3.0.3',
  /** OpenTelemetry Collector, contrib distribution (k8s_attributes, prometheus_remote_write). */
  collector: 'docker.io/otel/opentelemetry-collector-contrib:0.159.0',
  /** kube-state-metrics v2.20.x (client-go v0.36): Deployment, pod and custom-resource-state metrics. */
  kubeStateMetrics: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0',
  /**
   * Istio's proxy 1.30.3 (the release of the CRDs): the telemetry gateway's own Envoy with `exposure` "loadBalancer",
   * installed by gateway injection; upgrade it with istiod.
   */
  istioProxy: 'docker.io/istio/proxyv2:1.30.3',
  /** Kiali 2.30.x: built against Istio 1.30's client (istio.io/client-go v1.30.1), config keys of Kiali 2.x. */
  kiali: 'quay.io/kiali/kiali:v2.30.0',
} as const;

/**
 * Images this repository builds itself, pinned by exact tag. Their repository is this project's registry
 * (`ghcr.io/<owner>/…`, the images workflow pushes there): a fork points them at its own, like the services' images in
 * `services/*.yaml`. Listed apart from {@link IMAGES}, the third-party images, in the README's image table too.
 */
export const BUILT_IMAGES = {
  /**
   * The SLO gate's in-cluster loop (the canary-gate CronJob): Node.js, git and OpenSSH with this repository's npm
   * dependencies, running `delivery/gate-tick.sh`. Built by the images workflow from `delivery/Dockerfile`, which pushes
   * it tagged with its commit and, once and from main only, with the tag pinned here; a change of what goes into the image
   * ({@link CANARY_GATE_INPUTS}) needs a new build and a new tag here. The tag ends with `-build.` and the first 12 hex
   * digits of the SHA-256 of those files, which a test checks: a lockfile change cannot merge with the old tag pinned
   * (a tick refuses a checkout whose lockfile is not its image's, which would stop the loop in every cluster, roll backs
   * included), and a fix of the tick script cannot merge without reaching the clusters.
   */
  canaryGate: 'ghcr.io/example/obs-canary-gate:0.1.0-build.ad1de3fb4dfa',
} as const;

/**
 * The files the gate image is built from (`delivery/Dockerfile`, and what its `.dockerignore` lets into the build
 * context), in the order their hash takes them: each file's path, a NUL, its content and a NUL.
 */
export const CANARY_GATE_INPUTS: readonly string[] = [
  'package.json', 'package-lock.json', '.npmrc', 'delivery/Dockerfile', 'delivery/Dockerfile.dockerignore', 'delivery/gate-tick.sh',
];
