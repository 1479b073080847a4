import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config/environment';
import { CanaryService, CanaryServiceProps, Exposure } from '../constructs/canary-service';
import { GatewayListener, IstioGateway } from '../constructs/istio-gateway';
import { ISTIOD_XDS_PORT, istiodPeer } from '../constructs/istio-scrape';
import { MeshPolicies, meshPrincipal } from '../constructs/mesh-policies';
import { WIDEST_PREFIX } from '../config/egress-checks';
import { dnsPeer } from '../config/egress-plan';
import { FlowPeer, NetworkFlow, NetworkPolicies, cidrs, pods } from '../constructs/network-policies';
import { TrafficSplit } from '../constructs/traffic-split';
import { WorkloadPeer } from '../constructs/types';
import { parseDuration } from '../rollout/duration';
import { settingsOf } from '../rollout/settings';
import { RolloutState } from '../rollout/state';
import { Rollouts } from '../rollout/store';
import { ipv4BlocksCover, ipv4CidrPrefix } from '../private/cidr';
import { Services, egressCidrs, exposedHosts } from '../services/catalog';
import { ServiceFileError, ServiceSpec, edgeMethods, operationalPaths } from '../services/service';
import { ENVOY_METRICS_PORT, MERGED_METRICS_PORT, namespaceObject } from './namespaces';
import { containerOf, trackPodOf } from './service-pods';
import { StackChart } from './stack-chart';

/** Properties of {@link ServicesChart}. */
export interface ServicesChartProps {
  readonly env: EnvironmentConfig;
  /** The namespace this chart renders: every service whose file names it. */
  readonly namespace: string;
  /** Every service (those of other namespaces too: callers and `serviceUrl`s may cross namespaces). */
  readonly services: Services;
  /** The git-tracked rollout state of each service: images and weights. */
  readonly rollouts: Rollouts;
  /** Where the services and their sidecars send OTLP: {@link OtelCollector.otlpGrpcUrl}. */
  readonly otlpEndpoint: string;
  /**
   * The chart's directory below the environment's.
   * @default - the chart's id
   */
  readonly directory?: string;
}

/** The name of the Istio Gateway a namespace gets when one of its services is exposed through the environment's ingress. */
export const EDGE_GATEWAY = 'edge';


/**
 * One namespace of services released by canary: for each service file that names it, stable and (while one is in
 * flight) canary Deployments with Istio routing from the rollout state; mutual TLS, calls allowed only from the
 * callers the files name and from the ingress gateway on the exposed paths (a pinned request from outside only from
 * the environment's `canaryPinSources`), sidecar tracing, and a default-deny
 * network policy with one allow per flow. Flows across namespaces (callers elsewhere, the Collector, Prometheus) are
 * allowed by `defineStack`, in both charts.
 */
export class ServicesChart extends StackChart {
  public readonly services: Readonly<Record<string, CanaryService>> = {};
  /** The namespace's Gateway on the environment's ingress, when one of its services is exposed through it. */
  public readonly gateway?: IstioGateway;
  public readonly mesh: MeshPolicies;
  public readonly network: NetworkPolicies;

  public constructor(scope: Construct, id: string, props: ServicesChartProps) {
    super(scope, id, { namespace: props.namespace, ...(props.directory ? { directory: props.directory } : {}) });
    const { env, namespace } = props;
    const specs = Object.values(props.services).filter(s => s.namespace === namespace);

    namespaceObject(this, namespace, {
      'istio-injection': 'enabled',
      // "restricted" admits sidecars only with Istio's CNI plugin (no privileged init container); see the README
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'v1.28',
    });
    this.mesh = new MeshPolicies(this, 'Mesh', { tracingSamplingPercent: env.apps.meshSamplingPercent });
    const everyPod: FlowPeer = { kind: 'namespace', namespace };
    this.network = new NetworkPolicies(this, 'NetworkPolicies', {
      flows: [
        { name: 'dns', from: everyPod, to: dnsPeer(env.egress.dns), ports: env.egress.dns.ports },
        // istiod's xDS and certificate port
        { name: 'sidecars-to-istiod', from: everyPod, to: pods(istiodPeer(env.apps.istiod.namespace)), ports: [{ port: ISTIOD_XDS_PORT }] },
      ],
    });

    const listeners = edgeListeners(specs.filter(s => !s.expose?.gateway), env.name);
    if (listeners.length > 0) {
      this.gateway = new IstioGateway(this, 'Ingress', { name: EDGE_GATEWAY, selector: env.apps.ingressGateway.selector, listeners });
    }
    const ingress = env.apps.ingressGateway;
    const ingressPods: WorkloadPeer = { name: 'ingress-gateway', namespace: ingress.namespace, selector: ingress.selector };
    const ingressPrincipal = meshPrincipal(ingress.namespace, ingress.serviceAccount);
    const services: Record<string, CanaryService> = {};
    for (const spec of specs) {
      const hosts = exposedHosts(spec, env.name);
      // a Gateway of the team's own is served by its own pods, whose identity and labels the service file gives
      const own = spec.expose?.gatewayPods;
      const edge = own
        ? { pods: { name: `${spec.name}-gateway`, namespace: own.namespace, selector: own.labels }, principal: meshPrincipal(own.namespace, own.serviceAccount) }
        : { pods: ingressPods, principal: ingressPrincipal };
      const expose: Exposure | undefined = spec.expose && hosts.length > 0
        ? {
          gateway: spec.expose.gateway ?? this.gateway!.ref, hosts, paths: spec.expose.paths,
          pinSources: env.apps.canaryPinSources, ingressPrincipal: edge.principal,
        }
        : undefined;
      const settings = settingsOf(props.rollouts[spec.name], spec);
      const stableReplicas = spec.replicas?.[env.name] ?? env.apps.stableReplicas;
      checkStartupTime(spec, env.name, stableReplicas, settings.analysis.progressDeadline);
      const service = new CanaryService(this, spec.name, {
        name: spec.name,
        container: containerOf(spec, env, props.services),
        ...tracks(props.rollouts[spec.name], settings.steps),
        stableReplicas,
        ...(spec.telemetry ? {
          telemetry: { otlpEndpoint: props.otlpEndpoint, samplingRatio: env.apps.traceSamplingRatio, environment: env.name },
        } : {}),
        ...(spec.timeout ? { timeout: Duration.millis(parseDuration(spec.timeout, 'timeout')) } : {}),
        ...(spec.keepAliveTimeout ? { keepAliveTimeout: Duration.millis(parseDuration(spec.keepAliveTimeout, 'keepAliveTimeout')) } : {}),
        ...(expose ? { expose } : {}),
      });
      services[spec.name] = service;
      const operational = operationalPaths(spec);
      if (expose) {
        // positive rules: a path or method nobody listed is refused, in whatever spelling it arrives; and the probe and
        // scrape paths are not served from outside even when a listed prefix (/*) covers them
        this.mesh.allow({
          name: `ingress-to-${spec.name}`, selector: service.peer.selector,
          principals: [edge.principal],
          to: {
            methods: [...edgeMethods(spec)], paths: [...expose.paths],
            // and below them (`/metrics/`), which a router that ignores a trailing slash serves as the same path
            ...(operational.length > 0 ? { notPaths: operationalPatterns(operational) } : {}),
          },
        });
        this.network.allow({ name: `ingress-to-${spec.name}`, from: pods(edge.pods), to: pods(service.peer), ports: [{ port: service.port }] });
      }
      const principals = [
        ...(spec.callers ?? []).map(caller => principalOf(props.services[caller])),
        ...(spec.callerIdentities ?? []).map(i => meshPrincipal(i.namespace, i.serviceAccount)),
      ];
      if (principals.length > 0) {
        this.mesh.allow({
          name: `callers-to-${spec.name}`, selector: service.peer.selector, principals,
          // the probe and scrape paths are the kubelet's and Prometheus's, never a caller's
          ...(operational.length > 0 ? { to: { notPaths: operationalPatterns(operational) } } : {}),
        });
      }
      for (const [i, identity] of (spec.callerIdentities ?? []).entries()) {
        this.network.allow({
          name: `identity-${i}-to-${spec.name}`, from: { kind: 'namespace', namespace: identity.namespace }, to: pods(service.peer),
          ports: [{ port: service.port }],
        });
      }
      for (const flow of egressFlows(spec, env, service.peer)) this.network.allow(flow);
    }
    this.services = services;
    // the metrics ports are served by the sidecar agent and Envoy, outside the inbound listener; the rule states the
    // intent and keeps scrapes working should Istio ever intercept them
    this.mesh.allow({
      name: 'prometheus-scrapes', selector: {},
      to: { ports: [String(MERGED_METRICS_PORT), String(ENVOY_METRICS_PORT)], methods: ['GET'], paths: ['/stats/prometheus'] },
    });
  }
}

/**
 * The flows of a service's `egress` entries in an environment: from its pods (both tracks) to the entry's pods, or to its
 * CIDR blocks there (none: no flow). A block wider than /8 needs the environment's `egress.allowWideCidrs`, as the
 * platform's own dependencies do.
 *
 * @throws {@link ServiceFileError} naming the entry, when a block is too wide for the environment
 */
function egressFlows(spec: ServiceSpec, env: EnvironmentConfig, from: WorkloadPeer): NetworkFlow[] {
  const blocksOf = (spec.egress ?? []).map(entry => egressCidrs(entry, env.name));
  const flows = (spec.egress ?? []).flatMap((entry, i): NetworkFlow[] => {
    const blocks = blocksOf[i];
    const wide = blocks.filter(cidr => (ipv4CidrPrefix(cidr) ?? 0) < WIDEST_PREFIX);
    if (wide.length > 0 && env.egress.allowWideCidrs !== true) {
      throw new ServiceFileError(spec.file, [`'egress[${i}].cidrs' must be blocks of /${WIDEST_PREFIX} or narrower in ${env.name} (the addresses of `
        + `${entry.name} itself), unless the environment's 'egress.allowWideCidrs' is true; got ${wide.map(c => JSON.stringify(c)).join(', ')}`]);
    }
    const to = entry.namespace !== undefined && entry.podLabels !== undefined
      ? pods({ name: entry.name, namespace: entry.namespace, selector: entry.podLabels })
      : blocks.length > 0 ? cidrs(blocks) : undefined;
    return to ? [{ name: `${spec.name}-to-${entry.name}`, from: pods(from), to, ports: entry.ports.map(port => ({ port })) }] : [];
  });
  // all of the service's blocks together may not hold all of the cluster's own addresses: that would open every pod
  // where a CNI matches blocks against pods (Calico, Cilium); a database in the same VPC is a narrower block, pods are
  // named by their labels. A central topology's services run in application clusters whose addresses are not
  // configured (clusterCidrs is the observability cluster's), so there the check does not apply.
  const own = env.topology === undefined && env.egress.allowWideCidrs !== true ? env.egress.clusterCidrs ?? [] : [];
  const all = blocksOf.flat();
  const opened = own.filter(cidr => ipv4BlocksCover(all, cidr));
  if (opened.length > 0) {
    throw new ServiceFileError(spec.file, [`'egress' must not hold all of ${env.name}'s own addresses (egress.clusterCidrs ${opened.join(', ')}), `
      + `with ${all.map(c => JSON.stringify(c)).join(', ')}: it would open every pod of the cluster; give each dependency's own block, or its pods `
      + 'by namespace and podLabels']);
  }
  return flows;
}

/**
 * A promotion replaces stable's pods one at a time (a surge pod, none unavailable), each taking up to the service's
 * `probes.startupSeconds` to start, and is rolled back at its progress deadline: a slow-starting service whose stable
 * replicas cannot all start within it would lose every release that passed its checks.
 *
 * @throws {@link ServiceFileError} when they cannot
 */
function checkStartupTime(spec: ServiceSpec, env: string, replicas: number, deadline: string): void {
  const seconds = spec.probes.startupSeconds;
  if (seconds === undefined) return;
  if (replicas * seconds * 1000 < parseDuration(deadline, 'analysis.progressDeadline')) return;
  throw new ServiceFileError(spec.file, [`'probes.startupSeconds' (${seconds}) × the stable replicas in ${env} (${replicas}) reaches `
    + `'analysis.progressDeadline' (${deadline}): a promotion starts stable's pods one at a time and is rolled back at the deadline; `
    + `give the service file (or its state) an analysis.progressDeadline above ${replicas * seconds}s`]);
}

/** The mesh identity of a service's pods. */
export function principalOf(spec: ServiceSpec): string {
  return CanaryService.principalOf(spec.name, spec.namespace);
}

/** The pods of a service, in any namespace. */
export function peerOf(spec: ServiceSpec): WorkloadPeer {
  return CanaryService.peerOf(spec.name, spec.namespace);
}

/** Operational paths as AuthorizationPolicy patterns: each, and what lies below it (`/metrics/`, `/metrics/x`). */
function operationalPatterns(paths: readonly string[]): string[] {
  return paths.flatMap(p => [p, p.endsWith('/') ? `${p}*` : `${p}/*`]);
}

/** The hosts of the services exposed through the environment's ingress in `env`, grouped by certificate. */
function edgeListeners(specs: readonly ServiceSpec[], env: string): GatewayListener[] {
  const byCredential = new Map<string | undefined, string[]>();
  for (const spec of specs) {
    const credential = spec.expose?.tls?.[env]?.credentialName;
    byCredential.set(credential, [...(byCredential.get(credential) ?? []), ...exposedHosts(spec, env)]);
  }
  return [...byCredential.entries()].filter(([, hosts]) => hosts.length > 0)
    .map(([credential, hosts]) => ({ hosts, ...(credential ? { tlsCredentialName: credential } : {}) }));
}

/**
 * The images, pods and split of a service from its rollout state: each track runs the image and the configuration
 * its record holds (without a record, what the service file says now). While a promotion is under way stable already
 * runs the canary's image and configuration, and the canary keeps its weight until stable is observed ready with them.
 */
function tracks(state: RolloutState, steps: readonly number[]):
  Pick<CanaryServiceProps, 'stableImage' | 'stablePod' | 'canaryImage' | 'canaryPod' | 'split' | 'canaryCapacityPercent'> {
  const canary = state.canary;
  const stable = canary?.phase === 'promoting' ? canary : state.stable;
  return {
    stableImage: stable.image,
    ...(stable.pod ? { stablePod: trackPodOf(stable.pod) } : {}),
    ...(canary ? { canaryImage: canary.image, split: TrafficSplit.canary(canary.weight) } : { split: TrafficSplit.stableOnly() }),
    ...(canary?.pod ? { canaryPod: trackPodOf(canary.pod) } : {}),
    ...(canary ? { canaryCapacityPercent: canaryCapacityOf(canary, state.history, steps) } : {}),
  };
}

/**
 * The weight a canary's replicas are sized for, the same from its start to its removal unless it moves on a step: the
 * next step's (its pods start before the route gives them that share); promoting, the size it had at its weight; while
 * traffic leaves it (draining, rolling back), the size it had before (the history entry that ended it says from which
 * weight). Shrinking it in the commit that moves its traffic away would stop pods that still get requests; growing it
 * would start more pods of an image being rolled back. When the history no longer holds that entry: 100, the most it
 * may have had.
 */
function canaryCapacityOf(canary: NonNullable<RolloutState['canary']>, history: RolloutState['history'], steps: readonly number[]): number {
  const sizedFor = (weight: number): number => steps.find(step => step > weight) ?? weight;
  const phase = canary.phase ?? 'progressing';
  if (phase === 'progressing' || phase === 'promoting') return sizedFor(canary.weight);
  const ended = history.findLast(e => e.image === canary.image && e.toWeight === 0 && (e.decision === 'rollback' || e.decision === 'promote'));
  return ended ? sizedFor(ended.fromWeight) : 100;
}
