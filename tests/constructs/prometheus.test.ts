import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Duration, Size, Yaml } from 'cdk8s';
import { Prometheus, PrometheusAgentMode } from '../../lib/constructs/prometheus';
import { synth, testApp, testChart } from '../support/chart';
import { startDaemon } from '../support/daemon';
import { configFile, find } from '../support/manifest';
import { DOWN_PORT } from '../support/ports';

function render(props: ConstructorParameters<typeof Prometheus>[2] = {}) {
  const chart = testChart();
  const prometheus = new Prometheus(chart, 'Prometheus', props);
  return { prometheus, chart, objects: () => synth(chart) };
}

describe('Prometheus', () => {
  describe('defaults', () => {
    const { prometheus, objects } = render();
    const all = objects();
    const sts = find(all, 'StatefulSet', 'prometheus');
    const container = sts.spec.template.spec.containers[0];
    const config = configFile(all, 'prometheus-config', 'prometheus.yml');

    test('a single-replica StatefulSet named prometheus', () => {
      expect(sts.spec.replicas).toBe(1);
      expect(sts.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'prometheus' });
    });

    test('image is the pinned Prometheus 3.x', () => {
      expect(container.image).toBe('quay.io/prometheus/prometheus:v3.15.0');
    });

    test('retention 15d, and by size 85 % of a 10Gi volume', () => {
      expect(config.storage.tsdb.retention).toEqual({ time: '15d', size: '8704MB' });
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');
    });

    test('no storageClassName: the cluster default class', () => {
      expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBeUndefined();
    });

    test('scrape and evaluation interval 30s', () => {
      expect(config.global).toEqual({ scrape_interval: '30s', evaluation_interval: '30s' });
    });

    test('remote-write receiver and exemplar storage on', () => {
      expect(container.args).toEqual(expect.arrayContaining(['--web.enable-remote-write-receiver', '--enable-feature=exemplar-storage']));
      expect(config.storage.exemplars).toEqual({ max_exemplars: 100000 });
    });

    test('scrapes itself, its series naming its pod as a discovered target\'s do (the alerts on it say which Prometheus)', () => {
      expect(config.scrape_configs).toEqual([{
        job_name: 'prometheus', static_configs: [{ targets: ['localhost:9090'], labels: { namespace: 'observability', pod: 'prometheus-0' } }],
      }]);
      // the one pod there is
      expect(find(all, 'StatefulSet', 'prometheus').spec.replicas).toBe(1);
    });

    test('loads the rule file it ships', () => {
      expect(config.rule_files).toEqual(['/etc/prometheus/rules.yml']);
      expect(configFile(all, 'prometheus-config', 'rules.yml')).toEqual({ groups: [] });
    });

    test('resources 200m/1 CPU and 512Mi/2Gi', () => {
      expect(container.resources).toEqual({ requests: { cpu: '200m', memory: '512Mi' }, limits: { cpu: '1000m', memory: '2Gi' } });
    });

    test('probes: startup and readiness on /-/ready, liveness on /-/healthy', () => {
      expect(container.startupProbe.httpGet).toEqual({ path: '/-/ready', port: 'http' });
      expect(container.startupProbe.failureThreshold * container.startupProbe.periodSeconds).toBeGreaterThanOrEqual(600);
      expect(container.readinessProbe.httpGet).toEqual({ path: '/-/ready', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/-/healthy', port: 'http' });
    });

    test('runs as nobody with a read-only root file system; data on the volume', () => {
      expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534 });
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/prometheus' });
    });

    test('RBAC to discover what its jobs discover and nothing more (no job yet: nothing), bound to its ServiceAccount', () => {
      const role = find(all, 'ClusterRole', 'observability-prometheus');
      expect(role.rules).toEqual([]);
      const binding = find(all, 'ClusterRoleBinding', 'observability-prometheus');
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'observability' }]);
      expect(find(all, 'ServiceAccount', 'prometheus').automountServiceAccountToken).toBe(true);
    });

    test('a Service named prometheus on port 9090, and the URLs built from it', () => {
      expect(find(all, 'Service', 'prometheus').spec.ports).toEqual([{ name: 'http', port: 9090, targetPort: 9090, protocol: 'TCP', appProtocol: 'http' }]);
      expect(prometheus.url).toBe('http://prometheus.observability.svc.cluster.local:9090');
      expect(prometheus.remoteWriteUrl).toBe('http://prometheus.observability.svc.cluster.local:9090/api/v1/write');
    });

    test('the primary object is the StatefulSet', () => {
      expect(prometheus.node.defaultChild?.node.id).toBe('Resource');
    });

    test('snapshot', () => {
      expect(all).toMatchSnapshot();
    });
  });

  describe('props', () => {
    test('retention, volumeSize and storageClassName', () => {
      const all = render({ retention: Duration.days(30), volumeSize: Size.gibibytes(100), storageClassName: 'fast' }).objects();
      expect(configFile(all, 'prometheus-config', 'prometheus.yml').storage.tsdb.retention).toEqual({ time: '30d', size: '85GB' });
      const claim = find(all, 'StatefulSet', 'prometheus').spec.volumeClaimTemplates[0].spec;
      expect(claim.storageClassName).toBe('fast');
      expect(claim.resources.requests.storage).toBe('100Gi');
    });

    test('scrapeInterval and externalLabels', () => {
      const all = render({ scrapeInterval: Duration.seconds(15), externalLabels: { cluster: 'kind' } }).objects();
      expect(configFile(all, 'prometheus-config', 'prometheus.yml').global)
        .toEqual({ scrape_interval: '15s', evaluation_interval: '15s', external_labels: { cluster: 'kind' } });
    });

    test('image, maxExemplars and resources', () => {
      const all = render({
        image: 'quay.io/prometheus/prometheus:v3.5.5',
        maxExemplars: 5,
        resources: { cpuRequestMillis: 10, cpuLimitMillis: 20, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(128) },
      }).objects();
      const container = find(all, 'StatefulSet', 'prometheus').spec.template.spec.containers[0];
      expect(container.image).toBe('quay.io/prometheus/prometheus:v3.5.5');
      expect(container.resources.limits).toEqual({ cpu: '20m', memory: '128Mi' });
      expect(configFile(all, 'prometheus-config', 'prometheus.yml').storage.exemplars.max_exemplars).toBe(5);
    });

    test('scrape() adds a pod-discovery job that keeps only the named metrics port', () => {
      const { prometheus, objects } = render();
      prometheus.scrape({ job: 'grafana', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'grafana' }, port: 'http' });
      const job = configFile(objects(), 'prometheus-config', 'prometheus.yml').scrape_configs[1];
      expect(job.job_name).toBe('grafana');
      expect(job.metrics_path).toBe('/metrics');
      expect(job.kubernetes_sd_configs).toEqual([{
        role: 'pod', namespaces: { names: ['observability'] }, selectors: [{ role: 'pod', label: 'app.kubernetes.io/name=grafana' }],
      }]);
      expect(job.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http', action: 'keep' });
      expect(job.relabel_configs.map((r: any) => r.target_label).filter(Boolean)).toEqual(['namespace', 'pod', 'node']);
    });

    test('addRuleGroup() renders the group into rules.yml', () => {
      const { prometheus, objects } = render();
      prometheus.addRuleGroup({ name: 'g', rules: [{ record: 'job:up:sum', expr: 'sum by (job) (up)' }] });
      expect(configFile(objects(), 'prometheus-config', 'rules.yml')).toEqual({ groups: [{ name: 'g', rules: [{ record: 'job:up:sum', expr: 'sum by (job) (up)' }] }] });
    });

    test('a config change changes the pod template checksum, so the pod restarts', () => {
      const a = render();
      const b = render();
      b.prometheus.addRuleGroup({ name: 'g', rules: [{ record: 'job:up:sum', expr: 'sum by (job) (up)' }] });
      const checksumOf = (all: any[]) => find(all, 'StatefulSet', 'prometheus').spec.template.metadata.annotations['checksum/config'];
      expect(checksumOf(a.objects())).toMatch(/^[0-9a-f]{16}$/);
      expect(checksumOf(a.objects())).not.toBe(checksumOf(b.objects()));
    });
  });

  describe('validation', () => {
    test('fails if retention is shorter than one TSDB block (2h)', () => {
      expect(() => render({ retention: Duration.hours(1) })).toThrow("[test/Prometheus] 'retention' must be at least 2h (one TSDB block), got 1h");
    });

    test('fails if the volume is smaller than 1Gi', () => {
      expect(() => render({ volumeSize: Size.mebibytes(512) })).toThrow("'volumeSize' must be at least 1Gi, got 512Mi");
    });

    test.each([['500ms', Duration.millis(500)], ['10m', Duration.minutes(10)], ['1500ms', Duration.millis(1500)]])('fails if scrapeInterval is %s', (_label, interval) => {
      expect(() => render({ scrapeInterval: interval })).toThrow("'scrapeInterval' must be whole seconds from 1s to 5m");
    });

    test('fails if maxExemplars is negative', () => {
      expect(() => render({ maxExemplars: -1 })).toThrow("'maxExemplars' must be a non-negative integer, got -1");
    });

    test('fails outside a namespaced chart', () => {
      expect(() => new Prometheus(new Chart(testApp(), 'c'), 'P')).toThrow('Prometheus must be placed in a chart with a namespace');
    });

    test('the ClusterRole grants what the jobs\' service discovery reads: pods for role pod; services and endpoints (slices) only when used', () => {
      const { prometheus, objects } = render();
      const rules = () => find(objects(), 'ClusterRole', 'observability-prometheus').rules;
      prometheus.scrape({ job: 'grafana', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'grafana' }, port: 'http' });
      prometheus.scrape({ job: 'loki', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'loki' }, port: 'http' });
      expect(rules()).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
      prometheus.addScrapeConfig({ job_name: 'team-endpoints', kubernetes_sd_configs: [{ role: 'endpointslice' }] });
      expect(rules()).toEqual([
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ]);
    });

    test('fails on a duplicate scrape job, its own included', () => {
      const { prometheus } = render();
      const target = { job: 'x', namespace: 'o', selector: { a: 'b' }, port: 'http' };
      prometheus.scrape(target);
      expect(() => prometheus.scrape(target)).toThrow('scrape job "x" already exists; job names must be unique');
      expect(() => prometheus.scrape({ ...target, job: 'prometheus' })).toThrow('scrape job "prometheus" already exists');
    });

    test('fails on a duplicate rule group or an invalid recorded name', () => {
      const { prometheus } = render();
      prometheus.addRuleGroup({ name: 'g', rules: [] });
      expect(() => prometheus.addRuleGroup({ name: 'g', rules: [] })).toThrow('rule group "g" already exists');
      expect(() => prometheus.addRuleGroup({ name: 'h', rules: [{ record: 'not-a-metric', expr: '1' }] }))
        .toThrow('recording rule name must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$, got "not-a-metric"');
    });
  });

  describe('agent mode', () => {
    const AGENT: PrometheusAgentMode = {
      remoteWriteUrl: 'https://metrics.central.example/api/v1/push',
      headers: { 'X-Scope-OrgID': 'cluster-a' },
      clientCertificateSecret: 'central-metrics-client',
    };
    const TLS_DIR = '/etc/prometheus-remote-write-tls';
    const agent = (extra: Partial<PrometheusAgentMode> = {}) => render({ agent: { ...AGENT, ...extra }, externalLabels: { cluster: 'a' } });

    const { prometheus, objects } = agent();
    prometheus.scrape({ job: 'grafana', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'grafana' }, port: 'http' });
    const all = objects();
    const sts = find(all, 'StatefulSet', 'prometheus');
    const container = sts.spec.template.spec.containers[0];
    const config = configFile(all, 'prometheus-config', 'prometheus.yml');

    test('exposes agent, which server mode does not', () => {
      expect(prometheus.agent).toBe(true);
      expect(render().prometheus.agent).toBe(false);
    });

    test('runs with --agent and its WAL on the data volume; no server-only flag', () => {
      expect(container.args).toEqual(['--config.file=/etc/prometheus/prometheus.yml', '--agent', '--storage.agent.path=/prometheus']);
      expect(container.args.filter((a: string) => a.startsWith('--storage.tsdb.') || a.startsWith('--web.enable-remote-write-receiver')
        || a.startsWith('--enable-feature'))).toEqual([]);
      expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/prometheus' });
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');
    });

    test('no rule_files, alerting or storage, and no rules.yml', () => {
      expect(Object.keys(config).sort()).toEqual(['global', 'remote_write', 'scrape_configs']);
      expect(Object.keys(find(all, 'ConfigMap', 'prometheus-config').data)).toEqual(['prometheus.yml']);
    });

    test('keeps scrape configs and external labels', () => {
      expect(config.global).toEqual({ scrape_interval: '30s', external_labels: { cluster: 'a' } });
      expect(config.scrape_configs.map((j: any) => j.job_name)).toEqual(['prometheus', 'grafana']);
    });

    test('remote-writes to the central store with its headers and the client certificate', () => {
      expect(config.remote_write).toEqual([{
        url: 'https://metrics.central.example/api/v1/push',
        // the services' exemplars too, for the metric-to-trace links
        send_exemplars: true,
        headers: { 'X-Scope-OrgID': 'cluster-a' },
        tls_config: { ca_file: `${TLS_DIR}/ca.crt`, cert_file: `${TLS_DIR}/tls.crt`, key_file: `${TLS_DIR}/tls.key` },
      }]);
    });

    test('the TLS files lie in the read-only mount of the Secret', () => {
      const mount = container.volumeMounts.find((m: any) => m.name === 'remote-write-tls');
      expect(mount).toEqual({ name: 'remote-write-tls', mountPath: TLS_DIR, readOnly: true });
      const volume = sts.spec.template.spec.volumes.find((v: any) => v.name === 'remote-write-tls');
      expect(volume.secret.secretName).toBe('central-metrics-client');
      const files = Object.values(config.remote_write[0].tls_config) as string[];
      for (const file of files) {
        expect(path.posix.dirname(file)).toBe(mount.mountPath);
        expect(volume.secret.items).toContainEqual({ key: path.posix.basename(file), path: path.posix.basename(file) });
      }
      expect(volume.secret.defaultMode).toBe(0o440);
    });

    test('no headers: no headers key', () => {
      const cfg = configFile(agent({ headers: undefined }).objects(), 'prometheus-config', 'prometheus.yml');
      expect(cfg.remote_write[0]).not.toHaveProperty('headers');
    });

    test('a config change changes the pod template checksum', () => {
      const checksumOf = (chartObjects: any[]) => find(chartObjects, 'StatefulSet', 'prometheus').spec.template.metadata.annotations['checksum/config'];
      expect(checksumOf(all)).toMatch(/^[0-9a-f]{16}$/);
      expect(checksumOf(agent().objects())).not.toBe(checksumOf(all));
    });

    test('fails on addRuleGroup, sendAlertsTo and remoteWriteUrl', () => {
      const p = agent().prometheus;
      expect(() => p.addRuleGroup({ name: 'g', rules: [] }))
        .toThrow('[test/Prometheus] an agent evaluates no rules (Prometheus refuses \'rule_files\' in agent mode); add rule group "g" to the central store');
      expect(() => p.sendAlertsTo(['alertmanager-0:9093']))
        .toThrow('[test/Prometheus] an agent sends no alerts (Prometheus refuses \'alerting\' in agent mode); alert from the central store');
      expect(() => p.remoteWriteUrl).toThrow('an agent has no remote-write receiver');
    });

    test.each(['http://metrics.central.example/api/v1/push', 'metrics.central.example/api/v1/push', 'https://u:p@metrics.central.example/api/v1/push'])(
      'fails if remoteWriteUrl is %s', (url) => {
        expect(() => agent({ remoteWriteUrl: url }))
          .toThrow(`[test/Prometheus] 'agent.remoteWriteUrl' must be an https:// URL without credentials (the client certificate authenticates), got "${url}"`);
      });

    test.each(['Authorization', 'content-type', 'X-Prometheus-Remote-Write-Version'])('fails if headers set the reserved %s', (header) => {
      expect(() => agent({ headers: { [header]: 'x' } }))
        .toThrow(`[test/Prometheus] 'agent.headers' must not set "${header}": Prometheus reserves it and refuses the config`);
    });

    test('fails if clientCertificateSecret is not a Secret name', () => {
      expect(() => agent({ clientCertificateSecret: 'Not_A_Name' }))
        .toThrow('\'agent.clientCertificateSecret\' must be a Secret name (a DNS label), got "Not_A_Name"');
    });

    test('fails if retention or maxExemplars are set', () => {
      expect(() => render({ agent: AGENT, retention: Duration.days(30) })).toThrow('\'retention\' does not apply in agent mode');
      expect(() => render({ agent: AGENT, maxExemplars: 5 })).toThrow('\'maxExemplars\' does not apply in agent mode');
    });

    describe('with Debian\'s Prometheus 2.42 (agent mode: --enable-feature=agent)', () => {
      jest.setTimeout(60_000);
      let dir: string;
      beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-agent-'));
        // a self-signed certificate stands in for the CA and the client certificate: Prometheus reads them at start
        execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
          '-subj', '/CN=agent', '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.crt')], { stdio: 'pipe' });
        fs.copyFileSync(path.join(dir, 'tls.crt'), path.join(dir, 'ca.crt'));
      });
      afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

      /** The rendered config, runnable here: Kubernetes discovery becomes file discovery, the Secret's files the local ones. */
      const runnable = (rendered: any, file: string): string => {
        const copy = JSON.parse(JSON.stringify(rendered));
        for (const job of copy.scrape_configs) {
          if (job.kubernetes_sd_configs) {
            delete job.kubernetes_sd_configs;
            job.file_sd_configs = [{ files: [path.join(dir, `${job.job_name}.json`)] }];
          }
        }
        delete copy.storage?.tsdb;
        for (const rw of copy.remote_write ?? []) {
          // nothing listens there: the agent retries in the background, and readiness does not wait for it
          rw.url = `https://127.0.0.1:${DOWN_PORT}/api/v1/push`;
          for (const key of ['ca_file', 'cert_file', 'key_file']) rw.tls_config[key] = path.join(dir, path.posix.basename(rw.tls_config[key]));
        }
        fs.writeFileSync(path.join(dir, file), Yaml.stringify(copy));
        return path.join(dir, file);
      };

      test('the rendered agent config reaches ready', async () => {
        const configPath = runnable(config, 'agent.yml');
        const wal = fs.mkdtempSync(path.join(dir, 'wal-'));
        const daemon = await startDaemon('prometheus', address => [
          '--enable-feature=agent', `--config.file=${configPath}`, `--storage.agent.path=${wal}`, `--web.listen-address=${address}`, '--log.level=warn',
        ], wal);
        try {
          expect((await fetch(`${daemon.url}/-/ready`)).status).toBe(200);
        } finally {
          await daemon.stop();
        }
      });

      test('control: the server-mode config is refused in agent mode', () => {
        const server = render();
        server.prometheus.sendAlertsTo(['127.0.0.1:9093']);
        const configPath = runnable(configFile(server.objects(), 'prometheus-config', 'prometheus.yml'), 'server.yml');
        const run = spawnSync('prometheus', ['--enable-feature=agent', `--config.file=${configPath}`,
          `--storage.agent.path=${path.join(dir, 'server-wal')}`, `--web.listen-address=127.0.0.1:${DOWN_PORT}`], { encoding: 'utf8', timeout: 20_000 });
        expect(run.status).not.toBe(0);
        expect(run.stderr).toMatch(/field (alerting|rule_files) is not allowed in agent mode/);
      });
    });
  });
});
