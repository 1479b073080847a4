import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { Application, ApplicationSpecSyncPolicy } from '../../imports/argocd-application-argoproj.io';
import { AppProject } from '../../imports/argocd-appproject-argoproj.io';
import { show, validationError } from '../errors';
import { DATA_VOLUME } from './private/component';

/** A Kubernetes kind, as an AppProject allows it. */
export interface ResourceKind {
  /** API group; `''` for the core group. */
  readonly group: string;
  readonly kind: string;
}

/** One cluster-scoped object, as an AppProject allows it: by kind and name. */
export interface ClusterResource extends ResourceKind {
  /**
   * The object's exact name. Argo CD reads an entry without a name as every object of the kind, and a name as a glob
   * (Go's `filepath.Match`), so neither is allowed here.
   */
  readonly name: string;
}

/** What an AppProject allows: cluster-scoped objects by name, namespaced objects by kind (Argo CD 3.5 has no names for those). */
export interface ResourceKinds {
  readonly cluster: readonly ClusterResource[];
  readonly namespaced: readonly ResourceKind[];
}

/** One chart directory deployed by one Application. */
export interface ChartApplication {
  /** Chart id: the directory `dist/<env>/<chart>/`. */
  readonly chart: string;
  /** Namespace the chart's objects go to. */
  readonly namespace: string;
  /** Argo CD sync wave: lower waves sync, and become healthy, first. */
  readonly syncWave: number;
  /**
   * The destination cluster's API server, as Argo CD knows it (its cluster Secret is the operator's).
   * @default - the cluster Argo CD runs in
   */
  readonly server?: string;
  /**
   * The Application's name.
   * @default - `<project>-<chart>`
   */
  readonly name?: string;
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
  /** What the Applications may create: what the charts render, cluster-scoped objects by name (read at synth time). */
  readonly kinds: () => ResourceKinds;
  /**
   * Where the AppProject is rendered: a chart applied by hand (the bootstrap chart), so that no Application can
   * rewrite what its own project allows.
   * @default - beside the Applications
   */
  readonly projectScope?: Construct;
}

/** The finalizer that makes deleting an Application delete what it deployed (foreground cascade). */
const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
/** The in-cluster API server, as Argo CD names it. */
const IN_CLUSTER = 'https://kubernetes.default.svc';

/**
 * An AppProject restricted to one repository, the charts' namespaces, the cluster-scoped objects they render (by name)
 * and the namespaced kinds they render, and one Application
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
    appProject(props.projectScope ?? this, props.projectScope ? `${id}Project` : 'Resource', {
      name: props.project,
      description: `Charts rendered from ${props.repoURL} (${props.path})`,
      repoURL: props.repoURL,
      namespaces: [...new Set(props.applications.map(a => a.namespace))],
      ...(props.applications.some(a => a.server !== undefined) ? { destinations: destinationsOf(props.applications) } : {}),
      kinds: props.kinds,
      // objects in these namespaces that no chart renders are shown as orphaned, so hand-made changes stand out
      warnOrphaned: true,
    });
    for (const app of props.applications) {
      const name = app.name ?? `${props.project}-${app.chart}`;
      names[app.chart] = name;
      directoryApplication(this, app.chart, {
        name,
        project: props.project,
        repoURL: props.repoURL,
        targetRevision: props.targetRevision,
        path: `${props.path}/${app.chart}`,
        namespace: app.namespace,
        syncWave: app.syncWave,
        ...(app.server !== undefined ? { server: app.server } : {}),
      });
    }
    this.applicationNames = names;
  }
}

/** A cluster and namespace an AppProject's Applications may deploy to. */
export interface Destination {
  readonly server: string;
  readonly namespace: string;
}

/** Every cluster and namespace of the applications, once each, in order. */
function destinationsOf(applications: readonly ChartApplication[]): Destination[] {
  const seen = new Map<string, Destination>();
  for (const a of applications) {
    const server = a.server ?? IN_CLUSTER;
    seen.set(`${server} ${a.namespace}`, { server, namespace: a.namespace });
  }
  return [...seen.values()];
}

/** Options of {@link appProject}. */
export interface AppProjectOptions {
  readonly name: string;
  readonly description: string;
  /** The one repository the project's Applications may sync from. */
  readonly repoURL: string;
  /** Namespaces of the in-cluster API server the Applications may deploy to. */
  readonly namespaces: readonly string[];
  /**
   * The clusters and namespaces the Applications may deploy to, when some are other clusters than Argo CD's own.
   * @default - `namespaces` of the in-cluster API server
   */
  readonly destinations?: readonly Destination[];
  /** What the Applications may create: cluster-scoped objects by name, namespaced ones by kind (read at synth time). */
  readonly kinds: () => ResourceKinds;
  /**
   * Warn about objects in the destination namespaces that no Application manages.
   * @default false
   */
  readonly warnOrphaned?: boolean;
}

/**
 * An AppProject restricted to one repository, in-cluster namespaces, the cluster-scoped objects it names and the
 * namespaced kinds it lists. Its Applications live in Argo CD's own namespace only (no `sourceNamespaces`).
 */
export function appProject(scope: Construct, id: string, options: AppProjectOptions): AppProject {
  const project = new AppProject(scope, id, {
    metadata: { name: options.name },
    spec: {
      description: options.description,
      sourceRepos: [options.repoURL],
      destinations: options.destinations ? options.destinations.map(d => ({ server: d.server, namespace: d.namespace }))
        : options.namespaces.map(namespace => ({ server: IN_CLUSTER, namespace })),
      clusterResourceWhitelist: Lazy.any({ produce: () => options.kinds().cluster.map(r => ({ group: r.group, kind: r.kind, name: r.name })) }),
      namespaceResourceWhitelist: Lazy.any({ produce: () => options.kinds().namespaced.map(k => ({ group: k.group, kind: k.kind })) }),
      ...(options.warnOrphaned ? { orphanedResources: { warn: true, ignore: [...UNMANAGED_OBJECTS] } } : {}),
    },
  });
  // the kinds are read at synth time, once every chart is complete: checked then
  project.node.addValidation({ validate: () => unnamedClusterResources(options.kinds().cluster) });
  return project;
}

/**
 * Objects of the project's namespaces that no Application can manage, left out of the orphaned-resource warning (Argo CD
 * already leaves out `kube-root-ca.crt`, the default ServiceAccount and the kinds the project denies): istiod's root
 * certificate ConfigMap, which the mesh writes into every namespace; every Secret, since this project renders none (each
 * is made by hand or by a secrets operator, and referenced); and the StatefulSets' volume claims (`data-<name>-<n>`),
 * which Kubernetes makes from their templates and keeps. Without these, the Applications would carry the warning from
 * the day they sync. An entry without a name matches every name; a name is a glob.
 */
export const UNMANAGED_OBJECTS = [
  { group: '', kind: 'ConfigMap', name: 'istio-ca-root-cert' },
  { group: '', kind: 'Secret' },
  { group: '', kind: 'PersistentVolumeClaim', name: `${DATA_VOLUME}-*` },
] as const;

/** Characters that make an AppProject's resource name a pattern (Go's `filepath.Match`). */
const GLOB = /[*?[\\]/;

/** A problem for each cluster-scoped entry that would allow more than one object: no name, or a pattern. */
function unnamedClusterResources(resources: readonly ClusterResource[]): string[] {
  return resources
    .filter(r => typeof r.name !== 'string' || r.name === '' || GLOB.test(r.name))
    .map(r => '\'kinds\' must name each cluster-scoped object exactly (Argo CD allows every object of the kind for an entry without a name, '
      + `and every match for a pattern), got ${r.name === undefined ? 'no name' : show(r.name)} for ${r.group === '' ? 'core' : r.group}/${r.kind}`);
}

/** Options of {@link directoryApplication}. */
export interface DirectoryApplicationOptions {
  readonly name: string;
  /** The AppProject the Application belongs to. */
  readonly project: string;
  readonly repoURL: string;
  /** Branch, tag or commit. */
  readonly targetRevision: string;
  /** The directory to sync (not recursively). */
  readonly path: string;
  /** Namespace to deploy to. */
  readonly namespace: string;
  /**
   * The API server of the cluster to deploy to.
   * @default - the cluster Argo CD runs in
   */
  readonly server?: string;
  /**
   * Argo CD sync wave.
   * @default - no annotation (wave 0)
   */
  readonly syncWave?: number;
}

/**
 * An Application syncing one directory of the repository into the cluster Argo CD runs in, with {@link SYNC_POLICY}
 * and the finalizer that deletes what it deployed when it is deleted.
 */
export function directoryApplication(scope: Construct, id: string, options: DirectoryApplicationOptions): Application {
  return new Application(scope, id, {
    metadata: {
      name: options.name,
      ...(options.syncWave !== undefined ? { annotations: { 'argocd.argoproj.io/sync-wave': String(options.syncWave) } } : {}),
      finalizers: [RESOURCES_FINALIZER],
    },
    spec: {
      project: options.project,
      // no `directory: { recurse: false }` although that is what it means: the controller drops a directory block of
      // defaults from the live Application (NormalizeSource), so the Application that renders it would be OutOfSync
      // for good and re-apply it on every sync (argoproj/argo-cd#4501)
      source: { repoUrl: options.repoURL, targetRevision: options.targetRevision, path: options.path },
      destination: { server: options.server ?? IN_CLUSTER, namespace: options.namespace },
      syncPolicy: SYNC_POLICY,
    },
  });
}

/**
 * Automated sync that removes what git no longer has and reverts what was changed by hand; server-side apply (large
 * dashboard ConfigMaps exceed the client-side annotation limit).
 *
 * No `PruneLast`: it moves pruning to a wave of its own, which starts only once every applied object is healthy, and
 * a Deployment that crash-loops after a finished rollout stays Progressing, never Degraded (gitops-engine waits on
 * it). One canary's removal would then hold the sync, and with it every later commit, a rollback of another canary
 * included, until someone terminates the operation. The one order that matters, a canary's route before its removal (a
 * commit may carry both: the gate's removal past a deadline, a pull request), is the services' sync waves: their
 * Deployments and budgets come last (SERVICE_WORKLOAD_SYNC_WAVE), where nothing waits on their health. A retry takes
 * the newest commit (`refresh`), so a failed sync is retried with the rollback that followed it, not with the commit
 * that failed. The retries have no limit (-1; every 5 minutes at most): Argo CD never syncs again by itself a revision
 * whose retries ran out, self-heal or not, so a cause mended outside git (a Secret created, a quota raised, a CRD
 * installed on a first install) would otherwise wait for the next commit or a person.
 */
export const SYNC_POLICY: ApplicationSpecSyncPolicy = {
  automated: { prune: true, selfHeal: true },
  syncOptions: ['ServerSideApply=true', 'FailOnSharedResource=true'],
  retry: { limit: -1, refresh: true, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
};
