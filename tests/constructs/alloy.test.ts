import * as fs from 'node:fs';
import * as path from 'node:path';
import { Size } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { PATHS } from '../../apps/contract';
import { ALLOY_COMPONENTS } from '../../lib/constructs/alloy-config';
import { Alloy } from '../../lib/constructs/alloy';
import { POD_STREAM_RELABELING, PROBE_LINES, STREAM_LABELS, STRUCTURED_METADATA, probeRouteRegex } from '../../lib/constructs/log-streams';
import { Promtail } from '../../lib/constructs/promtail';
import { IMAGES } from '../../lib/images';
import { AlloyBlock, AlloyStatement } from '../../lib/private/alloy-syntax';
import { synth, testChart } from '../support/chart';
import { K8sObject, find } from '../support/manifest';
import { restrictedViolations } from '../support/policy';

const PUSH = 'http://loki.observability.svc.cluster.local:3100/loki/api/v1/push';

function render(props: Partial<ConstructorParameters<typeof Alloy>[2]> = {}) {
  const chart = testChart();
  const alloy = new Alloy(chart, 'Alloy', { lokiPushUrl: PUSH, ...props });
  const all = synth(chart);
  const ds = find(all, 'DaemonSet', 'alloy');
  return { alloy, all, ds, pod: ds.spec.template.spec, container: ds.spec.template.spec.containers[0] };
}

const blocks = (body: readonly AlloyStatement[], name: string): AlloyBlock[] =>
  body.filter((s): s is AlloyBlock => s.kind === 'block' && s.name === name);
const args = (b: AlloyBlock): Record<string, unknown> => Object.fromEntries(b.body.flatMap(s => (s.kind === 'attribute' ? [[s.name, s.value]] : [])));
/** An expression's text, a plain value as is. */
const text = (v: unknown): unknown => (v && typeof v === 'object' && 'text' in v ? (v as { text: string }).text : Array.isArray(v) ? v.map(text) : v);

/** The whole configuration, as Alloy reads it. */
const EXPECTED_CONFIG = `logging {
  level = "info"
  format = "json"
}

discovery.kubernetes "pods" {
  role = "pod"
  selectors {
    role = "pod"
    field = "spec.nodeName=" + sys.env("HOSTNAME")
  }
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_pod_controller_name"]
    regex = "([0-9a-z-.]+?)(-[0-9a-f]{8,10})?"
    target_label = "__tmp_controller_name"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name", "__meta_kubernetes_pod_label_app", "__tmp_controller_name", "__meta_kubernetes_pod_name"]
    regex = "^;*([^;]+)(;.*)?$"
    target_label = "app"
  }
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label = "container"
  }
}

loki.source.kubernetes "pods" {
  targets = discovery.relabel.pods.output
  forward_to = [loki.process.pods.receiver]
}

loki.process "pods" {
  forward_to = [loki.write.loki.receiver]
  stage.json {
    expressions = {
      level = "level",
      time = "time",
      trace_id = "trace_id",
      span_id = "span_id",
      trace_flags = "trace_flags",
      route = "route",
    }
  }
  stage.drop {
    source = "route"
    expression = "^(/healthz|/readyz|/metrics)$"
    drop_counter_reason = "probe"
  }
  stage.timestamp {
    source = "time"
    format = "RFC3339Nano"
    action_on_failure = "skip"
  }
  stage.labels {
    values = {
      level = "level",
    }
  }
  stage.template {
    source = "trace_id"
    template = "{{ if and .Value .trace_flags (regexMatch \\"^[0-9a-f]?[13579bdf]$\\" .trace_flags) }}{{ .Value }}{{ end }}"
  }
  stage.template {
    source = "span_id"
    template = "{{ if and .Value .trace_flags (regexMatch \\"^[0-9a-f]?[13579bdf]$\\" .trace_flags) }}{{ .Value }}{{ end }}"
  }
  stage.structured_metadata {
    values = {
      trace_id = "trace_id",
      span_id = "span_id",
    }
  }
  stage.label_keep {
    values = ["namespace", "pod", "container", "app", "level"]
  }
}

loki.write "loki" {
  endpoint {
    url = "${PUSH}"
    min_backoff_period = "500ms"
    max_backoff_period = "5m"
    max_backoff_retries = 10
  }
}
`;

describe('Alloy', () => {
  describe('defaults', () => {
    const { alloy, all, ds, pod, container } = render();

    test('the pinned image, run with its config, its HTTP server on all interfaces and its storage on the emptyDir', () => {
      expect(container.image).toBe(IMAGES.alloy);
      expect(IMAGES.alloy).toMatch(/^docker\.io\/grafana\/alloy:v1\.\d+\.\d+$/);
      expect(container.args).toEqual([
        'run', '/etc/alloy/config.alloy', '--server.http.listen-addr=0.0.0.0:12345', '--storage.path=/var/lib/alloy/data', '--disable-reporting',
      ]);
      expect(container.ports).toEqual([{ name: 'http', containerPort: 12345, protocol: 'TCP' }]);
      const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.mountPath, m]));
      expect(mounts['/var/lib/alloy/data'].name).toBe('storage');
      expect(pod.volumes.find((v: any) => v.name === 'storage')).toEqual({ name: 'storage', emptyDir: {} });
    });

    test('the config file is the rendered text, whose checksum rolls the pods', () => {
      expect(find(all, 'ConfigMap', 'alloy-config').data).toEqual({ 'config.alloy': alloy.configText });
      expect(alloy.configText).toBe(EXPECTED_CONFIG);
      expect(ds.spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{16}$/);
    });

    test('restricted: no host access, non-root as the image\'s alloy user, read-only root, no capabilities, RuntimeDefault seccomp', () => {
      expect(alloy.podSecurityLevel).toBe('restricted');
      expect(restrictedViolations([ds])).toEqual([]);
      expect(pod.volumes.filter((v: any) => v.hostPath)).toEqual([]);
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.hostPID ?? false).toBe(false);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 473, runAsGroup: 473, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, privileged: false,
        capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      });
    });

    test('the node\'s name from the downward API, which discovery selects pods by', () => {
      expect(container.env).toEqual([{ name: 'HOSTNAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
      expect(alloy.configText).toContain('field = "spec.nodeName=" + sys.env("HOSTNAME")');
    });

    test('probes on the HTTP port: readiness /-/ready, liveness the socket', () => {
      expect(container.readinessProbe.httpGet).toEqual({ path: '/-/ready', port: 'http' });
      expect(container.livenessProbe.tcpSocket).toEqual({ port: 'http' });
    });

    test('RBAC: read-only, exactly pods (get, list, watch) and pods/log (get), bound to its ServiceAccount', () => {
      expect(find(all, 'ClusterRole', 'observability-alloy').rules).toEqual([
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      ]);
      expect(find(all, 'ClusterRoleBinding', 'observability-alloy').subjects).toEqual([{ kind: 'ServiceAccount', name: 'alloy', namespace: 'observability' }]);
      expect(pod.serviceAccountName).toBe('alloy');
      expect(all.filter(o => ['Role', 'RoleBinding'].includes(o.kind))).toEqual([]);
    });

    test('default resources', () => {
      expect(container.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
    });

    test('metrics: job alloy on the http port', () => {
      expect(alloy.metricsTarget).toEqual({ job: 'alloy', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'alloy' }, port: 'http' });
    });
  });

  describe('the component graph', () => {
    const { alloy } = render();
    const c = ALLOY_COMPONENTS;
    const [discovery] = blocks(alloy.config, 'discovery.kubernetes');
    const [relabel] = blocks(alloy.config, 'discovery.relabel');
    const [source] = blocks(alloy.config, 'loki.source.kubernetes');
    const [process] = blocks(alloy.config, 'loki.process');
    const [write] = blocks(alloy.config, 'loki.write');

    test('one of each component, under its label', () => {
      expect(alloy.config.map(s => (s.kind === 'block' ? `${s.name}${s.label ? ` ${s.label}` : ''}` : s.name))).toEqual([
        'logging', `discovery.kubernetes ${c.discovery}`, `discovery.relabel ${c.relabel}`, `loki.source.kubernetes ${c.source}`,
        `loki.process ${c.process}`, `loki.write ${c.write}`,
      ]);
    });

    test('each one reads the previous one\'s export: discovery → relabel → source → process → write', () => {
      expect(args(discovery).role).toBe('pod');
      expect(text(args(relabel).targets)).toBe(`discovery.kubernetes.${discovery.label}.targets`);
      expect(text(args(source).targets)).toBe(`discovery.relabel.${relabel.label}.output`);
      expect(text(args(source).forward_to)).toEqual([`loki.process.${process.label}.receiver`]);
      expect(text(args(process).forward_to)).toEqual([`loki.write.${write.label}.receiver`]);
      expect(args(blocks(write.body, 'endpoint')[0]).url).toBe(PUSH);
    });

    test('no clustering and no client block: the pod\'s ServiceAccount, this node\'s pods only', () => {
      expect(source.body.filter(s => s.kind === 'block')).toEqual([]);
    });

    test('trace and span ids become structured metadata only after the sampled-only templates, never labels', () => {
      const stages = process.body.filter((s): s is AlloyBlock => s.kind === 'block').map(b => b.name);
      const metadata = stages.indexOf('stage.structured_metadata');
      expect(stages.lastIndexOf('stage.template')).toBeLessThan(metadata);
      const labels = args(blocks(process.body, 'stage.labels')[0]).values as Record<string, string>;
      for (const k of STRUCTURED_METADATA) expect(Object.keys(labels)).not.toContain(k);
      expect(args(blocks(process.body, 'stage.label_keep')[0]).values).toEqual([...STREAM_LABELS]);
    });

    test('probe lines are dropped: the routes are exactly the services\' operational paths', () => {
      expect([...PROBE_LINES.routes].sort()).toEqual(Object.values(PATHS).sort());
      const drop = args(blocks(process.body, 'stage.drop')[0]);
      expect(drop).toEqual({ source: PROBE_LINES.field, expression: probeRouteRegex(), drop_counter_reason: 'probe' });
      const regex = new RegExp(probeRouteRegex());
      expect(['/healthz', '/readyz', '/metrics'].every(r => regex.test(r))).toBe(true);
      expect(['/api/orders', '/healthz/x', '/metricsx', ''].some(r => regex.test(r))).toBe(false);
    });
  });

  describe('the same streams as Promtail for the same pod', () => {
    const chart = testChart();
    const alloy = new Alloy(chart, 'Alloy', { lokiPushUrl: PUSH });
    const promtail = new Promtail(chart, 'Promtail', { lokiPushUrl: PUSH });
    const job = promtail.config.scrape_configs[0];
    const process = blocks(alloy.config, 'loki.process')[0];
    const stage = (name: string) => blocks(process.body, name).map(args);
    const promtailStage = (key: string) => job.pipeline_stages.filter(s => key in s).map(s => (s as any)[key]);

    test('Alloy\'s relabel rules are Promtail\'s relabel_configs (the shared table), less the file paths only Promtail tails', () => {
      const rules = blocks(blocks(alloy.config, 'discovery.relabel')[0].body, 'rule').map(args);
      const promtailRules = job.relabel_configs.filter(r => r.target_label !== '__path__');
      expect(rules).toEqual(promtailRules.map(r => ({ ...r })));
      expect(rules).toEqual(POD_STREAM_RELABELING.map(r => ({ ...r })));
    });

    test('the same labels kept, the same label from the line, the same structured metadata and the same sampled-only templates', () => {
      expect(stage('stage.label_keep')[0].values).toEqual(promtailStage('labelallow')[0]);
      expect(stage('stage.labels')[0].values).toEqual(promtailStage('labels')[0]);
      expect(stage('stage.structured_metadata')[0].values).toEqual(promtailStage('structured_metadata')[0]);
      expect(stage('stage.template')).toEqual(promtailStage('template'));
      expect(stage('stage.timestamp')[0]).toEqual(promtailStage('timestamp')[0]);
      expect(stage('stage.json')[0].expressions).toMatchObject(promtailStage('json')[0].expressions);
    });
  });

  test('resources follow the prop', () => {
    const resources = { cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1) };
    const { container } = render({ resources });
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1000m', memory: '1Gi' } });
  });

  test('clusterName labels every stream with the cluster when it is written; no label without it', () => {
    expect(render({ clusterName: 'eu-1' }).alloy.configText).toMatch(/max_backoff_retries = 10\n  }\n  external_labels = \{\n    cluster = "eu-1",\n  \}\n}/);
    expect(render().alloy.configText).not.toContain('external_labels');
  });

  test('the image follows the prop', () => {
    expect(render({ image: 'registry.example.com/alloy:v1.0.0' }).container.image).toBe('registry.example.com/alloy:v1.0.0');
  });

  test('fails if lokiPushUrl is not a Loki push URL', () => {
    expect(() => render({ lokiPushUrl: 'http://loki:3100' }))
      .toThrow('\'lokiPushUrl\' must be a Loki push URL ending in /loki/api/v1/push, got "http://loki:3100"');
  });
});

describe('the rendered environments: each ships with one shipper', () => {
  const daemonSets = (env: string): string[] => {
    const file = path.join(__dirname, '..', '..', 'dist', env, 'observability', 'manifest.yaml');
    const objects = parseAllDocuments(fs.readFileSync(file, 'utf8')).map(d => d.toJS() as K8sObject).filter(o => o);
    return objects.filter(o => o.kind === 'DaemonSet').map(o => o.metadata.name);
  };

  test('dist/prod runs Alloy and no Promtail', () => {
    expect(daemonSets('prod')).toContain('alloy');
    expect(daemonSets('prod')).not.toContain('promtail');
  });

  test('dist/local runs Promtail and no Alloy', () => {
    expect(daemonSets('local')).toContain('promtail');
    expect(daemonSets('local')).not.toContain('alloy');
  });
});
