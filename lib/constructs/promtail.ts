import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, validationError } from '../errors';
import { IMAGES } from '../images';
import {
  JSON_FIELDS, LEVEL_FIELD, POD_STREAM_RELABELING, PROBE_LINES, STREAM_LABELS, STRUCTURED_METADATA, TIME_FIELD, TRACE_FLAGS_FIELD, probeRouteRegex,
} from './log-streams';
import { PodScrapeTarget } from './prometheus-config';
import { PromtailConfig, keepWhenSampled } from './promtail-config';
import { ServicePort, bindClusterRole, containerPorts, endpoints, serviceAccount } from './private/component';
import { checksum, containerSecurityContext, fieldEnv, httpProbe, nodeDaemonSet, resourceRequirements } from './private/workload';
import { ContainerResources, PodSecurityLevel, WorkloadPeer } from './types';
import { toYaml } from '../private/yaml';
import { CLUSTER_LABEL } from '../slo/vocabulary';

/** Properties of {@link Promtail}. */
export interface PromtailProps {
  /** Where to push logs: {@link Loki.pushUrl}. */
  readonly lokiPushUrl: string;
  /**
   * The cluster's name, the `cluster` label of every stream (as of every series its Prometheus sends).
   * @default - no `cluster` label
   */
  readonly clusterName?: string;
  /**
   * Promtail image, pinned by tag or digest.
   * @default IMAGES.promtail
   */
  readonly image?: string;
  /**
   * CPU and memory of the Promtail container on each node.
   * @default - 50m/500m CPU, 64Mi/256Mi
   */
  readonly resources?: ContainerResources;
  /**
   * The pods' PriorityClass (a `NodeAgentPriority`'s name), so that a full node still runs one.
   * @default - none (priority 0, as any pod)
   */
  readonly priorityClassName?: string;
}

const NAME = 'promtail';
const HTTP: ServicePort = { name: 'http', port: 3101, appProtocol: 'http' };
/** The labels every log stream gets: the shared {@link STREAM_LABELS}. */
export const PROMTAIL_LABELS = STREAM_LABELS;
/** Fields of a JSON log line kept as structured metadata when sampled: the shared {@link STRUCTURED_METADATA}. */
export const PROMTAIL_STRUCTURED_METADATA = STRUCTURED_METADATA;
/** Annotation naming why a pod runs as root (the policy test requires it). */
const RUNS_AS_ROOT = 'policy.obs-canary.io/runs-as-root';

/**
 * Promtail as a DaemonSet tailing `/var/log/pods` on every node and pushing to Loki: the CRI line format first, then
 * the services' JSON (`level`, ISO `time`, `msg`, `trace_id`, `span_id`, `trace_flags`); `level` becomes a label, trace
 * and span ids of sampled requests structured metadata.
 *
 * Promtail reached end of life on 2026-03-02 and 3.6.11 is the last image Grafana built: see the README for the move
 * to Grafana Alloy or the Collector's `file_log` receiver.
 */
export class Promtail extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  /** Ports, for network policies. */
  public readonly ports = { http: HTTP };
  /** What Promtail exposes for scraping. */
  public readonly metricsTarget: PodScrapeTarget;
  /** Promtail's pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** The rendered configuration. */
  public readonly config: PromtailConfig;
  /**
   * The most hardened Pod Security level its pods meet: `privileged`, because they read the nodes' logs through
   * hostPath volumes, which `baseline` and `restricted` refuse. Its namespace must enforce this level while it runs.
   */
  public readonly podSecurityLevel: PodSecurityLevel = 'privileged';

  public constructor(scope: Construct, id: string, props: PromtailProps) {
    super(scope, id);
    this.image = props.image ?? IMAGES.promtail;
    const resources = props.resources ?? {
      cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(256),
    };
    const namespace = chartNamespace(this, 'Promtail');
    if (!/^https?:\/\/[^\s/]+\/loki\/api\/v1\/push$/.test(props.lokiPushUrl)) {
      throw validationError(this, `'lokiPushUrl' must be a Loki push URL ending in /loki/api/v1/push, got ${JSON.stringify(props.lokiPushUrl)}`);
    }
    const endpoint = endpoints(NAME, namespace, HTTP);
    this.peer = endpoint.peer;
    this.metricsTarget = endpoint.metricsTarget;

    this.config = {
      server: { http_listen_port: HTTP.port, grpc_listen_port: 0, log_level: 'info', log_format: 'json' },
      // on a hostPath: positions survive a restart, so nothing is shipped twice or skipped
      positions: { filename: '/run/promtail/positions.yaml' },
      clients: [{
        url: props.lokiPushUrl,
        backoff_config: { min_period: '500ms', max_period: '5m', max_retries: 10 },
        ...(props.clusterName !== undefined ? { external_labels: { [CLUSTER_LABEL]: props.clusterName } } : {}),
      }],
      scrape_configs: [{
        job_name: 'kubernetes-pods',
        // Promtail narrows discovery to pods on spec.nodeName=$HOSTNAME, which the DaemonSet sets to the node name
        kubernetes_sd_configs: [{ role: 'pod' }],
        relabel_configs: [
          // the stream labels, as Alloy's discovery.relabel sets them too
          ...POD_STREAM_RELABELING,
          // pod directories are <namespace>_<pod>_<uid>; static pods use their config hash instead of the uid
          { source_labels: ['__meta_kubernetes_pod_uid', '__meta_kubernetes_pod_container_name'], separator: '/', replacement: '/var/log/pods/*$1/*.log', target_label: '__path__' },
          {
            source_labels: ['__meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash', '__meta_kubernetes_pod_annotation_kubernetes_io_config_hash', '__meta_kubernetes_pod_container_name'],
            separator: '/', regex: 'true/(.*)', replacement: '/var/log/pods/*$1/*.log', target_label: '__path__',
          },
        ],
        pipeline_stages: [
          { cri: {} },
          { json: { expressions: { ...JSON_FIELDS, [PROBE_LINES.field]: PROBE_LINES.field } } },
          // kubelet probes and Prometheus scrapes of the services, logged at debug level: as Alloy drops them
          { drop: { source: PROBE_LINES.field, expression: probeRouteRegex(), drop_counter_reason: PROBE_LINES.reason } },
          { timestamp: { source: TIME_FIELD, format: 'RFC3339Nano', action_on_failure: 'skip' } },
          { labels: { level: LEVEL_FIELD } },
          // the services log the trace id of every request, sampled or not; only a sampled one is in Tempo, and Grafana
          // links a line to its trace when the line has trace_id structured metadata
          ...PROMTAIL_STRUCTURED_METADATA.map(k => keepWhenSampled(k, TRACE_FLAGS_FIELD)),
          { structured_metadata: Object.fromEntries(PROMTAIL_STRUCTURED_METADATA.map(k => [k, k])) },
          { labelallow: [...PROMTAIL_LABELS] },
        ],
      }],
    };
    const configYaml = toYaml(this.config);

    const account = serviceAccount(this, NAME, true);
    bindClusterRole(this, namespace, NAME, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
    const config = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: `${NAME}-config` }, data: { 'promtail.yaml': configYaml } });
    // the shared container context except runAsNonRoot, which the pod's context sets to false
    const { runAsNonRoot: _rootPod, ...securityContext } = containerSecurityContext();

    nodeDaemonSet(this, {
      name: NAME,
      ...(props.priorityClassName ? { priorityClassName: props.priorityClassName } : {}),
      component: 'log-shipper',
      annotations: {
        'checksum/config': checksum(configYaml),
        [RUNS_AS_ROOT]: 'reads the root-owned container logs under /var/log/pods and keeps positions on a root-owned hostPath',
      },
      spec: {
        serviceAccountName: account.name,
        automountServiceAccountToken: true,
        // root without capabilities: enough to read root-owned 0640 log files, nothing more
        securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: NAME,
          image: this.image,
          args: ['-config.file=/etc/promtail/promtail.yaml'],
          env: [fieldEnv('HOSTNAME', 'spec.nodeName')],
          ports: containerPorts([HTTP]),
          readinessProbe: httpProbe('/ready', HTTP.name, { initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 5 }),
          // not /ready: it reports "no files to tail", which a restart would not fix
          livenessProbe: {
            tcpSocket: { port: k8s.IntOrString.fromString(HTTP.name) }, periodSeconds: 20, timeoutSeconds: 2, failureThreshold: 6,
          },
          resources: resourceRequirements(resources),
          securityContext,
          volumeMounts: [
            { name: 'config', mountPath: '/etc/promtail', readOnly: true },
            { name: 'run', mountPath: '/run/promtail' },
            { name: 'pods', mountPath: '/var/log/pods', readOnly: true },
            // on Docker-runtime nodes (minikube's default) /var/log/pods holds symlinks into this directory
            { name: 'docker-containers', mountPath: '/var/lib/docker/containers', readOnly: true },
          ],
        }],
        volumes: [
          { name: 'config', configMap: { name: config.name } },
          { name: 'run', hostPath: { path: '/run/promtail', type: 'DirectoryOrCreate' } },
          { name: 'pods', hostPath: { path: '/var/log/pods', type: 'Directory' } },
          { name: 'docker-containers', hostPath: { path: '/var/lib/docker/containers', type: 'DirectoryOrCreate' } },
        ],
      },
    });
  }
}
