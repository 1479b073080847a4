import { Duration, Size } from 'cdk8s';
import { ConfigError } from './checks';
import { KUBE_DNS } from './egress';
import { EnvironmentConfig, EnvironmentName, validateEnvironment } from './environment';
import { defineEnvironments } from './registry';

/**
 * The environments this repository deploys: the one list of them. Edit these to fit your clusters; `npm run synth`
 * validates each and renders it into `dist/<name>/`, from the rollout state in `rollout/<name>/`.
 *
 * To add one, add an entry under its name (with the same `name`) and write its rollout state with `canary init --env
 * <name>` per service (not a copy of another environment's files: they carry its pods and canaries in flight). An
 * entry may start from another environment and name only what differs, e.g.
 * `staging: { name: 'staging', extends: 'prod', clusterName: 'staging', loki: { replicas: 1 } }` (with buckets and addresses of its own): objects are
 * merged field by field, scalars, arrays, `Duration` and `Size` replaced, and the result is validated as a whole.
 *
 * - `local`: one node (kind, minikube, k3d): single replicas, data on PersistentVolumes, small requests; the API
 *   server may be anywhere (`allowWideCidrs`), since a local cluster's address is not known in advance.
 * - `prod`: replicas where a component really runs more than one (with PodDisruptionBudgets and topology spread),
 *   S3-compatible object storage with credentials from Secrets, larger volumes and longer retention; every external
 *   dependency named with its own addresses, object storage through the corporate proxy. The addresses are
 *   placeholders (RFC 1918): put your control plane's, database's and proxy's.
 * - `central`: prod's settings in a central topology: one observability cluster and two application clusters
 *   (`apps-eu`, `apps-us`) that ship to it through an authenticated gateway; an example to copy, with placeholder
 *   addresses.
 */
export const ENVIRONMENTS: Readonly<Record<EnvironmentName, EnvironmentConfig>> = defineEnvironments({
  local: {
    name: 'local',
    clusterName: 'local',
    prometheus: {
      retention: Duration.days(3),
      volumeSize: Size.gibibytes(5),
      scrapeInterval: Duration.seconds(15),
      resources: { cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1) },
    },
    alerting: {
      replicas: 1,
      // the URL of a webhook (a chat bridge, a test endpoint) in a Secret the cluster's admin creates
      receivers: [{ name: 'webhook', kind: 'webhook', secret: { name: 'alertmanager-receivers', key: 'webhook-url' } }],
      resources: { cpuRequestMillis: 20, cpuLimitMillis: 200, memoryRequest: Size.mebibytes(32), memoryLimit: Size.mebibytes(128) },
    },
    grafana: {
      replicas: 1,
      adminSecretName: 'grafana-admin',
      resources: { cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512) },
    },
    loki: {
      replicas: 1,
      retention: Duration.days(3),
      volumeSize: Size.gibibytes(5),
      resources: { cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1) },
    },
    tempo: {
      retention: Duration.days(3),
      volumeSize: Size.gibibytes(5),
      resources: { cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1) },
    },
    collector: {
      replicas: 1,
      samplingPercent: 100,
      resources: { cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512) },
    },
    promtail: {
      resources: { cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(256) },
    },
    // Promtail, as the project started (end of life: see the README to switch to Alloy)
    logs: { shipper: 'promtail' },
    alloy: {
      resources: { cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(96), memoryLimit: Size.mebibytes(384) },
    },
    kiali: {
      auth: 'anonymous',
      resources: { cpuRequestMillis: 20, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(256) },
    },
    egress: {
      // kind, minikube and k3d put the API server on an address of their own choosing
      allowWideCidrs: true,
      dns: KUBE_DNS,
      dependencies: {
        kubernetesApi: { cidrs: ['0.0.0.0/0'], ports: [{ port: 443 }, { port: 6443 }] },
        // the node's InternalIP, wherever the local cluster put it
        kubelet: { cidrs: ['0.0.0.0/0'], ports: [{ port: 10250 }] },
        // wherever the webhook of alerting.receivers is
        alertReceivers: { cidrs: ['0.0.0.0/0'], ports: [{ port: 443 }, { port: 80 }] },
        // the host of gitops.repoURL, which the canary-gate CronJob clones and pushes to: HTTPS, or SSH for an ssh:// URL
        gitHost: { cidrs: ['0.0.0.0/0'], ports: [{ port: 443 }, { port: 22 }] },
      },
    },
    apps: {
      istiod: { namespace: 'istio-system' },
      ingressGateway: { namespace: 'istio-system', selector: { istio: 'ingressgateway' }, serviceAccount: 'istio-ingressgateway-service-account' },
      // a local cluster is reached from the machine it runs on, through loopback or Docker's or the VM's private
      // network: smoke tests there may pin (`SMOKE_CANARY=1`)
      canaryPinSources: ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
      stableReplicas: 1,
      traceSamplingRatio: 1,
      meshSamplingPercent: 100,
      resources: { cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(96), memoryLimit: Size.mebibytes(256) },
    },
    gitops: { repoURL: 'https://github.com/example/obs-canary.git', targetRevision: 'main', argocdNamespace: 'argocd' },
    delivery: {
      loop: 'cluster',
      intervalMinutes: 2,
      // a token with contents: write on gitops.repoURL, in a Secret the cluster's admin creates
      gitCredentials: { name: 'canary-gate-git', key: 'token' },
      allowedRegistries: [],
      requireDigest: false,
    },
  },
  prod: {
    name: 'prod',
    clusterName: 'prod',
    objectStorage: {
      endpoint: 's3.eu-west-1.amazonaws.com',
      region: 'eu-west-1',
      insecure: false,
      forcePathStyle: false,
      credentials: {
        kind: 'secret',
        accessKeyId: { name: 'observability-object-storage', key: 'access-key-id' },
        secretAccessKey: { name: 'observability-object-storage', key: 'secret-access-key' },
      },
      lokiBucket: 'obs-canary-loki',
      tempoBucket: 'obs-canary-tempo',
    },
    prometheus: {
      retention: Duration.days(15),
      volumeSize: Size.gibibytes(50),
      scrapeInterval: Duration.seconds(30),
      resources: { cpuRequestMillis: 500, cpuLimitMillis: 2000, memoryRequest: Size.gibibytes(2), memoryLimit: Size.gibibytes(4) },
    },
    alerting: {
      replicas: 2,
      volumeSize: Size.gibibytes(1),
      receivers: [
        { name: 'pagerduty', kind: 'pagerduty', secret: { name: 'alertmanager-receivers', key: 'pagerduty-routing-key' }, severities: ['page'] },
        { name: 'slack', kind: 'slack', secret: { name: 'alertmanager-receivers', key: 'slack-webhook-url' }, severities: ['ticket'] },
      ],
      // a dead man's switch outside the cluster: it raises the alarm when the pings stop
      heartbeat: { secret: { name: 'alertmanager-receivers', key: 'heartbeat-url' } },
      resources: { cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(256) },
    },
    grafana: {
      replicas: 2,
      adminSecretName: 'grafana-admin',
      databaseUrl: { name: 'grafana-database', key: 'url' },
      // https: Grafana's links use it, and its session cookie is Secure
      rootUrl: 'https://grafana.example.com',
      resources: { cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1) },
    },
    loki: {
      replicas: 3,
      retention: Duration.days(31),
      volumeSize: Size.gibibytes(20),
      resources: { cpuRequestMillis: 500, cpuLimitMillis: 2000, memoryRequest: Size.gibibytes(1), memoryLimit: Size.gibibytes(4) },
    },
    tempo: {
      retention: Duration.days(14),
      volumeSize: Size.gibibytes(20),
      resources: { cpuRequestMillis: 500, cpuLimitMillis: 2000, memoryRequest: Size.gibibytes(1), memoryLimit: Size.gibibytes(4) },
    },
    collector: {
      replicas: 2,
      samplingPercent: 100,
      resources: { cpuRequestMillis: 200, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(512), memoryLimit: Size.gibibytes(1) },
    },
    promtail: {
      resources: { cpuRequestMillis: 100, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512) },
    },
    logs: { shipper: 'alloy' },
    alloy: {
      resources: { cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.mebibytes(768) },
    },
    kiali: {
      auth: 'token',
      rootUrl: 'https://kiali.example.com',
      resources: { cpuRequestMillis: 50, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512) },
    },
    egress: {
      dns: KUBE_DNS,
      // the VPC's pod subnets and the Service CIDR: kept off the proxy
      clusterCidrs: ['10.0.0.0/16', '172.20.0.0/16'],
      proxies: {
        corporate: { url: 'http://proxy.corp.example:3128', cidrs: ['10.100.0.10/32', '10.100.0.11/32'] },
      },
      dependencies: {
        // the control plane's endpoint addresses in the VPC
        kubernetesApi: { cidrs: ['10.0.255.0/28'], ports: [{ port: 443 }] },
        // the nodes' kubelets: with the AWS VPC CNI, nodes and pods share the VPC's subnets, so the nodes' InternalIPs are
        // in the pod range of clusterCidrs; narrow this to the node subnets where they are separate
        kubelet: { cidrs: ['10.0.0.0/16'], ports: [{ port: 10250 }] },
        // the PostgreSQL instances (primary and standby) of grafana.databaseUrl
        grafanaDatabase: { cidrs: ['10.0.128.0/27'], ports: [{ port: 5432 }] },
        objectStorage: { via: 'corporate' },
        // PagerDuty's Events API and Slack's webhooks, on the internet
        alertReceivers: { via: 'corporate' },
        // GitHub (gitops.repoURL is https) and the Slack webhook of delivery.webhook, for the canary-gate CronJob
        gitHost: { via: 'corporate' },
        notificationWebhook: { via: 'corporate' },
      },
    },
    apps: {
      istiod: { namespace: 'istio-system' },
      ingressGateway: { namespace: 'istio-system', selector: { istio: 'ingressgateway' }, serviceAccount: 'istio-ingressgateway-service-account' },
      // the pin works inside the mesh only; add the addresses of the runners of smoke tests through the edge here
      canaryPinSources: [],
      stableReplicas: 2,
      traceSamplingRatio: 0.1,
      meshSamplingPercent: 10,
      resources: { cpuRequestMillis: 200, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(192), memoryLimit: Size.mebibytes(512) },
    },
    gitops: { repoURL: 'https://github.com/example/obs-canary.git', targetRevision: 'main', argocdNamespace: 'argocd' },
    delivery: {
      loop: 'cluster',
      intervalMinutes: 1,
      gitCredentials: { name: 'canary-gate-git', key: 'token' },
      webhook: { name: 'canary-gate-notifications', key: 'webhook-url' },
      // the images workflow pushes here; a release from anywhere else is refused
      allowedRegistries: ['ghcr.io/example/'],
      requireDigest: true,
    },
  },
  central: {
    name: 'central',
    extends: 'prod',
    clusterName: 'observability',
    objectStorage: { lokiBucket: 'obs-canary-central-loki', tempoBucket: 'obs-canary-central-tempo' },
    // addresses of its own: prod's would send its links and redirects to prod's Grafana and Kiali
    grafana: { rootUrl: 'https://grafana.observability.example.com' },
    kiali: { rootUrl: 'https://kiali.observability.example.com' },
    // the services run in the application clusters, beyond a gate in this cluster's mesh, and the demo gateway has
    // smoke checks: promote.yml gates them, its runners reaching the pin through each cluster's edge
    delivery: { loop: 'github' },
    // the egress range of those runners (an example range: put yours; GitHub-hosted runners have no fixed addresses,
    // self-hosted ones or larger runners with static egress do)
    apps: { canaryPinSources: ['203.0.113.0/24'] },
    egress: { dependencies: { gitHost: null, notificationWebhook: null } },
    // the central store: every cluster's Prometheus writes here; Grafana, Kiali, the gate and the rules read it
    mimir: {
      replicas: 3,
      retention: Duration.days(31),
      volumeSize: Size.gibibytes(50),
      tenant: 'obs-canary',
      bucket: 'obs-canary-central-mimir',
      // every replica holds every series (replication factor 3 on 3 replicas): 4 GiB ÷ ~8 KB ≈ 500k, planned 300k to
      // leave room for queries and the ruler; 300k series every 30 s is 10k samples/s, 50k leaves room for bursts
      maxSeries: 300_000,
      ingestionRate: 50_000,
      resources: { cpuRequestMillis: 500, cpuLimitMillis: 2000, memoryRequest: Size.gibibytes(2), memoryLimit: Size.gibibytes(4) },
    },
    topology: {
      kind: 'central',
      appClusters: [
        {
          name: 'apps-eu',
          server: 'https://apps-eu.k8s.example.com',
          // placeholders (RFC 1918): the cluster's control plane, and the load balancer of the observability cluster's gateway
          egress: { kubernetesApi: { cidrs: ['10.1.255.0/28'], ports: [{ port: 443 }] }, gateway: { cidrs: ['10.200.0.0/28'], ports: [{ port: 443 }] } },
        },
        {
          name: 'apps-us',
          server: 'https://apps-us.k8s.example.com',
          egress: { kubernetesApi: { cidrs: ['10.2.255.0/28'], ports: [{ port: 443 }] }, gateway: { cidrs: ['10.200.0.0/28'], ports: [{ port: 443 }] } },
        },
      ],
      gateway: {
        host: 'telemetry.example.com',
        credentialName: 'telemetry-gateway-tls',
        token: { name: 'telemetry-gateway-token', key: 'token' },
        clientCertificateSecret: 'telemetry-client-tls',
        clientToken: { name: 'telemetry-gateway-token', key: 'token' },
      },
    },
  },
});

/** The names of {@link ENVIRONMENTS}, in the order `npm run synth` renders them. */
export const ENVIRONMENT_NAMES: readonly EnvironmentName[] = Object.keys(ENVIRONMENTS);

/**
 * Looks up an environment by name, resolves what it extends and validates the result.
 *
 * @param name the environment, usually from `DEPLOY_ENV`
 * @param environments where to look it up (tests pass their own)
 * @throws {@link ConfigError} naming the environment, each invalid field, the value and what is allowed
 */
export function loadEnvironment(name: string,
  environments: Readonly<Record<string, EnvironmentConfig>> = ENVIRONMENTS): EnvironmentConfig {
  if (!Object.hasOwn(environments, name)) {
    throw new ConfigError('environment name', [
      `'DEPLOY_ENV' must be one of ${Object.keys(environments).map(n => JSON.stringify(n)).join(', ')}, got ${JSON.stringify(name)}`,
    ]);
  }
  return validateEnvironment(environments[name]);
}
