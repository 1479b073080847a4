import { ArgoCdApplications, SYNC_POLICY } from '../../lib/constructs/argocd-applications';
import { synth, testChart } from '../support/chart';
import { find, ofKind } from '../support/manifest';

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
    kinds: () => ({ cluster: [{ group: '', kind: 'Namespace' }], namespaced: [{ group: 'apps', kind: 'Deployment' }] }),
    ...props,
  });
  return { apps, objects: synth(chart) };
}

describe('ArgoCdApplications', () => {
  const { apps, objects } = render();
  const project = find(objects, 'AppProject', 'obs-canary').spec;
  const application = find(objects, 'Application', 'obs-canary-apps');

  test('the project is restricted to the repository, the charts\' namespaces and the given kinds', () => {
    expect(project.sourceRepos).toEqual(['https://git.example.com/platform/obs-canary.git']);
    expect(project.destinations).toEqual([
      { server: 'https://kubernetes.default.svc', namespace: 'observability' }, { server: 'https://kubernetes.default.svc', namespace: 'apps' },
    ]);
    expect(project.clusterResourceWhitelist).toEqual([{ group: '', kind: 'Namespace' }]);
    expect(project.namespaceResourceWhitelist).toEqual([{ group: 'apps', kind: 'Deployment' }]);
  });

  test('one Application per chart directory, in the project, to its namespace', () => {
    expect(ofKind(objects, 'Application').map(a => a.metadata.name).sort()).toEqual(['obs-canary-apps', 'obs-canary-observability']);
    expect(application.spec.source).toEqual({ repoURL: 'https://git.example.com/platform/obs-canary.git', targetRevision: 'main', path: 'dist/local/apps', directory: { recurse: false } });
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
      syncOptions: ['ServerSideApply=true', 'PruneLast=true', 'FailOnSharedResource=true'],
      retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
    });
    expect(application.spec.ignoreDifferences).toBeUndefined();
    expect(SYNC_POLICY.automated?.selfHeal).toBe(true);
  });

  test('fails without applications', () => {
    expect(() => render({ applications: [] })).toThrow("'applications' must name at least one chart, got []");
  });
});
