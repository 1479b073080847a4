import { App } from 'cdk8s';
import { ArgoCdChart, BootstrapChart } from './charts/argocd-chart';
import { MERGED_METRICS_PORT, OBSERVABILITY_NAMESPACE } from './charts/namespaces';
import { ObservabilityChart } from './charts/observability-chart';
import { ServicesChart, peerOf } from './charts/services-chart';
import { ConfigError } from './config/checks';
import { EnvironmentConfig } from './config/environment';
import { NetworkFlow, pods } from './constructs/network-policies';
import { annotatedPodsScrapeConfig } from './constructs/prometheus-config';
import { pipelineDashboard, serviceDashboards } from './dashboards';
import { settingsOf } from './rollout/settings';
import { Rollouts } from './rollout/store';
import { Services, serviceNamespaces } from './services/catalog';
import { sloAlertingRules } from './slo/alerting-rules';
import { pipelineAlertingRules } from './slo/pipeline-alerts';
import { sloRecordingRules } from './slo/recording-rules';

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
}

/** Chart ids that are not namespaces of services. */
const CHARTS = ['observability', 'argocd', 'bootstrap'];

/** Defines every chart of an environment in `app`. */
export function defineStack(app: App, input: StackInput): Stack {
  const { env, services, rollouts } = input;
  checkNamespaces(env, services);
  const names = serviceNamespaces(services);
  const observability = new ObservabilityChart(app, 'observability', { env, serviceNamespaces: names });
  const { collector, prometheus } = observability;
  const namespaces: Record<string, ServicesChart> = {};
  for (const namespace of names) {
    namespaces[namespace] = new ServicesChart(app, namespace, { env, namespace, services, rollouts, otlpEndpoint: collector.otlpGrpcUrl });
  }

  // a flow between two namespaces is allowed in the chart of each end (each renders the half whose end is its own)
  const allow = (flow: NetworkFlow, ...charts: ReadonlyArray<{ network: { allow(f: NetworkFlow): void } }>): void => {
    for (const chart of new Set(charts)) chart.network.allow(flow);
  };
  for (const namespace of names) {
    const everyPod = { kind: 'namespace', namespace } as const;
    allow({
      name: `${namespace}-to-collector`, from: everyPod, to: pods(collector.peer),
      ports: [{ port: collector.ports.otlpGrpc.port }, { port: collector.ports.otlpHttp.port }],
    }, observability, namespaces[namespace]);
    allow({ name: `prometheus-to-${namespace}`, from: pods(prometheus.peer), to: everyPod, ports: [{ port: MERGED_METRICS_PORT }] },
      observability, namespaces[namespace]);
  }
  for (const spec of Object.values(services)) {
    for (const caller of spec.callers ?? []) {
      const from = services[caller];
      allow({ name: `${caller}-to-${spec.name}`, from: pods(peerOf(from)), to: pods(peerOf(spec)), ports: [{ port: spec.port }] },
        namespaces[from.namespace], namespaces[spec.namespace]);
    }
  }

  // scraped through Istio's merged metrics: STRICT mTLS refuses a plaintext scrape of the services' own port
  if (names.length > 0) prometheus.addScrapeConfig(annotatedPodsScrapeConfig('services', names));
  for (const group of sloRecordingRules(services)) prometheus.addRuleGroup(group);
  // each environment's effective SLO: the same settings the gate and the dashboards use
  for (const group of sloAlertingRules(services, name => settingsOf(rollouts[name], services[name]).slo)) prometheus.addRuleGroup(group);
  prometheus.addRuleGroup(pipelineAlertingRules(env.logs.shipper));
  const dashboards = serviceDashboards(services, name => {
    const state = rollouts[name];
    const { slo, analysis } = settingsOf(state, services[name]);
    return {
      slo, window: analysis.window, canaryTrafficFactor: analysis.canaryTrafficFactor, canaryWeight: state.canary?.weight ?? 0,
      stableImage: state.stable.image, ...(state.canary ? { canaryImage: state.canary.image } : {}),
      // without a root URL the dashboards link to the port-forward address, and say so
      ...(env.kiali.rootUrl ? { kialiConsoleUrl: observability.kiali.consoleUrl } : {}),
    };
  });
  for (const dashboard of dashboards) observability.grafana.addDashboard(dashboard);
  observability.grafana.addDashboard({ folder: PLATFORM_FOLDER, dashboard: pipelineDashboard({ shipper: env.logs.shipper }) });

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

/**
 * A service's namespace becomes a chart and gets default-deny policies: it may not be one this environment gives
 * another role (Argo CD's, the ingress gateway's) or a chart's name.
 *
 * @throws {@link ConfigError} naming the service file, the namespace and why
 */
function checkNamespaces(env: EnvironmentConfig, services: Services): void {
  const taken: Record<string, string> = {
    [env.gitops.argocdNamespace]: 'Argo CD\'s (gitops.argocdNamespace)',
    [env.apps.ingressGateway.namespace]: 'the ingress gateway\'s (apps.ingressGateway.namespace)',
    ...Object.fromEntries(CHARTS.map(c => [c, `the name of the ${c} chart`])),
  };
  const problems = Object.values(services).filter(s => Object.hasOwn(taken, s.namespace))
    .map(s => `${s.file}: 'namespace' must be one of the services' own, got ${JSON.stringify(s.namespace)}, which is ${taken[s.namespace]} in ${env.name}`);
  if (problems.length > 0) throw new ConfigError(`services for environment ${JSON.stringify(env.name)}`, problems);
}
