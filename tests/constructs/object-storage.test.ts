// Loki and Tempo on object storage: static keys from Secrets, workload identity (no key anywhere) on S3, Google Cloud
// Storage and Azure Blob Storage, and an egress proxy.
import { Loki } from '../../lib/constructs/loki';
import { Tempo } from '../../lib/constructs/tempo';
import { ObjectStorage } from '../../lib/constructs/types';
import { synth, testChart } from '../support/chart';
import { AZURE_WI, GCS_GKE, MINIO, S3_IRSA } from '../support/fixtures';
import { K8sObject, configFile, find } from '../support/manifest';
import { secretViolations, serviceAccountViolations } from '../support/policy';

const COMPONENTS = [
  {
    name: 'loki',
    render: (props: ConstructorParameters<typeof Loki>[2]) => {
      const chart = testChart();
      new Loki(chart, 'Loki', props);
      const all = synth(chart);
      const config = configFile(all, 'loki-config', 'config.yaml');
      return { all, s3: config.common.storage.s3, config };
    },
    keys: ['access_key_id', 'secret_access_key'],
    /** The storage section, the object store of the schema and the compactor's delete requests. */
    storageOf: (config: any) => ({
      storage: config.common.storage, stores: [config.schema_config.configs[0].object_store, config.compactor.delete_request_store],
    }),
  },
  {
    name: 'tempo',
    render: (props: ConstructorParameters<typeof Tempo>[2]) => {
      const chart = testChart();
      new Tempo(chart, 'Tempo', props);
      const all = synth(chart);
      const config = configFile(all, 'tempo-config', 'tempo.yaml');
      return { all, s3: config.storage.trace.s3, config };
    },
    keys: ['access_key', 'secret_key'],
    /** The trace storage without its WAL, and the backend. */
    storageOf: (config: any) => {
      const { wal: _wal, backend, ...storage } = config.storage.trace;
      return { storage, stores: [backend] };
    },
  },
] as const;

const podOf = (all: readonly K8sObject[], name: string) => find(all, 'StatefulSet', name).spec.template;
/** The container's variables about storage: GOMEMLIMIT, which every ring component gets, is not one. */
const envOf = (all: readonly K8sObject[], name: string) => (podOf(all, name).spec.containers[0].env ?? []).filter((e: any) => e.name !== 'GOMEMLIMIT');

describe.each(COMPONENTS)('$name on object storage', ({ name, render, keys }) => {
  test('static keys: expanded from Secrets at start-up, the ServiceAccount plain', () => {
    const { all, s3 } = render({ objectStorage: MINIO });
    expect(s3).toMatchObject({ [keys[0]]: '${S3_ACCESS_KEY_ID}', [keys[1]]: '${S3_SECRET_ACCESS_KEY}' });
    expect(podOf(all, name).spec.containers[0].args).toContain('-config.expand-env=true');
    expect(find(all, 'ServiceAccount', name).metadata.annotations).toBeUndefined();
  });

  describe('IRSA', () => {
    const { all, s3 } = render({ objectStorage: S3_IRSA });

    test('no key in the config, the environment or a Secret reference; no env expansion', () => {
      for (const key of keys) expect(s3).not.toHaveProperty(key);
      expect(JSON.stringify(all)).not.toMatch(/secretKeyRef|S3_ACCESS_KEY_ID/);
      expect(podOf(all, name).spec.containers[0].args).not.toContain('-config.expand-env=true');
      expect(secretViolations(all)).toEqual([]);
    });

    test('the ServiceAccount carries the role ARN the EKS webhook reads', () => {
      expect(find(all, 'ServiceAccount', name).metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/obs-canary-storage' });
    });

    test('the region and regional STS are set, so the token is exchanged at sts.<region>.amazonaws.com', () => {
      expect(envOf(all, name)).toEqual([{ name: 'AWS_REGION', value: 'eu-west-1' }, { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }]);
    });

    test('the API-server token stays unmounted: the webhook projects its own, for STS', () => {
      expect(podOf(all, name).spec.automountServiceAccountToken).toBe(false);
      expect(find(all, 'ServiceAccount', name).automountServiceAccountToken).toBe(false);
      expect(serviceAccountViolations(all)).toEqual([]);
    });
  });

  test('Pod Identity: nothing in the environment, no annotation; pod labels from config, the selector untouched', () => {
    const storage: ObjectStorage = { ...S3_IRSA, credentials: { kind: 'workloadIdentity', provider: 'eks-pod-identity', podLabels: { 'example.com/identity': 'aws' } } };
    const { all } = render({ objectStorage: storage });
    const sts = find(all, 'StatefulSet', name);
    expect(envOf(all, name)).toEqual([]);
    expect(find(all, 'ServiceAccount', name).metadata.annotations).toBeUndefined();
    expect(sts.spec.template.metadata.labels).toMatchObject({ 'example.com/identity': 'aws', 'app.kubernetes.io/name': name });
    expect(sts.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': name });
  });

  test('egressProxy: HTTPS_PROXY and HTTP_PROXY name the proxy, NO_PROXY lists what stays direct', () => {
    const { all } = render({ objectStorage: MINIO, egressProxy: { url: 'http://proxy:3128', noProxy: ['localhost', '.svc', '10.0.0.0/16'] } });
    expect(envOf(all, name).slice(-3)).toEqual([
      { name: 'HTTPS_PROXY', value: 'http://proxy:3128' },
      { name: 'HTTP_PROXY', value: 'http://proxy:3128' },
      { name: 'NO_PROXY', value: 'localhost,.svc,10.0.0.0/16' },
    ]);
  });

  test('no egressProxy by default: no proxy variables', () => {
    const { all } = render({ objectStorage: MINIO });
    expect(envOf(all, name).map((e: any) => e.name)).toEqual(['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
  });
});

describe.each(COMPONENTS)('$name on Google Cloud Storage and Azure Blob Storage', ({ name, render, storageOf }) => {
  const expected = {
    loki: {
      gcs: { storage: { gcs: { bucket_name: 'gke-loki' } }, stores: ['gcs', 'gcs'] },
      azure: { storage: { azure: { account_name: 'obscanaryprod', container_name: 'azure-loki', use_federated_token: true } }, stores: ['azure', 'azure'] },
    },
    tempo: {
      gcs: { storage: { gcs: { bucket_name: 'gke-tempo' } }, stores: ['gcs'] },
      azure: { storage: { azure: { storage_account_name: 'obscanaryprod', container_name: 'azure-tempo', use_federated_token: true } }, stores: ['azure'] },
    },
  }[name];

  describe('GCS with GKE Workload Identity', () => {
    const { all, config } = render({ objectStorage: GCS_GKE });

    test('the gcs backend with the component\'s bucket, and nothing of S3', () => {
      expect(storageOf(config)).toEqual(expected.gcs);
    });

    test('no key, no Secret reference, no variable, no env expansion: Application Default Credentials from the metadata server', () => {
      expect(envOf(all, name)).toEqual([]);
      expect(JSON.stringify(all)).not.toMatch(/secretKeyRef|S3_ACCESS_KEY_ID|service_account|access_key/);
      expect(podOf(all, name).spec.containers[0].args).not.toContain('-config.expand-env=true');
      expect(secretViolations(all)).toEqual([]);
    });

    test('the ServiceAccount names the IAM service account; the pods get no label; the API-server token stays unmounted', () => {
      expect(find(all, 'ServiceAccount', name).metadata.annotations).toEqual({
        'iam.gke.io/gcp-service-account': 'obs-canary-storage@obs-canary-prod.iam.gserviceaccount.com',
      });
      expect(podOf(all, name).metadata.labels).not.toHaveProperty(['azure.workload.identity/use']);
      expect(podOf(all, name).spec.automountServiceAccountToken).toBe(false);
      expect(serviceAccountViolations(all)).toEqual([]);
    });

    test('a direct Workload Identity Federation principal: no annotation at all', () => {
      const { all: direct } = render({ objectStorage: { ...GCS_GKE, credentials: { kind: 'workloadIdentity', provider: 'gke' } } });
      expect(find(direct, 'ServiceAccount', name).metadata.annotations).toBeUndefined();
    });
  });

  describe('Azure Blob Storage with Azure Workload Identity', () => {
    const { all, config } = render({ objectStorage: AZURE_WI });

    test('the azure backend on the account, the component\'s container, the federated token', () => {
      expect(storageOf(config)).toEqual(expected.azure);
    });

    test('no key, no Secret reference, no variable of ours: the webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID and the token file', () => {
      expect(envOf(all, name)).toEqual([]);
      expect(JSON.stringify(all)).not.toMatch(/secretKeyRef|S3_ACCESS_KEY_ID|account_key|storage_account_key|connection_string/);
      expect(podOf(all, name).spec.containers[0].args).not.toContain('-config.expand-env=true');
      expect(secretViolations(all)).toEqual([]);
    });

    test('the ServiceAccount carries the client id, the pods the label the webhook selects; the selector untouched', () => {
      expect(find(all, 'ServiceAccount', name).metadata.annotations).toEqual({ 'azure.workload.identity/client-id': '00000000-1111-2222-3333-444444444444' });
      const sts = find(all, 'StatefulSet', name);
      expect(sts.spec.template.metadata.labels).toMatchObject({ 'azure.workload.identity/use': 'true', 'app.kubernetes.io/name': name });
      expect(sts.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': name });
    });

    test('the API-server token stays unmounted: the webhook projects its own azure-identity-token volume', () => {
      expect(podOf(all, name).spec.automountServiceAccountToken).toBe(false);
      expect(find(all, 'ServiceAccount', name).automountServiceAccountToken).toBe(false);
      expect(serviceAccountViolations(all)).toEqual([]);
    });

    test('the client id may come from the annotations instead, with further annotations and labels kept', () => {
      const { all: annotated } = render({
        objectStorage: {
          ...AZURE_WI,
          credentials: {
            kind: 'workloadIdentity', provider: 'azure', podLabels: { 'example.com/team': 'obs' },
            serviceAccountAnnotations: { 'azure.workload.identity/client-id': 'aaaaaaaa-1111-2222-3333-444444444444', 'azure.workload.identity/tenant-id': 'tenant' },
          },
        },
      });
      expect(find(annotated, 'ServiceAccount', name).metadata.annotations).toEqual({
        'azure.workload.identity/client-id': 'aaaaaaaa-1111-2222-3333-444444444444', 'azure.workload.identity/tenant-id': 'tenant',
      });
      expect(podOf(annotated, name).metadata.labels).toMatchObject({ 'azure.workload.identity/use': 'true', 'example.com/team': 'obs' });
    });
  });
});
