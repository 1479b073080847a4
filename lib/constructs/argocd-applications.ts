import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { Application, ApplicationSpecSyncPolicy } from '../../imports/argocd-application-argoproj.io';
import { AppProject } from '../../imports/argocd-appproject-argoproj.io';
import { show, validationError } from '../errors';

/** A Kubernetes kind, as an AppProject allows it. */
export interface ResourceKind {
  /** API group; `''` for the core group. */
  readonly group: string;
  readonly kind: string;
}

/** One chart directory deployed by one Application. */
export interface ChartApplication {
  /** Chart id: the directory `dist/<env>/<chart>/`. */
  readonly chart: string;
  /** Namespace the chart's objects go to. */
  readonly namespace: string;
  /** Argo CD sync wave: lower waves sync, and become healthy, first. */
  readonly syncWave: number;
}

/** Properties of {@link ArgoCdApplications}. */
export interface ArgoCdApplicationsProps {
  /** The repository Argo CD clones. */
  readonly repoURL: string;
  /** Branch, tag or commit. */
  readonly targetRevision: string;
  /** Directory of the environment in the repository (`dist/local`). */
  readonly path: string;
  /** Name of the AppProject the Applications belong to. */
  readonly project: string;
  readonly applications: readonly ChartApplication[];
  /** Kinds the Applications may create: what the charts render (read at synth time). */
  readonly kinds: () => { readonly cluster: readonly ResourceKind[]; readonly namespaced: readonly ResourceKind[] };
}

/** The finalizer that makes deleting an Application delete what it deployed (foreground cascade). */
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
/** The in-cluster API server, as Argo CD names it. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';

/**
 * An AppProject restricted to one repository, the charts' namespaces and the kinds they render, and one Application
 * per chart directory: automated sync with prune and self-heal, retry with backoff, ordered by sync waves. Nothing is
 * ignored in the diff: canary weights live in git, so the cluster never differs from it for long.
 */
export class ArgoCdApplications extends Construct {
  /** The names of the Applications, by chart. */
  public readonly applicationNames: Readonly<Record<string, string>>;

  public constructor(scope: Construct, id: string, props: ArgoCdApplicationsProps) {
    super(scope, id);
    if (props.applications.length === 0) throw validationError(this, `'applications' must name at least one chart, got ${show(props.applications)}`);
    const names: Record<string, string> = {};
    new AppProject(this, 'Resource', {
      metadata: { name: props.project },
      spec: {
        description: `Charts rendered from ${props.repoURL} (${props.path})`,
        sourceRepos: [props.repoURL],
        destinations: [...new Set(props.applications.map(a => a.namespace))].map(namespace => ({ server: IN_CLUSTER, namespace })),
        clusterResourceWhitelist: Lazy.any({ produce: () => props.kinds().cluster.map(k => ({ group: k.group, kind: k.kind })) }),
        namespaceResourceWhitelist: Lazy.any({ produce: () => props.kinds().namespaced.map(k => ({ group: k.group, kind: k.kind })) }),
        // objects in these namespaces that no chart renders are shown as orphaned, so hand-made changes stand out
        orphanedResources: { warn: true },
      },
    });
    for (const app of props.applications) {
      const name = `${props.project}-${app.chart}`;
      names[app.chart] = name;
      new Application(this, app.chart, {
        metadata: {
          name,
          annotations: { 'argocd.argoproj.io/sync-wave': String(app.syncWave) },
          finalizers: [RESOURCES_FINALIZER],
        },
        spec: {
          project: props.project,
          source: { repoUrl: props.repoURL, targetRevision: props.targetRevision, path: `${props.path}/${app.chart}`, directory: { recurse: false } },
          destination: { server: IN_CLUSTER, namespace: app.namespace },
          syncPolicy: SYNC_POLICY,
        },
      });
    }
    this.applicationNames = names;
  }
}

/**
 * Automated sync that removes what git no longer has and reverts what was changed by hand; server-side apply (large
 * dashboard ConfigMaps exceed the client-side annotation limit); pruning last, after new objects are healthy.
 */
export const SYNC_POLICY: ApplicationSpecSyncPolicy = {
  automated: { prune: true, selfHeal: true },
  syncOptions: ['ServerSideApply=true', 'PruneLast=true', 'FailOnSharedResource=true'],
  retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
};
