import { Chart, Size, Testing } from 'cdk8s';
import { OtelCollector } from '../../lib/constructs/otel-collector';
import { synth, testChart } from '../support/chart';
import { configFile, find, ofKind } from '../support/manifest';

const TARGETS = {
  tempoOtlpGrpcEndpoint: 'tempo.observability.svc.cluster.local:4317',
  lokiOtlpUrl: 'http://loki.observability.svc.cluster.local:3100/otlp',
  prometheusRemoteWriteUrl: 'http://prometheus.observability.svc.cluster.local:9090/api/v1/write',
};

function render(props: Partial<ConstructorParameters<typeof OtelCollector>[2]> = {}) {
  const chart = testChart();
  const collector = new OtelCollector(chart, 'Collector', { ...TARGETS, ...props });
  const all = synth(chart);
  const deployment = find(all, 'Deployment', 'otel-collector');
  return {
    collector, all, deployment, pod: deployment.spec.template.spec, container: deployment.spec.template.spec.containers[0],
    config: configFile(all, 'otel-collector-config', 'config.yaml'),
  };
}

describe('OtelCollector', () => {
  describe('defaults', () => {
    const { collector, all, deployment, pod, container, config } = render();
    const pipelines = config.service.pipelines;

    test('one replica of the pinned contrib image', () => {
      expect(deployment.spec.replicas).toBe(1);
      expect(container.image).toBe('docker.io/otel/opentelemetry-collector-contrib:0.159.0');
      expect(container.args).toEqual(['--config=/conf/config.yaml']);
      expect(config).toEqual(JSON.parse(JSON.stringify(collector.config)));
    });

    test('OTLP receivers and the health check on 0.0.0.0, the probes on the health port', () => {
      expect(config.receivers.otlp.protocols).toEqual({ grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } });
      expect(config.extensions.health_check.endpoint).toBe('0.0.0.0:13133');
      expect(config.service.extensions).toEqual(['health_check']);
      const health = container.ports.find((p: any) => p.name === 'health');
      expect(health.containerPort).toBe(13133);
      expect(container.readinessProbe.httpGet).toEqual({ path: '/', port: 'health' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/', port: 'health' });
    });

    test.each(['traces', 'logs', 'metrics'])('the %s pipeline starts with memory_limiter and ends with batch', signal => {
      const processors: string[] = pipelines[signal].processors;
      expect(processors[0]).toBe('memory_limiter');
      expect(processors[processors.length - 1]).toBe('batch');
      expect(processors).toContain('k8s_attributes');
      expect(pipelines[signal].receivers).toEqual(['otlp']);
    });

    test('traces → Tempo, logs → Loki /otlp, metrics → Prometheus remote write', () => {
      expect(pipelines.traces.exporters).toEqual(['otlp_grpc/tempo']);
      expect(pipelines.logs.exporters).toEqual(['otlp_http/loki']);
      expect(pipelines.metrics.exporters).toEqual(['prometheus_remote_write']);
      expect(config.exporters['otlp_grpc/tempo']).toEqual({ endpoint: TARGETS.tempoOtlpGrpcEndpoint, tls: { insecure: true } });
      expect(config.exporters['otlp_http/loki']).toEqual({ endpoint: TARGETS.lokiOtlpUrl });
      expect(config.exporters.prometheus_remote_write.endpoint).toBe(TARGETS.prometheusRemoteWriteUrl);
    });

    test('every component a pipeline names is defined, and every defined one is used', () => {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        const used = new Set(Object.values<any>(pipelines).flatMap(p => p[kind]));
        expect([...used].sort()).toEqual(Object.keys(config[kind]).sort());
      }
    });

    test('the snake_case component names, not the deprecated ones', () => {
      const ids = [...Object.keys(config.processors), ...Object.keys(config.exporters)].map(id => id.split('/')[0]);
      for (const deprecated of ['otlp', 'otlphttp', 'k8sattributes', 'prometheusremotewrite']) expect(ids).not.toContain(deprecated);
      expect(JSON.stringify(config)).not.toContain('deployment_name_from_replicaset');
    });

    test('memory_limiter has the settings it requires', () => {
      expect(config.processors.memory_limiter).toEqual({ check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 25 });
      expect(container.env).toContainEqual({ name: 'GOMEMLIMIT', value: '819MiB' });
    });

    test('traces are kept at 100 % by default; only the traces pipeline samples', () => {
      expect(config.processors.probabilistic_sampler).toEqual({ sampling_percentage: 100 });
      expect(pipelines.logs.processors).not.toContain('probabilistic_sampler');
    });

    test('logs get Promtail\'s app and namespace attributes for Loki', () => {
      expect(config.processors['resource/log-labels'].attributes).toEqual([
        { key: 'app', from_attribute: 'service.name', action: 'insert' },
        { key: 'namespace', from_attribute: 'k8s.namespace.name', action: 'insert' },
      ]);
      expect(pipelines.logs.processors).toContain('resource/log-labels');
    });

    test('k8s_attributes with the RBAC it needs', () => {
      expect(config.processors.k8s_attributes.extract.metadata).toContain('k8s.namespace.name');
      expect(find(all, 'ClusterRole', 'observability-otel-collector').rules).toEqual([
        { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
      ]);
      expect(pod.automountServiceAccountToken).toBe(true);
    });

    test('k8s_attributes looks pods up itself (no passthrough), by the pod IP or UID attribute, else by the connection', () => {
      expect(config.processors.k8s_attributes).toMatchObject({
        auth_type: 'serviceAccount',
        passthrough: false,
        pod_association: [
          { sources: [{ from: 'resource_attribute', name: 'k8s.pod.ip' }] },
          { sources: [{ from: 'resource_attribute', name: 'k8s.pod.uid' }] },
          { sources: [{ from: 'connection' }] },
        ],
      });
    });

    test('its own metrics on 0.0.0.0:8888 for Prometheus', () => {
      expect(config.service.telemetry.metrics.readers).toEqual([{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: 8888 } } } }]);
      expect(collector.metricsTarget).toMatchObject({ job: 'otel-collector', port: 'metrics' });
      expect(collector.otlpGrpcUrl).toBe('http://otel-collector.observability.svc.cluster.local:4317');
    });

    test('snapshot', () => {
      expect(all).toMatchSnapshot();
    });
  });

  describe('props', () => {
    test('replicas > 1 get a disruption budget and spread', () => {
      const { all, pod } = render({ replicas: 2 });
      expect(ofKind(all, 'PodDisruptionBudget')).toHaveLength(1);
      expect(pod.topologySpreadConstraints).toHaveLength(2);
    });

    test('samplingPercent, clusterName, resources', () => {
      const { config, container } = render({
        samplingPercent: 25, clusterName: 'prod',
        resources: { cpuRequestMillis: 1, cpuLimitMillis: 2, memoryRequest: Size.mebibytes(100), memoryLimit: Size.mebibytes(200) },
      });
      expect(config.processors.probabilistic_sampler.sampling_percentage).toBe(25);
      expect(config.processors['resource/cluster'].attributes).toEqual([{ key: 'k8s.cluster.name', value: 'prod', action: 'upsert' }]);
      expect(container.env).toContainEqual({ name: 'GOMEMLIMIT', value: '160MiB' });
    });
  });

  describe('validation', () => {
    test.each([0, -1, 101])('fails if samplingPercent is %p', samplingPercent => {
      expect(() => render({ samplingPercent })).toThrow(`'samplingPercent' must be more than 0 and at most 100, got ${samplingPercent}`);
    });
    test('fails if replicas is out of range', () => {
      expect(() => render({ replicas: 0 })).toThrow("[test/Collector] 'replicas' must be an integer from 1 to 20, got 0");
    });
    test('fails on a Tempo endpoint with a scheme, or a Loki URL without /otlp', () => {
      expect(() => render({ tempoOtlpGrpcEndpoint: 'http://tempo:4317' })).toThrow("'tempoOtlpGrpcEndpoint' must be host:port without a scheme");
      expect(() => render({ lokiOtlpUrl: 'http://loki:3100/otlp/v1/logs' })).toThrow("'lokiOtlpUrl' must end in /otlp (the exporter appends /v1/logs)");
    });
    test('fails outside a namespaced chart', () => {
      expect(() => new OtelCollector(new Chart(Testing.app(), 'c'), 'C', TARGETS)).toThrow('OtelCollector must be placed in a chart with a namespace');
    });
  });
});
