import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';

/** Kinds that live outside namespaces: a `metadata.namespace` on them is meaningless and shows up as drift. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass',
  'PriorityClass', 'IngressClass', 'RuntimeClass', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
]);

/**
 * The base of every chart in this repository: names are exactly what constructs set (no hash suffixes, so Argo CD
 * and operators can rely on them), and cluster-scoped objects carry no namespace even though the chart has one.
 */
export class StackChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { ...props, disableResourceNameHashes: true });
  }

  /** Renders the chart's objects, with `metadata.namespace` removed from cluster-scoped kinds. */
  public override toJson(): any[] {
    return super.toJson().map((obj: { kind: string; metadata?: Record<string, unknown> }) => {
      if (!CLUSTER_SCOPED_KINDS.has(obj.kind) || obj.metadata?.namespace === undefined) return obj;
      const { namespace: _dropped, ...metadata } = obj.metadata;
      return { ...obj, metadata };
    });
  }
}
