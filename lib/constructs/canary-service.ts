import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  DestinationRule, VirtualService, VirtualServiceSpecHttp, VirtualServiceSpecHttpMatch, VirtualServiceSpecHttpRoute,
} from '../../imports/networking.istio.io';
import { AuthorizationPolicy, AuthorizationPolicySpecAction } from '../../imports/security.istio.io';
import { chartNamespace, checkInteger, show, validationError } from '../errors';
import { ipv4CidrPrefix } from '../private/cidr';
import { goDuration } from '../private/units';
import { WEIGHTED_ROUTE } from '../slo/cluster-state';
import { APP_LABEL, CANARY_PIN, CANARY_PIN_ANSWER, TRACKS, TRACK_LABEL, Track } from '../slo/vocabulary';
import { meshPrincipal } from './mesh-policies';
import { service, serviceAccount, serviceHost } from './private/component';
import { portName, serviceDeployment } from './private/service-deployment';
import { TrafficSplit } from './traffic-split';
import { ServiceContainer, ServiceTelemetry, TrackPod, WorkloadPeer } from './types';

/** What a service serves to the outside through an Istio ingress Gateway. */
export interface Exposure {
  /** The Gateway, `namespace/name`. */
  readonly gateway: string;
  /** The external hosts it answers for. */
  readonly hosts: readonly string[];
  /**
   * The only paths served from outside: exact (`/api/orders`) or a prefix ending in `*` (`/api/*`). Every other path,
   * in any spelling, gets 404 at the edge and is refused by the service's authorization policy.
   */
  readonly paths: readonly string[];
  /**
   * Outside sources (IPv4 CIDR blocks) that may pin requests to the canary through the Gateway, such as CI's runners
   * for smoke tests. The pin route then matches the exposed paths too, and an AuthorizationPolicy (DENY) on the pods
   * refuses a pinned request from `ingressPrincipal` whose client address is in none of them.
   * @default - none: a pinned request from the Gateway takes the weighted route, its header removed
   */
  readonly pinSources?: readonly string[];
  /**
   * The mesh identity of the ingress gateway's pods that serve `gateway`: the source the pin policy refuses.
   * @default - none, which `pinSources` does not allow
   */
  readonly ingressPrincipal?: string;
}

/** The idle timeout a service's server is taken to have when its file names none: Node.js's (and uvicorn's). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT = Duration.seconds(5);

/** Properties of {@link CanaryService}. */
export interface CanaryServiceProps {
  /** The service name: the `app` label, the Service, DestinationRule and VirtualService, `<name>-<track>` Deployments. */
  readonly name: string;
  /** How its container runs: the port and scrape both tracks share, and the pod of each track unless it has its own. */
  readonly container: ServiceContainer;
  /** Image of the stable track, pinned by tag or digest. */
  readonly stableImage: string;
  /**
   * What the stable track runs, where it differs from `container`: the configuration released to it last.
   * @default - the pod of `container`
   */
  readonly stablePod?: TrackPod;
  /**
   * What the canary track runs, where it differs from `container`: the configuration under release.
   * @default - the pod of `container`
   */
  readonly canaryPod?: TrackPod;
  /**
   * Image of the canary track; required exactly when `split` sends traffic to a canary.
   * @default - no canary Deployment
   */
  readonly canaryImage?: string;
  /**
   * How traffic divides between the tracks.
   * @default TrafficSplit.stableOnly()
   */
  readonly split?: TrafficSplit;
  /**
   * Replicas of the stable Deployment, 1 to 50 (the range the environments allow). The canary runs the share
   * `canaryCapacityPercent` asks for, at least one, so capacity follows traffic.
   * @default 1
   */
  readonly stableReplicas?: number;
  /**
   * The weight, 0 to 100, the canary's replicas are sized for. A release sizes it for the weight it moves to next, so
   * that the pods are there (and ready, which the gate checks) before the route sends them that share, and never
   * shrinks it while traffic leaves it (a roll back, the end of a promotion).
   * @default - the split's canary weight
   */
  readonly canaryCapacityPercent?: number;
  /**
   * The OpenTelemetry variables the platform injects (any SDK reads them).
   * @default - none injected
   */
  readonly telemetry?: ServiceTelemetry;
  /**
   * Route timeout of requests to this service: the whole response, so for gRPC the whole call, streams included.
   * @default - 5 seconds for HTTP; none for gRPC (a route timeout would cut every streaming call; a gRPC client sets
   *   its own deadline, which the sidecar honours)
   */
  readonly timeout?: Duration;
  /**
   * How long the service's own server keeps an idle connection open before it closes it (its keep-alive or idle
   * timeout). The sidecars close idle connections to the service sooner, at four fifths of it: a proxy that sends a
   * request on a connection the server is closing gets a reset, which Envoy answers 503 (`UC`), and the gate would count
   * it against whichever track it hit, most often the canary, whose connections idle longest.
   * @default DEFAULT_KEEP_ALIVE_TIMEOUT (5 seconds, Node.js's; uvicorn's too; gunicorn's is 2 seconds, Go's net/http has none)
   */
  readonly keepAliveTimeout?: Duration;
  /**
   * An Istio Gateway to serve this service on as well, its hosts and the paths served there.
   * @default - reachable inside the mesh only
   */
  readonly expose?: Exposure;
}

/**
 * One service released by canary: a ServiceAccount, the Deployments `<name>-stable` and (while a canary is in flight)
 * `<name>-canary`, a Service selecting both by `app`, a DestinationRule with `stable` and `canary` subsets, connection
 * limits and outlier detection, and a VirtualService with the weighted route, the `x-canary: always` pin, timeouts and
 * retries. The pin works inside the mesh; through the Gateway only from `expose.pinSources`, and with none of them
 * the Gateway drops the header, so that no later hop honours it either.
 */
export class CanaryService extends Construct {
  /** The pods of every track of service `name`, before (or without) constructing it: for policies in other namespaces. */
  public static peerOf(name: string, namespace: string): WorkloadPeer {
    return { name, namespace, selector: { [APP_LABEL]: name } };
  }

  /** The mesh identity of service `name`'s pods: its ServiceAccount is named after it. */
  public static principalOf(name: string, namespace: string): string {
    return meshPrincipal(namespace, name);
  }

  /**
   * The in-cluster address of service `name` as its clients take it: an `http://` URL, or for a gRPC service the
   * target gRPC's name resolution reads, `dns:///<host>:<port>` (gRPC clients refuse `http://`).
   */
  public static urlOf(name: string, namespace: string, port: number, protocol: 'http' | 'grpc' = 'http'): string {
    return `${protocol === 'grpc' ? 'dns:///' : 'http://'}${serviceHost(name, namespace)}:${port}`;
  }

  public readonly name: string;
  /** `<name>.<namespace>.svc.cluster.local`: the host of the DestinationRule and VirtualService. */
  public readonly host: string;
  /** In-cluster URL of the service. */
  public readonly url: string;
  public readonly port: number;
  public readonly split: TrafficSplit;
  /** Pods of every track. */
  public readonly peer: WorkloadPeer;
  /** The identity Istio gives the pods, for authorization policies. */
  public readonly principal: string;

  public constructor(scope: Construct, id: string, props: CanaryServiceProps) {
    super(scope, id);
    this.name = props.name;
    this.port = props.container.port;
    this.split = props.split ?? TrafficSplit.stableOnly();
    const stableReplicas = props.stableReplicas ?? 1;
    const timeout = props.timeout ?? (props.container.protocol === 'grpc' ? undefined : Duration.seconds(5));
    const idleTimeout = goDuration(Duration.millis(idleMillisBelow((props.keepAliveTimeout ?? DEFAULT_KEEP_ALIVE_TIMEOUT).toMilliseconds())));
    const namespace = chartNamespace(this, 'CanaryService');
    if (this.split.hasCanary !== (props.canaryImage !== undefined)) {
      throw validationError(this, `'canaryImage' must be set exactly when the split has a canary (weight ${this.split.canaryPercent}), got ${show(props.canaryImage)}`);
    }
    checkInteger(this, 'stableReplicas', stableReplicas, 1, 50);
    const canaryCapacity = props.canaryCapacityPercent ?? this.split.canaryPercent;
    checkInteger(this, 'canaryCapacityPercent', canaryCapacity, this.split.canaryPercent, 100);
    const pinSources = props.expose?.pinSources ?? [];
    for (const [i, block] of pinSources.entries()) {
      if (ipv4CidrPrefix(block) === undefined) {
        throw validationError(this, `'expose.pinSources[${i}]' must be an IPv4 CIDR block such as "203.0.113.0/24", got ${show(block)}`);
      }
    }
    const ingressPrincipal = props.expose?.ingressPrincipal;
    if (pinSources.length > 0 && ingressPrincipal === undefined) {
      throw validationError(this, '\'expose.ingressPrincipal\' must name the ingress gateway\'s identity when \'expose.pinSources\' is set, got undefined');
    }
    this.host = serviceHost(this.name, namespace);
    this.url = CanaryService.urlOf(this.name, namespace, this.port, props.container.protocol);
    this.peer = CanaryService.peerOf(this.name, namespace);
    this.principal = CanaryService.principalOf(this.name, namespace);

    const account = serviceAccount(this, this.name, false);
    const images: Record<Track, string | undefined> = { stable: props.stableImage, canary: props.canaryImage };
    const pods: Record<Track, TrackPod | undefined> = { stable: props.stablePod, canary: props.canaryPod };
    for (const track of TRACKS) {
      const image = images[track];
      if (image === undefined) continue;
      serviceDeployment(this, track === 'stable' ? 'Resource' : 'Canary', {
        service: this.name,
        track,
        image,
        replicas: track === 'stable' ? stableReplicas : Math.max(1, Math.ceil(stableReplicas * canaryCapacity / 100)),
        serviceAccountName: account.name,
        container: withPod(props.container, pods[track]),
        ...(pods[track]?.hash ? { podHash: pods[track].hash } : {}),
        ...(props.telemetry ? { telemetry: props.telemetry } : {}),
      });
    }

    // both tracks: the VirtualService's subsets decide who gets what
    const protocol = props.container.protocol;
    service(this, this.name, [{ name: portName(protocol), port: this.port, appProtocol: protocol }], { selector: { [APP_LABEL]: this.name } });

    new DestinationRule(this, 'DestinationRule', {
      metadata: { name: this.name },
      spec: {
        host: this.host,
        trafficPolicy: {
          connectionPool: {
            tcp: { maxConnections: 1024, connectTimeout: '2s' },
            // Istio applies this pool to the server side's sidecar too, whose idle connections go to the app itself
            http: { http1MaxPendingRequests: 1024, http2MaxRequests: 1024, idleTimeout },
          },
          // eject a pod that keeps failing; at most half of a track, so a bad canary still shows in the SLO
          outlierDetection: { consecutive5XxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
        },
        subsets: TRACKS.map(track => ({ name: track, labels: { [TRACK_LABEL]: track } })),
      },
    });

    const destination = (track: Track, weight: number): VirtualServiceSpecHttpRoute =>
      ({ destination: { host: this.host, subset: track, port: { number: this.port } }, weight });
    const weighted = this.split.hasCanary
      ? [destination('stable', this.split.stablePercent), destination('canary', this.split.canaryPercent)]
      : [destination('stable', 100)];
    const policy = {
      ...(timeout ? { timeout: goDuration(timeout) } : {}),
      // only requests the app never received: retrying a 5xx, or a gRPC status the app answered (`unavailable`,
      // `cancelled` are Envoy's gRPC retry conditions), would hide a failing canary from its callers, and `reset`
      // retries a request the app may have acted on (a payment made twice); `reset-before-request` is Envoy 1.31's
      // safe part of it, in Istio since 1.23, but not for gRPC, whose streams it breaks (Istio leaves it out of its
      // own gRPC retries for that: istio/istio#55110)
      retries: { attempts: 2, retryOn: props.container.protocol === 'grpc' ? 'connect-failure,refused-stream' : 'connect-failure,refused-stream,reset-before-request' },
    };
    // inside the mesh every path; through the Gateway only the exposed ones: positive matches, so a spelling nobody
    // listed (`/METRICS`, `/metrics/`, `/%6Detrics`) falls through to the 404 below
    const expose = props.expose;
    const allowed = (extra: VirtualServiceSpecHttpMatch = {}): VirtualServiceSpecHttpMatch[] => (expose ? [
      { ...extra, gateways: ['mesh'] },
      ...expose.paths.map(p => ({ ...extra, uri: uriMatch(p), gateways: [expose.gateway] })),
    ] : [extra]);
    const pin: VirtualServiceSpecHttpMatch = { headers: { [CANARY_PIN.header]: { exact: CANARY_PIN.value } } };
    // from outside, the pin dilutes the canary's numbers and reaches code nobody has released: inside the mesh only,
    // through the Gateway for the allowlist alone (the AuthorizationPolicy below refuses everybody else)
    const edgePinPrincipal = expose !== undefined && pinSources.length > 0 ? ingressPrincipal : undefined;
    const http: VirtualServiceSpecHttp[] = [];
    if (this.split.hasCanary) {
      const match = edgePinPrincipal !== undefined ? allowed(pin) : [{ ...pin, gateways: ['mesh'] }];
      http.push({
        name: 'canary-pin', match, route: [destination('canary', 100)], ...policy,
        headers: { response: { set: { [CANARY_PIN_ANSWER.header]: CANARY_PIN_ANSWER.value } } },
      });
    }
    if (expose && edgePinPrincipal === undefined) {
      // the service forwards the header: kept, it would pin every hop after this one
      http.push({
        name: 'edge-pin-ignored',
        match: expose.paths.map(p => ({ ...pin, uri: uriMatch(p), gateways: [expose.gateway] })),
        route: weighted,
        headers: { request: { remove: [CANARY_PIN.header] } },
        ...policy,
      });
    }
    http.push({ name: WEIGHTED_ROUTE, ...(expose ? { match: allowed() } : {}), route: weighted, ...policy });
    if (expose) http.push({ name: 'not-exposed', match: [{ gateways: [expose.gateway] }], directResponse: { status: 404 } });
    new VirtualService(this, 'VirtualService', {
      metadata: { name: this.name },
      spec: {
        hosts: [this.host, ...(expose?.hosts ?? [])],
        gateways: expose ? [expose.gateway, 'mesh'] : ['mesh'],
        http,
      },
    });

    if (edgePinPrincipal !== undefined) {
      // remoteIpBlocks matches remote.ip, which the pod's sidecar reads from X-Forwarded-For: its last entry, the address
      // the ingress gateway got the connection from (the gateway appends it after whatever the client sent, so it cannot
      // be forged). It is the client's only where the gateway sees the client (source address preserved, or PROXY
      // protocol); behind an HTTP proxy it is the proxy's, whatever the gateway's `numTrustedProxies` (istio/istio#30166,
      // #47947), and allowlisted clients are refused too: it fails closed. Never list a proxy's own addresses.
      new AuthorizationPolicy(this, 'EdgePin', {
        metadata: { name: `edge-pin-to-${this.name}` },
        spec: {
          selector: { matchLabels: { ...this.peer.selector } },
          action: AuthorizationPolicySpecAction.DENY,
          rules: [{
            from: [{ source: { principals: [edgePinPrincipal], notRemoteIpBlocks: [...pinSources] } }],
            when: [{ key: `request.headers[${CANARY_PIN.header}]`, values: [CANARY_PIN.value] }],
          }],
        },
      });
    }
  }
}

/** `shared`'s port, protocol and scrape with `pod`'s configuration: the container of one track. */
function withPod(shared: ServiceContainer, pod: TrackPod | undefined): ServiceContainer {
  if (pod === undefined) return shared;
  const { port, protocol, metricsScrape } = shared;
  const { command, args, startupSeconds } = pod;
  return {
    port, protocol, readiness: pod.readiness, liveness: pod.liveness, ...(startupSeconds !== undefined ? { startupSeconds } : {}),
    runAsUser: pod.runAsUser, runAsGroup: pod.runAsGroup,
    writablePaths: pod.writablePaths, env: pod.env, secretEnv: pod.secretEnv, ...(command ? { command } : {}), ...(args ? { args } : {}),
    resources: pod.resources, terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds, ...(metricsScrape ? { metricsScrape } : {}),
  };
}

/** An exposed path as a VirtualService match: `/api/*` a prefix, anything else exact. */
function uriMatch(path: string): VirtualServiceSpecHttpMatch['uri'] {
  return path.endsWith('*') ? { prefix: path.slice(0, -1) } : { exact: path };
}

/**
 * The sidecars' idle timeout for a server that closes idle connections after `keepAliveMillis`: four fifths of it,
 * whole milliseconds, at least one (Envoy reads 0 as no idle timeout at all).
 */
function idleMillisBelow(keepAliveMillis: number): number {
  return Math.max(1, Math.floor((keepAliveMillis * 4) / 5));
}
