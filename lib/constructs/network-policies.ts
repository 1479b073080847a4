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
  /**
   * Any of several peers, in one rule (several CIDR blocks of one dependency; DNS served by pods and by a node-local
   * address). Never an end that lives in this namespace: a flow from or to one gets no policy on that side.
   */
  | { readonly kind: 'anyOf'; readonly peers: readonly FlowPeer[] }
  /** Any source at all (a UI reached through an ingress controller or a port-forward). */
  | { readonly kind: 'anywhere' };

/** The pods of a workload as one end of a flow. */
export function pods(peer: WorkloadPeer): FlowPeer {
  return { kind: 'pods', peer };
}

/** Addresses outside the cluster: one CIDR block, or any of several. */
export function cidrs(blocks: readonly string[]): FlowPeer {
  return blocks.length === 1 ? { kind: 'cidr', cidr: blocks[0] } : { kind: 'anyOf', peers: blocks.map(cidr => ({ kind: 'cidr', cidr })) };
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
   * @throws if the name is invalid or taken, there are no ports, neither end is in this namespace, or an `anyOf` end
   *   is empty or holds "anywhere"
   */
  public allow(flow: NetworkFlow): void {
    if (!FLOW_NAME.test(flow.name)) throw validationError(this, `flow name must match ${FLOW_NAME.source}, got ${show(flow.name)}`);
    if (this.allowed.some(f => f.name === flow.name)) throw validationError(this, `flow ${show(flow.name)} is already allowed`);
    if (flow.ports.length === 0) throw validationError(this, `flow ${show(flow.name)} must name at least one port`);
    for (const end of [flow.from, flow.to]) {
      if (end.kind === 'anyOf' && (end.peers.length === 0 || end.peers.some(p => p.kind === 'anywhere' || p.kind === 'anyOf'))) {
        throw validationError(this, `flow ${show(flow.name)}: an 'anyOf' end must list at least one peer, none of them "anywhere" or another 'anyOf'`);
      }
    }
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
        spec: { podSelector: this.selectorOf(flow.from), policyTypes: ['Egress'], egress: [{ ...(to ? { to } : {}), ports }] },
      });
    }
    if (ingress) {
      const from = this.peerOf(flow.from);
      new k8s.KubeNetworkPolicy(this, `${flow.name}-ingress`, {
        metadata: { name: `${flow.name}-ingress` },
        spec: { podSelector: this.selectorOf(flow.to), policyTypes: ['Ingress'], ingress: [{ ...(from ? { from } : {}), ports }] },
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
  private peerOf(peer: FlowPeer): k8s.NetworkPolicyPeer[] | undefined {
    switch (peer.kind) {
      case 'pods': {
        const podSelector = { matchLabels: { ...peer.peer.selector } };
        const local = peer.peer.namespace === this.namespace;
        return [local ? { podSelector } : { namespaceSelector: namespaceSelector(peer.peer.namespace), podSelector }];
      }
      case 'namespace':
        return [peer.namespace === this.namespace ? { podSelector: {} } : { namespaceSelector: namespaceSelector(peer.namespace) }];
      case 'cidr':
        return [{ ipBlock: { cidr: peer.cidr, ...(peer.except ? { except: [...peer.except] } : {}) } }];
      case 'anyOf':
        return peer.peers.flatMap(p => this.peerOf(p) ?? []);
      case 'anywhere':
        return undefined;
    }
  }
}

function namespaceSelector(namespace: string): k8s.LabelSelector {
  return { matchLabels: { [NAMESPACE_LABEL]: namespace } };
}
