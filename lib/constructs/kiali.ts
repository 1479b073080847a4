import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { DNS_LABEL } from '../private/names';
import { toYaml } from '../private/yaml';
import { DATASOURCE_UIDS } from './grafana-datasources';
import { KialiConfig } from './kiali-config';
import { PodScrapeTarget } from './prometheus-config';
import { ServicePort, bindClusterRole, containerPorts, endpoints, service, serviceAccount } from './private/component';
import {
  checksum, containerSecurityContext, fieldEnv, httpProbe, podLabels, podSecurityContext, resourceRequirements, secretVolume, selectorLabels,
} from './private/workload';
import { ContainerResources, SecretKeyRef, WorkloadPeer } from './types';

/** How people sign in to Kiali. */
export type KialiAuthStrategy = 'anonymous' | 'token';

/** Properties of {@link Kiali}. */
export interface KialiProps {
  /**
   * Kiali image, pinned by tag or digest.
   * @default IMAGES.kiali
   */
  readonly image?: string;
  /**
   * `anonymous`: no sign-in, everyone sees what Kiali's ServiceAccount may read (a local cluster, or behind an
   * authenticating proxy); `token`: viewers sign in with a Kubernetes token and see what that token may read.
   * @default 'anonymous'
   */
  readonly auth?: KialiAuthStrategy;
  /**
   * The key that signs the login cookies of `token` sign-in: 16, 24 or 32 bytes, in a Secret created before the
   * first sync. Referenced, never rendered; unused with `anonymous`.
   * @default { name: 'kiali-signing-key', key: 'key' }
   */
  readonly signingKey?: SecretKeyRef;
  /** In-cluster URL of Prometheus, where Istio's metrics (the graph) are. */
  readonly prometheusUrl: string;
  /**
   * What Kiali probes, without the query headers, before it queries the store at all (until it answers below 400, every
   * metrics feature and the graph stay off): a store without Prometheus' `/-/healthy`, such as Mimir, names its own.
   * @default `${prometheusUrl}/-/healthy`
   */
  readonly prometheusHealthUrl?: string;
  /**
   * Headers of every query, such as Mimir's tenant `X-Scope-OrgID`.
   * @default - none
   */
  readonly prometheusHeaders?: Readonly<Record<string, string>>;
  /**
   * A Prometheus API that serves no `/api/v1/status/config` (Mimir, Thanos): the scrape interval and retention Kiali
   * would read there (`30s`, `31d`).
   * @default - Kiali reads them from Prometheus
   */
  readonly prometheusProxy?: { readonly retention_period: string; readonly scrape_interval: string };
  /** In-cluster URL of Grafana (its Service), for its status. */
  readonly grafanaUrl: string;
  /**
   * The URL people open Grafana at: Kiali's links to traces open Grafana's Explore there.
   * @default - no links to Grafana
   */
  readonly grafanaExternalUrl?: string;
  /** In-cluster URL of Tempo's HTTP API (its query frontend in monolithic mode). */
  readonly tempoUrl: string;
  /**
   * uid of Grafana's Tempo datasource, which trace links open.
   * @default DATASOURCE_UIDS.tempo
   */
  readonly tempoDatasourceUid?: string;
  /**
   * The namespaces Kiali shows (the services' and Istio's).
   * @default - every namespace
   */
  readonly namespaces?: readonly string[];
  /**
   * The URL people open Kiali at, without the `/kiali` path.
   * @default - none: Kiali is reached with a port-forward, at http://localhost:20001
   */
  readonly rootUrl?: string;
  /**
   * CPU and memory of the container.
   * @default - 20m/500m CPU, 64Mi/256Mi
   */
  readonly resources?: ContainerResources;
}

const NAME = 'kiali';
const PORTS = {
  http: { name: 'http', port: 20001, appProtocol: 'http' },
  metrics: { name: 'http-metrics', port: 9090, appProtocol: 'http' },
} as const satisfies Record<string, ServicePort>;
/** The path prefix of the UI and API: the operator's default on Kubernetes. */
const WEB_ROOT = '/kiali';
const CONFIG_DIR = '/kiali-configuration';
/** Where Kiali looks for the signing key's file (`config.SecretFileLoginTokenSigningKey` under `/kiali-override-secrets`). */
const SIGNING_KEY_DIR = '/kiali-override-secrets/login-token-signing-key';
const SIGNING_KEY_FILE = 'value.txt';
/** The URL of a port-forward to Kiali's Service (`kubectl -n observability port-forward svc/kiali 20001`). */
export const KIALI_PORT_FORWARD_URL = `http://localhost:${PORTS.http.port}`;

/** Read-only: Kiali's viewer role (the operator's `role-viewer.yaml`), less what view-only mode and this stack never use. */
const READ = ['get', 'list', 'watch'];
const RULES: k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps', 'namespaces', 'pods', 'replicationcontrollers', 'services'], verbs: READ },
  // the logs tab
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'], verbs: READ },
  { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: READ },
  {
    apiGroups: ['networking.istio.io', 'security.istio.io', 'extensions.istio.io', 'telemetry.istio.io', 'inference.networking.k8s.io'],
    resources: ['*'], verbs: READ,
  },
  {
    apiGroups: ['gateway.networking.k8s.io'],
    resources: ['gatewayclasses', 'gateways', 'grpcroutes', 'httproutes', 'referencegrants', 'tcproutes', 'tlsroutes', 'udproutes'],
    verbs: READ,
  },
  // how Kiali finds the control planes and their revisions
  { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], verbs: ['list'] },
];

/**
 * Kiali, the mesh's traffic graph, in view-only mode: one replica, its `config.yaml` from {@link KialiConfig}, read-only
 * RBAC (get, list and watch on what it shows; no `pods/portforward`, so istiod's debug interface is off), wired to
 * Prometheus for the graph, to Tempo for traces and to Grafana for trace links.
 *
 * Sign-in is `anonymous` or `token`; with `token` the login-token signing key is mounted from a Secret where Kiali reads it
 * and the config names its file, never the key. Kiali calls istiod's monitoring port (15014, `/version`) directly.
 *
 * @see https://github.com/kiali/kiali/tree/v2.30.0 (config/config.go; routing/routes.go: `/healthz` under the web root)
 * @see https://github.com/kiali/kiali-operator/tree/master/roles/default/kiali-deploy/templates/kubernetes
 *   (deployment.yaml: command, ports, probes, security context; role-viewer.yaml: the view-only rules)
 */
export class Kiali extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  public readonly auth: KialiAuthStrategy;
  /** Ports, for network policies. */
  public readonly ports = PORTS;
  /** Its pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** Where its metrics are. */
  public readonly metricsTarget: PodScrapeTarget;
  /** In-cluster URL of the UI and API (with the `/kiali` web root). */
  public readonly url: string;
  /** Where people open the console: `<rootUrl or the port-forward's URL>/kiali/console`. */
  public readonly consoleUrl: string;
  /** The rendered `config.yaml`. */
  public readonly config: KialiConfig;

  public constructor(scope: Construct, id: string, props: KialiProps) {
    super(scope, id);
    this.image = props.image ?? IMAGES.kiali;
    this.auth = props.auth ?? 'anonymous';
    const signingKey = props.signingKey ?? { name: 'kiali-signing-key', key: 'key' };
    const namespaces = [...(props.namespaces ?? [])];
    const resources = props.resources ?? {
      cpuRequestMillis: 20, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(256),
    };
    const namespace = chartNamespace(this, 'Kiali');
    if (!['anonymous', 'token'].includes(this.auth)) {
      throw validationError(this, `'auth' must be "anonymous" or "token", got ${show(this.auth)}`);
    }
    for (const [prop, url] of [['rootUrl', props.rootUrl], ['grafanaExternalUrl', props.grafanaExternalUrl]] as const) {
      if (url !== undefined && !/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(url)) {
        throw validationError(this, `'${prop}' must be an absolute http(s) URL, got ${show(url)}`);
      }
    }
    if (props.rootUrl?.replace(/^https?:\/\/[^/]+/, '').replace(/\/$/, '')) {
      throw validationError(this, `'rootUrl' must have no path (Kiali serves under ${WEB_ROOT} itself), got ${show(props.rootUrl)}`);
    }
    const bad = namespaces.filter(n => !DNS_LABEL.test(n));
    if (bad.length > 0) throw validationError(this, `'namespaces' must hold DNS labels, got ${show(bad)}`);

    const endpoint = endpoints(NAME, namespace, PORTS.metrics);
    this.peer = endpoint.peer;
    this.metricsTarget = endpoint.metricsTarget;
    this.url = `${endpoint.url(PORTS.http)}${WEB_ROOT}`;
    this.consoleUrl = `${(props.rootUrl ?? KIALI_PORT_FORWARD_URL).replace(/\/$/, '')}${WEB_ROOT}/console`;

    const grafanaExternalUrl = props.grafanaExternalUrl?.replace(/\/$/, '') ?? '';
    this.config = {
      auth: { strategy: this.auth },
      deployment: {
        cluster_wide_access: true,
        ...(namespaces.length > 0
          ? { discovery_selectors: { default: [...new Set(namespaces)].map(n => ({ matchLabels: { 'kubernetes.io/metadata.name': n } })) } }
          : {}),
        instance_name: NAME,
        namespace,
        view_only_mode: true,
      },
      external_services: {
        // no dashboards: Istio's Grafana dashboards are not provisioned here, and Grafana's API needs a sign-in
        grafana: {
          enabled: true, internal_url: props.grafanaUrl, external_url: grafanaExternalUrl,
          health_check_url: `${props.grafanaUrl}/api/health`, dashboards: [],
        },
        istio: { istio_api_enabled: false },
        // custom_headers: PrometheusConfig.CustomHeaders of config/config.go at v2.30.0 (Mimir's tenant header)
        // health_check_url: PrometheusConfig.HealthCheckUrl of config/config.go at v2.30.0, probed by prometheus/lazy_client.go
        prometheus: {
          url: props.prometheusUrl,
          health_check_url: props.prometheusHealthUrl ?? `${props.prometheusUrl}/-/healthy`,
          ...(props.prometheusHeaders ? { custom_headers: { ...props.prometheusHeaders } } : {}),
          // PrometheusConfig.ThanosProxy (config/config.go at v2.30.0): Kiali otherwise reads both from the server's config
          ...(props.prometheusProxy ? { thanos_proxy: { enabled: true, ...props.prometheusProxy } } : {}),
        },
        tracing: {
          enabled: true,
          provider: 'tempo',
          internal_url: props.tempoUrl,
          use_grpc: false,
          // Kiali looks up `<app>.<namespace>` by default (business/tracing.go at v2.30.0), Istio's own naming of
          // sidecar spans; here every span is named by the app alone (OTEL_SERVICE_NAME, and the Collector renames
          // the sidecars' spans to their canonical service), so the default finds no trace at all
          namespace_selector: false,
          external_url: grafanaExternalUrl,
          tempo_config: { url_format: 'grafana', datasource_uid: props.tempoDatasourceUid ?? DATASOURCE_UIDS.tempo, org_id: '1' },
        },
      },
      ...(this.auth === 'token' ? { login_token: { signing_key: `${SIGNING_KEY_DIR}/${SIGNING_KEY_FILE}` } } : {}),
      server: {
        port: PORTS.http.port,
        web_root: WEB_ROOT,
        observability: { metrics: { enabled: true, port: PORTS.metrics.port } },
      },
    };
    const configYaml = toYaml(this.config);

    const account = serviceAccount(this, NAME, true);
    bindClusterRole(this, namespace, NAME, RULES);
    const configMap = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: NAME }, data: { 'config.yaml': configYaml } });
    service(this, NAME, [PORTS.http, PORTS.metrics]);

    const token = this.auth === 'token';
    const healthz = `${WEB_ROOT}/healthz`;
    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: NAME },
      spec: {
        // one replica: its caches of the API server and of Prometheus are per pod
        replicas: 1,
        selector: { matchLabels: selectorLabels(NAME) },
        template: {
          metadata: { labels: podLabels(NAME, 'mesh-console'), annotations: { 'checksum/config': checksum(configYaml) } },
          spec: {
            serviceAccountName: account.name,
            automountServiceAccountToken: true,
            securityContext: podSecurityContext({ user: 1000, group: 1000 }),
            containers: [{
              name: NAME,
              image: this.image,
              // the double-dash flag of its cobra command line (v2.30 still rewrites `-config` for old manifests, as a stopgap)
              command: ['/opt/kiali/kiali', '--config', `${CONFIG_DIR}/config.yaml`],
              env: [
                fieldEnv('ACTIVE_NAMESPACE', 'metadata.namespace'),
                // JSON, so that the log shipper parses level and message like every other log line
                { name: 'LOG_FORMAT', value: 'json' },
                { name: 'LOG_LEVEL', value: 'info' },
              ],
              ports: containerPorts([PORTS.http, PORTS.metrics]),
              startupProbe: httpProbe(healthz, PORTS.http.name, { periodSeconds: 5, failureThreshold: 24 }),
              readinessProbe: httpProbe(healthz, PORTS.http.name, { periodSeconds: 10, timeoutSeconds: 3 }),
              livenessProbe: httpProbe(healthz, PORTS.http.name, { periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 4 }),
              resources: resourceRequirements(resources),
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                ...(token ? [{ name: 'signing-key', mountPath: SIGNING_KEY_DIR, readOnly: true }] : []),
                { name: 'tmp', mountPath: '/tmp' },
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: configMap.name } },
              ...(token ? [secretVolume('signing-key', signingKey.name, [{ key: signingKey.key, path: SIGNING_KEY_FILE }])] : []),
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
            ],
          },
        },
      },
    });
  }
}
