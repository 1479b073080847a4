import { RuleGroup } from '../constructs/prometheus-config';

/**
 * Names of the SLO recording rules: dashboards and the README refer to these, so they are a contract.
 *
 * Istio rules use the standard mesh metrics as the destination's sidecar reports them, per workload and the pod's
 * `version` label; the `http_*` rules use the services' own prom-client metrics per `app` and `version`.
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

/** Requests the SLO counts on the services' own metrics: probes and scrapes are not traffic. */
export const HTTP_SLO_SELECTOR = 'route!~"/healthz|/readyz|/metrics"';

const ISTIO = 'reporter="destination"';
const ISTIO_BY = 'destination_workload_namespace, destination_workload, destination_app, destination_version';
const HTTP_BY = 'namespace, app, version';

/** The recording rules for the SLO: request rate, success ratio (not 5xx), p95 and p99 latency, over 5 minutes. */
export function sloRecordingRules(): RuleGroup[] {
  return [
    {
      name: 'slo-istio',
      rules: [
        { record: SLO_RECORDS.istioRequestRate, expr: `sum by (${ISTIO_BY}) (rate(istio_requests_total{${ISTIO}}[5m]))` },
        {
          record: SLO_RECORDS.istioSuccessRatio,
          expr: `sum by (${ISTIO_BY}) (rate(istio_requests_total{${ISTIO},response_code!~"5.."}[5m]))\n`
            + `/\nsum by (${ISTIO_BY}) (rate(istio_requests_total{${ISTIO}}[5m]))`,
        },
        ...[95, 99].map(q => ({
          record: q === 95 ? SLO_RECORDS.istioLatencyP95 : SLO_RECORDS.istioLatencyP99,
          expr: `histogram_quantile(0.${q}, sum by (${ISTIO_BY}, le) (rate(istio_request_duration_milliseconds_bucket{${ISTIO}}[5m])))`,
        })),
      ],
    },
    {
      name: 'slo-http',
      rules: [
        { record: SLO_RECORDS.httpRequestRate, expr: `sum by (${HTTP_BY}) (rate(http_requests_total{${HTTP_SLO_SELECTOR}}[5m]))` },
        {
          record: SLO_RECORDS.httpSuccessRatio,
          expr: `sum by (${HTTP_BY}) (rate(http_requests_total{${HTTP_SLO_SELECTOR},status_code!~"5.."}[5m]))\n`
            + `/\nsum by (${HTTP_BY}) (rate(http_requests_total{${HTTP_SLO_SELECTOR}}[5m]))`,
        },
        ...[95, 99].map(q => ({
          record: q === 95 ? SLO_RECORDS.httpLatencyP95 : SLO_RECORDS.httpLatencyP99,
          expr: `histogram_quantile(0.${q}, sum by (${HTTP_BY}, le) (rate(http_request_duration_seconds_bucket{${HTTP_SLO_SELECTOR}}[5m])))`,
        })),
      ],
    },
  ];
}
