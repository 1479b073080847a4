import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { checkDistinctBuckets, validateEnvironment } from '../../lib/config/environment';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { defineEnvironments } from '../../lib/config/registry';
import { CliIo, runCli } from '../../lib/delivery/cli';
import { StubRequest, StubServer } from '../apps/support/stub-server';
import { repoSnapshot } from '../support/repo-copy';
import { unknownKeys } from '../support/config-keys';
import { K8sObject, configFile, find, ofKind, podSpecOf, servicesWithFixtures, synthStack } from '../support/manifest';
import { MIMIR_3_2_KEYS } from '../support/mimir-keys';
import {
  imageViolations, probeViolations, resourceViolations, restrictedViolations, securityViolations, serviceAccountViolations,
} from '../support/policy';
import { schemaErrors } from '../support/schema';

/**
 * A central topology (the `central` example environment): one observability cluster, two application clusters that
 * ship to it. The trust chain end to end, as rendered: every app-cluster exporter points at the gateway with TLS and
 * credentials; the gateway's edge demands a client certificate and its Collector a bearer token; the names and
 * destinations Argo CD deploys with; and the gate, which judges each cluster on its own series.
 */
const env = ENVIRONMENTS.central;
const topology = env.topology!;
const { gateway } = topology;
const { stack, charts } = synthStack(env);
const GATEWAY_BASE = `https://${gateway.host}`;

/** The Secret volume a pod mounts at the directory of `file`, by Secret name. */
function secretAt(objects: readonly K8sObject[], kind: string, name: string, file: string): string | undefined {
  const pod = podSpecOf(find(objects, kind, name));
  const mounts = pod.containers.flatMap((c: any) => c.volumeMounts ?? []);
  // the deepest mount that holds the file: it is the one the file is read from
  const mount = mounts.filter((m: any) => file.startsWith(`${m.mountPath}/`)).sort((a: any, b: any) => b.mountPath.length - a.mountPath.length)[0];
  return mount && pod.volumes.find((v: any) => v.name === mount.name)?.secret?.secretName;
}

describe('central topology: the observability cluster', () => {
  const observability = charts.observability;

  test('the edge: one host on the ingress gateway, mutual TLS with the credential of the config', () => {
    const gw = find(observability, 'Gateway', 'telemetry-gateway');
    expect(gw.spec.selector).toEqual(env.apps.ingressGateway.selector);
    expect(gw.spec.servers).toEqual([{
      port: { number: 443, name: 'https-telemetry', protocol: 'HTTPS' },
      hosts: [gateway.host],
      tls: { mode: 'MUTUAL', credentialName: gateway.credentialName, minProtocolVersion: 'TLSV1_2' },
    }]);
  });

  test('one route per signal, to the components that take them; nothing else of the cluster is reachable through it', () => {
    const vs = find(observability, 'VirtualService', 'telemetry-gateway');
    expect(vs.spec.gateways).toEqual(['observability/telemetry-gateway']);
    expect(vs.spec.http.map((r: any) => [r.name, r.match, r.route[0].destination])).toEqual([
      ['otlp', [{ uri: { prefix: '/opentelemetry.proto.collector.' } }], { host: 'otel-collector.observability.svc.cluster.local', port: { number: 4317 } }],
      ['logs', [{ uri: { exact: '/loki/api/v1/push' } }], { host: 'loki.observability.svc.cluster.local', port: { number: 3100 } }],
      // Mimir is the store: its push API
      ['metrics', [{ uri: { exact: '/api/v1/push' } }], { host: 'mimir.observability.svc.cluster.local', port: { number: 8080 } }],
    ]);
  });

  test('the gateway Collector refuses OTLP without the bearer token, on both protocols, and keeps the senders\' cluster', () => {
    const config = stack.observability.collector.config;
    expect(config.receivers.otlp.protocols.grpc.auth).toEqual({ authenticator: 'bearertokenauth' });
    expect(config.receivers.otlp.protocols.http.auth).toEqual({ authenticator: 'bearertokenauth' });
    expect(config.service.extensions).toContain('bearertokenauth');
    const tokenFile = config.extensions.bearertokenauth!.filename;
    expect(secretAt(observability, 'Deployment', 'otel-collector', tokenFile)).toBe(gateway.token.name);
    expect(tokenFile.endsWith(`/${gateway.token.key}`)).toBe(true);
    // the connection is the ingress gateway's: metadata by connection would be its pod's; the agents added the senders'
    expect(config.processors.k8s_attributes).toBeUndefined();
    for (const pipeline of Object.values(config.service.pipelines)) expect(pipeline.processors).not.toContain('k8s_attributes');
    expect(config.processors['resource/cluster'].attributes).toEqual([{ key: 'k8s.cluster.name', value: env.clusterName, action: 'insert' }]);
    // so it needs no pod-reading role, no API server and no token of its own
    expect(observability.filter(o => /ClusterRole/.test(o.kind) && o.metadata.name === 'observability-otel-collector')).toEqual([]);
    expect(observability.filter(o => o.metadata.name === 'otel-collector-to-kube-api-egress')).toEqual([]);
    expect(podSpecOf(find(observability, 'Deployment', 'otel-collector')).automountServiceAccountToken).toBe(false);
  });

  test('only the ingress gateway\'s pods reach the three endpoints from outside the namespace', () => {
    for (const [target, port] of [['otel-collector', 4317], ['loki', 3100], ['mimir', 8080]] as const) {
      const policy = find(observability, 'NetworkPolicy', `ingress-gateway-to-${target === 'otel-collector' ? 'collector' : target}-ingress`);
      expect(policy.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': target });
      expect(policy.spec.ingress).toEqual([{
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': env.apps.ingressGateway.namespace } }, podSelector: { matchLabels: env.apps.ingressGateway.selector } }],
        ports: [{ port, protocol: 'TCP' }],
      }]);
    }
  });

  test('Mimir is the store: every writer and reader names the tenant, the rules run in its ruler, its keys are 3.2\'s', () => {
    const { mimir, prometheus, collector, tempo } = stack.observability;
    const tenant = { 'X-Scope-OrgID': env.mimir!.tenant };
    expect(unknownKeys(mimir!.config, MIMIR_3_2_KEYS)).toEqual([]);
    expect(mimir!.config.multitenancy_enabled).toBe(true);
    // this cluster's Prometheus is an agent of Mimir: no rules, no alerts of its own
    expect(prometheus.agent).toBe(true);
    expect(configFile(observability, 'prometheus-config', 'prometheus.yml').remote_write)
      .toEqual([{ url: mimir!.remoteWriteUrl, send_exemplars: true, headers: tenant }]);
    expect(collector.config.exporters.prometheus_remote_write).toMatchObject({ endpoint: mimir!.remoteWriteUrl, headers: tenant });
    expect(tempo.config.metrics_generator?.storage.remote_write).toEqual([expect.objectContaining({ url: mimir!.remoteWriteUrl, headers: tenant })]);
    // Tempo takes the application clusters' spans: its series name each span's cluster, not the one Tempo runs in
    expect(tempo.config.metrics_generator?.registry.external_labels).toEqual({ source: 'tempo' });
    expect(tempo.config.metrics_generator?.processor).toEqual({
      span_metrics: { dimensions: ['k8s.cluster.name'] }, service_graphs: { dimensions: ['k8s.cluster.name'], enable_client_server_prefix: true },
    });
    const datasources = configFile(observability, 'grafana-provisioning', 'datasources.yaml').datasources;
    expect(datasources.find((d: any) => d.type === 'prometheus')).toMatchObject({
      url: mimir!.prometheusUrl, jsonData: { prometheusType: 'Mimir', httpHeaderName1: 'X-Scope-OrgID' }, secureJsonData: { httpHeaderValue1: env.mimir!.tenant },
    });
    // Kiali probes the store before it queries it, without the tenant header: Mimir has no /prometheus/-/healthy
    // (Kiali's default), its /ready needs no tenant
    expect(mimir!.readyUrl).toBe('http://mimir.observability.svc.cluster.local:8080/ready');
    expect(stack.observability.kiali.config.external_services.prometheus).toEqual({
      url: mimir!.prometheusUrl, health_check_url: mimir!.readyUrl, custom_headers: tenant,
      thanos_proxy: { enabled: true, retention_period: '31d', scrape_interval: '30s' },
    });
    // the SLO and pipeline rules, in the tenant's directory of the ruler
    const rules = configFile(observability, 'mimir-rules', 'rules.yaml');
    expect(rules.groups.map((g: any) => g.name)).toEqual(expect.arrayContaining(['slo-gateway', 'pipeline']));
    // each record keeps the cluster: one cluster's burn is never summed away by another's traffic
    for (const rule of rules.groups.find((g: any) => g.name === 'slo-gateway').rules) expect(rule.expr).toMatch(/by \(cluster, /);
    // the ruler reads remote-written samples, which may arrive late: every window rates the counters
    expect(JSON.stringify(rules)).not.toContain('sum_over_time');
    const mount = podSpecOf(find(observability, 'StatefulSet', 'mimir')).containers[0].volumeMounts.find((m: any) => m.name === 'rules');
    expect(mount.mountPath.endsWith(`/${env.mimir!.tenant}`)).toBe(true);
  });

  test('its own logs carry its cluster\'s name, as every application cluster\'s do: one Loki tells them apart', () => {
    const text = stack.observability.alloy!.configText;
    expect(text).toMatch(/external_labels = \{\s*cluster = "[a-z-]+",?\s*\}/);
    expect(text).toContain(`cluster = "${env.clusterName}"`);
    // no application cluster takes the name: it would merge two clusters' logs
    expect(topology.appClusters.map(c => c.name)).not.toContain(env.clusterName);
  });

  test('a span\'s links open its own cluster\'s logs and span metrics, not every cluster\'s service of that name', () => {
    const datasources: any[] = configFile(observability, 'grafana-provisioning', 'datasources.yaml').datasources;
    const tempo = datasources.find(d => d.type === 'tempo').jsonData;
    // the streams' label (every shipper's external label) and the metrics generator's dimension, named as Tempo names it
    expect(tempo.tracesToLogsV2.tags).toContainEqual({ key: 'k8s.cluster.name', value: 'cluster' });
    expect(tempo.tracesToMetrics.tags).toContainEqual({ key: 'k8s.cluster.name', value: 'k8s_cluster_name' });
    expect(stack.observability.tempo.config.metrics_generator?.processor?.span_metrics?.dimensions).toEqual(['k8s.cluster.name']);
    expect(stack.observability.tempo.config.metrics_generator?.registry.external_labels).toEqual({ source: 'tempo' });
  });

  test('Alertmanager groups and inhibits per cluster: one cluster\'s fast burn never mutes another\'s tickets', () => {
    const config = configFile(observability, 'alertmanager-config', 'alertmanager.yml');
    expect(config.route.group_by).toEqual(['alertname', 'service', 'component', 'cluster']);
    expect(config.inhibit_rules.map((r: any) => r.equal))
      .toEqual([['service', 'cluster'], ['service', 'cluster'], ['alertname', 'service', 'component', 'cluster'], ['component', 'cluster']]);
    // one cluster: as before
    const local = configFile(synthStack(ENVIRONMENTS.local).charts.observability, 'alertmanager-config', 'alertmanager.yml');
    expect(local.route.group_by).toEqual(['alertname', 'service', 'component']);
    expect(local.inhibit_rules.map((r: any) => r.equal)).toEqual([['service'], ['service'], ['alertname', 'service', 'component'], ['component']]);
  });

  test('no services run here: they run in the application clusters', () => {
    expect(stack.namespaces).toEqual({});
    expect(ofKind(observability, 'Deployment').map(d => d.metadata.name)).not.toContain('gateway-stable');
  });
});

describe.each(topology.appClusters.map(c => ({ ...c })))('central topology: application cluster $name', cluster => {
  const c = stack.clusters![cluster.name];
  const agents = charts[c.agents.node.id];
  const apps = charts[c.namespaces.apps.node.id];

  test('the OTel agent exports every signal to the gateway over TLS, with the client certificate and the bearer token', () => {
    const config = c.agents.agent.config as any;
    const [name, exporter] = Object.entries(config.exporters)[0] as [string, any];
    expect(Object.keys(config.exporters)).toEqual([name]);
    expect(exporter.endpoint).toBe(`${gateway.host}:443`);
    for (const file of [exporter.tls.ca_file, exporter.tls.cert_file, exporter.tls.key_file]) {
      expect(secretAt(agents, 'DaemonSet', 'otel-agent', file)).toBe(gateway.clientCertificateSecret);
    }
    expect(exporter.auth).toEqual({ authenticator: 'bearertokenauth' });
    expect(secretAt(agents, 'DaemonSet', 'otel-agent', config.extensions.bearertokenauth.filename)).toBe(gateway.clientToken.name);
    for (const pipeline of Object.values(config.service.pipelines) as any[]) expect(pipeline.exporters).toEqual([name]);
    expect(config.processors['resource/cluster'].attributes).toEqual([{ key: 'k8s.cluster.name', value: cluster.name, action: 'upsert' }]);
  });

  test('the demo\'s gateway is reachable from outside: its edge answers the public name and the cluster\'s own, which the per-cluster smoke URL uses', () => {
    const edge = find(apps, 'Gateway', 'edge');
    const https = edge.spec.servers.find((server: any) => server.port.protocol === 'HTTPS');
    expect(https.hosts).toEqual(['flights.example.com', '*.flights.example.com']);
    expect(https.tls.credentialName).toBe('flights-example-com-tls');
    // the host the gate's per-cluster smoke URL names (https://{cluster}.flights.example.com) is one the edge answers
    const smokeHost = new URL('https://{cluster}.flights.example.com'.replace('{cluster}', cluster.name)).hostname;
    const answers = (pattern: string, host: string) => (pattern.startsWith('*.')
      ? host.endsWith(pattern.slice(1)) && !host.slice(0, -pattern.length + 1).includes('.') : host === pattern);
    expect(https.hosts.filter((h: string) => answers(h, smokeHost))).toEqual(['*.flights.example.com']);
    expect(find(apps, 'VirtualService', 'gateway').spec.gateways).toContain('apps/edge');
    expect(find(apps, 'AuthorizationPolicy', 'ingress-to-gateway')).toBeDefined();
  });

  test('both agents run at the cluster\'s own PriorityClass: a full node still gets the agent its services send OTLP to', () => {
    const priority = find(agents, 'PriorityClass', 'obs-canary-node-agent');
    for (const name of ['otel-agent', 'alloy']) expect(podSpecOf(find(agents, 'DaemonSet', name)).priorityClassName).toBe(priority.metadata.name);
  });

  test('Alloy pushes the logs to the gateway over mutual TLS, every stream labelled with the cluster', () => {
    const text = c.agents.alloy.configText;
    expect(text).toMatch(new RegExp(`url\\s+= "${GATEWAY_BASE.replace(/\./g, '\\.')}/loki/api/v1/push"`));
    expect(text).toMatch(/external_labels = \{\s*cluster = "[a-z-]+",?\s*\}/);
    expect(text).toContain(`cluster = "${cluster.name}"`);
    const files = [...text.matchAll(/(?:ca|cert|key)_file\s+= "([^"]+)"/g)].map(m => m[1]);
    expect(files).toHaveLength(3);
    for (const file of files) expect(secretAt(agents, 'DaemonSet', 'alloy', file)).toBe(gateway.clientCertificateSecret);
  });

  test('Prometheus runs as an agent and remote-writes to the gateway over mutual TLS, every series labelled with the cluster', () => {
    const container = podSpecOf(find(agents, 'StatefulSet', 'prometheus')).containers[0];
    expect(container.args).toContain('--agent');
    const config = configFile(agents, 'prometheus-config', 'prometheus.yml');
    expect(config.rule_files).toBeUndefined();
    expect(config.alerting).toBeUndefined();
    expect(config.global.external_labels).toEqual({ cluster: cluster.name });
    expect(config.remote_write).toHaveLength(1);
    const [write] = config.remote_write;
    expect(write.url).toBe(`${GATEWAY_BASE}/api/v1/push`);
    expect(write.headers).toEqual({ 'X-Scope-OrgID': env.mimir!.tenant });
    for (const file of [write.tls_config.ca_file, write.tls_config.cert_file, write.tls_config.key_file]) {
      expect(secretAt(agents, 'StatefulSet', 'prometheus', file)).toBe(gateway.clientCertificateSecret);
    }
    // what the gate asks of this cluster: the services' mesh metrics and kube-state-metrics
    expect(config.scrape_configs.map((j: any) => j.job_name)).toEqual(expect.arrayContaining(['services', 'kube-state-metrics']));
  });

  test('a mesh series fits Mimir\'s label limit: Istio\'s labels, the pin, the scrape\'s own and the cluster', () => {
    // Istio's standard metric labels (istio.io, "Istio Standard Metrics", labels of istio_requests_total)
    const istio = [
      'reporter', 'source_workload', 'source_workload_namespace', 'source_principal', 'source_app', 'source_version', 'source_canonical_service',
      'source_canonical_revision', 'source_cluster', 'destination_workload', 'destination_workload_namespace', 'destination_principal',
      'destination_app', 'destination_version', 'destination_service', 'destination_service_name', 'destination_service_namespace',
      'destination_canonical_service', 'destination_canonical_revision', 'destination_cluster', 'request_protocol', 'response_code',
      'grpc_response_status', 'response_flags', 'connection_security_policy',
    ];
    const config = configFile(agents, 'prometheus-config', 'prometheus.yml');
    const job = config.scrape_configs.find((j: any) => j.job_name === 'services');
    const added = job.relabel_configs.map((r: any) => r.target_label).filter((l: string | undefined) => l && !l.startsWith('__'));
    const labels = new Set([...istio, 'canary_pin', '__name__', 'le', 'job', 'instance', ...added, ...Object.keys(config.global.external_labels)]);
    expect(labels.size).toBeGreaterThan(30);
    expect(labels.size).toBeLessThanOrEqual(stack.observability.mimir!.config.limits.max_label_names_per_series);
  });

  test('each exporter\'s path is one the edge routes', () => {
    const vs = find(charts.observability, 'VirtualService', 'telemetry-gateway');
    const exact = vs.spec.http.flatMap((r: any) => r.match.map((m: any) => m.uri.exact)).filter(Boolean);
    const alloyUrl = /url\s+= "([^"]+)"/.exec(c.agents.alloy.configText)![1];
    const writeUrl = configFile(agents, 'prometheus-config', 'prometheus.yml').remote_write[0].url;
    for (const url of [alloyUrl, writeUrl]) {
      expect(new URL(url).host).toBe(gateway.host);
      expect(exact).toContain(new URL(url).pathname);
    }
  });

  test('the services send OTLP to the agent of their node, and only the agents leave the cluster', () => {
    for (const name of ['gateway-stable', 'backend-stable']) {
      const vars = podSpecOf(find(apps, 'Deployment', name)).containers[0].env;
      expect(vars.find((e: any) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT').value).toBe(c.agents.agent.otlpGrpcUrl);
    }
    expect(find(agents, 'Service', 'otel-agent').spec.internalTrafficPolicy).toBe('Local');
    expect(find(apps, 'NetworkPolicy', 'apps-to-otel-agent-egress').spec.egress[0].ports.map((p: any) => p.port)).toEqual([4317, 4318]);
    expect(find(agents, 'Namespace', 'observability').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(find(agents, 'Namespace', 'observability').metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-options': 'Prune=confirm,Delete=false' });
  });

  test('every pod of the cluster meets Pod Security restricted, the agents included (no host access anywhere)', () => {
    const workloads = [...agents, ...apps].filter(o => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind));
    expect(workloads.map(w => w.metadata.name)).toEqual(expect.arrayContaining(['otel-agent', 'alloy', 'prometheus', 'kube-state-metrics', 'gateway-stable']));
    expect(restrictedViolations([...agents, ...apps])).toEqual([]);
  });
});

describe('central topology: Argo CD', () => {
  const argocd = charts.argocd;
  const applications = ofKind(argocd, 'Application');

  test('one Application per chart of each cluster, named with the environment and the cluster, to that cluster', () => {
    for (const cluster of topology.appClusters) {
      for (const chart of ['observability', 'apps']) {
        const app = find(argocd, 'Application', `obs-canary-central-${cluster.name}-${chart}`);
        expect(app.spec.destination).toEqual({ server: cluster.server, namespace: chart });
        expect(app.spec.source.path).toBe(`dist/central/clusters/${cluster.name}/${chart}`);
      }
    }
    expect(find(argocd, 'Application', 'obs-canary-central-observability').spec.destination)
      .toEqual({ server: 'https://kubernetes.default.svc', namespace: 'observability' });
    expect(applications).toHaveLength(1 + 2 * topology.appClusters.length);
  });

  test('the project allows exactly those clusters and namespaces; no cluster Secret is rendered (they are the operator\'s)', () => {
    const project = find(charts.bootstrap, 'AppProject', 'obs-canary');
    expect(project.spec.destinations).toEqual(expect.arrayContaining(topology.appClusters.flatMap(c => [
      { server: c.server, namespace: 'observability' }, { server: c.server, namespace: 'apps' },
    ])));
    expect(project.spec.destinations).toHaveLength(1 + 2 * topology.appClusters.length);
    const every = Object.values(charts).flat();
    expect(every.filter(o => o.kind === 'Secret')).toEqual([]);
    expect(every.filter(o => o.metadata.labels?.['argocd.argoproj.io/secret-type'])).toEqual([]);
  });

  test('the rendered files: the observability cluster beside one directory per application cluster', () => {
    const dist = path.join(__dirname, '..', '..', 'dist', 'central');
    const dirs = fs.readdirSync(path.join(dist, 'clusters')).sort();
    expect(dirs).toEqual(topology.appClusters.map(c => c.name).sort());
    for (const name of dirs) expect(fs.readdirSync(path.join(dist, 'clusters', name)).sort()).toEqual(['apps', 'observability']);
    const argo = parse(fs.readFileSync(path.join(dist, 'argocd', 'manifest.yaml'), 'utf8').split('\n---\n')[0]);
    expect(argo.kind).toBe('Application');
  });
});

describe('central topology: the gate judges each cluster on its own series', () => {
  let prometheus: StubServer;
  let repo: { dir: string; remove: () => Promise<void> };
  /** The clusters whose queries find nothing (the step not seen applied there). */
  let silent: readonly string[] = [];
  const queryOf = (r: StubRequest): string => new URL(r.url, 'http://x').searchParams.get('query') ?? new URLSearchParams(r.body).get('query') ?? '';
  beforeAll(async () => {
    repo = repoSnapshot();
    // every query answers "1" (the step is observed applied), except in a silent cluster, whose answers are empty
    prometheus = await StubServer.start(async request => {
      const empty = silent.some(cluster => queryOf(request).includes(`cluster="${cluster}"`));
      return { status: 200, body: { status: 'success', data: { resultType: 'vector', result: empty ? [] : [{ metric: {}, value: [0, '1'] }] } } };
    });
  });
  afterAll(async () => {
    await prometheus.close();
    await repo.remove();
  });

  async function advance(): Promise<{ code: number; report: any; queries: string[] }> {
    let out = '';
    const io: CliIo = { cwd: repo.dir, stdout: t => (out += t), stderr: t => (out += t), now: () => new Date('2026-11-01T12:00:00Z'), env: { prometheusUrl: prometheus.url } };
    const before = prometheus.requests.length;
    const code = await runCli(['advance', '--env', 'central', '--service', 'backend', '--dry-run', '--json'], io);
    return { code, report: JSON.parse(out), queries: prometheus.requests.slice(before).map(queryOf) };
  }

  test('every query of an app-cluster release names its cluster, and each cluster is asked; both pass, the release advances', async () => {
    const io: CliIo = { cwd: repo.dir, stdout: () => undefined, stderr: () => undefined, now: () => new Date('2026-11-01T12:00:00Z'), env: {} };
    const image = `ghcr.io/example/obs-canary-backend@sha256:${'a'.repeat(64)}`;
    expect(await runCli(['start', '--env', 'central', '--service', 'backend', '--image', image], io)).toBe(0);
    const { code, report, queries } = await advance();
    expect([code, report.decision, report.toWeight]).toEqual([0, 'advance', 10]);
    expect(report.reason).toMatch(/^cluster apps-eu: advanced to 10%: backend-canary runs ready/);
    expect(queries.length).toBeGreaterThan(1);
    for (const query of queries) {
      const selectors = query.match(/\{[^}]*\}/g) ?? [];
      expect(selectors.length).toBeGreaterThan(0);
      for (const selector of selectors) expect(selector).toMatch(/cluster="apps-(eu|us)"/);
    }
    for (const cluster of topology.appClusters) expect(queries.some(q => q.includes(`cluster="${cluster.name}"`))).toBe(true);
  });

  test('one cluster that does not run the step holds the release, and the reason names it', async () => {
    silent = ['apps-us'];
    try {
      const { code, report } = await advance();
      expect([code, report.decision, report.toWeight]).toEqual([3, 'hold', 0]);
      expect(report.reason).toMatch(/^cluster apps-us: /);
    } finally {
      silent = [];
    }
  });
});

describe('central topology: the gateway behind a LoadBalancer of its own (exposure "loadBalancer")', () => {
  const variant = validateEnvironment({
    ...env, name: 'central-lb',
    topology: { ...topology, gateway: { ...gateway, exposure: { kind: 'loadBalancer', replicas: 2, sourceRanges: ['203.0.113.0/24'] } } },
  });
  const lb = synthStack(variant).charts;
  const objects = lb.observability;
  const edge = lb['telemetry-gateway'];

  test('an Envoy of its own, injected by istiod as a gateway, pinned to the control plane\'s release; the Gateway selects it', () => {
    const deployment = find(edge, 'Deployment', 'telemetry-gateway');
    const template = deployment.spec.template;
    expect(template.metadata.annotations['inject.istio.io/templates']).toBe('gateway');
    expect(template.metadata.labels).toMatchObject({ 'sidecar.istio.io/inject': 'true', istio: 'telemetry-gateway' });
    expect(template.spec.containers.map((c: any) => [c.name, c.image])).toEqual([['istio-proxy', 'docker.io/istio/proxyv2:1.30.3']]);
    // the Gateway selects exactly its pods
    const selector = find(objects, 'Gateway', 'telemetry-gateway').spec.selector;
    expect(selector).toEqual({ 'app.kubernetes.io/name': 'telemetry-gateway', istio: 'telemetry-gateway' });
    expect(template.metadata.labels).toMatchObject(selector);
    expect(restrictedViolations([deployment])).toEqual([]);
  });

  test('in a namespace of its own: the Secrets it may list are its credential\'s namespace\'s, never observability\'s', () => {
    // Istio has a gateway list the Secrets of its namespace to load its credentialName
    expect(find(edge, 'Role', 'telemetry-gateway-secrets').rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }]);
    expect(edge.every(o => o.kind === 'Namespace' || o.metadata.namespace === 'telemetry-gateway')).toBe(true);
    expect(objects.filter(o => o.kind === 'Role' && JSON.stringify(o.rules).includes('secrets'))).toEqual([]);
    expect(find(edge, 'Namespace', 'telemetry-gateway').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(find(edge, 'Namespace', 'telemetry-gateway').metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-options': 'Prune=confirm,Delete=false' });
    expect(find(lb.argocd, 'Application', 'obs-canary-central-lb-telemetry-gateway').spec.destination)
      .toEqual({ server: 'https://kubernetes.default.svc', namespace: 'telemetry-gateway' });
  });

  test('a LoadBalancer Service on 443 for the senders\' addresses; only the gateway\'s pods reach the three endpoints', () => {
    const service = find(edge, 'Service', 'telemetry-gateway');
    expect(service.spec).toMatchObject({ type: 'LoadBalancer', loadBalancerSourceRanges: ['203.0.113.0/24'] });
    expect(service.spec.ports.map((p: any) => p.port)).toEqual([443]);
    // the senders' addresses reach the pods (externalTrafficPolicy Local): the policy admits the same ranges
    expect(service.spec.externalTrafficPolicy).toBe('Local');
    expect(find(edge, 'NetworkPolicy', 'senders-to-telemetry-gateway-ingress').spec.ingress)
      .toEqual([{ from: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 443, protocol: 'TCP' }] }]);
    const proxyPods = find(edge, 'Deployment', 'telemetry-gateway').spec.selector.matchLabels;
    const fromProxy = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'telemetry-gateway' } }, podSelector: { matchLabels: proxyPods } }];
    for (const [target, port] of [['collector', 4317], ['loki', 3100], ['mimir', 8080]] as const) {
      // each flow in both namespaces: the backend admits the gateway's pods, the gateway's pods may send there
      expect(find(objects, 'NetworkPolicy', `telemetry-gateway-to-${target}-ingress`).spec.ingress).toEqual([{ from: fromProxy, ports: [{ port, protocol: 'TCP' }] }]);
      expect(find(edge, 'NetworkPolicy', `telemetry-gateway-to-${target}-egress`).spec.egress[0].ports).toEqual([{ port, protocol: 'TCP' }]);
    }
    expect(objects.filter(o => o.metadata.name.startsWith('ingress-gateway-to-'))).toEqual([]);
    // its refusals and errors are scraped like the ingress gateway's
    const job = configFile(objects, 'prometheus-config', 'prometheus.yml').scrape_configs.find((j: any) => j.job_name === 'telemetry-gateway');
    expect(job.kubernetes_sd_configs[0].namespaces.names).toEqual(['telemetry-gateway']);
    expect(find(edge, 'NetworkPolicy', 'prometheus-to-telemetry-gateway-ingress').spec.ingress[0].ports).toEqual([{ port: 15020, protocol: 'TCP' }]);
    expect(find(objects, 'NetworkPolicy', 'prometheus-to-telemetry-gateway-egress')).toBeDefined();
  });

  test('its objects pass the schema and policy checks', () => {
    const all = [...objects, ...edge];
    expect(all.flatMap(o => schemaErrors(o).map(e => `${o.kind}/${o.metadata.name}: ${e}`))).toEqual([]);
    const rules = [probeViolations, securityViolations, imageViolations, resourceViolations, serviceAccountViolations];
    expect(rules.flatMap(rule => rule(all))).toEqual([]);
  });

  test('a bad exposure is refused with the field, the value and what is allowed', () => {
    expect(() => validateEnvironment({ ...variant, topology: { ...variant.topology!, gateway: { ...gateway, exposure: { kind: 'nodePort' } as never } } }))
      .toThrow(/'topology.gateway.exposure.kind' must be one of "ingressGateway", "loadBalancer", got "nodePort"/);
    expect(() => validateEnvironment({ ...variant, topology: { ...variant.topology!, gateway: { ...gateway, exposure: { kind: 'loadBalancer', replicas: 0 } } } }))
      .toThrow(/'topology.gateway.exposure.replicas' must be an integer from 1 to 20, got 0/);
  });
});

describe('central topology: a team\'s own service in its own namespace (tests/fixtures/services/ledger.yaml)', () => {
  const services = servicesWithFixtures('ledger');
  const { stack: withLedger, charts: ledgerCharts } = synthStack(env, 'steady', services);

  test.each(topology.appClusters.map(c => ({ ...c })))('$name: its namespace chart, its telemetry to the node agent, its scrape and its Application', cluster => {
    const c = withLedger.clusters![cluster.name];
    expect(Object.keys(c.namespaces).sort()).toEqual(['apps', 'payments']);
    const payments = ledgerCharts[c.namespaces.payments.node.id];
    expect(c.namespaces.payments.directory).toBe(`clusters/${cluster.name}/payments`);
    const ledger = podSpecOf(find(payments, 'Deployment', 'ledger-stable')).containers[0];
    expect(ledger.env.find((e: any) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT').value).toBe(c.agents.agent.otlpGrpcUrl);
    // its namespace may send to the agent, the agent's Prometheus scrapes it, kube-state-metrics exports it
    expect(find(payments, 'NetworkPolicy', 'payments-to-otel-agent-egress')).toBeDefined();
    const agents = ledgerCharts[c.agents.node.id];
    const config = configFile(agents, 'prometheus-config', 'prometheus.yml');
    expect(config.scrape_configs.find((j: any) => j.job_name === 'services').kubernetes_sd_configs[0].namespaces.names).toEqual(['apps', 'payments']);
    expect(c.agents.kubeStateMetrics.namespaces).toEqual(['apps', 'payments']);
    const app = find(ledgerCharts.argocd, 'Application', `obs-canary-central-${cluster.name}-payments`);
    expect(app.spec.destination).toEqual({ server: cluster.server, namespace: 'payments' });
    expect(restrictedViolations(payments)).toEqual([]);
  });

  test('its SLO records keep the cluster, in Mimir\'s ruler', () => {
    const rules = configFile(ledgerCharts.observability, 'mimir-rules', 'rules.yaml');
    const group = rules.groups.find((g: any) => g.name === 'slo-ledger');
    expect(group.rules.length).toBeGreaterThan(0);
    for (const rule of group.rules) expect(rule.expr).toMatch(/by \(cluster, /);
  });
});

describe('central topology: an environment added by one entry', () => {
  const entry = (overrides: Record<string, unknown>) => defineEnvironments({
    central: env, staging: { name: 'staging', extends: 'central', clusterName: 'staging-observability', ...overrides } as never,
  });

  test('it renders its own clusters from the entry, with its own names and buckets', () => {
    const staging = validateEnvironment(entry({
      objectStorage: { lokiBucket: 'stg-loki', tempoBucket: 'stg-tempo' }, mimir: { bucket: 'stg-mimir' },
    }).staging);
    expect(() => checkDistinctBuckets([env, staging])).not.toThrow();
    const rendered = synthStack(staging).charts;
    const names = ofKind(rendered.argocd, 'Application').map(a => a.metadata.name).sort();
    expect(names).toEqual(expect.arrayContaining(['obs-canary-staging-apps-eu-apps', 'obs-canary-staging-apps-us-observability', 'obs-canary-staging-observability']));
  });

  test('one that keeps central\'s Mimir bucket is refused, naming the field: its compactor would apply its retention to central\'s blocks', () => {
    const staging = validateEnvironment(entry({ objectStorage: { lokiBucket: 'stg-loki', tempoBucket: 'stg-tempo' } }).staging);
    expect(() => checkDistinctBuckets([env, staging]))
      .toThrow(/"staging"'s 'mimir.bucket' must be a bucket of its own .*got "obs-canary-central-mimir", which is "central"'s 'mimir.bucket' too/);
  });
});
