import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { ObservabilityComponent } from '../config/egress';
import { EgressPlan, dnsPeer, planEgress } from '../config/egress-plan';
import { EnvironmentConfig, TelemetryGatewaySettings } from '../config/environment';
import { Alertmanager } from '../constructs/alertmanager';
import { Alloy } from '../constructs/alloy';
import { CanaryGate } from '../constructs/canary-gate';
import { Grafana } from '../constructs/grafana';
import { GATEWAY_METRICS, ISTIOD_METRICS_PORT, ISTIOD_XDS_PORT, ingressGatewayScrapeConfig, istiodPeer, istiodScrapeConfig } from '../constructs/istio-scrape';
import { KubeStateMetrics } from '../constructs/kube-state-metrics';
import { Kiali } from '../constructs/kiali';
import {
  SPAN_LOG_LABELS, SPAN_METRIC_LABELS, TENANT_HEADER, alertmanagerDatasource, alertmanagerViewUrl, lokiDatasource, prometheusDatasource,
  tempoDatasource,
} from '../constructs/grafana-datasources';
import { Loki } from '../constructs/loki';
import { Mimir } from '../constructs/mimir';
import { NodeAgentPriority } from '../constructs/node-agent-priority';
import { NetworkFlow, NetworkPolicies, pods } from '../constructs/network-policies';
import { OtelCollector } from '../constructs/otel-collector';
import { Prometheus } from '../constructs/prometheus';
import { RuleGroup } from '../constructs/prometheus-config';
import { Promtail } from '../constructs/promtail';
import { TelemetryGateway } from '../constructs/telemetry-gateway';
import { Tempo } from '../constructs/tempo';
import { PodSecurityLevel, WorkloadPeer } from '../constructs/types';
import { validationError } from '../errors';
import { goDuration } from '../private/units';
import { OBSERVABILITY_NAMESPACE, enforcedPodSecurity, namespaceObject, podSecurityLabels } from './namespaces';
import { ExpectedReplicas } from '../slo/pipeline-alerts';
import { CLUSTER_ATTRIBUTE, CLUSTER_LABEL } from '../slo/vocabulary';
import { StackChart } from './stack-chart';


/** The start of every OTLP gRPC service's path (`/opentelemetry.proto.collector.trace.v1.TraceService/Export`, …). */
const OTLP_GRPC_PACKAGE_PREFIX = 'opentelemetry.proto.collector.';

/** The environment's metrics store, as its writers, readers and rules see it. */
export interface MetricsStore {
  readonly name: string;
  readonly peer: WorkloadPeer;
  /** Its HTTP port: queries and writes. */
  readonly port: { readonly port: number };
  /** The Prometheus-compatible query API's base URL. */
  readonly queryUrl: string;
  /** Answers 200, without a tenant, once the store serves queries (its readiness probe's URL). */
  readonly readyUrl: string;
  readonly remoteWriteUrl: string;
  /** Headers every writer and reader sends: Mimir's tenant. */
  readonly headers: Readonly<Record<string, string>>;
  /** Mimir's tenant. */
  readonly tenant?: string;
  /** Where rule groups are evaluated. */
  readonly rules: { addRuleGroup(group: RuleGroup): void };
}

/** Properties of {@link ObservabilityChart}. */
export interface ObservabilityChartProps {
  readonly env: EnvironmentConfig;
  /**
   * The services' namespaces: kube-state-metrics exports their Deployments, pods and VirtualServices only.
   * @default - kube-state-metrics exports every namespace's
   */
  readonly serviceNamespaces?: readonly string[];
  /**
   * istiod's pods, scraped on 15014 (istioctl's install is the default).
   * @default - `app: istiod` in `apps.istiod.namespace`
   */
  readonly istiod?: WorkloadPeer;
  /**
   * The observability cluster of a central topology: application clusters send through this gateway (mutual TLS at
   * the ingress gateway, a bearer token for OTLP at the Collector).
   * @default - one cluster: the services' pods send to the Collector directly
   */
  readonly gateway?: TelemetryGatewaySettings;
  /**
   * The pods that serve the telemetry gateway's host when they are not the ingress gateway's: its own Envoy
   * ({@link TelemetryGatewayChart}). Scraped like the ingress gateway.
   * @default - the ingress gateway (`apps.ingressGateway`)
   */
  readonly edge?: WorkloadPeer;
  /**
   * The in-cluster URLs of the services whose smoke checks the gate's loop runs through the pin, by service name: the
   * gate's pods then join the mesh (see `CanaryGateProps.smokeUrls`).
   * @default - none
   */
  readonly smokeUrls?: Readonly<Record<string, string>>;
}

/**
 * The `observability` namespace: Prometheus, Grafana, Loki, Alloy or Promtail (`logs.shipper`), Tempo, the
 * OpenTelemetry Collector and kube-state-metrics, wired to each other by reference, behind a default-deny network policy with one allow per flow.
 * Prometheus also scrapes istiod and the ingress gateway in Istio's namespace. With `delivery.loop` "cluster", the SLO
 * gate's CronJob runs here too, measuring in this Prometheus.
 */
export class ObservabilityChart extends StackChart {
  /** Scrapes the cluster: the store itself, or Mimir's agent (`mimir`). */
  public readonly prometheus: Prometheus;
  /** Grafana Mimir, when the environment's metrics store is Mimir. */
  public readonly mimir?: Mimir;
  /** Where metrics are written to, queried and evaluated: Prometheus, or Mimir. */
  public readonly metricsStore: MetricsStore;
  /** Routes, groups and inhibits the alerts Prometheus evaluates, and notifies the environment's receivers. */
  public readonly alertmanager: Alertmanager;
  public readonly grafana: Grafana;
  public readonly loki: Loki;
  /** Promtail, when it ships the logs (`logs.shipper` "promtail"). */
  public readonly promtail?: Promtail;
  /** Grafana Alloy, when it ships the logs (`logs.shipper` "alloy"). */
  public readonly alloy?: Alloy;
  /** Whichever of the two ships the logs. */
  public readonly logShipper: Promtail | Alloy;
  public readonly tempo: Tempo;
  public readonly collector: OtelCollector;
  /** What the cluster runs (Deployments, pod images, VirtualService weights), for the release queries. */
  public readonly kubeStateMetrics: KubeStateMetrics;
  /** The SLO gate's loop, when it runs in the cluster (`delivery.loop` "cluster"). */
  public readonly canaryGate?: CanaryGate;
  /** Kiali, the mesh's traffic graph (view-only), on Prometheus, Tempo and Grafana. */
  public readonly kiali: Kiali;
  /** The components that run a known number of pods (not the per-node shipper), by scrape job: what PipelineReplicasMissing counts. */
  public readonly expectedReplicas: ExpectedReplicas[];
  /** Where application clusters send, in a central topology. */
  public readonly telemetryGateway?: TelemetryGateway;
  /** The pods that serve the telemetry gateway's host. */
  public readonly edge: WorkloadPeer;
  /**
   * The flows between the telemetry gateway's pods and this namespace: allowed here, and to be allowed in the chart of
   * the gateway's namespace when it is one of this project's (`exposure` "loadBalancer").
   */
  public readonly edgeFlows: NetworkFlow[] = [];
  /** The namespace's network policies; the flows to and from the services' namespaces are allowed by {@link defineStack}. */
  public readonly network: NetworkPolicies;
  /** What the environment's egress section asks of this namespace: the grants to outside the cluster and the proxies. */
  public readonly egress: EgressPlan;
  /**
   * The Pod Security level the namespace enforces: `privileged` while a component needs host access (Promtail's
   * hostPath), else `restricted` (with Alloy). Warnings and audit stay at `restricted`, so any other pod that falls short is reported.
   */
  public readonly podSecurityLevel: PodSecurityLevel;

  public constructor(scope: Construct, id: string, props: ObservabilityChartProps) {
    super(scope, id, { namespace: OBSERVABILITY_NAMESPACE });
    const { env } = props;
    this.egress = planEgress(env);
    const { proxies } = this.egress;

    const prometheusProps = {
      volumeSize: env.prometheus.volumeSize,
      storageClassName: env.storageClassName,
      scrapeInterval: env.prometheus.scrapeInterval,
      externalLabels: { [CLUSTER_LABEL]: env.clusterName },
      resources: env.prometheus.resources,
    };
    const alertmanager = (): Alertmanager => new Alertmanager(this, 'Alertmanager', {
      replicas: env.alerting.replicas,
      receivers: env.alerting.receivers,
      ...(env.alerting.heartbeat ? { heartbeat: env.alerting.heartbeat } : {}),
      // the one UI this stack exposes: notifications link to Grafana's view of this Alertmanager
      ...(env.grafana.rootUrl !== undefined ? { consoleUrl: alertmanagerViewUrl(env.grafana.rootUrl) } : {}),
      groupWait: env.alerting.groupWait,
      groupInterval: env.alerting.groupInterval,
      repeatInterval: env.alerting.repeatInterval,
      volumeSize: env.alerting.volumeSize,
      storageClassName: env.storageClassName,
      ...(proxies.alertmanager ? { egressProxy: proxies.alertmanager } : {}),
      // one cluster's burning SLO must not mute another's alerts
      ...(env.topology ? { perCluster: true } : {}),
      // where the alerts come from: Mimir's ruler, or Prometheus evaluating at its scrape interval
      ruleInterval: env.mimir ? Mimir.RULE_INTERVAL : env.prometheus.scrapeInterval,
      resources: env.alerting.resources,
    });
    if (env.mimir) {
      // Mimir is the store: it evaluates the rules and alerts; Prometheus scrapes this cluster and writes to it
      this.alertmanager = alertmanager();
      this.mimir = new Mimir(this, 'Mimir', {
        replicas: env.mimir.replicas,
        retention: env.mimir.retention,
        volumeSize: env.mimir.volumeSize,
        storageClassName: env.storageClassName,
        ...(env.objectStorage ? { objectStorage: env.objectStorage, bucket: env.mimir.bucket } : {}),
        tenant: env.mimir.tenant,
        ...(env.mimir.maxSeries !== undefined ? { maxSeries: env.mimir.maxSeries } : {}),
        ...(env.mimir.ingestionRate !== undefined ? { ingestionRate: env.mimir.ingestionRate } : {}),
        alertmanagerUrl: this.alertmanager.instances.map(instance => `http://${instance}`).join(','),
        ...(proxies.mimir ? { egressProxy: proxies.mimir } : {}),
        resources: env.mimir.resources,
      });
      const tenant = { [TENANT_HEADER]: env.mimir.tenant };
      this.metricsStore = {
        name: this.mimir.name, peer: this.mimir.peer, port: this.mimir.ports.http, queryUrl: this.mimir.prometheusUrl, readyUrl: this.mimir.readyUrl,
        remoteWriteUrl: this.mimir.remoteWriteUrl, headers: tenant, tenant: env.mimir.tenant, rules: this.mimir,
      };
      this.prometheus = new Prometheus(this, 'Prometheus', { ...prometheusProps, agent: { remoteWriteUrl: this.mimir.remoteWriteUrl, headers: tenant } });
    } else {
      this.prometheus = new Prometheus(this, 'Prometheus', { ...prometheusProps, retention: env.prometheus.retention });
      this.alertmanager = alertmanager();
      this.prometheus.sendAlertsTo(this.alertmanager.instances);
      const { prometheus } = this;
      this.metricsStore = {
        name: prometheus.name, peer: prometheus.peer, port: prometheus.ports.http, queryUrl: prometheus.url, readyUrl: prometheus.readyUrl,
        remoteWriteUrl: prometheus.remoteWriteUrl, headers: {}, rules: prometheus,
      };
    }
    const store = this.metricsStore;
    const storeHeaders = Object.keys(store.headers).length > 0 ? store.headers : undefined;

    this.loki = new Loki(this, 'Loki', {
      replicas: env.loki.replicas,
      retention: env.loki.retention,
      volumeSize: env.loki.volumeSize,
      storageClassName: env.storageClassName,
      objectStorage: env.objectStorage,
      ...(proxies.loki ? { egressProxy: proxies.loki } : {}),
      resources: env.loki.resources,
    });
    // the log shipper runs on every node, a full one too
    const { name: priorityClassName } = new NodeAgentPriority(this, 'NodeAgentPriority');
    if (env.logs.shipper === 'alloy') {
      this.logShipper = this.alloy = new Alloy(this, 'Alloy', {
        lokiPushUrl: this.loki.pushUrl, clusterName: env.clusterName, priorityClassName, resources: env.alloy.resources,
      });
    } else {
      this.logShipper = this.promtail = new Promtail(this, 'Promtail', {
        lokiPushUrl: this.loki.pushUrl, clusterName: env.clusterName, priorityClassName, resources: env.promtail.resources,
      });
    }
    this.tempo = new Tempo(this, 'Tempo', {
      retention: env.tempo.retention,
      volumeSize: env.tempo.volumeSize,
      storageClassName: env.storageClassName,
      objectStorage: env.objectStorage,
      ...(proxies.tempo ? { egressProxy: proxies.tempo } : {}),
      remoteWriteUrl: store.remoteWriteUrl,
      ...(storeHeaders ? { remoteWriteHeaders: storeHeaders } : {}),
      // a central Tempo takes the application clusters' spans: each series names the cluster its spans came from, not
      // the cluster Tempo runs in
      ...(env.topology ? { metricsDimensions: [CLUSTER_ATTRIBUTE] } : { externalLabels: { [CLUSTER_LABEL]: env.clusterName } }),
      resources: env.tempo.resources,
    });
    this.collector = new OtelCollector(this, 'Collector', {
      tempoOtlpGrpcEndpoint: this.tempo.otlpGrpcEndpoint,
      lokiOtlpUrl: this.loki.otlpUrl,
      prometheusRemoteWriteUrl: store.remoteWriteUrl,
      ...(storeHeaders ? { prometheusRemoteWriteHeaders: storeHeaders } : {}),
      replicas: env.collector.replicas,
      samplingPercent: env.collector.samplingPercent,
      clusterName: env.clusterName,
      ...(props.gateway ? { senderToken: props.gateway.token } : {}),
      resources: env.collector.resources,
    });
    // the gateway's pods: the cluster's ingress gateway, or the telemetry gateway's own Envoy
    this.edge = props.edge ?? { name: 'ingress-gateway', ...env.apps.ingressGateway };
    if (props.gateway) {
      this.telemetryGateway = new TelemetryGateway(this, 'TelemetryGateway', {
        host: props.gateway.host,
        credentialName: props.gateway.credentialName,
        selector: this.edge.selector,
        routes: [
          // gRPC's paths are /<package>.<Service>/<Method>: every OTLP export service
          { name: 'otlp', path: { prefix: `/${OTLP_GRPC_PACKAGE_PREFIX}` }, url: this.collector.otlpGrpcUrl },
          { name: 'logs', path: { exact: new URL(this.loki.pushUrl).pathname }, url: this.loki.pushUrl },
          { name: 'metrics', path: { exact: new URL(store.remoteWriteUrl).pathname }, url: store.remoteWriteUrl },
        ],
      });
    }
    this.grafana = new Grafana(this, 'Grafana', {
      replicas: env.grafana.replicas,
      adminSecretName: env.grafana.adminSecretName,
      databaseUrl: env.grafana.databaseUrl,
      rootUrl: env.grafana.rootUrl,
      resources: env.grafana.resources,
      datasources: [
        prometheusDatasource({
          url: store.queryUrl,
          scrapeInterval: goDuration(env.prometheus.scrapeInterval),
          ...(store.tenant !== undefined ? { tenant: store.tenant } : {}),
        }),
        lokiDatasource({ url: this.loki.url }),
        tempoDatasource({
          url: this.tempo.url,
          // a span names its cluster (the Collectors set it), and so do the log streams and the span metrics, by a
          // label: a span's links select its own cluster's logs and metrics, not every cluster's service of that name
          logLabels: [...SPAN_LOG_LABELS, { key: CLUSTER_ATTRIBUTE, value: CLUSTER_LABEL }],
          metricLabels: [
            // a label of its own where the spans come from several clusters, else the external label
            ...SPAN_METRIC_LABELS, { key: CLUSTER_ATTRIBUTE, value: this.tempo.metricLabelOf(CLUSTER_ATTRIBUTE) ?? CLUSTER_LABEL },
          ],
        }),
        alertmanagerDatasource({ url: this.alertmanager.url }),
      ],
    });

    const components = [this.alertmanager, this.grafana, this.loki, this.logShipper, this.tempo, this.collector, ...(this.mimir ? [this.mimir] : [])];
    for (const component of components) {
      this.prometheus.scrape(component.metricsTarget);
    }
    this.kubeStateMetrics = new KubeStateMetrics(this, 'KubeStateMetrics', {
      ...(props.serviceNamespaces ? { namespaces: props.serviceNamespaces } : {}),
      // the gate's CronJob, below: CanaryGateStalled reads when it last succeeded
      ...(env.delivery.loop === 'cluster' ? { cronJobNamespaces: [OBSERVABILITY_NAMESPACE] } : {}),
    });
    // its series name the objects' namespace and pod: its own job honours them instead of adding the target's
    this.prometheus.addScrapeConfig(this.kubeStateMetrics.scrapeConfig);
    // istiod's pods: the sidecars', Prometheus' and Kiali's one idea of where the control plane runs
    const istiod = props.istiod ?? istiodPeer(env.apps.istiod.namespace);
    this.kiali = new Kiali(this, 'Kiali', {
      auth: env.kiali.auth,
      prometheusUrl: store.queryUrl,
      prometheusHealthUrl: store.readyUrl,
      ...(storeHeaders ? { prometheusHeaders: storeHeaders } : {}),
      ...(env.mimir ? {
        prometheusProxy: { retention_period: goDuration(env.mimir.retention), scrape_interval: goDuration(env.prometheus.scrapeInterval) },
      } : {}),
      grafanaUrl: this.grafana.url,
      ...(env.grafana.rootUrl ? { grafanaExternalUrl: env.grafana.rootUrl } : {}),
      tempoUrl: this.tempo.url,
      ...(props.serviceNamespaces ? { namespaces: [...props.serviceNamespaces, istiod.namespace] } : {}),
      ...(env.kiali.rootUrl ? { rootUrl: env.kiali.rootUrl } : {}),
      resources: env.kiali.resources,
    });
    this.prometheus.scrape(this.kiali.metricsTarget);
    // every component but the per-node shipper and Prometheus itself (which evaluates the rules): a pod of theirs that
    // never starts is never a scrape target
    const carried = new Map<object, string>([
      [this.alertmanager, 'the alerts'], [this.loki, 'the logs'], [this.tempo, 'the traces'], [this.collector, 'the spans, logs and metrics'],
      ...(this.mimir ? [[this.mimir, 'the metrics'] as [object, string]] : []),
    ]);
    this.expectedReplicas = [...components.filter(c => c !== this.logShipper), this.kubeStateMetrics, this.kiali].map(c => ({
      job: c.metricsTarget.job, namespace: c.metricsTarget.namespace, replicas: 'replicas' in c && typeof c.replicas === 'number' ? c.replicas : 1,
      ...(carried.has(c) ? { carries: carried.get(c)! } : {}),
    }));
    // Istio's control plane and the edge (503s the gateway answers before any service sees the request)
    this.prometheus.addScrapeConfig(istiodScrapeConfig(istiod));
    this.prometheus.addScrapeConfig(ingressGatewayScrapeConfig({ name: 'ingress-gateway', ...env.apps.ingressGateway }));
    if (props.edge) this.prometheus.addScrapeConfig(ingressGatewayScrapeConfig(props.edge, props.edge.name));
    // the kubelets' PersistentVolume usage, which VolumeFillingUp reads; their egress is the `kubelet` dependency
    this.prometheus.scrapeKubelets();

    if (env.delivery.loop === 'cluster') {
      const auth = env.delivery.prometheusAuth;
      this.canaryGate = new CanaryGate(this, 'CanaryGate', {
        environment: env.name,
        repoUrl: env.gitops.repoURL,
        branch: env.gitops.targetRevision,
        gitCredentials: env.delivery.gitCredentials,
        interval: Duration.minutes(env.delivery.intervalMinutes),
        prometheusUrl: store.queryUrl,
        prometheusToken: auth?.token,
        prometheusUsername: auth?.basicAuth?.username,
        prometheusPassword: auth?.basicAuth?.password,
        prometheusHeaders: storeHeaders || auth?.headers ? { ...storeHeaders, ...auth?.headers } : undefined,
        webhook: env.delivery.webhook,
        ...(proxies['canary-gate'] ? { egressProxy: proxies['canary-gate'] } : {}),
        ...(props.smokeUrls ? { smokeUrls: props.smokeUrls } : {}),
      });
    }

    // only the components that take proxy settings may be given one
    const proxied: readonly ObservabilityComponent[] = ['loki', 'tempo', 'alertmanager', 'canary-gate', 'mimir'];
    const unproxied = (Object.keys(proxies) as ObservabilityComponent[]).filter(c => !proxied.includes(c));
    if (unproxied.length > 0) {
      throw validationError(this, `${unproxied.join(', ')} cannot send through an egress proxy: only Loki, Tempo, Mimir, Alertmanager and the canary gate take one`);
    }

    this.podSecurityLevel = enforcedPodSecurity([this.logShipper.podSecurityLevel]);
    namespaceObject(this, OBSERVABILITY_NAMESPACE, podSecurityLabels(this.podSecurityLevel));

    this.network = new NetworkPolicies(this, 'NetworkPolicies');
    this.allowFlows(env, istiod, props.edge !== undefined);
  }

  private allowFlows(env: EnvironmentConfig, istiod: WorkloadPeer, ownEdge: boolean): void {
    const { prometheus, alertmanager, grafana, loki, logShipper, tempo, collector, kubeStateMetrics, canaryGate, kiali, network, mimir } = this;
    // the metrics store: Prometheus, or Mimir (which Prometheus then writes to)
    const store = this.metricsStore;
    const port = (p: { port: number }) => [{ port: p.port }];
    if (this.telemetryGateway) {
      // what the application clusters send, after the gateway checked their client certificates
      const { edge } = this;
      this.edgeFlows.push(
        { name: `${edge.name}-to-collector`, from: pods(edge), to: pods(collector.peer), ports: port(collector.ports.otlpGrpc) },
        { name: `${edge.name}-to-loki`, from: pods(edge), to: pods(loki.peer), ports: port(loki.ports.http) },
        { name: `${edge.name}-to-${store.name}`, from: pods(edge), to: pods(store.peer), ports: port(store.port) },
      );
    }
    if (ownEdge) {
      // the edge's refusals and errors, as for the ingress gateway (whose scrape is allowed below)
      this.edgeFlows.push({ name: `prometheus-to-${this.edge.name}`, from: pods(prometheus.peer), to: pods(this.edge), ports: [{ port: GATEWAY_METRICS.port }] });
    }
    for (const flow of this.edgeFlows) network.allow(flow);
    network.allow({ name: 'dns', from: { kind: 'namespace', namespace: OBSERVABILITY_NAMESPACE }, to: dnsPeer(env.egress.dns), ports: env.egress.dns.ports });
    network.allow({ name: `${logShipper.name}-to-loki`, from: pods(logShipper.peer), to: pods(loki.peer), ports: port(loki.ports.http) });
    network.allow({ name: 'collector-to-tempo', from: pods(collector.peer), to: pods(tempo.peer), ports: port(tempo.ports.otlpGrpc) });
    network.allow({ name: 'collector-to-loki', from: pods(collector.peer), to: pods(loki.peer), ports: port(loki.ports.http) });
    network.allow({ name: `collector-to-${store.name}`, from: pods(collector.peer), to: pods(store.peer), ports: port(store.port) });
    network.allow({ name: `tempo-to-${store.name}`, from: pods(tempo.peer), to: pods(store.peer), ports: port(store.port) });
    network.allow({ name: `grafana-to-${store.name}`, from: pods(grafana.peer), to: pods(store.peer), ports: port(store.port) });
    if (canaryGate) {
      network.allow({ name: `canary-gate-to-${store.name}`, from: pods(canaryGate.peer), to: pods(store.peer), ports: port(store.port) });
      // a sidecar's xDS and certificates
      if (canaryGate.inMesh) network.allow({ name: 'canary-gate-sidecar-to-istiod', from: pods(canaryGate.peer), to: pods(istiod), ports: [{ port: ISTIOD_XDS_PORT }] });
    }
    network.allow({
      name: 'grafana-to-alertmanager', from: pods(grafana.peer), to: pods(alertmanager.peer), ports: port(alertmanager.ports.http),
    });
    network.allow({ name: 'grafana-to-loki', from: pods(grafana.peer), to: pods(loki.peer), ports: port(loki.ports.http) });
    network.allow({ name: 'grafana-to-tempo', from: pods(grafana.peer), to: pods(tempo.peer), ports: port(tempo.ports.http) });
    network.allow({ name: 'users-to-grafana', from: { kind: 'anywhere' }, to: pods(grafana.peer), ports: port(grafana.ports.http) });
    network.allow({ name: `kiali-to-${store.name}`, from: pods(kiali.peer), to: pods(store.peer), ports: port(store.port) });
    network.allow({ name: 'kiali-to-grafana', from: pods(kiali.peer), to: pods(grafana.peer), ports: port(grafana.ports.http) });
    network.allow({ name: 'kiali-to-tempo', from: pods(kiali.peer), to: pods(tempo.peer), ports: port(tempo.ports.http) });
    network.allow({ name: 'users-to-kiali', from: { kind: 'anywhere' }, to: pods(kiali.peer), ports: port(kiali.ports.http) });
    // prometheus-to-alertmanager carries the alerts as well as the scrapes: one port, 9093
    const scraped = [
      [alertmanager, alertmanager.ports.http], [grafana, grafana.ports.http], [loki, loki.ports.http], [logShipper, logShipper.ports.http],
      [tempo, tempo.ports.http],
      [collector, collector.ports.metrics], [kubeStateMetrics, kubeStateMetrics.ports.metrics], [kiali, kiali.ports.metrics],
    ] as const;
    for (const [component, p] of scraped) {
      network.allow({ name: `prometheus-to-${component.name}`, from: pods(prometheus.peer), to: pods(component.peer), ports: port(p) });
    }
    // Istio's namespace is not ours: only the egress half is rendered here (istio-system has no default deny of ours)
    const gateway = { name: 'ingress-gateway', ...env.apps.ingressGateway };
    network.allow({ name: 'prometheus-to-istiod', from: pods(prometheus.peer), to: pods(istiod), ports: port(ISTIOD_METRICS_PORT) });
    // Kiali asks istiod's monitoring port for its version; the debug interface (8080) would need the API server's
    // port-forward, which Kiali is not granted
    network.allow({
      name: 'kiali-to-istiod', from: pods(kiali.peer), to: pods(istiod), ports: port(ISTIOD_METRICS_PORT),
    });
    network.allow({ name: 'prometheus-to-ingress-gateway', from: pods(prometheus.peer), to: pods(gateway), ports: port(GATEWAY_METRICS) });
    // the only traffic that leaves the cluster: each component to the dependencies it uses, or to their proxy
    const components: Readonly<Partial<Record<ObservabilityComponent, { readonly name: string; readonly peer: WorkloadPeer }>>> = {
      prometheus, alertmanager, grafana, loki, [logShipper.name]: logShipper, tempo, collector, 'kube-state-metrics': kubeStateMetrics, 'canary-gate': canaryGate, kiali,
      mimir,
    };
    for (const grant of this.egress.grants) {
      const component = components[grant.component];
      // the dependency table and the chart disagree on whether the component runs here
      if (!component) throw validationError(this, `${grant.component} is granted egress to ${grant.flow} but does not run in this environment`);
      network.allow({ name: `${component.name}-to-${grant.flow}`, from: pods(component.peer), to: grant.to, ports: grant.ports });
    }
    // gossip between a component's replicas, on one port, TCP and UDP
    const gossip = (component: { readonly name: string; readonly peer: WorkloadPeer }, number: number): void => network.allow({
      name: `${component.name}-to-${component.name}`, from: pods(component.peer), to: pods(component.peer),
      ports: [{ port: number, protocol: 'TCP' }, { port: number, protocol: 'UDP' }],
    });
    // Alertmanager's silences and notification log; Grafana's alerting (each alert notified once, silences shared)
    if (alertmanager.replicas > 1) gossip(alertmanager, alertmanager.ports.cluster.port);
    if (grafana.replicas > 1) gossip(grafana, grafana.ports.alerting.port);
    if (mimir) {
      // its agent writes (and scrapes Mimir's metrics on the same port); the ruler sends alerts; the replicas talk
      network.allow({ name: 'prometheus-to-mimir', from: pods(prometheus.peer), to: pods(mimir.peer), ports: port(mimir.ports.http) });
      network.allow({ name: 'mimir-to-alertmanager', from: pods(mimir.peer), to: pods(alertmanager.peer), ports: port(alertmanager.ports.http) });
      network.allow({
        name: 'mimir-to-mimir', from: pods(mimir.peer), to: pods(mimir.peer),
        ports: [...port(mimir.ports.http), ...port(mimir.ports.grpc), ...port(mimir.ports.memberlist)],
      });
    }
    if (loki.replicas > 1) {
      network.allow({
        name: 'loki-to-loki', from: pods(loki.peer), to: pods(loki.peer),
        ports: [...port(loki.ports.http), ...port(loki.ports.grpc), ...port(loki.ports.memberlist)],
      });
    }
  }
}
