import * as fs from 'node:fs';
import * as path from 'node:path';
import { kindsOf } from '../../lib/charts/argocd-chart';
import { ALL_ENVIRONMENTS, find, ofKind, synthStack } from '../support/manifest';

const root = path.join(__dirname, '..', '..');

describe.each(ALL_ENVIRONMENTS)('Argo CD charts ($name)', env => {
  const { stack, charts } = synthStack(env);
  const argocd = charts.argocd;
  const applications = ofKind(argocd, 'Application');

  test('one Application per chart directory, and every path is a chart this environment renders', () => {
    expect(applications.map(a => a.spec.source.path).sort()).toEqual([`dist/${env.name}/apps`, `dist/${env.name}/observability`]);
    for (const app of applications) {
      const chart = path.basename(app.spec.source.path);
      expect(Object.keys(charts)).toContain(chart);
      expect(app.spec.destination.namespace).toBe(charts[chart].find(o => o.kind === 'Namespace')?.metadata.name);
    }
  });

  test('every Application path exists in the committed dist/', () => {
    for (const app of [...applications, ...ofKind(charts.bootstrap, 'Application')]) {
      expect([app.spec.source.path, fs.existsSync(path.join(root, app.spec.source.path, 'manifest.yaml'))]).toEqual([app.spec.source.path, true]);
    }
  });

  test('repository and revision come from the environment', () => {
    for (const app of [...applications, ...ofKind(charts.bootstrap, 'Application')]) {
      expect(app.spec.source).toMatchObject({ repoURL: env.gitops.repoURL, targetRevision: env.gitops.targetRevision });
      expect(app.metadata.namespace).toBe(env.gitops.argocdNamespace);
    }
  });

  test('observability syncs before apps', () => {
    const wave = (name: string) => Number(find(argocd, 'Application', name).metadata.annotations['argocd.argoproj.io/sync-wave']);
    expect(wave('obs-canary-observability')).toBeLessThan(wave('obs-canary-apps'));
  });

  test('the project allows exactly the kinds the charts render, cluster-scoped and namespaced', () => {
    const project = find(argocd, 'AppProject', 'obs-canary').spec;
    const rendered = [...charts.observability, ...Object.keys(stack.namespaces).flatMap(n => charts[n])];
    const key = (k: { group: string; kind: string }) => `${k.group}/${k.kind}`;
    const allowed = new Set([...project.clusterResourceWhitelist, ...project.namespaceResourceWhitelist].map(key));
    const needed = new Set(rendered.map(o => `${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}/${o.kind}`));
    expect([...allowed].sort()).toEqual([...needed].sort());
    expect(project.clusterResourceWhitelist.map(key).sort()).toEqual(['/Namespace', 'rbac.authorization.k8s.io/ClusterRole', 'rbac.authorization.k8s.io/ClusterRoleBinding']);
    expect(project.destinations.map((d: any) => d.namespace)).toEqual(['observability', 'apps']);
    expect(project.sourceRepos).toEqual([env.gitops.repoURL]);
  });

  test('no Application ignores differences: weights live in git', () => {
    for (const app of applications) expect(app.spec.ignoreDifferences).toBeUndefined();
  });

  test('bootstrap: a project that may only manage Applications and AppProjects, and the root Application of the argocd chart', () => {
    const project = find(charts.bootstrap, 'AppProject', 'obs-canary-bootstrap').spec;
    expect(project.clusterResourceWhitelist).toEqual([]);
    expect(project.namespaceResourceWhitelist).toEqual([{ group: 'argoproj.io', kind: 'Application' }, { group: 'argoproj.io', kind: 'AppProject' }]);
    expect(project.destinations).toEqual([{ server: 'https://kubernetes.default.svc', namespace: env.gitops.argocdNamespace }]);
    const rootApp = find(charts.bootstrap, 'Application', 'obs-canary-root');
    expect(rootApp.spec.project).toBe('obs-canary-bootstrap');
    expect(rootApp.spec.source.path).toBe(`dist/${env.name}/argocd`);
    expect(rootApp.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
    expect(rootApp.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  test('kindsOf reads the construct tree', () => {
    const kinds = kindsOf([stack.namespaces.apps]);
    expect(kinds.cluster).toEqual([{ group: '', kind: 'Namespace' }]);
    expect(kinds.namespaced).toContainEqual({ group: 'networking.istio.io', kind: 'VirtualService' });
  });

  test('snapshot', () => {
    expect({ argocd, bootstrap: charts.bootstrap }).toMatchSnapshot();
  });
});
