import { CLUSTER_LABEL, Track, workloadName } from './vocabulary';
import { DNS_LABEL } from '../private/names';

/**
 * What the cluster actually runs, as kube-state-metrics exports it: the Deployments of the services' tracks, their pods'
 * images, and (through its custom-resource-state configuration) the weights of each VirtualService's weighted route.
 * The names here are the contract between the exporter's configuration (lib/constructs/kube-state-metrics.ts: its
 * `--metric-allowlist` and CRS config are built from them) and the queries that read them.
 *
 * @see https://github.com/kubernetes/kube-state-metrics/tree/v2.20.0/docs/metrics/workload (deployment, pod and
 *   replicaset metrics, their labels)
 */

/** The route of a service's VirtualService that splits its traffic between the tracks by weight (CanaryService). */
export const WEIGHTED_ROUTE = 'weighted';

/** The metrics kube-state-metrics exports of Deployments, ReplicaSets and pods: only these (its `--metric-allowlist`). */
export const KSM_METRICS = {
  /** `{namespace, deployment}`: desired replicas. */
  deploymentSpecReplicas: 'kube_deployment_spec_replicas',
  /** `{namespace, deployment}`: pods of every ReplicaSet of the Deployment (old ones until they are gone). */
  deploymentReplicas: 'kube_deployment_status_replicas',
  /** `{namespace, deployment}`: available replicas. */
  deploymentReplicasAvailable: 'kube_deployment_status_replicas_available',
  /** `{namespace, deployment}`: replicas of the current pod template. */
  deploymentReplicasUpdated: 'kube_deployment_status_replicas_updated',
  /** `{namespace, deployment}`: the generation the controller has acted on. */
  deploymentObservedGeneration: 'kube_deployment_status_observed_generation',
  /** `{namespace, deployment}`: the generation of the spec. */
  deploymentMetadataGeneration: 'kube_deployment_metadata_generation',
  /** `{namespace, deployment, condition, status, reason}`: 1 for the condition's current status. */
  deploymentCondition: 'kube_deployment_status_condition',
  /** `{namespace, pod, uid, container, image_spec, image, image_id, container_id}`: 1 per container of a pod. */
  podContainerInfo: 'kube_pod_container_info',
  /** `{namespace, pod, uid, owner_kind, owner_name, owner_is_controller}`: 1 per owner of a pod. */
  podOwner: 'kube_pod_owner',
  /** `{namespace, pod, uid, phase}`: 1 for the pod's current phase, 0 for the others. */
  podStatusPhase: 'kube_pod_status_phase',
  /** `{namespace, replicaset, owner_kind, owner_name, owner_is_controller}`: 1 per owner of a ReplicaSet. */
  replicaSetOwner: 'kube_replicaset_owner',
  /** `{namespace, deployment, annotation_<name>}`: 1, for the annotations of `--metric-annotations-allowlist` only. */
  deploymentAnnotations: 'kube_deployment_annotations',
} as const;

/**
 * The annotation a service's Deployment carries when its track runs a recorded pod configuration (the rollout state's
 * `pod.hash`): kube-state-metrics exports it (`--metric-annotations-allowlist`), so that "the cluster runs this
 * configuration" is as visible as "this image", for a release that changes no image.
 */
export const POD_HASH_ANNOTATION = {
  name: 'obs-canary.io/pod',
  /** The label kube-state-metrics gives it: `annotation_` and the name with every other character as `_`. */
  label: 'annotation_obs_canary_io_pod',
} as const;

/**
 * The route weights of VirtualServices, from kube-state-metrics' custom-resource-state configuration: one gauge per
 * destination of the named HTTP route, its value the destination's `weight`. The full name is
 * `<prefix>_<name>`; the prefix is set in the configuration rather than left to the exporter's default.
 */
export const ROUTE_WEIGHT = {
  prefix: 'kube_customresource',
  name: 'virtualservice_route_weight',
  metric: 'kube_customresource_virtualservice_route_weight',
  /** Labels: the VirtualService's namespace and name, the route's name, the destination's subset and host. */
  labels: { namespace: 'namespace', virtualService: 'virtualservice', route: 'route', subset: 'subset', host: 'host' },
} as const;

/** Every metric name the exporter must keep: the allowlist. */
export const CLUSTER_STATE_METRICS: readonly string[] = [...Object.values(KSM_METRICS), ROUTE_WEIGHT.metric];

/** What a release step asks the cluster to run: one track's Deployment, ready with one image, and the route's weights. */
export interface ObservedRelease {
  /** The service: its VirtualService, its container, and its Deployments `<service>-<track>`. */
  readonly service: string;
  /** Its namespace. */
  readonly namespace: string;
  /** The track whose Deployment must run `image`, all its replicas available. */
  readonly track: Track;
  /** The image, exactly as the Deployment's pod template names it (kube-state-metrics' `image_spec`). */
  readonly image: string;
  /**
   * The canary's weight the VirtualService's weighted route must give subset `canary`, 0 to 100 (0: a canary that
   * only the pin reaches, or a roll back that has routed everything to stable).
   * @default - the route is not checked
   */
  readonly canaryWeight?: number;
  /**
   * The hash of the pod configuration the Deployment must carry ({@link POD_HASH_ANNOTATION}).
   * @default - not checked (a track without a recorded configuration)
   */
  readonly podHash?: string;
  /**
   * The cluster, when the store holds several clusters' series: every selector carries `cluster="<name>"`
   * ({@link CLUSTER_LABEL}).
   * @default - none
   */
  readonly cluster?: string;
}

/** What a canary step asks the cluster to run: {@link appliedCanaryQuery}. */
export interface AppliedCanary {
  /** The service: its VirtualService, its container, and `<service>-canary`. */
  readonly service: string;
  /** Its namespace. */
  readonly namespace: string;
  /** The canary's weight in the VirtualService's weighted route, 0 to 100. */
  readonly weight: number;
  /** The canary's image, exactly as the Deployment's pod template names it (kube-state-metrics' `image_spec`). */
  readonly image: string;
}

/**
 * The PromQL expression that answers "does the cluster run this canary weight with this image" (one series when it
 * does, nothing otherwise): {@link observedReleaseQuery} of the canary track at `weight`.
 */
export function appliedCanaryQuery(canary: AppliedCanary): string {
  const { service, namespace, weight, image } = canary;
  return observedReleaseQuery({ service, namespace, track: 'canary', image, canaryWeight: weight });
}

/**
 * The PromQL expression that answers "does the cluster run this": one series when
 *
 * - with `canaryWeight` set, the VirtualService `<service>` gives subset `canary` that weight in its `weighted` route,
 * - the Deployment `<service>-<track>` has been observed at its current generation, reports `Available`, and has all
 *   its desired replicas updated and available with no pods of an older ReplicaSet left, and
 * - exactly that many containers named `<service>` run in live pods (Pending or Running: an evicted pod keeps its
 *   series until it is garbage-collected) owned (through their ReplicaSet) by that Deployment, all with image `image`;
 * - with `podHash` set, the Deployment carries it ({@link POD_HASH_ANNOTATION}): the generation checks above then say
 *   its pods run that configuration;
 *
 * and nothing otherwise, including while kube-state-metrics is not scraped (its series go stale). Pods are joined to
 * their Deployment through `kube_pod_owner` (pod → ReplicaSet) and `kube_replicaset_owner` (ReplicaSet → Deployment).
 *
 * @throws if a name is not a DNS label, the weight is not an integer from 0 to 100 or the image is empty
 */
export function observedReleaseQuery(release: ObservedRelease): string {
  const { service, namespace, track, image, canaryWeight, podHash, cluster } = release;
  checkNames(service, namespace);
  if (canaryWeight !== undefined && (!Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 100)) {
    throw new Error(`'weight' must be an integer from 0 to 100, got ${JSON.stringify(canaryWeight)}`);
  }
  if (image.trim() === '') throw new Error(`'image' must name the ${track}'s image, got ${JSON.stringify(image)}`);

  const m = KSM_METRICS;
  // the cluster first: in a central store, every series of the answer is this cluster's, so the joins on namespace stay in it
  const scope: Record<string, string> = { ...(cluster !== undefined ? { [CLUSTER_LABEL]: cluster } : {}), namespace };
  const scopeText = Object.entries(scope).map(([k, v]) => `${k}=${quote(v)}`).join(',');
  const name = workloadName(service, track);
  const deployment = selector({ ...scope, deployment: name });
  const same = (metric: string, op: '==' | '>=', other: string) => `${metric}${deployment} ${op} on (namespace, deployment) ${other}${deployment}`;
  const podsOfDeployment = `label_replace(${m.podOwner}${selector({ ...scope, owner_kind: 'ReplicaSet' })}, "replicaset", "$1", "owner_name", "(.+)")`
    + ` and on (namespace, replicaset) ${m.replicaSetOwner}${selector({ ...scope, owner_kind: 'Deployment', owner_name: name })}`;
  // an evicted or finished pod keeps its series until it is garbage-collected: only pods that run or are about to count
  const live = `${m.podStatusPhase}{${scopeText},phase=~"Pending|Running"} == 1`;
  const containers = (imageMatcher: string) => `${m.podContainerInfo}{${scopeText},container=${quote(service)},image_spec${imageMatcher}}`
    + ` and on (namespace, pod) (${podsOfDeployment}) and on (namespace, pod) (${live})`;
  const conditions = [
    same(m.deploymentObservedGeneration, '>=', m.deploymentMetadataGeneration),
    `${m.deploymentCondition}${selector({ ...scope, deployment: name, condition: 'Available', status: 'true' })} == 1`,
    same(m.deploymentReplicasAvailable, '==', m.deploymentSpecReplicas),
    same(m.deploymentReplicasUpdated, '==', m.deploymentSpecReplicas),
    same(m.deploymentReplicas, '==', m.deploymentSpecReplicas),
    `count by (namespace) (${containers(`=${quote(image)}`)}) == on (namespace) max by (namespace) (${m.deploymentSpecReplicas}${deployment})`,
    ...(podHash === undefined ? [] : [`${m.deploymentAnnotations}${selector({ ...scope, deployment: name, [POD_HASH_ANNOTATION.label]: podHash })} == 1`]),
  ];
  // the first term's series is the answer (its value does not matter): the route's weight when it is checked, else the
  // Deployment's desired replicas
  const [first, ...rest] = canaryWeight === undefined
    ? [`max by (namespace) (${m.deploymentSpecReplicas}${deployment}) > 0`, ...conditions]
    : [`${ROUTE_WEIGHT.metric}${selector({ ...scope, virtualservice: service, route: WEIGHTED_ROUTE, subset: 'canary' })} == ${canaryWeight}`, ...conditions];
  const other = `${containers(`!=${quote(image)}`)}`;
  return `(${first})\n${rest.map(c => `and on (namespace) (${c})`).join('\n')}\nunless on (namespace) (${other})`;
}

/**
 * The PromQL expression whose value is the most available replicas the Deployment `<service>-<track>` had in the
 * `window` before the evaluation time (kube-state-metrics' available replicas, over the window, whichever of its pods
 * reported them: one series after the exporter was replaced too): 0 when not one of its pods was ready for the whole
 * window. Empty while kube-state-metrics is not scraped, and when it reported no Deployment of that name in the window
 * before (one created within the window, as in a cluster that joined, has not been without pods all window; one
 * deleted and created again under the same name is not told apart).
 *
 * Why the gate asks: callers whose route sends a share to a subset with no ready pod get Istio's "no healthy upstream"
 * (503, `UH`) from their own sidecar, reported with `destination_workload="unknown"`: no track's numbers count those
 * failures, so a canary whose pods all went away after its step was applied would look like one that gets no traffic.
 *
 * @throws if a name is not a DNS label
 */
export function mostAvailableQuery(workload: Pick<ObservedRelease, 'service' | 'namespace' | 'track' | 'cluster'>, window: string): string {
  const { service, namespace, track, cluster } = workload;
  checkNames(service, namespace);
  const labels = { ...(cluster !== undefined ? { [CLUSTER_LABEL]: cluster } : {}), namespace, deployment: workloadName(service, track) };
  const series = `${KSM_METRICS.deploymentReplicasAvailable}${selector(labels)}`;
  return `max(max_over_time(${series}[${window}])) and on () count(count_over_time(${series}[${window}] offset ${window}))`;
}

/**
 * The PromQL expression that answers "could Prometheus see this release at all": one series when the kinds of series
 * {@link observedReleaseQuery} reads, and that exist whether or not the release is applied, are there at some value:
 * the desired replicas of the service's stable Deployment (which exists whenever the service does) and, with
 * `canaryWeight` checked, the weights of its VirtualService's weighted route (stable's at least: kube-state-metrics'
 * custom-resource configuration). Empty while kube-state-metrics is down, not scraped or missing that configuration:
 * then an empty {@link observedReleaseQuery} means "unknown", a hold, not "not applied", which would roll the canary
 * back at its deadline for a monitoring fault. (The pod-hash annotation is not among them: a Deployment still at an
 * older configuration lacks it too, which is "not applied".)
 */
export function clusterSeenQuery(release: SeenRelease): string {
  return seenTerms(release).map(t => t.promql).join(' and on () ');
}

/** What {@link clusterSeenQuery} needs, in words, for the message of a hold when Prometheus cannot see the release. */
export function clusterSeenRequirements(release: SeenRelease): string {
  return seenTerms(release).map(t => t.what).join(' and ');
}

type SeenRelease = Pick<ObservedRelease, 'service' | 'namespace' | 'canaryWeight' | 'cluster'>;

/** The series {@link clusterSeenQuery} asks for, each with its query and what it is in words. */
function seenTerms({ service, namespace, canaryWeight, cluster }: SeenRelease): Array<{ promql: string; what: string }> {
  const scope = { ...(cluster !== undefined ? { [CLUSTER_LABEL]: cluster } : {}), namespace };
  const stable = workloadName(service, 'stable');
  return [
    { promql: `count(${KSM_METRICS.deploymentSpecReplicas}${selector({ ...scope, deployment: stable })})`, what: `the Deployment ${stable} in ${namespace}` },
    ...(canaryWeight === undefined ? [] : [{
      promql: `count(${ROUTE_WEIGHT.metric}${selector({ ...scope, virtualservice: service, route: WEIGHTED_ROUTE })})`,
      what: `the route weights of the VirtualService ${service} (its custom-resource configuration)`,
    }]),
  ];
}

/** Throws unless the service's and the namespace's names are DNS labels (they go into selectors as they are). */
function checkNames(service: string, namespace: string): void {
  for (const [field, value] of [['service', service], ['namespace', namespace]] as const) {
    if (!DNS_LABEL.test(value)) throw new Error(`'${field}' must be a DNS label, got ${JSON.stringify(value)}`);
  }
}

/** A PromQL string literal: JSON's escapes are Go's for quotes, backslashes and control characters. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function selector(labels: Readonly<Record<string, string>>): string {
  return `{${Object.entries(labels).map(([k, v]) => `${k}=${quote(v)}`).join(',')}}`;
}
