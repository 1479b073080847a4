/**
 * The one place that talks to `@grafana/grafana-foundation-sdk`: panels, queries and the dashboard frame the
 * dashboards of this directory share, so that every panel references its datasource by fixed uid, carries an id and
 * an explicit refId per query, and every dashboard is read-only with the same time settings.
 */

import * as common from '@grafana/grafana-foundation-sdk/common';
import * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as logs from '@grafana/grafana-foundation-sdk/logs';
import * as loki from '@grafana/grafana-foundation-sdk/loki';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as text from '@grafana/grafana-foundation-sdk/text';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE_UIDS } from '../../constructs/grafana-datasources';

/** A dashboard model as Grafana reads it from a provisioned file: plain data, with a stable uid and a title. */
export interface DashboardModel {
  readonly uid: string;
  readonly title: string;
  readonly [key: string]: unknown;
}

const PROMETHEUS: common.DataSourceRef = { type: 'prometheus', uid: DATASOURCE_UIDS.prometheus };
const LOKI: common.DataSourceRef = { type: 'loki', uid: DATASOURCE_UIDS.loki };

/** One PromQL query of a panel. */
export interface PromTarget {
  /** The PromQL, with Grafana macros such as `$__rate_interval` and the dashboard's variables. */
  readonly expr: string;
  /** Legend template, such as `{{version}}`. */
  readonly legend: string;
  /**
   * Ask Prometheus for exemplars (trace ids) along with the samples.
   * @default false
   */
  readonly exemplar?: boolean;
  /**
   * One value at the end of the range instead of a series (stat panels).
   * @default false
   */
  readonly instant?: boolean;
}

/** What every panel has. */
export interface PanelBase {
  readonly title: string;
  readonly description: string;
  /** Width in grid columns (of 24). */
  readonly span: number;
  readonly height: number;
}

/** A panel builder the frame can number. */
type NumberedBuilder = cog.Builder<dashboard.Panel | dashboard.RowPanel> & { id(id: number): unknown };

/** A full-width row and the panels below it; each line of panels must add up to 24 columns. */
export interface DashboardRow {
  readonly title: string;
  readonly panels: readonly NumberedBuilder[];
}

/** Options of {@link buildDashboard}. */
export interface DashboardFrame {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  /**
   * Template variables, in the order they appear.
   * @default - none
   */
  readonly variables?: readonly cog.Builder<dashboard.VariableModel>[];
  readonly rows: readonly DashboardRow[];
}

/**
 * Builds a read-only dashboard (last hour, 30 s refresh, shared crosshair) with ids 1… on rows and panels in order,
 * and returns it as plain JSON data: the model Grafana reads from a provisioned file.
 */
export function buildDashboard(frame: DashboardFrame): DashboardModel {
  const builder = new dashboard.DashboardBuilder(frame.title)
    .uid(frame.uid)
    .description(frame.description)
    .tags([...frame.tags])
    .readonly()
    .timezone('browser')
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .tooltip(dashboard.DashboardCursorSync.Crosshair);
  for (const variable of frame.variables ?? []) builder.withVariable(variable);
  let id = 0;
  for (const row of frame.rows) {
    const rowBuilder = new dashboard.RowBuilder(row.title);
    rowBuilder.id(++id);
    builder.withRow(rowBuilder);
    for (const panel of row.panels) {
      panel.id(++id);
      builder.withPanel(panel as cog.Builder<dashboard.Panel>);
    }
  }
  // the SDK's models carry marker methods; a JSON round trip leaves exactly what a provisioned file holds
  return JSON.parse(JSON.stringify(builder.build())) as DashboardModel;
}

/** A PromQL query against the `prometheus` datasource, in code mode, with exemplars off unless asked for. */
export function promQuery(refId: string, target: PromTarget): prometheus.DataqueryBuilder {
  const query = new prometheus.DataqueryBuilder()
    .datasource(PROMETHEUS)
    .refId(refId)
    .editorMode(prometheus.QueryEditorMode.Code)
    .expr(target.expr)
    .legendFormat(target.legend)
    .exemplar(target.exemplar ?? false);
  return target.instant ? query.instant() : query.range();
}

/** Absolute thresholds: `base` below `value`, `color` from it on (a single `base` step without a value). */
export function thresholds(base: string, step?: { readonly value: number; readonly color: string }): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...(step ? [step] : [])]);
}

/** Options of {@link timeSeriesPanel}. */
export interface TimeSeriesPanelOptions extends PanelBase {
  readonly unit: string;
  readonly targets: readonly PromTarget[];
  /**
   * An SLO limit drawn as a dashed red line (and area beyond it).
   * @default - none drawn
   */
  readonly limit?: number;
  /**
   * RefIds of queries drawn dashed and unfilled: constants such as the configured weight.
   * @default - none
   */
  readonly dashedQueries?: readonly string[];
  /** @default 0 */
  readonly min?: number;
}

/** A time series panel on Prometheus, legend as a table with mean and max, multi-series tooltip. */
export function timeSeriesPanel(options: TimeSeriesPanelOptions): timeseries.PanelBuilder {
  const panel = framed(new timeseries.PanelBuilder(), options)
    .datasource(PROMETHEUS)
    .unit(options.unit)
    .min(options.min ?? 0)
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder()
      .showLegend(true).displayMode(common.LegendDisplayMode.Table).placement(common.LegendPlacement.Bottom).calcs(['mean', 'max']))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .targets(options.targets.map((t, i) => promQuery(refIdAt(i), t)));
  if (options.limit !== undefined) {
    panel
      .thresholds(thresholds('transparent', { value: options.limit, color: 'red' }))
      .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.DashedAndArea));
  }
  for (const refId of options.dashedQueries ?? []) {
    panel.overrideByQuery(refId, [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
    ]);
  }
  return panel;
}

/** Options of {@link statPanel}. */
export interface StatPanelOptions extends PanelBase {
  readonly unit: string;
  readonly targets: readonly PromTarget[];
  readonly thresholds: dashboard.ThresholdsConfigBuilder;
  /** Shown when the query returns nothing. */
  readonly noValue: string;
  /** @default - Grafana's choice for the unit */
  readonly decimals?: number;
}

/** A stat panel on Prometheus: the last value of each series, coloured by thresholds, no sparkline. */
export function statPanel(options: StatPanelOptions): stat.PanelBuilder {
  const panel = framed(new stat.PanelBuilder(), options)
    .datasource(PROMETHEUS)
    .unit(options.unit)
    .noValue(options.noValue)
    .thresholds(options.thresholds)
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .targets(options.targets.map((t, i) => promQuery(refIdAt(i), t)));
  if (options.decimals !== undefined) panel.decimals(options.decimals);
  return panel;
}

/** A Markdown text panel. */
export function markdownPanel(options: PanelBase & { readonly content: string }): text.PanelBuilder {
  return framed(new text.PanelBuilder(), options)
    .mode(text.TextMode.Markdown)
    .content(options.content);
}

/** Options of {@link lokiTimeSeriesPanel}. */
export interface LokiTimeSeriesPanelOptions extends PanelBase {
  readonly expr: string;
  readonly legend: string;
}

/** A time series panel on a LogQL metric query (bars, stacked): log volume. */
export function lokiTimeSeriesPanel(options: LokiTimeSeriesPanelOptions): timeseries.PanelBuilder {
  return framed(new timeseries.PanelBuilder(), options)
    .datasource(LOKI)
    .unit('short')
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(60)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .withTarget(lokiQuery('A', options.expr).legendFormat(options.legend));
}

/** A logs panel on a LogQL stream query: newest first, time, labels and details (the trace link) shown. */
export function logsPanel(options: PanelBase & { readonly expr: string }): logs.PanelBuilder {
  return framed(new logs.PanelBuilder(), options)
    .datasource(LOKI)
    .showTime(true)
    .showLabels(false)
    .showCommonLabels(false)
    .wrapLogMessage(true)
    .prettifyLogMessage(false)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending)
    .dedupStrategy(common.LogsDedupStrategy.None)
    .withTarget(lokiQuery('A', options.expr).maxLines(1000));
}

/** A custom variable with fixed values, the first one selected. */
export function customVariable(options: {
  readonly name: string;
  readonly label: string;
  readonly values: readonly string[];
  /**
   * Several values at once plus "All" (then matching `allValue`), All selected.
   * @default - one value at a time
   */
  readonly multiAll?: { readonly allValue: string };
}): dashboard.CustomVariableBuilder {
  const variable = new dashboard.CustomVariableBuilder(options.name)
    .label(options.label)
    .values(options.values.join(','))
    .options(options.values.map((v, i) => ({ text: v, value: v, selected: i === 0 && !options.multiAll })));
  if (options.multiAll) {
    return variable.multi(true).includeAll(true).allValue(options.multiAll.allValue)
      .current({ text: ['All'], value: ['$__all'] });
  }
  return variable.multi(false).includeAll(false).current({ text: options.values[0], value: options.values[0] });
}

/** The builder methods every panel kind shares. */
interface FramedBuilder {
  title(title: string): this;
  description(description: string): this;
  span(w: number): this;
  height(h: number): this;
}

/** Sets what every panel has: title, description and size. */
function framed<T extends FramedBuilder>(builder: T, options: PanelBase): T {
  return builder.title(options.title).description(options.description).span(options.span).height(options.height);
}

function lokiQuery(refId: string, expr: string): loki.DataqueryBuilder {
  return new loki.DataqueryBuilder().datasource(LOKI).refId(refId).editorMode(loki.QueryEditorMode.Code).queryType('range').expr(expr);
}

function refIdAt(index: number): string {
  return String.fromCharCode('A'.charCodeAt(0) + index);
}
