import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT, kindsOf } from '../../lib/charts/argocd-chart';
import { CLUSTER_SCOPED_KINDS } from '../../lib/charts/stack-chart';
import { SINGLE_CLUSTER_ENVIRONMENTS, K8sObject, find, ofKind, synthStack } from '../support/manifest';

const root = path.join(__dirname, '..', '..');
const groupOf = (o: K8sObject) => (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '');
const key = (k: { group: string; kind: string }) => `${k.group}/${k.kind}`;
/** Characters that make an AppProject's resource name a pattern (Go's `filepath.Match`). */
const GLOB = /[*?[\\]/;

describe.each(SINGLE_CLUSTER_ENVIRONMENTS)('Argo CD charts ($name)', env => {
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

  test('the project allows exactly the namespaced kinds the charts render, and exactly the cluster-scoped objects they render, by name', () => {
    const project = find(charts.bootstrap, 'AppProject', PROJECT).spec;
    const rendered = [...charts.observability, ...Object.keys(stack.namespaces).flatMap(n => charts[n])];
    const namespaced = rendered.filter(o => !CLUSTER_SCOPED_KINDS.has(o.kind));
    const namespacedKinds = new Set(namespaced.map(o => key({ group: groupOf(o), kind: o.kind })));
    expect(project.namespaceResourceWhitelist.map(key).sort()).toEqual([...namespacedKinds].sort());
    const cluster = rendered.filter(o => CLUSTER_SCOPED_KINDS.has(o.kind)).map(o => ({ group: groupOf(o), kind: o.kind, name: o.metadata.name }));
    expect(project.clusterResourceWhitelist).toEqual(expect.arrayContaining(cluster));
    expect(project.clusterResourceWhitelist).toHaveLength(cluster.length);
    expect(project.clusterResourceWhitelist).toEqual(expect.arrayContaining([
      { group: '', kind: 'Namespace', name: 'apps' }, { group: '', kind: 'Namespace', name: 'observability' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'observability-prometheus' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding', name: 'observability-prometheus' },
      { group: 'scheduling.k8s.io', kind: 'PriorityClass', name: 'obs-canary-node-agent' },
    ]));
    expect(project.destinations.map((d: any) => d.namespace)).toEqual(['observability', 'apps']);
    expect(project.sourceRepos).toEqual([env.gitops.repoURL]);
  });

  test('every AppProject names each cluster-scoped object it allows: an entry without a name, or with a pattern, would allow every match', () => {
    const projects = ofKind(charts.bootstrap, 'AppProject');
    expect(projects.map(p => p.metadata.name).sort()).toEqual([PROJECT, `${PROJECT}-bootstrap`]);
    for (const project of projects) {
      for (const entry of project.spec.clusterResourceWhitelist) {
        const named = { group: expect.any(String), kind: expect.any(String), name: expect.stringMatching(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/) };
        expect([project.metadata.name, entry]).toEqual([project.metadata.name, named]);
        expect(GLOB.test(entry.name)).toBe(false);
      }
      expect(project.spec.clusterResourceBlacklist).toBeUndefined();
      // Applications only in Argo CD's own namespace, where only admins create them
      expect(project.spec.sourceNamespaces).toBeUndefined();
    }
  });

  test('the charts\' project can write nothing of Argo CD\'s: no argoproj.io kind, not Argo CD\'s namespace', () => {
    const project = find(charts.bootstrap, 'AppProject', PROJECT).spec;
    expect(project.namespaceResourceWhitelist.filter((k: any) => k.group === 'argoproj.io')).toEqual([]);
    expect(project.destinations.map((d: any) => d.namespace)).not.toContain(env.gitops.argocdNamespace);
  });

  test('no Application ignores differences: weights live in git', () => {
    for (const app of applications) expect(app.spec.ignoreDifferences).toBeUndefined();
  });

  test('bootstrap: a project that may only manage Applications (no AppProject: it could rewrite any project), and the root Application of the argocd chart', () => {
    const project = find(charts.bootstrap, 'AppProject', 'obs-canary-bootstrap').spec;
    expect(project.clusterResourceWhitelist).toEqual([]);
    expect(project.namespaceResourceWhitelist).toEqual([{ group: 'argoproj.io', kind: 'Application' }]);
    expect(project.destinations).toEqual([{ server: 'https://kubernetes.default.svc', namespace: env.gitops.argocdNamespace }]);
    expect(project.sourceNamespaces).toBeUndefined();
    expect(project.sourceRepos).toEqual([env.gitops.repoURL]);
    const rootApp = find(charts.bootstrap, 'Application', 'obs-canary-root');
    expect(rootApp.spec.project).toBe('obs-canary-bootstrap');
    expect(rootApp.spec.source.path).toBe(`dist/${env.name}/argocd`);
    expect(rootApp.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
    expect(rootApp.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  test('Argo CD never deletes a namespace on its own: every Namespace asks for confirmation before a prune, and stays when its Application goes', () => {
    const namespaces = Object.values(charts).flat().filter(o => o.kind === 'Namespace');
    expect(namespaces.length).toBeGreaterThanOrEqual(2);
    for (const ns of namespaces) {
      expect([ns.metadata.name, ns.metadata.annotations?.['argocd.argoproj.io/sync-options']]).toEqual([ns.metadata.name, 'Prune=confirm,Delete=false']);
    }
  });

  test('bootstrap: its project allows exactly the kinds the root Application syncs, nothing cluster-scoped', () => {
    const project = find(charts.bootstrap, 'AppProject', 'obs-canary-bootstrap').spec;
    expect(kindsOf([stack.argocd])).toEqual({ cluster: [], namespaced: project.namespaceResourceWhitelist });
  });

  test('bootstrap: the root Application syncs only Applications of this repository\'s project (another project, such as default, would escape its limits); the project is applied by hand', () => {
    expect(ofKind(argocd, 'AppProject')).toEqual([]);
    expect(ofKind(charts.bootstrap, 'AppProject').map(p => p.metadata.name).sort()).toEqual([PROJECT, `${PROJECT}-bootstrap`]);
    expect(argocd.filter(o => o.kind !== 'Application')).toEqual([]);
    for (const app of applications) expect([app.metadata.name, app.spec.project]).toEqual([app.metadata.name, PROJECT]);
    expect(PROJECT).not.toBe('default');
  });

  test('kindsOf reads the construct tree: cluster-scoped objects by name, namespaced kinds once each', () => {
    const kinds = kindsOf([stack.namespaces.apps]);
    expect(kinds.cluster).toEqual([{ group: '', kind: 'Namespace', name: 'apps' }]);
    expect(kinds.namespaced).toContainEqual({ group: 'networking.istio.io', kind: 'VirtualService' });
    expect(new Set(kinds.namespaced.map(key)).size).toBe(kinds.namespaced.length);
    const observability = kindsOf([stack.observability]).cluster;
    expect(observability.filter(r => r.kind === 'ClusterRole').map(r => r.name)).toEqual(expect.arrayContaining([
      'observability-kube-state-metrics', 'observability-otel-collector', 'observability-prometheus', `observability-${env.logs.shipper}`,
    ]));
    expect(observability.map(r => `${key(r)}/${r.name}`)).toEqual(observability.map(r => `${key(r)}/${r.name}`).sort((a, b) => a.localeCompare(b)));
  });

  test('snapshot', () => {
    expect({ argocd, bootstrap: charts.bootstrap }).toMatchSnapshot();
  });
});

describe('what an AppProject can restrict (the imported Argo CD schema)', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(root, 'imports', 'schemas', 'argoproj.io_v1alpha1_AppProject.json'), 'utf8'));
  const fields = (list: string) => Object.keys(schema.properties.spec.properties[list].items.properties).sort();

  test('cluster-scoped entries take a name, which the projects use', () => {
    expect(fields('clusterResourceWhitelist')).toEqual(['group', 'kind', 'name']);
  });

  test('namespaced entries take none: the bootstrap project allows AppProject by kind (when an upgrade adds names, allow only the AppProjects the argocd chart renders)', () => {
    expect(fields('namespaceResourceWhitelist')).toEqual(['group', 'kind']);
  });
});
