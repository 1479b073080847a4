import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { quantity } from '../../private/units';
import { ContainerResources, SecretKeyRef } from '../types';

/** The label every workload selects its pods by: immutable once applied, so it never embeds a construct path. */
export const NAME_LABEL = 'app.kubernetes.io/name';

/** The selector labels of a component: `app.kubernetes.io/name: <name>`. */
export function selectorLabels(name: string): Record<string, string> {
  return { [NAME_LABEL]: name };
}

/** Labels of a component's pods: the selector plus the component's role. */
export function podLabels(name: string, component: string): Record<string, string> {
  return { ...selectorLabels(name), 'app.kubernetes.io/component': component, 'app.kubernetes.io/part-of': 'obs-canary' };
}

/** Who a pod runs as. */
export interface RunAs {
  readonly user: number;
  readonly group: number;
  /** Group that owns mounted volumes. @default - the same as `group` */
  readonly fsGroup?: number;
}

/** The mode of every file mounted from a Secret: read by owner and group (the pod's fsGroup) only, nobody else. */
export const SECRET_FILE_MODE = 0o440;

/** The keys of a client-certificate Secret: the CA that signed the server, the client's certificate and its key. */
export const CLIENT_TLS_KEYS = ['ca.crt', 'tls.crt', 'tls.key'] as const;

/**
 * A volume of the named keys of a Secret, each a file named as its key unless `items` gives it a path, in
 * {@link SECRET_FILE_MODE}. Named keys: a Secret without one of them keeps the pod from starting, with the key in its
 * events.
 */
export function secretVolume(name: string, secretName: string, items: ReadonlyArray<string | k8s.KeyToPath>): k8s.Volume {
  return {
    name,
    secret: { secretName, items: items.map(item => (typeof item === 'string' ? { key: item, path: item } : item)), defaultMode: SECRET_FILE_MODE },
  };
}

/** A pod security context: non-root, RuntimeDefault seccomp, volumes chowned only when their owner differs. */
export function podSecurityContext(runAs: RunAs): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: runAs.user,
    runAsGroup: runAs.group,
    fsGroup: runAs.fsGroup ?? runAs.group,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** A container security context: read-only root file system, no privilege escalation, no capabilities. */
export function containerSecurityContext(): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Requests and limits for both CPU and memory. */
export function resourceRequirements(r: ContainerResources): k8s.ResourceRequirements {
  return {
    requests: { cpu: k8s.Quantity.fromString(`${r.cpuRequestMillis}m`), memory: k8s.Quantity.fromString(quantity(r.memoryRequest)) },
    limits: { cpu: k8s.Quantity.fromString(`${r.cpuLimitMillis}m`), memory: k8s.Quantity.fromString(quantity(r.memoryLimit)) },
  };
}

/** Timing of a probe, in seconds. */
export interface ProbeTiming {
  readonly initialDelaySeconds?: number;
  readonly periodSeconds?: number;
  readonly timeoutSeconds?: number;
  readonly failureThreshold?: number;
}

/** An HTTP GET probe against a named container port. */
export function httpProbe(path: string, port: string, timing: ProbeTiming = {}): k8s.Probe {
  return {
    httpGet: { path, port: k8s.IntOrString.fromString(port) },
    periodSeconds: timing.periodSeconds ?? 10,
    timeoutSeconds: timing.timeoutSeconds ?? 2,
    failureThreshold: timing.failureThreshold ?? 3,
    ...(timing.initialDelaySeconds !== undefined ? { initialDelaySeconds: timing.initialDelaySeconds } : {}),
  };
}

/**
 * A short digest of rendered configuration, put on the pod template so that a config change rolls the pods (a
 * ConfigMap change alone does not restart anything).
 */
export function checksum(...parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** What a highly available workload needs to know about itself. */
export interface SpreadOptions {
  /** Name of the workload: the PodDisruptionBudget gets the same name. */
  readonly name: string;
  readonly replicas: number;
  readonly selector: Record<string, string>;
  /** Deployments can tell rolling-update generations apart by `pod-template-hash`; StatefulSets cannot. */
  readonly kind: 'Deployment' | 'StatefulSet';
  /**
   * The replicas change while the workload serves (a canary's follow its traffic): the spread constraints are there
   * even for one replica (which meets them), so that a change of replicas never changes the pod template, which would
   * replace every pod in the commit that changes its traffic. The budget still needs two.
   * @default false
   */
  readonly replicasVary?: boolean;
  /**
   * Annotations of the PodDisruptionBudget, those of its workload that apply to it too (an Argo CD sync wave).
   * @default - none
   */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * Spreads the replicas of a workload over nodes (required) and zones (preferred) and keeps all but one of them up
 * during voluntary disruptions. A single replica gets neither (a budget would block every node drain), unless its
 * replicas vary ({@link SpreadOptions.replicasVary}): then it gets the constraints.
 *
 * @returns the topology spread constraints to spread into the pod spec; an empty object for a single replica
 */
export function spreadReplicas(scope: Construct, options: SpreadOptions): Pick<k8s.PodSpec, 'topologySpreadConstraints'> {
  if (options.replicas <= 1 && !options.replicasVary) return {};
  if (options.replicas > 1) {
    new k8s.KubePodDisruptionBudget(scope, `DisruptionBudget-${options.name}`, {
      metadata: { name: options.name, ...(options.annotations ? { annotations: { ...options.annotations } } : {}) },
      spec: {
        maxUnavailable: k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: options.selector },
        // a pod that runs but is not ready serves nothing: evicting it costs nothing, and the default
        // (IfHealthyBudget) refuses it while the others are not ready either, so a crash-looping release would hold
        // every node drain until someone rolled it back by hand
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    });
  }
  const matchLabelKeys = options.kind === 'Deployment' ? ['pod-template-hash'] : undefined;
  // nodes the pods cannot go to (cordoned for a drain, a tainted node pool) are not domains: counted with their zero
  // pods (the default, Ignore), they would hold the skew at its limit and leave a drained pod's replacement Pending
  const common = { maxSkew: 1, labelSelector: { matchLabels: options.selector }, nodeTaintsPolicy: 'Honor', ...(matchLabelKeys ? { matchLabelKeys } : {}) };
  return {
    topologySpreadConstraints: [
      { ...common, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' },
      { ...common, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
    ],
  };
}

/**
 * `GOMEMLIMIT` at 80 % of a Go program's memory limit: its garbage collector works harder before the kernel's OOM
 * killer would, and the rest is headroom for what the Go runtime does not count.
 */
export function goMemLimitEnv(r: ContainerResources): k8s.EnvVar {
  return { name: 'GOMEMLIMIT', value: `${Math.floor(r.memoryLimit.toMebibytes() * 0.8)}MiB` };
}

/**
 * The annotation that tells the cluster autoscaler which of a pod's local volumes it may lose when it moves the pod off
 * a node it scales down; by default (`--skip-nodes-with-local-storage`) a pod with any emptyDir on disk keeps its node.
 */
export const SAFE_TO_EVICT_LOCAL_VOLUMES = 'cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes';

/**
 * The emptyDirs istiod's injector adds to a pod, with the sidecar template and the gateway one alike (Istio 1.30):
 * the agent's sockets, certificates and data, re-created with the pod. A rendered template does not hold them.
 */
const ISTIO_INJECTED_VOLUMES: readonly string[] = ['workload-socket', 'credential-socket', 'workload-certs', 'istio-envoy', 'istio-data'];

/** {@link SAFE_TO_EVICT_LOCAL_VOLUMES} naming a pod's scratch volumes. */
export function evictableScratch(volumes: readonly string[]): Record<string, string> {
  return { [SAFE_TO_EVICT_LOCAL_VOLUMES]: volumes.join(',') };
}

/** The same for a pod istiod injects: its own scratch volumes and {@link ISTIO_INJECTED_VOLUMES}. */
export function injectedPodScratch(volumes: readonly string[] = []): Record<string, string> {
  return evictableScratch([...volumes, ...ISTIO_INJECTED_VOLUMES]);
}

/** An environment variable read from a Secret key: how every credential reaches a container. */
export function secretEnv(name: string, ref: SecretKeyRef): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}

/** An environment variable from a field of the pod (the Downward API): `metadata.name`, `spec.nodeName`, … */
export function fieldEnv(name: string, fieldPath: string): k8s.EnvVar {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

/** What {@link nodeDaemonSet} renders. */
export interface NodeDaemonSetOptions {
  /** The component: the DaemonSet's name and its selector. */
  readonly name: string;
  /** The pods' `app.kubernetes.io/component`. */
  readonly component: string;
  /** The pods' annotations (the config checksum, among them). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: k8s.PodSpec;
  /** The pods' PriorityClass (see `NodeAgentPriority`): without one, a full node leaves the agent Pending. */
  readonly priorityClassName?: string;
}

/**
 * A DaemonSet of a per-node agent (log shipper, telemetry agent) on every node, whatever its taints: selected by its
 * name, rolled out 10 % of the nodes at a time, so that a bad configuration stops most nodes' shipping for no longer
 * than a few pods' start.
 */
export function nodeDaemonSet(scope: Construct, options: NodeDaemonSetOptions): k8s.KubeDaemonSet {
  return new k8s.KubeDaemonSet(scope, 'Resource', {
    metadata: { name: options.name },
    spec: {
      selector: { matchLabels: selectorLabels(options.name) },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromString('10%') } },
      template: {
        metadata: { labels: podLabels(options.name, options.component), annotations: { ...options.annotations } },
        spec: {
          ...(options.priorityClassName ? { priorityClassName: options.priorityClassName } : {}),
          // every taint: a log shipper must ship the logs of every node's pods (the control plane's, a tainted node
          // pool's), and the OpenTelemetry agent must run wherever a service's pods can (a service that tolerates a
          // pool's taint sends its OTLP to its own node's agent)
          tolerations: [{ operator: 'Exists' }],
          // every taint tolerated, a Windows node's too: the images are Linux ones; and no node that runs no DaemonSet
          // (EKS Fargate's, a virtual kubelet's), where the pods would never start and would stall every rollout
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [
            { key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: ['fargate'] },
            { key: 'type', operator: 'NotIn', values: ['virtual-kubelet'] },
          ] }] } } },
          ...options.spec,
        },
      },
    },
  });
}

