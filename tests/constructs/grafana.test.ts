import { Chart, Size } from 'cdk8s';
import { parse } from 'yaml';
import { Grafana, GrafanaProps, dashboardDatasourceUids } from '../../lib/constructs/grafana';
import { lokiDatasource, prometheusDatasource, tempoDatasource } from '../../lib/constructs/grafana-datasources';
import { canaryDashboard } from '../../lib/dashboards/canary-dashboard';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { synth, testApp, testChart } from '../support/chart';
import { configFile, find, ofKind, synthStack } from '../support/manifest';

const DATASOURCES = [
  prometheusDatasource({ url: 'http://prometheus:9090', scrapeInterval: '30s' }),
  lokiDatasource({ url: 'http://loki:3100' }),
  tempoDatasource({ url: 'http://tempo:3200' }),
];

function render(props: GrafanaProps = {}) {
  const chart = testChart();
  const grafana = new Grafana(chart, 'Grafana', props);
  return { grafana, chart, objects: () => synth(chart) };
}

function iniOf(all: any[]): string {
  return find(all, 'ConfigMap', 'grafana-config').data['grafana.ini'];
}

describe('Grafana', () => {
  describe('defaults', () => {
    const { grafana, objects } = render({ datasources: DATASOURCES });
    const all = objects();
    const deployment = find(all, 'Deployment', 'grafana');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const env = Object.fromEntries(container.env.map((e: any) => [e.name, e]));

    test('one replica, pinned Grafana 13 image, no disruption budget', () => {
      expect(deployment.spec.replicas).toBe(1);
      expect(container.image).toBe('docker.io/grafana/grafana:13.2.3');
      expect(ofKind(all, 'PodDisruptionBudget')).toEqual([]);
      expect(pod.topologySpreadConstraints).toBeUndefined();
    });

    test('admin user, password and secret_key come from the grafana-admin Secret, never a literal', () => {
      expect(env.GF_SECURITY_ADMIN_USER.valueFrom.secretKeyRef).toEqual({ name: 'grafana-admin', key: 'admin-user' });
      expect(env.GF_SECURITY_ADMIN_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'grafana-admin', key: 'admin-password' });
      expect(env.GF_SECURITY_SECRET_KEY.valueFrom.secretKeyRef).toEqual({ name: 'grafana-admin', key: 'secret-key' });
      expect(Object.values(env).filter((e: any) => e.value !== undefined).map((e: any) => e.name)).toEqual(['GF_PATHS_CONFIG']);
      expect(ofKind(all, 'Secret')).toEqual([]);
    });

    test('SQLite by default: no database URL', () => {
      expect(env.GF_DATABASE_URL).toBeUndefined();
    });

    test('read-only root file system with writable data, search index, logs and /tmp', () => {
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      const writable = container.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath);
      expect(writable).toEqual(['/var/lib/grafana', '/var/lib/grafana-search', '/var/log/grafana', '/tmp']);
      const emptyDirs = pod.volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name);
      expect(emptyDirs).toEqual(expect.arrayContaining(['data', 'search', 'logs', 'tmp']));
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 472, runAsGroup: 472, fsGroup: 472 });
    });

    test('probes on /api/health', () => {
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        expect(container[probe].httpGet).toEqual({ path: '/api/health', port: 'http' });
      }
    });

    test('a start may take 15 minutes (the database migrations of a major upgrade run before the server answers)', () => {
      expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBe(15 * 60);
      // and the rollout waits longer than that before Kubernetes (and Argo CD) call it failed
      expect(find(all, 'Deployment', 'grafana').spec.progressDeadlineSeconds).toBeGreaterThan(15 * 60);
    });

    test('no service-account token: Grafana does not call the Kubernetes API', () => {
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(find(all, 'ServiceAccount', 'grafana').automountServiceAccountToken).toBe(false);
    });

    test('grafana.ini: console JSON logs, no plugin downloads, no telemetry, no sign-up, search index on the volume', () => {
      const ini = iniOf(all);
      expect(env.GF_PATHS_CONFIG.value).toBe('/etc/grafana-config/grafana.ini');
      for (const line of [
        '[log.console]\nformat = json', '[plugins]\npreinstall_disabled = true', 'reporting_enabled = false',
        '[users]\nallow_sign_up = false', '[auth.anonymous]\nenabled = false', 'index_path = /var/lib/grafana-search/bleve',
      ]) expect(ini).toContain(line);
      expect(ini).not.toContain('root_url');
    });

    test('session cookies: not Secure without an https root URL, SameSite lax', () => {
      const ini = iniOf(all);
      expect(ini).toContain('cookie_secure = false');
      expect(ini).toContain('cookie_samesite = lax');
    });

    test('datasources are provisioned with prune and escaped macros', () => {
      const doc = configFile(all, 'grafana-provisioning', 'datasources.yaml');
      expect(doc.prune).toBe(true);
      expect(doc.datasources.map((d: any) => d.uid)).toEqual(['prometheus', 'loki', 'tempo']);
      const raw = find(all, 'ConfigMap', 'grafana-provisioning').data['datasources.yaml'];
      expect(raw).toContain('url: "$${__value.raw}"');
      expect(raw).not.toMatch(/[^$]\$\{__value/);
      expect(grafana.datasources).toHaveLength(3);
    });

    test('span → metrics queries reach Grafana as $__tags: $$__tags in the file, never ${__tags}', () => {
      const raw = find(all, 'ConfigMap', 'grafana-provisioning').data['datasources.yaml'];
      const tempo = configFile(all, 'grafana-provisioning', 'datasources.yaml').datasources.find((d: any) => d.uid === 'tempo');
      expect(tempo.jsonData.tracesToMetrics.queries.map((q: any) => q.query)).toEqual([
        'sum(rate(traces_spanmetrics_calls_total{$$__tags}[5m]))',
        'histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{$$__tags}[5m])))',
      ]);
      expect(raw).not.toContain('{__tags}');
    });

    test('one trace link per log line: the Loki datasource has a single derived field', () => {
      const loki = configFile(all, 'grafana-provisioning', 'datasources.yaml').datasources.find((d: any) => d.uid === 'loki');
      expect(loki.jsonData.derivedFields).toHaveLength(1);
    });

    test('a file dashboard provider reading folders from the directory tree, read-only in the UI', () => {
      const doc = configFile(all, 'grafana-provisioning', 'dashboards.yaml');
      expect(doc.providers).toEqual([{
        name: 'obs-canary', orgId: 1, type: 'file', disableDeletion: true, allowUiUpdates: false, updateIntervalSeconds: 60,
        options: { path: '/var/lib/grafana-dashboards', foldersFromFilesStructure: true },
      }]);
      const provisioning = pod.volumes.find((v: any) => v.name === 'provisioning').configMap.items.map((i: any) => i.path);
      expect(provisioning).toEqual(['datasources/datasources.yaml', 'dashboards/dashboards.yaml', 'alerting/empty.yaml', 'plugins/empty.yaml']);
    });

    test('without dashboards the dashboard directory is an empty volume', () => {
      expect(pod.volumes.find((v: any) => v.name === 'dashboards')).toEqual({ name: 'dashboards', emptyDir: {} });
    });

    test('a Service on 3000 and a scrape target on the same port', () => {
      expect(find(all, 'Service', 'grafana').spec.ports[0]).toMatchObject({ name: 'http', port: 3000 });
      expect(grafana.url).toBe('http://grafana.observability.svc.cluster.local:3000');
      expect(grafana.metricsTarget).toEqual({ job: 'grafana', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'grafana' }, port: 'http' });
    });

    test('snapshot', () => {
      expect(all).toMatchSnapshot();
    });
  });

  describe('props', () => {
    test('replicas > 1 with a shared database: database URL from a Secret, a disruption budget and spread over nodes', () => {
      const all = render({ replicas: 2, databaseUrl: { name: 'grafana-db', key: 'url' } }).objects();
      const deployment = find(all, 'Deployment', 'grafana');
      expect(deployment.spec.replicas).toBe(2);
      const env = deployment.spec.template.spec.containers[0].env.find((e: any) => e.name === 'GF_DATABASE_URL');
      expect(env.valueFrom.secretKeyRef).toEqual({ name: 'grafana-db', key: 'url' });
      expect(find(all, 'PodDisruptionBudget', 'grafana').spec).toEqual({
        maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'grafana' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow',
      });
      const spread = deployment.spec.template.spec.topologySpreadConstraints;
      expect(spread.map((c: any) => [c.topologyKey, c.whenUnsatisfiable])).toEqual([
        ['kubernetes.io/hostname', 'DoNotSchedule'], ['topology.kubernetes.io/zone', 'ScheduleAnyway'],
      ]);
      expect(spread[0].matchLabelKeys).toEqual(['pod-template-hash']);
    });

    test('replicas > 1: the replicas gossip their alerting state (Grafana\'s HA set-up), so that each alert is notified once', () => {
      const all = render({ replicas: 2, databaseUrl: { name: 'grafana-db', key: 'url' } }).objects();
      const ini = iniOf(all);
      expect(ini).toContain('[unified_alerting]\nha_peers = grafana-alerting.observability.svc.cluster.local:9094\n'
        + 'ha_listen_address = ${POD_IP}:9094\nha_advertise_address = ${POD_IP}:9094\n');
      const headless = find(all, 'Service', 'grafana-alerting').spec;
      expect(headless).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: { 'app.kubernetes.io/name': 'grafana' } });
      expect(headless.ports.map((p: any) => [p.port, p.protocol])).toEqual([[9094, 'TCP'], [9094, 'UDP']]);
      const container = find(all, 'Deployment', 'grafana').spec.template.spec.containers[0];
      expect(container.env.find((e: any) => e.name === 'POD_IP').valueFrom.fieldRef.fieldPath).toBe('status.podIP');
      expect(container.ports.filter((p: any) => p.containerPort === 9094).map((p: any) => p.protocol)).toEqual(['TCP', 'UDP']);
      // one replica: nothing to gossip with
      const single = render().objects();
      expect(iniOf(single)).not.toContain('unified_alerting');
      expect(ofKind(single, 'Service').map(s => s.metadata.name)).toEqual(['grafana']);
    });

    test('adminSecretName', () => {
      const all = render({ adminSecretName: 'ops-grafana' }).objects();
      const refs = find(all, 'Deployment', 'grafana').spec.template.spec.containers[0].env
        .filter((e: any) => e.valueFrom).map((e: any) => e.valueFrom.secretKeyRef.name);
      expect(refs).toEqual(['ops-grafana', 'ops-grafana', 'ops-grafana']);
    });

    test('rootUrl sets root_url and secure cookies for https', () => {
      const ini = iniOf(render({ rootUrl: 'https://grafana.example.com' }).objects());
      expect(ini).toContain('[server]\nhttp_port = 3000\nenable_gzip = true\nroot_url = https://grafana.example.com');
      expect(ini).toMatch(/\[security\][^[]*cookie_secure = true\ncookie_samesite = lax/);
    });

    test('an http rootUrl keeps cookies without the Secure attribute', () => {
      const ini = iniOf(render({ rootUrl: 'http://grafana.local:3000' }).objects());
      expect(ini).toContain('root_url = http://grafana.local:3000');
      expect(ini).toContain('cookie_secure = false');
    });

    test('image and resources', () => {
      const all = render({
        image: 'docker.io/grafana/grafana:13.1.0',
        resources: { cpuRequestMillis: 10, cpuLimitMillis: 20, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(128) },
      }).objects();
      const container = find(all, 'Deployment', 'grafana').spec.template.spec.containers[0];
      expect(container.image).toBe('docker.io/grafana/grafana:13.1.0');
      expect(container.resources.requests).toEqual({ cpu: '10m', memory: '64Mi' });
    });

    test('addDashboard() provisions each folder as a ConfigMap, mounted whole as the folder\'s directory of the provider', () => {
      const { grafana, objects } = render({ datasources: DATASOURCES });
      grafana.addDashboard({ folder: 'Canary', dashboard: { uid: 'canary-gateway', title: 'Canary: gateway' } });
      grafana.addDashboard({ folder: 'Canary', dashboard: { uid: 'canary-backend', title: 'Canary: backend' } });
      grafana.addDashboard({ folder: 'Service Overviews', dashboard: { uid: 'services', title: 'Services' } });
      const all = objects();
      const canary = find(all, 'ConfigMap', 'grafana-dashboards-canary');
      expect(Object.keys(canary.data).sort()).toEqual(['canary-backend.json', 'canary-gateway.json']);
      expect(JSON.parse(canary.data['canary-gateway.json']).title).toBe('Canary: gateway');
      const pod = find(all, 'Deployment', 'grafana').spec.template.spec;
      // no items: a projected <folder>/<file> item is a symlinked directory, which Grafana's provider does not walk
      expect(pod.volumes.filter((v: any) => v.name.startsWith('dashboards'))).toEqual([
        { name: 'dashboards-canary', configMap: { name: 'grafana-dashboards-canary' } },
        { name: 'dashboards-service-overviews', configMap: { name: 'grafana-dashboards-service-overviews' } },
      ]);
      expect(pod.containers[0].volumeMounts.filter((m: any) => m.name.startsWith('dashboards'))).toEqual([
        { name: 'dashboards-canary', mountPath: '/var/lib/grafana-dashboards/Canary', readOnly: true },
        { name: 'dashboards-service-overviews', mountPath: '/var/lib/grafana-dashboards/Service Overviews', readOnly: true },
      ]);
    });

    test('a canary step changes the dashboards ConfigMap, never the pod template: Grafana reloads it without a restart', () => {
      const withCanaryAt = (weight: number) => {
        const { grafana, objects } = render({ datasources: DATASOURCES });
        grafana.addDashboard({
          folder: 'Canary',
          dashboard: canaryDashboard({
            service: 'gateway', namespace: 'shop', slo: { successRatio: 0.99, p95LatencyMs: 300 }, canaryWeight: weight,
            stableImage: 'registry.example.com/gateway:1.0.0', canaryImage: `registry.example.com/gateway:1.1.${weight}`,
          }),
        });
        const all = objects();
        return { dashboards: find(all, 'ConfigMap', 'grafana-dashboards-canary').data, template: find(all, 'Deployment', 'grafana').spec.template };
      };
      const [at10, at50] = [withCanaryAt(10), withCanaryAt(50)];
      expect(at10.dashboards).not.toEqual(at50.dashboards);
      expect(at10.template).toEqual(at50.template);
    });

    test('in the stack, Grafana\'s pod template is the same with and without a canary in flight', () => {
      const grafanaOf = (scenario: 'steady' | 'canary') => synthStack(ENVIRONMENTS.local, scenario).charts.observability;
      const [steady, canary] = [grafanaOf('steady'), grafanaOf('canary')];
      expect(find(canary, 'ConfigMap', 'grafana-dashboards-canary').data).not.toEqual(find(steady, 'ConfigMap', 'grafana-dashboards-canary').data);
      expect(find(canary, 'Deployment', 'grafana').spec.template).toEqual(find(steady, 'Deployment', 'grafana').spec.template);
    });

    test('a dashboard added to a folder that exists leaves the pod template as it is', () => {
      const rendered = (uids: readonly string[]) => {
        const { grafana, objects } = render({ datasources: DATASOURCES });
        for (const uid of uids) grafana.addDashboard({ folder: 'Canary', dashboard: { uid, title: uid } });
        return find(objects(), 'Deployment', 'grafana').spec.template;
      };
      expect(rendered(['canary-a'])).toEqual(rendered(['canary-a', 'canary-b']));
    });

    test('the pod template still changes with the configuration: grafana.ini and datasources', () => {
      const template = (props: GrafanaProps) => find(render(props).objects(), 'Deployment', 'grafana').spec.template;
      const base = template({ datasources: DATASOURCES });
      expect(template({ datasources: DATASOURCES, rootUrl: 'https://grafana.example.com' }).metadata.annotations)
        .not.toEqual(base.metadata.annotations);
      expect(template({ datasources: [DATASOURCES[0], lokiDatasource({ url: 'http://loki:3100' }), tempoDatasource({ url: 'http://tempo-2:3200' })] })
        .metadata.annotations).not.toEqual(base.metadata.annotations);
    });
  });

  describe('validation', () => {
    test('fails if replicas > 1 without a shared database', () => {
      expect(() => render({ replicas: 2 })).toThrow("[test/Grafana] 'replicas' must be 1 unless 'databaseUrl' is set (each replica would keep its own SQLite database), got 2");
    });

    test.each([0, 11, 1.5])('fails if replicas is %p', replicas => {
      expect(() => render({ replicas, databaseUrl: { name: 'db', key: 'url' } })).toThrow(`'replicas' must be an integer from 1 to 10, got ${replicas}`);
    });

    test('fails on a rootUrl that is not an absolute URL', () => {
      expect(() => render({ rootUrl: 'grafana.local' })).toThrow("'rootUrl' must be an absolute http(s) URL, got \"grafana.local\"");
    });

    test('fails outside a namespaced chart', () => {
      expect(() => new Grafana(new Chart(testApp(), 'c'), 'G')).toThrow('Grafana must be placed in a chart with a namespace');
    });

    test('fails on a duplicate datasource uid or name, or an invalid uid', () => {
      const { grafana } = render({ datasources: DATASOURCES });
      expect(() => grafana.addDatasource(DATASOURCES[0])).toThrow('datasource "Prometheus" (uid "prometheus") is already provisioned');
      expect(() => grafana.addDatasource({ ...DATASOURCES[0], uid: 'bad uid', name: 'x' })).toThrow('datasource uid must match');
    });

    test('fails at synth when a datasource links to a uid that is not provisioned', () => {
      const { objects } = render({ datasources: [DATASOURCES[0]] });
      expect(() => objects()).toThrow('datasource "prometheus" links to datasource uid "tempo", which is not provisioned');
    });

    test('fails at synth when a dashboard uses a datasource that is not provisioned', () => {
      const { grafana, objects } = render({ datasources: DATASOURCES });
      grafana.addDashboard({ folder: 'X', dashboard: { uid: 'x', panels: [{ datasource: { type: 'loki', uid: 'logs' } }] } });
      expect(() => objects()).toThrow('dashboard X/x.json uses datasource uid "logs", which is not provisioned');
    });

    test('fails on a dashboard without a valid uid, a bad folder, or a uid used twice', () => {
      const { grafana } = render();
      expect(() => grafana.addDashboard({ folder: 'X', dashboard: { title: 'no uid' } })).toThrow('dashboard uid must match ^[a-zA-Z0-9_-]{1,40}$, got undefined');
      expect(() => grafana.addDashboard({ folder: '../etc', dashboard: { uid: 'a' } })).toThrow('dashboard folder must match');
      // the folder's volume, dashboards-<folder>, must fit a DNS label
      expect(() => grafana.addDashboard({ folder: 'F'.repeat(53), dashboard: { uid: 'a' } })).toThrow('dashboard folder must match');
      grafana.addDashboard({ folder: 'X', dashboard: { uid: 'a' } });
      expect(() => grafana.addDashboard({ folder: 'Y', dashboard: { uid: 'a' } })).toThrow('a dashboard with uid "a" is already provisioned');
    });

    test('fails when a folder would not fit in one ConfigMap', () => {
      const { grafana } = render();
      const big = 'x'.repeat(500 * 1024);
      grafana.addDashboard({ folder: 'Big', dashboard: { uid: 'a', description: big } });
      expect(() => grafana.addDashboard({ folder: 'Big', dashboard: { uid: 'b', description: big } }))
        .toThrow(/dashboards of folder "Big" would take \d+ bytes, more than a ConfigMap holds/);
    });
  });
});

describe('dashboardDatasourceUids', () => {
  test('finds panel and target datasources, skipping variables and built-ins', () => {
    const dashboard = {
      panels: [
        { datasource: { uid: 'prometheus' }, targets: [{ datasource: { uid: 'loki' } }] },
        { datasource: { uid: '${ds}' } },
        { datasource: { uid: '-- Grafana --' } },
      ],
    };
    expect(dashboardDatasourceUids(dashboard)).toEqual(['loki', 'prometheus']);
    expect(dashboardDatasourceUids(parse('panels: []'))).toEqual([]);
  });
});
