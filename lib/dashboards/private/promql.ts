import { Outcomes, failedSeries } from '../../slo/vocabulary';
/**
 * PromQL building blocks for the dashboards, so that every panel spells selectors, sums and ratios the same way.
 */

/** `label="value"`. */
export function eq(label: string, value: string): string {
  return `${label}="${value}"`;
}

/** `label=~"regex"`. */
export function re(label: string, regex: string): string {
  return `${label}=~"${regex}"`;
}

/** `rate(metric{matchers}[window])`. */
export function rate(metric: string, matchers: readonly string[], window: string): string {
  return `rate(${metric}{${matchers.join(',')}}[${window}])`;
}

/** `sum by (labels) (inner)`, or `sum(inner)` without labels. */
export function sum(by: readonly string[], inner: string): string {
  return by.length === 0 ? `sum(${inner})` : `sum by (${by.join(', ')}) (${inner})`;
}

/** Which requests failed, and how a query groups and windows them. */
export interface RatioQuery {
  readonly metric: string;
  readonly matchers: readonly string[];
  /** Which requests failed: a 5xx, or a gRPC server failure ({@link ISTIO_OUTCOMES}, {@link httpOutcomes}). */
  readonly outcomes: Outcomes;
  readonly by: readonly string[];
  readonly window: string;
}

/**
 * The requests of each group that had any in the window: a group whose series are there but idle (a canary just
 * removed) gives no ratio, which a panel shows as no data, instead of 0 / 0 = NaN.
 */
function busy(q: RatioQuery): string {
  return `(${sum(q.by, rate(q.metric, q.matchers, q.window))} > 0)`;
}

/**
 * Share of failed requests per group, and 0 (not an empty result) for a group that answered requests but none failed:
 * `errors / all or all * 0` (`or` binds loosest), over the groups that had requests.
 */
export function errorRatio(q: RatioQuery): string {
  const all = busy(q);
  return `${sum(q.by, failedSeries(q.outcomes, failed => rate(q.metric, [...q.matchers, failed], q.window)))} / ${all} or ${all} * 0`;
}

/**
 * Share of requests that did not fail per group, as the canary gate counts it (lib/delivery/measure.ts): requests the
 * callers (`callers`, the same groups as their sidecars report them) saw fail but the group's own pods never reported,
 * as with connections to a crashing pod, count as requests and as failures; a request both sides saw fail counts once
 * (errors = the greater of the two counts). 0, not an empty result, for a group that answered requests but none
 * succeeded, or that only its callers saw fail; a group without requests gives no ratio (no data, not NaN).
 */
export function successRatio(q: RatioQuery, callers: readonly string[]): string {
  const failed = (matchers: readonly string[]): string => sum(q.by, failedSeries(q.outcomes, f => rate(q.metric, [...matchers, f], q.window)));
  const served = `(${sum(q.by, rate(q.metric, q.matchers, q.window))} or ${failed(callers)} * 0)`;
  const servedFailed = `(${failed(q.matchers)} or ${served} * 0)`;
  const unseen = `clamp_min((${failed(callers)} or ${served} * 0) - ${servedFailed}, 0)`;
  return `1 - (${servedFailed} + ${unseen}) / ((${served} + ${unseen}) > 0)`;
}

/** `histogram_quantile(q, sum by (by…, le) (rate(bucket{…}[window])))`. */
export function quantile(q: number, bucket: string, matchers: readonly string[], by: readonly string[], window: string): string {
  return `histogram_quantile(${q}, ${sum([...by, 'le'], rate(bucket, matchers, window))})`;
}
