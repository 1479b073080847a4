import { Chart, Duration, Size } from 'cdk8s';
import { Loki } from '../../lib/constructs/loki';
import { synth, testApp, testChart } from '../support/chart';
import { MINIO } from '../support/fixtures';
import { configFile, find, goMemLimitOf, ofKind } from '../support/manifest';

/** Loki 3.7's default list of resource attributes indexed from OTLP (grafana/loki@v3.7.6: pkg/loghttp/push/otlp_config.go). */
const LOKI_DEFAULT_INDEX_LABELS = [
  'service.name', 'service.namespace', 'service.instance.id', 'deployment.environment', 'deployment.environment.name', 'cloud.region',
  'cloud.availability_zone', 'k8s.cluster.name', 'k8s.namespace.name', 'k8s.pod.name', 'k8s.container.name', 'container.name',
  'k8s.replicaset.name', 'k8s.deployment.name', 'k8s.statefulset.name', 'k8s.daemonset.name', 'k8s.cronjob.name', 'k8s.job.name',
];

/**
 * What Loki does with an OTLP resource attribute under this config, as Loki 3.7 decides it (same file): unless
 * `ignore_defaults`, the default list goes in front as an index_label entry (ApplyGlobalOTLPConfig); the first entry
 * naming the attribute wins, and one no entry names is structured metadata (actionForAttribute).
 */
function otlpAction(config: any, attribute: string): string {
  const { ignore_defaults: ignoreDefaults, attributes_config: entries } = config.limits_config.otlp_config.resource_attributes;
  const effective = ignoreDefaults ? entries : [{ action: 'index_label', attributes: LOKI_DEFAULT_INDEX_LABELS }, ...entries];
  return effective.find((e: any) => e.attributes.includes(attribute))?.action ?? 'structured_metadata';
}

function render(props: ConstructorParameters<typeof Loki>[2] = {}) {
  const chart = testChart();
  const loki = new Loki(chart, 'Loki', props);
  const all = synth(chart);
  const sts = find(all, 'StatefulSet', 'loki');
  return { loki, all, sts, container: sts.spec.template.spec.containers[0], config: configFile(all, 'loki-config', 'config.yaml') };
}



describe('Loki', () => {
  describe('defaults', () => {
    const { loki, all, sts, container, config } = render();

    test('one replica of the pinned 3.7 image in monolithic mode', () => {
      expect(sts.spec.replicas).toBe(1);
      expect(container.image).toBe('docker.io/grafana/loki:3.7.8');
      expect(container.args).toEqual(['-config.file=/etc/loki/config/config.yaml', '-target=all']);
    });

    test('the rendered config is the one in the ConfigMap', () => {
      expect(config).toEqual(JSON.parse(JSON.stringify(loki.config)));
    });

    test('tsdb with schema v13, which structured metadata and OTLP ingestion need', () => {
      expect(config.schema_config.configs).toEqual([
        { from: '2024-04-01', store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } },
      ]);
      expect(config.limits_config.allow_structured_metadata).toBe(true);
    });

    test('single tenant (no X-Scope-OrgID needed by Promtail, the Collector or Grafana) and no usage reports', () => {
      expect(config.auth_enabled).toBe(false);
      expect(config.analytics).toEqual({ reporting_enabled: false });
    });

    test('retention of 7 days by the compactor, with the delete-request store Loki 3 requires', () => {
      expect(config.limits_config.retention_period).toBe('168h');
      expect(config.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
    });

    test('filesystem storage on the volume, single-node ring', () => {
      expect(config.common).toMatchObject({
        path_prefix: '/var/loki', replication_factor: 1, ring: { kvstore: { store: 'inmemory' } },
        storage: { filesystem: { chunks_directory: '/var/loki/chunks', rules_directory: '/var/loki/rules' } },
      });
      expect(config.memberlist).toBeUndefined();
    });

    test('every path Loki writes is on a writable volume: path_prefix, the ruler WAL (absolute) and /tmp', () => {
      const writable = container.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath);
      expect(config.ruler.wal.dir).toBe('/var/loki/ruler-wal');
      for (const dir of [config.common.path_prefix, config.ruler.wal.dir, config.compactor.working_directory, '/tmp']) {
        expect(writable.some((w: string) => dir === w || dir.startsWith(`${w}/`))).toBe(true);
      }
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    });

    test('OTLP ingestion really stores pod names and instance ids as structured metadata: Loki\'s default index labels are ignored', () => {
      expect(config.limits_config.otlp_config.resource_attributes.ignore_defaults).toBe(true);
      for (const attribute of ['k8s.pod.name', 'service.instance.id']) expect(otlpAction(config, attribute)).toBe('structured_metadata');
      expect(otlpAction({ limits_config: { otlp_config: { resource_attributes: { attributes_config: [] } } } }, 'k8s.pod.name')).toBe('index_label');
    });

    test('OTLP streams are indexed by what the stack queries: Promtail\'s app and namespace, and service_name; nothing else', () => {
      for (const attribute of ['service.name', 'app', 'namespace']) expect(otlpAction(config, attribute)).toBe('index_label');
      const indexed = LOKI_DEFAULT_INDEX_LABELS.filter(a => otlpAction(config, a) === 'index_label');
      expect(indexed).toEqual(['service.name']);
      expect(loki.otlpUrl).toBe('http://loki.observability.svc.cluster.local:3100/otlp');
      expect(loki.pushUrl).toBe('http://loki.observability.svc.cluster.local:3100/loki/api/v1/push');
    });

    test('a WAL replay holds at most three quarters of the memory limit (1Gi: 768MB, binary), not Loki\'s 4GB: a replay after an outage '
      + 'must not kill the pod it restarts', () => {
      expect(container.resources.limits.memory).toBe('1Gi');
      expect(config.ingester.wal).toEqual({ replay_memory_ceiling: '768MB' });
    });

    test('a 10Gi volume, probes on /ready and the build info, runs as 10001', () => {
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');
      expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/loki/api/v1/status/buildinfo', port: 'http' });
      expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsUser: 10001, fsGroup: 10001, runAsNonRoot: true });
    });

    test('a Service for HTTP and gRPC, its headless twin, no memberlist service, no disruption budget', () => {
      expect(find(all, 'Service', 'loki').spec.ports.map((p: any) => [p.name, p.port])).toEqual([['http', 3100], ['grpc', 9095]]);
      expect(find(all, 'Service', 'loki').spec.clusterIP).toBeUndefined();
      expect(ofKind(all, 'Service').map(s => s.metadata.name)).toEqual(['loki', 'loki-headless']);
      expect(ofKind(all, 'PodDisruptionBudget')).toEqual([]);
    });

    test('the StatefulSet\'s serviceName is its headless Service, which publishes pods before they are ready', () => {
      expect(sts.spec.serviceName).toBe('loki-headless');
      expect(find(all, 'Service', sts.spec.serviceName).spec).toMatchObject({
        clusterIP: 'None', publishNotReadyAddresses: true, selector: sts.spec.selector.matchLabels,
      });
    });

    test('no service-account token and no credentials in the environment', () => {
      expect(sts.spec.template.spec.automountServiceAccountToken).toBe(false);
      expect(container.env).toEqual([goMemLimitOf(container)]);
    });

    test('snapshot', () => {
      expect(all).toMatchSnapshot();
    });
  });

  describe('props', () => {
    test('objectStorage: S3 with credentials from Secrets, expanded from the environment', () => {
      const { container, config } = render({ objectStorage: MINIO });
      expect(config.common.storage).toEqual({
        s3: {
          endpoint: 'minio.minio.svc.cluster.local:9000', bucketnames: 'loki-chunks', region: 'us-east-1',
          access_key_id: '${S3_ACCESS_KEY_ID}', secret_access_key: '${S3_SECRET_ACCESS_KEY}', s3forcepathstyle: true, insecure: true,
        },
      });
      expect(config.schema_config.configs[0].object_store).toBe('s3');
      expect(config.compactor.delete_request_store).toBe('s3');
      expect(container.args).toContain('-config.expand-env=true');
      expect(container.env).toEqual([
        goMemLimitOf(container),
        { name: 'S3_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'object-storage', key: 'access-key-id' } } },
        { name: 'S3_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'object-storage', key: 'secret-access-key' } } },
      ]);
    });

    test('replicas > 1 with object storage: a memberlist ring, replication factor 3, a headless peer Service, a budget and spread', () => {
      const { all, sts, container, config } = render({ objectStorage: MINIO, replicas: 3 });
      expect(sts.spec.replicas).toBe(3);
      expect(config.common.replication_factor).toBe(3);
      expect(config.common.ring.kvstore.store).toBe('memberlist');
      expect(config.memberlist).toEqual({ join_members: ['loki-memberlist.observability.svc.cluster.local:7946'], bind_port: 7946 });
      expect(config.common.compactor_address).toBe('http://loki.observability.svc.cluster.local:3100');
      const peers = find(all, 'Service', 'loki-memberlist');
      expect(peers.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      expect(find(all, 'Service', sts.spec.serviceName).spec.clusterIP).toBe('None');
      expect(container.ports.map((p: any) => p.name)).toContain('memberlist');
      expect(find(all, 'PodDisruptionBudget', 'loki').spec.maxUnavailable).toBe(1);
      expect(sts.spec.template.spec.topologySpreadConstraints).toHaveLength(2);
    });

    test('retention, volume, storage class, schema start, image and resources', () => {
      const { sts, container, config } = render({
        retention: Duration.days(30), volumeSize: Size.gibibytes(50), storageClassName: 'ssd', schemaFrom: '2026-01-01',
        image: 'docker.io/grafana/loki:3.7.5',
        resources: { cpuRequestMillis: 1, cpuLimitMillis: 2, memoryRequest: Size.mebibytes(32), memoryLimit: Size.mebibytes(64) },
      });
      expect(config.limits_config.retention_period).toBe('720h');
      // a week at most, whatever retention keeps
      expect(config.limits_config.reject_old_samples_max_age).toBe('168h');
      expect(config.schema_config.configs[0].from).toBe('2026-01-01');
      expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'ssd', resources: { requests: { storage: '50Gi' } } });
      expect(container.image).toBe('docker.io/grafana/loki:3.7.5');
      expect(container.resources.limits).toEqual({ cpu: '2m', memory: '64Mi' });
      expect(config.ingester.wal.replay_memory_ceiling).toBe('48MB');
    });
  });

  describe('validation', () => {
    test('fails if replicas > 1 without object storage', () => {
      expect(() => render({ replicas: 3 })).toThrow("[test/Loki] 'replicas' must be 1 unless 'objectStorage' is set (replicas cannot share a filesystem), got 3");
    });
    test.each([0, 2, 10, 2.5])('fails if replicas is %p', replicas => {
      expect(() => render({ replicas, objectStorage: MINIO })).toThrow(`'replicas' must be 1, or 3 to 9 (replication factor 3: with 2, every restart stops the writes), got ${replicas}`);
    });
    test('a retention shorter than a week: nothing older is accepted, since the compactor would delete it unseen', () => {
      const short = render({ retention: Duration.days(3) }).config;
      expect(short.limits_config).toMatchObject({ retention_period: '72h', reject_old_samples: true, reject_old_samples_max_age: '72h' });
    });

    test.each([['12h', Duration.hours(12)], ['90m past a day', Duration.minutes(24 * 60 + 90)]])('fails if retention is %s', (_l, retention) => {
      expect(() => render({ retention })).toThrow("'retention' must be whole hours, at least 24h (the index period)");
    });
    test('fails on a schema start that is not a date', () => {
      expect(() => render({ schemaFrom: '2024/04/01' })).toThrow("'schemaFrom' must be a date YYYY-MM-DD, got \"2024/04/01\"");
    });
    test('fails on a volume under 1Gi', () => {
      expect(() => render({ volumeSize: Size.mebibytes(100) })).toThrow("'volumeSize' must be at least 1Gi, got 100Mi");
    });
    test('fails outside a namespaced chart', () => {
      expect(() => new Loki(new Chart(testApp(), 'c'), 'L')).toThrow('Loki must be placed in a chart with a namespace');
    });
  });
});
