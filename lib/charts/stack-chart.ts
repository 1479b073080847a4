import { ApiObject, App, Chart, ChartProps } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { SAFE_TO_EVICT_LOCAL_VOLUMES, evictableScratch } from '../constructs/private/workload';

/** Kinds that live outside namespaces: a `metadata.namespace` on them is meaningless and shows up as drift. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass',
  'PriorityClass', 'IngressClass', 'RuntimeClass', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
]);

/** The label every object of every chart carries: what the objects belong to. */
const PART_OF_LABEL = { 'app.kubernetes.io/part-of': 'obs-canary' } as const;

/** Properties of {@link StackChart}. */
export interface StackChartProps extends ChartProps {
  /**
   * The chart's directory below the environment's (`clusters/apps-eu/apps`).
   * @default - the chart's id
   */
  readonly directory?: string;
}

/**
 * The base of every chart in this repository: names are exactly what constructs set (no hash suffixes, so Argo CD
 * and operators can rely on them), every object carries {@link PART_OF_LABEL} (besides `props.labels`), and
 * cluster-scoped objects carry no namespace even though the chart has one.
 */
export class StackChart extends Chart {
  /** Its directory below the environment's in `dist/` (its id, unless it belongs to an application cluster). */
  public readonly directory: string;

  public constructor(scope: Construct, id: string, props: StackChartProps = {}) {
    const { directory, ...chartProps } = props;
    super(scope, id, { ...chartProps, labels: { ...PART_OF_LABEL, ...props.labels }, disableResourceNameHashes: true });
    this.directory = directory ?? id;
  }

  /** Validates the whole app, then renders this chart's objects (what `Testing.synth` returns). */
  public override toJson(): any[] {
    validateApp(App.of(this));
    return this.renderObjects();
  }

  /**
   * Renders this chart's objects without validating: {@link renderApp} validates an app once rather than once per
   * chart, as `toJson` must. Objects of nested charts belong to those charts.
   */
  public renderObjects(): any[] {
    return this.node.findAll()
      .filter((c): c is ApiObject => ApiObject.isApiObject(c) && Chart.of(c) === this)
      .map(obj => withEvictableScratch(withoutClusterNamespace(obj.toJson())));
  }
}

/**
 * A Deployment's or StatefulSet's pods with {@link SAFE_TO_EVICT_LOCAL_VOLUMES} naming their emptyDirs: scratch space in
 * every pod this project renders (a restart loses it anyway; what must last is on a PersistentVolume). A construct
 * whose pods Istio injects names them itself, the injected volumes too. DaemonSets' pods never keep a node up, and a
 * gate tick's Job pod is gone within minutes: evicting it would cut a decision short.
 */
function withEvictableScratch(obj: any): unknown {
  const template = ['Deployment', 'StatefulSet'].includes(obj.kind) ? obj.spec?.template : undefined;
  const scratch: string[] = (template?.spec?.volumes ?? []).filter((v: any) => v.emptyDir !== undefined).map((v: any) => v.name);
  if (scratch.length === 0 || template.metadata?.annotations?.[SAFE_TO_EVICT_LOCAL_VOLUMES] !== undefined) return obj;
  template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, ...evictableScratch(scratch) } };
  return obj;
}

/**
 * Runs every validation of an app (what cdk8s runs before it synthesizes a chart).
 *
 * @throws listing every problem with the path of the construct that reported it
 */
export function validateApp(app: IConstruct): void {
  const errors = app.node.findAll().flatMap(c => c.node.validate().map(e => `[${c.node.path}] ${e}`));
  if (errors.length > 0) throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);
}

function withoutClusterNamespace(obj: { kind: string; metadata?: Record<string, unknown> }): unknown {
  if (!CLUSTER_SCOPED_KINDS.has(obj.kind) || obj.metadata?.namespace === undefined) return obj;
  const { namespace: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}
