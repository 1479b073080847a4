import { Lazy, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { chartNamespace, checkInteger, show, validationError } from '../errors';
import { IMAGES } from '../images';
import { GRAFANA_UID, GrafanaDashboardOptions, GrafanaDashboards } from './grafana-dashboards';
import { GrafanaDatasource, escapeProvisioningDollars, referencedDatasourceUids } from './grafana-datasources';

export type { GrafanaDashboardOptions } from './grafana-dashboards';
export { dashboardDatasourceUids } from './grafana-dashboards';
import { PodScrapeTarget } from './prometheus-config';
import { renderIni } from './private/ini';
import {
  checksum, containerSecurityContext, fieldEnv, httpProbe, podLabels, podSecurityContext, resourceRequirements, secretEnv, selectorLabels,
  spreadReplicas,
} from './private/workload';
import { ContainerResources, SecretKeyRef, WorkloadPeer } from './types';
import { ServicePort, containerPorts, endpoints, gossipPorts, peerService, service, serviceAccount, serviceHost } from './private/component';
import { toYaml } from '../private/yaml';

/** Properties of {@link Grafana}. */
export interface GrafanaProps {
  /**
   * Grafana image, pinned by tag or digest.
   * @default IMAGES.grafana
   */
  readonly image?: string;
  /**
   * Replicas. More than one needs `databaseUrl`: each replica would otherwise keep its own SQLite database.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Secret with the keys `admin-user`, `admin-password` and `secret-key` (the key that encrypts datasource secrets).
   * It is referenced, never rendered: create it before the first sync.
   * @default 'grafana-admin'
   */
  readonly adminSecretName?: string;
  /**
   * A shared database URL (`postgres://…`, `mysql://…`) from a Secret.
   * @default - SQLite on an emptyDir: dashboards and datasources are provisioned from code, so nothing of value is lost
   */
  readonly databaseUrl?: SecretKeyRef;
  /**
   * Public URL of Grafana, used in links Grafana generates (alerts, shared links). An https URL also makes the session
   * cookie Secure (`[security] cookie_secure`).
   * @default - Grafana's default, http://localhost:3000, and cookies without the Secure attribute
   */
  readonly rootUrl?: string;
  /**
   * Datasources to provision; more can be added with {@link Grafana.addDatasource}.
   * @default - none
   */
  readonly datasources?: readonly GrafanaDatasource[];
  /**
   * CPU and memory of the Grafana container.
   * @default - 50m/500m CPU, 128Mi/512Mi
   */
  readonly resources?: ContainerResources;
}

const NAME = 'grafana';
const HTTP = { name: 'http', port: 3000, appProtocol: 'http' } as const satisfies ServicePort;
const PORT = HTTP.port;
const ADMIN_KEYS = { user: 'admin-user', password: 'admin-password', secretKey: 'secret-key' } as const;
/** Grafana's alerting gossip (memberlist, TCP and UDP) between replicas, and the headless Service that finds them. */
const ALERTING_PORT = 9094;
const ALERTING_SERVICE = `${NAME}-alerting`;
const CONFIG_DIR = '/etc/grafana-config';
const DASHBOARDS_DIR = '/var/lib/grafana-dashboards';

/**
 * Grafana with provisioned datasources and dashboards, admin credentials from a Secret, and a read-only root file
 * system (data, plugins, search index and /tmp on emptyDirs).
 */
/**
 * How long a start may take: the HTTP server answers after the database migrations, which a major upgrade on a large
 * database runs for minutes, and a start killed midway begins them again.
 */
const STARTUP = { periodSeconds: 5, failureThreshold: 180 } as const;

export class Grafana extends Construct {
  public readonly name = NAME;
  public readonly image: string;
  public readonly replicas: number;
  /** In-cluster URL of the UI and API. */
  public readonly url: string;
  /** What Grafana exposes for scraping. */
  public readonly metricsTarget: PodScrapeTarget;
  /** Grafana's pods, for network policies. */
  public readonly peer: WorkloadPeer;
  /** Ports, for network policies: `alerting` is the replicas' gossip (TCP and UDP), with more than one replica. */
  public readonly ports = { http: HTTP, alerting: { name: 'alerting', port: ALERTING_PORT } };

  private readonly datasourceList: GrafanaDatasource[] = [];
  private readonly dashboards: GrafanaDashboards;

  public constructor(scope: Construct, id: string, props: GrafanaProps = {}) {
    super(scope, id);
    this.image = props.image ?? IMAGES.grafana;
    this.replicas = props.replicas ?? 1;
    const adminSecretName = props.adminSecretName ?? 'grafana-admin';
    const resources = props.resources ?? {
      cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512),
    };

    const namespace = chartNamespace(this, 'Grafana');
    checkInteger(this, 'replicas', this.replicas, 1, 10);
    if (this.replicas > 1 && !props.databaseUrl) {
      throw validationError(this, `'replicas' must be 1 unless 'databaseUrl' is set (each replica would keep its own SQLite database), got ${this.replicas}`);
    }
    if (props.rootUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(props.rootUrl)) {
      throw validationError(this, `'rootUrl' must be an absolute http(s) URL, got ${show(props.rootUrl)}`);
    }
    const endpoint = endpoints(NAME, namespace, HTTP);
    this.url = endpoint.url(HTTP);
    this.metricsTarget = endpoint.metricsTarget;
    this.peer = endpoint.peer;
    this.dashboards = new GrafanaDashboards(this, NAME);
    for (const ds of props.datasources ?? []) this.addDatasource(ds);

    this.node.addValidation({ validate: () => this.danglingLinks() });

    const clustered = this.replicas > 1;
    const gossip = gossipPorts('alerting', ALERTING_PORT);
    const ini = renderIni({
      server: { http_port: PORT, enable_gzip: true, ...(props.rootUrl ? { root_url: props.rootUrl } : {}) },
      analytics: { reporting_enabled: false, check_for_updates: false, check_for_plugin_updates: false, feedback_links_enabled: false },
      log: { mode: 'console', level: 'info' },
      // JSON, so that Promtail parses level and message like every other log line
      'log.console': { format: 'json' },
      // Secure cookies only behind https: a browser drops them on plain http (a port-forward) and login would loop;
      // SameSite lax, Grafana's default, written out: strict would drop the session on links from alerts and chat
      // (Grafana 13 docs, configure-security-hardening)
      security: { disable_gravatar: true, cookie_secure: props.rootUrl?.startsWith('https://') ?? false, cookie_samesite: 'lax' },
      users: { allow_sign_up: false },
      'auth.anonymous': { enabled: false },
      // plugins come with the pinned image: no downloads from grafana.com at start (reproducible, works without egress)
      plugins: { preinstall_disabled: true },
      unified_storage: { index_path: '/var/lib/grafana-search/bleve' },
      // replicas share the database, and each would evaluate every Grafana-managed alert rule and notify on its own:
      // they gossip instead (Grafana's high-availability set-up), so that each alert is sent once and silences hold
      ...(clustered ? {
        unified_alerting: {
          ha_peers: `${serviceHost(ALERTING_SERVICE, namespace)}:${ALERTING_PORT}`,
          ha_listen_address: `\${POD_IP}:${ALERTING_PORT}`,
          ha_advertise_address: `\${POD_IP}:${ALERTING_PORT}`,
        },
      } : {}),
    });
    const datasourcesYaml = (): string => toYaml(escapeProvisioningDollars({
      apiVersion: 1,
      // datasources removed from code are removed from Grafana too
      prune: true,
      datasources: this.datasourceList,
    }));
    const providersYaml = toYaml({
      apiVersion: 1,
      providers: [{
        name: 'obs-canary',
        orgId: 1,
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: DASHBOARDS_DIR, foldersFromFilesStructure: true },
      }],
    });
    const emptyProvisioning = toYaml({ apiVersion: 1 });

    const config = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${NAME}-config` },
      data: { 'grafana.ini': ini },
    });
    const provisioning = new k8s.KubeConfigMap(this, 'Provisioning', {
      metadata: { name: `${NAME}-provisioning` },
      data: {
        'datasources.yaml': Lazy.any({ produce: datasourcesYaml }),
        'dashboards.yaml': providersYaml,
        'empty.yaml': emptyProvisioning,
      },
    });

    const account = serviceAccount(this, NAME, false);
    service(this, NAME, [HTTP]);
    if (clustered) peerService(this, 'AlertingService', ALERTING_SERVICE, NAME, gossip.service);

    const spread = spreadReplicas(this, {
      name: NAME, replicas: this.replicas, selector: selectorLabels(NAME), kind: 'Deployment',
    });

    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: NAME },
      spec: {
        replicas: this.replicas,
        // longer than the start the startup probe allows: a rollout waiting on the migrations is not "failed"
        progressDeadlineSeconds: STARTUP.periodSeconds * STARTUP.failureThreshold + 300,
        selector: { matchLabels: selectorLabels(NAME) },
        template: {
          metadata: {
            labels: podLabels(NAME, 'dashboards'),
            annotations: {
              // configuration only: dashboards reach Grafana through the provider's polling, without a restart
              'checksum/config': Lazy.any({ produce: () => checksum(ini, datasourcesYaml(), providersYaml) }),
            },
          },
          spec: Lazy.any({
            produce: (): k8s.PodSpec => ({
              serviceAccountName: account.name,
              automountServiceAccountToken: false,
              securityContext: podSecurityContext({ user: 472, group: 472 }),
              ...spread,
              containers: [{
                name: NAME,
                image: this.image,
                ports: [...containerPorts([HTTP]), ...(clustered ? gossip.container : [])],
                env: [
                  ...(clustered ? [fieldEnv('POD_IP', 'status.podIP')] : []),
                  { name: 'GF_PATHS_CONFIG', value: `${CONFIG_DIR}/grafana.ini` },
                  secretEnv('GF_SECURITY_ADMIN_USER', { name: adminSecretName, key: ADMIN_KEYS.user }),
                  secretEnv('GF_SECURITY_ADMIN_PASSWORD', { name: adminSecretName, key: ADMIN_KEYS.password }),
                  secretEnv('GF_SECURITY_SECRET_KEY', { name: adminSecretName, key: ADMIN_KEYS.secretKey }),
                  ...(props.databaseUrl ? [secretEnv('GF_DATABASE_URL', props.databaseUrl)] : []),
                ],
                startupProbe: httpProbe('/api/health', 'http', STARTUP),
                readinessProbe: httpProbe('/api/health', 'http', { periodSeconds: 10, timeoutSeconds: 3 }),
                livenessProbe: httpProbe('/api/health', 'http', { periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 6 }),
                resources: resourceRequirements(resources),
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'provisioning', mountPath: '/etc/grafana/provisioning', readOnly: true },
                  ...this.dashboards.volumeMounts(DASHBOARDS_DIR),
                  { name: 'data', mountPath: '/var/lib/grafana' },
                  { name: 'search', mountPath: '/var/lib/grafana-search' },
                  { name: 'logs', mountPath: '/var/log/grafana' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              }],
              volumes: [
                { name: 'config', configMap: { name: config.name } },
                {
                  name: 'provisioning',
                  configMap: {
                    name: provisioning.name,
                    items: [
                      { key: 'datasources.yaml', path: 'datasources/datasources.yaml' },
                      { key: 'dashboards.yaml', path: 'dashboards/dashboards.yaml' },
                      // Grafana logs an error for each provisioning directory that is missing
                      { key: 'empty.yaml', path: 'alerting/empty.yaml' },
                      { key: 'empty.yaml', path: 'plugins/empty.yaml' },
                    ],
                  },
                },
                ...this.dashboards.volumes(),
                { name: 'data', emptyDir: {} },
                { name: 'search', emptyDir: {} },
                { name: 'logs', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
                { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              ],
            }),
          }),
        },
      },
    });
  }

  /**
   * Provisions a datasource.
   *
   * @throws if its uid or name is already taken
   */
  public addDatasource(datasource: GrafanaDatasource): void {
    if (!GRAFANA_UID.test(datasource.uid)) {
      throw validationError(this, `datasource uid must match ${GRAFANA_UID.source}, got ${show(datasource.uid)}`);
    }
    if (this.datasourceList.some(d => d.uid === datasource.uid || d.name === datasource.name)) {
      throw validationError(this, `datasource ${show(datasource.name)} (uid ${show(datasource.uid)}) is already provisioned`);
    }
    this.datasourceList.push(datasource);
  }

  /** The provisioned datasources (a copy). */
  public get datasources(): readonly GrafanaDatasource[] {
    return [...this.datasourceList];
  }

  /**
   * Provisions a dashboard from code into a folder. Dashboards are read-only in the UI: change them here.
   *
   * @throws if the dashboard has no valid uid, the uid is taken, or the folder's ConfigMap would exceed 900 KiB
   */
  public addDashboard(options: GrafanaDashboardOptions): void {
    this.dashboards.add(options);
  }

  /** Links from one datasource to another, and dashboards' datasources, that name a uid nobody provisions. */
  private danglingLinks(): string[] {
    const uids = new Set(this.datasourceList.map(d => d.uid));
    const errors: string[] = [];
    for (const ds of this.datasourceList) {
      for (const target of referencedDatasourceUids(ds.jsonData)) {
        if (!uids.has(target)) errors.push(`datasource ${show(ds.uid)} links to datasource uid ${show(target)}, which is not provisioned`);
      }
    }
    return [...errors, ...this.dashboards.danglingDatasources(uids)];
  }
}
