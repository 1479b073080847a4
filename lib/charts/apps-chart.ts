import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ENV, PATHS, SERVICES } from '../../apps/contract';
import { EnvironmentConfig } from '../config/environment';
import { Rollouts } from '../delivery/store';
import { CanaryService } from '../constructs/canary-service';
import { IstioGateway } from '../constructs/istio-gateway';
import { MeshPolicies } from '../constructs/mesh-policies';
import { CLUSTER_DNS, DNS_PORTS, FlowPeer, NetworkPolicies, pods } from '../constructs/network-policies';
import { TrafficSplit } from '../constructs/traffic-split';
import { WorkloadPeer } from '../constructs/types';
import { RolloutState } from '../delivery/state';
import { APPS_NAMESPACE, MERGED_METRICS_PORT } from './namespaces';
import { StackChart } from './stack-chart';

/** Properties of {@link AppsChart}. */
export interface AppsChartProps {
  readonly env: EnvironmentConfig;
  /** The git-tracked rollout state of each service: images and weights. */
  readonly rollouts: Rollouts;
  /** Where the services and their sidecars send OTLP: {@link OtelCollector.otlpGrpcUrl}. */
  readonly otlpEndpoint: string;
}

/** istiod's xDS and certificate port. */
const ISTIOD: WorkloadPeer = { name: 'istiod', namespace: 'istio-system', selector: { app: 'istiod' } };

/**
 * The `apps` namespace: the gateway and backend services, each as stable and (while one is in flight) canary
 * Deployments with Istio routing from the rollout state; mutual TLS, allow-listed calls, sidecar tracing, and a
 * default-deny network policy with one allow per flow.
 */
export class AppsChart extends StackChart {
  public readonly gateway: CanaryService;
  public readonly backend: CanaryService;
  public readonly ingress: IstioGateway;
  public readonly mesh: MeshPolicies;
  /** The namespace's network policies; the flows to and from `observability` are allowed by {@link defineStack}, once for both charts. */
  public readonly network: NetworkPolicies;

  public constructor(scope: Construct, id: string, props: AppsChartProps) {
    super(scope, id, { namespace: APPS_NAMESPACE });
    const { env, rollouts } = props;

    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: APPS_NAMESPACE,
        labels: {
          'istio-injection': 'enabled',
          // "restricted" admits sidecars only with Istio's CNI plugin (no privileged init container); see the README
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'v1.28',
        },
      },
    });
    this.ingress = new IstioGateway(this, 'Ingress', {
      name: 'flights', hosts: [env.apps.host], selector: env.apps.ingressGateway.selector, tlsCredentialName: env.apps.tlsCredentialName,
    });
    this.mesh = new MeshPolicies(this, 'Mesh', { tracingSamplingPercent: env.apps.meshSamplingPercent });

    const common = {
      otlpEndpoint: props.otlpEndpoint,
      environmentName: env.name,
      traceSamplingRatio: env.apps.traceSamplingRatio,
      stableReplicas: env.apps.stableReplicas,
      logLevel: env.apps.logLevel,
      resources: env.apps.resources,
    };
    this.backend = new CanaryService(this, 'Backend', {
      ...common, ...tracks(rollouts.backend), contract: SERVICES.backend,
      // above the gateway's own budget, so that the gateway's 504 is what callers see
      timeout: Duration.millis(env.apps.backendTimeoutMs + 1000),
    });
    this.gateway = new CanaryService(this, 'Gateway', {
      ...common, ...tracks(rollouts.gateway), contract: SERVICES.gateway,
      env: { [ENV.backendUrl]: this.backend.url, [ENV.backendTimeoutMs]: String(env.apps.backendTimeoutMs) },
      timeout: Duration.millis(env.apps.backendTimeoutMs + 3000),
      expose: { gateway: this.ingress.ref, hosts: [env.apps.host] },
    });

    const ingressPrincipal = `cluster.local/ns/${env.apps.ingressGateway.namespace}/sa/${env.apps.ingressGateway.serviceAccount}`;
    const notInternal = [PATHS.metrics, PATHS.liveness, PATHS.readiness];
    this.mesh.allow({
      name: 'ingress-to-gateway', selector: this.gateway.peer.selector, principals: [ingressPrincipal],
      to: { methods: ['GET', 'HEAD'], notPaths: notInternal },
    });
    this.mesh.allow({
      name: 'gateway-to-backend', selector: this.backend.peer.selector, principals: [this.gateway.principal],
      to: { methods: ['GET'], notPaths: notInternal },
    });
    // the merged-metrics port is served by the sidecar agent, outside the inbound listener; the rule states the intent
    // and keeps scrapes working should Istio ever intercept it
    this.mesh.allow({ name: 'prometheus-scrapes', selector: {}, to: { ports: [String(MERGED_METRICS_PORT)], methods: ['GET'], paths: ['/stats/prometheus'] } });

    const ingressPods: WorkloadPeer = { name: 'ingress-gateway', namespace: env.apps.ingressGateway.namespace, selector: env.apps.ingressGateway.selector };
    const everyPod: FlowPeer = { kind: 'namespace', namespace: APPS_NAMESPACE };
    this.network = new NetworkPolicies(this, 'NetworkPolicies', {
      flows: [
        { name: 'dns', from: everyPod, to: pods(CLUSTER_DNS), ports: DNS_PORTS },
        { name: 'sidecars-to-istiod', from: everyPod, to: pods(ISTIOD), ports: [{ port: 15012 }] },
        { name: 'ingress-to-gateway', from: pods(ingressPods), to: pods(this.gateway.peer), ports: [{ port: this.gateway.port }] },
        { name: 'gateway-to-backend', from: pods(this.gateway.peer), to: pods(this.backend.peer), ports: [{ port: this.backend.port }] },
      ],
    });
  }
}

/** The images and split of a service from its rollout state. */
function tracks(state: RolloutState): { stableImage: string; canaryImage?: string; split: TrafficSplit } {
  return state.canary
    ? { stableImage: state.stable.image, canaryImage: state.canary.image, split: TrafficSplit.canary(state.canary.weight) }
    : { stableImage: state.stable.image, split: TrafficSplit.stableOnly() };
}
