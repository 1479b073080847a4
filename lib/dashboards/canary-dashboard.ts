import { KIALI_PORT_FORWARD_URL } from '../constructs/kiali';
import { DELIVERY_DEFAULTS } from '../rollout/defaults';
import { parseDuration } from '../rollout/duration';
import type { SloSettings } from '../rollout/state';
import { show } from '../errors';
import { ISTIO, ISTIO_OUTCOMES, TRACKS, UNPINNED, failedSeries, workloadName } from '../slo/vocabulary';
import { clusterMatchers, clusterVariables } from './private/clusters';
import { DashboardModel, buildDashboard, markdownPanel, statPanel, thresholds, timeSeriesPanel } from './private/panels';
import { eq, errorRatio, quantile, rate, re, successRatio, sum } from './private/promql';
import { checkName, checkRange, optionError } from './private/validate';

/** Kiali's console through a port-forward (`kubectl -n observability port-forward svc/kiali 20001`), when it has no root URL. */
export const KIALI_PORT_FORWARD_CONSOLE = `${KIALI_PORT_FORWARD_URL}/kiali/console`;

/** Options of {@link canaryDashboard}. */
export interface CanaryDashboardOptions {
  /** The service (`gateway`, `backend`): its workloads are `<service>-stable` and `<service>-canary`. */
  readonly service: string;
  /** Namespace of the service's workloads, as its service file says. */
  readonly namespace: string;
  /** The service's SLO: drawn on the panels as limits. */
  readonly slo: SloSettings;
  /** The canary's weight in percent as the rollout state in git has it; 0 when no canary is in flight. */
  readonly canaryWeight: number;
  /** Image of the stable track. */
  readonly stableImage: string;
  /**
   * Image of the canary.
   * @default - shown as none
   */
  readonly canaryImage?: string;
  /**
   * Window of the stat panels, as the gate measures (`5m`).
   * @default DELIVERY_DEFAULTS.analysis.window
   */
  readonly window?: string;
  /**
   * Share of its weight the canary must at least receive (0.5: half); the observed share turns red below it.
   * @default DELIVERY_DEFAULTS.analysis.canaryTrafficFactor
   */
  readonly canaryTrafficFactor?: number;
  /**
   * Kiali's console (`<root URL>/kiali/console`, what `Kiali.consoleUrl` gives), for the link to the service's graph.
   * @default KIALI_PORT_FORWARD_CONSOLE: a link that works while a port-forward to Kiali runs
   */
  readonly kialiConsoleUrl?: string;
  /**
   * The application clusters of a central topology: a `cluster` variable (one at a time) that every query of the
   * dashboard filters on.
   * @default - one cluster: no variable
   */
  readonly clusters?: readonly string[];
}

const FN = 'canaryDashboard';
const REQUESTS = ISTIO.requests;
const DURATION_BUCKET = ISTIO.durationBucket;
const WORKLOAD = ISTIO.workload;
const BY_WORKLOAD = [WORKLOAD];
const BY_WORKLOAD_LEGEND = `{{${WORKLOAD}}}`;
const RATE_INTERVAL = '$__rate_interval';
// 'canary-' plus the service must fit Grafana's 40 characters
const MAX_SERVICE = 40 - 'canary-'.length;

/** The uid of a service's canary dashboard: `canary-<service>`. */
export function canaryDashboardUid(service: string): string {
  return `canary-${service}`;
}

/**
 * The Kiali graph of a service's workloads (Kiali 2.30's `/graph/node/namespaces/<ns>/services/<service>` route):
 * the service in focus with the workloads behind it, stable and canary, over `durationSeconds`.
 */
export function kialiServiceGraphUrl(consoleUrl: string, namespace: string, service: string, durationSeconds: number): string {
  const query = new URLSearchParams({ graphType: 'workload', duration: String(durationSeconds) });
  return `${consoleUrl.replace(/\/$/, '')}/graph/node/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}?${query}`;
}

/**
 * "Canary vs stable" for one service, from Istio's standard metrics as the destination sidecar reports them: request
 * rate, traffic share, 5xx ratio and p95/p99 latency side by side per workload (`<service>-stable`,
 * `<service>-canary`) with the SLO limits drawn, the configured weight (a stat and a constant series) next to the
 * canary's observed traffic share, and the callers' (`reporter="source"`) view of 5xx, where a crashing canary shows.
 *
 * @returns the dashboard model, uid `canary-<service>`
 * @throws if an option is out of range
 */
export function canaryDashboard(options: CanaryDashboardOptions): DashboardModel {
  const { service, namespace, slo, canaryWeight: weight } = options;
  const window = options.window ?? DELIVERY_DEFAULTS.analysis.window;
  const factor = options.canaryTrafficFactor ?? DELIVERY_DEFAULTS.analysis.canaryTrafficFactor;
  const kialiConsole = options.kialiConsoleUrl ?? KIALI_PORT_FORWARD_CONSOLE;
  validate(options, window, factor);

  const inCluster = clusterMatchers(options.clusters);
  // without pinned requests, as the gate counts
  const destination = [...inCluster, eq(ISTIO.reporter, 'destination'), eq(ISTIO.workloadNamespace, namespace), UNPINNED];
  const tracks = re(WORKLOAD, TRACKS.map(track => workloadName(service, track)).join('|'));
  const both = [...destination, tracks];
  const canaryOnly = [...destination, eq(WORKLOAD, workloadName(service, 'canary'))];
  const callers = [...inCluster, eq(ISTIO.reporter, 'source'), eq(ISTIO.serviceNamespace, namespace), eq(ISTIO.serviceName, service), UNPINNED];
  const ratio = { metric: REQUESTS, matchers: both, outcomes: ISTIO_OUTCOMES, by: BY_WORKLOAD };
  const weightSeries = { expr: `vector(${weight})`, legend: 'configured canary weight' };
  const maxErrorRatio = Number((1 - slo.successRatio).toFixed(12));

  return buildDashboard({
    uid: canaryDashboardUid(service),
    title: `Canary vs stable: ${service}`,
    description: `Stable and canary of ${service} side by side, from Istio's metrics as the destination sidecar reports them; `
      + `canary weight ${weight} % as configured in git at synth time.`,
    tags: ['obs-canary', 'canary', service],
    ...clusterVariables(options.clusters),
    rows: [
      {
        title: 'Release',
        panels: [
          statPanel({
            title: 'Configured canary weight',
            description: 'The weight the rollout state in git gives the canary (0: no canary in flight), fixed when the dashboard was synthesized.',
            span: 4, height: 5, unit: 'percent', noValue: 'unknown',
            thresholds: thresholds('blue'),
            targets: [{ ...weightSeries, instant: true }],
          }),
          statPanel({
            title: `Observed canary traffic share (${window})`,
            description: `Share of ${service}'s requests the canary answered over ${window}. Red below ${factor} × the configured weight: `
              + 'a canary that silently gets no traffic cannot pass the SLO check. "No traffic": no requests at all.',
            span: 5, height: 5, unit: 'percent', noValue: 'no traffic', decimals: 1,
            thresholds: weight > 0 ? thresholds('red', { value: weight * factor, color: 'green' }) : thresholds('text'),
            targets: [{
              expr: `100 * (${sum([], rate(REQUESTS, canaryOnly, window))} or vector(0)) / ${sum([], rate(REQUESTS, both, window))}`,
              legend: 'observed canary share',
              instant: true,
            }],
          }),
          statPanel({
            title: `Success ratio (${window})`,
            description: `Requests that did not fail (no 5xx, no gRPC server failure) over all requests, per workload, over ${window}, `
              + 'as the canary gate counts them: failures only its callers saw (a crashing pod) count as requests and as failures. '
              + `Green from the SLO's minimum, ${percent(slo.successRatio)} %.`,
            span: 5, height: 5, unit: 'percentunit', noValue: 'no traffic', decimals: 2,
            thresholds: thresholds('red', { value: slo.successRatio, color: 'green' }),
            targets: [{ expr: successRatio({ ...ratio, window }, [...callers, tracks]), legend: BY_WORKLOAD_LEGEND, instant: true }],
          }),
          markdownPanel({
            title: 'Release',
            description: 'What runs, as the rollout state in git had it at synth time.',
            span: 10, height: 5,
            content: releaseNotes(options, window, kialiServiceGraphUrl(kialiConsole, namespace, service, Math.round(parseDuration(window) / 1000))),
          }),
        ],
      },
      {
        title: 'Traffic',
        panels: [
          timeSeriesPanel({
            title: 'Request rate by version',
            description: 'Requests per second each workload answered (reporter="destination").',
            span: 12, height: 8, unit: 'reqps',
            targets: [{ expr: sum(BY_WORKLOAD, rate(REQUESTS, both, RATE_INTERVAL)), legend: BY_WORKLOAD_LEGEND }],
          }),
          timeSeriesPanel({
            title: 'Traffic share by version',
            description: 'Share of requests each workload answered, and the weight configured for the canary (dashed).',
            span: 12, height: 8, unit: 'percent', dashedQueries: ['B'],
            targets: [
              {
                expr: `100 * ${sum(BY_WORKLOAD, rate(REQUESTS, both, RATE_INTERVAL))} / scalar(${sum([], rate(REQUESTS, both, RATE_INTERVAL))})`,
                legend: BY_WORKLOAD_LEGEND,
              },
              weightSeries,
            ],
          }),
        ],
      },
      {
        title: 'Errors',
        panels: [
          timeSeriesPanel({
            title: 'Error ratio by version',
            description: `Share of failed requests (5xx, or a gRPC server failure) per workload; the dashed line is the SLO's limit, 1 − ${slo.successRatio}.`,
            span: 12, height: 8, unit: 'percentunit', limit: maxErrorRatio,
            targets: [{ expr: errorRatio({ ...ratio, window: RATE_INTERVAL }), legend: BY_WORKLOAD_LEGEND }],
          }),
          timeSeriesPanel({
            title: "Callers' failed requests by destination (reporter=\"source\")",
            description: `Failed requests (5xx, or a gRPC server failure) per second as the callers' sidecars saw them when calling ${service}. `
              + 'A crashing canary shows here even when its own sidecar reports nothing; "unknown" means no pod could be reached.',
            span: 12, height: 8, unit: 'reqps',
            targets: [{
              expr: sum([WORKLOAD, ISTIO.code, ISTIO.grpcStatus],
                failedSeries(ISTIO_OUTCOMES, failed => rate(REQUESTS, [...callers, failed], RATE_INTERVAL))),
              legend: `${BY_WORKLOAD_LEGEND} {{${ISTIO.code}}} {{${ISTIO.grpcStatus}}}`,
            }],
          }),
        ],
      },
      {
        title: 'Latency',
        panels: [95, 99].map(q => {
          const limit = q === 95 ? slo.p95LatencyMs : slo.p99LatencyMs;
          return timeSeriesPanel({
            title: `p${q} latency by version`,
            description: `${q}th percentile of the request duration per workload, as the destination sidecar measures it; `
              + (limit === undefined ? `the SLO sets no p${q} limit.` : `the dashed line is the SLO's limit, ${limit} ms.`),
            span: 12, height: 8, unit: 'ms', ...(limit === undefined ? {} : { limit }),
            targets: [{ expr: quantile(q / 100, DURATION_BUCKET, both, BY_WORKLOAD, RATE_INTERVAL), legend: BY_WORKLOAD_LEGEND }],
          });
        }),
      },
    ],
  });
}

function validate(options: CanaryDashboardOptions, window: string, factor: number): void {
  checkName(FN, 'service', options.service, MAX_SERVICE, ' (the dashboard uid is canary-<service>)');
  checkName(FN, 'namespace', options.namespace, 63);
  const weight = options.canaryWeight;
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw optionError(FN, `'canaryWeight' must be an integer from 0 to 100 (0: no canary), got ${show(weight)}`);
  }
  checkRange(FN, 'slo.successRatio', options.slo.successRatio, 0, 1);
  checkRange(FN, 'slo.p95LatencyMs', options.slo.p95LatencyMs, 0, Number.MAX_SAFE_INTEGER);
  if (options.slo.p99LatencyMs !== undefined) checkRange(FN, 'slo.p99LatencyMs', options.slo.p99LatencyMs, 0, Number.MAX_SAFE_INTEGER);
  checkRange(FN, 'canaryTrafficFactor', factor, 0, 1);
  if (options.kialiConsoleUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(options.kialiConsoleUrl)) {
    throw optionError(FN, `'kialiConsoleUrl' must be an absolute http(s) URL, got ${show(options.kialiConsoleUrl)}`);
  }
  try {
    parseDuration(window, 'window', { positive: true });
  } catch (error) {
    throw optionError(FN, (error as Error).message);
  }
}

function releaseNotes(options: CanaryDashboardOptions, window: string, kialiGraph: string): string {
  const { slo } = options;
  const limits = [`success ratio ≥ ${percent(slo.successRatio)} %`, `p95 ≤ ${slo.p95LatencyMs} ms`];
  if (slo.p99LatencyMs !== undefined) limits.push(`p99 ≤ ${slo.p99LatencyMs} ms`);
  return [
    `**Stable:** \`${options.stableImage}\``,
    options.canaryWeight > 0
      ? `**Canary:** \`${options.canaryImage ?? 'unknown'}\` at **${options.canaryWeight} %** of the traffic`
      : '**Canary:** none in flight',
    `**SLO** (over ${window}): ${limits.join(', ')}`,
    meshNote(options, kialiGraph),
  ].join('\n\n');
}

/** Where the service's mesh graph is: this environment's Kiali, unless the service runs in other clusters, which it cannot see. */
function meshNote(options: CanaryDashboardOptions, kialiGraph: string): string {
  if (options.clusters !== undefined && options.clusters.length > 0) {
    return `**Mesh:** ${options.service} runs in the application clusters, whose meshes this environment's Kiali does not see: open it in `
      + 'the Kiali of its cluster';
  }
  return options.kialiConsoleUrl === undefined
    ? `**Mesh:** [${options.service} in Kiali](${kialiGraph}) (while \`kubectl -n observability port-forward svc/kiali 20001\` runs)`
    : `**Mesh:** [${options.service} in Kiali](${kialiGraph})`;
}

function percent(ratio: number): number {
  return Number((ratio * 100).toFixed(6));
}
