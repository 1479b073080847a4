import { Duration, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, show, validationError } from '../errors';
import { BUILT_IMAGES } from '../images';
import { DNS_LABEL } from '../private/names';
import { urlPort } from '../private/urls';
import { meshPrincipal } from './mesh-policies';
import { proxyEnv, serviceAccount } from './private/component';
import { containerSecurityContext, podLabels, podSecurityContext, resourceRequirements, secretEnv, secretVolume, selectorLabels } from './private/workload';
import { ContainerResources, EgressProxyEnv, SecretKeyRef, WorkloadPeer } from './types';

/** How the gate reaches its repository: git over HTTPS with a token, or over SSH with a private key. */
export type GitTransport = 'https' | 'ssh';

/** The transport of a git URL: `https://…`, or `ssh://…` and scp-like `user@host:path`; undefined for anything else. */
export function gitTransportOf(url: string): GitTransport | undefined {
  if (/^https:\/\/\S+$/.test(url)) return 'https';
  if (/^ssh:\/\/\S+$/.test(url) || /^[\w.-]+@[\w.-]+:\S+$/.test(url)) return 'ssh';
  return undefined;
}

/** The host a git URL names (`github.com` for `https://github.com/…`, `git@github.com:…` and `ssh://git@github.com:22/…`). */
export function gitHostOf(url: string): string | undefined {
  const transport = gitTransportOf(url);
  if (transport === undefined) return undefined;
  if (/^[a-z]+:\/\//.test(url)) return new URL(url).hostname;
  return /^[^@]+@([^:]+):/.exec(url)?.[1];
}

/** Properties of {@link CanaryGate}. */
export interface CanaryGateProps {
  /** The environment the gate decides for: `canary advance --env` (`DEPLOY_ENV`), a DNS label. */
  readonly environment: string;
  /**
   * The repository the gate clones and pushes its decisions to (`REPO_URL`): `https://…`, `ssh://…` or
   * `git@host:path`, without credentials.
   */
  readonly repoUrl: string;
  /** The branch it checks out and pushes to (`GIT_BRANCH`). */
  readonly branch: string;
  /**
   * The Secret key of the git credential, mounted read-only as a file: for an `https://` repoUrl a token with contents
   * write (`GIT_TOKEN_FILE`), for SSH a private key (`GIT_SSH_KEY_FILE`).
   */
  readonly gitCredentials: SecretKeyRef;
  /**
   * For SSH: the key of the same Secret that holds the host keys the gate accepts (`known_hosts` lines;
   * `GIT_KNOWN_HOSTS_FILE`). Host keys are never learnt on first use.
   * @default 'known_hosts'
   */
  readonly knownHostsKey?: string;
  /** Base URL of the Prometheus the gate measures in (`PROMETHEUS_URL`). */
  readonly prometheusUrl: string;
  /**
   * A bearer token for Prometheus (`PROMETHEUS_TOKEN`).
   * @default - none
   */
  readonly prometheusToken?: SecretKeyRef;
  /**
   * The basic-auth user for Prometheus (`PROMETHEUS_USERNAME`), with `prometheusPassword`.
   * @default - none
   */
  readonly prometheusUsername?: SecretKeyRef;
  /**
   * The basic-auth password for Prometheus (`PROMETHEUS_PASSWORD`), with `prometheusUsername`.
   * @default - none
   */
  readonly prometheusPassword?: SecretKeyRef;
  /**
   * Headers sent with every query, which are no secrets (`PROMETHEUS_HEADERS`, a JSON object).
   * @default - none
   */
  readonly prometheusHeaders?: Readonly<Record<string, string>>;
  /**
   * The Secret key holding the URL of a Slack-compatible webhook told about each decision (`CANARY_WEBHOOK_URL`).
   * @default - no notifications
   */
  readonly webhook?: SecretKeyRef;
  /**
   * Time between two ticks: whole minutes that divide an hour, so that every gap is the same.
   * @default Duration.minutes(2)
   */
  readonly interval?: Duration;
  /**
   * The proxy the git host and the webhook are reached through: `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` for git,
   * and `NODE_USE_ENV_PROXY=1`, without which Node.js's fetch ignores them.
   * @default - both are reached directly
   */
  readonly egressProxy?: EgressProxyEnv;
  /**
   * The in-cluster URLs of the services whose smoke checks the gate runs through the canary pin (`SMOKE_URLS`), by
   * service name. The pin answers inside the mesh only, so with any URL the gate's pods join the mesh: a sidecar
   * injected by pod label (Istio's CNI plugin keeps them `restricted`) that captures the URLs' ports alone (git, the
   * egress proxy, Prometheus and the webhook are reached as before), waited for before the checks
   * (`SIDECAR_READY_URL`; not ready, they are not run this tick) and told to quit when the tick ends
   * (`SIDECAR_QUIT_URL`), since a Job's pod ends only once all its containers have.
   * @default - no smoke checks run: a service that has them holds before its first step
   */
  readonly smokeUrls?: Readonly<Record<string, string>>;
  /**
   * The gate's image, pinned by tag or digest: `delivery/Dockerfile` built for the lockfile of the branch.
   * @default BUILT_IMAGES.canaryGate
   */
  readonly image?: string;
  /**
   * CPU and memory of the container (a clone, one esbuild bundle, the queries and a synth of one environment).
   * @default - 100m/1000m CPU, 256Mi/1Gi
   */
  readonly resources?: ContainerResources;
}

const NAME = 'canary-gate';
/** The image's user (distroless' nonroot uid, also the one `delivery/Dockerfile` creates). */
const UID = 65532;
/** Where the git credential is mounted: `token` (HTTPS), or `ssh-key` and `known_hosts` (SSH). */
const CREDENTIALS_DIR = '/etc/canary-gate/git';
/** The emptyDir the checkout goes into (`WORK_DIR` of gate-tick.sh). */
const WORK_DIR = '/work';
/** The user's home: git's global config (the credential helper, the identity). The image's useradd home. */
const HOME_DIR = '/home/gate';
/** A missed start may still run this late; later, the tick is skipped and the next one runs on time. */
const STARTING_DEADLINE = Duration.seconds(60);
/** How much sooner than the next tick a tick is stopped. */
const DEADLINE_MARGIN = Duration.seconds(10);
/** The Istio agent's endpoints that stop the sidecar (its status port, 15020) and say it is ready (15021). */
const SIDECAR_QUIT_URL = 'http://127.0.0.1:15020/quitquitquit';
const SIDECAR_READY_URL = 'http://127.0.0.1:15021/healthz/ready';

/**
 * The SLO gate's loop in the cluster: a CronJob that runs one tick of `delivery/gate-tick.sh` every `interval`. A tick
 * clones `repoUrl` at `branch` into an emptyDir, runs `canary advance --all --env <environment> --commit --push`
 * against Prometheus, and pushes the decisions with their re-synthesized `dist/`; Argo CD applies them like any commit.
 *
 * One tick at a time (`Forbid`), never retried (`backoffLimit: 0`: the next tick is the retry) and stopped before the
 * next one is due. The pods run under a ServiceAccount of their own that nothing binds and that mounts no token: the
 * gate needs no Kubernetes API at all. Every credential comes from a Secret: the git credential as a read-only file
 * (read by git's credential helper or ssh, never put in a URL, an argument or the log), the Prometheus credentials and
 * the webhook URL as variables from `secretKeyRef`.
 */
export class CanaryGate extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  /** How the repository is reached. */
  public readonly transport: GitTransport;
  /** The CronJob's schedule: `*\/<minutes> * * * *`. */
  public readonly schedule: string;
  /** How long a tick may run before it is stopped: less than the interval. */
  public readonly activeDeadline: Duration;
  /** Its pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** Whether its pods run a sidecar (to run smoke checks through the pin), and their mesh identity then. */
  public readonly inMesh: boolean;
  public readonly principal: string;

  public constructor(scope: Construct, id: string, props: CanaryGateProps) {
    super(scope, id);
    this.image = props.image ?? BUILT_IMAGES.canaryGate;
    const interval = props.interval ?? Duration.minutes(2);
    const knownHostsKey = props.knownHostsKey ?? 'known_hosts';
    const resources = props.resources ?? {
      cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1),
    };
    const namespace = chartNamespace(this, 'CanaryGate');

    if (!DNS_LABEL.test(props.environment)) throw validationError(this, `'environment' must be a DNS label, got ${show(props.environment)}`);
    const transport = gitTransportOf(props.repoUrl);
    if (transport === undefined) {
      throw validationError(this, `'repoUrl' must be a git URL the gate can push to (https://…, ssh://… or git@host:path), got ${show(props.repoUrl)}`);
    }
    if (transport === 'https' && new URL(props.repoUrl).username !== '') {
      // the URL would be in the manifest, git's config and its messages: the token comes from 'gitCredentials' only
      throw validationError(this, `'repoUrl' must carry no credentials, got one for ${show(gitHostOf(props.repoUrl))}`);
    }
    this.transport = transport;
    if (!/^[^\s~^:?*[\\]+$/.test(props.branch) || props.branch === 'HEAD') {
      throw validationError(this, `'branch' must be a branch name the gate can push to, got ${show(props.branch)}`);
    }
    const minutes = interval.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 30 || 60 % minutes !== 0) {
      throw validationError(this, `'interval' must be whole minutes that divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30), got ${show(interval)}`);
    }
    if ((props.prometheusUsername === undefined) !== (props.prometheusPassword === undefined)) {
      throw validationError(this, '\'prometheusUsername\' and \'prometheusPassword\' must be given together (basic auth), or neither');
    }
    if (props.prometheusToken && props.prometheusUsername) {
      throw validationError(this, 'give \'prometheusToken\' or \'prometheusUsername\' and \'prometheusPassword\', not both');
    }
    this.schedule = `*/${minutes} * * * *`;
    this.activeDeadline = Duration.seconds(interval.toSeconds() - DEADLINE_MARGIN.toSeconds());
    this.peer = { name: NAME, namespace, selector: selectorLabels(NAME) };
    const smokeUrls = props.smokeUrls ?? {};
    this.inMesh = Object.keys(smokeUrls).length > 0;
    const smokePorts = [...new Set(Object.values(smokeUrls).map(urlPort))].sort((a, b) => a - b);
    // every connection to a captured port goes through the sidecar, whatever its address: the gate's other peers must
    // be on other ports, or a sidecar not ready yet would stop the tick for every service (and refuse a proxy's CONNECT)
    const peers: Array<readonly [string, number]> = [
      ['prometheusUrl', urlPort(props.prometheusUrl)],
      ['repoUrl', transport === 'ssh' ? sshPort(props.repoUrl) : urlPort(props.repoUrl)],
      ...(props.egressProxy ? [['egressProxy', urlPort(props.egressProxy.url)] as const] : []),
      // the webhook's URL is a secret, not known here: an https one
      ...(props.webhook ? [['webhook', 443] as const] : []),
    ];
    const clashes = peers.filter(([, port]) => smokePorts.includes(port));
    if (clashes.length > 0) {
      const services = Object.keys(smokeUrls).filter(service => clashes.some(([, port]) => urlPort(smokeUrls[service]) === port));
      throw validationError(this, `'smokeUrls' must not use the port of ${clashes.map(([peer, port]) => `'${peer}' (${port})`).join(', ')}: the sidecar `
        + `captures the smoke checks' ports (${smokePorts.join(', ')}) to every address, got ${show(smokeUrls)}; the smoke checks of ${services.join(', ')} `
        + 'cannot run from the cluster: give the service another port, drop its smoke checks, or run the gate\'s loop in GitHub (delivery.loop)');
    }
    this.principal = meshPrincipal(namespace, NAME);

    const account = serviceAccount(this, NAME, false);
    const credentialItems = transport === 'https'
      ? [{ key: props.gitCredentials.key, path: 'token' }]
      : [{ key: props.gitCredentials.key, path: 'ssh-key' }, { key: knownHostsKey, path: 'known_hosts' }];
    const credentialEnv: k8s.EnvVar[] = transport === 'https'
      ? [{ name: 'GIT_TOKEN_FILE', value: `${CREDENTIALS_DIR}/token` }]
      : [{ name: 'GIT_SSH_KEY_FILE', value: `${CREDENTIALS_DIR}/ssh-key` }, { name: 'GIT_KNOWN_HOSTS_FILE', value: `${CREDENTIALS_DIR}/known_hosts` }];
    const headers = props.prometheusHeaders ?? {};
    const env: k8s.EnvVar[] = [
      { name: 'DEPLOY_ENV', value: props.environment },
      { name: 'REPO_URL', value: props.repoUrl },
      { name: 'GIT_BRANCH', value: props.branch },
      ...credentialEnv,
      { name: 'PROMETHEUS_URL', value: props.prometheusUrl },
      ...(props.prometheusToken ? [secretEnv('PROMETHEUS_TOKEN', props.prometheusToken)] : []),
      ...(props.prometheusUsername ? [secretEnv('PROMETHEUS_USERNAME', props.prometheusUsername)] : []),
      ...(props.prometheusPassword ? [secretEnv('PROMETHEUS_PASSWORD', props.prometheusPassword)] : []),
      ...(Object.keys(headers).length > 0 ? [{ name: 'PROMETHEUS_HEADERS', value: JSON.stringify(headers) }] : []),
      ...(props.webhook ? [secretEnv('CANARY_WEBHOOK_URL', props.webhook)] : []),
      { name: 'WORK_DIR', value: WORK_DIR },
      { name: 'HOME', value: HOME_DIR },
      ...proxyEnv(props.egressProxy),
      // git (libcurl) honours HTTPS_PROXY by itself; Node.js's fetch (the webhook) only with this
      ...(props.egressProxy ? [{ name: 'NODE_USE_ENV_PROXY', value: '1' }] : []),
      ...(this.inMesh ? [
        { name: 'SMOKE_URLS', value: JSON.stringify(smokeUrls) },
        { name: 'SIDECAR_READY_URL', value: SIDECAR_READY_URL },
        { name: 'SIDECAR_QUIT_URL', value: SIDECAR_QUIT_URL },
      ] : []),
    ];
    const scratch = (name: string, sizeLimit: string): k8s.Volume => ({ name, emptyDir: { sizeLimit: k8s.Quantity.fromString(sizeLimit) } });

    new k8s.KubeCronJob(this, 'Resource', {
      metadata: {
        name: NAME,
        // Argo CD (3.2 and later) reads a CronJob whose last Job failed as Degraded, and so the whole Application: a
        // tick that leaves something undecided fails by design, and a Degraded Application fails the sync of the
        // root Application's later waves. CanaryGateStalled watches the loop instead.
        annotations: { 'argocd.argoproj.io/ignore-healthcheck': 'true' },
      },
      spec: {
        schedule: this.schedule,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: STARTING_DEADLINE.toSeconds(),
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: podLabels(NAME, 'delivery') },
          spec: {
            // the next tick is the retry: it starts from a fresh clone
            backoffLimit: 0,
            activeDeadlineSeconds: this.activeDeadline.toSeconds(),
            template: {
              metadata: this.inMesh ? {
                labels: { ...podLabels(NAME, 'delivery'), 'sidecar.istio.io/inject': 'true' },
                // the smoke checks alone go through the sidecar: the tick starts at once, and git, a proxy, Prometheus
                // and the webhook never depend on it (an HTTP CONNECT to a proxy port Envoy takes for HTTP would fail)
                annotations: {
                  'traffic.sidecar.istio.io/includeOutboundIPRanges': '',
                  'traffic.sidecar.istio.io/includeOutboundPorts': smokePorts.join(','),
                  // a native sidecar (Istio's default on nodes of Kubernetes 1.33+) would hold the tick until it is
                  // ready, for every service; the tick waits for it itself, before the checks alone
                  'sidecar.istio.io/nativeSidecar': 'false',
                  // nor the cluster's DNS, which a mesh with DNS capture would send to the sidecar for the clone too
                  'proxy.istio.io/config': JSON.stringify({ proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'false' } }),
                },
              } : { labels: podLabels(NAME, 'delivery') },
              spec: {
                serviceAccountName: account.name,
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                restartPolicy: 'Never',
                securityContext: podSecurityContext({ user: UID, group: UID }),
                containers: [{
                  name: NAME,
                  image: this.image,
                  env,
                  resources: resourceRequirements(resources),
                  securityContext: containerSecurityContext(),
                  volumeMounts: [
                    { name: 'git-credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
                    { name: 'work', mountPath: WORK_DIR },
                    { name: 'home', mountPath: HOME_DIR },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                }],
                volumes: [
                  secretVolume('git-credentials', props.gitCredentials.name, credentialItems),
                  // the checkout with its dist/
                  scratch('work', '1Gi'),
                  scratch('home', '16Mi'),
                  // git's and esbuild's temporary files, the bundle cache
                  scratch('tmp', '256Mi'),
                ],
              },
            },
          },
        },
      },
    });
  }
}

/** The port of an SSH git URL: `ssh://host:2222/…` names it, `git@host:path` is 22. */
function sshPort(url: string): number {
  return /^ssh:\/\//.test(url) ? Number(new URL(url).port || 22) : 22;
}
