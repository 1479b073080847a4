import { Duration, Lazy, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, checkInteger, checkMinSize, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { goDuration } from '../private/units';
import { toYaml } from '../private/yaml';
import { AlertReceiver, DEFAULT_RECEIVER, HEARTBEAT, alertmanagerConfig } from './alertmanager-config';
import {
  DATA_VOLUME, ServicePort, containerPorts, dataVolumeClaim, endpoints, gossipPorts, peerService, proxyEnv, service, serviceAccount,
  serviceHost, statefulSet,
} from './private/component';
import {
  checksum, containerSecurityContext, fieldEnv, httpProbe, podLabels, podSecurityContext, resourceRequirements, secretVolume, selectorLabels,
  spreadReplicas,
} from './private/workload';
import { PodScrapeTarget } from './prometheus-config';
import { ContainerResources, EgressProxyEnv, SecretKeyRef, WorkloadPeer } from './types';
import { DNS_LABEL } from '../private/names';

/** Properties of {@link Alertmanager}. */
export interface AlertmanagerProps {
  /**
   * Alertmanager image, pinned by tag or digest.
   * @default IMAGES.alertmanager
   */
  readonly image?: string;
  /**
   * Replicas; more than one form a gossip cluster (port 9094, TCP and UDP) that shares silences and the notification
   * log, so that each notification goes out once. Prometheus sends every alert to every replica.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Where alerts go; each receiver's URL or key is read from its Secret key, mounted as a file.
   * @default - none: alerts show in Alertmanager's UI and Grafana only
   */
  readonly receivers?: readonly AlertReceiver[];
  /**
   * A dead man's switch ({@link HEARTBEAT}): the Secret key holding a heartbeat service's webhook URL, pinged with the
   * always-firing watchdog alert every `interval` (1 to 60 minutes, 5 by default), so that the service raises the alarm
   * when the pings stop. The rules must hold the watchdog (`pipelineAlertingRules` with `heartbeat`).
   * @default - none
   */
  readonly heartbeat?: { readonly secret: SecretKeyRef; readonly interval?: Duration };
  /**
   * Where people see the alerts, such as Grafana's view of this Alertmanager (`alertmanagerViewUrl`): the link
   * of a Slack message's title and of a PagerDuty incident.
   * @default - no link (Alertmanager's own, its UI under the pod's host name, would resolve nowhere)
   */
  readonly consoleUrl?: string;
  /**
   * How long a new group waits for more alerts before its first notification.
   * @default Duration.seconds(30)
   */
  readonly groupWait?: Duration;
  /**
   * How long a group waits before notifying about alerts added to it.
   * @default Duration.minutes(5)
   */
  readonly groupInterval?: Duration;
  /**
   * How long before a notification that was sent is sent again while its alerts still fire.
   * @default Duration.hours(4)
   */
  readonly repeatInterval?: Duration;
  /**
   * Alerts of several clusters (a central topology): grouped and inhibited per cluster.
   * @default false
   */
  readonly perCluster?: boolean;
  /**
   * How often the rules that send alerts here are evaluated. A ticket's group waits longer than a page's by the larger
   * of a minute and this, so that a fast burn firing an evaluation after its slow burn still inhibits it.
   * @default Duration.minutes(1)
   */
  readonly ruleInterval?: Duration;
  /**
   * A PersistentVolume of this size for silences and the notification log, which then survive a restart of the pod.
   * @default - an emptyDir: a restarted replica gets them back from its peers, a single replica loses them
   */
  readonly volumeSize?: Size;
  /**
   * StorageClass of the volume.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * The proxy the receivers are reached through (`HTTPS_PROXY`, `NO_PROXY`); the config then sets
   * `proxy_from_environment`, since Alertmanager's HTTP clients ignore the variables otherwise.
   * @default - receivers are reached directly
   */
  readonly egressProxy?: EgressProxyEnv;
  /**
   * CPU and memory of the Alertmanager container.
   * @default - 50m/200m CPU, 64Mi/256Mi
   */
  readonly resources?: ContainerResources;
}

const HTTP = { name: 'http', port: 9093, appProtocol: 'http' } as const satisfies ServicePort;
const CLUSTER_PORT = 9094;
const NAME = 'alertmanager';
/** How much longer a ticket's group waits than a page's, at least, before its first notification. */
const TICKET_EXTRA_WAIT_MS = 60_000;
/** The headless Service that gives each pod its DNS name (`alertmanager-0.alertmanager-cluster…`). */
const CLUSTER_SERVICE = `${NAME}-cluster`;
const CONFIG_DIR = '/etc/alertmanager';
const CONFIG_FILE_DIR = `${CONFIG_DIR}/config`;
// beside the config, not inside it: a mount point cannot be made in a read-only ConfigMap volume
const SECRETS_DIR = `${CONFIG_DIR}/secrets`;
const DATA_DIR = '/alertmanager';

/**
 * Alertmanager as a StatefulSet: the routing tree, receivers and inhibitions of {@link alertmanagerConfig}, its
 * receivers' URLs and keys mounted from their Secrets, clustered through a headless Service when it runs more than
 * one replica.
 */
export class Alertmanager extends Construct {
  /** Name of the StatefulSet, Service and ServiceAccount. */
  public readonly name = NAME;
  public readonly image: string;
  public readonly replicas: number;
  /** In-cluster base URL of the API and UI, for Grafana. */
  public readonly url: string;
  /** `host:port` of every replica, for Prometheus's `alerting` block (it must reach each one, not the Service). */
  public readonly instances: readonly string[];
  public readonly metricsTarget: PodScrapeTarget;
  public readonly peer: WorkloadPeer;
  /** Ports, for network policies. */
  public readonly ports = { http: HTTP, cluster: { name: 'cluster', port: CLUSTER_PORT } };
  /** The receivers, with the file each reads its URL or key from. */
  public readonly receiverFiles: Readonly<Record<string, string>>;

  public constructor(scope: Construct, id: string, props: AlertmanagerProps = {}) {
    super(scope, id);
    this.image = props.image ?? IMAGES.alertmanager;
    this.replicas = props.replicas ?? 1;
    const receivers = props.receivers ?? [];
    const groupWait = props.groupWait ?? Duration.seconds(30);
    const groupInterval = props.groupInterval ?? Duration.minutes(5);
    const repeatInterval = props.repeatInterval ?? Duration.hours(4);
    const resources = props.resources ?? {
      cpuRequestMillis: 50, cpuLimitMillis: 200, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(256),
    };

    const namespace = chartNamespace(this, 'Alertmanager');
    checkInteger(this, 'replicas', this.replicas, 1, 5);
    if (props.volumeSize) checkMinSize(this, 'volumeSize', props.volumeSize, Size.mebibytes(100));
    const names = new Set<string>();
    for (const r of receivers) {
      if (!DNS_LABEL.test(r.name) || r.name === DEFAULT_RECEIVER || r.name === HEARTBEAT.receiver || names.has(r.name)) {
        throw validationError(this, `'receivers' names must be unique DNS labels other than ${show(DEFAULT_RECEIVER)} and ${show(HEARTBEAT.receiver)}, `
          + `got ${show(r.name)}`);
      }
      names.add(r.name);
    }
    if (groupInterval.toMilliseconds() > repeatInterval.toMilliseconds()) {
      throw validationError(this, `'repeatInterval' must be at least 'groupInterval' (${goDuration(groupInterval)}), got ${goDuration(repeatInterval)}`);
    }

    const endpoint = endpoints(NAME, namespace, HTTP);
    this.url = endpoint.url(HTTP);
    this.metricsTarget = endpoint.metricsTarget;
    this.peer = endpoint.peer;
    const podHost = (i: number): string => `${NAME}-${i}.${serviceHost(CLUSTER_SERVICE, namespace)}`;
    this.instances = Array.from({ length: this.replicas }, (_, i) => `${podHost(i)}:${HTTP.port}`);

    // a template in Alertmanager's config: braces would be evaluated
    if (props.consoleUrl !== undefined && !/^https?:\/\/[^\s{}]+$/.test(props.consoleUrl)) {
      throw validationError(this, `'consoleUrl' must be an absolute http(s) URL without spaces or braces, got ${show(props.consoleUrl)}`);
    }
    const heartbeat = props.heartbeat && { secret: props.heartbeat.secret, interval: props.heartbeat.interval ?? Duration.minutes(5) };
    const pings = heartbeat?.interval.toMilliseconds();
    if (pings !== undefined && (pings < Duration.minutes(1).toMilliseconds() || pings > Duration.hours(1).toMilliseconds())) {
      throw validationError(this, `'heartbeat.interval' must be from 1m to 1h, got ${goDuration(heartbeat!.interval)}`);
    }
    // one volume per Secret, holding only the keys the receivers (and the heartbeat) read
    const keys: SecretKeyRef[] = [...receivers.map(r => r.secret), ...(heartbeat ? [heartbeat.secret] : [])];
    const secrets = [...new Set(keys.map(k => k.name))];
    const volumeOf = (secret: string): string => `secret-${secrets.indexOf(secret)}`;
    const fileOfKey = (k: SecretKeyRef): string => `${SECRETS_DIR}/${k.name}/${k.key}`;
    const fileOf = (r: AlertReceiver): string => fileOfKey(r.secret);
    this.receiverFiles = Object.fromEntries(receivers.map(r => [r.name, fileOf(r)]));

    let rendered: string | undefined;
    // one render for the ConfigMap and the checksum that rolls the pods
    const configYaml = (): string => (rendered ??= toYaml(alertmanagerConfig({
      receivers,
      secretFile: fileOf,
      groupWait: goDuration(groupWait),
      // longer than a page's by a rule evaluation or a minute: a fast burn evaluated later than its slow burn still inhibits it
      ticketGroupWait: goDuration(Duration.millis(groupWait.toMilliseconds()
        + Math.max(TICKET_EXTRA_WAIT_MS, (props.ruleInterval ?? Duration.minutes(1)).toMilliseconds()))),
      groupInterval: goDuration(groupInterval),
      repeatInterval: goDuration(repeatInterval),
      proxyFromEnvironment: props.egressProxy !== undefined,
      ...(props.perCluster ? { perCluster: true } : {}),
      ...(heartbeat ? { heartbeat: { file: fileOfKey(heartbeat.secret), interval: goDuration(heartbeat.interval) } } : {}),
      ...(props.consoleUrl !== undefined ? { consoleUrl: props.consoleUrl } : {}),
    })));

    const account = serviceAccount(this, NAME, false);
    const config = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${NAME}-config` },
      data: { 'alertmanager.yml': Lazy.any({ produce: configYaml }) },
    });
    service(this, NAME, [HTTP]);
    const clustered = this.replicas > 1;
    const gossip = gossipPorts('cluster', CLUSTER_PORT);
    // governs the pods' DNS names; a replica is ready only once its peers are found
    peerService(this, 'ClusterService', CLUSTER_SERVICE, NAME, [
      { name: HTTP.name, port: HTTP.port, targetPort: k8s.IntOrString.fromNumber(HTTP.port), protocol: 'TCP', appProtocol: 'http' },
      ...(clustered ? gossip.service : []),
    ]);

    const clusterArgs = clustered
      ? [
        `--cluster.listen-address=0.0.0.0:${CLUSTER_PORT}`,
        `--cluster.advertise-address=$(POD_IP):${CLUSTER_PORT}`,
        ...Array.from({ length: this.replicas }, (_, i) => `--cluster.peer=${podHost(i)}:${CLUSTER_PORT}`),
      ]
      // an empty listen address turns clustering off: a lone replica would otherwise wait for peers to settle
      : ['--cluster.listen-address='];
    const spread = spreadReplicas(this, { name: NAME, replicas: this.replicas, selector: selectorLabels(NAME), kind: 'StatefulSet' });
    const dataVolume: k8s.Volume[] = props.volumeSize ? [] : [{ name: DATA_VOLUME, emptyDir: { sizeLimit: k8s.Quantity.fromString('100Mi') } }];

    statefulSet(this, {
      metadata: { name: NAME },
      spec: {
        serviceName: CLUSTER_SERVICE,
        replicas: this.replicas,
        // the replicas find each other by gossip: none waits for another to be ready
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selectorLabels(NAME) },
        template: {
          metadata: {
            labels: podLabels(NAME, 'alerting'),
            annotations: { 'checksum/config': Lazy.any({ produce: () => checksum(configYaml()) }) },
          },
          spec: {
            serviceAccountName: account.name,
            automountServiceAccountToken: false,
            securityContext: podSecurityContext({ user: 65534, group: 65534 }),
            ...spread,
            containers: [{
              name: NAME,
              image: this.image,
              args: [
                `--config.file=${CONFIG_FILE_DIR}/alertmanager.yml`,
                `--storage.path=${DATA_DIR}`,
                `--web.listen-address=:${HTTP.port}`,
                // the notification counters name their receiver: a failing heartbeat is told from a failing chat
                // (lib/slo/pipeline-alerts.ts), both being webhooks
                '--enable-feature=receiver-name-in-metrics',
                ...clusterArgs,
              ],
              env: [...(clustered ? [fieldEnv('POD_IP', 'status.podIP')] : []), ...proxyEnv(props.egressProxy)],
              ports: [
                ...containerPorts([HTTP]),
                ...(clustered ? gossip.container : []),
              ],
              readinessProbe: httpProbe('/-/ready', 'http', { periodSeconds: 10, timeoutSeconds: 3 }),
              livenessProbe: httpProbe('/-/healthy', 'http', { periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 6 }),
              resources: resourceRequirements(resources),
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_FILE_DIR, readOnly: true },
                ...secrets.map(s => ({ name: volumeOf(s), mountPath: `${SECRETS_DIR}/${s}`, readOnly: true })),
                { name: DATA_VOLUME, mountPath: DATA_DIR },
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: config.name } },
              ...secrets.map(s => secretVolume(volumeOf(s), s, [...new Set(keys.filter(k => k.name === s).map(k => k.key))])),
              ...dataVolume,
            ],
          },
        },
        ...(props.volumeSize ? {
          volumeClaimTemplates: [dataVolumeClaim(props.volumeSize, props.storageClassName)],
        } : {}),
      },
    });
  }
}
