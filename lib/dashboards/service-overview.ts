import { show } from '../errors';
import { SLO_RECORDS } from '../slo/recording-rules';
import { APP_LABEL, ERROR_CODES, HttpMetrics, NAMESPACE_LABEL, TRACK_LABEL, bucketOf, httpOutcomes, httpTrafficSelector } from '../slo/vocabulary';
import {
  DashboardModel, DashboardRow, buildDashboard, customVariable, logsPanel, lokiTimeSeriesPanel, timeSeriesPanel,
} from './private/panels';
import { clusterMatchers, clusterVariables } from './private/clusters';
import { eq, errorRatio, quantile, rate, sum } from './private/promql';
import { checkLabelName, checkMetricName, checkName, optionError } from './private/validate';

/** Options of {@link serviceOverviewDashboard}: the fields of a service file it reads. */
export interface ServiceOverviewOptions {
  /** The service (its `app` label), which names the dashboard: uid `svc-<service>`. */
  readonly service: string;
  /** Namespace the service runs in (the `namespace` target label and Loki label). */
  readonly namespace: string;
  /** The service's own request metrics, as its file's `metrics.http` names them. */
  readonly metrics: HttpMetrics;
  /**
   * The application clusters of a central topology: a `cluster` variable (one at a time) that every query of the
   * dashboard filters on.
   * @default - one cluster: no variable
   */
  readonly clusters?: readonly string[];
}

/** The prefix of an overview's uid. */
const UID_PREFIX = 'svc-';
const FN = 'serviceOverviewDashboard';
const RATE_INTERVAL = '$__rate_interval';
// 'svc-' plus the service must fit Grafana's 40 characters; service files allow 33
const MAX_SERVICE = 40 - UID_PREFIX.length;
/** pino's levels, as Promtail puts them in the `level` label. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
/** The Grafana unit of each histogram unit. */
const GRAFANA_UNIT: Readonly<Record<HttpMetrics['durationUnit'], string>> = { seconds: 's', milliseconds: 'ms' };

/** The uid of a service's overview: `svc-<service>` (`service-` would leave a 33-character name one over Grafana's 40). */
export function serviceOverviewUid(service: string): string {
  return `${UID_PREFIX}${service}`;
}

/**
 * "Service overview" of one service: rate, errors and duration (RED) from the service's own metrics, under the names
 * its file declares, without the routes that are probes and scrapes (its `ignoreRoutes`), by version and, when the
 * file names a route label, by route; latency panels carry exemplars, whose `trace_id` opens the trace in Tempo; the
 * SLO's 5-minute success ratio from its recording rule; log volume by level and the logs themselves from Loki,
 * filtered by the `level` variable.
 *
 * @returns the dashboard model, uid {@link serviceOverviewUid} (`svc-<service>`)
 * @throws if the service or namespace is not a DNS label, a metric or label name is not one Prometheus accepts, or
 * routes are ignored without a route label to match them on
 */
export function serviceOverviewDashboard(options: ServiceOverviewOptions): DashboardModel {
  validate(options);
  const { service, namespace, metrics } = options;
  const { requests, codeLabel, routeLabel } = metrics;
  const bucket = bucketOf(metrics.duration);
  const unit = GRAFANA_UNIT[metrics.durationUnit];

  // the cluster filters the metrics and the log streams alike (both carry the label in a central topology)
  const ofService = [...clusterMatchers(options.clusters), eq(NAMESPACE_LABEL, namespace), eq(APP_LABEL, service)];
  const traffic = httpTrafficSelector(metrics);
  const http = [...ofService, ...(traffic ? [traffic] : [])];
  const byVersion = [TRACK_LABEL];
  const versionLegend = `{{${TRACK_LABEL}}}`;
  const ratio = { metric: requests, matchers: http, outcomes: httpOutcomes(metrics), window: RATE_INTERVAL };
  const logStream = `{${[...ofService, 'level=~"$level"'].join(', ')}}`;
  const left = traffic ? `; ${metrics.ignoreRoutes.join(', ')} (probes and scrapes) are left out` : '';

  const latencyByVersion = timeSeriesPanel({
    title: 'Latency p95 and p99 by version',
    description: 'Request duration percentiles per track. Exemplars (dots) open the trace of a sampled request in Tempo.',
    span: routeLabel ? 12 : 24, height: 8, unit,
    targets: [95, 99].map(q => ({
      expr: quantile(q / 100, bucket, http, byVersion, RATE_INTERVAL), legend: `p${q} ${versionLegend}`, exemplar: true,
    })),
  });
  const routes: DashboardRow = routeLabel
    ? {
      title: 'Routes',
      panels: [
        timeSeriesPanel({
          title: 'Requests by route and status',
          description: `Requests per second per route template (${routeLabel}) and status code (${codeLabel}).`,
          span: 24, height: 8, unit: 'reqps',
          targets: [{ expr: sum([routeLabel, codeLabel], rate(requests, http, RATE_INTERVAL)), legend: `{{${routeLabel}}} {{${codeLabel}}}` }],
        }),
      ],
    }
    : {
      title: 'Status codes',
      panels: [
        timeSeriesPanel({
          title: 'Requests by status',
          description: `Requests per second per status code (${codeLabel}); the service's metrics name no route label.`,
          span: 24, height: 8, unit: 'reqps',
          targets: [{ expr: sum([codeLabel], rate(requests, http, RATE_INTERVAL)), legend: `{{${codeLabel}}}` }],
        }),
      ],
    };

  return buildDashboard({
    uid: serviceOverviewUid(service),
    title: `Service overview: ${service}`,
    description: `Rate, errors and duration of ${service} from its own metrics (${requests}, ${metrics.duration}), with exemplars to Tempo, `
      + 'and its logs from Loki.',
    tags: ['obs-canary', 'services', service],
    variables: [
      ...(clusterVariables(options.clusters).variables ?? []),
      // "All" includes lines without a level (a crash's plain-text stack trace, anything before the logger exists)
      customVariable({ name: 'level', label: 'Log level', values: LOG_LEVELS, multiAll: { allValue: '.*' } }),
    ],
    rows: [
      {
        title: 'Requests and errors',
        panels: [
          timeSeriesPanel({
            title: 'Request rate by version',
            description: `Requests per second the service answered, per track${left}.`,
            span: 8, height: 8, unit: 'reqps',
            targets: [{ expr: sum(byVersion, rate(requests, http, RATE_INTERVAL)), legend: versionLegend }],
          }),
          timeSeriesPanel({
            title: 'Error ratio by version',
            description: `Share of failed requests (${codeLabel} matching ${metrics.errorCodes ?? ERROR_CODES}) per track.`,
            span: 8, height: 8, unit: 'percentunit',
            targets: [{ expr: errorRatio({ ...ratio, by: byVersion }), legend: versionLegend }],
          }),
          timeSeriesPanel({
            title: 'SLO success ratio (5m, recording rule)',
            description: `Share of requests that did not fail over 5 minutes per track, from the recording rule ${SLO_RECORDS.httpSuccessRatio}.`,
            span: 8, height: 8, unit: 'percentunit',
            targets: [{ expr: `${SLO_RECORDS.httpSuccessRatio}{${ofService.join(',')}}`, legend: versionLegend }],
          }),
        ],
      },
      {
        title: 'Duration',
        panels: routeLabel
          ? [
            latencyByVersion,
            timeSeriesPanel({
              title: 'Latency p95 by route',
              description: 'The 95th percentile of the request duration per route template. Exemplars open traces in Tempo.',
              span: 12, height: 8, unit,
              targets: [{ expr: quantile(0.95, bucket, http, [routeLabel], RATE_INTERVAL), legend: `{{${routeLabel}}}`, exemplar: true }],
            }),
          ]
          : [latencyByVersion],
      },
      routes,
      {
        title: 'Logs',
        panels: [
          lokiTimeSeriesPanel({
            title: 'Log volume by level',
            description: 'Log lines per interval, by level.',
            span: 24, height: 6,
            expr: `sum by (level) (count_over_time(${logStream}[$__interval]))`,
            legend: '{{level}}',
          }),
          logsPanel({
            title: 'Logs',
            description: 'The service\'s log lines, newest first; a line\'s details link its trace_id to Tempo.',
            span: 24, height: 12,
            expr: logStream,
          }),
        ],
      },
    ],
  });
}

function validate(options: ServiceOverviewOptions): void {
  checkName(FN, 'service', options.service, MAX_SERVICE, ` (the dashboard uid is ${UID_PREFIX}<service>)`);
  checkName(FN, 'namespace', options.namespace, 63);
  const { metrics } = options;
  checkMetricName(FN, 'metrics.requests', metrics.requests);
  checkMetricName(FN, 'metrics.duration', metrics.duration);
  checkLabelName(FN, 'metrics.codeLabel', metrics.codeLabel);
  if (metrics.routeLabel !== undefined) checkLabelName(FN, 'metrics.routeLabel', metrics.routeLabel);
  if (!Object.hasOwn(GRAFANA_UNIT, metrics.durationUnit)) {
    throw optionError(FN, `'metrics.durationUnit' must be one of ${Object.keys(GRAFANA_UNIT).map(u => show(u)).join(', ')}, got ${show(metrics.durationUnit)}`);
  }
  if (metrics.ignoreRoutes.length > 0 && metrics.routeLabel === undefined) {
    throw optionError(FN, `'metrics.ignoreRoutes' needs 'metrics.routeLabel' to match the routes on, got ignoreRoutes ${show(metrics.ignoreRoutes)} `
      + 'and no routeLabel; name the label, or ignore no routes');
  }
}
