import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, validationError } from '../errors';
import { IMAGES } from '../images';
import { AlloyStatement } from '../private/alloy-syntax';
import { alloyConfig, renderAlloyConfig } from './alloy-config';
import { PodScrapeTarget } from './prometheus-config';
import { ServicePort, bindClusterRole, containerPorts, endpoints, serviceAccount } from './private/component';
import {
  CLIENT_TLS_KEYS, checksum, containerSecurityContext, fieldEnv, httpProbe, nodeDaemonSet, podSecurityContext,
  resourceRequirements, secretVolume,
} from './private/workload';
import { ContainerResources, PodSecurityLevel, WorkloadPeer } from './types';
import { CLUSTER_LABEL } from '../slo/vocabulary';

/** Properties of {@link Alloy}. */
export interface AlloyProps {
  /** Where to push logs: {@link Loki.pushUrl}. */
  readonly lokiPushUrl: string;
  /**
   * The cluster's name, the `cluster` label of every stream (as of every series its Prometheus sends): in a central
   * topology, what tells one cluster's logs from another's in the one Loki.
   * @default - no `cluster` label
   */
  readonly clusterName?: string;
  /**
   * An application cluster's shipper: streams sent over mutual TLS with the client certificate of a Secret (`ca.crt`,
   * `tls.crt`, `tls.key`) to the observability cluster's gateway.
   * @default - the cluster's own Loki
   */
  readonly remote?: { readonly clientCertificateSecret: string };
  /**
   * Alloy image, pinned by tag or digest.
   * @default IMAGES.alloy
   */
  readonly image?: string;
  /**
   * CPU and memory of the Alloy container on each node.
   * @default - 50m/500m CPU, 128Mi/512Mi
   */
  readonly resources?: ContainerResources;
  /**
   * The pods' PriorityClass (a `NodeAgentPriority`'s name), so that a full node still runs one.
   * @default - none (priority 0, as any pod)
   */
  readonly priorityClassName?: string;
}

const NAME = 'alloy';
/** Alloy's HTTP server: its UI, `/metrics`, `/-/ready` and `/-/healthy`. */
const HTTP: ServicePort = { name: 'http', port: 12345, appProtocol: 'http' };
/** The image's `alloy` user and group (grafana/alloy Dockerfile: `ARG UID="473"`; the image itself starts as root). */
const ALLOY_UID = 473;
/** Where components keep their state (`--storage.path`): the tailers' positions, on an emptyDir. */
const STORAGE_PATH = '/var/lib/alloy/data';
const CONFIG_DIR = '/etc/alloy';
const CONFIG_FILE = 'config.alloy';
/** The env var holding the node's name, which discovery selects pods by. */
const NODE_NAME_ENV = 'HOSTNAME';
/** Where an application cluster's client certificate is mounted. */
const CLIENT_TLS_DIR = '/etc/alloy-client-tls';

/**
 * Grafana Alloy as a DaemonSet shipping the pods' logs to Loki: each pod discovers the pods of its node and tails their
 * containers through the Kubernetes API (`loki.source.kubernetes`), then parses the services' JSON like Promtail does
 * (`level` a label, the trace and span ids of sampled requests structured metadata) into the same streams.
 *
 * It needs no host access, runs as the image's non-root `alloy` user with a read-only root file system, and meets Pod
 * Security `restricted`.
 */
export class Alloy extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  /** Ports, for network policies. */
  public readonly ports = { http: HTTP };
  /** What Alloy exposes for scraping (its own metrics, among them `loki_write_*`). */
  public readonly metricsTarget: PodScrapeTarget;
  /** Alloy's pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** The configuration's statements. */
  public readonly config: readonly AlloyStatement[];
  /** The configuration file's text. */
  public readonly configText: string;
  /**
   * The most hardened Pod Security level its pods meet: `restricted` (no hostPath, non-root, no capabilities,
   * RuntimeDefault seccomp).
   */
  public readonly podSecurityLevel: PodSecurityLevel = 'restricted';

  public constructor(scope: Construct, id: string, props: AlloyProps) {
    super(scope, id);
    this.image = props.image ?? IMAGES.alloy;
    const resources = props.resources ?? {
      cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512),
    };
    const namespace = chartNamespace(this, 'Alloy');
    if (!/^https?:\/\/[^\s/]+\/loki\/api\/v1\/push$/.test(props.lokiPushUrl) || (props.remote && !props.lokiPushUrl.startsWith('https://'))) {
      throw validationError(this, `'lokiPushUrl' must be a Loki push URL ending in /loki/api/v1/push, got ${JSON.stringify(props.lokiPushUrl)}`);
    }
    const endpoint = endpoints(NAME, namespace, HTTP);
    this.peer = endpoint.peer;
    this.metricsTarget = endpoint.metricsTarget;
    const configOptions = {
      lokiPushUrl: props.lokiPushUrl, nodeNameEnv: NODE_NAME_ENV,
      ...(props.clusterName !== undefined ? { externalLabels: { [CLUSTER_LABEL]: props.clusterName } } : {}),
      ...(props.remote ? { remote: { tlsDir: CLIENT_TLS_DIR } } : {}),
    };
    this.config = alloyConfig(configOptions);
    this.configText = renderAlloyConfig(configOptions);

    const account = serviceAccount(this, NAME, true);
    // read-only: discovery lists and watches pods, loki.source.kubernetes reads their logs
    bindClusterRole(this, namespace, NAME, [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    ]);
    const config = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: `${NAME}-config` }, data: { [CONFIG_FILE]: this.configText } });

    nodeDaemonSet(this, {
      name: NAME,
      ...(props.priorityClassName ? { priorityClassName: props.priorityClassName } : {}),
      component: 'log-shipper',
      annotations: { 'checksum/config': checksum(this.configText) },
      spec: {
        serviceAccountName: account.name,
        automountServiceAccountToken: true,
        securityContext: podSecurityContext({ user: ALLOY_UID, group: ALLOY_UID }),
        containers: [{
          name: NAME,
          image: this.image,
          args: [
            'run', `${CONFIG_DIR}/${CONFIG_FILE}`,
            // the default 127.0.0.1 would keep Prometheus and the kubelet's probes out
            `--server.http.listen-addr=0.0.0.0:${HTTP.port}`,
            `--storage.path=${STORAGE_PATH}`,
            '--disable-reporting',
          ],
          env: [fieldEnv(NODE_NAME_ENV, 'spec.nodeName')],
          ports: containerPorts([HTTP]),
          readinessProbe: httpProbe('/-/ready', HTTP.name, { initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 5 }),
          // not /-/healthy: it reports unhealthy components (Loki down), which a restart would not fix
          livenessProbe: {
            tcpSocket: { port: k8s.IntOrString.fromString(HTTP.name) }, periodSeconds: 20, timeoutSeconds: 2, failureThreshold: 6,
          },
          resources: resourceRequirements(resources),
          securityContext: containerSecurityContext(),
          volumeMounts: [
            { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
            { name: 'storage', mountPath: STORAGE_PATH },
            { name: 'tmp', mountPath: '/tmp' },
            ...(props.remote ? [{ name: 'client-tls', mountPath: CLIENT_TLS_DIR, readOnly: true }] : []),
          ],
        }],
        volumes: [
          { name: 'config', configMap: { name: config.name } },
          // positions survive a container restart; a new pod reads each container's current log from its start, and
          // Loki stores the last hour's lines again and refuses older ones (the README's Alloy section)
          { name: 'storage', emptyDir: {} },
          { name: 'tmp', emptyDir: {} },
          ...(props.remote ? [secretVolume('client-tls', props.remote.clientCertificateSecret, CLIENT_TLS_KEYS)] : []),
        ],
      },
    });
  }
}
