import * as fs from 'node:fs';
import { Chart, Size } from 'cdk8s';
import { OTEL_AGENT_TLS_DIR, OtelAgent } from '../../lib/constructs/otel-agent';
import { OtelCollector } from '../../lib/constructs/otel-collector';
import { synth, testApp, testChart } from '../support/chart';
import { keyPaths } from '../support/config-keys';
import { configFile, find } from '../support/manifest';
import { restrictedViolations, secretViolations } from '../support/policy';

const PROPS = {
  gatewayEndpoint: 'telemetry.example.com:443',
  clientCertificateSecret: 'otel-agent-client-tls',
  token: { name: 'otel-agent-gateway', key: 'bearer-token' },
  clusterName: 'apps-eu-1',
};

function render(props: Partial<ConstructorParameters<typeof OtelAgent>[2]> = {}) {
  const chart = testChart();
  const agent = new OtelAgent(chart, 'Agent', { ...PROPS, ...props });
  const all = synth(chart);
  const ds = find(all, 'DaemonSet', 'otel-agent');
  const pod = ds.spec.template.spec;
  return { agent, all, ds, pod, container: pod.containers[0], config: configFile(all, 'otel-agent-config', 'config.yaml') };
}

/** The volume a container path is mounted from, with the mount: fails when no mount covers the path. */
function mountOf(pod: any, file: string): { mount: any; volume: any } {
  const mount = pod.containers[0].volumeMounts.find((m: any) => file.startsWith(`${m.mountPath}/`));
  if (!mount) throw new Error(`no volume mount covers ${file}`);
  return { mount, volume: pod.volumes.find((v: any) => v.name === mount.name) };
}

/**
 * The keys of the bearertokenauth extension, not in the key reference: the `mapstructure` tags of `Config` in
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/v0.159.0/extension/bearertokenauthextension/config.go
 * (read at the stored version 9ff8b211a1a8e20fa2e580e33ce1c9a6be261add; newer versions add `file_retry`, unused here).
 */
const BEARERTOKENAUTH_KEYS = ['header', 'scheme', 'token', 'tokens', 'filename'];

/** A node of the key reference (/work/shared/reference/config-keys/README.md describes the shapes). */
type KeyTree = true | { readonly [key: string]: KeyTree };
const REFERENCE = '/work/shared/reference/config-keys/otelcol-contrib-0.159.0.json';

/** The key paths of `value` that `tree` does not have; component types the reference leaves open are reported too. */
function unknownTo(tree: KeyTree, value: unknown, path: string): string[] {
  if (tree === true || (typeof tree === 'object' && tree.__any__)) return [];
  if (typeof tree === 'object' && tree.__list__) {
    return Array.isArray(value) ? value.flatMap(v => unknownTo(tree.__list__, v, `${path}[]`)) : [`${path} (not a list)`];
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const at = path ? `${path}.${key}` : key;
    if (tree.__types__ && typeof tree.__types__ === 'object') {
      let type: KeyTree | undefined = (tree.__types__ as Record<string, KeyTree>)[key.split('/')[0]];
      while (type && typeof type === 'object' && typeof type.__alias__ === 'string') {
        type = (tree.__types__ as Record<string, KeyTree>)[type.__alias__ as unknown as string];
      }
      return type ? unknownTo(type, inner, at) : [`${at} (type not in the reference)`];
    }
    if (tree.__map__) return unknownTo(tree.__map__, inner, at);
    const sub = tree[key];
    if (sub !== undefined) return unknownTo(sub, inner, at);
    return tree.__rest__ ? [] : [at];
  });
}

describe('OtelAgent', () => {
  describe('defaults', () => {
    const { agent, all, ds, pod, container, config } = render();
    const pipelines = config.service.pipelines;

    test('a DaemonSet of the pinned contrib image on every node (a service tolerating a pool\'s taint sends to its node\'s agent), its config in a ConfigMap with a checksum', () => {
      expect(container.image).toBe('docker.io/otel/opentelemetry-collector-contrib:0.159.0');
      expect(container.args).toEqual(['--config=/conf/config.yaml']);
      expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
      expect(config).toEqual(JSON.parse(JSON.stringify(agent.config)));
      expect(ds.spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{16}$/);
      expect(mountOf(pod, '/conf/config.yaml').volume.configMap.name).toBe('otel-agent-config');
    });

    test('OTLP receivers and the health check on 0.0.0.0 as the gateway has them, the probes on the health port', () => {
      expect(config.receivers.otlp.protocols).toEqual({ grpc: { endpoint: '0.0.0.0:4317', max_recv_msg_size_mib: 16 }, http: { endpoint: '0.0.0.0:4318' } });
      expect(config.extensions.health_check.endpoint).toBe('0.0.0.0:13133');
      expect(container.readinessProbe.httpGet).toEqual({ path: '/', port: 'health' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/', port: 'health' });
      expect(container.ports.map((p: any) => [p.name, p.containerPort])).toEqual([['otlp-grpc', 4317], ['otlp-http', 4318], ['health', 13133], ['metrics', 8888]]);
    });

    test('the exporter sends to the gateway endpoint over TLS with files of the mounted client-certificate Secret', () => {
      const exporter = config.exporters['otlp_grpc/gateway'];
      expect(exporter.endpoint).toBe('telemetry.example.com:443');
      expect(exporter.tls.insecure).toBeUndefined();
      expect(Object.keys(exporter.tls).sort()).toEqual(['ca_file', 'cert_file', 'key_file']);
      const expected = { ca_file: 'ca.crt', cert_file: 'tls.crt', key_file: 'tls.key' } as const;
      for (const [field, key] of Object.entries(expected)) {
        const { mount, volume } = mountOf(pod, exporter.tls[field]);
        expect(exporter.tls[field]).toBe(`${mount.mountPath}/${key}`);
        expect(mount.readOnly).toBe(true);
        expect(volume.secret).toEqual({ secretName: 'otel-agent-client-tls', items: ['ca.crt', 'tls.crt', 'tls.key'].map(k => ({ key: k, path: k })), defaultMode: 0o440 });
      }
      expect(mountOf(pod, exporter.tls.ca_file).mount.mountPath).toBe(OTEL_AGENT_TLS_DIR);
    });

    test('the exporter authenticates with bearertokenauth, which reads the token from the projected Secret key', () => {
      expect(config.exporters['otlp_grpc/gateway'].auth).toEqual({ authenticator: 'bearertokenauth' });
      expect(config.service.extensions).toEqual(['health_check', 'bearertokenauth']);
      const file: string = config.extensions.bearertokenauth.filename;
      const { mount, volume } = mountOf(pod, file);
      expect(mount.readOnly).toBe(true);
      expect(volume.secret).toEqual({ secretName: 'otel-agent-gateway', items: [{ key: 'bearer-token', path: file.slice(mount.mountPath.length + 1) }], defaultMode: 0o440 });
      // a token in the ConfigMap would end up in git
      expect(config.extensions.bearertokenauth.token).toBeUndefined();
    });

    test('the token appears nowhere as a literal: no Secret object, no env var from it, no token in any config', () => {
      expect(all.filter(o => o.kind === 'Secret')).toEqual([]);
      expect(secretViolations(all)).toEqual([]);
      expect((container.env as any[]).filter(e => e.valueFrom?.secretKeyRef)).toEqual([]);
      expect(Object.keys(config.extensions.bearertokenauth)).toEqual(['filename']);
      // the token's Secret is named once, by the volume that projects it
      expect(JSON.stringify(all).split('"otel-agent-gateway"').length - 1).toBe(1);
    });

    test.each(['traces', 'logs', 'metrics'])('the %s pipeline: OTLP in, memory_limiter first, batch last, out to the gateway only', signal => {
      expect(pipelines[signal]).toEqual({
        receivers: ['otlp'], processors: ['memory_limiter', 'k8s_attributes', 'resource/cluster', 'batch'], exporters: ['otlp_grpc/gateway'],
      });
    });

    test('every component a pipeline names is defined, and every defined one is used', () => {
      expect(Object.keys(pipelines).sort()).toEqual(['logs', 'metrics', 'traces']);
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        const used = new Set(Object.values<any>(pipelines).flatMap(p => p[kind]));
        expect([...used].sort()).toEqual(Object.keys(config[kind]).sort());
      }
    });

    test('k8s.cluster.name is upserted', () => {
      expect(config.processors['resource/cluster'].attributes).toEqual([{ key: 'k8s.cluster.name', value: 'apps-eu-1', action: 'upsert' }]);
    });

    test('k8s_attributes looks up only the pods of its node, named by K8S_NODE_NAME from spec.nodeName', () => {
      const k8sAttributes = config.processors.k8s_attributes;
      expect(k8sAttributes.filter).toEqual({ node_from_env_var: 'K8S_NODE_NAME' });
      expect(container.env).toContainEqual({ name: 'K8S_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
      expect(k8sAttributes.passthrough).toBe(false);
      expect(k8sAttributes.auth_type).toBe('serviceAccount');
    });

    test('k8s_attributes extracts what the gateway extracts, with the RBAC it needs', () => {
      const gateway = new OtelCollector(testChart(), 'Collector', {
        tempoOtlpGrpcEndpoint: 'tempo:4317', lokiOtlpUrl: 'http://loki:3100/otlp', prometheusRemoteWriteUrl: 'http://prometheus:9090/api/v1/write',
      });
      // the gateway of a single cluster (no senderToken) looks the pods up itself: the agent extracts the same
      const looked = gateway.config.processors.k8s_attributes;
      expect(looked).toBeDefined();
      expect(config.processors.k8s_attributes.extract).toEqual(looked?.extract);
      expect(config.processors.k8s_attributes.pod_association).toEqual(looked?.pod_association);
      expect(find(all, 'ClusterRole', 'observability-otel-agent').rules).toEqual([
        { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
      ]);
      expect(find(all, 'ClusterRoleBinding', 'observability-otel-agent').subjects).toEqual([
        { kind: 'ServiceAccount', name: 'otel-agent', namespace: 'observability' },
      ]);
      expect(pod.serviceAccountName).toBe('otel-agent');
      expect(pod.automountServiceAccountToken).toBe(true);
    });

    test('the Service is node-local and carries only the OTLP ports', () => {
      const svc = find(all, 'Service', 'otel-agent');
      expect(svc.spec.internalTrafficPolicy).toBe('Local');
      expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': 'otel-agent' });
      expect(svc.spec.ports.map((p: any) => [p.name, p.port])).toEqual([['otlp-grpc', 4317], ['otlp-http', 4318]]);
      expect(agent.otlpGrpcUrl).toBe('http://otel-agent.observability.svc.cluster.local:4317');
    });

    test('its own metrics on 0.0.0.0:8888, for Prometheus', () => {
      expect(config.service.telemetry.metrics.readers).toEqual([{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: 8888 } } } }]);
      expect(agent.metricsTarget).toEqual({ job: 'otel-agent', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'otel-agent' }, port: 'metrics' });
      expect(agent.peer).toEqual({ name: 'otel-agent', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'otel-agent' } });
      expect(agent.ports.metrics).toEqual({ name: 'metrics', port: 8888, appProtocol: 'http' });
      expect(agent.gatewayEndpoint).toBe('telemetry.example.com:443');
    });

    test('restricted: non-root, read-only root file system, no capabilities, RuntimeDefault seccomp, no host access', () => {
      expect(agent.podSecurityLevel).toBe('restricted');
      expect(restrictedViolations([ds])).toEqual([]);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.volumes.filter((v: any) => v.hostPath)).toEqual([]);
    });

    test('memory_limiter as the gateway has it, GOMEMLIMIT at 80 % of the default limit', () => {
      expect(config.processors.memory_limiter).toEqual({ check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 25 });
      expect(container.env).toContainEqual({ name: 'GOMEMLIMIT', value: '409MiB' });
      expect(container.resources.limits).toEqual({ cpu: '500m', memory: '512Mi' });
    });

    test('every key is in the contrib 0.159.0 key reference, but for bearertokenauth\'s, checked against its Config struct', () => {
      const reference = JSON.parse(fs.readFileSync(REFERENCE, 'utf8')) as KeyTree;
      const { bearertokenauth, ...referenced } = config.extensions;
      expect(keyPaths(config).length).toBeGreaterThan(20);
      expect(unknownTo(reference, { ...config, extensions: referenced }, '')).toEqual([]);
      expect(Object.keys(bearertokenauth).filter(key => !BEARERTOKENAUTH_KEYS.includes(key))).toEqual([]);
      // the walker itself reports what it should
      expect(unknownTo(reference, { exporters: { 'otlp_grpc/x': { tls: { ca_fil: 'x' } } }, extensions: { bearertokenauth: {} } }, ''))
        .toEqual(['exporters.otlp_grpc/x.tls.ca_fil', 'extensions.bearertokenauth (type not in the reference)']);
    });
  });

  describe('props', () => {
    test('image and resources change the container', () => {
      const { container } = render({
        image: 'registry.example.com/otelcol-contrib:0.159.0',
        resources: { cpuRequestMillis: 20, cpuLimitMillis: 200, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(256) },
      });
      expect(container.image).toBe('registry.example.com/otelcol-contrib:0.159.0');
      expect(container.resources.limits).toEqual({ cpu: '200m', memory: '256Mi' });
      expect(container.env).toContainEqual({ name: 'GOMEMLIMIT', value: '204MiB' });
    });

    test('another cluster name changes the attribute and rolls the pods', () => {
      const before = render();
      const after = render({ clusterName: 'apps-us-2' });
      expect(after.config.processors['resource/cluster'].attributes[0].value).toBe('apps-us-2');
      expect(after.ds.spec.template.metadata.annotations['checksum/config']).not.toBe(before.ds.spec.template.metadata.annotations['checksum/config']);
    });

    test('an IP address as the gateway host', () => {
      expect(render({ gatewayEndpoint: '203.0.113.7:4317' }).config.exporters['otlp_grpc/gateway'].endpoint).toBe('203.0.113.7:4317');
    });
  });

  describe('validation', () => {
    test.each([
      'https://telemetry.example.com:443', 'telemetry.example.com', 'telemetry.example.com:443/v1', 'telemetry.example.com:0',
      'telemetry.example.com:70000', '', 'telemetry example.com:443',
    ])('fails if gatewayEndpoint is %j', gatewayEndpoint => {
      expect(() => render({ gatewayEndpoint })).toThrow(
        `[test/Agent] 'gatewayEndpoint' must be host:port without a scheme or path (e.g. telemetry.example.com:443), got ${JSON.stringify(gatewayEndpoint)}`);
    });

    test.each(['Apps-EU', 'apps_eu', '-apps', '', 'a'.repeat(64)])('fails if clusterName is %j', clusterName => {
      expect(() => render({ clusterName })).toThrow(
        `[test/Agent] 'clusterName' must be a DNS label (lower-case letters, digits and "-", at most 63 characters), got ${JSON.stringify(clusterName)}`);
    });

    test('fails outside a chart with a namespace', () => {
      expect(() => new OtelAgent(new Chart(testApp(), 'c'), 'A', PROPS)).toThrow('OtelAgent must be placed in a chart with a namespace');
    });
  });
});
