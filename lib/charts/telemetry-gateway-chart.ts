import { Construct } from 'constructs';
import { dnsPeer } from '../config/egress-plan';
import { ClusterDns } from '../config/egress';
import { GatewayProxy } from '../constructs/gateway-proxy';
import { ISTIOD_XDS_PORT, istiodPeer } from '../constructs/istio-scrape';
import { FlowPeer, NetworkPolicies, pods } from '../constructs/network-policies';
import { StackChart } from './stack-chart';
import { namespaceObject, podSecurityLabels } from './namespaces';

/** The namespace of the telemetry gateway's own Envoy: its Secrets are the gateway credential's, and only those. */
export const TELEMETRY_GATEWAY_NAMESPACE = 'telemetry-gateway';

/** Properties of {@link TelemetryGatewayChart}. */
export interface TelemetryGatewayChartProps {
  /** Replicas of the gateway. @default 2 */
  readonly replicas?: number;
  /** Annotations of the LoadBalancer Service. @default - none */
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
  /** The addresses the load balancer and the network policy admit. @default - any */
  readonly sourceRanges?: readonly string[];
  /** The cluster's DNS, which the gateway resolves the backends' Services with. */
  readonly dns: ClusterDns;
  /** The namespace istiod runs in: the gateway's Envoy takes its configuration and certificates from it. */
  readonly istiodNamespace: string;
}

/**
 * The `telemetry-gateway` namespace of a central topology's observability cluster (`exposure` "loadBalancer"): the
 * gateway's own Envoy behind a LoadBalancer Service. A namespace of its own because Istio has a gateway read its
 * `credentialName` with permission to list every Secret of its namespace: here the only Secret is that credential, not
 * Grafana's, the object storage's or the tokens of `observability`. Pod Security `restricted`, default-deny network
 * policies: the senders on 443 (mutual TLS), istiod, DNS; the flows to the backends in `observability` are allowed in
 * both charts by `defineStack`.
 */
export class TelemetryGatewayChart extends StackChart {
  public readonly proxy: GatewayProxy;
  public readonly network: NetworkPolicies;

  public constructor(scope: Construct, id: string, props: TelemetryGatewayChartProps) {
    super(scope, id, { namespace: TELEMETRY_GATEWAY_NAMESPACE });
    namespaceObject(this, TELEMETRY_GATEWAY_NAMESPACE, podSecurityLabels('restricted'));
    const proxy = this.proxy = new GatewayProxy(this, 'GatewayProxy', {
      name: TELEMETRY_GATEWAY_NAMESPACE,
      ...(props.replicas !== undefined ? { replicas: props.replicas } : {}),
      ...(props.serviceAnnotations ? { serviceAnnotations: props.serviceAnnotations } : {}),
      ...(props.sourceRanges ? { sourceRanges: props.sourceRanges } : {}),
    });
    // with externalTrafficPolicy Local the senders' addresses reach the pods: the policy admits the load balancer's ranges only
    const senders: FlowPeer = proxy.sourceRanges.length === 0 ? { kind: 'anywhere' }
      : { kind: 'anyOf', peers: proxy.sourceRanges.map((cidr): FlowPeer => ({ kind: 'cidr', cidr })) };
    this.network = new NetworkPolicies(this, 'NetworkPolicies', {
      flows: [
        { name: 'dns', from: { kind: 'namespace', namespace: TELEMETRY_GATEWAY_NAMESPACE }, to: dnsPeer(props.dns), ports: props.dns.ports },
        // mutual TLS refuses who has no client certificate
        { name: `senders-to-${proxy.name}`, from: senders, to: pods(proxy.peer), ports: [{ port: proxy.ports.https.port }] },
        // its configuration and certificates
        { name: `${proxy.name}-to-istiod`, from: pods(proxy.peer), to: pods(istiodPeer(props.istiodNamespace)), ports: [{ port: ISTIOD_XDS_PORT }] },
      ],
    });
  }
}
