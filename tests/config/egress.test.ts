import {
  EKS_POD_IDENTITY_AGENT, EXTERNAL_DEPENDENCIES, GKE_METADATA_SERVER, EgressSettings, KUBE_DNS, NODE_LOCAL_DNS, nodeLocalDns,
} from '../../lib/config/egress';
import { objectStoragePort } from '../../lib/config/egress-checks';
import { dnsPeer, planEgress } from '../../lib/config/egress-plan';
import { EnvironmentConfig, validateEnvironment } from '../../lib/config/environment';
import { ENVIRONMENTS, loadEnvironment } from '../../lib/config/environments';
import { EnvironmentEntry, defineEnvironments } from '../../lib/config/registry';
import { errorOf } from '../support/errors';
import { AZURE_WI, GCS_GKE, S3_IRSA } from '../support/fixtures';
import { S3ObjectStorage } from '../../lib/constructs/types';

const prod = ENVIRONMENTS.prod;
/** prod's object storage, which is S3's. */
const PROD_S3 = prod.objectStorage as S3ObjectStorage;
const local = ENVIRONMENTS.local;

/** `env` with its egress section changed. */
const withEgress = (env: EnvironmentConfig, egress: Partial<EgressSettings>): EnvironmentConfig => ({ ...env, egress: { ...env.egress, ...egress } });
/** `env` with some of its dependencies replaced. */
const withDependencies = (env: EnvironmentConfig, dependencies: EgressSettings['dependencies']): EnvironmentConfig =>
  withEgress(env, { dependencies: { ...env.egress.dependencies, ...dependencies } });
/** prod on IRSA, reaching object storage and STS through the corporate proxy. */
const PROD_IRSA = withDependencies({ ...prod, objectStorage: S3_IRSA }, { objectStorageIdentity: { via: 'corporate' } });
/** prod on GCS with GKE Workload Identity: the bucket through the corporate proxy, the metadata server on the node. */
const PROD_GKE = withDependencies({ ...prod, objectStorage: GCS_GKE }, { objectStorageIdentity: GKE_METADATA_SERVER });
/** prod on Azure Blob Storage with Azure Workload Identity: the account and Entra ID through the corporate proxy. */
const PROD_AZURE = withDependencies({ ...prod, objectStorage: AZURE_WI }, { objectStorageIdentity: { via: 'corporate' } });

describe('DNS presets', () => {
  test('KUBE_DNS: the kube-dns pods in kube-system on 53 UDP and TCP', () => {
    expect(KUBE_DNS).toEqual({ pods: { namespace: 'kube-system', selector: { 'k8s-app': 'kube-dns' } }, ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] });
    expect(dnsPeer(KUBE_DNS)).toEqual({ kind: 'pods', peer: { name: 'cluster-dns', namespace: 'kube-system', selector: { 'k8s-app': 'kube-dns' } } });
  });

  test('NODE_LOCAL_DNS: the link-local 169.254.20.10 as an ipBlock, the kube-dns pods kept for the fallback', () => {
    expect(NODE_LOCAL_DNS).toEqual({ ...KUBE_DNS, cidrs: ['169.254.20.10/32'] });
    expect(dnsPeer(NODE_LOCAL_DNS)).toEqual({ kind: 'anyOf', peers: [dnsPeer(KUBE_DNS), { kind: 'cidr', cidr: '169.254.20.10/32' }] });
  });

  test('nodeLocalDns: another local address, and the kube-dns Service IP for kube-proxy in iptables mode', () => {
    expect(nodeLocalDns({ localIp: '169.254.0.53', kubeDnsServiceIp: '10.96.0.10' }).cidrs).toEqual(['169.254.0.53/32', '10.96.0.10/32']);
  });

  test('a DNS of addresses only is an ipBlock peer', () => {
    expect(dnsPeer({ cidrs: ['10.0.0.2/32'], ports: [{ port: 53, protocol: 'UDP' }] })).toEqual({ kind: 'cidr', cidr: '10.0.0.2/32' });
  });
});

describe('the dependency table', () => {
  test('who calls what', () => {
    expect(Object.fromEntries(Object.entries(EXTERNAL_DEPENDENCIES).map(([name, d]) => [name, d.users]))).toEqual({
      kubernetesApi: ['prometheus', 'promtail', 'collector', 'kube-state-metrics', 'kiali', 'alloy'],
      kubelet: ['prometheus'],
      grafanaDatabase: ['grafana'],
      objectStorage: ['loki', 'tempo', 'mimir'],
      objectStorageIdentity: ['loki', 'tempo', 'mimir'],
      alertReceivers: ['alertmanager'],
      gitHost: ['canary-gate'],
      notificationWebhook: ['canary-gate'],
    });
  });

  test('when each is used', () => {
    const used = (env: EnvironmentConfig) => Object.entries(EXTERNAL_DEPENDENCIES)
      .filter(([, d]) => d.usedBecause(env) !== undefined).map(([n]) => n);
    expect(used(local)).toEqual(['kubernetesApi', 'kubelet', 'alertReceivers', 'gitHost']);
    expect(used(prod)).toEqual(['kubernetesApi', 'kubelet', 'grafanaDatabase', 'objectStorage', 'alertReceivers', 'gitHost', 'notificationWebhook']);
    for (const env of [PROD_IRSA, PROD_GKE, PROD_AZURE]) {
      expect(used(env)).toEqual([
        'kubernetesApi', 'kubelet', 'grafanaDatabase', 'objectStorage', 'objectStorageIdentity', 'alertReceivers', 'gitHost', 'notificationWebhook',
      ]);
    }
    // the kubelets are scraped in every environment, whatever else it uses; the gate's loop on GitHub calls nothing from the cluster
    const quiet = { ...local, alerting: { ...local.alerting, receivers: [] }, delivery: { ...local.delivery, loop: 'github' as const } };
    expect(used(quiet)).toEqual(['kubernetesApi', 'kubelet']);
    expect(used({ ...prod, delivery: { ...prod.delivery, webhook: undefined } })).not.toContain('notificationWebhook');
  });

  test('GKE_METADATA_SERVER: the link-local 169.254.169.254 on port 80', () => {
    expect(GKE_METADATA_SERVER).toEqual({ cidrs: ['169.254.169.254/32'], ports: [{ port: 80 }] });
  });

  test('the shipped environments are valid; so are the IRSA and Pod Identity variants', () => {
    expect(() => validateEnvironment(PROD_IRSA)).not.toThrow();
    const podIdentity = withDependencies({ ...prod, objectStorage: { ...S3_IRSA, credentials: { kind: 'workloadIdentity', provider: 'eks-pod-identity' } } },
      { objectStorageIdentity: EKS_POD_IDENTITY_AGENT });
    expect(() => validateEnvironment(podIdentity)).not.toThrow();
  });

  test('so are the GKE and Azure variants, and Azure with everything direct', () => {
    expect(() => validateEnvironment(PROD_GKE)).not.toThrow();
    expect(() => validateEnvironment(PROD_AZURE)).not.toThrow();
    expect(() => validateEnvironment(withDependencies(PROD_AZURE, {
      objectStorage: { cidrs: ['20.60.0.0/16'], ports: [{ port: 443 }] }, objectStorageIdentity: { cidrs: ['20.190.128.0/18'], ports: [{ port: 443 }] },
    }))).not.toThrow();
  });
});

describe('validateEnvironment: egress', () => {
  const inCluster = { url: 'http://squid.egress.svc.cluster.local:3128', namespace: 'egress', selector: { app: 'squid' } };
  const cases: Array<[string, EnvironmentConfig, string]> = [
    ['0.0.0.0/0 without allowWideCidrs', withDependencies(prod, { kubernetesApi: { cidrs: ['0.0.0.0/0'], ports: [{ port: 443 }] } }),
      '\'egress.dependencies.kubernetesApi.cidrs[0]\' must be a block of /8 or narrower (the dependency\'s own addresses: a provider\'s published '
      + 'ranges, your network\'s), unless \'egress.allowWideCidrs\' is true, got "0.0.0.0/0"'],
    ['a /7 block', withDependencies(prod, { grafanaDatabase: { cidrs: ['10.0.0.0/7'], ports: [{ port: 5432 }] } }),
      '\'egress.dependencies.grafanaDatabase.cidrs[0]\' must be a block of /8 or narrower'],
    ['a wide proxy block', withEgress(prod, { proxies: { corporate: { url: 'http://proxy:3128', cidrs: ['0.0.0.0/0'] } } }),
      '\'egress.proxies.corporate.cidrs[0]\' must be a block of /8 or narrower'],
    ['a wide DNS block', withEgress(prod, { dns: { cidrs: ['0.0.0.0/1'], ports: [{ port: 53 }] } }), '\'egress.dns.cidrs[0]\' must be a block of /8'],
    ['no blocks', withDependencies(prod, { grafanaDatabase: { cidrs: [], ports: [{ port: 5432 }] } }),
      '\'egress.dependencies.grafanaDatabase.cidrs\' must be at least one IPv4 CIDR block, got []'],
    ['a missing dependency', withEgress(prod, { dependencies: { grafanaDatabase: prod.egress.dependencies.grafanaDatabase, objectStorage: { via: 'corporate' } } }),
      '\'egress.dependencies.kubernetesApi\' must be { cidrs, ports } or { via: <proxy> } for the Kubernetes API server, because Prometheus, Promtail and '
      + 'the Collector discover targets and pod metadata through it, got undefined'],
    ['a dependency nothing uses', withDependencies(local, { grafanaDatabase: { cidrs: ['10.0.0.0/24'], ports: [{ port: 5432 }] } }),
      '\'egress.dependencies.grafanaDatabase\' must be left out: nothing calls Grafana\'s database in this environment, got {"cidrs":["10.0.0.0/24"],"ports":[{"port":5432}]}'],
    ['an unknown dependency', withDependencies(prod, { alertmanager: { via: 'corporate' } } as never),
      '\'egress.dependencies (a key)\' must be one of "kubernetesApi", "kubelet", "grafanaDatabase", "objectStorage", "objectStorageIdentity", "alertReceivers", '
      + '"gitHost", "notificationWebhook", got "alertmanager"'],
    ['no ports', withDependencies(prod, { grafanaDatabase: { cidrs: ['10.0.128.0/27'], ports: [] } }),
      '\'egress.dependencies.grafanaDatabase.ports\' must be at least one { port, protocol? }, got []'],
    ['a port out of range', withDependencies(prod, { grafanaDatabase: { cidrs: ['10.0.128.0/27'], ports: [{ port: 70000 }] } }),
      '\'egress.dependencies.grafanaDatabase.ports[0].port\' must be an integer from 1 to 65535, got 70000'],
    ['a protocol', withDependencies(prod, { grafanaDatabase: { cidrs: ['10.0.128.0/27'], ports: [{ port: 5432, protocol: 'SCTP' as never }] } }),
      '\'egress.dependencies.grafanaDatabase.ports[0].protocol\' must be one of "TCP", "UDP", got "SCTP"'],
    ['an unknown proxy', withDependencies(prod, { objectStorage: { via: 'squid' } }),
      '\'egress.dependencies.objectStorage.via\' must be one of "corporate", got "squid"'],
    ['the database via a proxy', withDependencies(prod, { grafanaDatabase: { via: 'corporate' } }),
      '\'egress.dependencies.grafanaDatabase.via\' must be left out (give { cidrs, ports }): Grafana\'s PostgreSQL and MySQL clients speak their own '
      + 'protocols over TCP and ignore HTTP proxies, got "corporate"'],
    ['the API server via a proxy', withDependencies(prod, { kubernetesApi: { via: 'corporate' } }),
      '\'egress.dependencies.kubernetesApi.via\' must be left out (give { cidrs, ports }): in-cluster clients reach it through the kubernetes Service'],
    ['the kubelets via a proxy', withDependencies(prod, { kubelet: { via: 'corporate' } }),
      '\'egress.dependencies.kubelet.via\' must be left out (give { cidrs, ports }): Prometheus scrapes each node\'s InternalIP on 10250 directly, '
      + 'never through an HTTP proxy, got "corporate"'],
    ['the kubelets left out', withEgress(prod, { dependencies: { ...prod.egress.dependencies, kubelet: undefined } }),
      '\'egress.dependencies.kubelet\' must be { cidrs, ports } or { via: <proxy> } for the kubelets (port 10250 of every node), because Prometheus '
      + 'scrapes every node\'s kubelet for the PersistentVolume usage VolumeFillingUp reads'],
    ['kubelet ports without 10250', withDependencies(prod, { kubelet: { cidrs: ['10.0.0.0/16'], ports: [{ port: 10255 }] } }),
      '\'egress.dependencies.kubelet.ports\' must be to include 10250/TCP, the kubelet\'s port Prometheus scrapes on every node, got [{"port":10255}]'],
    ['kubelet port 10250 over UDP only', withDependencies(prod, { kubelet: { cidrs: ['10.0.0.0/16'], ports: [{ port: 10250, protocol: 'UDP' }] } }),
      '\'egress.dependencies.kubelet.ports\' must be to include 10250/TCP'],
    ['the Pod Identity Agent via a proxy', withDependencies({ ...prod, objectStorage: { ...S3_IRSA, credentials: { kind: 'workloadIdentity', provider: 'eks-pod-identity' } } },
      { objectStorageIdentity: { via: 'corporate' } }),
    '\'egress.dependencies.objectStorageIdentity.via\' must be left out (give { cidrs, ports }): the Pod Identity Agent listens on each node\'s link-local 169.254.170.23'],
    ['two proxies for one component', withDependencies(withEgress(PROD_IRSA, { proxies: { ...prod.egress.proxies, squid: inCluster } }),
      { objectStorageIdentity: { via: 'squid' } }),
    '\'egress.dependencies.objectStorageIdentity.via\' must be "corporate" like \'egress.dependencies.objectStorage.via\': loki takes one HTTPS_PROXY, got "squid"'],
    ['a proxy without clusterCidrs', withEgress(prod, { clusterCidrs: undefined }),
      '\'egress.clusterCidrs\' must be the cluster\'s pod and Service CIDRs once a dependency goes via a proxy (NO_PROXY must keep in-cluster gRPC off the proxy), '
      + 'got undefined'],
    ['an https proxy', withEgress(prod, { proxies: { corporate: { url: 'https://proxy:3128', cidrs: ['10.100.0.10/32'] } } }),
      '\'egress.proxies.corporate.url\' must be an http://host:port URL without credentials (gRPC and the S3 clients speak plain HTTP CONNECT to the proxy), '
      + 'got "https://proxy:3128"'],
    // named, never shown: the message goes to terminals and CI logs
    ['a proxy with credentials', withEgress(prod, { proxies: { corporate: { url: 'http://user:pw@proxy:3128', cidrs: ['10.100.0.10/32'] } } }),
      '\'egress.proxies.corporate.url\' must be an http://host:port URL without credentials (gRPC and the S3 clients speak plain HTTP CONNECT to the proxy), '
      + 'got "http://[credentials]@proxy:3128"'],
    // a password alone would be rendered into HTTPS_PROXY and committed under dist/
    ['a proxy with a password and no user', withEgress(prod, { proxies: { corporate: { url: 'http://:s3cret@proxy:3128', cidrs: ['10.100.0.10/32'] } } }),
      '\'egress.proxies.corporate.url\' must be an http://host:port URL without credentials'],
    ['a proxy URL with a query', withEgress(prod, { proxies: { corporate: { url: 'http://proxy:3128/?token=x', cidrs: ['10.100.0.10/32'] } } }),
      '\'egress.proxies.corporate.url\' must be an http://host:port URL without credentials'],
    ['a proxy name', withEgress(prod, { proxies: { ...prod.egress.proxies, Squid_1: inCluster } }), '\'egress.proxies.Squid_1 (its name)\' must be a DNS-1123 label'],
    ['an in-cluster proxy without labels', withEgress(prod, { proxies: { ...prod.egress.proxies, squid: { ...inCluster, selector: {} } } }),
      '\'egress.proxies.squid.selector\' must be at least one label, each a valid label key and value, got {}'],
    ['an in-cluster proxy port', withEgress(prod, { proxies: { ...prod.egress.proxies, squid: { ...inCluster, port: 0 } } }),
      '\'egress.proxies.squid.port\' must be an integer from 1 to 65535, got 0'],
    ['DNS with neither pods nor addresses', withEgress(prod, { dns: { ports: [{ port: 53 }] } }),
      '\'egress.dns\' must be cluster DNS with pods { namespace, selector } or cidrs, or both (KUBE_DNS, NODE_LOCAL_DNS)'],
    ['the DNS namespace', withEgress(prod, { dns: { ...KUBE_DNS, pods: { namespace: 'Kube System', selector: { 'k8s-app': 'kube-dns' } } } }),
      '\'egress.dns.pods.namespace\' must be a DNS-1123 label'],
    ['object storage ports without the endpoint\'s', withDependencies(prod, { objectStorage: { cidrs: ['52.218.0.0/17'], ports: [{ port: 80 }] } }),
      '\'egress.dependencies.objectStorage.ports\' must be to include 443/TCP, the port of \'objectStorage.endpoint\' "s3.eu-west-1.amazonaws.com", got [{"port":80}]'],
    ['the GKE metadata server via a proxy', withDependencies(PROD_GKE, { objectStorageIdentity: { via: 'corporate' } }),
      '\'egress.dependencies.objectStorageIdentity.via\' must be left out (give { cidrs, ports }): the GKE metadata server answers on each node\'s link-local '
      + '169.254.169.254, which no proxy reaches, got "corporate"'],
    ['GKE Workload Identity without the metadata server', { ...prod, objectStorage: GCS_GKE },
      '\'egress.dependencies.objectStorageIdentity\' must be { cidrs, ports } or { via: <proxy> } for the token exchange of the object storage\'s workload '
      + 'identity, because \'objectStorage.credentials\' is gke (the GKE metadata server at 169.254.169.254:80, GKE_METADATA_SERVER), got undefined'],
    ['Azure Workload Identity without Entra ID', { ...prod, objectStorage: AZURE_WI },
      '\'egress.dependencies.objectStorageIdentity\' must be { cidrs, ports } or { via: <proxy> } for the token exchange of the object storage\'s workload '
      + 'identity, because \'objectStorage.credentials\' is azure (Microsoft Entra ID at login.microsoftonline.com:443), got undefined'],
    ['Azure storage ports without 443', withDependencies(PROD_AZURE, { objectStorage: { cidrs: ['20.60.0.0/16'], ports: [{ port: 80 }] } }),
      '\'egress.dependencies.objectStorage.ports\' must be to include 443/TCP, the port of "obscanaryprod.blob.core.windows.net", got [{"port":80}]'],
    ['GCS ports without 443', withDependencies(PROD_GKE, { objectStorage: { cidrs: ['199.36.153.8/30'], ports: [{ port: 80 }] } }),
      '\'egress.dependencies.objectStorage.ports\' must be to include 443/TCP, the port of "storage.googleapis.com", got [{"port":80}]'],
    ['workload identity without its token exchange', { ...prod, objectStorage: S3_IRSA },
      '\'egress.dependencies.objectStorageIdentity\' must be { cidrs, ports } or { via: <proxy> } for the token exchange of the object storage\'s workload identity, '
      + 'because \'objectStorage.credentials\' is eks-irsa (STS at sts.<region>.amazonaws.com:443), got undefined'],
  ];

  test.each(cases)('fails on %s, naming the field, the value and what is allowed', (_what, env, message) => {
    expect(errorOf(() => validateEnvironment(env))).toContain(message);
  });

  test('prod refuses 0.0.0.0/0; local may keep it because it says allowWideCidrs', () => {
    expect(local.egress.allowWideCidrs).toBe(true);
    expect(local.egress.dependencies.kubernetesApi).toEqual({ cidrs: ['0.0.0.0/0'], ports: [{ port: 443 }, { port: 6443 }] });
    expect(() => validateEnvironment(local)).not.toThrow();
    expect(prod.egress.allowWideCidrs).toBeUndefined();
    expect(() => validateEnvironment(withEgress(local, { allowWideCidrs: undefined })))
      .toThrow(/'egress.dependencies.kubernetesApi.cidrs\[0\]' must be a block of \/8/);
  });

  test('/8 is the widest block accepted', () => {
    expect(() => validateEnvironment(withDependencies(prod, { grafanaDatabase: { cidrs: ['10.0.0.0/8'], ports: [{ port: 5432 }] } }))).not.toThrow();
  });
});

describe('planEgress', () => {
  test('local: the API server for Prometheus, Promtail, the Collector, kube-state-metrics and Kiali, directly; no proxy', () => {
    const plan = planEgress(local);
    expect(plan.grants.map(g => [g.component, g.flow])).toEqual([
      // the log shipper local runs (Promtail), not Alloy
      ['prometheus', 'kube-api'], ['promtail', 'kube-api'], ['collector', 'kube-api'], ['kube-state-metrics', 'kube-api'], ['kiali', 'kube-api'],
      ['prometheus', 'kubelet'],
      ['alertmanager', 'alert-receivers'],
      ['canary-gate', 'git-host'],
    ]);
    expect(plan.grants[0].to).toEqual({ kind: 'cidr', cidr: '0.0.0.0/0' });
    expect(plan.proxies).toEqual({});
  });

  test('prod: the database for Grafana directly, object storage through the corporate proxy for Loki and Tempo', () => {
    const plan = planEgress(prod);
    expect(plan.grants.map(g => [g.component, g.flow, g.dependencies])).toEqual([
      // Alloy, prod's log shipper, and no Promtail
      ['prometheus', 'kube-api', ['kubernetesApi']], ['collector', 'kube-api', ['kubernetesApi']],
      ['kube-state-metrics', 'kube-api', ['kubernetesApi']], ['kiali', 'kube-api', ['kubernetesApi']], ['alloy', 'kube-api', ['kubernetesApi']],
      ['prometheus', 'kubelet', ['kubelet']],
      ['grafana', 'database', ['grafanaDatabase']],
      ['loki', 'proxy-corporate', ['objectStorage']], ['tempo', 'proxy-corporate', ['objectStorage']],
      ['alertmanager', 'proxy-corporate', ['alertReceivers']],
      ['canary-gate', 'proxy-corporate', ['gitHost', 'notificationWebhook']],
    ]);
    expect(plan.grants.find(g => g.component === 'loki')).toMatchObject({
      to: { kind: 'anyOf', peers: [{ kind: 'cidr', cidr: '10.100.0.10/32' }, { kind: 'cidr', cidr: '10.100.0.11/32' }] }, ports: [{ port: 3128 }],
    });
    const corporate = { url: 'http://proxy.corp.example:3128', noProxy: ['localhost', '127.0.0.1', '.svc', '.cluster.local', '10.0.0.0/16', '172.20.0.0/16'] };
    expect(plan.proxies).toEqual({ loki: corporate, tempo: corporate, alertmanager: corporate, 'canary-gate': corporate });
  });

  test('IRSA through the proxy: one grant per component to the proxy, serving both object storage and STS', () => {
    const loki = planEgress(PROD_IRSA).grants.filter(g => g.component === 'loki');
    expect(loki.map(g => [g.flow, g.dependencies])).toEqual([['proxy-corporate', ['objectStorage', 'objectStorageIdentity']]]);
  });

  test('Pod Identity with a proxied bucket: the agent directly, and kept off the proxy', () => {
    const env = withDependencies({ ...prod, objectStorage: { ...S3_IRSA, credentials: { kind: 'workloadIdentity', provider: 'eks-pod-identity' } } },
      { objectStorageIdentity: EKS_POD_IDENTITY_AGENT });
    const plan = planEgress(env);
    expect(plan.grants.filter(g => g.component === 'tempo').map(g => [g.flow, g.to, g.ports])).toEqual([
      ['object-storage-identity', { kind: 'cidr', cidr: '169.254.170.23/32' }, [{ port: 80 }]],
      ['proxy-corporate', expect.anything(), [{ port: 3128 }]],
    ]);
    expect(plan.proxies.tempo?.noProxy).toContain('169.254.170.23/32');
  });

  test('GKE with a proxied bucket: the metadata server directly, and kept off the proxy by address and name', () => {
    const plan = planEgress(PROD_GKE);
    expect(plan.grants.filter(g => g.component === 'loki').map(g => [g.flow, g.dependencies, g.to, g.ports])).toEqual([
      ['object-storage-identity', ['objectStorageIdentity'], { kind: 'cidr', cidr: '169.254.169.254/32' }, [{ port: 80 }]],
      ['proxy-corporate', ['objectStorage'], expect.anything(), [{ port: 3128 }]],
    ]);
    for (const component of ['loki', 'tempo'] as const) {
      expect(plan.proxies[component]?.noProxy).toEqual(expect.arrayContaining(['169.254.169.254/32', '169.254.169.254', 'metadata.google.internal']));
    }
  });

  test('Azure through the proxy: one grant per component to the proxy, serving both the account and Entra ID', () => {
    const plan = planEgress(PROD_AZURE);
    expect(plan.grants.filter(g => g.component === 'tempo').map(g => [g.flow, g.dependencies])).toEqual([['proxy-corporate', ['objectStorage', 'objectStorageIdentity']]]);
    expect(plan.proxies.tempo?.noProxy).not.toContain('169.254.169.254');
  });

  test('an in-cluster proxy is a pod peer on the pods\' port', () => {
    const env = withDependencies(withEgress(prod, {
      proxies: { squid: { url: 'http://squid.egress.svc.cluster.local:80', namespace: 'egress', selector: { app: 'squid' }, port: 3128 } },
    }), { objectStorage: { via: 'squid' }, alertReceivers: { via: 'squid' }, gitHost: { via: 'squid' }, notificationWebhook: { via: 'squid' } });
    expect(() => validateEnvironment(env)).not.toThrow();
    expect(planEgress(env).grants.find(g => g.component === 'loki')).toMatchObject({
      flow: 'proxy-squid', to: { kind: 'pods', peer: { name: 'squid', namespace: 'egress', selector: { app: 'squid' } } }, ports: [{ port: 3128 }],
    });
  });
});

describe('objectStoragePort', () => {
  test.each([
    ['s3.eu-west-1.amazonaws.com', false, 443],
    ['minio.example.com', true, 80],
    ['minio.example.com:9000', true, 9000],
  ] as const)('%s (insecure: %p) → %p', (endpoint, insecure, port) => {
    expect(objectStoragePort({ ...PROD_S3, endpoint, insecure })).toBe(port);
  });

  test('Google Cloud Storage and Azure Blob Storage: HTTPS on 443', () => {
    expect(objectStoragePort(GCS_GKE)).toBe(443);
    expect(objectStoragePort(AZURE_WI)).toBe(443);
  });
});

describe('extending environments: egress and credentials are replaced whole, never merged', () => {
  test('a dependency given { via } drops the parent\'s { cidrs, ports }; credentials of another kind drop the parent\'s keys', () => {
    const registry = defineEnvironments({
      prod,
      staging: {
        name: 'staging', extends: 'prod', clusterName: 'staging',
        objectStorage: { lokiBucket: 'staging-loki', tempoBucket: 'staging-tempo', credentials: S3_IRSA.credentials },
        egress: { dependencies: { grafanaDatabase: { cidrs: ['10.1.128.0/27'], ports: [{ port: 5432 }] }, objectStorageIdentity: { via: 'corporate' } } },
      } as EnvironmentEntry,
    });
    const staging = loadEnvironment('staging', registry);
    expect(staging.objectStorage?.credentials).toEqual(S3_IRSA.credentials);
    expect(staging.egress.dependencies).toEqual({ ...prod.egress.dependencies, grafanaDatabase: { cidrs: ['10.1.128.0/27'], ports: [{ port: 5432 }] },
      objectStorageIdentity: { via: 'corporate' } });
    expect(staging.egress.dns).toBe(prod.egress.dns);
  });

  test('object storage of another kind replaces the parent\'s whole: a GCS staging keeps no S3 endpoint, region or keys', () => {
    const registry = defineEnvironments({
      prod,
      staging: {
        name: 'staging', extends: 'prod', clusterName: 'staging',
        objectStorage: { ...GCS_GKE, lokiBucket: 'staging-loki', tempoBucket: 'staging-tempo' },
        egress: { dependencies: { objectStorageIdentity: GKE_METADATA_SERVER } },
      } as EnvironmentEntry,
      preview: { name: 'preview', extends: 'staging', clusterName: 'preview', objectStorage: { lokiBucket: 'preview-loki', tempoBucket: 'preview-tempo' } } as EnvironmentEntry,
    });
    expect(loadEnvironment('staging', registry).objectStorage).toEqual({ ...GCS_GKE, lokiBucket: 'staging-loki', tempoBucket: 'staging-tempo' });
    // the same kind (or none named) is merged as before
    expect(loadEnvironment('preview', registry).objectStorage).toEqual({ ...GCS_GKE, lokiBucket: 'preview-loki', tempoBucket: 'preview-tempo' });
  });
});
