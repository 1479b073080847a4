import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { toYaml } from '../private/yaml';
import { CLUSTER_STATE_METRICS, POD_HASH_ANNOTATION, WEIGHTED_ROUTE } from '../slo/cluster-state';
import { PIPELINE } from '../slo/vocabulary';
import { CustomResourceStateConfig, VIRTUAL_SERVICE_GVK, virtualServiceWeightsConfig } from './kube-state-metrics-config';
import { PodScrapeTarget, ScrapeConfig, podScrapeConfig } from './prometheus-config';
import { ServicePort, bindClusterRole, containerPorts, endpoints, service, serviceAccount } from './private/component';
import {
  checksum, containerSecurityContext, goMemLimitEnv, httpProbe, podLabels, podSecurityContext, resourceRequirements, selectorLabels,
} from './private/workload';
import { ContainerResources, WorkloadPeer } from './types';
import { DNS_LABEL } from '../private/names';

/** Properties of {@link KubeStateMetrics}. */
export interface KubeStateMetricsProps {
  /**
   * kube-state-metrics image, pinned by tag or digest.
   * @default IMAGES.kubeStateMetrics
   */
  readonly image?: string;
  /**
   * Namespaces whose Deployments, ReplicaSets, pods and VirtualServices are exported (`--namespaces`): the services'.
   * @default - every namespace
   */
  readonly namespaces?: readonly string[];
  /**
   * Namespaces whose CronJobs' last success, creation and suspension are exported as well (`CanaryGateStalled` reads
   * the gate's). With `namespaces` set they join it, and the scrape drops what else is exported of them (the gate's
   * Job pods, one per tick, would otherwise be new series every tick); without, every namespace's CronJobs are exported.
   * @default - no CronJobs
   */
  readonly cronJobNamespaces?: readonly string[];
  /**
   * Names of the VirtualServices' HTTP routes whose destination weights are exported.
   * @default [WEIGHTED_ROUTE]
   */
  readonly routes?: readonly string[];
  /**
   * CPU and memory of the container.
   * @default - 50m/250m CPU, 64Mi/256Mi
   */
  readonly resources?: ContainerResources;
}

const NAME = 'kube-state-metrics';
const PORTS = {
  metrics: { name: 'http-metrics', port: 8080, appProtocol: 'http' },
  telemetry: { name: 'telemetry', port: 8081, appProtocol: 'http' },
} as const satisfies Record<string, ServicePort>;
/** The resources exported: Deployments, and the ReplicaSets and pods that join a pod's image to its Deployment. */
const RESOURCES = ['deployments', 'replicasets', 'pods'] as const;
/** What is exported of CronJobs, with `cronJobNamespaces`. */
const CRON_JOB_METRICS = [PIPELINE.cronJobLastSuccess, PIPELINE.cronJobCreated, PIPELINE.cronJobSuspended] as const;
const CONFIG_DIR = '/etc/kube-state-metrics';
const CRS_FILE = 'custom-resource-state.yaml';
/** The target labels {@link podScrapeConfig} adds that name the scraped pod: here they would name the objects' instead. */
const TARGET_LABELS = ['namespace', 'pod', 'node'];

/**
 * kube-state-metrics: the state of the services' Deployments, of their pods' images and of their VirtualServices'
 * route weights, as metrics, so that a query can tell what the cluster actually runs (lib/slo/cluster-state.ts).
 *
 * It exports only what those queries read (`--resources`, `--metric-allowlist`), with read-only RBAC on exactly those
 * resources: `list` and `watch` (what its informers do) on Deployments, ReplicaSets, pods and VirtualServices, and on
 * CustomResourceDefinitions, which the custom-resource-state feature watches to find the VirtualService kind; with
 * `cronJobNamespaces`, CronJobs too (the gate's loop).
 *
 * Prometheus scrapes it with {@link scrapeConfig}: its series carry `namespace` and `pod` of the objects they describe,
 * so the job honours them and adds no target labels of its own (the default job would rename them `exported_*`).
 *
 * @see https://github.com/kubernetes/kube-state-metrics/tree/v2.20.0 (README: health endpoints, ports 8080 and 8081;
 *   docs/developer/cli-arguments.md; examples/standard)
 */
export class KubeStateMetrics extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  /** Namespaces it exports; empty for every namespace. */
  public readonly namespaces: readonly string[];
  /** Ports, for network policies. */
  public readonly ports = PORTS;
  /** Its pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** Where its metrics are (the exposition port, not its own telemetry). */
  public readonly metricsTarget: PodScrapeTarget;
  /** The scrape job for {@link metricsTarget}: the exported labels honoured, no `namespace`, `pod` or `node` target labels. */
  public readonly scrapeConfig: ScrapeConfig;
  /** The rendered custom-resource-state configuration. */
  public readonly customResourceState: CustomResourceStateConfig;
  /** The container's arguments. */
  public readonly args: readonly string[];

  public constructor(scope: Construct, id: string, props: KubeStateMetricsProps = {}) {
    super(scope, id);
    this.image = props.image ?? IMAGES.kubeStateMetrics;
    const cronJobNamespaces = props.cronJobNamespaces ?? [];
    /** Namespaces watched for their CronJobs alone: the rest of what is exported of them is dropped at the scrape. */
    const cronJobsOnly = props.namespaces ? cronJobNamespaces.filter(n => !props.namespaces!.includes(n)) : [];
    // what else is exported of a namespace: the metric families of RESOURCES (kube_<singular>_…) and the custom resources'
    const exportedFamilies = [...RESOURCES.map(r => r.replace(/s$/, '')), 'customresource'];
    this.namespaces = props.namespaces ? [...new Set([...props.namespaces, ...cronJobNamespaces])] : [];
    const routes = props.routes ?? [WEIGHTED_ROUTE];
    const resources = props.resources ?? {
      cpuRequestMillis: 50, cpuLimitMillis: 250, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(256),
    };
    const namespace = chartNamespace(this, 'KubeStateMetrics');
    for (const [prop, values] of [['namespaces', props.namespaces ?? []], ['cronJobNamespaces', cronJobNamespaces], ['routes', routes]] as const) {
      const bad = values.filter(v => !DNS_LABEL.test(v));
      if (bad.length > 0) throw validationError(this, `'${prop}' must hold DNS labels, got ${show(bad)}`);
      if (new Set(values).size !== values.length) throw validationError(this, `'${prop}' must not repeat a name, got ${show(values)}`);
    }
    if (routes.length === 0) throw validationError(this, `'routes' must name at least one route, got ${show(routes)}`);

    const endpoint = endpoints(NAME, namespace, PORTS.metrics);
    this.peer = endpoint.peer;
    this.metricsTarget = endpoint.metricsTarget;
    const job = podScrapeConfig(this.metricsTarget);
    this.scrapeConfig = {
      ...job,
      honor_labels: true,
      relabel_configs: (job.relabel_configs ?? []).filter(r => r.target_label === undefined || !TARGET_LABELS.includes(r.target_label)),
      ...(cronJobsOnly.length > 0 ? {
        metric_relabel_configs: [{
          source_labels: ['__name__', 'namespace'], regex: `kube_(${exportedFamilies.join('|')})_.+;(${cronJobsOnly.join('|')})`, action: 'drop',
        }],
      } : {}),
    };

    this.customResourceState = virtualServiceWeightsConfig(routes);
    const crsYaml = toYaml(this.customResourceState);
    this.args = [
      `--port=${PORTS.metrics.port}`,
      `--telemetry-port=${PORTS.telemetry.port}`,
      `--resources=${[...RESOURCES, ...(cronJobNamespaces.length > 0 ? ['cronjobs'] : [])].join(',')}`,
      `--metric-allowlist=${[...CLUSTER_STATE_METRICS, ...(cronJobNamespaces.length > 0 ? CRON_JOB_METRICS : [])].join(',')}`,
      // the configuration a service's Deployment runs, for a release that changes no image
      `--metric-annotations-allowlist=deployments=[${POD_HASH_ANNOTATION.name}]`,
      ...(this.namespaces.length > 0 ? [`--namespaces=${this.namespaces.join(',')}`] : []),
      `--custom-resource-state-config-file=${CONFIG_DIR}/${CRS_FILE}`,
    ];

    const account = serviceAccount(this, NAME, true);
    bindClusterRole(this, namespace, NAME, [
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['list', 'watch'] },
      ...(cronJobNamespaces.length > 0 ? [{ apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['list', 'watch'] }] : []),
      { apiGroups: [VIRTUAL_SERVICE_GVK.group], resources: ['virtualservices'], verbs: ['list', 'watch'] },
      // the custom-resource-state feature discovers the kinds it exports from their CRDs
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['list', 'watch'] },
    ]);
    const config = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: `${NAME}-config` }, data: { [CRS_FILE]: crsYaml } });
    service(this, NAME, [PORTS.metrics, PORTS.telemetry]);

    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: NAME },
      spec: {
        // one replica: two would export every series twice
        replicas: 1,
        selector: { matchLabels: selectorLabels(NAME) },
        template: {
          metadata: { labels: podLabels(NAME, 'exporter'), annotations: { 'checksum/config': checksum(crsYaml) } },
          spec: {
            serviceAccountName: account.name,
            automountServiceAccountToken: true,
            securityContext: podSecurityContext({ user: 65534, group: 65534 }),
            containers: [{
              name: NAME,
              image: this.image,
              args: [...this.args],
              env: [goMemLimitEnv(resources)],
              ports: containerPorts([PORTS.metrics, PORTS.telemetry]),
              // /healthz and /livez on the exposition port, /readyz on the telemetry port (the README's advice)
              startupProbe: httpProbe('/healthz', PORTS.metrics.name, { periodSeconds: 5, failureThreshold: 24 }),
              livenessProbe: httpProbe('/livez', PORTS.metrics.name, { periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 4 }),
              readinessProbe: httpProbe('/readyz', PORTS.telemetry.name, { periodSeconds: 10, timeoutSeconds: 5 }),
              resources: resourceRequirements(resources),
              securityContext: containerSecurityContext(),
              volumeMounts: [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }],
            }],
            volumes: [{ name: 'config', configMap: { name: config.name } }],
          },
        },
      },
    });
  }
}
