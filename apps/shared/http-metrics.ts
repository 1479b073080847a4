import { Counter, Histogram, Metric, OpenMetricsContentType, PrometheusContentType, Registry } from 'prom-client';
import { METRICS, Track } from '../contract';

/** A rendered scrape. */
export interface Scrape {
  /** The `Content-Type` of `body`. */
  readonly contentType: string;
  /** The exposition text. */
  readonly body: string;
}

/** One finished request, as the metrics see it. */
export interface RequestSample {
  /** HTTP method. */
  readonly method: string;
  /** Route template, or `unmatched`. */
  readonly route: string;
  /** Response status. */
  readonly status: number;
  /** Duration in seconds. */
  readonly seconds: number;
  /** Trace id of a sampled request, attached as exemplar. */
  readonly traceId?: string;
}

/** The HTTP request metrics of one app instance, in registries of its own. */
export interface HttpMetrics {
  /** Counts and times one request. */
  record(sample: RequestSample): void;
  /** Renders the metrics as OpenMetrics (with exemplars) when `accept` asks for it, else as Prometheus text 0.0.4. */
  scrape(accept: string | undefined): Promise<Scrape>;
}

// prom-client types exemplar labels with the metric's own label names, so the exemplar label joins them there
type Label = (typeof METRICS.labelNames)[number] | typeof METRICS.exemplarTraceIdLabel;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Creates the metrics of {@link METRICS} for one app instance, labelled with its track. */
export function createHttpMetrics(version: Track): HttpMetrics {
  const openMetrics = new Registry<OpenMetricsContentType>();
  openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const labelNames: Label[] = [...METRICS.labelNames];
  const requests = new Counter<Label>({
    name: METRICS.requestsTotal, help: 'HTTP requests answered, by route template and status', labelNames, registers: [openMetrics], enableExemplars: true,
  });
  const duration = new Histogram<Label>({
    name: METRICS.requestDuration, help: 'HTTP request duration in seconds, by route template and status', labelNames,
    buckets: [...METRICS.buckets], registers: [openMetrics], enableExemplars: true,
  });
  const classic = new Registry<PrometheusContentType>();
  classic.registerMetric(withFixedName(requests, METRICS.requestsTotal));
  classic.registerMetric(duration);

  return {
    record(sample) {
      const labels = {
        method: METHODS.has(sample.method) ? sample.method : 'OTHER', route: sample.route, status_code: String(sample.status), version,
      };
      const exemplarLabels = sample.traceId === undefined ? undefined : { [METRICS.exemplarTraceIdLabel]: sample.traceId };
      requests.inc({ labels, value: 1, exemplarLabels });
      duration.observe({ labels, value: sample.seconds, exemplarLabels });
    },
    async scrape(accept) {
      const registry = accept?.includes('application/openmetrics-text') ? openMetrics : classic;
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/**
 * A view of `metric` whose name cannot change: prom-client renames a counter in place (drops `_total`) whenever it
 * renders OpenMetrics, which would otherwise leak into the classic format's series names.
 */
function withFixedName<T extends string>(metric: Metric<T>, name: string): Metric<T> {
  return Object.create(metric, { name: { value: name, enumerable: true } }) as Metric<T>;
}
