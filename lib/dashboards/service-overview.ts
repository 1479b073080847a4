import { APPS_NAMESPACE } from '../charts/namespaces';
import { show } from '../errors';
import { HTTP_SLO_SELECTOR, SLO_RECORDS } from '../slo/recording-rules';
import {
  DashboardModel, buildDashboard, customVariable, logsPanel, lokiTimeSeriesPanel, timeSeriesPanel,
} from './private/panels';
import { eq, errorRatio, quantile, rate, sum } from './private/promql';
import { checkName, optionError } from './private/validate';

/** Options of {@link serviceOverviewDashboard}. */
export interface ServiceOverviewOptions {
  /** The services to choose from (their `app` label), the first one selected. */
  readonly services: readonly string[];
  /**
   * Namespace the services run in (the `namespace` target label and Loki label).
   * @default APPS_NAMESPACE ('apps')
   */
  readonly namespace?: string;
}

/** The uid of the service overview dashboard. */
export const SERVICE_OVERVIEW_UID = 'service-overview';

const FN = 'serviceOverviewDashboard';
const REQUESTS = 'http_requests_total';
const DURATION_BUCKET = 'http_request_duration_seconds_bucket';
const RATE_INTERVAL = '$__rate_interval';
/** pino's levels, as Promtail puts them in the `level` label. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * "Service overview": rate, errors and duration (RED) of one service, chosen with the `service` variable, from the
 * services' own prom-client metrics without probes and scrapes ({@link HTTP_SLO_SELECTOR}), by version and by route;
 * latency panels carry exemplars, whose `trace_id` opens the trace in Tempo; the SLO's 5-minute success ratio from
 * its recording rule; log volume by level and the logs themselves from Loki, filtered by the `level` variable.
 *
 * @returns the dashboard model, uid {@link SERVICE_OVERVIEW_UID}
 * @throws if there is no service, a name is not a DNS label, or a service is listed twice
 */
export function serviceOverviewDashboard(options: ServiceOverviewOptions): DashboardModel {
  const namespace = options.namespace ?? APPS_NAMESPACE;
  validate(options.services, namespace);

  const service = [eq('namespace', namespace), eq('app', '$service')];
  const http = [...service, HTTP_SLO_SELECTOR];
  const ratio = { metric: REQUESTS, matchers: http, codeLabel: 'status_code', window: RATE_INTERVAL };
  const logStream = `{${[...service, 'level=~"$level"'].join(', ')}}`;

  return buildDashboard({
    uid: SERVICE_OVERVIEW_UID,
    title: 'Service overview',
    description: 'Rate, errors and duration from the services\' own metrics (probes and scrapes left out), with exemplars to Tempo, '
      + 'and the services\' logs from Loki.',
    tags: ['obs-canary', 'services'],
    variables: [
      customVariable({ name: 'service', label: 'Service', values: options.services }),
      customVariable({ name: 'level', label: 'Log level', values: LOG_LEVELS, multiAll: { allValue: '.+' } }),
    ],
    rows: [
      {
        title: 'Requests and errors',
        panels: [
          timeSeriesPanel({
            title: 'Request rate by version',
            description: 'Requests per second the service answered, per track; probes and scrapes are left out.',
            span: 8, height: 8, unit: 'reqps',
            targets: [{ expr: sum(['version'], rate(REQUESTS, http, RATE_INTERVAL)), legend: '{{version}}' }],
          }),
          timeSeriesPanel({
            title: 'Error ratio (5xx) by version',
            description: 'Share of 5xx responses per track.',
            span: 8, height: 8, unit: 'percentunit',
            targets: [{ expr: errorRatio({ ...ratio, by: ['version'] }), legend: '{{version}}' }],
          }),
          timeSeriesPanel({
            title: 'SLO success ratio (5m, recording rule)',
            description: `Share of responses that are not 5xx over 5 minutes per track, from the recording rule ${SLO_RECORDS.httpSuccessRatio}.`,
            span: 8, height: 8, unit: 'percentunit',
            targets: [{ expr: `${SLO_RECORDS.httpSuccessRatio}{${service.join(',')}}`, legend: '{{version}}' }],
          }),
        ],
      },
      {
        title: 'Duration',
        panels: [
          timeSeriesPanel({
            title: 'Latency p95 and p99 by version',
            description: 'Request duration percentiles per track. Exemplars (dots) open the trace of a sampled request in Tempo.',
            span: 12, height: 8, unit: 's',
            targets: [95, 99].map(q => ({
              expr: quantile(q / 100, DURATION_BUCKET, http, ['version'], RATE_INTERVAL), legend: `p${q} {{version}}`, exemplar: true,
            })),
          }),
          timeSeriesPanel({
            title: 'Latency p95 by route',
            description: 'The 95th percentile of the request duration per route template. Exemplars open traces in Tempo.',
            span: 12, height: 8, unit: 's',
            targets: [{ expr: quantile(0.95, DURATION_BUCKET, http, ['route'], RATE_INTERVAL), legend: '{{route}}', exemplar: true }],
          }),
        ],
      },
      {
        title: 'Routes',
        panels: [
          timeSeriesPanel({
            title: 'Requests by route and status',
            description: 'Requests per second per route template and status code.',
            span: 24, height: 8, unit: 'reqps',
            targets: [{ expr: sum(['route', 'status_code'], rate(REQUESTS, http, RATE_INTERVAL)), legend: '{{route}} {{status_code}}' }],
          }),
        ],
      },
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

function validate(services: readonly string[], namespace: string): void {
  if (services.length === 0) throw optionError(FN, `'services' must name at least one service, got ${show(services)}`);
  services.forEach((s, i) => checkName(FN, `services[${i}]`, s, 63));
  const duplicate = services.find((s, i) => services.indexOf(s) !== i);
  if (duplicate !== undefined) throw optionError(FN, `'services' must not list a service twice, got ${show(duplicate)} twice`);
  checkName(FN, 'namespace', namespace, 63);
}
