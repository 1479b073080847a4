import { Chart, Size } from 'cdk8s';
import { PROMTAIL_LABELS, PROMTAIL_STRUCTURED_METADATA, Promtail } from '../../lib/constructs/promtail';
import { SAMPLED_TRACE_FLAGS, keepWhenSampled } from '../../lib/constructs/promtail-config';
import { synth, testApp, testChart } from '../support/chart';
import { configFile, find } from '../support/manifest';

const PUSH = 'http://loki.observability.svc.cluster.local:3100/loki/api/v1/push';

function render(props: Partial<ConstructorParameters<typeof Promtail>[2]> = {}) {
  const chart = testChart();
  const promtail = new Promtail(chart, 'Promtail', { lokiPushUrl: PUSH, ...props });
  const all = synth(chart);
  const ds = find(all, 'DaemonSet', 'promtail');
  return { promtail, all, ds, pod: ds.spec.template.spec, container: ds.spec.template.spec.containers[0], config: configFile(all, 'promtail-config', 'promtail.yaml') };
}

describe('Promtail', () => {
  describe('defaults', () => {
    const { promtail, all, ds, pod, container, config } = render();
    const stages = config.scrape_configs[0].pipeline_stages;

    test('a DaemonSet of the last Promtail image (3.6.11) pushing to Loki', () => {
      expect(container.image).toBe('docker.io/grafana/promtail:3.6.11');
      expect(config.clients[0].url).toBe(PUSH);
      expect(config).toEqual(JSON.parse(JSON.stringify(promtail.config)));
    });

    test('HOSTNAME is the node name, so discovery finds this node\'s pods', () => {
      expect(container.env).toEqual([{ name: 'HOSTNAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
      expect(config.scrape_configs[0].kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    });

    test('/var/log/pods read-only, positions on a writable hostPath', () => {
      const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.mountPath, m]));
      expect(mounts['/var/log/pods'].readOnly).toBe(true);
      expect(mounts['/var/lib/docker/containers'].readOnly).toBe(true);
      expect(config.positions.filename).toBe('/run/promtail/positions.yaml');
      expect(mounts['/run/promtail'].readOnly).toBeUndefined();
      const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
      expect(volumes.pods.hostPath).toEqual({ path: '/var/log/pods', type: 'Directory' });
      expect(volumes.run.hostPath).toEqual({ path: '/run/promtail', type: 'DirectoryOrCreate' });
    });

    test('the cri stage first, then json with the services\' fields, probe lines dropped as Alloy drops them, their ISO time', () => {
      expect(stages[0]).toEqual({ cri: {} });
      expect(stages[1]).toEqual({
        json: { expressions: { level: 'level', time: 'time', trace_id: 'trace_id', span_id: 'span_id', trace_flags: 'trace_flags', route: 'route' } },
      });
      expect(stages[2]).toEqual({ drop: { source: 'route', expression: '^(/healthz|/readyz|/metrics)$', drop_counter_reason: 'probe' } });
      expect(stages[3]).toEqual({ timestamp: { source: 'time', format: 'RFC3339Nano', action_on_failure: 'skip' } });
    });

    test('trace_id and span_id are kept only on lines of sampled traces, before they become structured metadata', () => {
      const at = (predicate: (s: any) => boolean) => stages.findIndex(predicate);
      const kept = stages.filter((s: any) => s.template).map((s: any) => s.template.source);
      expect(kept).toEqual(['trace_id', 'span_id']);
      for (const source of kept) {
        expect(stages[at((s: any) => s.template?.source === source)]).toEqual(keepWhenSampled(source, 'trace_flags'));
        expect(at((s: any) => s.template?.source === source)).toBeLessThan(at((s: any) => s.structured_metadata));
        expect(at((s: any) => s.template?.source === source)).toBeGreaterThan(at((s: any) => s.json));
      }
    });

    test('the template keeps the value when the flags have the sampled bit, renders nothing otherwise or when a field is missing', () => {
      expect(keepWhenSampled('trace_id', 'trace_flags')).toEqual({
        template: {
          source: 'trace_id',
          template: '{{ if and .Value .trace_flags (regexMatch "^[0-9a-f]?[13579bdf]$" .trace_flags) }}{{ .Value }}{{ end }}',
        },
      });
      // Go's RE2 and JavaScript read this pattern alike: the low bit of the last hex digit
      const sampled = new RegExp(SAMPLED_TRACE_FLAGS);
      expect(['01', '03', '1', '0f'].filter(f => sampled.test(f))).toEqual(['01', '03', '1', '0f']);
      expect(['00', '02', '0', '', '001', '0x01', '01 '].filter(f => sampled.test(f))).toEqual([]);
    });

    test('level is a label; trace_id and span_id are structured metadata, never labels', () => {
      expect(stages.find((s: any) => s.labels)).toEqual({ labels: { level: 'level' } });
      expect(stages.find((s: any) => s.structured_metadata)).toEqual({ structured_metadata: { trace_id: 'trace_id', span_id: 'span_id' } });
      expect(PROMTAIL_STRUCTURED_METADATA).toEqual(['trace_id', 'span_id']);
      expect(PROMTAIL_LABELS).not.toContain('trace_id');
    });

    test('streams carry exactly namespace, pod, container, app and level', () => {
      expect(stages[stages.length - 1]).toEqual({ labelallow: ['namespace', 'pod', 'container', 'app', 'level'] });
      const targets = config.scrape_configs[0].relabel_configs.map((r: any) => r.target_label);
      for (const label of ['namespace', 'pod', 'container', 'app']) expect(targets).toContain(label);
    });

    test('the log path is built from the pod uid and container name', () => {
      const path = config.scrape_configs[0].relabel_configs.filter((r: any) => r.target_label === '__path__');
      expect(path[0]).toEqual({
        source_labels: ['__meta_kubernetes_pod_uid', '__meta_kubernetes_pod_container_name'], separator: '/',
        replacement: '/var/log/pods/*$1/*.log', target_label: '__path__',
      });
    });

    test('reads pods through a ClusterRole bound to its ServiceAccount', () => {
      expect(find(all, 'ClusterRole', 'observability-promtail').rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
      expect(find(all, 'ClusterRoleBinding', 'observability-promtail').subjects).toEqual([{ kind: 'ServiceAccount', name: 'promtail', namespace: 'observability' }]);
      expect(pod.automountServiceAccountToken).toBe(true);
    });

    test('root without capabilities, with the reason on the pod; read-only root file system', () => {
      expect(pod.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
      expect(ds.spec.template.metadata.annotations['policy.obs-canary.io/runs-as-root']).toMatch(/root-owned container logs/);
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    });

    test('readiness on /ready, liveness on the port (not /ready, which reports having no files)', () => {
      expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(container.livenessProbe.tcpSocket).toEqual({ port: 'http' });
    });

    test('runs on every node, whatever its taints (the control plane\'s, a tainted node pool\'s)', () => {
      expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    });

    test('snapshot', () => {
      expect(all).toMatchSnapshot();
    });
  });

  test('clusterName labels every stream with the cluster, after the stream labels are kept; no label without it', () => {
    expect(render({ clusterName: 'eu-1' }).config.clients[0].external_labels).toEqual({ cluster: 'eu-1' });
    expect(render().config.clients[0]).not.toHaveProperty('external_labels');
  });

  test('image and resources', () => {
    const { container } = render({
      image: 'docker.io/grafana/promtail:3.6.10',
      resources: { cpuRequestMillis: 1, cpuLimitMillis: 2, memoryRequest: Size.mebibytes(32), memoryLimit: Size.mebibytes(64) },
    });
    expect(container.image).toBe('docker.io/grafana/promtail:3.6.10');
    expect(container.resources.requests).toEqual({ cpu: '1m', memory: '32Mi' });
  });

  test('fails on a push URL that is not Loki\'s push endpoint', () => {
    expect(() => render({ lokiPushUrl: 'http://loki:3100' })).toThrow("'lokiPushUrl' must be a Loki push URL ending in /loki/api/v1/push, got \"http://loki:3100\"");
  });

  test('fails outside a namespaced chart', () => {
    expect(() => new Promtail(new Chart(testApp(), 'c'), 'P', { lokiPushUrl: PUSH })).toThrow('Promtail must be placed in a chart with a namespace');
  });
});
