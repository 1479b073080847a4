import type { RecordingRule, RuleGroup } from '../constructs/prometheus-config';
import { show } from '../errors';
import type { Services } from '../services/catalog';
import type { ServiceSpec } from '../services/service';
import {
  APP_LABEL, CLUSTER_LABEL, HttpMetrics, ISTIO, ISTIO_OUTCOMES, ISTIO_UNANSWERED, NAMESPACE_LABEL, Outcomes, TRACKS, TRACK_LABEL, bucketOf,
  UNPINNED, failedSeries, httpOutcomes, httpTrafficSelector, workloadName,
} from './vocabulary';

/**
 * Names of the SLO recording rules: dashboards and the README refer to these, so they are a contract.
 *
 * Every service records under the same names; its series are told apart by their labels. Istio rules use the standard
 * mesh metrics as the destination's sidecar reports them, per workload and the pod's `version` label; the `http_*`
 * rules use the service's own metrics (the names its file declares) per `namespace`, `app` and `version`. The `http_*`
 * latency records keep the histogram's own unit: seconds for the demo's services, whose histogram the name was taken
 * from, milliseconds for a service whose file says `durationUnit: milliseconds`.
 */
export const SLO_RECORDS = {
  istioRequestRate: 'workload_version:istio_requests:rate5m',
  istioSuccessRatio: 'workload_version:istio_requests_success:ratio_rate5m',
  istioLatencyP95: 'workload_version:istio_request_duration_milliseconds:p95_5m',
  istioLatencyP99: 'workload_version:istio_request_duration_milliseconds:p99_5m',
  httpRequestRate: 'app_version:http_requests:rate5m',
  httpSuccessRatio: 'app_version:http_requests_success:ratio_rate5m',
  httpLatencyP95: 'app_version:http_request_duration_seconds:p95_5m',
  httpLatencyP99: 'app_version:http_request_duration_seconds:p99_5m',
} as const;

/** The window every SLO rule rates over: the `5m` of the record names. */
export const SLO_RATE_WINDOW = '5m';
const WINDOW = SLO_RATE_WINDOW;

/**
 * The windows of the multi-window, multi-burn-rate alerts: each alert pairs a long window with a short one (1h with 5m,
 * 6h with 30m, 3d with 6h), as the Google SRE workbook's "Alerting on SLOs" recommends.
 */
export const BURN_RATE_WINDOWS = ['5m', '30m', '1h', '6h', '3d'] as const;

/** One of {@link BURN_RATE_WINDOWS}. */
export type BurnRateWindow = typeof BURN_RATE_WINDOWS[number];

/**
 * The windows whose error ratios sum 5-minute rate records ({@link SLO_BURN_RECORDS}' `trackRequestRate` and
 * `trackErrorRate`, {@link SLO_CALLER_RECORDS}) instead of rating the raw counters. Rating `istio_requests_total` over
 * 3 days reads every sample of every series of the service at every evaluation: ~260 ms for the service's 3d ratio with
 * Prometheus 2.42 for 200 series scraped every 30 s, ~25 ms summed (`npm run bench:long-windows`); at a 30 s
 * evaluation, 50 services would keep most of a core busy. Summing rates taken at every evaluation weights each moment by
 * its traffic alike in the numerator and the denominator, so the ratio stays a ratio of sums, and an evaluation that did
 * not run is missing from both. Each 5-minute rate counts a request in the evaluations of the next 5 minutes, so the
 * sum lags by ~2.5 minutes. The records of a pair are rendered together, only for these windows, so that their
 * histories start together (when the rules are deployed, or a service's SLO source changes): until a window has passed,
 * it covers the time since. Not where the rules run on remote-written samples (Mimir's ruler): those may arrive minutes
 * late, after the evaluations whose 5-minute rates would have counted them, so there every window rates the counters.
 */
export const SUMMED_WINDOWS: ReadonlySet<BurnRateWindow> = new Set(['6h', '3d']);

/** Where a service's SLO numbers come from: Istio's standard metrics or the service's own. */
export type SloSource = 'istio' | 'http';

/** The labels, per source, that the service-level records keep the namespace and the service in. */
export const SERVICE_LABELS: Readonly<Record<SloSource, { readonly namespace: string; readonly app: string }>> = {
  istio: { namespace: ISTIO.workloadNamespace, app: ISTIO.app },
  http: { namespace: NAMESPACE_LABEL, app: APP_LABEL },
};

/** A record name per burn-rate window: `<prefix><window>`. */
function windowed(prefix: string): Readonly<Record<BurnRateWindow, string>> {
  return Object.fromEntries(BURN_RATE_WINDOWS.map(w => [w, `${prefix}${w}`])) as Record<BurnRateWindow, string>;
}

/**
 * Names of the records the SLO alerts read, by metric source: the error ratio (5xx over all requests) per track and of
 * the service (every track summed) over each of {@link BURN_RATE_WINDOWS}, the service's failed requests over the last
 * hour (as its error ratios count them: a page needs a few), and the service's p95 and p99 latency over 5 minutes.
 * Like {@link SLO_RECORDS}, a contract: the alerts, dashboards and the README refer to them. Each ratio is a ratio of
 * sums over its own window, never an average of shorter ratios; the latency keeps the histogram's unit.
 */
export const SLO_BURN_RECORDS = {
  istio: {
    trackRequestRate: 'workload_version:istio_requests_slo:rate5m',
    trackErrorRate: 'workload_version:istio_requests_slo_errors:rate5m',
    trackErrorRatio: windowed('workload_version:istio_requests_errors:ratio_rate'),
    serviceErrorRatio: windowed('app:istio_requests_errors:ratio_rate'),
    serviceErrors1h: 'app:istio_requests_errors:increase1h',
    serviceLatencyP95: 'app:istio_request_duration_milliseconds:p95_5m',
    serviceLatencyP99: 'app:istio_request_duration_milliseconds:p99_5m',
  },
  http: {
    trackRequestRate: 'app_version:http_requests_slo:rate5m',
    trackErrorRate: 'app_version:http_requests_slo_errors:rate5m',
    trackErrorRatio: windowed('app_version:http_requests_errors:ratio_rate'),
    serviceErrorRatio: windowed('app:http_requests_errors:ratio_rate'),
    serviceErrors1h: 'app:http_requests_errors:increase1h',
    serviceLatencyP95: 'app:http_request_duration_seconds:p95_5m',
    serviceLatencyP99: 'app:http_request_duration_seconds:p99_5m',
  },
} as const satisfies Record<SloSource, unknown>;

/**
 * The 5-minute request and unanswered-request rates of a service as its callers' sidecars report them, by the Service
 * they called (Istio's metrics whatever the SLO's source): what the long windows of the service's error ratio sum
 * ({@link SUMMED_WINDOWS}).
 */
export const SLO_CALLER_RECORDS = {
  requestRate: 'destination_service:istio_requests:rate5m',
  errorRate: 'destination_service:istio_requests_errors:rate5m',
} as const;

/**
 * The metric source of a service's SLO: what its file tells the gate to read (`analysis.metrics`, else
 * `metrics.source`, else Istio), as `settingsOf` resolves it without a state file. The burn-rate records and the SLO
 * alerts read this source only; a state file that switches one environment's gate to the other source changes the gate,
 * not the alerts.
 */
export function sloSourceOf(spec: ServiceSpec): SloSource {
  return spec.analysis?.metrics ?? spec.metrics.source;
}

/** The name of a service's rule group: `slo-<service>`. */
export function sloRuleGroupName(service: string): string {
  return `slo-${service}`;
}

/** Where the SLO's rules run: see {@link sloRecordingRules}. */
export interface SloRecordingOptions {
  readonly perCluster?: boolean;
  readonly remoteWritten?: boolean;
}

/**
 * The recording rules for the SLO, one group per service ({@link sloRuleGroupName}) in name order: request rate,
 * success ratio (not 5xx), p95 and p99 latency over 5 minutes, from Istio's metrics for every service and from the
 * service's own metrics for a service whose file declares `metrics.http`; then, from the SLO's source only
 * ({@link sloSourceOf}), the records of {@link SLO_BURN_RECORDS}: the error ratio per track and of the service over each
 * burn-rate window, and the service's p95 and p99. A service is named in the rules exactly when it is in `services`.
 *
 * Each rule carries the service's name as a static label that its series already have (`destination_app` or `app`,
 * the pod's `app` label): the groups record under the same names, and promtool's duplicate-rule check tells rules
 * apart by name and static labels only.
 *
 * @param services every service, keyed by its name, as `loadServices` returns them
 * @param options `perCluster`: every record keeps the `cluster` label (a store of several clusters: each cluster's
 *   burn rate and latency are its own, and so are the alerts on them); `remoteWritten`: the rules run on samples that
 *   arrive by remote write, perhaps late (Mimir's ruler), so every window rates the counters ({@link SUMMED_WINDOWS})
 * @throws if a service is keyed by another name than its own
 */
export function sloRecordingRules(services: Services, options: SloRecordingOptions = {}): RuleGroup[] {
  const summed: ReadonlySet<BurnRateWindow> = options.remoteWritten ? new Set() : SUMMED_WINDOWS;
  return Object.keys(services).sort().map(key => {
    const spec = services[key];
    if (spec.name !== key) {
      throw new Error(`sloRecordingRules: 'services.${key}' has 'name' ${show(spec.name)}: key each service by its name, as loadServices does`);
    }
    const http = spec.metrics.http;
    const clustered = (by: readonly string[]): readonly string[] => (options.perCluster ? [CLUSTER_LABEL, ...by] : by);
    const perCluster = (source: RuleSource): RuleSource => ({ ...source, by: clustered(source.by), serviceBy: clustered(source.serviceBy) });
    const istio = perCluster(istioSource(spec));
    const own = http ? perCluster(httpSource(spec, http)) : undefined;
    const burn = sloSourceOf(spec) === 'http' && own ? own : istio;
    return {
      name: sloRuleGroupName(spec.name),
      rules: [...sloRules(istio), ...(own ? sloRules(own) : []), ...burnRateRules(burn, summed)],
    };
  });
}

/** A service's requests from Istio's metrics, as the destination sidecar of either track reports them. */
function istioSource(spec: ServiceSpec): RuleSource {
  return {
    records: [SLO_RECORDS.istioRequestRate, SLO_RECORDS.istioSuccessRatio, SLO_RECORDS.istioLatencyP95, SLO_RECORDS.istioLatencyP99],
    burnRecords: SLO_BURN_RECORDS.istio,
    requests: ISTIO.requests,
    bucket: ISTIO.durationBucket,
    outcomes: ISTIO_OUTCOMES,
    // each request is reported by both proxies; the destination's is the one that also sees a canary's own failures.
    // Pinned requests (smoke checks, people trying the canary) are not the service's users: the SLO counts without
    // them, as the gate does, so a canary failing its smoke checks at 0 % pages no one
    matchers: [
      eq(ISTIO.reporter, 'destination'),
      eq(ISTIO.workloadNamespace, spec.namespace),
      `${ISTIO.workload}=~"${TRACKS.map(track => workloadName(spec.name, track)).join('|')}"`,
      UNPINNED,
    ],
    by: [ISTIO.workloadNamespace, ISTIO.workload, ISTIO.app, ISTIO.version],
    serviceBy: [SERVICE_LABELS.istio.namespace, SERVICE_LABELS.istio.app],
    serviceLabels: SERVICE_LABELS.istio,
    labels: { [ISTIO.app]: spec.name },
    namespace: spec.namespace,
    name: spec.name,
  };
}

/**
 * The Service a service's callers' sidecars report their requests to (the ingress gateway's among them). When none of
 * the service's pods answers (all crashed, none ready), its own sidecars and metrics report nothing, while its callers
 * get 503s ("no healthy upstream"): reported by them with the destination workload `unknown` but the Service known.
 */
function calledService(source: RuleSource): readonly string[] {
  return [eq(ISTIO.serviceNamespace, source.namespace), eq(ISTIO.serviceName, source.name)];
}

/** A service's requests from its own metrics, without the routes that are probes and scrapes. */
function httpSource(spec: ServiceSpec, metrics: HttpMetrics): RuleSource {
  const traffic = httpTrafficSelector(metrics);
  return {
    records: [SLO_RECORDS.httpRequestRate, SLO_RECORDS.httpSuccessRatio, SLO_RECORDS.httpLatencyP95, SLO_RECORDS.httpLatencyP99],
    burnRecords: SLO_BURN_RECORDS.http,
    requests: metrics.requests,
    bucket: bucketOf(metrics.duration),
    outcomes: httpOutcomes(metrics),
    matchers: [eq(NAMESPACE_LABEL, spec.namespace), eq(APP_LABEL, spec.name), ...(traffic ? [traffic] : [])],
    by: [NAMESPACE_LABEL, APP_LABEL, TRACK_LABEL],
    serviceBy: [SERVICE_LABELS.http.namespace, SERVICE_LABELS.http.app],
    serviceLabels: SERVICE_LABELS.http,
    labels: { [APP_LABEL]: spec.name },
    namespace: spec.namespace,
    name: spec.name,
  };
}

/** What the rules of one metric source are made of. */
interface RuleSource {
  /** Request rate, success ratio, p95 and p99, in that order. */
  readonly records: readonly [string, string, string, string];
  readonly burnRecords: typeof SLO_BURN_RECORDS[SloSource];
  readonly requests: string;
  readonly bucket: string;
  /** Which requests failed: they count against the SLO. */
  readonly outcomes: Outcomes;
  readonly matchers: readonly string[];
  /** The labels of a track's series. */
  readonly by: readonly string[];
  /** The labels of the service's series: every track summed (and the cluster, per cluster). */
  readonly serviceBy: readonly string[];
  /** The labels that hold the service's namespace and name in its series. */
  readonly serviceLabels: typeof SERVICE_LABELS[SloSource];
  readonly labels: Readonly<Record<string, string>>;
  /** The service's namespace and name, as its series' {@link serviceLabels} hold them. */
  readonly namespace: string;
  readonly name: string;
}

/**
 * The error ratio per track and of the service over every burn-rate window, and the service's p95 and p99. An error
 * ratio is `sum(rate(failed[W])) / sum(rate(all[W]))` by the same labels (failed: a 5xx, or a gRPC server failure);
 * with traffic but no failed series at all it is 0, not absent (`or 0 * all`), so that a healthy service reads 0 on a
 * dashboard. Over the `summed` windows ({@link SUMMED_WINDOWS}) the rates are 5-minute records summed over W, rather
 * than the counters, and the records are rendered before the ratios.
 * The service's ratio is the larger of its own view and its callers' ({@link calledService}, Istio's metrics whatever the
 * source), where a failure is a request the service never answered ({@link ISTIO_UNANSWERED}): a service none of whose
 * pods answers burns at its callers, where its own view is empty, and a status it sent counts as its own file says.
 */
function burnRateRules(source: RuleSource, summed: ReadonlySet<BurnRateWindow>): RecordingRule[] {
  const { burnRecords, requests, bucket, outcomes } = source;
  const labels = (): Record<string, string> => ({ ...source.labels });
  const { namespace: namespaceLabel, app: appLabel } = source.serviceLabels;
  // the callers' series grouped as the service's own: the cluster (per cluster) kept, the Service's namespace and name
  // copied into the labels the service's own series hold them in
  const callersBy = [...source.serviceBy.filter(l => l !== namespaceLabel && l !== appLabel), ISTIO.serviceNamespace, ISTIO.serviceName];
  /** What one view of the service counts: its requests, the failed ones, and the 5-minute records of both. */
  interface View {
    readonly metric: string;
    readonly matchers: readonly string[];
    readonly failed: Outcomes;
    readonly records: { readonly errors: string; readonly all: string; readonly selector: string };
  }
  const sum = (by: readonly string[], terms: string) => `sum by (${by.join(', ')}) (${terms})`;
  const failedOver = (fn: 'rate' | 'increase', view: View, by: readonly string[], window: string): string =>
    sum(by, failedSeries(view.failed, f => `${fn}(${view.metric}{${[...view.matchers, f].join(',')}}[${window}])`));
  const failedRate = (view: View, by: readonly string[], window: string = WINDOW): string => failedOver('rate', view, by, window);
  const allRate = (view: View, by: readonly string[], window: string = WINDOW): string => sum(by, `rate(${view.metric}{${view.matchers.join(',')}}[${window}])`);
  const ratioOf = (errors: string, all: string): string => `(\n  ${errors}\n  or\n  0 * ${all}\n)\n/\n${all}`;
  /** A ratio over `window` of a view, by `by`: from the counters, or summed from the records. */
  const ratio = (view: View, by: readonly string[], window: BurnRateWindow): string => {
    if (!summed.has(window)) return ratioOf(failedRate(view, by, window), allRate(view, by, window));
    const overWindow = (record: string) => sum(by, `sum_over_time(${record}{${view.records.selector}}[${window}])`);
    return ratioOf(overWindow(view.records.errors), overWindow(view.records.all));
  };
  const own: View = {
    metric: requests, matchers: source.matchers, failed: outcomes,
    records: {
      errors: burnRecords.trackErrorRate, all: burnRecords.trackRequestRate,
      selector: [eq(namespaceLabel, source.namespace), eq(appLabel, source.name)].join(','),
    },
  };
  const seen: View = {
    metric: ISTIO.requests, matchers: [eq(ISTIO.reporter, 'source'), ...calledService(source), UNPINNED], failed: ISTIO_UNANSWERED,
    records: { errors: SLO_CALLER_RECORDS.errorRate, all: SLO_CALLER_RECORDS.requestRate, selector: calledService(source).join(',') },
  };
  /** The larger of the service's own view and its callers' (renamed to the service's labels), as the ratios take it. */
  const eitherView = (ownTerm: string, seenTerm: string): string => {
    const renamed = `label_replace(\n  label_replace(\n${indent(seenTerm, 4)}\n  , ${JSON.stringify(namespaceLabel)}, "$1", `
      + `${JSON.stringify(ISTIO.serviceNamespace)}, "(.*)")\n, ${JSON.stringify(appLabel)}, "$1", ${JSON.stringify(ISTIO.serviceName)}, "(.*)")`;
    return `max by (${source.serviceBy.join(', ')}) (\n${indent(ownTerm, 2)}\n  or\n${indent(renamed, 2)}\n)`;
  };
  const serviceRatio = (window: BurnRateWindow): string => eitherView(ratio(own, source.serviceBy, window), ratio(seen, callersBy, window));
  const serviceBy = source.serviceBy.join(', ');
  return [
    ...(summed.size === 0 ? [] : [
      { record: burnRecords.trackRequestRate, expr: allRate(own, source.by), labels: labels() },
      { record: burnRecords.trackErrorRate, expr: failedRate(own, source.by), labels: labels() },
      { record: SLO_CALLER_RECORDS.requestRate, expr: allRate(seen, callersBy), labels: labels() },
      { record: SLO_CALLER_RECORDS.errorRate, expr: failedRate(seen, callersBy), labels: labels() },
    ]),
    ...BURN_RATE_WINDOWS.map(w => ({ record: burnRecords.trackErrorRatio[w], expr: ratio(own, source.by, w), labels: labels() })),
    ...BURN_RATE_WINDOWS.map(w => ({ record: burnRecords.serviceErrorRatio[w], expr: serviceRatio(w), labels: labels() })),
    {
      record: burnRecords.serviceErrors1h,
      expr: eitherView(failedOver('increase', own, source.serviceBy, '1h'), failedOver('increase', seen, callersBy, '1h')),
      labels: labels(),
    },
    ...([[burnRecords.serviceLatencyP95, 0.95], [burnRecords.serviceLatencyP99, 0.99]] as const).map(([record, q]) => ({
      record,
      expr: `histogram_quantile(${q}, sum by (${serviceBy}, le) (rate(${bucket}{${source.matchers.join(',')}}[${WINDOW}])))`,
      labels: labels(),
    })),
  ];
}

function sloRules(source: RuleSource): RecordingRule[] {
  const { records: [rate, success, p95, p99], requests, bucket, outcomes } = source;
  const selector = source.matchers.join(',');
  const by = source.by.join(', ');
  const all = `sum by (${by}) (rate(${requests}{${selector}}[${WINDOW}]))`;
  // a copy per rule: a shared object would be written as a YAML anchor and aliases
  const labels = (): Record<string, string> => ({ ...source.labels });
  return [
    { record: rate, expr: all, labels: labels() },
    // 0, not no result, for a group that answered requests but none succeeded (a canary failing every request)
    { record: success, expr: `sum by (${by}) (rate(${requests}{${selector},${outcomes.ok}}[${WINDOW}]))\n/\n${all}\nor\n${all} * 0`, labels: labels() },
    ...([[p95, 0.95], [p99, 0.99]] as const).map(([record, q]) => ({
      record,
      expr: `histogram_quantile(${q}, sum by (${by}, le) (rate(${bucket}{${selector}}[${WINDOW}])))`,
      labels: labels(),
    })),
  ];
}

function indent(text: string, spaces: number): string {
  return text.split('\n').map(line => `${' '.repeat(spaces)}${line}`).join('\n');
}

function eq(label: string, value: string): string {
  return `${label}=${JSON.stringify(value)}`;
}
