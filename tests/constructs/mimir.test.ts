import { Chart, Duration, Size } from 'cdk8s';
import { Mimir, MimirProps } from '../../lib/constructs/mimir';
import { synth, testApp, testChart } from '../support/chart';
import { keyPaths, unknownKeys } from '../support/config-keys';
import { AZURE_WI, GCS_GKE, MINIO, S3_IRSA } from '../support/fixtures';
import { configFile, find, goMemLimitOf, ofKind } from '../support/manifest';
import { MIMIR_3_2_KEYS as KNOWN } from '../support/mimir-keys';


const REQUIRED: MimirProps = { tenant: 'obs-canary', retention: Duration.days(30) };

function render(props: Partial<MimirProps> = {}, configure: (mimir: Mimir) => void = () => undefined) {
  const chart = testChart();
  const mimir = new Mimir(chart, 'Mimir', { ...REQUIRED, ...props });
  configure(mimir);
  const all = synth(chart);
  const sts = find(all, 'StatefulSet', 'mimir');
  return { mimir, all, sts, container: sts.spec.template.spec.containers[0], config: configFile(all, 'mimir-config', 'config.yaml') };
}



describe('Mimir', () => {
  describe('defaults', () => {
    const { mimir, all, sts, container, config } = render();

    test('one replica of the pinned 3.2.1 image in monolithic mode, no env expansion without keys', () => {
      expect(sts.spec.replicas).toBe(1);
      expect(container.image).toBe('docker.io/grafana/mimir:3.2.1');
      expect(container.args).toEqual(['-config.file=/etc/mimir/config/config.yaml', '-target=all']);
    });

    test('the rendered config is the one in the ConfigMap', () => {
      expect(config).toEqual(JSON.parse(JSON.stringify(mimir.config)));
    });

    test('multi-tenant: the tenant header is required, and no usage reports', () => {
      expect(config.multitenancy_enabled).toBe(true);
      expect(mimir.tenant).toBe('obs-canary');
      expect(config.usage_stats).toEqual({ enabled: false });
    });

    test('URLs: the Prometheus API under /prometheus, remote write at /api/v1/push, on port 8080', () => {
      expect(mimir.url).toBe('http://mimir.observability.svc.cluster.local:8080');
      expect(mimir.prometheusUrl).toBe('http://mimir.observability.svc.cluster.local:8080/prometheus');
      expect(mimir.remoteWriteUrl).toBe('http://mimir.observability.svc.cluster.local:8080/api/v1/push');
      expect(config.server).toEqual({ http_listen_port: 8080, grpc_listen_port: 9095 });
      expect(mimir.metricsTarget).toMatchObject({ job: 'mimir', namespace: 'observability', port: 'http' });
    });

    test('filesystem blocks on the volume, retention by the compactor', () => {
      expect(config.common).toBeUndefined();
      expect(config.blocks_storage).toMatchObject({ backend: 'filesystem', filesystem: { dir: '/data/blocks' } });
      expect(config.limits.compactor_blocks_retention_period).toBe('720h');
      expect(config.limits.ruler_alertmanager_client_config).toBeUndefined();
    });

    test('one replica: replication factor 1 on the ingester and store-gateway rings, all on memberlist', () => {
      expect(config.ingester.ring).toEqual({ replication_factor: 1, kvstore: { store: 'memberlist' } });
      expect(config.store_gateway.sharding_ring).toEqual({ replication_factor: 1, kvstore: { store: 'memberlist' } });
      expect(config.distributor.ring.kvstore.store).toBe('memberlist');
      expect(config.compactor.sharding_ring.kvstore.store).toBe('memberlist');
    });

    test('memberlist joins through the headless memberlist Service, which publishes pods before they are ready', () => {
      expect(config.memberlist).toEqual({ join_members: ['dns+mimir-memberlist.observability.svc.cluster.local:7946'], bind_port: 7946 });
      const peers = find(all, 'Service', 'mimir-memberlist');
      expect(peers.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: sts.spec.selector.matchLabels });
      expect(peers.spec.ports.map((p: any) => [p.name, p.port])).toEqual([['memberlist', 7946]]);
      expect(container.ports.map((p: any) => [p.name, p.containerPort])).toEqual([['http', 8080], ['grpc', 9095], ['memberlist', 7946]]);
    });

    test('Services: HTTP and gRPC, the headless governing twin, the memberlist peers; no disruption budget', () => {
      expect(ofKind(all, 'Service').map(s => s.metadata.name)).toEqual(['mimir', 'mimir-headless', 'mimir-memberlist']);
      expect(find(all, 'Service', 'mimir').spec.clusterIP).toBeUndefined();
      expect(sts.spec.serviceName).toBe('mimir-headless');
      expect(find(all, 'Service', 'mimir-headless').spec.clusterIP).toBe('None');
      expect(ofKind(all, 'PodDisruptionBudget')).toEqual([]);
      expect(sts.spec.template.spec.topologySpreadConstraints).toBeUndefined();
    });

    test('every directory Mimir writes is absolute and on the data volume; the root file system is read-only', () => {
      const writable = container.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath);
      const written = [
        config.blocks_storage.filesystem.dir, config.blocks_storage.tsdb.dir, config.blocks_storage.bucket_store.sync_dir,
        config.compactor.data_dir, config.ruler.rule_path, config.activity_tracker.filepath,
      ];
      for (const path of written) expect([path, writable.some((w: string) => path.startsWith(`${w}/`))]).toEqual([path, true]);
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');
    });

    test('restricted security context: non-root 10001, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
      expect(sts.spec.template.spec.securityContext).toMatchObject({
        runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, privileged: false,
        capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(sts.spec.template.spec.automountServiceAccountToken).toBe(false);
    });

    test('readiness on /ready, no credentials in the environment', () => {
      expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(container.env).toEqual([goMemLimitOf(container)]);
    });

    test('the ruler reads local rules and keeps its own data on the volume', () => {
      expect(config.ruler_storage).toEqual({ backend: 'local', local: { directory: '/etc/mimir/rules' } });
      expect(config.ruler.rule_path).toBe('/data/ruler');
      expect(configFile(all, 'mimir-rules', 'rules.yaml')).toEqual({ groups: [] });
    });
  });

  describe('config keys', () => {
    test.each([
      ['defaults', {}],
      ['S3 with keys and an Alertmanager', { objectStorage: MINIO, bucket: 'mimir-blocks', replicas: 3, alertmanagerUrl: 'http://alertmanager:9093' }],
      ['S3 with IRSA', { objectStorage: S3_IRSA, bucket: 'mimir-blocks' }],
      ['GCS', { objectStorage: GCS_GKE, bucket: 'mimir-blocks' }],
      ['Azure', { objectStorage: AZURE_WI, bucket: 'mimir-blocks' }],
    ] as Array<[string, Partial<MimirProps>]>)('every rendered key is one Mimir 3.2 knows: %s', (_label, props) => {
      const { config } = render(props);
      expect(unknownKeys(config, KNOWN)).toEqual([]);
    });

    test('the check catches a key Mimir does not know', () => {
      const { config } = render();
      expect(unknownKeys({ ...config, ruler: { ...config.ruler, alertmanager_url: 'http://x' } }, KNOWN)).toEqual(['ruler.alertmanager_url']);
    });

    test('the alertmanager URL is the limit, not the deprecated ruler key', () => {
      const { config } = render({ alertmanagerUrl: 'http://alertmanager-0:9093,http://alertmanager-1:9093' });
      expect(config.limits.ruler_alertmanager_client_config).toEqual({ alertmanager_url: 'http://alertmanager-0:9093,http://alertmanager-1:9093' });
      expect(keyPaths(config)).not.toContain('ruler.alertmanager_url');
    });
  });

  describe('object storage', () => {
    test('S3 with keys: a common backend, the blocks bucket, keys from Secrets expanded from the environment', () => {
      const { all, container, config } = render({ objectStorage: MINIO, bucket: 'mimir-blocks' });
      expect(config.common.storage).toEqual({
        backend: 's3',
        s3: {
          endpoint: 'minio.minio.svc.cluster.local:9000', region: 'us-east-1', insecure: true, bucket_lookup_type: 'path',
          access_key_id: '${S3_ACCESS_KEY_ID}', secret_access_key: '${S3_SECRET_ACCESS_KEY}',
        },
      });
      expect(config.blocks_storage.s3).toEqual({ bucket_name: 'mimir-blocks' });
      expect(config.blocks_storage.backend).toBeUndefined();
      expect(container.args).toContain('-config.expand-env=true');
      expect(container.env).toEqual([
        goMemLimitOf(container),
        { name: 'S3_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'object-storage', key: 'access-key-id' } } },
        { name: 'S3_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'object-storage', key: 'secret-access-key' } } },
      ]);
      expect(all.filter(o => o.kind === 'Secret')).toEqual([]);
    });

    test('S3 with IRSA: no keys, no expansion, the role on the ServiceAccount and regional STS', () => {
      const { all, container, config } = render({ objectStorage: S3_IRSA, bucket: 'mimir-blocks' });
      expect(config.common.storage.s3).not.toHaveProperty('access_key_id');
      expect(config.common.storage.s3).not.toHaveProperty('secret_access_key');
      expect(config.common.storage.s3.bucket_lookup_type).toBe('auto');
      expect(container.args).not.toContain('-config.expand-env=true');
      expect(find(all, 'ServiceAccount', 'mimir').metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/obs-canary-storage' });
      expect(container.env).toEqual([goMemLimitOf(container), { name: 'AWS_REGION', value: 'eu-west-1' }, { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }]);
    });

    test('GCS with GKE Workload Identity: the bucket, no key, the annotation on the ServiceAccount', () => {
      const { all, config } = render({ objectStorage: GCS_GKE, bucket: 'mimir-blocks' });
      expect(config.common.storage).toEqual({ backend: 'gcs' });
      expect(config.blocks_storage.gcs).toEqual({ bucket_name: 'mimir-blocks' });
      expect(find(all, 'ServiceAccount', 'mimir').metadata.annotations).toEqual({
        'iam.gke.io/gcp-service-account': 'obs-canary-storage@obs-canary-prod.iam.gserviceaccount.com',
      });
    });

    test('Azure with Workload Identity: the account and container, no key, the client id and the pod label', () => {
      const { all, sts, config } = render({ objectStorage: AZURE_WI, bucket: 'mimir-blocks' });
      expect(config.common.storage).toEqual({ backend: 'azure', azure: { account_name: 'obscanaryprod' } });
      expect(config.blocks_storage.azure).toEqual({ container_name: 'mimir-blocks' });
      expect(find(all, 'ServiceAccount', 'mimir').metadata.annotations).toEqual({ 'azure.workload.identity/client-id': '00000000-1111-2222-3333-444444444444' });
      expect(sts.spec.template.metadata.labels['azure.workload.identity/use']).toBe('true');
    });

    test('replicas 3: replication factor 3, a disruption budget and spread', () => {
      const { all, sts, config } = render({ objectStorage: MINIO, bucket: 'mimir-blocks', replicas: 3 });
      expect(sts.spec.replicas).toBe(3);
      expect(config.ingester.ring.replication_factor).toBe(3);
      expect(config.store_gateway.sharding_ring.replication_factor).toBe(3);
      expect(find(all, 'PodDisruptionBudget', 'mimir').spec.maxUnavailable).toBe(1);
      expect(sts.spec.template.spec.topologySpreadConstraints).toHaveLength(2);
    });

    test('replicas 5: replication factor stays 3', () => {
      const { config } = render({ objectStorage: MINIO, bucket: 'mimir-blocks', replicas: 5 });
      expect(config.ingester.ring.replication_factor).toBe(3);
    });
  });

  describe('rule groups', () => {
    const group = { name: 'slo', rules: [{ record: 'job:up:sum', expr: 'sum by (job) (up)' }] };

    test('a group added after construction lands in <local directory>/<tenant>/rules.yaml', () => {
      const { all, sts, container, config } = render({}, mimir => mimir.addRuleGroup(group));
      expect(configFile(all, 'mimir-rules', 'rules.yaml')).toEqual({ groups: [group] });
      const volume = sts.spec.template.spec.volumes.find((v: any) => v.configMap?.name === 'mimir-rules');
      const mount = container.volumeMounts.find((m: any) => m.name === volume.name);
      expect(mount).toEqual({ name: volume.name, mountPath: `${config.ruler_storage.local.directory}/obs-canary`, readOnly: true });
    });

    test('adding a group rolls the pods', () => {
      const checksum = (props: Partial<MimirProps>, add: boolean) =>
        render(props, m => (add ? m.addRuleGroup(group) : undefined)).sts.spec.template.metadata.annotations['checksum/config'];
      expect(checksum({}, true)).not.toBe(checksum({}, false));
      expect(checksum({}, false)).toBe(checksum({}, false));
    });

    test('fails on a duplicate group name', () => {
      expect(() => render({}, m => { m.addRuleGroup(group); m.addRuleGroup(group); }))
        .toThrow('[test/Mimir] rule group "slo" already exists; group names must be unique');
    });
  });

  describe('props', () => {
    test('image, volume, storage class and resources', () => {
      const { sts, container } = render({
        image: 'docker.io/grafana/mimir:3.2.0', volumeSize: Size.gibibytes(50), storageClassName: 'ssd',
        resources: { cpuRequestMillis: 1, cpuLimitMillis: 2, memoryRequest: Size.mebibytes(32), memoryLimit: Size.mebibytes(64) },
      });
      expect(container.image).toBe('docker.io/grafana/mimir:3.2.0');
      expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'ssd', resources: { requests: { storage: '50Gi' } } });
      expect(container.resources.limits).toEqual({ cpu: '2m', memory: '64Mi' });
      // the Go runtime collects before the kernel kills: a soft limit at 80 % of the hard one
      expect(container.env).toContainEqual({ name: 'GOMEMLIMIT', value: '51MiB' });
    });

    test('egress proxy: the proxy variables', () => {
      const { container } = render({ egressProxy: { url: 'http://proxy:3128', noProxy: ['.svc', '10.0.0.0/8'] } });
      expect(container.env).toEqual([
        goMemLimitOf(container),
        { name: 'HTTPS_PROXY', value: 'http://proxy:3128' },
        { name: 'HTTP_PROXY', value: 'http://proxy:3128' },
        { name: 'NO_PROXY', value: '.svc,10.0.0.0/8' },
      ]);
    });
  });

  describe('validation', () => {
    test('fails if replicas > 1 without object storage', () => {
      expect(() => render({ replicas: 3 })).toThrow("[test/Mimir] 'replicas' must be 1 unless 'objectStorage' is set (replicas cannot share a filesystem), got 3");
    });
    test.each([0, 2, 10, 2.5])('fails if replicas is %p', replicas => {
      expect(() => render({ replicas, objectStorage: MINIO, bucket: 'mimir-blocks' })).toThrow(`'replicas' must be 1, or 3 to 9 (replication factor 3: with 2, every restart stops the writes), got ${replicas}`);
    });
    test('fails on object storage without a bucket', () => {
      expect(() => render({ objectStorage: MINIO })).toThrow("'bucket' must be set with 'objectStorage'");
    });
    test('fails on a bucket without object storage', () => {
      expect(() => render({ bucket: 'mimir-blocks' })).toThrow("'bucket' needs 'objectStorage' (without it blocks stay on the volume), got \"mimir-blocks\"");
    });
    test.each(['loki-chunks', 'tempo-blocks'])('fails on the bucket of another component: %s', bucket => {
      expect(() => render({ objectStorage: MINIO, bucket })).toThrow(`'bucket' must be a bucket of Mimir's own, not Loki's or Tempo's, got "${bucket}"`);
    });
    test.each(['', '..', 'a/b', 'x'.repeat(151)])('fails on tenant %p', tenant => {
      expect(() => render({ tenant })).toThrow("'tenant' must be 1 to 150 letters, digits, '_', '-' or '.'");
    });
    test('fails if retention is under a day', () => {
      expect(() => render({ retention: Duration.hours(12) })).toThrow("'retention' must be whole hours, at least 24h (the largest compaction range), got 12h");
    });
    test.each(['alertmanager:9093', 'http://a:9093,', 'http://a:9093, http://b:9093'])('fails on alertmanagerUrl %p', alertmanagerUrl => {
      expect(() => render({ alertmanagerUrl })).toThrow("'alertmanagerUrl' must be comma-separated http(s) URLs");
    });
    test('fails on a volume under 1Gi', () => {
      expect(() => render({ volumeSize: Size.mebibytes(100) })).toThrow("'volumeSize' must be at least 1Gi, got 100Mi");
    });
    test('fails outside a namespaced chart', () => {
      expect(() => new Mimir(new Chart(testApp(), 'c'), 'M', REQUIRED)).toThrow('Mimir must be placed in a chart with a namespace');
    });
  });
});
