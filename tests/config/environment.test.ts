import { Duration, Size } from 'cdk8s';
import { ConfigError } from '../../lib/config/checks';
import { EnvironmentConfig, checkAcrossEnvironments, checkDistinctBuckets, checkDistinctRootUrls, validateEnvironment } from '../../lib/config/environment';
import { ENVIRONMENT_NAMES, ENVIRONMENTS, loadEnvironment } from '../../lib/config/environments';
import { configErrorOf, errorOf } from '../support/errors';
import { AZURE_WI, GCS_GKE } from '../support/fixtures';
import { S3ObjectStorage } from '../../lib/constructs/types';

const prod = ENVIRONMENTS.prod;
/** prod's object storage, which is S3's. */
const PROD_S3 = prod.objectStorage as S3ObjectStorage;
const local = ENVIRONMENTS.local;
const SECRET_KEYS = { kind: 'secret', accessKeyId: { name: 's3', key: 'id' }, secretAccessKey: { name: 's3', key: 'secret' } } as const;
const IRSA = {
  kind: 'workloadIdentity', provider: 'eks-irsa', serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/obs' },
} as const;
/** prod with its egress dependencies replaced. */
const withDependencies = (dependencies: EnvironmentConfig['egress']['dependencies']): EnvironmentConfig =>
  ({ ...prod, egress: { ...prod.egress, dependencies: { ...prod.egress.dependencies, ...dependencies } } });

describe('environments', () => {
  test.each(ENVIRONMENT_NAMES)('%s is valid', name => {
    expect(loadEnvironment(name).name).toBe(name);
  });

  test('local is a single-node set-up: one replica, filesystem storage', () => {
    expect(local.grafana.replicas).toBe(1);
    expect(local.objectStorage).toBeUndefined();
  });

  test('prod runs Loki three times on object storage and the Collector twice', () => {
    expect(prod.loki.replicas).toBe(3);
    expect(prod.collector.replicas).toBe(2);
  });

  test('prod uses object storage with credentials from a Secret and runs Grafana twice on a shared database', () => {
    expect(prod.objectStorage?.credentials).toEqual({
      kind: 'secret',
      accessKeyId: { name: 'observability-object-storage', key: 'access-key-id' },
      secretAccessKey: { name: 'observability-object-storage', key: 'secret-access-key' },
    });
    expect(prod.grafana.replicas).toBe(2);
    expect(prod.grafana.databaseUrl).toBeDefined();
  });

  test('fails on an unknown name, listing the known ones', () => {
    expect(errorOf(() => loadEnvironment('nope')))
      .toBe(`invalid environment name:\n  - 'DEPLOY_ENV' must be one of ${ENVIRONMENT_NAMES.map(n => `"${n}"`).join(', ')}, got "nope"`);
  });

  test('does not find inherited properties', () => {
    expect(() => loadEnvironment('toString')).toThrow(ConfigError);
  });
});

describe('validateEnvironment', () => {
  const cases: Array<[string, EnvironmentConfig, string]> = [
    ['name', { ...prod, name: 'Prod' }, '\'name\' must be a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters), got "Prod"'],
    ['clusterName', { ...prod, clusterName: 'Prod_1' }, '\'clusterName\' must be a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters), got "Prod_1"'],
    ['storageClassName', { ...prod, storageClassName: 'Fast SSD' }, '\'storageClassName\' must be a DNS-1123 subdomain'],
    // istiod's namespace moved from Kiali's settings: an entry written for that is refused, naming where it went
    ['kiali.istioNamespace', { ...prod, kiali: { ...prod.kiali, istioNamespace: 'istio-control' } as never },
      '\'kiali.istioNamespace\' must be no value: istiod\'s namespace is apps.istiod.namespace, got "istio-control"'],
    ['apps.istiod', { ...prod, apps: { ...prod.apps, istiod: undefined as never } },
      '\'apps.istiod.namespace\' must be a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters), got undefined'],
    ['objectStorage.endpoint', { ...prod, objectStorage: { ...PROD_S3, endpoint: 'https://s3.example.com' } },
      '\'objectStorage.endpoint\' must be host[:port] without a scheme (set \'objectStorage.insecure\' for plain HTTP), got "https://s3.example.com"'],
    ['objectStorage.region', { ...prod, objectStorage: { ...PROD_S3, region: '' } }, '\'objectStorage.region\' must be a non-empty string'],
    ['objectStorage.lokiBucket', { ...prod, objectStorage: { ...PROD_S3, lokiBucket: 'Logs' } },
      '\'objectStorage.lokiBucket\' must be an S3 bucket name (3 to 63 lower-case letters, digits, "." and "-"), got "Logs"'],
    ['objectStorage.credentials.accessKeyId.key', {
      ...prod, objectStorage: { ...PROD_S3, credentials: { ...SECRET_KEYS, accessKeyId: { name: 's3', key: 'a key' } } },
    }, '\'objectStorage.credentials.accessKeyId.key\' must be a Secret key'],
    ['objectStorage.credentials', { ...prod, objectStorage: { ...PROD_S3, credentials: undefined as never } },
      '\'objectStorage.credentials\' must be { kind: \'secret\', accessKeyId, secretAccessKey } or { kind: \'workloadIdentity\', provider, '
      + 'serviceAccountAnnotations?, podLabels? }, got undefined'],
    ['objectStorage.credentials.provider', { ...prod, objectStorage: { ...PROD_S3, credentials: { ...IRSA, provider: 'gke' as never } } },
      '\'objectStorage.credentials.provider\' must be one of "eks-irsa", "eks-pod-identity", got "gke"'],
    ['the IRSA role annotation', { ...prod, objectStorage: { ...PROD_S3, credentials: { ...IRSA, serviceAccountAnnotations: {} } } },
      '\'objectStorage.credentials.serviceAccountAnnotations.eks.amazonaws.com/role-arn\' must be an IAM role ARN (arn:aws:iam::<account>:role/<name>): '
      + 'the role IRSA makes Loki and Tempo assume, got undefined'],
    ['objectStorage.credentials.podLabels', { ...prod, objectStorage: { ...PROD_S3, credentials: { ...IRSA, podLabels: { use: 'not a value' } } } },
      '\'objectStorage.credentials.podLabels.use\' must be a label value: at most 63 letters, digits, "-", "_" and ".", got "not a value"'],
    ['objectStorage.endpoint (workload identity)', {
      ...prod, objectStorage: { ...PROD_S3, endpoint: 'minio.minio:9000', credentials: IRSA },
      egress: { ...prod.egress, dependencies: { ...prod.egress.dependencies, objectStorageIdentity: { via: 'corporate' } } },
    }, '\'objectStorage.endpoint\' must be an AWS S3 endpoint (*.amazonaws.com) with "eks-irsa" credentials, which are AWS credentials, got "minio.minio:9000"'],
    ['objectStorage.kind', { ...prod, objectStorage: { ...PROD_S3, kind: 'minio' as never } }, '\'objectStorage.kind\' must be one of "s3", "gcs", "azure", got "minio"'],
    ['objectStorage.credentials.provider (IRSA with kind gcs)', { ...prod, objectStorage: { ...GCS_GKE, credentials: IRSA as never } },
      '\'objectStorage.credentials.provider\' must be "gke" with kind "gcs" ("eks-irsa" and "eks-pod-identity" hand out AWS credentials, for kind "s3"), '
      + 'got "eks-irsa"'],
    ['objectStorage.credentials.provider (GKE with kind azure)', { ...prod, objectStorage: { ...AZURE_WI, credentials: GCS_GKE.credentials as never } },
      '\'objectStorage.credentials.provider\' must be "azure" with kind "azure"'],
    ['objectStorage.credentials (keys with kind gcs)', { ...prod, objectStorage: { ...GCS_GKE, credentials: SECRET_KEYS as never } },
      '\'objectStorage.credentials\' must be { kind: \'workloadIdentity\', provider: \'gke\', serviceAccountAnnotations?, podLabels? }: Google Cloud Storage '
      + 'is reached with the cluster\'s workload identity only, got {"kind":"secret"'],
    ['objectStorage.endpoint (kind gcs)', { ...prod, objectStorage: { ...GCS_GKE, endpoint: 's3.eu-west-1.amazonaws.com' } as never },
      '\'objectStorage.endpoint\' must be left out with kind "gcs", which has no such setting, got "s3.eu-west-1.amazonaws.com"'],
    ['objectStorage.accountName (kind gcs)', { ...prod, objectStorage: { ...GCS_GKE, accountName: 'obs' } as never },
      '\'objectStorage.accountName\' must be left out with kind "gcs"'],
    ['objectStorage.lokiBucket (kind gcs)', { ...prod, objectStorage: { ...GCS_GKE, lokiBucket: 'Logs' } },
      '\'objectStorage.lokiBucket\' must be a Cloud Storage bucket name (3 to 63 lower-case letters, digits, "-", "_" and "."), got "Logs"'],
    ['the GKE service account annotation', {
      ...prod, objectStorage: { ...GCS_GKE, credentials: { kind: 'workloadIdentity', provider: 'gke', serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'storage' } } },
    }, '\'objectStorage.credentials.serviceAccountAnnotations.iam.gke.io/gcp-service-account\' must be an IAM service account '
      + '<name>@<project>.iam.gserviceaccount.com, or left out to grant the Kubernetes ServiceAccounts\' principals directly, got "storage"'],
    ['objectStorage.accountName (missing)', { ...prod, objectStorage: { ...AZURE_WI, accountName: undefined as never } },
      '\'objectStorage.accountName\' must be an Azure storage account name (3 to 24 lower-case letters and digits): the account whose containers hold '
      + 'Loki\'s and Tempo\'s data, got undefined'],
    ['objectStorage.accountName (invalid)', { ...prod, objectStorage: { ...AZURE_WI, accountName: 'obs-canary' } },
      '\'objectStorage.accountName\' must be an Azure storage account name (3 to 24 lower-case letters and digits)'],
    ['objectStorage.region (kind azure)', { ...prod, objectStorage: { ...AZURE_WI, region: 'westeurope' } as never },
      '\'objectStorage.region\' must be left out with kind "azure", which has no such setting, got "westeurope"'],
    ['objectStorage.tempoBucket (kind azure)', { ...prod, objectStorage: { ...AZURE_WI, tempoBucket: 'tempo--blocks' } },
      '\'objectStorage.tempoBucket\' must be an Azure container name (3 to 63 lower-case letters, digits and single "-", starting and ending with a letter '
      + 'or digit), got "tempo--blocks"'],
    ['the Azure client id (missing)', { ...prod, objectStorage: { ...AZURE_WI, credentials: { kind: 'workloadIdentity', provider: 'azure' } } },
      '\'objectStorage.credentials.serviceAccountAnnotations.azure.workload.identity/client-id\' must be the client id (a GUID) of the managed identity or '
      + 'application Loki and Tempo act as, given as \'clientId\' or the annotation, got undefined'],
    ['the Azure client id (not a GUID)', { ...prod, objectStorage: { ...AZURE_WI, credentials: { ...AZURE_WI.credentials, clientId: 'obs-canary' } } },
      '\'objectStorage.credentials.clientId\' must be the client id (a GUID)'],
    ['the Azure client id (given twice)', {
      ...prod, objectStorage: {
        ...AZURE_WI, credentials: { ...AZURE_WI.credentials, serviceAccountAnnotations: { 'azure.workload.identity/client-id': 'aaaaaaaa-1111-2222-3333-444444444444' } },
      },
    }, '\'objectStorage.credentials.serviceAccountAnnotations.azure.workload.identity/client-id\' must be left out or equal to '
      + '\'objectStorage.credentials.clientId\' "00000000-1111-2222-3333-444444444444", got "aaaaaaaa-1111-2222-3333-444444444444"'],
    ['prometheus.retention', { ...prod, prometheus: { ...prod.prometheus, retention: Duration.minutes(30) } },
      '\'prometheus.retention\' must be a duration from 2h to 3650d, got 30m'],
    ['prometheus.volumeSize', { ...prod, prometheus: { ...prod.prometheus, volumeSize: Size.mebibytes(512) } },
      '\'prometheus.volumeSize\' must be a whole number of MiB from 1024Mi to 16777216Mi, got "512Mi"'],
    ['prometheus.scrapeInterval', { ...prod, prometheus: { ...prod.prometheus, scrapeInterval: Duration.minutes(10) } },
      '\'prometheus.scrapeInterval\' must be a duration from 1s to 75s, got 10m'],
    // the SLO rules rate over 5m: at 90s a window holds three scrapes, or two (promtool: the fast burn did not page)
    ['prometheus.scrapeInterval (the rules\' 5m window)', { ...prod, prometheus: { ...prod.prometheus, scrapeInterval: Duration.seconds(90) } },
      '\'prometheus.scrapeInterval\' must be a duration from 1s to 75s, got 90s'],
    ['prometheus.resources.cpuRequestMillis', { ...prod, prometheus: { ...prod.prometheus, resources: { ...prod.prometheus.resources, cpuRequestMillis: 4000 } } },
      '\'prometheus.resources.cpuRequestMillis\' must be an integer from 1 to 2000, got 4000'],
    ['prometheus.resources.memoryRequest', { ...prod, prometheus: { ...prod.prometheus, resources: { ...prod.prometheus.resources, memoryRequest: Size.gibibytes(8) } } },
      '\'prometheus.resources.memoryRequest\' must be a whole number of MiB from 16Mi to 4096Mi, got "8192Mi"'],
    ['grafana.replicas (range)', { ...prod, grafana: { ...prod.grafana, replicas: 0 } }, '\'grafana.replicas\' must be an integer from 1 to 10, got 0'],
    ['grafana.replicas (database)', { ...prod, grafana: { ...prod.grafana, databaseUrl: undefined } },
      '\'grafana.replicas\' must be 1 unless \'grafana.databaseUrl\' names a shared database (each replica would keep its own SQLite database), got 2'],
    ['grafana.adminSecretName', { ...prod, grafana: { ...prod.grafana, adminSecretName: 'Grafana Admin' } }, '\'grafana.adminSecretName\' must be a DNS-1123 subdomain'],
    ['grafana.rootUrl', { ...prod, grafana: { ...prod.grafana, rootUrl: 'grafana.example.com' } },
      '\'grafana.rootUrl\' must be an absolute URL with scheme http or https and no credentials, got "grafana.example.com"'],
    // it would be in a ConfigMap, the links and the dashboards: refused, and not shown
    ['grafana.rootUrl (credentials)', { ...prod, grafana: { ...prod.grafana, rootUrl: 'https://admin:s3cret@grafana.example.com' } },
      '\'grafana.rootUrl\' must be an absolute URL with scheme http or https and no credentials, got "https://[credentials]@grafana.example.com"'],
    // a parser reads the user information up to the last "@"; without a scheme nothing of it is shown
    ['grafana.rootUrl (an "@" in the password)', { ...prod, grafana: { ...prod.grafana, rootUrl: 'https://admin:p@ssw0rd@grafana.example.com' } },
      '\'grafana.rootUrl\' must be an absolute URL with scheme http or https and no credentials, got "https://[credentials]@grafana.example.com"'],
    ['grafana.rootUrl (credentials, no scheme)', { ...prod, grafana: { ...prod.grafana, rootUrl: 'admin:s3cret@grafana.example.com' } },
      '\'grafana.rootUrl\' must be an absolute URL with scheme http or https and no credentials, got "(a value with an \\"@\\", not shown)"'],
    ['kiali.rootUrl (credentials)', { ...prod, kiali: { ...prod.kiali, rootUrl: 'https://:s3cret@kiali.example.com' } },
      '\'kiali.rootUrl\' must be an absolute URL with scheme http or https and no credentials, got "https://[credentials]@kiali.example.com"'],
    ['loki.replicas', { ...local, loki: { ...local.loki, replicas: 3 } },
      '\'loki.replicas\' must be 1 unless \'objectStorage\' is set (replicas cannot share a filesystem), got 3'],
    ['loki.replicas (two)', { ...prod, loki: { ...prod.loki, replicas: 2 } },
      '\'loki.replicas\' must be 1, or 3 to 9 (replication factor 3: with 2, every restart stops the writes), got 2'],
    ['loki.retention (hours)', { ...prod, loki: { ...prod.loki, retention: Duration.minutes(24 * 60 + 30) } }, '\'loki.retention\' must be whole hours, got 1470m'],
    ['loki.retention (minimum)', { ...prod, loki: { ...prod.loki, retention: Duration.hours(12) } }, '\'loki.retention\' must be a duration from 1d to 3650d, got 12h'],
    ['tempo.retention', { ...prod, tempo: { ...prod.tempo, retention: Duration.minutes(30) } }, '\'tempo.retention\' must be whole hours, got 30m'],
    ['tempo.volumeSize', { ...prod, tempo: { ...prod.tempo, volumeSize: Size.mebibytes(100) } }, '\'tempo.volumeSize\' must be a whole number of MiB from 1024Mi'],
    ['collector.replicas', { ...prod, collector: { ...prod.collector, replicas: 0 } }, '\'collector.replicas\' must be an integer from 1 to 20, got 0'],
    ['collector.samplingPercent', { ...prod, collector: { ...prod.collector, samplingPercent: 0 } },
      '\'collector.samplingPercent\' must be more than 0 and at most 100, got 0'],
    ['promtail.resources.memoryLimit', { ...prod, promtail: { resources: { ...prod.promtail.resources, memoryLimit: Size.mebibytes(8) } } },
      '\'promtail.resources.memoryLimit\' must be a whole number of MiB from 16Mi to 262144Mi, got "8Mi"'],
    ['egress.dependencies.kubernetesApi.cidrs[0]', withDependencies({ kubernetesApi: { cidrs: ['10.0.0.1'], ports: [{ port: 443 }] } }),
      '\'egress.dependencies.kubernetesApi.cidrs[0]\' must be an IPv4 CIDR block such as "10.0.0.0/8", got "10.0.0.1"'],
    ['apps.ingressGateway.selector', { ...prod, apps: { ...prod.apps, ingressGateway: { ...prod.apps.ingressGateway, selector: {} } } },
      '\'apps.ingressGateway.selector\' must be at least one label, got {}'],
    ['apps.canaryPinSources[1]', { ...prod, apps: { ...prod.apps, canaryPinSources: ['203.0.113.0/24', '203.0.113.7'] } },
      '\'apps.canaryPinSources[1]\' must be an IPv4 CIDR block such as "10.0.0.0/8", got "203.0.113.7"'],
    ['apps.canaryPinSources[0] (too wide)', { ...prod, apps: { ...prod.apps, canaryPinSources: ['0.0.0.0/0'] } },
      '\'apps.canaryPinSources[0]\' must be a block of /8 or narrower (the smoke tests\' runners: a wider block lets anyone pin themselves to a canary), '
      + 'got "0.0.0.0/0"'],
    ['apps.canaryPinSources', { ...prod, apps: { ...prod.apps, canaryPinSources: undefined as never } },
      '\'apps.canaryPinSources\' must be a list of IPv4 CIDR blocks (empty: the pin works inside the mesh only), got undefined'],
    ['apps.stableReplicas', { ...prod, apps: { ...prod.apps, stableReplicas: 0 } }, '\'apps.stableReplicas\' must be an integer from 1 to 50, got 0'],
    ['apps.traceSamplingRatio', { ...prod, apps: { ...prod.apps, traceSamplingRatio: 10 } }, '\'apps.traceSamplingRatio\' must be a number from 0 to 1, got 10'],
    ['apps.meshSamplingPercent', { ...prod, apps: { ...prod.apps, meshSamplingPercent: 150 } }, '\'apps.meshSamplingPercent\' must be a number from 0 to 100, got 150'],
    ['gitops.repoURL', { ...prod, gitops: { ...prod.gitops, repoURL: 'github.com/acme/repo' } },
      '\'gitops.repoURL\' must be a git URL Argo CD can clone (https://…, ssh://… or git@…), got "github.com/acme/repo"'],
    ['gitops.argocdNamespace', { ...prod, gitops: { ...prod.gitops, argocdNamespace: 'Argo CD' } }, '\'gitops.argocdNamespace\' must be a DNS-1123 label'],
    ['delivery.loop', { ...prod, delivery: { ...prod.delivery, loop: 'argo' as never } }, '\'delivery.loop\' must be one of "cluster", "github", got "argo"'],
    ['delivery.intervalMinutes', { ...prod, delivery: { ...prod.delivery, intervalMinutes: 3 } },
      '\'delivery.intervalMinutes\' must be an integer from 1 to 2, got 3'],
    ['delivery.intervalMinutes (not whole)', { ...prod, delivery: { ...prod.delivery, intervalMinutes: 1.5 } },
      '\'delivery.intervalMinutes\' must be an integer from 1 to 2, got 1.5'],
    ['delivery.gitCredentials.key', { ...prod, delivery: { ...prod.delivery, gitCredentials: { name: 'canary-gate-git', key: 'a token' } } },
      '\'delivery.gitCredentials.key\' must be a Secret key (letters, digits, "-", "_" and "."), got "a token"'],
    ['delivery.prometheusAuth (token and basic auth)', {
      ...prod, delivery: {
        ...prod.delivery,
        prometheusAuth: { token: { name: 'prom', key: 'token' }, basicAuth: { username: { name: 'prom', key: 'user' }, password: { name: 'prom', key: 'pw' } } },
      },
    }, '\'delivery.prometheusAuth\' must be a token or basic auth, not both'],
    ['a header named Authorization', { ...prod, delivery: { ...prod.delivery, prometheusAuth: { headers: { Authorization: 'Bearer x' } } } },
      '\'delivery.prometheusAuth.headers.Authorization\' must be an HTTP header name (letters, digits and "-") that names no credential: not '
      + 'Authorization, Proxy-Authorization, Cookie or one with key, token, secret, auth, password, credential, signature or session in it (those '
      + 'are plain text in dist/; give the credential as delivery.prometheusAuth.token or basicAuth, from a Secret), got "Authorization"'],
    // an API key in a plain header would be a plain variable of the gate's CronJob, in dist/ and in git
    ['a header named like a credential', { ...prod, delivery: { ...prod.delivery, prometheusAuth: { headers: { 'X-Api-Key': 'sk-live-123' } } } },
      '\'delivery.prometheusAuth.headers.X-Api-Key\' must be an HTTP header name (letters, digits and "-") that names no credential'],
    ['a header named cookie', { ...prod, delivery: { ...prod.delivery, prometheusAuth: { headers: { cookie: 'session=1' } } } },
      '\'delivery.prometheusAuth.headers.cookie\' must be an HTTP header name'],
    ['a header value on two lines', { ...prod, delivery: { ...prod.delivery, prometheusAuth: { headers: { 'X-Scope-OrgID': 'prod\nX-Other: 1' } } } },
      '\'delivery.prometheusAuth.headers.X-Scope-OrgID\' must be a value on one line'],
    ['delivery.webhook.name', { ...prod, delivery: { ...prod.delivery, webhook: { name: 'Canary Hooks', key: 'url' } } },
      '\'delivery.webhook.name\' must be a DNS-1123 subdomain'],
    ['delivery.allowedRegistries[1]', { ...prod, delivery: { ...prod.delivery, allowedRegistries: ['ghcr.io/example/', 'ghcr.io/example'] } },
      '\'delivery.allowedRegistries[1]\' must be an image repository prefix ending in "/" (a registry host, then path segments: "ghcr.io/example/"), '
      + 'got "ghcr.io/example"'],
    ['delivery.allowedRegistries[0] (a scheme)', { ...prod, delivery: { ...prod.delivery, allowedRegistries: ['https://ghcr.io/example/'] } },
      '\'delivery.allowedRegistries[0]\' must be an image repository prefix ending in "/"'],
    ['gitops.targetRevision (HEAD, with the loop in the cluster)', { ...prod, gitops: { ...prod.gitops, targetRevision: 'HEAD' } },
      '\'gitops.targetRevision\' must be a branch with \'delivery.loop\' "cluster" (the gate pushes its decisions to it), not HEAD, a tag or a commit, '
      + 'got "HEAD"'],
    ['gitops.targetRevision (a commit, with the loop in the cluster)', { ...prod, gitops: { ...prod.gitops, targetRevision: 'a'.repeat(40) } },
      '\'gitops.targetRevision\' must be a branch with \'delivery.loop\' "cluster"'],
    ['gitops.targetRevision (a tag, with the loop in the cluster)', { ...prod, gitops: { ...prod.gitops, targetRevision: 'refs/tags/v1.0.0' } },
      '\'gitops.targetRevision\' must be a branch with \'delivery.loop\' "cluster"'],
    ['gitops.repoURL (credentials, with the loop in the cluster)', { ...prod, gitops: { ...prod.gitops, repoURL: 'https://x-access-token:ghp_0123@github.com/example/obs-canary.git' } },
      '\'gitops.repoURL\' must be a URL without credentials (Argo CD takes its own from a repository Secret; the gate\'s token comes from '
      + '\'delivery.gitCredentials\'), got "https://[credentials]@github.com/example/obs-canary.git"'],
    // any loop: the URL is in every Argo CD Application of dist/; a "/" in the password must not hide it
    ['gitops.repoURL (credentials with a "/", with the loop on GitHub)', {
      ...prod, gitops: { ...prod.gitops, repoURL: 'https://bot:se/cret@github.com/example/obs-canary.git' }, delivery: { ...prod.delivery, loop: 'github' },
    }, 'got "https://[credentials]@github.com/example/obs-canary.git"'],
  ];

  test.each(cases)('fails on an invalid %s, naming the field, the value and what is allowed', (_field, env, message) => {
    expect(errorOf(() => validateEnvironment(env))).toContain(message);
  });

  test('a refused repoURL with credentials is reported without them', () => {
    const message = errorOf(() => validateEnvironment({ ...prod, gitops: { ...prod.gitops, repoURL: 'https://u:ghp_0123@github.com/example/obs-canary.git' } }));
    expect(message).not.toContain('ghp_0123');
  });

  test('the delivery section: one or two minutes, either loop, headers that are no credentials, registries as prefixes', () => {
    const githubLoop = (env: EnvironmentConfig): EnvironmentConfig => {
      const { gitHost: _git, notificationWebhook: _hook, ...dependencies } = env.egress.dependencies;
      return { ...env, delivery: { ...env.delivery, loop: 'github' }, egress: { ...env.egress, dependencies } };
    };
    expect(() => validateEnvironment({ ...prod, delivery: { ...prod.delivery, intervalMinutes: 2 } })).not.toThrow();
    expect(() => validateEnvironment(githubLoop(prod))).not.toThrow();
    // a loop on GitHub pushes from the workflow's checkout: Argo CD may follow HEAD or a tag
    expect(() => validateEnvironment(githubLoop({ ...prod, gitops: { ...prod.gitops, targetRevision: 'HEAD' } }))).not.toThrow();
    expect(() => validateEnvironment({
      ...prod, delivery: { ...prod.delivery, prometheusAuth: { token: { name: 'prom', key: 'token' }, headers: { 'X-Scope-OrgID': 'prod' } } },
    })).not.toThrow();
    expect(() => validateEnvironment({ ...prod, delivery: { ...prod.delivery, allowedRegistries: ['registry.example.com:5000/team/', 'ghcr.io/'] } })).not.toThrow();
  });

  test('the pin allowlist: empty, or blocks of /8 and narrower', () => {
    expect(() => validateEnvironment({ ...prod, apps: { ...prod.apps, canaryPinSources: [] } })).not.toThrow();
    expect(() => validateEnvironment({ ...prod, apps: { ...prod.apps, canaryPinSources: ['10.0.0.0/8', '203.0.113.7/32'] } })).not.toThrow();
    expect(errorOf(() => validateEnvironment({ ...prod, apps: { ...prod.apps, canaryPinSources: ['10.0.0.0/7'] } }))).toContain('\'apps.canaryPinSources[0]\'');
  });

  test('reports every problem at once', () => {
    const env = { ...prod, clusterName: 'X', grafana: { ...prod.grafana, replicas: 0 } };
    const error = configErrorOf(() => validateEnvironment(env));
    expect(error.subject).toBe('environment "prod"');
    expect(error.problems).toHaveLength(2);
    expect(error.message.startsWith('invalid environment "prod":\n  - ')).toBe(true);
  });
});

describe('checkDistinctRootUrls: each environment\'s Grafana and Kiali at addresses of their own', () => {
  const staging = { ...prod, name: 'staging' };

  test('the shipped environments pass', () => {
    expect(() => checkDistinctRootUrls(Object.values(ENVIRONMENTS))).not.toThrow();
  });

  test('fails when an environment inherits another\'s addresses, naming both', () => {
    expect(prod.grafana.rootUrl).toBeDefined();
    expect(prod.kiali.rootUrl).toBeDefined();
    expect(() => checkDistinctRootUrls([prod, staging])).toThrow(new ConfigError('environments', [
      '"staging"\'s \'grafana.rootUrl\' must be an address of its own (links and redirects would lead into the other environment), got '
        + `${JSON.stringify(prod.grafana.rootUrl)}, which is "prod"'s 'grafana.rootUrl' too`,
      '"staging"\'s \'kiali.rootUrl\' must be an address of its own (links and redirects would lead into the other environment), got '
        + `${JSON.stringify(prod.kiali.rootUrl)}, which is "prod"'s 'kiali.rootUrl' too`,
    ]));
    // a trailing slash or capitals make no other address
    const same = { ...staging, grafana: { ...prod.grafana, rootUrl: `${prod.grafana.rootUrl!.toUpperCase()}/` }, kiali: { ...prod.kiali, rootUrl: undefined } };
    expect(() => checkDistinctRootUrls([prod, same])).toThrow(/"staging"'s 'grafana.rootUrl' must be an address of its own/);
    // nor does the scheme's default port; a path in other capitals is another address
    const port = { ...staging, grafana: { ...prod.grafana, rootUrl: prod.grafana.rootUrl!.replace(/^(https:\/\/[^/]+)/, '$1:443') }, kiali: { ...prod.kiali, rootUrl: undefined } };
    expect(() => checkDistinctRootUrls([prod, port])).toThrow(/"staging"'s 'grafana.rootUrl' must be an address of its own/);
    const paths = [{ ...prod, grafana: { ...prod.grafana, rootUrl: 'https://example.com/Grafana' } }, { ...staging, grafana: { ...prod.grafana, rootUrl: 'https://example.com/grafana' }, kiali: { ...prod.kiali, rootUrl: undefined } }];
    expect(() => checkDistinctRootUrls(paths)).not.toThrow();
    const own = { ...staging, grafana: { ...prod.grafana, rootUrl: 'https://grafana.staging.example.com' }, kiali: { ...prod.kiali, rootUrl: undefined } };
    expect(() => checkDistinctRootUrls([prod, own])).not.toThrow();
  });
});

test('checkAcrossEnvironments makes both checks: a copy of prod shares its buckets and its addresses', () => {
  expect(() => checkAcrossEnvironments(Object.values(ENVIRONMENTS))).not.toThrow();
  const copy = { ...prod, name: 'staging' };
  const ownAddresses = { ...copy, grafana: { ...prod.grafana, rootUrl: undefined }, kiali: { ...prod.kiali, rootUrl: undefined } };
  expect(() => checkAcrossEnvironments([prod, ownAddresses])).toThrow(/"staging"'s 'objectStorage.lokiBucket' must be a bucket of its own/);
  expect(() => checkAcrossEnvironments([prod, { ...copy, objectStorage: undefined }]))
    .toThrow(/"staging"'s 'grafana.rootUrl' must be an address of its own/);
});

describe('checkDistinctBuckets: what no single environment can check', () => {
  const staging = { ...prod, name: 'staging' };

  test('the shipped environments use each bucket once', () => {
    expect(() => checkDistinctBuckets(Object.values(ENVIRONMENTS))).not.toThrow();
  });

  test('fails when a second environment reuses a bucket: its compactor would apply its retention to the other\'s data', () => {
    expect(() => checkDistinctBuckets([prod, { ...staging, objectStorage: { ...PROD_S3, tempoBucket: 'obs-canary-staging-tempo' } }]))
      .toThrow(new ConfigError('environments', ['"staging"\'s \'objectStorage.lokiBucket\' must be a bucket of its own (each compactor applies '
        + 'its own retention to the whole bucket), got "obs-canary-loki", which is "prod"\'s \'objectStorage.lokiBucket\' too']));
  });

  test('fails when Loki and Tempo share a bucket, and passes with buckets of their own', () => {
    expect(() => checkDistinctBuckets([{ ...prod, objectStorage: { ...PROD_S3, tempoBucket: 'obs-canary-loki' } }])).toThrow(/tempoBucket' must be/);
    expect(() => checkDistinctBuckets([prod, { ...staging, objectStorage: { ...PROD_S3, lokiBucket: 'sl', tempoBucket: 'st' } }])).not.toThrow();
  });

  test('the same bucket name at another endpoint is another bucket', () => {
    expect(() => checkDistinctBuckets([prod, { ...staging, objectStorage: { ...PROD_S3, endpoint: 'minio.staging:9000' } }])).not.toThrow();
  });

  test('Cloud Storage bucket names are global; Azure containers are the account\'s', () => {
    expect(() => checkDistinctBuckets([{ ...prod, objectStorage: GCS_GKE }, { ...staging, objectStorage: { ...GCS_GKE, tempoBucket: 'gke-staging-tempo' } }]))
      .toThrow(new ConfigError('environments', ['"staging"\'s \'objectStorage.lokiBucket\' must be a bucket of its own (each compactor applies '
        + 'its own retention to the whole bucket), got "gke-loki", which is "prod"\'s \'objectStorage.lokiBucket\' too']));
    const onAzure = { ...prod, objectStorage: AZURE_WI };
    expect(() => checkDistinctBuckets([onAzure, { ...staging, objectStorage: AZURE_WI }])).toThrow(/lokiBucket' must be/);
    const otherAccount = { ...AZURE_WI, accountName: 'obscanarystaging' };
    expect(() => checkDistinctBuckets([{ ...prod, objectStorage: AZURE_WI }, { ...staging, objectStorage: otherAccount }])).not.toThrow();
  });
});
