import { ERROR_CODES, NAMESPACE_LABEL, PIPELINE, metricsNamed } from '../slo/vocabulary';
import { clusterMatchers, clusterVariables } from './private/clusters';
import { DashboardModel, buildDashboard, timeSeriesPanel } from './private/panels';

/** Options of {@link pipelineDashboard}. */
export interface PipelineDashboardOptions {
  /** The log shipper the environment runs: its drops and push errors are shown. */
  readonly shipper: 'alloy' | 'promtail';
  /**
   * The clusters whose pipelines one store holds (a central topology: the observability cluster and the application
   * clusters): a `cluster` variable picks one, and every query keeps to it, so one cluster's queue is never divided by
   * another's capacity.
   * @default - one cluster, no variable
   */
  readonly clusters?: readonly string[];
}

/** The uid of the pipeline dashboard. */
export const PIPELINE_DASHBOARD_UID = 'telemetry-pipeline';

const RATE_INTERVAL = '$__rate_interval';

/** `sum by (labels) (rate(selector[$__rate_interval]))`. */
function rateBy(selector: string, by: readonly string[]): string {
  return `sum by (${by.join(', ')}) (rate(${selector}[${RATE_INTERVAL}]))`;
}

/** `selector` (a metric name, `name{…}` or `{…}`) with `matchers` added. */
function within(selector: string, matchers: readonly string[]): string {
  if (matchers.length === 0) return selector;
  return selector.endsWith('}') ? `${selector.slice(0, -1)},${matchers.join(',')}}` : `${selector}{${matchers.join(',')}}`;
}

/**
 * The health of the telemetry pipeline, panel for panel beside the pipeline alerts (`lib/slo/pipeline-alerts.ts`,
 * the same metric names from `PIPELINE`): scrape targets down; the Collector refusing, failing to export and its
 * queues; Loki's and Tempo's refused and discarded data; the log shipper's drops and failed pushes. What an alert
 * names, this dashboard shows over time.
 */
export function pipelineDashboard(options: PipelineDashboardOptions): DashboardModel {
  const shipper = options.shipper === 'alloy'
    ? { name: 'Alloy', dropped: PIPELINE.alloyDropped, requests: PIPELINE.alloyRequests }
    : { name: 'Promtail', dropped: PIPELINE.promtailDropped, requests: PIPELINE.promtailRequests };
  const pod = [NAMESPACE_LABEL, PIPELINE.pod];
  const inCluster = clusterMatchers(options.clusters);
  const m = (selector: string): string => within(selector, inCluster);
  return buildDashboard({
    ...clusterVariables(options.clusters),
    uid: PIPELINE_DASHBOARD_UID,
    title: 'Telemetry pipeline',
    description: 'Whether metrics, traces and logs arrive: what the pipeline alerts fire on, over time.',
    tags: ['obs-canary', 'pipeline'],
    rows: [
      {
        title: 'Scrapes',
        panels: [
          timeSeriesPanel({
            title: 'Targets down by job',
            description: 'Scrape targets that did not answer (PipelineTargetDown fires after 5 minutes).',
            span: 24, height: 7, unit: 'short',
            targets: [{ expr: `count by (${PIPELINE.job}) (${m(PIPELINE.up)} == 0)`, legend: `{{${PIPELINE.job}}}` }],
          }),
        ],
      },
      {
        title: 'OpenTelemetry Collector',
        panels: [
          timeSeriesPanel({
            title: 'Refused by receivers',
            description: 'Items a receiver could not push into the pipeline, per second (CollectorRefusingData).',
            span: 8, height: 8, unit: 'short',
            targets: [{ expr: rateBy(m(metricsNamed(PIPELINE.collectorRefused)), [PIPELINE.receiver]), legend: `{{${PIPELINE.receiver}}}` }],
          }),
          timeSeriesPanel({
            title: 'Failed exports',
            description: 'Items an exporter failed to send or to queue, per second (CollectorExportFailing).',
            span: 8, height: 8, unit: 'short',
            targets: [{
              expr: rateBy(m(metricsNamed(`${PIPELINE.collectorSendFailed}|${PIPELINE.collectorEnqueueFailed}`)), [PIPELINE.exporter]),
              legend: `{{${PIPELINE.exporter}}}`,
            }],
          }),
          timeSeriesPanel({
            title: 'Sending queue use',
            description: 'Batches in each exporter\'s queue as a share of its capacity (CollectorQueueFull at 100 %).',
            span: 8, height: 8, unit: 'percentunit', limit: 1,
            targets: [{
              expr: `max by (${PIPELINE.exporter}) (${m(PIPELINE.collectorQueueSize)}) / min by (${PIPELINE.exporter}) (${m(PIPELINE.collectorQueueCapacity)})`,
              legend: `{{${PIPELINE.exporter}}}`,
            }],
          }),
        ],
      },
      {
        title: 'Loki and Tempo',
        panels: [
          timeSeriesPanel({
            title: 'Loki: failed pushes',
            description: 'Pushes to Loki answered with an error, per second (LokiIngestionErrors).',
            span: 6, height: 8, unit: 'reqps',
            targets: [{
              expr: rateBy(m(`${PIPELINE.lokiRequests}{${PIPELINE.route}=~${JSON.stringify(PIPELINE.lokiPushRoutes)},${PIPELINE.statusCode}=~"${ERROR_CODES}"}`),
                [PIPELINE.route, PIPELINE.statusCode]),
              legend: `{{${PIPELINE.route}}} {{${PIPELINE.statusCode}}}`,
            }],
          }),
          timeSeriesPanel({
            title: 'Loki: discarded lines',
            description: 'Lines Loki refused by validation or limits, per second, by reason (LokiDiscardingSamples).',
            span: 6, height: 8, unit: 'short',
            targets: [{ expr: rateBy(m(PIPELINE.lokiDiscarded), [PIPELINE.reason]), legend: `{{${PIPELINE.reason}}}` }],
          }),
          timeSeriesPanel({
            title: 'Tempo: refused spans',
            description: 'Spans Tempo\'s receiver refused, per second (TempoIngestionErrors).',
            span: 6, height: 8, unit: 'short',
            targets: [{ expr: rateBy(m(metricsNamed(PIPELINE.tempoRefused)), pod), legend: `{{${PIPELINE.pod}}}` }],
          }),
          timeSeriesPanel({
            title: 'Tempo: discarded spans',
            description: 'Spans Tempo discarded after receiving them, per second, by reason (TempoDiscardingSpans).',
            span: 6, height: 8, unit: 'short',
            targets: [{ expr: rateBy(m(PIPELINE.tempoDiscarded), [PIPELINE.reason]), legend: `{{${PIPELINE.reason}}}` }],
          }),
        ],
      },
      {
        title: `Log shipping (${shipper.name})`,
        panels: [
          timeSeriesPanel({
            title: `${shipper.name}: dropped entries`,
            description: `Log entries ${shipper.name} gave up on after its retries, per second, by reason (${shipper.name}DroppingEntries).`,
            span: 12, height: 8, unit: 'short',
            targets: [{ expr: rateBy(m(shipper.dropped), [PIPELINE.pod, PIPELINE.reason]), legend: `{{${PIPELINE.pod}}} {{${PIPELINE.reason}}}` }],
          }),
          timeSeriesPanel({
            title: `${shipper.name}: failed pushes`,
            description: `Pushes from ${shipper.name} to Loki that failed and are retried (${shipper.name}PushErrors), per second, by status code: a 5xx, 429, or -1 for no answer.`,
            span: 12, height: 8, unit: 'reqps',
            targets: [{
              expr: rateBy(m(`${shipper.requests}{${PIPELINE.statusCode}=~"${PIPELINE.pushFailureCodes}"}`), [PIPELINE.pod, PIPELINE.statusCode]),
              legend: `{{${PIPELINE.pod}}} {{${PIPELINE.statusCode}}}`,
            }],
          }),
        ],
      },
    ],
  });
}
