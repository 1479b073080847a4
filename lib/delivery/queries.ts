import { Duration } from 'cdk8s';
import { goDuration } from '../private/units';
import { parseDuration } from '../rollout/duration';
import { AnalysisSettings } from '../rollout/state';
import { mostAvailableQuery } from '../slo/cluster-state';
import {
  APP_LABEL, CLUSTER_LABEL, HttpMetrics, ISTIO, ISTIO_OUTCOMES, NAMESPACE_LABEL, Outcomes, PIPELINE, TRACK_LABEL, Track, failedSeries,
  UNPINNED, httpOutcomes, httpTrafficSelector, toMillis, workloadName,
} from '../slo/vocabulary';

/**
 * The PromQL of the SLO gate, for both metric sources. Pure: it only builds strings.
 *
 * Every count query ends in `or vector(0)` only where an empty answer really means zero and zero can never pass a
 * check: no requests is "too little traffic" (a hold) or "the canary gets nothing" (a failed check). An error count
 * falls back to zero only when requests with a response code exist in the same window, so a dropped `response_code`
 * label reads as "unknown" (a hold), never as "no errors". Latency quantiles have no fallback at all: no samples is
 * "unknown".
 *
 * Pinned requests (`x-canary: always`: smoke tests, people trying the canary) are never traffic. The `istio` source
 * leaves them out by the label Istio's request metrics carry from the header; a series without it (a proxy outside
 * the services' namespaces, or one not yet configured) counts. The `http` source cannot tell them: the services'
 * own metrics carry nothing of the request's headers, so with `metrics: http` a pinned request counts as traffic.
 */

/** The name of one query of a gate decision; also the key of its value in `--json`'s `samples`. */
export type QueryName =
  | 'stableRequests' | 'canaryRequests' | 'canaryErrors' | 'canaryCallerErrors' | 'canaryP95' | 'canaryP99'
  | 'stableErrors' | 'stableCallerErrors' | 'stableP95' | 'stableP99' | 'canaryAvailable';

/** The queries of one decision, in the order they are listed and run. */
export type GateQueries = Readonly<Partial<Record<QueryName, string>>>;

/** What the queries are about. */
export interface QueryTarget {
  /** The metric source: Istio's standard metrics, or the service's own request metrics. */
  readonly metrics: AnalysisSettings['metrics'];
  /** The service's name: its `app` label and the prefix of its workloads. */
  readonly service: string;
  /** The namespace the service runs in (its service file's `namespace`). */
  readonly namespace: string;
  /**
   * The service's own request metrics, as its service file names them; required when `metrics` is `http`.
   * @default - none: only `metrics: istio` can be queried
   */
  readonly http?: HttpMetrics;
  /** The analysis window in Prometheus notation, such as `5m`. */
  readonly window: string;
  /**
   * How often the services' series are scraped (`prometheus.scrapeInterval`), such as `30s`: a series that appears in
   * the window counts its first value only when its target's every scrape of the two intervals before the window
   * succeeded, so that a gap in Prometheus or a failed scrape at the window's start reads as "no new series".
   * @default - only the last scrape before the window is checked, which a gap in Prometheus shorter than its lookback
   *   (5m) passes
   */
  readonly scrapeInterval?: string;
  /** Also query the 99th percentile (the SLO sets a p99 bound). */
  readonly p99: boolean;
  /** Also query stable's errors and latency (baseline comparison on). */
  readonly baseline: boolean;
  /**
   * The cluster the service runs in, when the store holds several clusters' series (a central store fed by remote
   * write): every selector then carries `cluster="<name>"` ({@link CLUSTER_LABEL}).
   * @default - none: the store holds one cluster's series
   */
  readonly cluster?: string;
}

interface Source {
  readonly requests: string;
  /** The matchers that keep a selector to the service's cluster (none when the store holds one cluster). */
  readonly cluster: string;
  readonly codeLabel: string;
  /** Which requests failed: a 5xx, or a gRPC server failure. */
  readonly outcomes: Outcomes;
  readonly bucket: string;
  /** Multiplier from the histogram's unit to milliseconds. */
  readonly toMs: number;
  /** The series of one track as its own pods report them (Istio: the destination's sidecar). */
  readonly served: (track: Track) => string;
  /** The series of one track as callers report them, or undefined when the source has no callers' view. */
  readonly called?: (track: Track) => string;
}

const quote = (value: string): string => JSON.stringify(value);

function sourceOf(target: QueryTarget): Source {
  const namespace = quote(target.namespace);
  const cluster = target.cluster === undefined ? [] : [`${CLUSTER_LABEL}=${quote(target.cluster)}`];
  if (target.metrics === 'http') {
    const http = target.http;
    if (!http) {
      throw new Error(`'http' must name the request metrics of ${target.service} when 'metrics' is "http" (its service file's metrics.http)`);
    }
    // pinned requests count here: nothing in these series tells them (see above)
    const traffic = httpTrafficSelector(http);
    return {
      requests: http.requests,
      cluster: cluster.join(','),
      codeLabel: http.codeLabel,
      outcomes: httpOutcomes(http),
      bucket: `${http.duration}_bucket`,
      toMs: toMillis(http),
      served: track => [
        ...cluster, `${NAMESPACE_LABEL}=${namespace}`, `${APP_LABEL}=${quote(target.service)}`, `${TRACK_LABEL}=${quote(track)}`,
        ...(traffic ? [traffic] : []),
      ].join(','),
    };
  }
  const workload = (reporter: 'destination' | 'source', track: Track): string => [
    ...cluster, `${ISTIO.reporter}=${quote(reporter)}`, `${ISTIO.workloadNamespace}=${namespace}`, `${ISTIO.workload}=${quote(workloadName(target.service, track))}`,
    UNPINNED,
  ].join(',');
  return {
    requests: ISTIO.requests,
    cluster: cluster.join(','),
    codeLabel: ISTIO.code,
    outcomes: ISTIO_OUTCOMES,
    bucket: ISTIO.durationBucket,
    toMs: 1,
    served: track => workload('destination', track),
    // a caller's sidecar names the workload from the endpoint Istio picked (istio/proxy 1.30.3, istio_stats.cc:
    // extractEndpointMetadata), so a canary pod that resets or refuses connections (UF, URX) is still this track's;
    // with no ready canary pod (UH) there is no endpoint, and the canaryTraffic check sees the track get nothing
    called: track => workload('source', track),
  };
}

/**
 * How far before the window a series that appears in it must not have been seen to be new. A series goes stale for a
 * scrape or two without being new: Istio's merged endpoint (`:15020/stats/prometheus`, where the services' own
 * metrics are scraped) answers 200 with the app's part missing when that part fails, so `up` stays 1 while its series
 * vanish and come back.
 */
const SEEN_BEFORE = '1h';

/**
 * The requests that the series of `union` counted in the window `w`, summed: each series' increase, plus the first
 * value of each series that appeared in the window (unseen for {@link SEEN_BEFORE} before it) while its scrape target
 * was already scraped (`scrapedBefore`). `increase()` cannot see a counter's first sample, and a request counter gets
 * a series per label combination: the first 503 a canary pod answers (to each caller, with each response flag) starts
 * a series of its own, and what it counted before its first scrape would be lost, a failed request read as none. A
 * series of a target not scraped just before the window (a failed scrape, a gap in Prometheus) may hold counts from
 * before it in its first value, so there it stays left out, as `increase()` leaves it. Empty when no series counted
 * anything (unknown, not zero).
 *
 * @param union the series, given how to spell one selector as a series of the request counter (`{…}` → a metric
 *   selector), joined with `or` where several selectors make one count
 */
function counted(source: Source, w: string, scrapedBefore: string, union: (series: (selector: string) => string) => string): string {
  const grown = `sum(${union(s => `increase(${source.requests}${s}[${w}])`)})`;
  const appeared = union(s => `(min_over_time(${source.requests}${s}[${w}]) unless max_over_time(${source.requests}${s}[${SEEN_BEFORE}] offset ${w}))`);
  const fresh = `sum(${appeared} and on (${PIPELINE.job}, ${PIPELINE.instance}) (${scrapedBefore}))`;
  return `(${grown} + (${fresh} or vector(0)) or ${fresh})`;
}

/**
 * The scrape targets whose series a new series of the window may be believed of: every scrape of the two intervals
 * before the window succeeded (`up` is 1). A failed scrape marks the target's series stale, and a gap in Prometheus
 * leaves none: a series seen again after either would read as new, its whole count since its pod started with it.
 */
function scrapedBeforeWindow(source: Source, w: string, scrapeInterval: string | undefined): string {
  const up = `${PIPELINE.up}${source.cluster ? `{${source.cluster}}` : ''}`;
  if (scrapeInterval === undefined) return `${up} offset ${w} == 1`;
  const twice = goDuration(Duration.millis(2 * parseDuration(scrapeInterval, 'scrapeInterval')));
  return `min_over_time(${up}[${twice}] offset ${w}) == 1`;
}

/** The queries of one gate decision, resolved for a service, window and metric source. */
export function gateQueries(target: QueryTarget): GateQueries {
  const source = sourceOf(target);
  const w = goDuration(Duration.millis(parseDuration(target.window, 'window')));
  const scrapedBefore = scrapedBeforeWindow(source, w, target.scrapeInterval);
  const count = (selector: string): string => counted(source, w, scrapedBefore, series => series(`{${selector}}`));
  const failed = (selector: string): string => counted(source, w, scrapedBefore,
    series => failedSeries(source.outcomes, matchers => series(`{${selector},${matchers}}`)));
  const requests = (track: Track): string => `${count(source.served(track))} or vector(0)`;
  const errors = (track: Track): string => {
    const selector = source.served(track);
    return `${failed(selector)} or (0 * ${count(`${selector},${source.codeLabel}!=""`)})`;
  };
  const callerErrors = (track: Track): string | undefined => source.called && `${failed(source.called(track))} or vector(0)`;
  const quantile = (q: number, track: Track): string => {
    const selector = source.served(track);
    const rate = (extra: string): string => `rate(${source.bucket}{${selector}${extra}}[${w}])`;
    const value = `histogram_quantile(${q}, sum by (le) (${rate('')}) and on () (sum(${rate(',le="+Inf"')}) > 0))`;
    return source.toMs === 1 ? value : `${value} * ${source.toMs}`;
  };
  const queries: Partial<Record<QueryName, string | undefined>> = {
    stableRequests: requests('stable'),
    canaryRequests: requests('canary'),
    canaryErrors: errors('canary'),
    canaryCallerErrors: callerErrors('canary'),
    canaryP95: quantile(0.95, 'canary'),
    canaryP99: target.p99 ? quantile(0.99, 'canary') : undefined,
    stableErrors: target.baseline ? errors('stable') : undefined,
    stableCallerErrors: target.baseline ? callerErrors('stable') : undefined,
    stableP95: target.baseline ? quantile(0.95, 'stable') : undefined,
    stableP99: target.baseline && target.p99 ? quantile(0.99, 'stable') : undefined,
    // whether a pod of the canary was ready at all in the window: the failures of a canary without one count nowhere
    canaryAvailable: mostAvailableQuery({
      service: target.service, namespace: target.namespace, track: 'canary', ...(target.cluster !== undefined ? { cluster: target.cluster } : {}),
    }, w),
  };
  return Object.fromEntries(Object.entries(queries).filter(([, q]) => q !== undefined)) as GateQueries;
}
