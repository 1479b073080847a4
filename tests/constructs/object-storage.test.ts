// Loki and Tempo on object storage: static keys from Secrets, workload identity (no key anywhere), and an egress proxy.
import { Loki } from '../../lib/constructs/loki';
import { Tempo } from '../../lib/constructs/tempo';
import { ObjectStorage } from '../../lib/constructs/types';
import { synth, testChart } from '../support/chart';
import { MINIO, S3_IRSA } from '../support/fixtures';
import { K8sObject, configFile, find } from '../support/manifest';
import { secretViolations, serviceAccountViolations } from '../support/policy';

const COMPONENTS = [
  {
    name: 'loki',
    render: (props: ConstructorParameters<typeof Loki>[2]) => {
      const chart = testChart();
      new Loki(chart, 'Loki', props);
      const all = synth(chart);
      return { all, s3: configFile(all, 'loki-config', 'config.yaml').common.storage.s3 };
    },
    keys: ['access_key_id', 'secret_access_key'],
  },
  {
    name: 'tempo',
    render: (props: ConstructorParameters<typeof Tempo>[2]) => {
      const chart = testChart();
      new Tempo(chart, 'Tempo', props);
      const all = synth(chart);
      return { all, s3: configFile(all, 'tempo-config', 'tempo.yaml').storage.trace.s3 };
    },
    keys: ['access_key', 'secret_key'],
  },
] as const;

const podOf = (all: readonly K8sObject[], name: string) => find(all, 'StatefulSet', name).spec.template;
const envOf = (all: readonly K8sObject[], name: string) => podOf(all, name).spec.containers[0].env;

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
