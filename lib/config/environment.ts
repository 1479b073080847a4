import { Duration, Size } from 'cdk8s';
import {
  AzureWorkloadIdentity, ContainerResources, GkeWorkloadIdentity, ObjectStorage, ObjectStorageBuckets, ObjectStorageCredentials, S3Credentials,
  S3ObjectStorage, SecretKeyRef, WorkloadIdentityCredentials,
} from '../constructs/types';
import { AlertReceiver, DEFAULT_RECEIVER, HEARTBEAT, severitiesOf } from '../constructs/alertmanager-config';
import { RING_REPLICAS } from '../constructs/private/ring-stateful-set';
import { show } from '../errors';
import { parseDuration } from '../rollout/duration';
import { SLO_RATE_WINDOW } from '../slo/recording-rules';
import { SCRAPES_PER_WINDOW } from '../slo/vocabulary';
import { Checks, ConfigError } from './checks';
import { DirectEgress, EgressSettings } from './egress';
import { WIDEST_PREFIX, checkEgress, checkLabelMap, objectStorageEndpoint } from './egress-checks';
import ENVIRONMENT_SHAPE from './generated/environment-shape.json';
import { CREDENTIAL_HEADER, DNS_LABEL } from '../private/names';
import { Shape, shapeProblems } from '../private/shape';
import { httpUrlHasCredentials, withoutCredentials } from '../private/urls';

/** The name of an environment: its key in `ENVIRONMENTS`, a directory under `dist/` and `rollout/`. */
export type EnvironmentName = string;

/** Which DaemonSet ships the pods' logs to Loki. */
export type LogShipper = 'alloy' | 'promtail';

/** Log shipping of an environment. */
export interface LogsSettings {
  /**
   * `alloy`: Grafana Alloy, which reads the pods' logs through the Kubernetes API (no host access: the namespace can
   * enforce Pod Security `restricted`); `promtail`: Promtail, end of life, which reads them from the node's disk.
   */
  readonly shipper: LogShipper;
}

/** Grafana Alloy, when it is the log shipper. */
export interface AlloySettings {
  readonly resources: ContainerResources;
}

/** How people sign in to Kiali. */
export type KialiAuth = 'anonymous' | 'token';

/** Kiali, the mesh's traffic graph, in the observability namespace. */
export interface KialiSettings {
  /**
   * `anonymous`: no sign-in (a local cluster, or behind an authenticating proxy); `token`: a Kubernetes token of the
   * viewer (its RBAC decides what they see).
   */
  readonly auth: KialiAuth;
  /**
   * The URL people open Kiali at, for its links.
   * @default - none (port-forward)
   */
  readonly rootUrl?: string;
  readonly resources: ContainerResources;
}

/** Prometheus settings of an environment. */
export interface PrometheusSettings {
  /** How long samples are kept. */
  readonly retention: Duration;
  /** Size of the data volume; retention by size is set to 85 % of it so the volume never fills. */
  readonly volumeSize: Size;
  /** Default scrape and rule-evaluation interval. */
  readonly scrapeInterval: Duration;
  readonly resources: ContainerResources;
}

/** Alertmanager settings of an environment. */
export interface AlertingSettings {
  /** Replicas; more than one form a gossip cluster, so that each notification goes out once. */
  readonly replicas: number;
  /** A PersistentVolume of this size for silences and the notification log; unset keeps them on an emptyDir. */
  readonly volumeSize?: Size;
  /**
   * Where alerts go: `{ name, kind: 'webhook' | 'slack' | 'pagerduty', secret: { name, key }, severities? }`, the URL
   * (webhook, Slack) or Events v2 routing key (PagerDuty) in the Secret key. Without `severities`, PagerDuty gets pages,
   * Slack tickets and a webhook both.
   */
  readonly receivers: readonly AlertReceiver[];
  /**
   * A dead man's switch: the Secret key holding the webhook URL of a heartbeat service outside the cluster
   * (healthchecks.io, Dead Man's Snitch, …), pinged by an always-firing alert every `interval` (1m to 1h, unset: 5m),
   * which raises the alarm when the pings stop (rules not evaluated, Alertmanager down, notifications not leaving).
   */
  readonly heartbeat?: { readonly secret: SecretKeyRef; readonly interval?: Duration };
  /** How long a new alert group waits for more alerts before its first notification; unset: 30s. */
  readonly groupWait?: Duration;
  /** How long a group waits before notifying about alerts added to it; unset: 5m. */
  readonly groupInterval?: Duration;
  /** How long before a notification is repeated while its alerts still fire; unset: 4h. */
  readonly repeatInterval?: Duration;
  readonly resources: ContainerResources;
}

/** Grafana settings of an environment. */
export interface GrafanaSettings {
  /** Replicas; more than one needs `databaseUrl`, because each replica would otherwise keep its own SQLite database. */
  readonly replicas: number;
  /** Secret holding `admin-user`, `admin-password` and `secret-key`. */
  readonly adminSecretName: string;
  /** A shared database (`postgres://…` or `mysql://…`) for more than one replica. */
  readonly databaseUrl?: SecretKeyRef;
  /** Public URL of Grafana, used in links Grafana generates. */
  readonly rootUrl?: string;
  readonly resources: ContainerResources;
}

/** Loki settings of an environment. */
export interface LokiSettings {
  /** Replicas of the monolithic binary; more than one needs `objectStorage`. */
  readonly replicas: number;
  /** How long logs are kept (whole hours, at least 24h). */
  readonly retention: Duration;
  /** Volume of each replica. */
  readonly volumeSize: Size;
  readonly resources: ContainerResources;
}

/**
 * Grafana Mimir as the environment's metrics store: every Prometheus of the environment remote-writes to it, and
 * Grafana, Kiali, the canary gate and the rules (its ruler) read it. The environment's own Prometheus then runs as an
 * agent.
 */
export interface MimirSettings {
  /** Replicas of the monolithic binary on one memberlist ring: 1, or 3 and more with `objectStorage` (replication factor 3). */
  readonly replicas: number;
  /** How long blocks are kept (whole hours, at least 24h). */
  readonly retention: Duration;
  /** Volume of each replica (write-ahead log, blocks not yet uploaded, caches). */
  readonly volumeSize: Size;
  /** The tenant every writer and reader names in `X-Scope-OrgID`. */
  readonly tenant: string;
  /** The bucket (Azure: container) of Mimir's blocks, of its own: with `objectStorage`. */
  readonly bucket?: string;
  /**
   * Active series of every cluster together: each replica holding them needs ~8 KB of memory per series.
   * @default 150_000 (Mimir's own)
   */
  readonly maxSeries?: number;
  /**
   * Samples per second of every cluster together.
   * @default 10_000 (Mimir's own)
   */
  readonly ingestionRate?: number;
  readonly resources: ContainerResources;
}

/** Tempo settings of an environment. */
export interface TempoSettings {
  /** How long traces are kept (whole hours). */
  readonly retention: Duration;
  /** Volume for the WAL (and blocks, without object storage). */
  readonly volumeSize: Size;
  readonly resources: ContainerResources;
}

/** OpenTelemetry Collector settings of an environment. */
export interface CollectorSettings {
  readonly replicas: number;
  /** Share of traces the Collector keeps, in percent; the services already sample at the head. */
  readonly samplingPercent: number;
  readonly resources: ContainerResources;
}

/** Promtail settings of an environment. */
export interface PromtailSettings {
  readonly resources: ContainerResources;
}

/** The Istio ingress gateway that serves the services whose files have `expose`. */
export interface IngressGatewaySettings {
  /** Namespace of the ingress gateway's pods (`istio-system` for a default install). */
  readonly namespace: string;
  /** Labels of the ingress gateway's pods, which the Istio Gateway selects. */
  readonly selector: Readonly<Record<string, string>>;
  /** Its ServiceAccount: the identity the AuthorizationPolicy admits. */
  readonly serviceAccount: string;
}

/** Istio's control plane, which every proxy connects to and Prometheus and Kiali read. */
export interface IstiodSettings {
  /** The namespace istiod runs in (`istio-system` for a default install; the project does not own it). */
  readonly namespace: string;
}

/** Settings of every namespace of services; a service file may override replicas and resources per environment. */
export interface AppsSettings {
  readonly istiod: IstiodSettings;
  readonly ingressGateway: IngressGatewaySettings;
  /**
   * Outside addresses (IPv4 CIDR blocks, /8 or narrower) that may pin requests to a canary through the ingress gateway
   * (`x-canary: always`), such as the runners of smoke tests; every other pinned request from outside is refused
   * (403). Empty: the pin works inside the mesh only, and the ingress gateway drops the header of a pinned request.
   */
  readonly canaryPinSources: readonly string[];
  /** Replicas of each stable Deployment; a canary runs the share of them its weight asks for, at least one. */
  readonly stableReplicas: number;
  /** Head sampling ratio of the services' own tracing (parent-based), from 0 to 1. */
  readonly traceSamplingRatio: number;
  /** Share of requests the Istio sidecars trace, in percent. */
  readonly meshSamplingPercent: number;
  /** CPU and memory of each service container. */
  readonly resources: ContainerResources;
}

/** Where Argo CD finds this repository. */
export interface GitOpsSettings {
  /** The URL Argo CD clones. */
  readonly repoURL: string;
  /** Branch, tag or commit Argo CD follows. */
  readonly targetRevision: string;
  /** Namespace Argo CD runs in. */
  readonly argocdNamespace: string;
}

/** Where the SLO gate's loop runs: in the cluster as a CronJob, or on GitHub's schedule (promote.yml). */
export type GateLoop = 'cluster' | 'github';

/** How the gate authenticates to Prometheus: every value from a Secret, none in the manifests. */
export interface PrometheusAuth {
  /** A bearer token (`PROMETHEUS_TOKEN`). */
  readonly token?: SecretKeyRef;
  /** Basic auth (`PROMETHEUS_USERNAME` and `PROMETHEUS_PASSWORD`): both or neither. */
  readonly basicAuth?: { readonly username: SecretKeyRef; readonly password: SecretKeyRef };
  /**
   * Extra headers sent with every query (`PROMETHEUS_HEADERS`), such as a tenant's `X-Scope-OrgID`: names and values
   * that are no secrets.
   * @default - none
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** How releases of an environment are made and gated: the gate's loop, its credentials, what may be released. */
export interface DeliverySettings {
  /**
   * Where `canary advance --all` runs on a schedule. `cluster`: a CronJob in the observability namespace (every
   * `intervalMinutes`), pushing its decisions to `gitops.repoURL`; `github`: promote.yml's schedule only.
   */
  readonly loop: GateLoop;
  /** Minutes between two ticks of the in-cluster loop: 1 or 2. */
  readonly intervalMinutes: number;
  /**
   * The Secret key holding the credential the CronJob pushes with: an HTTPS token for an `https://` repoURL (a
   * GitHub App installation or fine-grained token with contents: write), an SSH private key for `ssh://` or `git@`.
   */
  readonly gitCredentials: SecretKeyRef;
  /** The gate's credentials for Prometheus, when it asks for any. */
  readonly prometheusAuth?: PrometheusAuth;
  /**
   * A Slack-compatible incoming webhook (its URL in a Secret) that gets one message per decision: start, each step,
   * the last hold before a roll back, promotion and roll back.
   * @default - no notifications
   */
  readonly webhook?: SecretKeyRef;
  /**
   * Image repositories releases may come from, as prefixes (`ghcr.io/example/`); `canary start` refuses others.
   * Empty: any.
   */
  readonly allowedRegistries: readonly string[];
  /** Whether `canary start` accepts only images pinned by digest (`…@sha256:…`). */
  readonly requireDigest: boolean;
}

/** Egress of an application cluster's agents: where its API server is, and the observability cluster's gateway. */
export interface AppClusterEgress {
  /** The cluster's API server (the agents discover pods and objects through it). */
  readonly kubernetesApi: DirectEgress;
  /** The addresses of `topology.gateway.host` (its load balancer) and port 443. */
  readonly gateway: DirectEgress;
}

/** One application cluster of a central topology. */
export interface AppClusterSettings {
  /**
   * A DNS label: the `cluster` label of its telemetry (and `k8s.cluster.name`), its directory
   * `dist/<env>/clusters/<name>/` and part of its Argo CD Applications' names.
   */
  readonly name: string;
  /**
   * The cluster's API server URL as the central Argo CD knows it: the destination of its Applications. The cluster
   * Secret that registers it in Argo CD (its credentials) is the operator's and never in `dist/`.
   */
  readonly server: string;
  /** What leaves this cluster's observability namespace: its API server and the gateway, nothing else. */
  readonly egress: AppClusterEgress;
}

/**
 * Where the telemetry gateway's host is served: on the cluster's Istio ingress gateway (`apps.ingressGateway`), or on a
 * gateway of its own in `observability` behind a LoadBalancer Service (istiod's gateway injection).
 */
export type TelemetryExposure =
  | { readonly kind: 'ingressGateway' }
  | {
    readonly kind: 'loadBalancer';
    /** Replicas of the gateway: 1 to 20. @default 2 */
    readonly replicas?: number;
    /** Annotations of the LoadBalancer Service (an internal load balancer, its type). @default - none */
    readonly serviceAnnotations?: Readonly<Record<string, string>>;
    /** The addresses it admits (`loadBalancerSourceRanges`): the app clusters' egress. @default - any */
    readonly sourceRanges?: readonly string[];
  };

/**
 * How application clusters reach the observability cluster: one host on an Istio gateway of the observability cluster
 * (`exposure`) with mutual TLS, which authenticates every sender by its client certificate before
 * anything reaches a component; OTLP also needs a bearer token, checked by the gateway Collector itself.
 */
export interface TelemetryGatewaySettings {
  /** The host name the app clusters send to (the gateway certificate's name). */
  readonly host: string;
  /**
   * Where the host is served.
   * @default { kind: 'ingressGateway' }
   */
  readonly exposure?: TelemetryExposure;
  /**
   * A Secret in the gateway's namespace of the observability cluster (the ingress gateway's; `observability` with
   * `exposure` "loadBalancer") with `tls.crt` and `tls.key` (the gateway certificate for `host`) and `ca.crt` (the CA
   * that signs the app clusters' client certificates): Istio's `credentialName`.
   */
  readonly credentialName: string;
  /** The Secret key (in `observability` of the observability cluster) holding the bearer token the gateway Collector accepts. */
  readonly token: SecretKeyRef;
  /**
   * A Secret in `observability` of each app cluster with `ca.crt` (the CA of the gateway certificate), `tls.crt` and
   * `tls.key` (that cluster's client certificate).
   */
  readonly clientCertificateSecret: string;
  /** The Secret key in `observability` of each app cluster holding the bearer token its agent sends. */
  readonly clientToken: SecretKeyRef;
}

/**
 * A central topology: one observability cluster (`dist/<env>/observability/`, with Argo CD's charts) that application
 * clusters (`dist/<env>/clusters/<name>/`) ship their traces, logs and metrics to, through an authenticated gateway.
 * Every app cluster runs the same stable and canary of each service; the gate judges each cluster on its own numbers.
 */
export interface CentralTopology {
  readonly kind: 'central';
  /**
   * The observability cluster's API server as Argo CD knows it.
   * @default - the cluster Argo CD runs in
   */
  readonly observabilityServer?: string;
  readonly appClusters: readonly AppClusterSettings[];
  readonly gateway: TelemetryGatewaySettings;
}

/**
 * Everything that differs between environments. Charts translate it into construct props; constructs never read it.
 */
export interface EnvironmentConfig {
  readonly name: EnvironmentName;
  /** Name of the cluster, attached to metrics as the `cluster` external label. */
  readonly clusterName: string;
  /** StorageClass for every PersistentVolumeClaim; unset uses the cluster's default class. */
  readonly storageClassName?: string;
  /**
   * Object storage for Loki and Tempo: S3-compatible (`kind` `s3`, the default), Google Cloud Storage (`gcs`) or Azure
   * Blob Storage (`azure`). Unset keeps their data on a PersistentVolume (single replica).
   */
  readonly objectStorage?: ObjectStorage;
  readonly prometheus: PrometheusSettings;
  /** Alertmanager: routing, receivers and inhibitions of the alerts Prometheus evaluates. */
  readonly alerting: AlertingSettings;
  readonly grafana: GrafanaSettings;
  readonly loki: LokiSettings;
  readonly tempo: TempoSettings;
  /**
   * Grafana Mimir as the metrics store.
   * @default - the environment's Prometheus is the store
   */
  readonly mimir?: MimirSettings;
  readonly collector: CollectorSettings;
  readonly promtail: PromtailSettings;
  /** Which DaemonSet ships logs. */
  readonly logs: LogsSettings;
  /** Grafana Alloy's settings, used when `logs.shipper` is `alloy`. */
  readonly alloy: AlloySettings;
  /** Kiali: the mesh's traffic graph. */
  readonly kiali: KialiSettings;
  /** DNS, proxies and how each external dependency is reached: the only traffic that leaves the cluster. */
  readonly egress: EgressSettings;
  readonly apps: AppsSettings;
  readonly gitops: GitOpsSettings;
  /** The SLO gate's loop and what releases may be. */
  readonly delivery: DeliverySettings;
  /**
   * Where the services run: unset, in this one cluster with the observability stack; `central`, in application
   * clusters that ship to this environment's observability cluster.
   * @default - one cluster
   */
  readonly topology?: CentralTopology;
}

/**
 * Checks every field of an environment and throws a {@link ConfigError} that lists each invalid field, the value
 * found and what is allowed.
 */
export function validateEnvironment(env: EnvironmentConfig): EnvironmentConfig {
  // what the type checker would say, for synth bundles without it: a misspelt field, a missing one, '15d' for a Duration
  const misshapen = shapeProblems(env, ENVIRONMENT_SHAPE as Shape, '', { unknownHint: SHAPE_HINT });
  const c = new Checks();
  try {
    checkFields(c, env);
  } catch (error) {
    // the checks read every field as typed: a value of another kind stops them (a TypeError), and the shape names it
    if (!(error instanceof TypeError) || misshapen.length === 0) throw error;
  }
  // a value of another kind is said best by the shape ('must be a number, got "1"'); anything else by the checks,
  // which know what each field means
  const wrongKind = new Set(misshapen.filter(p => p.problem === 'kind').map(p => p.field));
  const checked = c.errors.filter(p => !wrongKind.has(fieldOf(p)));
  const named = new Set(checked.map(fieldOf));
  const problems = [...checked, ...misshapen.filter(p => p.problem === 'kind' || !named.has(p.field)).map(p => p.message)];
  if (problems.length > 0) throw new ConfigError(`environment ${show(env.name)}`, problems);
  return env;
}

/** What to do about a field the generated shape does not know, when the type does. */
const SHAPE_HINT = 'a field just added to EnvironmentConfig is known once `npm run schemas` has run';

/** The field a problem names: its leading quoted path. */
function fieldOf(problem: string): string {
  return /^'([^']*)'/.exec(problem)?.[1] ?? problem;
}

function checkFields(c: Checks, env: EnvironmentConfig): void {
  c.dnsLabel('name', env.name);
  c.dnsLabel('clusterName', env.clusterName);
  if (env.storageClassName !== undefined) c.dnsSubdomain('storageClassName', env.storageClassName);
  if (env.objectStorage) checkObjectStorage(c, env.objectStorage);

  c.duration('prometheus.retention', env.prometheus.retention, Duration.hours(2), Duration.days(3650));
  c.size('prometheus.volumeSize', env.prometheus.volumeSize, Size.gibibytes(1), Size.tebibytes(16));
  // the SLO rules and pipeline alerts rate over 5m: a longer interval leaves them too few samples, and them silent
  c.duration('prometheus.scrapeInterval', env.prometheus.scrapeInterval, Duration.seconds(1),
    Duration.millis(parseDuration(SLO_RATE_WINDOW) / SCRAPES_PER_WINDOW));
  checkResources(c, 'prometheus.resources', env.prometheus.resources);

  checkAlerting(c, env.alerting);

  c.integer('grafana.replicas', env.grafana.replicas, 1, 10);
  c.expect(env.grafana.replicas === 1 || env.grafana.databaseUrl !== undefined, 'grafana.replicas', env.grafana.replicas,
    '1 unless \'grafana.databaseUrl\' names a shared database (each replica would keep its own SQLite database)');
  c.dnsSubdomain('grafana.adminSecretName', env.grafana.adminSecretName);
  if (env.grafana.databaseUrl) checkSecretRef(c, 'grafana.databaseUrl', env.grafana.databaseUrl);
  if (env.grafana.rootUrl !== undefined) c.url('grafana.rootUrl', env.grafana.rootUrl);
  checkResources(c, 'grafana.resources', env.grafana.resources);

  c.expect(RING_REPLICAS.accepts(env.loki.replicas), 'loki.replicas', env.loki.replicas, RING_REPLICAS.allowed);
  c.expect(env.loki.replicas === 1 || env.objectStorage !== undefined, 'loki.replicas', env.loki.replicas,
    '1 unless \'objectStorage\' is set (replicas cannot share a filesystem)');
  c.wholeHours('loki.retention', env.loki.retention);
  c.duration('loki.retention', env.loki.retention, Duration.hours(24), Duration.days(3650));
  c.size('loki.volumeSize', env.loki.volumeSize, Size.gibibytes(1), Size.tebibytes(16));
  checkResources(c, 'loki.resources', env.loki.resources);

  c.wholeHours('tempo.retention', env.tempo.retention);
  c.duration('tempo.retention', env.tempo.retention, Duration.hours(1), Duration.days(3650));
  c.size('tempo.volumeSize', env.tempo.volumeSize, Size.gibibytes(1), Size.tebibytes(16));
  checkResources(c, 'tempo.resources', env.tempo.resources);

  if (env.mimir !== undefined) checkMimir(c, env);

  c.integer('collector.replicas', env.collector.replicas, 1, 20);
  c.expect(env.collector.samplingPercent > 0 && env.collector.samplingPercent <= 100, 'collector.samplingPercent',
    env.collector.samplingPercent, 'more than 0 and at most 100');
  checkResources(c, 'collector.resources', env.collector.resources);
  checkResources(c, 'promtail.resources', env.promtail.resources);
  c.oneOf('logs.shipper', env.logs.shipper, ['alloy', 'promtail']);
  checkResources(c, 'alloy.resources', env.alloy.resources);
  c.oneOf('kiali.auth', env.kiali.auth, ['anonymous', 'token']);
  if (env.kiali.rootUrl !== undefined) c.url('kiali.rootUrl', env.kiali.rootUrl);
  checkResources(c, 'kiali.resources', env.kiali.resources);

  checkEgress(c, env);

  // istiod's namespace was Kiali's setting once: an entry that still sets it there would leave every flow to istiod
  // pointing at the parent's namespace
  const moved = (env.kiali as { istioNamespace?: unknown }).istioNamespace;
  c.expect(moved === undefined, 'kiali.istioNamespace', moved, 'no value: istiod\'s namespace is apps.istiod.namespace');
  c.dnsLabel('apps.istiod.namespace', env.apps.istiod?.namespace);
  c.dnsLabel('apps.ingressGateway.namespace', env.apps.ingressGateway.namespace);
  c.expect(Object.keys(env.apps.ingressGateway.selector).length > 0, 'apps.ingressGateway.selector', env.apps.ingressGateway.selector,
    'at least one label');
  c.dnsSubdomain('apps.ingressGateway.serviceAccount', env.apps.ingressGateway.serviceAccount);
  checkPinSources(c, env.apps.canaryPinSources);
  c.integer('apps.stableReplicas', env.apps.stableReplicas, 1, 50);
  c.number('apps.traceSamplingRatio', env.apps.traceSamplingRatio, 0, 1);
  c.number('apps.meshSamplingPercent', env.apps.meshSamplingPercent, 0, 100);
  checkResources(c, 'apps.resources', env.apps.resources);

  c.expect(/^(https:\/\/|ssh:\/\/|git@)\S+$/.test(env.gitops.repoURL), 'gitops.repoURL', env.gitops.repoURL,
    'a git URL Argo CD can clone (https://…, ssh://… or git@…)');
  // the URL is in every Argo CD Application and the gate's CronJob: a token in it would be in dist/ and in git
  c.expect(!httpUrlHasCredentials(env.gitops.repoURL), 'gitops.repoURL', withoutCredentials(env.gitops.repoURL),
    'a URL without credentials (Argo CD takes its own from a repository Secret; the gate\'s token comes from \'delivery.gitCredentials\')');
  c.text('gitops.targetRevision', env.gitops.targetRevision);
  c.dnsLabel('gitops.argocdNamespace', env.gitops.argocdNamespace);
  checkDelivery(c, env.delivery, env.gitops);
  if (env.topology !== undefined) checkTopology(c, env);
}

/**
 * Checks what no single environment can: every object-storage bucket (Azure: container of an account) belongs to one
 * component of one environment.
 * Loki's and Tempo's compactors apply their own environment's retention to everything in their bucket, so a staging
 * that shared prod's bucket would delete prod's logs and traces after staging's retention.
 *
 * @throws {@link ConfigError} naming each bucket that is used twice and by whom
 */
export function checkDistinctBuckets(envs: readonly EnvironmentConfig[]): void {
  checkDistinct(envs.flatMap(env => {
    const storage = env.objectStorage;
    if (!storage) return [];
    const buckets = [
      ['objectStorage.lokiBucket', storage.lokiBucket], ['objectStorage.tempoBucket', storage.tempoBucket],
      ...(env.mimir?.bucket !== undefined ? [['mimir.bucket', env.mimir.bucket]] : []),
    ] as const;
    return buckets.map(([field, bucket]) => ({ env, field, value: bucket, key: `${objectStorageEndpoint(storage)}/${bucket}` }));
  }), 'a bucket of its own (each compactor applies its own retention to the whole bucket)');
}

/** One environment's use of something two environments must not share. */
interface Use {
  readonly env: EnvironmentConfig;
  readonly field: string;
  readonly value: string;
  /** What makes two uses the same (a bucket at its endpoint, an address whatever its case). */
  readonly key: string;
}

/**
 * Refuses a key that two uses share: the checks across environments ({@link checkDistinctBuckets},
 * {@link checkDistinctRootUrls}) say only what a use is and what it must be.
 *
 * @throws {@link ConfigError} naming each use of a key that an earlier use has, with both uses and `mustBe`
 */
function checkDistinct(uses: readonly Use[], mustBe: string): void {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const { env, field, value, key } of uses) {
    const user = `${JSON.stringify(env.name)}'s '${field}'`;
    const owner = owners.get(key);
    if (owner === undefined) owners.set(key, user);
    else problems.push(`${user} must be ${mustBe}, got ${JSON.stringify(value)}, which is ${owner} too`);
  }
  if (problems.length > 0) throw new ConfigError('environments', problems);
}

/**
 * What makes two addresses one: the URL as `new URL` normalizes it (scheme and host in lower case, the scheme's default
 * port left out), without a trailing slash; the path keeps its case.
 */
function addressKey(url: string): string {
  try {
    return new URL(url).href.replace(/\/+$/, '');
  } catch {
    // not a URL: validateEnvironment refuses it; compared as written meanwhile
    return url;
  }
}

/**
 * Checks what no single environment can: each environment's Grafana and Kiali have addresses of their own. An
 * environment that extends another inherits its `rootUrl`s, and Grafana's redirects and links, Kiali's links to Grafana
 * and the dashboards' links to Kiali would then lead into the other environment.
 *
 * @throws {@link ConfigError} naming each address that two environments use
 */
export function checkDistinctRootUrls(envs: readonly EnvironmentConfig[]): void {
  checkDistinct(envs.flatMap(env => ([['grafana.rootUrl', env.grafana.rootUrl], ['kiali.rootUrl', env.kiali.rootUrl]] as const)
    .flatMap(([field, url]) => (url === undefined ? [] : [{ env, field, value: url, key: addressKey(url) }]))),
  'an address of its own (links and redirects would lead into the other environment)');
}

/**
 * Every check across environments, which no single environment's validation can make: buckets
 * ({@link checkDistinctBuckets}) and addresses ({@link checkDistinctRootUrls}) of their own.
 *
 * @throws {@link ConfigError} naming what two environments share
 */
export function checkAcrossEnvironments(envs: readonly EnvironmentConfig[]): void {
  checkDistinctBuckets(envs);
  checkDistinctRootUrls(envs);
}

// the types are checked too: an environment that extends one without object storage (or without a Grafana database)
// may add it and leave fields out, which the type of an override allows
function checkObjectStorage(c: Checks, s: ObjectStorage): void {
  switch (s.kind) {
    case undefined:
    case 's3':
      checkS3Storage(c, s);
      break;
    case 'gcs':
      checkFieldsOf(c, s, 'gcs', [...S3_ONLY_FIELDS, 'accountName']);
      checkCloudIdentity(c, s.credentials, 'gke', 'Google Cloud Storage');
      if (s.credentials?.kind === 'workloadIdentity' && s.credentials.provider === 'gke') checkGkeIdentity(c, s.credentials);
      checkBuckets(c, s, /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, 'a Cloud Storage bucket name (3 to 63 lower-case letters, digits, "-", "_" and ".")');
      break;
    case 'azure':
      checkFieldsOf(c, s, 'azure', S3_ONLY_FIELDS);
      c.expect(typeof s.accountName === 'string' && /^[a-z0-9]{3,24}$/.test(s.accountName), 'objectStorage.accountName', s.accountName,
        'an Azure storage account name (3 to 24 lower-case letters and digits): the account whose containers hold Loki\'s and Tempo\'s data');
      checkCloudIdentity(c, s.credentials, 'azure', 'Azure Blob Storage');
      if (s.credentials?.kind === 'workloadIdentity' && s.credentials.provider === 'azure') checkAzureIdentity(c, s.credentials);
      checkBuckets(c, s, /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
        'an Azure container name (3 to 63 lower-case letters, digits and single "-", starting and ending with a letter or digit)');
      break;
    default:
      c.oneOf('objectStorage.kind', (s as { readonly kind: unknown }).kind, ['s3', 'gcs', 'azure']);
  }
}

/** The fields only an S3 store has. */
const S3_ONLY_FIELDS = ['endpoint', 'region', 'insecure', 'forcePathStyle'] as const;

/** Fields of another kind of storage must be left out: they would mean nothing to this kind's client. */
function checkFieldsOf(c: Checks, s: ObjectStorage, kind: string, foreign: readonly string[]): void {
  for (const field of foreign) {
    const value = (s as unknown as Record<string, unknown>)[field];
    c.expect(value === undefined, `objectStorage.${field}`, value, `left out with kind ${show(kind)}, which has no such setting`);
  }
}

function checkS3Storage(c: Checks, s: S3ObjectStorage): void {
  c.expect(typeof s.endpoint === 'string' && /^[a-z0-9.-]+(:\d{1,5})?$/i.test(s.endpoint), 'objectStorage.endpoint', s.endpoint,
    'host[:port] without a scheme (set \'objectStorage.insecure\' for plain HTTP)');
  c.text('objectStorage.region', s.region);
  for (const field of ['insecure', 'forcePathStyle'] as const) c.expect(typeof s[field] === 'boolean', `objectStorage.${field}`, s[field], 'true or false');
  checkFieldsOf(c, s, 's3', ['accountName']);
  checkCredentials(c, s, s.credentials);
  checkBuckets(c, s, /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3 to 63 lower-case letters, digits, "." and "-")');
}

function checkBuckets(c: Checks, s: ObjectStorageBuckets, name: RegExp, allowed: string): void {
  for (const field of ['lokiBucket', 'tempoBucket'] as const) {
    c.expect(typeof s[field] === 'string' && name.test(s[field]), `objectStorage.${field}`, s[field], allowed);
  }
}

/** IRSA's role annotation: the role an EKS webhook makes the pods assume. */
const IRSA_ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';
/** GKE Workload Identity's annotation: the IAM service account the Kubernetes ServiceAccount impersonates. */
const GKE_SERVICE_ACCOUNT_ANNOTATION = 'iam.gke.io/gcp-service-account';
/** Azure Workload Identity's annotation: the client id the webhook injects as AZURE_CLIENT_ID. */
const AZURE_CLIENT_ID_ANNOTATION = 'azure.workload.identity/client-id';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkCredentials(c: Checks, s: S3ObjectStorage, credentials: S3Credentials | undefined): void {
  if (credentials?.kind === 'secret') {
    checkSecretRef(c, 'objectStorage.credentials.accessKeyId', credentials.accessKeyId);
    checkSecretRef(c, 'objectStorage.credentials.secretAccessKey', credentials.secretAccessKey);
    return;
  }
  if (credentials?.kind !== 'workloadIdentity') {
    c.expect(false, 'objectStorage.credentials', credentials,
      '{ kind: \'secret\', accessKeyId, secretAccessKey } or { kind: \'workloadIdentity\', provider, serviceAccountAnnotations?, podLabels? }');
    return;
  }
  c.oneOf('objectStorage.credentials.provider', credentials.provider, ['eks-irsa', 'eks-pod-identity']);
  checkIdentityMetadata(c, credentials);
  // both providers hand out AWS credentials: an S3-compatible store elsewhere would refuse them
  c.expect(typeof s.endpoint !== 'string' || /(^|\.)amazonaws\.com(\.cn)?(:\d+)?$/.test(s.endpoint), 'objectStorage.endpoint', s.endpoint,
    `an AWS S3 endpoint (*.amazonaws.com) with ${show(credentials.provider)} credentials, which are AWS credentials`);
  if (credentials.provider === 'eks-irsa') {
    const role = credentials.serviceAccountAnnotations?.[IRSA_ROLE_ANNOTATION];
    c.expect(typeof role === 'string' && /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(role),
      `objectStorage.credentials.serviceAccountAnnotations.${IRSA_ROLE_ANNOTATION}`, role,
      'an IAM role ARN (arn:aws:iam::<account>:role/<name>): the role IRSA makes Loki and Tempo assume');
  }
}

/** GCS and Azure take their cloud's workload identity only: no keys, no other cloud's identity. */
function checkCloudIdentity(c: Checks, credentials: ObjectStorageCredentials | undefined, provider: 'gke' | 'azure', store: string): void {
  const shape = provider === 'gke'
    ? '{ kind: \'workloadIdentity\', provider: \'gke\', serviceAccountAnnotations?, podLabels? }'
    : '{ kind: \'workloadIdentity\', provider: \'azure\', clientId?, serviceAccountAnnotations?, podLabels? }';
  if (credentials?.kind !== 'workloadIdentity') {
    c.expect(false, 'objectStorage.credentials', credentials, `${shape}: ${store} is reached with the cluster's workload identity only`);
    return;
  }
  c.expect(credentials.provider === provider, 'objectStorage.credentials.provider', credentials.provider,
    `${show(provider)} with kind ${show(provider === 'gke' ? 'gcs' : 'azure')} ("eks-irsa" and "eks-pod-identity" hand out AWS credentials, for kind "s3")`);
  checkIdentityMetadata(c, credentials);
}

function checkIdentityMetadata(c: Checks, credentials: WorkloadIdentityCredentials): void {
  checkLabelMap(c, 'objectStorage.credentials.serviceAccountAnnotations', credentials.serviceAccountAnnotations, 'annotation');
  checkLabelMap(c, 'objectStorage.credentials.podLabels', credentials.podLabels, 'label');
}

function checkGkeIdentity(c: Checks, credentials: GkeWorkloadIdentity): void {
  // no annotation: IAM grants the Kubernetes ServiceAccount's principal itself (Workload Identity Federation for GKE)
  const account = credentials.serviceAccountAnnotations?.[GKE_SERVICE_ACCOUNT_ANNOTATION];
  c.expect(account === undefined || /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9.:-]{4,61}[a-z0-9]\.iam\.gserviceaccount\.com$/.test(account),
    `objectStorage.credentials.serviceAccountAnnotations.${GKE_SERVICE_ACCOUNT_ANNOTATION}`, account,
    'an IAM service account <name>@<project>.iam.gserviceaccount.com, or left out to grant the Kubernetes ServiceAccounts\' principals directly');
}

function checkAzureIdentity(c: Checks, credentials: AzureWorkloadIdentity): void {
  const annotated = credentials.serviceAccountAnnotations?.[AZURE_CLIENT_ID_ANNOTATION];
  const field = credentials.clientId !== undefined ? 'objectStorage.credentials.clientId'
    : `objectStorage.credentials.serviceAccountAnnotations.${AZURE_CLIENT_ID_ANNOTATION}`;
  const clientId = credentials.clientId ?? annotated;
  c.expect(typeof clientId === 'string' && GUID.test(clientId), field, clientId,
    'the client id (a GUID) of the managed identity or application Loki and Tempo act as, given as \'clientId\' or the annotation');
  if (credentials.clientId !== undefined && annotated !== undefined) {
    c.expect(annotated === credentials.clientId, `objectStorage.credentials.serviceAccountAnnotations.${AZURE_CLIENT_ID_ANNOTATION}`, annotated,
      `left out or equal to 'objectStorage.credentials.clientId' ${show(credentials.clientId)}`);
  }
}

function checkDelivery(c: Checks, d: DeliverySettings, gitops: GitOpsSettings): void {
  c.oneOf('delivery.loop', d.loop, ['cluster', 'github']);
  c.integer('delivery.intervalMinutes', d.intervalMinutes, 1, 2);
  if (d.loop === 'cluster' && typeof gitops.targetRevision === 'string' && typeof gitops.repoURL === 'string') {
    // the CronJob pushes to the branch it checked out: a commit or HEAD gives it none
    c.expect(!/^(HEAD|[0-9a-f]{40}|refs\/tags\/.*)$/.test(gitops.targetRevision), 'gitops.targetRevision', gitops.targetRevision,
      'a branch with \'delivery.loop\' "cluster" (the gate pushes its decisions to it), not HEAD, a tag or a commit');
  }
  checkSecretRef(c, 'delivery.gitCredentials', d.gitCredentials);
  const auth = d.prometheusAuth;
  if (auth?.token) checkSecretRef(c, 'delivery.prometheusAuth.token', auth.token);
  if (auth?.basicAuth) {
    checkSecretRef(c, 'delivery.prometheusAuth.basicAuth.username', auth.basicAuth.username);
    checkSecretRef(c, 'delivery.prometheusAuth.basicAuth.password', auth.basicAuth.password);
  }
  c.expect(!(auth?.token && auth.basicAuth), 'delivery.prometheusAuth', auth, 'a token or basic auth, not both');
  for (const [name, value] of Object.entries(auth?.headers ?? {})) {
    // the headers are a plain variable of the gate's CronJob, in dist/ and in git: a credential's name is refused
    // CREDENTIAL_HEADER holds (Proxy-)Authorization already ("auth")
    c.expect(HEADER_NAME.test(name) && !/^cookie$/i.test(name) && !CREDENTIAL_HEADER.test(name),
      `delivery.prometheusAuth.headers.${name}`, name, 'an HTTP header name (letters, digits and "-") that names no credential: not Authorization, '
      + 'Proxy-Authorization, Cookie or one with key, token, secret, auth, password, credential, signature or session in it (those are plain '
      + 'text in dist/; give the credential as delivery.prometheusAuth.token or basicAuth, from a Secret)');
    c.expect(typeof value === 'string' && !/[\r\n]/.test(value), `delivery.prometheusAuth.headers.${name}`, value, 'a value on one line');
  }
  if (d.webhook) checkSecretRef(c, 'delivery.webhook', d.webhook);
  d.allowedRegistries.forEach((prefix, i) => c.expect(/^[a-z0-9.-]+(:[0-9]+)?\/([a-z0-9._/-]*\/)?$/.test(prefix), `delivery.allowedRegistries[${i}]`,
    prefix, 'an image repository prefix ending in "/" (a registry host, then path segments: "ghcr.io/example/")'));
}

function checkMimir(c: Checks, env: EnvironmentConfig): void {
  const m = env.mimir!;
  c.expect(RING_REPLICAS.accepts(m.replicas), 'mimir.replicas', m.replicas, RING_REPLICAS.allowed);
  c.expect(m.replicas === 1 || env.objectStorage !== undefined, 'mimir.replicas', m.replicas, '1 unless \'objectStorage\' is set (replicas cannot share a filesystem)');
  c.wholeHours('mimir.retention', m.retention);
  c.duration('mimir.retention', m.retention, Duration.hours(24), Duration.days(3650));
  c.size('mimir.volumeSize', m.volumeSize, Size.gibibytes(1), Size.tebibytes(16));
  c.expect(typeof m.tenant === 'string' && /^[A-Za-z0-9_.-]{1,150}$/.test(m.tenant) && m.tenant !== '.' && m.tenant !== '..', 'mimir.tenant', m.tenant,
    'a tenant id: 1 to 150 letters, digits, "_", "." and "-", not "." or ".."');
  c.expect(env.objectStorage === undefined ? m.bucket === undefined : typeof m.bucket === 'string' && /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m.bucket),
    'mimir.bucket', m.bucket, env.objectStorage === undefined ? 'left out without \'objectStorage\' (blocks stay on the volume)'
      : 'a bucket name of its own (3 to 63 lower-case letters, digits, "." and "-")');
  if (m.maxSeries !== undefined) c.integer('mimir.maxSeries', m.maxSeries, 1000, 1_000_000_000);
  if (m.ingestionRate !== undefined) c.integer('mimir.ingestionRate', m.ingestionRate, 100, 100_000_000);
  checkResources(c, 'mimir.resources', m.resources);
}

function checkTopology(c: Checks, env: EnvironmentConfig): void {
  const t = env.topology!;
  c.oneOf('topology.kind', t.kind, ['central']);
  if (t.observabilityServer !== undefined) c.url('topology.observabilityServer', t.observabilityServer, ['https:']);
  c.expect(Array.isArray(t.appClusters) && t.appClusters.length > 0, 'topology.appClusters', t.appClusters,
    'a list of at least one { name, server, egress } (the clusters the services run in)');
  const names = new Set<string>();
  for (const [i, cluster] of (Array.isArray(t.appClusters) ? t.appClusters : []).entries()) {
    const field = `topology.appClusters[${i}]`;
    c.dnsLabel(`${field}.name`, cluster.name);
    // the cluster label tells their series apart: the observability cluster's own label, or another's, would mix them
    c.expect(!names.has(cluster.name) && cluster.name !== env.clusterName, `${field}.name`, cluster.name,
      `a name no other app cluster has, other than 'clusterName' ${show(env.clusterName)} (the observability cluster's): it labels the cluster's telemetry`);
    names.add(cluster.name);
    c.url(`${field}.server`, cluster.server, ['https:']);
    for (const dependency of ['kubernetesApi', 'gateway'] as const) {
      const egress = cluster.egress?.[dependency];
      const given = egress !== undefined && Array.isArray(egress.cidrs) && Array.isArray(egress.ports);
      c.expect(given && egress.cidrs.length > 0 && egress.ports.length > 0,
        `${field}.egress.${dependency}`, egress, '{ cidrs, ports } with at least one of each');
      for (const [j, block] of (egress?.cidrs ?? []).entries()) {
        c.cidr(`${field}.egress.${dependency}.cidrs[${j}]`, block, { prefix: WIDEST_PREFIX, why: '(an app cluster sends to these addresses only)' });
      }
      for (const [j, p] of (egress?.ports ?? []).entries()) c.integer(`${field}.egress.${dependency}.ports[${j}].port`, p.port, 1, 65535);
    }
  }
  const g = t.gateway;
  const exposure = g?.exposure;
  if (exposure !== undefined) {
    c.oneOf('topology.gateway.exposure.kind', exposure.kind, ['ingressGateway', 'loadBalancer']);
    if (exposure.kind === 'loadBalancer') {
      if (exposure.replicas !== undefined) c.integer('topology.gateway.exposure.replicas', exposure.replicas, 1, 20);
      for (const [i, block] of (exposure.sourceRanges ?? []).entries()) c.cidr(`topology.gateway.exposure.sourceRanges[${i}]`, block);
      checkLabelMap(c, 'topology.gateway.exposure.serviceAnnotations', exposure.serviceAnnotations, 'annotation');
    }
  }
  c.dnsSubdomain('topology.gateway.host', g?.host);
  c.dnsSubdomain('topology.gateway.credentialName', g?.credentialName);
  checkSecretRef(c, 'topology.gateway.token', g?.token);
  c.dnsSubdomain('topology.gateway.clientCertificateSecret', g?.clientCertificateSecret);
  checkSecretRef(c, 'topology.gateway.clientToken', g?.clientToken);
}

/** An HTTP header name (RFC 9110 token, kept to what headers are named). */
const HEADER_NAME = /^[A-Za-z0-9][-A-Za-z0-9]*$/;

function checkSecretRef(c: Checks, field: string, ref: SecretKeyRef | undefined): void {
  if (ref === undefined) {
    c.expect(false, field, ref, 'a Secret key reference { name, key }');
    return;
  }
  c.dnsSubdomain(`${field}.name`, ref.name);
  c.expect(typeof ref.key === 'string' && /^[-._a-zA-Z0-9]+$/.test(ref.key), `${field}.key`, ref.key, 'a Secret key (letters, digits, "-", "_" and ".")');
}

const RECEIVER_KINDS = ['webhook', 'slack', 'pagerduty'] as const;
const SEVERITIES = ['page', 'ticket'] as const;

function checkAlerting(c: Checks, a: AlertingSettings | undefined): void {
  if (a === undefined) {
    c.expect(false, 'alerting', a,
      'Alertmanager\'s settings: { replicas, receivers, resources, volumeSize?, groupWait?, groupInterval?, repeatInterval? }');
    return;
  }
  c.integer('alerting.replicas', a.replicas, 1, 5);
  if (a.volumeSize !== undefined) c.size('alerting.volumeSize', a.volumeSize, Size.mebibytes(100), Size.gibibytes(100));
  c.expect(Array.isArray(a.receivers), 'alerting.receivers', a.receivers, 'a list of { name, kind, secret: { name, key }, severities? } (empty for none)');
  const seen = new Set<string>();
  for (const [i, r] of (Array.isArray(a.receivers) ? a.receivers : []).entries()) {
    const field = `alerting.receivers[${i}]`;
    c.expect(typeof r.name === 'string' && DNS_LABEL.test(r.name) && r.name !== DEFAULT_RECEIVER && r.name !== HEARTBEAT.receiver && !seen.has(r.name),
      `${field}.name`, r.name, `a DNS label no other receiver has, other than "${DEFAULT_RECEIVER}" (the receiver of what no route takes) and `
      + `"${HEARTBEAT.receiver}"`);
    seen.add(r.name);
    c.oneOf<string>(`${field}.kind`, r.kind, RECEIVER_KINDS);
    checkSecretRef(c, `${field}.secret`, r.secret);
    if (r.severities !== undefined) {
      const known = (s: string): boolean => (SEVERITIES as readonly string[]).includes(s);
      c.expect(Array.isArray(r.severities) && r.severities.length > 0 && r.severities.every(known),
        `${field}.severities`, r.severities, `left out or a non-empty list of ${SEVERITIES.map(s => JSON.stringify(s)).join(' and ')}`);
    }
  }
  if (a.heartbeat !== undefined) {
    checkSecretRef(c, 'alerting.heartbeat.secret', a.heartbeat.secret);
    if (a.heartbeat.interval !== undefined) c.duration('alerting.heartbeat.interval', a.heartbeat.interval, Duration.minutes(1), Duration.hours(1));
  }
  // what no route takes goes to a receiver without integrations: with receivers, each severity must reach one of them
  const receivers = Array.isArray(a.receivers) ? a.receivers : [];
  for (const severity of receivers.length > 0 ? SEVERITIES : []) {
    c.expect(receivers.some(r => RECEIVER_KINDS.includes(r.kind) && severitiesOf(r).includes(severity)), 'alerting.receivers',
      receivers.map(r => `${r.name} (${r.kind}: ${severitiesOf(r).join(', ')})`).join('; '),
      `a receiver for every severity: none takes "${severity}" alerts, which would reach no one (a pagerduty receiver takes "page" and a `
      + 'slack one "ticket" unless its severities say otherwise; a webhook takes both)');
  }
  const groupInterval = a.groupInterval ?? Duration.minutes(5);
  if (a.groupWait !== undefined) c.duration('alerting.groupWait', a.groupWait, Duration.seconds(0), Duration.hours(1));
  if (a.groupInterval !== undefined) c.duration('alerting.groupInterval', a.groupInterval, Duration.seconds(1), Duration.days(1));
  if (a.repeatInterval !== undefined) {
    c.duration('alerting.repeatInterval', a.repeatInterval, Duration.minutes(1), Duration.days(30));
    c.expect(!(a.repeatInterval instanceof Duration && groupInterval instanceof Duration)
      || a.repeatInterval.toMilliseconds() >= groupInterval.toMilliseconds(), 'alerting.repeatInterval', a.repeatInterval,
      'at least \'alerting.groupInterval\' (a repeat is only sent at a group interval)');
  }
  checkResources(c, 'alerting.resources', a.resources);
}

function checkPinSources(c: Checks, sources: readonly string[] | undefined): void {
  c.expect(Array.isArray(sources), 'apps.canaryPinSources', sources, 'a list of IPv4 CIDR blocks (empty: the pin works inside the mesh only)');
  for (const [i, block] of (Array.isArray(sources) ? sources : []).entries()) {
    c.cidr(`apps.canaryPinSources[${i}]`, block, { prefix: WIDEST_PREFIX, why: '(the smoke tests\' runners: a wider block lets anyone pin themselves to a canary)' });
  }
}

/** What one container may be given: a CPU limit in millicores, memory (limit and request) in MiB; requests up to the limit. */
export const RESOURCE_BOUNDS = { cpuLimitMillis: { min: 10, max: 64_000 }, memoryMebibytes: { min: 16, max: 256 * 1024 } } as const;

/** Checks the resources of one container: every environment's components go through it ({@link RESOURCE_BOUNDS}). */
export function checkResources(c: Checks, field: string, r: ContainerResources): void {
  const { cpuLimitMillis: cpu, memoryMebibytes: memory } = RESOURCE_BOUNDS;
  c.integer(`${field}.cpuLimitMillis`, r.cpuLimitMillis, cpu.min, cpu.max);
  c.integer(`${field}.cpuRequestMillis`, r.cpuRequestMillis, 1, r.cpuLimitMillis);
  c.size(`${field}.memoryLimit`, r.memoryLimit, Size.mebibytes(memory.min), Size.mebibytes(memory.max));
  c.size(`${field}.memoryRequest`, r.memoryRequest, Size.mebibytes(memory.min), r.memoryLimit);
}
