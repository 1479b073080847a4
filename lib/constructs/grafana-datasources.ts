/**
 * Typed Grafana datasource provisioning for the three signals, linked to each other by fixed uids:
 * a log line's trace id opens the trace in Tempo, a span opens its logs in Loki and its service graph in Prometheus,
 * and an exemplar on a Prometheus series opens its trace.
 *
 * Values hold Grafana's own macros (`${__value.raw}`, `$__tags`); {@link escapeProvisioningDollars} doubles every `$`
 * when the file is rendered, because Grafana expands `$VAR` and `${VAR}` from the environment in provisioning files.
 *
 * @see https://grafana.com/docs/grafana/latest/administration/provisioning/#data-sources
 */

import { walkProperties } from '../private/walk';

/** The uids every link refers to. */
export const DATASOURCE_UIDS = { prometheus: 'prometheus', loki: 'loki', tempo: 'tempo', alertmanager: 'alertmanager' } as const;

/** A provisioned datasource. */
export interface GrafanaDatasource {
  readonly name: string;
  readonly type: 'prometheus' | 'loki' | 'tempo' | 'alertmanager';
  /** Fixed uid: links between datasources use it, and a generated one would break them silently. */
  readonly uid: string;
  readonly url: string;
  readonly access: 'proxy';
  readonly isDefault: boolean;
  readonly editable: boolean;
  readonly jsonData: PrometheusJsonData | LokiJsonData | TempoJsonData | AlertmanagerJsonData;
  /** Values Grafana stores encrypted: the header values of `jsonData.httpHeaderNameN`. */
  readonly secureJsonData?: Readonly<Record<string, string>>;
}

/** Where an exemplar's trace id label opens a trace. */
export interface ExemplarTraceIdDestination {
  /** Label of the exemplar holding the trace id. */
  readonly name: string;
  readonly datasourceUid: string;
  readonly urlDisplayLabel?: string;
}

/** Settings of a Prometheus datasource. */
export interface PrometheusJsonData {
  readonly httpMethod: 'POST' | 'GET';
  /** The scrape interval, so `$__rate_interval` is right. */
  readonly timeInterval: string;
  readonly prometheusType: 'Prometheus' | 'Mimir';
  readonly exemplarTraceIdDestinations: readonly ExemplarTraceIdDestination[];
  /** A header sent with every query (its value in `secureJsonData.httpHeaderValue1`). */
  readonly httpHeaderName1?: string;
}

/** A link from a log line to a trace. */
export interface DerivedField {
  readonly name: string;
  /** `label`: match a label or structured-metadata key by regex; `regex`: capture from the log line. */
  readonly matcherType: 'label' | 'regex';
  readonly matcherRegex: string;
  readonly datasourceUid: string;
  /** For an internal link, the query sent to the target datasource. */
  readonly url: string;
  readonly urlDisplayLabel: string;
}

/** Settings of an Alertmanager datasource. */
export interface AlertmanagerJsonData {
  /** The Prometheus project's Alertmanager (not Mimir's or Cortex's). */
  readonly implementation: 'prometheus';
  /** Grafana's own alert rules stay in Grafana: this stack's alerts are Prometheus rules. */
  readonly handleGrafanaManagedAlerts: boolean;
}

/** Settings of a Loki datasource. */
export interface LokiJsonData {
  readonly maxLines: number;
  readonly derivedFields: readonly DerivedField[];
}

/** A span attribute mapped to a Loki label for the span-to-logs link. */
export interface SpanTagMapping {
  /** Span or resource attribute, such as `service.name`. */
  readonly key: string;
  /** Loki label that holds the same value. */
  readonly value: string;
}

/** Settings of a Tempo datasource. */
export interface TempoJsonData {
  readonly tracesToLogsV2: {
    readonly datasourceUid: string;
    readonly spanStartTimeShift: string;
    readonly spanEndTimeShift: string;
    readonly tags: readonly SpanTagMapping[];
    readonly filterByTraceID: boolean;
    readonly filterBySpanID: boolean;
    readonly customQuery: boolean;
  };
  readonly tracesToMetrics: {
    readonly datasourceUid: string;
    readonly spanStartTimeShift: string;
    readonly spanEndTimeShift: string;
    readonly tags: readonly SpanTagMapping[];
    readonly queries: ReadonlyArray<{ readonly name: string; readonly query: string }>;
  };
  readonly serviceMap: { readonly datasourceUid: string };
  readonly nodeGraph: { readonly enabled: boolean };
  readonly search: { readonly hide: boolean };
  readonly traceQuery: { readonly timeShiftEnabled: boolean; readonly spanStartTimeShift: string; readonly spanEndTimeShift: string };
  readonly streamingEnabled: { readonly search: boolean; readonly metrics: boolean };
}

/** Options of {@link prometheusDatasource}. */
export interface PrometheusDatasourceOptions {
  readonly url: string;
  /** The scrape interval, as Grafana should assume it (`30s`). */
  readonly scrapeInterval: string;
  /** @default DATASOURCE_UIDS.tempo */
  readonly tempoUid?: string;
  /**
   * A Mimir tenant, sent as `X-Scope-OrgID` with every query (the store is Mimir's Prometheus API).
   * @default - none: a Prometheus
   */
  readonly tenant?: string;
}

/**
 * The Prometheus datasource (the default one), with exemplars linked to Tempo: `trace_id` is what the services'
 * prom-client and the OpenTelemetry SDKs put on exemplars, `traceID` what Tempo's metrics-generator writes.
 */
export function prometheusDatasource(options: PrometheusDatasourceOptions): GrafanaDatasource {
  const tempoUid = options.tempoUid ?? DATASOURCE_UIDS.tempo;
  return {
    name: 'Prometheus',
    type: 'prometheus',
    uid: DATASOURCE_UIDS.prometheus,
    url: options.url,
    access: 'proxy',
    isDefault: true,
    editable: false,
    jsonData: {
      httpMethod: 'POST',
      timeInterval: options.scrapeInterval,
      prometheusType: options.tenant !== undefined ? 'Mimir' : 'Prometheus',
      ...(options.tenant !== undefined ? { httpHeaderName1: TENANT_HEADER } : {}),
      exemplarTraceIdDestinations: [
        { name: 'trace_id', datasourceUid: tempoUid, urlDisplayLabel: 'View Trace' },
        { name: 'traceID', datasourceUid: tempoUid, urlDisplayLabel: 'View Trace' },
      ],
    },
    // Grafana keeps a header's value in secureJsonData; the tenant is no secret, but only there is it sent
    ...(options.tenant !== undefined ? { secureJsonData: { httpHeaderValue1: options.tenant } } : {}),
  };
}

/** The header that names a Mimir (or Loki, Tempo) tenant. */
export const TENANT_HEADER = 'X-Scope-OrgID';

/** Options of {@link lokiDatasource}. */
export interface LokiDatasourceOptions {
  readonly url: string;
  /** @default DATASOURCE_UIDS.tempo */
  readonly tempoUid?: string;
  /**
   * Structured-metadata key holding the trace id of a sampled request (the only lines that get the link).
   * @default 'trace_id'
   */
  readonly traceIdKey?: string;
}

/**
 * The Loki datasource with one "View Trace" link to Tempo, on the `trace_id` structured metadata (a `label` matcher:
 * Grafana matches the key, never the line). Promtail attaches `trace_id` only to lines whose `trace_flags` have the
 * sampled bit, so the link appears only on lines whose trace Tempo has; a regex on the line would match the trace id
 * that the services log on every line, sampled or not, and would repeat the link.
 *
 * @see https://grafana.com/docs/grafana/latest/datasources/loki/configure/ (derived fields, "Label" matcher type;
 * grafana/grafana public/app/plugins/datasource/loki/getDerivedFields.ts tests the regex against each label key)
 */
export function lokiDatasource(options: LokiDatasourceOptions): GrafanaDatasource {
  const tempoUid = options.tempoUid ?? DATASOURCE_UIDS.tempo;
  const key = options.traceIdKey ?? 'trace_id';
  return {
    name: 'Loki',
    type: 'loki',
    uid: DATASOURCE_UIDS.loki,
    url: options.url,
    access: 'proxy',
    isDefault: false,
    editable: false,
    jsonData: {
      maxLines: 1000,
      derivedFields: [{
        name: key, matcherType: 'label', matcherRegex: `^${key}$`,
        datasourceUid: tempoUid, url: '${__value.raw}', urlDisplayLabel: 'View Trace',
      }],
    },
  };
}

/** The Loki labels a span's logs are selected by: its service, its namespace. */
export const SPAN_LOG_LABELS: readonly SpanTagMapping[] = [{ key: 'service.name', value: 'app' }, { key: 'k8s.namespace.name', value: 'namespace' }];

/** The labels of Tempo's span metrics a span's metrics are selected by: its service. */
export const SPAN_METRIC_LABELS: readonly SpanTagMapping[] = [{ key: 'service.name', value: 'service' }];

/** Options of {@link tempoDatasource}. */
export interface TempoDatasourceOptions {
  readonly url: string;
  /** @default DATASOURCE_UIDS.loki */
  readonly lokiUid?: string;
  /** @default DATASOURCE_UIDS.prometheus */
  readonly prometheusUid?: string;
  /**
   * Span attributes and the Loki labels holding the same values: the span-to-logs query selects on them (the link
   * appears only when a span has at least one of these attributes).
   * @default SPAN_LOG_LABELS
   */
  readonly logLabels?: readonly SpanTagMapping[];
  /**
   * Span attributes and the labels of Tempo's span metrics holding the same values: the span-to-metrics queries select
   * on them.
   * @default SPAN_METRIC_LABELS
   */
  readonly metricLabels?: readonly SpanTagMapping[];
}

/**
 * The Tempo datasource: span → logs in Loki filtered by trace id, span → metrics and the service graph in Prometheus
 * (from Tempo's metrics-generator), node graph and streaming on.
 */
export function tempoDatasource(options: TempoDatasourceOptions): GrafanaDatasource {
  const lokiUid = options.lokiUid ?? DATASOURCE_UIDS.loki;
  const prometheusUid = options.prometheusUid ?? DATASOURCE_UIDS.prometheus;
  return {
    name: 'Tempo',
    type: 'tempo',
    uid: DATASOURCE_UIDS.tempo,
    url: options.url,
    access: 'proxy',
    isDefault: false,
    editable: false,
    jsonData: {
      tracesToLogsV2: {
        datasourceUid: lokiUid,
        // log lines are written around the span, not exactly inside it
        spanStartTimeShift: '-2m',
        spanEndTimeShift: '2m',
        tags: options.logLabels ?? SPAN_LOG_LABELS,
        filterByTraceID: true,
        filterBySpanID: false,
        customQuery: false,
      },
      tracesToMetrics: {
        datasourceUid: prometheusUid,
        spanStartTimeShift: '-2m',
        spanEndTimeShift: '2m',
        tags: options.metricLabels ?? SPAN_METRIC_LABELS,
        // `$__tags`, not `${__tags}`: Grafana replaces only that spelling with the span's mapped tags
        // (public/app/features/explore/TraceView/createSpanLink.tsx buildMetricsQuery; the Grafana docs' "Configure
        // trace to metrics" provision `{$$__tags}`); escapeProvisioningDollars doubles the `$` in the file
        queries: [
          { name: 'Request rate', query: 'sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))' },
          {
            name: 'p95 latency',
            query: 'histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{$__tags}[5m])))',
          },
        ],
      },
      serviceMap: { datasourceUid: prometheusUid },
      nodeGraph: { enabled: true },
      search: { hide: false },
      traceQuery: { timeShiftEnabled: true, spanStartTimeShift: '-1h', spanEndTimeShift: '1h' },
      streamingEnabled: { search: true, metrics: true },
    },
  };
}

/**
 * Every `datasourceUid` a datasource's settings refer to, found by walking them: used to check that each link
 * resolves to a provisioned datasource.
 */
export function referencedDatasourceUids(value: unknown): string[] {
  const found = new Set<string>();
  walkProperties(value, (key, inner) => {
    if (key === 'datasourceUid' && typeof inner === 'string') found.add(inner);
  });
  return [...found].sort();
}

/**
 * Doubles every `$` in every string, so that Grafana's provisioning, which expands `$VAR` and `${VAR}` from the
 * environment, hands Grafana the literal macro (`$${__value.raw}` in the file is `${__value.raw}` in Grafana).
 */
export function escapeProvisioningDollars<T>(value: T): T {
  if (typeof value === 'string') return value.replace(/\$/g, '$$$$') as T;
  if (Array.isArray(value)) return value.map(escapeProvisioningDollars) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeProvisioningDollars(v)])) as T;
  }
  return value;
}

/** Options of {@link alertmanagerDatasource}. */
export interface AlertmanagerDatasourceOptions {
  readonly url: string;
}

/** The Alertmanager datasource's name, by which Grafana's alerting pages select it (`?alertmanager=`). */
export const ALERTMANAGER_DATASOURCE_NAME = 'Alertmanager';

/** A page of Grafana under its root URL, a sub-path of the root kept. */
function grafanaPage(grafanaRootUrl: string, page: string): URL {
  return new URL(page, grafanaRootUrl.endsWith('/') ? grafanaRootUrl : `${grafanaRootUrl}/`);
}

/**
 * Grafana's page of the alerts the Alertmanager datasource holds, grouped as Alertmanager notifies them ("Active
 * notifications", `/alerting/groups`), under Grafana's root URL (a sub-path kept).
 */
export function alertmanagerViewUrl(grafanaRootUrl: string): string {
  const url = grafanaPage(grafanaRootUrl, 'alerting/groups');
  url.searchParams.set('alertmanager', ALERTMANAGER_DATASOURCE_NAME);
  return url.toString();
}

/** A dashboard's address by its uid (`/d/<uid>`), under Grafana's root URL (a sub-path kept). */
export function dashboardUrl(grafanaRootUrl: string, uid: string): string {
  return grafanaPage(grafanaRootUrl, `d/${encodeURIComponent(uid)}`).toString();
}

/**
 * The Alertmanager datasource: its alerts and silences in Grafana's alerting UI, next to Grafana-managed alerts (of
 * which it receives none).
 *
 * @see https://grafana.com/docs/grafana/latest/datasources/alertmanager/ (provisioning example)
 */
export function alertmanagerDatasource(options: AlertmanagerDatasourceOptions): GrafanaDatasource {
  return {
    name: ALERTMANAGER_DATASOURCE_NAME,
    type: 'alertmanager',
    uid: DATASOURCE_UIDS.alertmanager,
    url: options.url,
    access: 'proxy',
    isDefault: false,
    editable: false,
    jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
  };
}
