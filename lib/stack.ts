import { App } from 'cdk8s';
import { EnvironmentConfig } from './config/environment';
import { AppsChart } from './charts/apps-chart';
import { ArgoCdChart, BootstrapChart } from './charts/argocd-chart';
import { APPS_NAMESPACE, MERGED_METRICS_PORT, OBSERVABILITY_NAMESPACE } from './charts/namespaces';
import { ObservabilityChart } from './charts/observability-chart';
import { FlowPeer, NetworkFlow, pods } from './constructs/network-policies';
import { annotatedPodsScrapeConfig } from './constructs/prometheus-config';
import { canaryDashboard, serviceOverviewDashboard } from './dashboards';
import { settingsOf } from './delivery/plan';
import { Rollouts } from './delivery/store';

/** What one environment is rendered from. */
export interface StackInput {
  readonly env: EnvironmentConfig;
  /** The rollout state of every service (`rollout/<env>/`). */
  readonly rollouts: Rollouts;
}

/** The charts of one environment; each becomes a directory `dist/<env>/<chart id>/`. */
export interface Stack {
  readonly observability: ObservabilityChart;
  readonly apps: AppsChart;
  readonly argocd: ArgoCdChart;
  readonly bootstrap: BootstrapChart;
}

/** Defines every chart of an environment in `app`. */
export function defineStack(app: App, input: StackInput): Stack {
  const { env, rollouts } = input;
  const observability = new ObservabilityChart(app, 'observability', { env });
  const { collector, prometheus } = observability;
  const apps = new AppsChart(app, 'apps', { env, rollouts, otlpEndpoint: collector.otlpGrpcUrl });
  // flows between the two namespaces, each defined once: either chart renders the half whose end is its own
  const everyAppsPod: FlowPeer = { kind: 'namespace', namespace: APPS_NAMESPACE };
  const crossNamespaceFlows: NetworkFlow[] = [
    {
      name: 'apps-to-collector', from: everyAppsPod, to: pods(collector.peer),
      ports: [{ port: collector.ports.otlpGrpc.port }, { port: collector.ports.otlpHttp.port }],
    },
    { name: 'prometheus-to-apps', from: pods(prometheus.peer), to: everyAppsPod, ports: [{ port: MERGED_METRICS_PORT }] },
  ];
  for (const flow of crossNamespaceFlows) {
    observability.network.allow(flow);
    apps.network.allow(flow);
  }
  // scraped through Istio's merged metrics: STRICT mTLS refuses a plaintext scrape of the services' own port
  prometheus.addScrapeConfig(annotatedPodsScrapeConfig('apps', APPS_NAMESPACE));
  for (const state of Object.values(rollouts)) {
    const { slo, analysis } = settingsOf(state);
    observability.grafana.addDashboard({
      folder: 'Canary',
      dashboard: canaryDashboard({
        service: state.service, namespace: APPS_NAMESPACE, slo, window: analysis.window, canaryTrafficFactor: analysis.canaryTrafficFactor,
        canaryWeight: state.canary?.weight ?? 0, stableImage: state.stable.image, ...(state.canary ? { canaryImage: state.canary.image } : {}),
      }),
    });
  }
  observability.grafana.addDashboard({
    folder: 'Services', dashboard: serviceOverviewDashboard({ services: Object.keys(rollouts), namespace: APPS_NAMESPACE }),
  });

  const path = `dist/${env.name}`;
  const argocd = new ArgoCdChart(app, 'argocd', {
    gitops: env.gitops,
    path,
    applications: [
      { chart: 'observability', namespace: OBSERVABILITY_NAMESPACE, syncWave: 0, source: observability },
      { chart: 'apps', namespace: APPS_NAMESPACE, syncWave: 1, source: apps },
    ],
  });
  const bootstrap = new BootstrapChart(app, 'bootstrap', { gitops: env.gitops, path: `${path}/argocd` });
  return { observability, apps, argocd, bootstrap };
}
