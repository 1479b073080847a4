import { Size } from 'cdk8s';
import { KIALI_PORT_FORWARD_URL, Kiali, KialiProps } from '../../lib/constructs/kiali';
import { IMAGES } from '../../lib/images';
import { synth, testChart } from '../support/chart';
import { keyPaths, unknownKeys } from '../support/config-keys';
import { configFile, find, ofKind } from '../support/manifest';

/**
 * Every key this project renders into Kiali's `config.yaml`, checked by hand against the `yaml` tags of `Config` and
 * its structs in Kiali v2.30.0 (https://github.com/kiali/kiali/blob/v2.30.0/config/config.go) and the Kiali CR
 * reference of the 2.x line (kiali.io/docs/configuration/kialis.kiali.io). A new key must be checked there and added.
 */
const KIALI_V2_30_KEYS = [
  'auth.strategy',
  'deployment.cluster_wide_access', 'deployment.discovery_selectors.default[].matchLabels.*', 'deployment.instance_name',
  'deployment.namespace', 'deployment.view_only_mode',
  'external_services.grafana.dashboards', 'external_services.grafana.enabled', 'external_services.grafana.external_url',
  'external_services.grafana.health_check_url', 'external_services.grafana.internal_url',
  'external_services.istio.istio_api_enabled',
  'external_services.prometheus.url',
  // PrometheusConfig.HealthCheckUrl (config/config.go at v2.30.0): probed by prometheus/lazy_client.go before any query
  'external_services.prometheus.health_check_url',
  // PrometheusConfig.CustomHeaders (config/config.go at v2.30.0): Mimir's tenant header
  'external_services.prometheus.custom_headers.*',
  // PrometheusConfig.ThanosProxy (config/config.go at v2.30.0): a store without /api/v1/status/config
  'external_services.prometheus.thanos_proxy.enabled', 'external_services.prometheus.thanos_proxy.retention_period',
  'external_services.prometheus.thanos_proxy.scrape_interval',
  'external_services.tracing.enabled', 'external_services.tracing.external_url', 'external_services.tracing.internal_url',
  'external_services.tracing.provider', 'external_services.tracing.tempo_config.datasource_uid', 'external_services.tracing.tempo_config.org_id',
  'external_services.tracing.tempo_config.url_format', 'external_services.tracing.use_grpc',
  // TracingConfig.NamespaceSelector (config/config.go at v2.30.0, default true)
  'external_services.tracing.namespace_selector',
  'login_token.signing_key',
  'server.observability.metrics.enabled', 'server.observability.metrics.port', 'server.port', 'server.web_root',
];

const WIRING: KialiProps = {
  prometheusUrl: 'http://prometheus.observability.svc.cluster.local:9090',
  grafanaUrl: 'http://grafana.observability.svc.cluster.local:3000',
  tempoUrl: 'http://tempo.observability.svc.cluster.local:3200',
};

function render(props: Partial<KialiProps> = {}) {
  const chart = testChart();
  const kiali = new Kiali(chart, 'Kiali', { ...WIRING, ...props });
  const all = synth(chart);
  const deployment = find(all, 'Deployment', 'kiali');
  const pod = deployment.spec.template.spec;
  return { kiali, all, deployment, pod, container: pod.containers[0], config: configFile(all, 'kiali', 'config.yaml') };
}

describe('Kiali', () => {
  test('image defaults to the pinned Kiali 2.30', () => {
    const { kiali, container } = render();
    expect(IMAGES.kiali).toBe('quay.io/kiali/kiali:v2.30.0');
    expect(container.image).toBe(IMAGES.kiali);
    expect(kiali.image).toBe(IMAGES.kiali);
  });

  test('every key rendered is one Kiali v2.30 reads, with token sign-in and namespaces (the most keys)', () => {
    for (const props of [{}, { auth: 'token', namespaces: ['apps', 'istio-system'], grafanaExternalUrl: 'https://grafana.example.com' }] as const) {
      const { config } = render(props);
      expect(unknownKeys(config, KIALI_V2_30_KEYS)).toEqual([]);
    }
    // the list holds no key nothing renders (a stale entry would hide a removed key)
    const { config } = render({
      auth: 'token', namespaces: ['apps'], prometheusHeaders: { 'X-Scope-OrgID': 'tenant' }, prometheusProxy: { retention_period: '744h', scrape_interval: '30s' },
    });
    expect(config.external_services.prometheus.thanos_proxy).toEqual({ enabled: true, retention_period: '744h', scrape_interval: '30s' });
    expect(config.external_services.prometheus.custom_headers).toEqual({ 'X-Scope-OrgID': 'tenant' });
    const rendered = keyPaths(config).map(p => p.replace(/matchLabels\..*$/, 'matchLabels.*').replace(/custom_headers\..*$/, 'custom_headers.*'));
    expect([...new Set(rendered)].sort()).toEqual([...KIALI_V2_30_KEYS].sort());
  });

  test('the config the construct exposes is the one in the ConfigMap', () => {
    const { kiali, config } = render();
    expect(config).toEqual(JSON.parse(JSON.stringify(kiali.config)));
  });

  test('view-only, cluster-wide, in its own namespace, served under /kiali on 20001 with metrics on 9090', () => {
    const { config, all } = render();
    expect(config.deployment).toEqual({ cluster_wide_access: true, instance_name: 'kiali', namespace: 'observability', view_only_mode: true });
    expect(config.server).toEqual({ port: 20001, web_root: '/kiali', observability: { metrics: { enabled: true, port: 9090 } } });
    expect(find(all, 'Service', 'kiali').spec.ports.map((p: any) => [p.name, p.port])).toEqual([['http', 20001], ['http-metrics', 9090]]);
  });

  test('wired to Prometheus, Grafana and Tempo by the URLs given; no Grafana links without its external URL', () => {
    const { external_services: s } = render().config;
    // Kiali's own default, written out: what it probes before it queries at all
    expect(s.prometheus).toEqual({ url: WIRING.prometheusUrl, health_check_url: `${WIRING.prometheusUrl}/-/healthy` });
    expect(render({ prometheusHealthUrl: 'http://store:8080/ready' }).config.external_services.prometheus.health_check_url).toBe('http://store:8080/ready');
    expect(s.grafana).toEqual({
      enabled: true, internal_url: WIRING.grafanaUrl, external_url: '', health_check_url: `${WIRING.grafanaUrl}/api/health`, dashboards: [],
    });
    expect(s.tracing).toEqual({
      enabled: true, provider: 'tempo', internal_url: WIRING.tempoUrl, use_grpc: false, namespace_selector: false, external_url: '',
      tempo_config: { url_format: 'grafana', datasource_uid: 'tempo', org_id: '1' },
    });
    expect(s.istio).toEqual({ istio_api_enabled: false });
  });

  test('grafanaExternalUrl: trace links open Grafana\'s Explore there', () => {
    const { external_services: s } = render({ grafanaExternalUrl: 'https://grafana.example.com/', tempoDatasourceUid: 'traces' }).config;
    expect(s.grafana.external_url).toBe('https://grafana.example.com');
    expect(s.tracing.external_url).toBe('https://grafana.example.com');
    expect(s.tracing.tempo_config.datasource_uid).toBe('traces');
  });

  test('namespaces: discovery selectors by namespace name; none by default (every namespace)', () => {
    expect(render().config.deployment.discovery_selectors).toBeUndefined();
    expect(render({ namespaces: ['apps', 'istio-system', 'apps'] }).config.deployment.discovery_selectors).toEqual({
      default: [{ matchLabels: { 'kubernetes.io/metadata.name': 'apps' } }, { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } }],
    });
  });

  test('RBAC is read-only: get, list and watch (list only for the injection webhooks, get for logs), nothing on Secrets', () => {
    for (const auth of ['anonymous', 'token'] as const) {
      const { all } = render({ auth });
      const [role] = ofKind(all, 'ClusterRole');
      expect(role.metadata.name).toBe('observability-kiali');
      for (const rule of role.rules) {
        expect([rule.resources, rule.verbs.filter((v: string) => !['get', 'list', 'watch'].includes(v))]).toEqual([rule.resources, []]);
        expect(rule.resources).not.toContain('secrets');
        expect(rule.resources).not.toContain('pods/portforward');
        expect(rule.resources).not.toContain('pods/exec');
      }
      const istio = role.rules.find((r: any) => r.apiGroups.includes('networking.istio.io'));
      expect(istio.apiGroups).toEqual(expect.arrayContaining(['networking.istio.io', 'security.istio.io', 'telemetry.istio.io']));
      const binding = find(all, 'ClusterRoleBinding', 'observability-kiali');
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'kiali', namespace: 'observability' }]);
      expect(binding.roleRef.name).toBe('observability-kiali');
    }
  });

  test('auth defaults to anonymous: no signing key, no Secret mounted', () => {
    const { config, pod, container } = render();
    expect(config.auth).toEqual({ strategy: 'anonymous' });
    expect(config.login_token).toBeUndefined();
    expect(pod.volumes.map((v: any) => v.name)).toEqual(['config', 'tmp']);
    expect(container.volumeMounts.map((m: any) => m.name)).toEqual(['config', 'tmp']);
  });

  test('token: the signing key is a file mounted from the Secret, the config names only its path', () => {
    const { config, pod, container } = render({ auth: 'token' });
    expect(config.auth).toEqual({ strategy: 'token' });
    expect(config.login_token).toEqual({ signing_key: '/kiali-override-secrets/login-token-signing-key/value.txt' });
    expect(pod.volumes.find((v: any) => v.name === 'signing-key')).toEqual({
      name: 'signing-key', secret: { secretName: 'kiali-signing-key', items: [{ key: 'key', path: 'value.txt' }], defaultMode: 0o440 },
    });
    expect(container.volumeMounts).toContainEqual({ name: 'signing-key', mountPath: '/kiali-override-secrets/login-token-signing-key', readOnly: true });
  });

  test('signingKey: another Secret and key', () => {
    const { pod } = render({ auth: 'token', signingKey: { name: 'kiali-login', key: 'signing-key' } });
    expect(pod.volumes.find((v: any) => v.name === 'signing-key').secret).toEqual({
      secretName: 'kiali-login', items: [{ key: 'signing-key', path: 'value.txt' }], defaultMode: 0o440,
    });
  });

  test('no secret literal: no env value, config value or object holds a key; no Secret object is rendered', () => {
    for (const auth of ['anonymous', 'token'] as const) {
      const { all, container, config } = render({ auth });
      expect(ofKind(all, 'Secret')).toEqual([]);
      expect(container.env.map((e: any) => e.name)).toEqual(['ACTIVE_NAMESPACE', 'LOG_FORMAT', 'LOG_LEVEL']);
      if (config.login_token) expect(config.login_token.signing_key).toMatch(/^\//);
    }
  });

  test('a restricted pod: non-root, read-only root file system with /tmp on an emptyDir, no capabilities, RuntimeDefault', () => {
    const { pod, container } = render();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.volumes.find((v: any) => v.name === 'tmp')).toEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
    expect(pod.automountServiceAccountToken).toBe(true);
  });

  test('one replica, probes on /kiali/healthz, started with its config file', () => {
    const { deployment, container } = render();
    expect(deployment.spec.replicas).toBe(1);
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      expect(probe.httpGet).toEqual({ path: '/kiali/healthz', port: 'http' });
    }
    expect(container.command).toEqual(['/opt/kiali/kiali', '--config', '/kiali-configuration/config.yaml']);
  });

  test('resources default to 20m/500m CPU, 64Mi/256Mi; resources: as given', () => {
    expect(render().container.resources).toEqual({ requests: { cpu: '20m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    const resources = { cpuRequestMillis: 50, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512) };
    expect(render({ resources }).container.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1000m', memory: '512Mi' } });
  });

  test('consoleUrl: the root URL, else the port-forward\'s; url: the in-cluster one under /kiali', () => {
    expect(render().kiali.consoleUrl).toBe(`${KIALI_PORT_FORWARD_URL}/kiali/console`);
    expect(KIALI_PORT_FORWARD_URL).toBe('http://localhost:20001');
    expect(render({ rootUrl: 'https://kiali.example.com/' }).kiali.consoleUrl).toBe('https://kiali.example.com/kiali/console');
    expect(render().kiali.url).toBe('http://kiali.observability.svc.cluster.local:20001/kiali');
  });

  test('the config checksum rolls the pods when the config changes', () => {
    const a = render().deployment.spec.template.metadata.annotations['checksum/config'];
    expect(render({ auth: 'token' }).deployment.spec.template.metadata.annotations['checksum/config']).not.toBe(a);
  });

  test.each([
    ['auth is neither anonymous nor token', { auth: 'openid' as never }, /'auth' must be "anonymous" or "token", got "openid"/],
    ['rootUrl is not an absolute URL', { rootUrl: 'kiali.example.com' }, /'rootUrl' must be an absolute http\(s\) URL, got "kiali.example.com"/],
    ['rootUrl has a path', { rootUrl: 'https://example.com/kiali' }, /'rootUrl' must have no path .*got "https:\/\/example.com\/kiali"/],
    ['grafanaExternalUrl is not a URL', { grafanaExternalUrl: 'grafana' }, /'grafanaExternalUrl' must be an absolute http\(s\) URL, got "grafana"/],
    ['a namespace is no DNS label', { namespaces: ['Apps'] }, /'namespaces' must hold DNS labels, got \["Apps"\]/],
  ])('fails if %s', (_what, props, message) => {
    expect(() => render(props)).toThrow(message);
  });

  test('snapshot (review aid)', () => {
    expect(render({ auth: 'token', namespaces: ['apps', 'istio-system'], rootUrl: 'https://kiali.example.com' }).all).toMatchSnapshot();
  });
});
