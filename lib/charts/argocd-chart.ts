import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { GitOpsSettings } from '../config/environment';
import { ArgoCdApplications, ChartApplication, ResourceKind, appProject, directoryApplication } from '../constructs/argocd-applications';
import { CLUSTER_SCOPED_KINDS, StackChart } from './stack-chart';

/** Properties of {@link ArgoCdChart}. */
export interface ArgoCdChartProps {
  readonly gitops: GitOpsSettings;
  /** The environment's directory in the repository (`dist/local`). */
  readonly path: string;
  /** The charts to deploy, each with the sync wave of its Application. */
  readonly applications: ReadonlyArray<ChartApplication & { readonly source: Chart }>;
}

/** Name of the AppProject of the deployed charts. */
export const PROJECT = 'obs-canary';

/**
 * The `argocd` chart (`dist/<env>/argocd/`): the AppProject and one Application per chart directory. The root
 * Application of the bootstrap chart syncs it, so adding a chart is a commit too.
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
 * The `bootstrap` chart (`dist/<env>/bootstrap/`), applied once by hand: a project that may only manage Argo CD's own
 * Applications and AppProjects, and the root Application (app of apps) that syncs the `argocd` chart.
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
      kinds: () => ({ cluster: [], namespaced: [{ group: 'argoproj.io', kind: 'Application' }, { group: 'argoproj.io', kind: 'AppProject' }] }),
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

/** The kinds the charts render, cluster-scoped and namespaced, sorted. */
export function kindsOf(charts: readonly Chart[]): { cluster: ResourceKind[]; namespaced: ResourceKind[] } {
  const seen = new Map<string, ResourceKind & { clusterScoped: boolean }>();
  for (const chart of charts) {
    for (const obj of chart.node.findAll().filter(ApiObject.isApiObject)) {
      const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
      seen.set(`${group}/${obj.kind}`, { group, kind: obj.kind, clusterScoped: CLUSTER_SCOPED_KINDS.has(obj.kind) });
    }
  }
  const sorted = [...seen.values()].sort((a, b) => a.group.localeCompare(b.group) || a.kind.localeCompare(b.kind));
  return {
    cluster: sorted.filter(k => k.clusterScoped).map(({ group, kind }) => ({ group, kind })),
    namespaced: sorted.filter(k => !k.clusterScoped).map(({ group, kind }) => ({ group, kind })),
  };
}
