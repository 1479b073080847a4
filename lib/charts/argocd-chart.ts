import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { GitOpsSettings } from '../config/environment';
import {
  ArgoCdApplications, ChartApplication, ClusterResource, ResourceKind, ResourceKinds, appProject, directoryApplication,
} from '../constructs/argocd-applications';
import { CLUSTER_SCOPED_KINDS, StackChart } from './stack-chart';

/** Properties of {@link ArgoCdChart}. */
export interface ArgoCdChartProps {
  readonly gitops: GitOpsSettings;
  /** The environment's directory in the repository (`dist/local`). */
  readonly path: string;
  /** The charts to deploy, each with the sync wave of its Application. */
  readonly applications: ReadonlyArray<ChartApplication & { readonly source: Chart }>;
  /** The chart applied by hand that renders the charts' AppProject: no Application may rewrite its own project. */
  readonly bootstrap: Construct;
}

/** Name of the AppProject of the deployed charts. */
export const PROJECT = 'obs-canary';

/**
 * The `argocd` chart (`dist/<env>/argocd/`): one Application per chart directory. The root Application of the bootstrap
 * chart syncs it, so adding a chart is a commit too. Their AppProject is rendered in the bootstrap chart, applied by
 * hand: what the Applications may create changes only when a person applies it.
 */
export class ArgoCdChart extends StackChart {
  public readonly applications: ArgoCdApplications;

  public constructor(scope: Construct, id: string, props: ArgoCdChartProps) {
    super(scope, id, { namespace: props.gitops.argocdNamespace });
    this.applications = new ArgoCdApplications(this, 'Applications', {
      repoURL: props.gitops.repoURL,
      targetRevision: props.gitops.targetRevision,
      path: props.path,
      project: PROJECT,
      applications: props.applications,
      kinds: () => kindsOf(props.applications.map(a => a.source)),
      projectScope: props.bootstrap,
    });
  }
}

/** Properties of {@link BootstrapChart}. */
export interface BootstrapChartProps {
  readonly gitops: GitOpsSettings;
  /** The directory of the `argocd` chart (`dist/local/argocd`). */
  readonly path: string;
}

/**
 * The `bootstrap` chart (`dist/<env>/bootstrap/`), applied by hand: the charts' AppProject (what their Applications may
 * create), a project that may only manage Applications in Argo CD's namespace (nothing cluster-scoped, no AppProject:
 * Argo CD 3.5 restricts namespaced kinds by kind, not name, so one allowed AppProject would be any of them), and the
 * root Application (app of apps) that syncs the `argocd` chart. Apply it again when it changes (a new kind, namespace
 * or cluster-scoped object in the charts); until then Argo CD refuses to sync what the project does not allow.
 */
export class BootstrapChart extends StackChart {
  public constructor(scope: Construct, id: string, props: BootstrapChartProps) {
    super(scope, id, { namespace: props.gitops.argocdNamespace });
    const project = `${PROJECT}-bootstrap`;
    appProject(this, 'Project', {
      name: project,
      description: 'The root Application of obs-canary: creates the project and Applications of the charts',
      repoURL: props.gitops.repoURL,
      namespaces: [props.gitops.argocdNamespace],
      // Applications only: an AppProject here could be any of the namespace's (Argo CD 3.5 allows namespaced kinds by
      // kind, not name), so the projects are applied by hand with this chart and the root Application writes none
      kinds: () => ({ cluster: [], namespaced: [{ group: 'argoproj.io', kind: 'Application' }] }),
    });
    directoryApplication(this, 'Root', {
      name: `${PROJECT}-root`,
      project,
      repoURL: props.gitops.repoURL,
      targetRevision: props.gitops.targetRevision,
      path: props.path,
      namespace: props.gitops.argocdNamespace,
    });
  }
}

/**
 * What the charts render, as an AppProject allows it: each cluster-scoped object by group, kind and name, and each
 * namespaced kind; sorted.
 */
export function kindsOf(charts: readonly Chart[]): ResourceKinds {
  const cluster = new Map<string, ClusterResource>();
  const namespaced = new Map<string, ResourceKind>();
  for (const chart of charts) {
    for (const obj of chart.node.findAll().filter(ApiObject.isApiObject)) {
      const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
      if (CLUSTER_SCOPED_KINDS.has(obj.kind)) cluster.set(`${group}/${obj.kind}/${obj.name}`, { group, kind: obj.kind, name: obj.name });
      else namespaced.set(`${group}/${obj.kind}`, { group, kind: obj.kind });
    }
  }
  const byKind = (a: ResourceKind, b: ResourceKind) => a.group.localeCompare(b.group) || a.kind.localeCompare(b.kind);
  return {
    cluster: [...cluster.values()].sort((a, b) => byKind(a, b) || a.name.localeCompare(b.name)),
    namespaced: [...namespaced.values()].sort(byKind),
  };
}
