import { Duration, Size } from 'cdk8s';
import { Construct } from 'constructs';
import { CANARY_PIN, PATHS, ServiceContract, TRACKS, Track } from '../../apps/contract';
import { DestinationRule, VirtualService, VirtualServiceSpecHttp } from '../../imports/networking.istio.io';
import { chartNamespace, checkInteger, show, validationError } from '../errors';
import { goDuration } from '../private/units';
import { service, serviceAccount, serviceHost } from './private/component';
import { serviceDeployment } from './private/service-deployment';
import { TrafficSplit } from './traffic-split';
import { ContainerResources, WorkloadPeer } from './types';

/** Properties of {@link CanaryService}. */
export interface CanaryServiceProps {
  /** The service's run contract (name, port, paths). */
  readonly contract: ServiceContract;
  /** Image of the stable track, pinned by tag or digest. */
  readonly stableImage: string;
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
   * Replicas of the stable Deployment, 1 to 50 (the range the environments allow). The canary runs the share its
   * weight asks for, at least one, so capacity follows traffic.
   * @default 1
   */
  readonly stableReplicas?: number;
  /** Where the services send OTLP over gRPC: {@link OtelCollector.otlpGrpcUrl}. */
  readonly otlpEndpoint: string;
  /** `deployment.environment` of the traces. */
  readonly environmentName: string;
  /**
   * Head sampling ratio of the service's tracing (parent-based).
   * @default 1
   */
  readonly traceSamplingRatio?: number;
  /**
   * Environment variables of the service beyond the contract's common ones.
   * @default - none
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * pino level.
   * @default 'info'
   */
  readonly logLevel?: string;
  /**
   * CPU and memory of each pod's service container.
   * @default - 50m/500m CPU, 96Mi/256Mi
   */
  readonly resources?: ContainerResources;
  /**
   * Route timeout of requests to this service.
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;
  /**
   * An Istio Gateway (`namespace/name`) to serve this service on as well, and the external hosts it answers for.
   * Health and metrics paths are answered with 404 there.
   * @default - reachable inside the mesh only
   */
  readonly expose?: { readonly gateway: string; readonly hosts: readonly string[] };
}

/**
 * One service released by canary: a ServiceAccount, the Deployments `<name>-stable` and (while a canary is in flight)
 * `<name>-canary`, a Service selecting both by `app`, a DestinationRule with `stable` and `canary` subsets, connection
 * limits and outlier detection, and a VirtualService with the weighted route, the `x-canary: always` pin, timeouts and
 * retries.
 */
export class CanaryService extends Construct {
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
    const { contract } = props;
    this.name = contract.name;
    this.port = contract.defaultPort;
    this.split = props.split ?? TrafficSplit.stableOnly();
    const stableReplicas = props.stableReplicas ?? 1;
    const timeout = props.timeout ?? Duration.seconds(5);
    const namespace = chartNamespace(this, 'CanaryService');
    if (this.split.hasCanary !== (props.canaryImage !== undefined)) {
      throw validationError(this, `'canaryImage' must be set exactly when the split has a canary (weight ${this.split.canaryPercent}), got ${show(props.canaryImage)}`);
    }
    checkInteger(this, 'stableReplicas', stableReplicas, 1, 50);
    this.host = serviceHost(this.name, namespace);
    this.url = `http://${this.host}:${this.port}`;
    this.peer = { name: this.name, namespace, selector: { app: this.name } };
    this.principal = `cluster.local/ns/${namespace}/sa/${this.name}`;

    const account = serviceAccount(this, this.name, false);
    const images: Record<Track, string | undefined> = { stable: props.stableImage, canary: props.canaryImage };
    for (const track of TRACKS) {
      const image = images[track];
      if (image === undefined) continue;
      serviceDeployment(this, track === 'stable' ? 'Resource' : 'Canary', {
        contract,
        track,
        image,
        replicas: track === 'stable' ? stableReplicas : Math.max(1, Math.ceil(stableReplicas * this.split.canaryPercent / 100)),
        serviceAccountName: account.name,
        env: props.env ?? {},
        otlpEndpoint: props.otlpEndpoint,
        traceSamplingRatio: props.traceSamplingRatio ?? 1,
        environmentName: props.environmentName,
        logLevel: props.logLevel ?? 'info',
        resources: props.resources ?? {
          cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(96), memoryLimit: Size.mebibytes(256),
        },
      });
    }

    // both tracks: the VirtualService's subsets decide who gets what
    service(this, this.name, [{ name: 'http', port: this.port, appProtocol: 'http' }], { selector: { app: this.name } });

    new DestinationRule(this, 'DestinationRule', {
      metadata: { name: this.name },
      spec: {
        host: this.host,
        trafficPolicy: {
          connectionPool: {
            tcp: { maxConnections: 1024, connectTimeout: '2s' },
            http: { http1MaxPendingRequests: 1024, http2MaxRequests: 1024, idleTimeout: '60s' },
          },
          // eject a pod that keeps failing; at most half of a track, so a bad canary still shows in the SLO
          outlierDetection: { consecutive5XxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
        },
        subsets: TRACKS.map(track => ({ name: track, labels: { version: track } })),
      },
    });

    const destination = (track: Track, weight: number) => ({ destination: { host: this.host, subset: track, port: { number: this.port } }, weight });
    const policy = {
      timeout: goDuration(timeout),
      // only failures that never reached the app: retrying a 5xx would hide a failing canary from its callers
      retries: { attempts: 2, retryOn: 'connect-failure,refused-stream,unavailable,cancelled,reset' },
    };
    const http: VirtualServiceSpecHttp[] = [];
    if (props.expose) {
      http.push({
        name: 'not-outside',
        match: [PATHS.metrics, PATHS.liveness, PATHS.readiness].map(p => ({ uri: { exact: p }, gateways: [props.expose!.gateway] })),
        directResponse: { status: 404 },
      });
    }
    if (this.split.hasCanary) {
      http.push({
        name: 'canary-pin',
        match: [{ headers: { [CANARY_PIN.header]: { exact: CANARY_PIN.value } } }],
        route: [destination('canary', 100)],
        ...policy,
      });
    }
    http.push({
      name: 'weighted',
      route: this.split.hasCanary
        ? [destination('stable', this.split.stablePercent), destination('canary', this.split.canaryPercent)]
        : [destination('stable', 100)],
      ...policy,
    });
    new VirtualService(this, 'VirtualService', {
      metadata: { name: this.name },
      spec: {
        hosts: [this.host, ...(props.expose?.hosts ?? [])],
        gateways: props.expose ? [props.expose.gateway, 'mesh'] : ['mesh'],
        http,
      },
    });
  }
}
