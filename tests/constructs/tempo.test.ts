import { Chart, Duration, Size } from 'cdk8s';
import { Tempo } from '../../lib/constructs/tempo';
import { synth, testApp, testChart } from '../support/chart';
import { MINIO } from '../support/fixtures';
import { configFile, find } from '../support/manifest';

const REMOTE_WRITE = 'http://prometheus.observability.svc.cluster.local:9090/api/v1/write';

function render(props: ConstructorParameters<typeof Tempo>[2] = {}) {
  const chart = testChart();
  const tempo = new Tempo(chart, 'Tempo', props);
  const all = synth(chart);
  const sts = find(all, 'StatefulSet', 'tempo');
  return { tempo, all, sts, container: sts.spec.template.spec.containers[0], config: configFile(all, 'tempo-config', 'tempo.yaml') };
}

describe('Tempo', () => {
  describe('defaults', () => {
    const { tempo, all, sts, container, config } = render();

    test('one replica of the pinned Tempo 3.0', () => {
      expect(sts.spec.replicas).toBe(1);
      expect(container.image).toBe('docker.io/grafana/tempo:3.0.3');
      expect(config).toEqual(JSON.parse(JSON.stringify(tempo.config)));
    });

    test('OTLP gRPC 4317 and HTTP 4318 on 0.0.0.0 (the default, localhost, is unreachable from other pods)', () => {
      expect(config.distributor.receivers.otlp.protocols).toEqual({ grpc: { endpoint: '0.0.0.0:4317', max_recv_msg_size_mib: 16 }, http: { endpoint: '0.0.0.0:4318' } });
      expect(tempo.otlpGrpcEndpoint).toBe('tempo.observability.svc.cluster.local:4317');
    });

    test('only Tempo 3.0 blocks: none of the removed 2.x ones, scoped overrides', () => {
      for (const removed of ['ingester', 'compactor', 'ingester_client', 'metrics_generator_client']) expect(config[removed]).toBeUndefined();
      expect(Object.keys(config.overrides)).toEqual(['defaults']);
    });

    test('no usage reports', () => {
      expect(config.usage_report).toEqual({ reporting_enabled: false });
    });

    test('streaming over HTTP on, retention 7 days for the backend worker and the tenant default', () => {
      expect(config.stream_over_http_enabled).toBe(true);
      expect(config.backend_worker.compaction.block_retention).toBe('168h');
      expect(config.overrides.defaults.compaction.block_retention).toBe('168h');
    });

    test('local blocks and WAL on the volume', () => {
      expect(config.storage.trace).toEqual({ backend: 'local', wal: { path: '/var/tempo/wal' }, local: { path: '/var/tempo/blocks' } });
      expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/tempo' });
    });

    test('no metrics-generator without a remote-write URL', () => {
      expect(config.metrics_generator).toBeUndefined();
      expect(config.overrides.defaults.metrics_generator).toBeUndefined();
    });

    test('probes: readiness /ready, liveness /api/echo; GOMEMLIMIT from the limit', () => {
      expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/api/echo', port: 'http' });
      expect(config.memory).toEqual({ automemlimit_enabled: true });
    });

    test('a Service with HTTP, gRPC and both OTLP ports', () => {
      expect(find(all, 'Service', 'tempo').spec.ports.map((p: any) => [p.name, p.port])).toEqual([['http', 3200], ['grpc', 9095], ['otlp-grpc', 4317], ['otlp-http', 4318]]);
    });

    test('snapshot', () => {
      expect(all).toMatchSnapshot();
    });
  });

  describe('props', () => {
    test('remoteWriteUrl: service graphs and span metrics, with exemplars, to Prometheus', () => {
      const { config } = render({ remoteWriteUrl: REMOTE_WRITE, externalLabels: { cluster: 'kind' } });
      expect(config.metrics_generator).toEqual({
        registry: { external_labels: { source: 'tempo', cluster: 'kind' } },
        storage: { path: '/var/tempo/generator/wal', remote_write: [{ url: REMOTE_WRITE, send_exemplars: true }] },
      });
      expect(config.overrides.defaults.metrics_generator.processors).toEqual(['service-graphs', 'span-metrics']);
    });

    test('objectStorage: S3 with Tempo\'s key names, credentials expanded from Secrets', () => {
      const { container, config } = render({ objectStorage: MINIO });
      expect(config.storage.trace).toEqual({
        backend: 's3', wal: { path: '/var/tempo/wal' },
        s3: {
          bucket: 'tempo-blocks', endpoint: 'minio.minio.svc.cluster.local:9000', region: 'us-east-1',
          access_key: '${S3_ACCESS_KEY_ID}', secret_key: '${S3_SECRET_ACCESS_KEY}', insecure: true, forcepathstyle: true,
        },
      });
      expect(container.args).toContain('-config.expand-env=true');
      expect(container.env.map((e: any) => e.valueFrom.secretKeyRef.key)).toEqual(['access-key-id', 'secret-access-key']);
    });

    test('retention, volume and storage class', () => {
      const { sts, config } = render({ retention: Duration.hours(36), volumeSize: Size.gibibytes(30), storageClassName: 'ssd' });
      expect(config.backend_worker.compaction.block_retention).toBe('36h');
      expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'ssd', resources: { requests: { storage: '30Gi' } } });
    });
  });

  describe('validation', () => {
    test('fails on a retention that is not whole hours', () => {
      expect(() => render({ retention: Duration.minutes(90) })).toThrow("[test/Tempo] 'retention' must be whole hours, at least 1h, got 90m");
    });
    test('fails on a remote-write URL that is not one', () => {
      expect(() => render({ remoteWriteUrl: 'http://prometheus:9090' })).toThrow("'remoteWriteUrl' must be a remote-write URL ending in /api/v1/write (Prometheus) or /api/v1/push (Mimir)");
    });
    test('fails on a volume under 1Gi', () => {
      expect(() => render({ volumeSize: Size.mebibytes(10) })).toThrow("'volumeSize' must be at least 1Gi, got 10Mi");
    });
    test('fails outside a namespaced chart', () => {
      expect(() => new Tempo(new Chart(testApp(), 'c'), 'T')).toThrow('Tempo must be placed in a chart with a namespace');
    });
  });
});

describe('the labels of the span metrics', () => {
  test('an attribute among metricsDimensions is a label of its own, named as Prometheus allows; any other is none', () => {
    const remote = 'http://prometheus:9090/api/v1/write';
    const { tempo, config } = render({ remoteWriteUrl: remote, metricsDimensions: ['k8s.cluster.name'] });
    expect(config.metrics_generator.processor.span_metrics.dimensions).toEqual(['k8s.cluster.name']);
    expect(tempo.metricLabelOf('k8s.cluster.name')).toBe('k8s_cluster_name');
    expect(tempo.metricLabelOf('k8s.namespace.name')).toBeUndefined();
    expect(render({ remoteWriteUrl: remote }).tempo.metricLabelOf('k8s.cluster.name')).toBeUndefined();
  });
});
