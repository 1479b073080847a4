import { APP_LABEL, CLUSTER_LABEL, NAMESPACE_LABEL, SCRAPED_OBSERVER_METRIC_NAMES, TRACK_LABEL } from '../slo/vocabulary';

/**
 * The part of the Prometheus configuration file this project renders, typed so that a misspelt key fails `tsc`.
 * Keys keep Prometheus's own snake_case spelling: the objects are serialized as they are.
 *
 * @see https://prometheus.io/docs/prometheus/latest/configuration/configuration/
 */

/** A relabelling step. */
export interface RelabelConfig {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: 'replace' | 'keep' | 'drop' | 'keepequal' | 'dropequal' | 'labelmap' | 'labeldrop' | 'labelkeep'
  | 'hashmod' | 'lowercase' | 'uppercase';
}

/** Kubernetes service discovery. */
export interface KubernetesSdConfig {
  readonly role: 'pod' | 'service' | 'endpoints' | 'endpointslice' | 'node' | 'ingress';
  readonly namespaces?: { readonly names: readonly string[] };
  /** Server-side label and field selectors: fewer objects watched than relabel filtering alone. */
  readonly selectors?: ReadonlyArray<{ readonly role: KubernetesSdConfig['role']; readonly label?: string; readonly field?: string }>;
}

/** A fixed list of targets. */
export interface StaticConfig {
  readonly targets: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

/** A list of targets read from files (used by the tests to check configs offline). */
export interface FileSdConfig {
  readonly files: readonly string[];
}

/** Credentials sent in the `Authorization` header of each scrape. */
export interface ScrapeAuthorization {
  /** @default 'Bearer' */
  readonly type?: string;
  /** A file holding the credentials, re-read at each scrape (a projected ServiceAccount token rotates). */
  readonly credentials_file?: string;
}

/** TLS settings of a scrape or a remote write. */
export interface TlsConfig {
  readonly ca_file?: string;
  /** Client certificate, for mutual TLS; `key_file` is its key. */
  readonly cert_file?: string;
  readonly key_file?: string;
  readonly server_name?: string;
  readonly insecure_skip_verify?: boolean;
}

/** One scrape job. */
export interface ScrapeConfig {
  readonly job_name: string;
  readonly scrape_interval?: string;
  readonly scrape_timeout?: string;
  readonly metrics_path?: string;
  readonly scheme?: 'http' | 'https';
  readonly honor_labels?: boolean;
  readonly authorization?: ScrapeAuthorization;
  readonly tls_config?: TlsConfig;
  readonly kubernetes_sd_configs?: readonly KubernetesSdConfig[];
  readonly static_configs?: readonly StaticConfig[];
  readonly file_sd_configs?: readonly FileSdConfig[];
  readonly relabel_configs?: readonly RelabelConfig[];
  readonly metric_relabel_configs?: readonly RelabelConfig[];
}

/** A recording rule: `record` is the new series name, `expr` the PromQL it stores. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** An alerting rule. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A group of rules evaluated together. */
export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: ReadonlyArray<RecordingRule | AlertingRule>;
}

/** A rule file: what `promtool check rules` reads. */
export interface RuleFile {
  readonly groups: readonly RuleGroup[];
}

/** Alertmanagers Prometheus sends its alerts to: every instance of a cluster, each deduplicating with its peers. */
export interface AlertmanagerTargetConfig {
  readonly api_version: 'v2';
  readonly scheme?: 'http' | 'https';
  readonly timeout?: string;
  readonly static_configs?: readonly StaticConfig[];
  readonly kubernetes_sd_configs?: readonly KubernetesSdConfig[];
  readonly relabel_configs?: readonly RelabelConfig[];
}

/** An endpoint Prometheus sends every sample to. */
export interface RemoteWriteConfig {
  readonly url: string;
  readonly send_exemplars?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
  readonly tls_config?: TlsConfig;
}

/**
 * Headers Prometheus refuses in `remote_write.headers` (lower-case): the `reservedHeaders` of its `config/config.go`,
 * plus `authorization`, which must go through the `authorization` or `basic_auth` blocks (`validateHeaders`).
 *
 * @see https://github.com/prometheus/prometheus/blob/v3.14.0/config/config.go
 */
export const RESERVED_REMOTE_WRITE_HEADERS: readonly string[] = [
  'authorization', 'host', 'content-encoding', 'content-length', 'content-type', 'user-agent', 'connection', 'keep-alive',
  'proxy-authenticate', 'proxy-authorization', 'www-authenticate', 'accept-encoding', 'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256',
];

/**
 * The main configuration file. An agent (`--agent`) has no `rule_files`, `alerting` or `storage.tsdb`: Prometheus
 * refuses the first two in agent mode and ignores the third.
 */
export interface PrometheusConfig {
  readonly global: {
    readonly scrape_interval: string;
    readonly scrape_timeout?: string;
    readonly evaluation_interval?: string;
    readonly external_labels?: Readonly<Record<string, string>>;
  };
  readonly rule_files?: readonly string[];
  readonly alerting?: { readonly alertmanagers: readonly AlertmanagerTargetConfig[] };
  readonly scrape_configs: readonly ScrapeConfig[];
  readonly remote_write?: readonly RemoteWriteConfig[];
  readonly storage?: {
    readonly tsdb?: { readonly retention?: { readonly time?: string; readonly size?: string } };
    readonly exemplars?: { readonly max_exemplars: number };
  };
}

/** Pods to scrape, found by Kubernetes service discovery: a workload hands this to Prometheus to be scraped. */
export interface PodScrapeTarget {
  /** The `job` label of the scraped series. */
  readonly job: string;
  /** Namespace of the pods. */
  readonly namespace: string;
  /** Labels the pods carry (matched server-side). */
  readonly selector: Readonly<Record<string, string>>;
  /** Name of the container port that serves metrics. */
  readonly port: string;
  /** HTTP path of the metrics. @default '/metrics' */
  readonly path?: string;
}

/**
 * A scrape job for pods found by Kubernetes service discovery, keeping only the named metrics port and labelling each
 * series with `namespace`, `pod` and `node`.
 */
export function podScrapeConfig(target: PodScrapeTarget): ScrapeConfig {
  const label = Object.entries(target.selector).map(([k, v]) => `${k}=${v}`).join(',');
  return {
    job_name: target.job,
    metrics_path: target.path ?? '/metrics',
    kubernetes_sd_configs: [{
      role: 'pod',
      namespaces: { names: [target.namespace] },
      selectors: [{ role: 'pod', label }],
    }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: target.port, action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed', action: 'drop' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
    ],
  };
}

/**
 * A scrape job for every pod of a namespace that asks to be scraped with the `prometheus.io/scrape`, `port` and
 * `path` annotations. In an Istio namespace the sidecar injector rewrites those annotations to the agent's merged
 * endpoint (`:15020/stats/prometheus`: the app's metrics and the sidecar's `istio_*` in one scrape), which is how
 * Prometheus, outside the mesh, scrapes pods that only accept mutual TLS on their own ports. Series are labelled with
 * `namespace`, `pod`, `app` and `version` (the pod's `app` and `version` labels: the service and its track).
 */
export function annotatedPodsScrapeConfig(job: string, namespaces: readonly string[]): ScrapeConfig {
  return {
    job_name: job,
    kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [...namespaces] } }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], regex: '(.+)', target_label: '__metrics_path__' },
      // every container port of a pod becomes the same target here, which Prometheus then scrapes once
      {
        source_labels: ['__meta_kubernetes_pod_ip', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
        regex: '(.+);(\\d+)', replacement: '$1:$2', target_label: '__address__',
      },
      ...servicePodRelabels(),
    ],
    // the sidecar's series come from Envoy's own port (sidecarsScrapeConfig in istio-scrape.ts): here they would be
    // the same series again, and whatever the application served under their names beside them
    metric_relabel_configs: [{ source_labels: ['__name__'], regex: SCRAPED_OBSERVER_METRIC_NAMES, action: 'drop' }, ...SERVICE_CLUSTER_LABEL_RELABELS],
  };
}

/**
 * The relabelling of a services' pod target: running pods only, labelled with `namespace`, `pod`, `app` and `version`
 * (the pod's `app` and `version` labels: the service and its track).
 */
export function servicePodRelabels(): RelabelConfig[] {
  return [
    { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed', action: 'drop' },
    { source_labels: ['__meta_kubernetes_namespace'], target_label: NAMESPACE_LABEL },
    { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    { source_labels: [`__meta_kubernetes_pod_label_${APP_LABEL}`], target_label: APP_LABEL },
    // the track from the pod, so that a service's own metrics carry it whether or not the service labels them
    { source_labels: [`__meta_kubernetes_pod_label_${TRACK_LABEL}`], regex: '(.+)', target_label: TRACK_LABEL },
  ];
}

/**
 * A service's own `cluster` label (its database's, its Kafka's) becomes `exported_cluster`: an external label never
 * replaces a scraped one, so in a central store the series would be that cluster's and not the application
 * cluster's, and the gate, the SLO rules and the dashboards, which select `cluster="<application cluster>"`, would
 * lose them (or mix them into another cluster of that name).
 */
export const SERVICE_CLUSTER_LABEL_RELABELS: readonly RelabelConfig[] = [
  { source_labels: [CLUSTER_LABEL], regex: '(.+)', target_label: `exported_${CLUSTER_LABEL}` },
  { regex: CLUSTER_LABEL, action: 'labeldrop' },
];

/** Where Kubernetes mounts a pod's ServiceAccount token and the cluster's CA bundle. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The job name of {@link kubeletScrapeConfig}. */
export const KUBELET_JOB = 'kubelet';

/** The metrics kept of each kubelet's `/metrics`: the PersistentVolume usage the volume alert reads. */
export const KUBELET_KEPT_METRICS = 'kubelet_volume_stats_.*';

/**
 * A scrape job for every node's kubelet: found by node discovery on its `InternalIP` and the kubelet's port (10250,
 * from the node's status), over HTTPS with the pod's ServiceAccount token, which the kubelet authorizes as `get` on
 * `nodes/metrics`. Only the `kubelet_volume_stats_*` series are kept: the kubelet's own metrics run to thousands of
 * series per node and nothing here reads them. Series are labelled with `node`.
 */
export function kubeletScrapeConfig(): ScrapeConfig {
  return {
    job_name: KUBELET_JOB,
    scheme: 'https',
    metrics_path: '/metrics',
    authorization: { credentials_file: `${SERVICE_ACCOUNT_DIR}/token` },
    tls_config: {
      ca_file: `${SERVICE_ACCOUNT_DIR}/ca.crt`,
      // kubelets serve a self-signed certificate unless `serverTLSBootstrap` is on (kubeadm, and so kind and
      // minikube, leave it off), and the target is an IP address: verification fails on most clusters, which is why
      // kube-prometheus skips it by default too. Where the cluster CA signs the kubelets' certificates, drop this
      // line and ca_file verifies them. The token goes only where the network policy lets Prometheus connect (the
      // nodes' range, port 10250) and grants nothing but discovery reads and nodes/metrics
      insecure_skip_verify: true,
    },
    kubernetes_sd_configs: [{ role: 'node' }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' },
    ],
    metric_relabel_configs: [
      { source_labels: ['__name__'], regex: KUBELET_KEPT_METRICS, action: 'keep' },
    ],
  };
}
