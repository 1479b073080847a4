import { Duration, Lazy, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, checkMinSize, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { goDuration, promBytes } from '../private/units';
import {
  CLIENT_TLS_KEYS, containerSecurityContext, checksum, httpProbe, podLabels, podSecurityContext, resourceRequirements, secretVolume, selectorLabels,
} from './private/workload';
import {
  AlertmanagerTargetConfig, KubernetesSdConfig, PodScrapeTarget, PrometheusConfig, RESERVED_REMOTE_WRITE_HEADERS, RemoteWriteConfig, RuleFile,
  RuleGroup, ScrapeConfig, kubeletScrapeConfig, podScrapeConfig,
} from './prometheus-config';
import { ContainerResources, WorkloadPeer } from './types';
import { DATA_VOLUME, ServicePort, bindClusterRole, containerPorts, dataVolumeClaim, endpoints, service, serviceAccount, statefulSet } from './private/component';
import { DNS_LABEL } from '../private/names';
import { toYaml } from '../private/yaml';

/** Where Prometheus answers 200 once it serves queries: its startup and readiness probes. */
const READY_PATH = '/-/ready';

/**
 * Agent mode: Prometheus scrapes its cluster and remote-writes every sample to a central store over mutual TLS, and
 * keeps only a write-ahead log until the store has them. No queries, rules or alerts: those run centrally.
 */
export interface PrometheusAgentMode {
  /** The central store's remote-write URL (https://…/api/v1/push for Mimir, …/api/v1/write for a Prometheus receiver). */
  readonly remoteWriteUrl: string;
  /**
   * Headers sent with every write, such as Mimir's tenant `X-Scope-OrgID` (no secrets).
   * @default - none
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Secret (in this namespace) with `ca.crt`, `tls.crt` and `tls.key`: the store's CA and this cluster's client
   * certificate (mutual TLS at the gateway). Mounted read-only.
   * @default - none: the store is in this cluster (`http://<service>.<namespace>.svc.cluster.local…`)
   */
  readonly clientCertificateSecret?: string;
}

/** Properties of {@link Prometheus}. */
export interface PrometheusProps {
  /**
   * Prometheus image, pinned by tag or digest.
   * @default IMAGES.prometheus
   */
  readonly image?: string;
  /**
   * How long samples are kept (server mode only: an agent keeps them until the central store has them).
   * @default Duration.days(15)
   */
  readonly retention?: Duration;
  /**
   * Size of the data volume. Retention by size is set to 85 % of it, so old blocks go before the volume fills. An agent
   * keeps its write-ahead log there, which grows while the central store is unreachable.
   * @default Size.gibibytes(10)
   */
  readonly volumeSize?: Size;
  /**
   * StorageClass of the data volume.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * Default scrape and rule-evaluation interval.
   * @default Duration.seconds(30)
   */
  readonly scrapeInterval?: Duration;
  /**
   * Labels added to every series Prometheus sends elsewhere (remote write, federation, alerts).
   * @default - none
   */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /**
   * Exemplars kept in memory (exemplar storage is always on in server mode: it links metrics to traces).
   * @default 100000
   */
  readonly maxExemplars?: number;
  /**
   * CPU and memory of the Prometheus container.
   * @default - 200m/1 CPU, 512Mi/2Gi
   */
  readonly resources?: ContainerResources;
  /**
   * Agent mode: for the application clusters of a central topology. Prometheus scrapes its cluster and remote-writes
   * everything to the central store; it has no remote-write receiver, rules, alerting or local queries, and
   * `retention` and `maxExemplars` do not apply.
   * @default - server mode: local storage, queries, rules and alerting, and the remote-write receiver
   */
  readonly agent?: PrometheusAgentMode;
}

const HTTP = { name: 'http', port: 9090, appProtocol: 'http' } as const satisfies ServicePort;
const PORT = HTTP.port;
const NAME = 'prometheus';
const CONFIG_DIR = '/etc/prometheus';
const DATA_DIR = '/prometheus';
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Where an agent mounts its client certificate Secret (beside the ConfigMap's mount, not inside it). */
const REMOTE_WRITE_TLS_DIR = '/etc/prometheus-remote-write-tls';

type KubernetesRole = KubernetesSdConfig['role'];
const DISCOVER = ['get', 'list', 'watch'];
/**
 * What Kubernetes service discovery reads for each role (Prometheus' discovery/kubernetes): the objects of the role,
 * and the pods and services an endpoints or endpoint-slice target is enriched with.
 */
const DISCOVERY_RULES: Readonly<Record<KubernetesRole, readonly k8s.PolicyRule[]>> = {
  pod: [{ apiGroups: [''], resources: ['pods'], verbs: DISCOVER }],
  service: [{ apiGroups: [''], resources: ['services'], verbs: DISCOVER }],
  endpoints: [{ apiGroups: [''], resources: ['endpoints', 'pods', 'services'], verbs: DISCOVER }],
  endpointslice: [
    { apiGroups: [''], resources: ['pods', 'services'], verbs: DISCOVER }, { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: DISCOVER },
  ],
  node: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] }],
  ingress: [{ apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: DISCOVER }],
};

/**
 * Prometheus as a single-replica StatefulSet with a PersistentVolume, Kubernetes service discovery, the remote-write
 * receiver (Tempo's metrics-generator and the Collector write to it) and exemplar storage.
 *
 * One replica on purpose: the remote-write receiver and the canary gate need one consistent store. Two independent
 * replicas would each hold half of the remote-written series; high availability needs Thanos or Mimir on top.
 *
 * With {@link PrometheusProps.agent} it runs as an agent instead: it scrapes the same way and remote-writes everything to
 * a central store, keeping only a write-ahead log on the volume.
 */
export class Prometheus extends Construct {
  /** Name of the StatefulSet, Service and ServiceAccount. */
  public readonly name = NAME;
  public readonly image: string;
  public readonly retention: Duration;
  public readonly volumeSize: Size;
  public readonly scrapeInterval: Duration;
  /** Namespace Prometheus runs in. */
  public readonly namespace: string;
  /** Whether it runs in agent mode (see {@link PrometheusProps.agent}). */
  public readonly agent: boolean;
  /**
   * In-cluster base URL of the HTTP API, for Grafana and the canary gate. An agent answers only its health, readiness
   * and metrics endpoints there: query the central store instead.
   */
  public readonly url: string;
  /** Answers 200 once Prometheus serves queries (its write-ahead log replayed; its readiness probe): `<url>/-/ready`. */
  public readonly readyUrl: string;
  /** What Prometheus itself exposes for scraping. */
  public readonly metricsTarget: PodScrapeTarget;
  /** Prometheus's pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** Ports, for network policies. */
  public readonly ports = { http: HTTP };

  private readonly receiverUrl: string;
  private readonly scrapeConfigs: ScrapeConfig[] = [];
  private readonly ruleGroups: RuleGroup[] = [];
  private readonly alertmanagers: AlertmanagerTargetConfig[] = [];
  /**
   * The rules of its ClusterRole: the ClusterRole holds this array and reads it at synth, so rules added later render.
   * Discovery's come from the scrape jobs' roles ({@link DISCOVERY_RULES}), so that Prometheus may read what it
   * discovers and nothing more.
   */
  private readonly clusterRoleRules: k8s.PolicyRule[] = [];

  public constructor(scope: Construct, id: string, props: PrometheusProps = {}) {
    super(scope, id);
    this.image = props.image ?? IMAGES.prometheus;
    this.retention = props.retention ?? Duration.days(15);
    this.volumeSize = props.volumeSize ?? Size.gibibytes(10);
    this.scrapeInterval = props.scrapeInterval ?? Duration.seconds(30);
    const maxExemplars = props.maxExemplars ?? 100_000;
    const resources = props.resources ?? {
      cpuRequestMillis: 200, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(512), memoryLimit: Size.gibibytes(2),
    };

    const namespace = chartNamespace(this, 'Prometheus');
    this.namespace = namespace;
    this.agent = props.agent !== undefined;
    const remoteWrite = props.agent ? this.agentRemoteWrite(props.agent) : undefined;
    if (props.agent && props.retention !== undefined) {
      throw validationError(this, '\'retention\' does not apply in agent mode (the central store keeps the samples); remove it');
    }
    if (props.agent && props.maxExemplars !== undefined) {
      throw validationError(this, '\'maxExemplars\' does not apply in agent mode (it has no exemplar storage); remove it');
    }
    if (this.retention.toSeconds() < 7200) {
      throw validationError(this, `'retention' must be at least 2h (one TSDB block), got ${show(this.retention)}`);
    }
    checkMinSize(this, 'volumeSize', this.volumeSize, Size.gibibytes(1));
    const interval = this.scrapeInterval.toMilliseconds();
    if (interval < 1000 || interval > 300_000 || interval % 1000 !== 0) {
      throw validationError(this, `'scrapeInterval' must be whole seconds from 1s to 5m, got ${show(this.scrapeInterval)}`);
    }
    if (!Number.isInteger(maxExemplars) || maxExemplars < 0) {
      throw validationError(this, `'maxExemplars' must be a non-negative integer, got ${maxExemplars}`);
    }

    const endpoint = endpoints(NAME, namespace, HTTP);
    this.url = endpoint.url(HTTP);
    this.readyUrl = `${this.url}${READY_PATH}`;
    this.receiverUrl = `${this.url}/api/v1/write`;
    this.metricsTarget = endpoint.metricsTarget;
    this.peer = endpoint.peer;

    const retentionSize = Size.mebibytes(Math.floor(this.volumeSize.toMebibytes() * 0.85));
    const scrapeConfigs = (): ScrapeConfig[] => [
      // its own series name its pod as discovered targets' do (one replica: `<name>-0`), so that the alerts on it
      // (remote writes failing, deletions by size) say which Prometheus
      { job_name: NAME, static_configs: [{ targets: [`localhost:${PORT}`], labels: { namespace, pod: `${NAME}-0` } }] },
      ...this.scrapeConfigs,
    ];
    // an agent refuses rule_files and alerting (config.LoadFile with agentMode) and has no TSDB: render neither
    const renderAgentConfig = (rw: RemoteWriteConfig): PrometheusConfig => ({
      global: {
        scrape_interval: goDuration(this.scrapeInterval),
        ...(props.externalLabels ? { external_labels: { ...props.externalLabels } } : {}),
      },
      scrape_configs: scrapeConfigs(),
      remote_write: [rw],
    });
    const renderConfig = (): PrometheusConfig => remoteWrite ? renderAgentConfig(remoteWrite) : ({
      global: {
        scrape_interval: goDuration(this.scrapeInterval),
        evaluation_interval: goDuration(this.scrapeInterval),
        ...(props.externalLabels ? { external_labels: { ...props.externalLabels } } : {}),
      },
      rule_files: [`${CONFIG_DIR}/rules.yml`],
      ...(this.alertmanagers.length > 0 ? { alerting: { alertmanagers: [...this.alertmanagers] } } : {}),
      scrape_configs: scrapeConfigs(),
      storage: {
        tsdb: { retention: { time: goDuration(this.retention), size: promBytes(retentionSize) } },
        exemplars: { max_exemplars: maxExemplars },
      },
    });
    const renderRules = (): RuleFile => ({ groups: [...this.ruleGroups] });
    const configYaml = (): string => toYaml(renderConfig());
    const rulesYaml = (): string => toYaml(renderRules());

    // service discovery reads pods and endpoints from the API server
    const account = serviceAccount(this, NAME, true);
    bindClusterRole(this, namespace, NAME, this.clusterRoleRules);

    const config = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${NAME}-config` },
      data: {
        'prometheus.yml': Lazy.any({ produce: configYaml }),
        ...(this.agent ? {} : { 'rules.yml': Lazy.any({ produce: rulesYaml }) }),
      },
    });
    const configChecksum = (): string => this.agent ? checksum(configYaml()) : checksum(configYaml(), rulesYaml());

    const svc = service(this, NAME, [HTTP]);

    statefulSet(this, {
      metadata: { name: NAME },
      spec: {
        serviceName: svc.name,
        replicas: 1,
        selector: { matchLabels: selectorLabels(NAME) },
        template: {
          metadata: {
            labels: podLabels(NAME, 'metrics'),
            annotations: { 'checksum/config': Lazy.any({ produce: configChecksum }) },
          },
          spec: {
            serviceAccountName: account.name,
            automountServiceAccountToken: true,
            securityContext: podSecurityContext({ user: 65534, group: 65534 }),
            // a clean shutdown writes the head block; killing it early means a WAL replay on start
            terminationGracePeriodSeconds: 120,
            containers: [{
              name: NAME,
              image: this.image,
              args: this.agent ? [
                // Prometheus 3.x: `--agent` (2.x: `--enable-feature=agent`). Agent mode exits (code 3) on any
                // server-only flag, `--storage.tsdb.*` included, and stores under `--storage.agent.path`; see
                // cmd/prometheus/main.go (`serverOnlyFlag`, `agentMode`) at
                // https://github.com/prometheus/prometheus/blob/v3.14.0/cmd/prometheus/main.go. It would accept
                // `--web.enable-remote-write-receiver`, but an agent is no store; exemplar storage is a TSDB feature
                `--config.file=${CONFIG_DIR}/prometheus.yml`,
                '--agent',
                `--storage.agent.path=${DATA_DIR}`,
              ] : [
                `--config.file=${CONFIG_DIR}/prometheus.yml`,
                `--storage.tsdb.path=${DATA_DIR}`,
                '--web.enable-remote-write-receiver',
                '--enable-feature=exemplar-storage',
              ],
              ports: containerPorts([HTTP]),
              // WAL replay after a restart can take minutes: the startup probe keeps liveness off until it is done
              startupProbe: httpProbe(READY_PATH, 'http', { periodSeconds: 10, failureThreshold: 60 }),
              readinessProbe: httpProbe(READY_PATH, 'http', { periodSeconds: 10, timeoutSeconds: 3 }),
              livenessProbe: httpProbe('/-/healthy', 'http', { periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 6 }),
              resources: resourceRequirements(resources),
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: DATA_VOLUME, mountPath: DATA_DIR },
                ...(props.agent?.clientCertificateSecret ? [{ name: 'remote-write-tls', mountPath: REMOTE_WRITE_TLS_DIR, readOnly: true }] : []),
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: config.name } },
              ...(props.agent?.clientCertificateSecret ? [secretVolume('remote-write-tls', props.agent.clientCertificateSecret, CLIENT_TLS_KEYS)] : []),
            ],
          },
        },
        volumeClaimTemplates: [dataVolumeClaim(this.volumeSize, props.storageClassName)],
      },
    });
  }

  /**
   * Remote-write endpoint of the receiver, for Tempo's metrics-generator and the Collector.
   *
   * @throws in agent mode: an agent has no receiver
   */
  public get remoteWriteUrl(): string {
    if (this.agent) {
      throw validationError(this, 'an agent has no remote-write receiver; write to the central store (\'agent.remoteWriteUrl\') instead');
    }
    return this.receiverUrl;
  }

  /**
   * Adds a scrape job.
   *
   * @throws if a job with the same name exists: Prometheus refuses duplicate job names
   */
  public addScrapeConfig(config: ScrapeConfig): void {
    const names = [NAME, ...this.scrapeConfigs.map(c => c.job_name)];
    if (names.includes(config.job_name)) {
      throw validationError(this, `scrape job ${show(config.job_name)} already exists; job names must be unique`);
    }
    this.scrapeConfigs.push(config);
    for (const { role } of config.kubernetes_sd_configs ?? []) this.grant(DISCOVERY_RULES[role]);
  }

  /** Adds rules to the ClusterRole, each once. */
  private grant(rules: readonly k8s.PolicyRule[]): void {
    const granted = new Set(this.clusterRoleRules.map(r => JSON.stringify(r)));
    this.clusterRoleRules.push(...rules.filter(rule => !granted.has(JSON.stringify(rule))));
  }

  /** Scrapes the pods of a workload, found by Kubernetes service discovery. */
  public scrape(target: PodScrapeTarget): void {
    this.addScrapeConfig(podScrapeConfig(target));
  }

  /**
   * Scrapes every node's kubelet (job `kubelet`, see {@link kubeletScrapeConfig}) for the PersistentVolume usage
   * series `kubelet_volume_stats_*`, and lets the ServiceAccount list and watch nodes and read their metrics
   * (`nodes/metrics`, never `nodes/proxy`, which would open the kubelet's exec and logs). The kubelets are outside the
   * pod network: Prometheus needs egress to the nodes on 10250 (the `kubelet` dependency of the environment).
   *
   * @throws if the kubelets are scraped already
   */
  public scrapeKubelets(): void {
    // role node: list and watch nodes (DISCOVERY_RULES); their metrics through the API server's node proxy for metrics
    this.addScrapeConfig(kubeletScrapeConfig());
    this.grant([{ apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] }]);
  }

  /**
   * Sends the alerts to the Alertmanagers at `instances` (`host:port` of each replica: Prometheus must reach every one,
   * never a load-balanced Service, or a replica that missed an alert would not know it).
   *
   * @throws in agent mode: an agent sends no alerts
   */
  public sendAlertsTo(instances: readonly string[]): void {
    if (this.agent) {
      throw validationError(this, 'an agent sends no alerts (Prometheus refuses \'alerting\' in agent mode); alert from the central store');
    }
    if (instances.length === 0) throw validationError(this, '\'instances\' must name at least one Alertmanager');
    this.alertmanagers.push({ api_version: 'v2', static_configs: [{ targets: [...instances] }] });
  }

  /**
   * Adds a group of recording or alerting rules.
   *
   * @throws if the group name is taken, a recorded name is not a valid metric name, or in agent mode
   */
  public addRuleGroup(group: RuleGroup): void {
    if (this.agent) {
      throw validationError(this, `an agent evaluates no rules (Prometheus refuses 'rule_files' in agent mode); add rule group ${show(group.name)} to the central store`);
    }
    if (this.ruleGroups.some(g => g.name === group.name)) {
      throw validationError(this, `rule group ${show(group.name)} already exists; group names must be unique`);
    }
    for (const rule of group.rules) {
      if ('record' in rule && !METRIC_NAME.test(rule.record)) {
        throw validationError(this, `recording rule name must match ${METRIC_NAME.source}, got ${show(rule.record)}`);
      }
    }
    this.ruleGroups.push(group);
  }

  /**
   * Validates agent mode and renders its `remote_write` block, the TLS files read from the Secret's mount.
   *
   * @throws if the URL is not https or carries credentials, the Secret name is not a DNS label, or a header is one
   *   Prometheus refuses
   */
  private agentRemoteWrite(agent: PrometheusAgentMode): RemoteWriteConfig {
    const url = URL.canParse(agent.remoteWriteUrl) ? new URL(agent.remoteWriteUrl) : undefined;
    const secret = agent.clientCertificateSecret;
    if (secret === undefined) {
      // a store in this cluster: reached over the cluster's network, no certificate
      if (url?.protocol !== 'http:' || !url.hostname.endsWith('.svc.cluster.local') || url.username !== '' || url.password !== '') {
        throw validationError(this, `'agent.remoteWriteUrl' must be an in-cluster http://<service>.<namespace>.svc.cluster.local URL without 'agent.clientCertificateSecret', got ${show(agent.remoteWriteUrl)}`);
      }
    } else if (url?.protocol !== 'https:' || url.username !== '' || url.password !== '') {
      throw validationError(this, `'agent.remoteWriteUrl' must be an https:// URL without credentials (the client certificate authenticates), got ${show(agent.remoteWriteUrl)}`);
    }
    if (secret !== undefined && !DNS_LABEL.test(secret)) {
      throw validationError(this, `'agent.clientCertificateSecret' must be a Secret name (a DNS label), got ${show(agent.clientCertificateSecret)}`);
    }
    const headers = agent.headers ?? {};
    for (const header of Object.keys(headers)) {
      if (RESERVED_REMOTE_WRITE_HEADERS.includes(header.toLowerCase())) {
        throw validationError(this, `'agent.headers' must not set ${show(header)}: Prometheus reserves it and refuses the config`);
      }
    }
    return {
      url: agent.remoteWriteUrl,
      // the services' exemplars (trace ids on histogram buckets) reach the store, for the metric-to-trace links
      send_exemplars: true,
      ...(Object.keys(headers).length > 0 ? { headers: { ...headers } } : {}),
      ...(secret !== undefined ? {
        tls_config: {
          ca_file: `${REMOTE_WRITE_TLS_DIR}/ca.crt`,
          cert_file: `${REMOTE_WRITE_TLS_DIR}/tls.crt`,
          key_file: `${REMOTE_WRITE_TLS_DIR}/tls.key`,
        },
      } : {}),
    };
  }
}
