import { Duration, Lazy, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, checkMinSize, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { goDuration, promBytes } from '../private/units';
import {
  containerSecurityContext, checksum, httpProbe, podLabels, podSecurityContext, resourceRequirements, selectorLabels,
} from './private/workload';
import {
  AlertmanagerTargetConfig, PodScrapeTarget, PrometheusConfig, RuleFile, RuleGroup, ScrapeConfig, kubeletScrapeConfig, podScrapeConfig,
} from './prometheus-config';
import { ContainerResources, WorkloadPeer } from './types';
import { ServicePort, bindClusterRole, containerPorts, dataVolumeClaim, endpoints, service, serviceAccount } from './private/component';
import { toYaml } from '../private/yaml';

/** Properties of {@link Prometheus}. */
export interface PrometheusProps {
  /**
   * Prometheus image, pinned by tag or digest.
   * @default IMAGES.prometheus
   */
  readonly image?: string;
  /**
   * How long samples are kept.
   * @default Duration.days(15)
   */
  readonly retention?: Duration;
  /**
   * Size of the data volume. Retention by size is set to 85 % of it, so old blocks go before the volume fills.
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
   * Exemplars kept in memory (exemplar storage is always on: it links metrics to traces).
   * @default 100000
   */
  readonly maxExemplars?: number;
  /**
   * CPU and memory of the Prometheus container.
   * @default - 200m/1 CPU, 512Mi/2Gi
   */
  readonly resources?: ContainerResources;
}

const HTTP = { name: 'http', port: 9090, appProtocol: 'http' } as const satisfies ServicePort;
const PORT = HTTP.port;
const NAME = 'prometheus';
const CONFIG_DIR = '/etc/prometheus';
const DATA_DIR = '/prometheus';
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Prometheus as a single-replica StatefulSet with a PersistentVolume, Kubernetes service discovery, the remote-write
 * receiver (Tempo's metrics-generator and the Collector write to it) and exemplar storage.
 *
 * One replica on purpose: the remote-write receiver and the canary gate need one consistent store. Two independent
 * replicas would each hold half of the remote-written series; high availability needs Thanos or Mimir on top.
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
  /** In-cluster base URL of the HTTP API, for Grafana and the canary gate. */
  public readonly url: string;
  /** Remote-write endpoint. */
  public readonly remoteWriteUrl: string;
  /** What Prometheus itself exposes for scraping. */
  public readonly metricsTarget: PodScrapeTarget;
  /** Prometheus's pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** Ports, for network policies. */
  public readonly ports = { http: HTTP };

  private readonly scrapeConfigs: ScrapeConfig[] = [];
  private readonly ruleGroups: RuleGroup[] = [];
  private readonly alertmanagers: AlertmanagerTargetConfig[] = [];
  /** The rules of its ClusterRole: the ClusterRole holds this array and reads it at synth, so rules added later render. */
  private readonly clusterRoleRules: k8s.PolicyRule[] = [
    { apiGroups: [''], resources: ['pods', 'services', 'endpoints'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  ];

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
    this.remoteWriteUrl = `${this.url}/api/v1/write`;
    this.metricsTarget = endpoint.metricsTarget;
    this.peer = endpoint.peer;

    const retentionSize = Size.mebibytes(Math.floor(this.volumeSize.toMebibytes() * 0.85));
    const renderConfig = (): PrometheusConfig => ({
      global: {
        scrape_interval: goDuration(this.scrapeInterval),
        evaluation_interval: goDuration(this.scrapeInterval),
        ...(props.externalLabels ? { external_labels: { ...props.externalLabels } } : {}),
      },
      rule_files: [`${CONFIG_DIR}/rules.yml`],
      ...(this.alertmanagers.length > 0 ? { alerting: { alertmanagers: [...this.alertmanagers] } } : {}),
      scrape_configs: [
        { job_name: NAME, static_configs: [{ targets: [`localhost:${PORT}`] }] },
        ...this.scrapeConfigs,
      ],
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
      data: { 'prometheus.yml': Lazy.any({ produce: configYaml }), 'rules.yml': Lazy.any({ produce: rulesYaml }) },
    });

    const svc = service(this, NAME, [HTTP]);

    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: NAME },
      spec: {
        serviceName: svc.name,
        replicas: 1,
        selector: { matchLabels: selectorLabels(NAME) },
        template: {
          metadata: {
            labels: podLabels(NAME, 'metrics'),
            annotations: { 'checksum/config': Lazy.any({ produce: () => checksum(configYaml(), rulesYaml()) }) },
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
              args: [
                `--config.file=${CONFIG_DIR}/prometheus.yml`,
                `--storage.tsdb.path=${DATA_DIR}`,
                '--web.enable-remote-write-receiver',
                '--enable-feature=exemplar-storage',
              ],
              ports: containerPorts([HTTP]),
              // WAL replay after a restart can take minutes: the startup probe keeps liveness off until it is done
              startupProbe: httpProbe('/-/ready', 'http', { periodSeconds: 10, failureThreshold: 60 }),
              readinessProbe: httpProbe('/-/ready', 'http', { periodSeconds: 10, timeoutSeconds: 3 }),
              livenessProbe: httpProbe('/-/healthy', 'http', { periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 6 }),
              resources: resourceRequirements(resources),
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'data', mountPath: DATA_DIR },
              ],
            }],
            volumes: [{ name: 'config', configMap: { name: config.name } }],
          },
        },
        volumeClaimTemplates: [dataVolumeClaim(this.volumeSize, props.storageClassName)],
      },
    });
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
    this.addScrapeConfig(kubeletScrapeConfig());
    this.clusterRoleRules.push(
      { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
    );
  }

  /**
   * Sends the alerts to the Alertmanagers at `instances` (`host:port` of each replica: Prometheus must reach every one,
   * never a load-balanced Service, or a replica that missed an alert would not know it).
   */
  public sendAlertsTo(instances: readonly string[]): void {
    if (instances.length === 0) throw validationError(this, '\'instances\' must name at least one Alertmanager');
    this.alertmanagers.push({ api_version: 'v2', static_configs: [{ targets: [...instances] }] });
  }

  /**
   * Adds a group of recording or alerting rules.
   *
   * @throws if the group name is taken or a recorded name is not a valid metric name
   */
  public addRuleGroup(group: RuleGroup): void {
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
}
