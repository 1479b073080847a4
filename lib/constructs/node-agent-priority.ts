import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkInteger } from '../errors';

/** Properties of {@link NodeAgentPriority}. */
export interface NodeAgentPriorityProps {
  /**
   * The PriorityClass's name.
   * @default 'obs-canary-node-agent'
   */
  readonly name?: string;
  /**
   * Its value: above the default 0 of every other pod, below the system's classes (from 1,000,000,000).
   * @default 1_000_000
   */
  readonly value?: number;
}

/**
 * The PriorityClass of the per-node agents (the log shipper, the OpenTelemetry agent): a DaemonSet pod must run on
 * every node, and on a full node (new from the autoscaler, back from an upgrade) one without priority stays Pending
 * while its node's pods go unshipped, and their OTLP, sent to the node-local agent, is lost. With it, the scheduler
 * evicts a pod of priority 0 to place the agent, a few hundred millicores and megabytes.
 */
export class NodeAgentPriority extends Construct {
  /** The name pods give as `priorityClassName`. */
  public readonly name: string;

  public constructor(scope: Construct, id: string, props: NodeAgentPriorityProps = {}) {
    super(scope, id);
    this.name = props.name ?? 'obs-canary-node-agent';
    const value = props.value ?? 1_000_000;
    checkInteger(this, 'value', value, 1, 999_999_999);
    new k8s.KubePriorityClass(this, 'Resource', {
      // before the DaemonSets in a sync: their pods are refused while the class they name does not exist
      metadata: { name: this.name, annotations: { 'argocd.argoproj.io/sync-wave': '-1' } },
      value,
      globalDefault: false,
      preemptionPolicy: 'PreemptLowerPriority',
      description: 'obs-canary per-node agents: the log shipper and the OpenTelemetry agent run on every node',
    });
  }
}
