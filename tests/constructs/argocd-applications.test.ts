import { ArgoCdApplications, SYNC_POLICY } from '../../lib/constructs/argocd-applications';
import { synth, testChart } from '../support/chart';
import { everyObject, find, ofKind } from '../support/manifest';

function render(props: Partial<ConstructorParameters<typeof ArgoCdApplications>[2]> = {}) {
  const chart = testChart('argocd');
  const apps = new ArgoCdApplications(chart, 'Apps', {
    repoURL: 'https://git.example.com/platform/obs-canary.git',
    targetRevision: 'main',
    path: 'dist/local',
    project: 'obs-canary',
    applications: [
      { chart: 'observability', namespace: 'observability', syncWave: 0 },
      { chart: 'apps', namespace: 'apps', syncWave: 1 },
    ],
    kinds: () => ({
      cluster: [{ group: '', kind: 'Namespace', name: 'apps' }, { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'observability-prometheus' }],
      namespaced: [{ group: 'apps', kind: 'Deployment' }],
    }),
    ...props,
  });
  return { apps, objects: synth(chart) };
}

describe('ArgoCdApplications', () => {
  const { apps, objects } = render();
  const project = find(objects, 'AppProject', 'obs-canary').spec;
  const application = find(objects, 'Application', 'obs-canary-apps');

  test('the project is restricted to the repository, the charts\' namespaces, the given cluster-scoped objects by name and the given kinds', () => {
    expect(project.sourceRepos).toEqual(['https://git.example.com/platform/obs-canary.git']);
    expect(project.destinations).toEqual([
      { server: 'https://kubernetes.default.svc', namespace: 'observability' }, { server: 'https://kubernetes.default.svc', namespace: 'apps' },
    ]);
    expect(project.clusterResourceWhitelist).toEqual([
      { group: '', kind: 'Namespace', name: 'apps' }, { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'observability-prometheus' },
    ]);
    expect(project.namespaceResourceWhitelist).toEqual([{ group: 'apps', kind: 'Deployment' }]);
  });

  test('objects no chart renders are reported as orphaned, except the root certificate istiod writes into every namespace, the Secrets '
    + '(none is rendered: each is made by hand and referenced) and the claims the StatefulSets\' templates make', () => {
    expect(project.orphanedResources).toEqual({
      warn: true, ignore: [
        { group: '', kind: 'ConfigMap', name: 'istio-ca-root-cert' }, { group: '', kind: 'Secret' }, { group: '', kind: 'PersistentVolumeClaim', name: 'data-*' },
      ],
    });
  });

  test('its Applications live in Argo CD\'s own namespace only (no sourceNamespaces)', () => {
    expect(project.sourceNamespaces).toBeUndefined();
  });

  test.each([
    ['without a name', undefined, 'no name'],
    ['with an empty name', '', '""'],
    ['with a pattern', 'observability-*', '"observability-*"'],
    ['with a character class', 'observability-[a-z]', '"observability-[a-z]"'],
    ['with a single-character wildcard', 'apps?', '"apps?"'],
  ])('fails if a cluster-scoped kind is allowed %s: Argo CD would allow more than the one object', (_, name, shown) => {
    const cluster = [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: name as string }];
    expect(() => render({ kinds: () => ({ cluster, namespaced: [] }) })).toThrow(
      '[test/Apps/Resource] \'kinds\' must name each cluster-scoped object exactly (Argo CD allows every object of the kind for an entry '
      + `without a name, and every match for a pattern), got ${shown} for rbac.authorization.k8s.io/ClusterRole`,
    );
  });

  test('a core-group kind is named as core in the message', () => {
    expect(() => render({ kinds: () => ({ cluster: [{ group: '', kind: 'Namespace', name: '' }], namespaced: [] }) })).toThrow(/got "" for core\/Namespace$/);
  });

  test('one Application per chart directory, in the project, to its namespace', () => {
    expect(ofKind(objects, 'Application').map(a => a.metadata.name).sort()).toEqual(['obs-canary-apps', 'obs-canary-observability']);
    // exactly these: a `directory` block of defaults (recurse: false) is dropped by the controller from the live
    // Application, and the parent that renders it stays OutOfSync (argoproj/argo-cd#4501); not recursing is the default
    expect(application.spec.source).toStrictEqual({ repoURL: 'https://git.example.com/platform/obs-canary.git', targetRevision: 'main', path: 'dist/local/apps' });
    expect(application.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'apps' });
    expect(application.spec.project).toBe('obs-canary');
    expect(apps.applicationNames).toEqual({ observability: 'obs-canary-observability', apps: 'obs-canary-apps' });
  });

  test('sync waves order the charts; the finalizer deletes what an Application deployed', () => {
    expect(find(objects, 'Application', 'obs-canary-observability').metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '0' });
    expect(application.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '1' });
    expect(application.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
  });

  test('automated prune and self-heal, retry with backoff, server-side apply, nothing ignored', () => {
    expect(application.spec.syncPolicy).toEqual({
      automated: { prune: true, selfHeal: true },
      syncOptions: ['ServerSideApply=true', 'FailOnSharedResource=true'],
      retry: { limit: -1, refresh: true, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
    });
    expect(application.spec.ignoreDifferences).toBeUndefined();
    expect(SYNC_POLICY.automated?.selfHeal).toBe(true);
  });

  test('no sync waits for every object to be healthy before it prunes, and a retry takes the newest commit: a crash-looping '
    + 'Deployment cannot hold back a rollback', () => {
    for (const app of objects.filter(o => o.kind === 'Application')) {
      expect(app.spec.syncPolicy.syncOptions).not.toContain('PruneLast=true');
      expect(app.spec.syncPolicy.retry.refresh).toBe(true);
    }
  });

  test('every Application, the root included, retries a failed sync without limit: Argo CD never syncs again by itself a '
    + 'revision whose retries ran out, so a Secret created after a failed first install would wait for the next commit', () => {
    const applications = everyObject().filter(({ obj }) => obj.kind === 'Application');
    expect(applications.map(({ obj }) => obj.metadata.name)).toEqual(expect.arrayContaining(['obs-canary-root', 'obs-canary-apps']));
    for (const { env, obj } of applications) expect([env, obj.metadata.name, obj.spec.syncPolicy.retry.limit]).toEqual([env, obj.metadata.name, -1]);
  });

  test('fails without applications', () => {
    expect(() => render({ applications: [] })).toThrow("'applications' must name at least one chart, got []");
  });
});
