import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, show, validationError } from '../errors';
import { WorkloadPeer } from './types';

/** One end of a network flow. */
export type FlowPeer =
  /** The pods of a workload, in any namespace. */
  | { readonly kind: 'pods'; readonly peer: WorkloadPeer }
  /** Every pod of a namespace. */
  | { readonly kind: 'namespace'; readonly namespace: string }
  /** Addresses outside the cluster's pod network (the API server, object storage). */
  | { readonly kind: 'cidr'; readonly cidr: string; readonly except?: readonly string[] }
  /** Any source at all (a UI reached through an ingress controller or a port-forward). */
  | { readonly kind: 'anywhere' };

/** The pods of a workload as one end of a flow. */
export function pods(peer: WorkloadPeer): FlowPeer {
  return { kind: 'pods', peer };
}

/** A port of a flow. */
export interface FlowPort {
  readonly port: number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

/** Traffic to allow: who talks to whom on which ports. */
export interface NetworkFlow {
  /** A DNS label naming the flow (`promtail-to-loki`); its policies are named `<name>-egress` and `<name>-ingress`. */
  readonly name: string;
  readonly from: FlowPeer;
  readonly to: FlowPeer;
  readonly ports: readonly FlowPort[];
}

/** Properties of {@link NetworkPolicies}. */
export interface NetworkPoliciesProps {
  /**
   * Flows to allow; more can be added with {@link NetworkPolicies.allow}.
   * @default - none: everything is denied
   */
  readonly flows?: readonly NetworkFlow[];
}

// the policies are `<name>-egress` and `<name>-ingress`, DNS subdomains of at most 253 characters
const FLOW_NAME = /^[a-z0-9]([-a-z0-9]{0,243}[a-z0-9])?$/;
const NAMESPACE_LABEL = 'kubernetes.io/metadata.name';

/**
 * Default deny for every pod of the chart's namespace, in and out, then one explicit allow per flow: an egress policy
 * on the sending pods and an ingress policy on the receiving pods, for each end that lives in this namespace.
 */
export class NetworkPolicies extends Construct {
  public readonly namespace: string;
  private readonly allowed: NetworkFlow[] = [];

  public constructor(scope: Construct, id: string, props: NetworkPoliciesProps = {}) {
    super(scope, id);
    const namespace = chartNamespace(this, 'NetworkPolicies');
    this.namespace = namespace;
    new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: { name: 'default-deny-all' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    for (const flow of props.flows ?? []) this.allow(flow);
  }

  /** The flows allowed so far (a copy). */
  public get flows(): readonly NetworkFlow[] {
    return [...this.allowed];
  }

  /**
   * Allows a flow.
   *
   * @throws if the name is invalid or taken, there are no ports, or neither end is in this namespace
   */
  public allow(flow: NetworkFlow): void {
    if (!FLOW_NAME.test(flow.name)) throw validationError(this, `flow name must match ${FLOW_NAME.source}, got ${show(flow.name)}`);
    if (this.allowed.some(f => f.name === flow.name)) throw validationError(this, `flow ${show(flow.name)} is already allowed`);
    if (flow.ports.length === 0) throw validationError(this, `flow ${show(flow.name)} must name at least one port`);
    const egress = this.isLocal(flow.from);
    const ingress = this.isLocal(flow.to);
    if (!egress && !ingress) {
      throw validationError(this, `flow ${show(flow.name)} has neither end in namespace ${show(this.namespace)}; allow it in the chart that owns one end`);
    }
    this.allowed.push(flow);
    const ports = flow.ports.map(p => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' }));
    if (egress) {
      const to = this.peerOf(flow.to);
      new k8s.KubeNetworkPolicy(this, `${flow.name}-egress`, {
        metadata: { name: `${flow.name}-egress` },
        spec: { podSelector: this.selectorOf(flow.from), policyTypes: ['Egress'], egress: [{ ...(to ? { to: [to] } : {}), ports }] },
      });
    }
    if (ingress) {
      const from = this.peerOf(flow.from);
      new k8s.KubeNetworkPolicy(this, `${flow.name}-ingress`, {
        metadata: { name: `${flow.name}-ingress` },
        spec: { podSelector: this.selectorOf(flow.to), policyTypes: ['Ingress'], ingress: [{ ...(from ? { from: [from] } : {}), ports }] },
      });
    }
  }

  private isLocal(peer: FlowPeer): boolean {
    return (peer.kind === 'pods' && peer.peer.namespace === this.namespace) || (peer.kind === 'namespace' && peer.namespace === this.namespace);
  }

  private selectorOf(peer: FlowPeer): k8s.LabelSelector {
    return peer.kind === 'pods' ? { matchLabels: { ...peer.peer.selector } } : {};
  }

  /** The peer as a policy sees it from this namespace; undefined means "anything". */
  private peerOf(peer: FlowPeer): k8s.NetworkPolicyPeer | undefined {
    switch (peer.kind) {
      case 'pods': {
        const podSelector = { matchLabels: { ...peer.peer.selector } };
        return peer.peer.namespace === this.namespace ? { podSelector } : { namespaceSelector: namespaceSelector(peer.peer.namespace), podSelector };
      }
      case 'namespace':
        return peer.namespace === this.namespace ? { podSelector: {} } : { namespaceSelector: namespaceSelector(peer.namespace) };
      case 'cidr':
        return { ipBlock: { cidr: peer.cidr, ...(peer.except ? { except: [...peer.except] } : {}) } };
      case 'anywhere':
        return undefined;
    }
  }
}

function namespaceSelector(namespace: string): k8s.LabelSelector {
  return { matchLabels: { [NAMESPACE_LABEL]: namespace } };
}

/** The cluster DNS (CoreDNS or kube-dns in kube-system), which every namespace needs to reach. */
export const CLUSTER_DNS: WorkloadPeer = { name: 'kube-dns', namespace: 'kube-system', selector: { 'k8s-app': 'kube-dns' } };

/** Ports of DNS. */
export const DNS_PORTS: readonly FlowPort[] = [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }];
