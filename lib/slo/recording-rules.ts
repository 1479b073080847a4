import type { RecordingRule, RuleGroup } from '../constructs/prometheus-config';
import { show } from '../errors';
import type { Services } from '../services/catalog';
import type { ServiceSpec } from '../services/service';
import {
  APP_LABEL, HttpMetrics, ISTIO, NAMESPACE_LABEL, TRACKS, TRACK_LABEL, bucketOf, httpTrafficSelector, workloadName,
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
const WINDOW = '5m';

/** The name of a service's rule group: `slo-<service>`. */
export function sloRuleGroupName(service: string): string {
  return `slo-${service}`;
}

/**
 * The recording rules for the SLO, one group per service ({@link sloRuleGroupName}) in name order: request rate,
 * success ratio (not 5xx), p95 and p99 latency over 5 minutes, from Istio's metrics for every service and from the
 * service's own metrics for a service whose file declares `metrics.http`. A service is named in the rules exactly
 * when it is in `services`.
 *
 * Each rule carries the service's name as a static label that its series already have (`destination_app` or `app`,
 * the pod's `app` label): the groups record under the same names, and promtool's duplicate-rule check tells rules
 * apart by name and static labels only.
 *
 * @param services every service, keyed by its name, as `loadServices` returns them
 * @throws if a service is keyed by another name than its own
 */
export function sloRecordingRules(services: Services): RuleGroup[] {
  return Object.keys(services).sort().map(key => {
    const spec = services[key];
    if (spec.name !== key) {
      throw new Error(`sloRecordingRules: 'services.${key}' has 'name' ${show(spec.name)}: key each service by its name, as loadServices does`);
    }
    const http = spec.metrics.http;
    return { name: sloRuleGroupName(spec.name), rules: [...istioRules(spec), ...(http ? httpRules(spec, http) : [])] };
  });
}

/** The four rules of a service from Istio's metrics, as the destination sidecar of either track reports them. */
function istioRules(spec: ServiceSpec): RecordingRule[] {
  return sloRules({
    records: [SLO_RECORDS.istioRequestRate, SLO_RECORDS.istioSuccessRatio, SLO_RECORDS.istioLatencyP95, SLO_RECORDS.istioLatencyP99],
    requests: ISTIO.requests,
    bucket: ISTIO.durationBucket,
    codeLabel: ISTIO.code,
    // each request is reported by both proxies; the destination's is the one that also sees a canary's own failures
    matchers: [
      eq(ISTIO.reporter, 'destination'),
      eq(ISTIO.workloadNamespace, spec.namespace),
      `${ISTIO.workload}=~"${TRACKS.map(track => workloadName(spec.name, track)).join('|')}"`,
    ],
    by: [ISTIO.workloadNamespace, ISTIO.workload, ISTIO.app, ISTIO.version],
    labels: { [ISTIO.app]: spec.name },
  });
}

/** The four rules of a service from its own metrics, without the routes that are probes and scrapes. */
function httpRules(spec: ServiceSpec, metrics: HttpMetrics): RecordingRule[] {
  const traffic = httpTrafficSelector(metrics);
  return sloRules({
    records: [SLO_RECORDS.httpRequestRate, SLO_RECORDS.httpSuccessRatio, SLO_RECORDS.httpLatencyP95, SLO_RECORDS.httpLatencyP99],
    requests: metrics.requests,
    bucket: bucketOf(metrics.duration),
    codeLabel: metrics.codeLabel,
    matchers: [eq(NAMESPACE_LABEL, spec.namespace), eq(APP_LABEL, spec.name), ...(traffic ? [traffic] : [])],
    by: [NAMESPACE_LABEL, APP_LABEL, TRACK_LABEL],
    labels: { [APP_LABEL]: spec.name },
  });
}

/** What the four rules of one metric source are made of. */
interface RuleSource {
  /** Request rate, success ratio, p95 and p99, in that order. */
  readonly records: readonly [string, string, string, string];
  readonly requests: string;
  readonly bucket: string;
  readonly codeLabel: string;
  readonly matchers: readonly string[];
  readonly by: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

function sloRules(source: RuleSource): RecordingRule[] {
  const { records: [rate, success, p95, p99], requests, bucket, codeLabel } = source;
  const selector = source.matchers.join(',');
  const by = source.by.join(', ');
  const all = `sum by (${by}) (rate(${requests}{${selector}}[${WINDOW}]))`;
  // a copy per rule: a shared object would be written as a YAML anchor and aliases
  const labels = (): Record<string, string> => ({ ...source.labels });
  return [
    { record: rate, expr: all, labels: labels() },
    { record: success, expr: `sum by (${by}) (rate(${requests}{${selector},${codeLabel}!~"5.."}[${WINDOW}]))\n/\n${all}`, labels: labels() },
    ...([[p95, 0.95], [p99, 0.99]] as const).map(([record, q]) => ({
      record,
      expr: `histogram_quantile(${q}, sum by (${by}, le) (rate(${bucket}{${selector}}[${WINDOW}])))`,
      labels: labels(),
    })),
  ];
}

function eq(label: string, value: string): string {
  return `${label}=${JSON.stringify(value)}`;
}
