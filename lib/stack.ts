import { App, Chart, Duration } from 'cdk8s';
import { ArgoCdChart, BootstrapChart, PROJECT } from './charts/argocd-chart';
import { ClusterAgentsChart } from './charts/cluster-agents-chart';
import { TELEMETRY_GATEWAY_NAMESPACE, TelemetryGatewayChart } from './charts/telemetry-gateway-chart';
import { ENVOY_METRICS_PORT, MERGED_METRICS_PORT, OBSERVABILITY_NAMESPACE } from './charts/namespaces';
import { ObservabilityChart } from './charts/observability-chart';
import { ServicesChart, peerOf } from './charts/services-chart';
import { ConfigError } from './config/checks';
import { CentralTopology, EnvironmentConfig } from './config/environment';
import { ChartApplication } from './constructs/argocd-applications';
import { CanaryService } from './constructs/canary-service';
import { ServicePort } from './constructs/private/component';
import { WorkloadPeer } from './constructs/types';
import { NetworkFlow, pods } from './constructs/network-policies';
import { dashboardUrl } from './constructs/grafana-datasources';
import { serviceScrapeConfigs } from './constructs/istio-scrape';
import { canaryDashboardUid, pipelineDashboard, serviceDashboards } from './dashboards';
import { parseDuration } from './rollout/duration';
import { settingsOf } from './rollout/settings';
import { StateError } from './rollout/state';
import { Rollouts, rolloutFile } from './rollout/store';
import { Services, serviceNamespaces } from './services/catalog';
import { ServiceFileError, ServiceSpec } from './services/service';
import { sloAlertingRules } from './slo/alerting-rules';
import { clusterAlertingRules } from './slo/cluster-alerts';
import { pipelineAlertingRules } from './slo/pipeline-alerts';
import { sloRecordingRules } from './slo/recording-rules';
import { SCRAPES_PER_WINDOW } from './slo/vocabulary';
import { goDuration } from './private/units';

/** The Grafana folder of the platform's own dashboards. */
const PLATFORM_FOLDER = 'Platform';

/** What one environment is rendered from. */
export interface StackInput {
  readonly env: EnvironmentConfig;
  /** Every service file (`services/`). */
  readonly services: Services;
  /** The rollout state of every service (`rollout/<env>/`). */
  readonly rollouts: Rollouts;
}

/** The charts of an environment; each becomes a directory `dist/<env>/<chart id>/`. */
export interface Stack {
  readonly observability: ObservabilityChart;
  /** One chart per namespace of services, by namespace (`apps` unless the service files name others). */
  readonly namespaces: Readonly<Record<string, ServicesChart>>;
  readonly argocd: ArgoCdChart;
  readonly bootstrap: BootstrapChart;
  /** A central topology's application clusters, by name: their agents and services' namespaces. */
  readonly clusters?: Readonly<Record<string, AppClusterCharts>>;
}

/** The charts of one application cluster. */
export interface AppClusterCharts {
  readonly agents: ClusterAgentsChart;
  /** One chart per namespace of services. */
  readonly namespaces: Readonly<Record<string, ServicesChart>>;
}

/** Chart ids that are not namespaces of services. */
const CHARTS = ['observability', 'argocd', 'bootstrap'];

/** Defines every chart of an environment in `app`. */
export function defineStack(app: App, input: StackInput): Stack {
  const { env, services } = input;
  checkNamespaces(env, services);
  checkAnalysisWindows(env, input.rollouts, services);
  if (env.topology) return defineCentralStack(app, input, env.topology);
  const names = serviceNamespaces(services);
  // the gate's loop in this cluster runs the services' smoke checks through the pin, from inside the mesh
  const smoked = withSmokeChecks(services);
  const smokeUrls = Object.fromEntries(smoked.map(s => [s.name, CanaryService.urlOf(s.name, s.namespace, s.port)]));
  const observability = new ObservabilityChart(app, 'observability', {
    env, serviceNamespaces: names, ...(env.delivery.loop === 'cluster' && smoked.length > 0 ? { smokeUrls } : {}),
  });
  const { collector, prometheus } = observability;
  const namespaces = defineServiceCharts(app, input, {
    otlp: { peer: collector.peer, ports: [collector.ports.otlpGrpc, collector.ports.otlpHttp], url: collector.otlpGrpcUrl, name: 'collector' },
    prometheus: prometheus.peer,
    charts: { observability },
  });
  const gate = observability.canaryGate;
  if (gate?.inMesh) {
    for (const spec of smoked) {
      const chart = namespaces[spec.namespace];
      const flow: NetworkFlow = { name: `canary-gate-smoke-${spec.name}`, from: pods(gate.peer), to: pods(peerOf(spec)), ports: [{ port: spec.port }] };
      allowAtBothEnds(flow, observability, chart);
      // its smoke checks and nothing else: GET on their paths (the pin header picks the canary)
      chart.mesh.allow({
        name: `canary-gate-smoke-${spec.name}`, selector: peerOf(spec).selector, principals: [gate.principal],
        to: { methods: ['GET'], paths: [...new Set(spec.smoke!.map(check => check.path.replace(/[?#].*$/, '')))].sort() },
      });
    }
  }

  for (const job of serviceScrapeConfigs(names)) prometheus.addScrapeConfig(job);
  addRulesAndDashboards(observability, input);

  const path = `dist/${env.name}`;
  const bootstrap = new BootstrapChart(app, 'bootstrap', { gitops: env.gitops, path: `${path}/argocd` });
  const argocd = new ArgoCdChart(app, 'argocd', {
    gitops: env.gitops,
    path,
    bootstrap,
    applications: [
      { chart: 'observability', namespace: OBSERVABILITY_NAMESPACE, syncWave: 0, source: observability },
      ...names.map(namespace => ({ chart: namespace, namespace, syncWave: 1, source: namespaces[namespace] })),
    ],
  });
  return { observability, namespaces, argocd, bootstrap };
}

/** Where a cluster's services send telemetry, and who scrapes them. */
interface ServiceTelemetryEnds {
  /** The OTLP receiver of the cluster: the Collector, or an app cluster's node-local agent. */
  readonly otlp: { readonly name: string; readonly peer: WorkloadPeer; readonly ports: readonly ServicePort[]; readonly url: string };
  /** The Prometheus that scrapes the services. */
  readonly prometheus: WorkloadPeer;
  /** The chart those two are in (its half of each flow is rendered there). */
  readonly charts: { readonly observability: FlowChart };
}

/**
 * The charts of the services' namespaces of one cluster, with the flows between them, to the cluster's OTLP receiver
 * and from its Prometheus.
 */
function defineServiceCharts(app: App, input: StackInput, ends: ServiceTelemetryEnds, cluster?: string): Record<string, ServicesChart> {
  const { env, services, rollouts } = input;
  const names = serviceNamespaces(services);
  const namespaces: Record<string, ServicesChart> = {};
  for (const namespace of names) {
    namespaces[namespace] = new ServicesChart(app, cluster ? `${cluster}-${namespace}` : namespace, {
      env, namespace, services, rollouts, otlpEndpoint: ends.otlp.url, ...(cluster ? { directory: `${CLUSTERS_DIR}/${cluster}/${namespace}` } : {}),
    });
  }
  for (const namespace of names) {
    const everyPod = { kind: 'namespace', namespace } as const;
    const origin = { file: Object.values(services).find(s => s.namespace === namespace)!.file, field: `'namespace' (${JSON.stringify(namespace)})` };
    allowServiceFlow(origin, {
      name: `${namespace}-to-${ends.otlp.name}`, from: everyPod, to: pods(ends.otlp.peer), ports: ends.otlp.ports.map(p => ({ port: p.port })),
    }, ends.charts.observability, namespaces[namespace]);
    allowServiceFlow(origin, {
      name: `prometheus-to-${namespace}`, from: pods(ends.prometheus), to: everyPod, ports: [{ port: MERGED_METRICS_PORT }, { port: ENVOY_METRICS_PORT }],
    }, ends.charts.observability, namespaces[namespace]);
  }
  for (const spec of Object.values(services)) {
    for (const [i, caller] of (spec.callers ?? []).entries()) {
      const from = services[caller];
      allowServiceFlow({ file: spec.file, field: `'callers[${i}]' (${JSON.stringify(caller)})` },
        { name: `${caller}-to-${spec.name}`, from: pods(peerOf(from)), to: pods(peerOf(spec)), ports: [{ port: spec.port }] },
        namespaces[from.namespace], namespaces[spec.namespace]);
    }
    // the service's chart allows the ingress half of each identity's flow; an identity in another of the services'
    // namespaces needs its egress half there, past that namespace's default deny (same name, so the halves pair up)
    for (const [i, identity] of (spec.callerIdentities ?? []).entries()) {
      const home = namespaces[identity.namespace];
      if (!home || identity.namespace === spec.namespace) continue;
      allowAtBothEnds({
        name: `identity-${i}-to-${spec.name}`, from: { kind: 'namespace', namespace: identity.namespace }, to: pods(peerOf(spec)),
        ports: [{ port: spec.port }],
      }, home);
    }
  }
  return namespaces;
}

/** The SLO's recording and alerting rules, the pipeline's alerts and the dashboards, in the environment's observability stack. */
function addRulesAndDashboards(observability: ObservabilityChart, input: StackInput): void {
  const { env, services, rollouts } = input;
  const appClusters = env.topology?.appClusters.map(c => c.name);
  // Prometheus's rules, or Mimir's ruler's
  const { rules } = observability.metricsStore;
  // a store of several clusters keeps them apart: each cluster's burn rate, latency and alerts are its own; a store
  // that application clusters write to (Mimir, or Prometheus as their receiver) and Mimir's ruler evaluate
  // remote-written samples, which may arrive late
  const options = { perCluster: env.topology !== undefined, remoteWritten: env.topology !== undefined || env.mimir !== undefined };
  for (const group of sloRecordingRules(services, options)) rules.addRuleGroup(group);
  // each environment's effective SLO: the same settings the gate and the dashboards use
  const { rootUrl } = env.grafana;
  // the canary dashboard: every service has one, and it compares the tracks the runbooks send the responder to
  const linked = rootUrl !== undefined ? (name: string) => dashboardUrl(rootUrl, canaryDashboardUid(name)) : undefined;
  for (const group of sloAlertingRules(services, name => settingsOf(rollouts[name], services[name]).slo, env.name, linked)) {
    rules.addRuleGroup(group);
  }
  const gate = observability.canaryGate;
  rules.addRuleGroup(pipelineAlertingRules(env.logs.shipper, env.mimir ? 'mimir' : 'prometheus',
    gate ? { namespace: gate.peer.namespace, cronJob: gate.name, intervalMinutes: env.delivery.intervalMinutes, environment: env.name } : undefined,
    env.alerting.heartbeat !== undefined,
    // a store of several clusters' series (Mimir): the stack's own carry the observability cluster's name
    { components: observability.expectedReplicas, ...(env.mimir ? { cluster: env.clusterName } : {}) }));
  // an application cluster that falls silent pages, rather than its releases holding with no one told; so does the
  // observability cluster's own agent where Mimir's ruler, not the Prometheus that scrapes, evaluates the rules
  if (appClusters || env.mimir) {
    rules.addRuleGroup(clusterAlertingRules(appClusters ?? [], { mimir: env.mimir !== undefined, observabilityCluster: env.clusterName }));
  }
  const dashboards = serviceDashboards(services, name => {
    const state = rollouts[name];
    const { slo, analysis } = settingsOf(state, services[name]);
    return {
      slo, window: analysis.window, canaryTrafficFactor: analysis.canaryTrafficFactor, canaryWeight: state.canary?.weight ?? 0,
      stableImage: state.stable.image, ...(state.canary ? { canaryImage: state.canary.image } : {}),
      // without a root URL the dashboards link to the port-forward address, and say so
      ...(env.kiali.rootUrl ? { kialiConsoleUrl: observability.kiali.consoleUrl } : {}),
    };
  }, appClusters ? { clusters: appClusters } : {});
  for (const dashboard of dashboards) observability.grafana.addDashboard(dashboard);
  // a central store holds every cluster's pipeline: the observability cluster's own and each application cluster's
  const pipelineClusters = appClusters ? { clusters: [env.clusterName, ...appClusters] } : {};
  observability.grafana.addDashboard({ folder: PLATFORM_FOLDER, dashboard: pipelineDashboard({ shipper: env.logs.shipper, ...pipelineClusters }) });
}

/** The directory of the application clusters' charts, below the environment's. */
export const CLUSTERS_DIR = 'clusters';

/**
 * A central topology: the observability cluster's charts (the stack, with the telemetry gateway), and for each
 * application cluster its agents and its services' namespaces (`clusters/<name>/…`); one Argo CD (in the observability
 * cluster) deploys them all, each Application to its cluster.
 */
function defineCentralStack(app: App, input: StackInput, topology: CentralTopology): Stack {
  const { env, services } = input;
  // the in-cluster gate runs in the observability cluster's mesh; the pin answers in each application cluster's: it
  // could never run these checks, and would hold each canary until its holds ran out and roll it back
  const unreachable = withSmokeChecks(services);
  if (env.delivery.loop === 'cluster' && unreachable.length > 0) {
    throw new ConfigError(`environment ${JSON.stringify(env.name)}`, ['\'delivery.loop\' must be "github" with a central topology while a service names '
      + `smoke checks (${unreachable.map(s => s.file).join(', ')}), got "cluster": the gate in the observability cluster cannot reach the pin in `
      + 'the application clusters; gate from promote.yml (SMOKE_URLS through the edge, its runners in apps.canaryPinSources), or leave smoke out']);
  }
  // promote.yml's runners reach the pin through each cluster's edge only from apps.canaryPinSources: with none, the
  // edge strips the header, stable answers the checks, and each canary holds until its holds run out
  if (env.delivery.loop === 'github' && unreachable.length > 0 && env.apps.canaryPinSources.length === 0) {
    throw new ConfigError(`environment ${JSON.stringify(env.name)}`, ['\'apps.canaryPinSources\' must name the addresses of the runners that '
      + `gate from promote.yml with a central topology while a service names smoke checks (${unreachable.map(s => s.file).join(', ')}), got []: `
      + 'each cluster\'s edge ignores the pin from anywhere else, so the checks would reach stable and every canary would hold, then roll back. '
      + 'GitHub-hosted runners have no fixed addresses: use self-hosted runners or runners with static egress, or leave smoke out']);
  }
  const names = serviceNamespaces(services);
  const exposure = topology.gateway.exposure ?? { kind: 'ingressGateway' };
  // a gateway of its own (exposure "loadBalancer") lives in a namespace of its own, beside only its credential
  const gatewayChart = exposure.kind === 'loadBalancer' ? new TelemetryGatewayChart(app, TELEMETRY_GATEWAY_NAMESPACE, {
    dns: env.egress.dns,
    istiodNamespace: env.apps.istiod.namespace,
    ...(exposure.replicas !== undefined ? { replicas: exposure.replicas } : {}),
    ...(exposure.serviceAnnotations ? { serviceAnnotations: exposure.serviceAnnotations } : {}),
    ...(exposure.sourceRanges ? { sourceRanges: exposure.sourceRanges } : {}),
  }) : undefined;
  const observability = new ObservabilityChart(app, 'observability', {
    env, gateway: topology.gateway, ...(gatewayChart ? { edge: { ...gatewayChart.proxy.peer, name: gatewayChart.proxy.name } } : {}),
  });
  // a flow between two namespaces is allowed in the chart of each end
  for (const flow of gatewayChart ? observability.edgeFlows : []) gatewayChart!.network.allow(flow);
  addRulesAndDashboards(observability, input);
  const gateway = observability.telemetryGateway!;
  const endpoints = {
    otlp: gateway.otlpEndpoint,
    lokiPushUrl: `${gateway.baseUrl}${new URL(observability.loki.pushUrl).pathname}`,
    remoteWriteUrl: `${gateway.baseUrl}${new URL(observability.metricsStore.remoteWriteUrl).pathname}`,
    remoteWriteHeaders: observability.metricsStore.headers,
  };
  const clusters: Record<string, AppClusterCharts> = {};
  const applications: Array<ChartApplication & { source: Chart }> = [
    {
      chart: 'observability', name: `${PROJECT}-${env.name}-observability`, namespace: OBSERVABILITY_NAMESPACE, syncWave: 0, source: observability,
      ...(topology.observabilityServer ? { server: topology.observabilityServer } : {}),
    },
    ...(gatewayChart ? [{
      chart: TELEMETRY_GATEWAY_NAMESPACE, name: `${PROJECT}-${env.name}-${TELEMETRY_GATEWAY_NAMESPACE}`, namespace: TELEMETRY_GATEWAY_NAMESPACE,
      syncWave: 0, source: gatewayChart, ...(topology.observabilityServer ? { server: topology.observabilityServer } : {}),
    }] : []),
  ];
  for (const cluster of topology.appClusters) {
    const agents = new ClusterAgentsChart(app, `${cluster.name}-${OBSERVABILITY_NAMESPACE}`, {
      env, cluster, gateway: topology.gateway, endpoints, serviceNamespaces: names, directory: `${CLUSTERS_DIR}/${cluster.name}/${OBSERVABILITY_NAMESPACE}`,
    });
    const { agent } = agents;
    const namespaces = defineServiceCharts(app, input, {
      otlp: { peer: agent.peer, ports: [agent.ports.otlpGrpc, agent.ports.otlpHttp], url: agent.otlpGrpcUrl, name: agent.name },
      prometheus: agents.prometheus.peer,
      charts: { observability: agents },
    }, cluster.name);
    clusters[cluster.name] = { agents, namespaces };
    // names carry the environment and the cluster: one Argo CD deploys every cluster of every environment
    const application = (chart: string, namespace: string, syncWave: number, source: Chart) => ({
      chart: `${CLUSTERS_DIR}/${cluster.name}/${chart}`, name: `${PROJECT}-${env.name}-${cluster.name}-${chart}`, namespace, syncWave, source,
      server: cluster.server,
    });
    applications.push(application(OBSERVABILITY_NAMESPACE, OBSERVABILITY_NAMESPACE, 0, agents),
      ...names.map(namespace => application(namespace, namespace, 1, namespaces[namespace])));
  }
  const path = `dist/${env.name}`;
  const bootstrap = new BootstrapChart(app, 'bootstrap', { gitops: env.gitops, path: `${path}/argocd` });
  const argocd = new ArgoCdChart(app, 'argocd', { gitops: env.gitops, path, bootstrap, applications });
  return { observability, namespaces: {}, clusters, argocd, bootstrap };
}

/**
 * A service's namespace becomes a chart and gets default-deny policies: it may not be one this environment gives
 * another role (Argo CD's, istiod's, the ingress gateway's) or a chart's name.
 *
 * @throws {@link ConfigError} naming the service file, the namespace and why
 */
function checkNamespaces(env: EnvironmentConfig, services: Services): void {
  const taken: Record<string, string> = {
    [env.gitops.argocdNamespace]: 'Argo CD\'s (gitops.argocdNamespace)',
    [env.apps.istiod.namespace]: 'istiod\'s (apps.istiod.namespace)',
    [env.apps.ingressGateway.namespace]: 'the ingress gateway\'s (apps.ingressGateway.namespace)',
    ...Object.fromEntries(CHARTS.map(c => [c, `the name of the ${c} chart`])),
  };
  const problems = Object.values(services).filter(s => Object.hasOwn(taken, s.namespace))
    .map(s => `${s.file}: 'namespace' must be one of the services' own, got ${JSON.stringify(s.namespace)}, which is ${taken[s.namespace]} in ${env.name}`);
  // a Gateway of a team's own runs where this project renders nothing: a namespace it renders denies the pods' traffic
  const rendered = new Set([OBSERVABILITY_NAMESPACE, ...Object.values(services).map(s => s.namespace)]);
  for (const s of Object.values(services)) {
    const gatewayPods = s.expose?.gatewayPods;
    if (gatewayPods && rendered.has(gatewayPods.namespace)) {
      problems.push(`${s.file}: 'expose.gatewayPods.namespace' must be a namespace this project does not render (its default-deny policies `
        + `would refuse the gateway's traffic), got ${JSON.stringify(gatewayPods.namespace)}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`services for environment ${JSON.stringify(env.name)}`, problems);
}

/**
 * Every gate window holds {@link SCRAPES_PER_WINDOW} scrapes of the environment's Prometheus (or of the agents that
 * feed the central store): `increase()` needs two samples in the window, and a window of one or two scrapes has none
 * now and then, which the gate would read as too little traffic, hold after hold.
 */
function checkAnalysisWindows(env: EnvironmentConfig, rollouts: Rollouts, services: Services): void {
  const least = env.prometheus.scrapeInterval.toMilliseconds() * SCRAPES_PER_WINDOW;
  for (const [name, spec] of Object.entries(services)) {
    const state = rollouts[name];
    if (!state) continue;
    const { window } = settingsOf(state, spec).analysis;
    if (parseDuration(window, 'analysis.window') >= least) continue;
    const where = state.analysis?.window !== undefined ? '' : ` (from ${spec.analysis?.window !== undefined ? spec.file : 'the defaults'})`;
    throw new StateError(rolloutFile(env.name, name), [
      `'analysis.window'${where} must be at least ${SCRAPES_PER_WINDOW} scrape intervals of ${env.name}'s Prometheus (prometheus.scrapeInterval `
      + `${goDuration(env.prometheus.scrapeInterval)}): ${goDuration(Duration.millis(least))} or more, got ${window}`,
    ]);
  }
}

/** The services whose files name smoke checks. */
function withSmokeChecks(services: Services): ServiceSpec[] {
  return Object.values(services).filter(s => (s.smoke?.length ?? 0) > 0);
}

/** A chart with network policies: it renders its half of each flow. */
interface FlowChart {
  readonly network: { allow(f: NetworkFlow): void; readonly flows: readonly NetworkFlow[] };
}

/** A flow between two namespaces, allowed in the chart of each end (each renders the half whose end is its own). */
function allowAtBothEnds(flow: NetworkFlow, ...charts: readonly FlowChart[]): void {
  for (const chart of new Set(charts)) chart.network.allow(flow);
}

/**
 * {@link allowAtBothEnds} for a flow a service file names (by its namespace or a caller): a name that another flow
 * already has (a namespace called like a platform component, `grafana`; a caller called `ingress`) is refused naming the
 * file and the field, rather than as a clash of policy names the team cannot place.
 *
 * @throws {@link ServiceFileError}
 */
function allowServiceFlow(origin: { readonly file: string; readonly field: string }, flow: NetworkFlow, ...charts: readonly FlowChart[]): void {
  if (charts.some(chart => chart.network.flows.some(f => f.name === flow.name))) {
    throw new ServiceFileError(origin.file, [`${origin.field} names the network flow ${JSON.stringify(flow.name)}, which another flow of this cluster `
      + '(the platform\'s or another service\'s) already has: choose another name']);
  }
  allowAtBothEnds(flow, ...charts);
}
