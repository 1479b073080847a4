import { GateQueries, QueryName } from './queries';
import { BaselineMeasurements, Measurements } from '../rollout/state';

/** The value of each query of a decision; null where Prometheus had no sample. */
export type Samples = Readonly<Partial<Record<QueryName, number | null>>>;

/** What the shell measured for one decision: the numbers, or why there are none. */
export type MeasureOutcome =
  | {
    readonly ok: true;
    readonly measurements: Measurements;
    /** Stable's numbers, when the baseline comparison is on. */
    readonly baseline: BaselineMeasurements | null;
    readonly samples: Samples;
  }
  | { readonly ok: false; readonly error: string; readonly samples: Samples };

const COUNTS: readonly QueryName[] = ['stableRequests', 'canaryRequests', 'canaryCallerErrors', 'stableCallerErrors'];

/**
 * Runs every query of a decision at once and combines the answers. Any failed query fails the whole measurement: no
 * check passes on part of its numbers (the decision may still find a check failing on the ones that answered, whose
 * samples the failed outcome keeps).
 *
 * @param query runs one query; null means an empty answer
 */
export async function measure(queries: GateQueries, query: (promql: string) => Promise<number | null>, baseline: boolean): Promise<MeasureOutcome> {
  const names = Object.keys(queries) as QueryName[];
  const settled = await Promise.allSettled(names.map(name => query(queries[name]!)));
  const samples: Partial<Record<QueryName, number | null>> = {};
  const errors: string[] = [];
  settled.forEach((result, i) => {
    if (result.status === 'fulfilled') samples[names[i]] = result.value;
    else errors.push(`${names[i]}: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`);
  });
  for (const name of COUNTS) {
    if (samples[name] === null) errors.push(`${name}: prometheus returned no sample although the query ends in "or vector(0)"`);
  }
  // one cause is enough for the reason (and keeps repeated holds mergeable); the rest would repeat it per query
  if (errors.length > 0) return { ok: false, error: errors[0], samples };
  return { ok: true, ...combineSamples(samples, baseline), samples };
}

interface Track {
  readonly requests: number;
  readonly successRatio: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

/**
 * Combines one track's numbers. Requests its callers saw fail but its own pods never reported (connection failures
 * to a crashing pod) count as requests and as errors, so a crashing canary cannot look healthy; a request both sides
 * report as failed counts once.
 */
function track(side: 'canary' | 'stable', served: number, servedErrors: number | null | undefined, callerErrors: number | null | undefined,
  p95: number | null | undefined, p99: number | null | undefined): Track {
  // the canary is judged, stable is what it is compared with: each rounded the way that makes the canary fail sooner
  const [ratio, latency] = side === 'canary' ? [floor, ceil] : [ceil, floor];
  const unseen = Math.max(0, (callerErrors ?? 0) - (servedErrors ?? 0));
  const requests = served + unseen;
  const errors = servedErrors === null || servedErrors === undefined ? (served === 0 ? unseen : null) : Math.max(servedErrors, callerErrors ?? 0);
  return {
    requests: floor(requests, 0),
    successRatio: requests > 0 && errors !== null ? ratio(1 - errors / requests, 4) : null,
    p95Ms: p95 === null || p95 === undefined ? null : latency(p95, 1),
    p99Ms: p99 === null || p99 === undefined ? null : latency(p99, 1),
  };
}

/**
 * Turns the samples of a decision into its measurements. Rounding always favours a failure of the canary: request
 * counts are rounded down (to whole requests), the canary's success ratio down (to 4 decimals) and its latencies up (to
 * 0.1 ms), stable's, which the canary is compared with, the other way; so the numbers recorded are the numbers compared.
 */
export function combineSamples(samples: Samples, baseline: boolean): { measurements: Measurements; baseline: BaselineMeasurements | null } {
  const canary = track('canary', samples.canaryRequests ?? 0, samples.canaryErrors, samples.canaryCallerErrors, samples.canaryP95, samples.canaryP99);
  const stable = track('stable', samples.stableRequests ?? 0, samples.stableErrors, samples.stableCallerErrors, samples.stableP95, samples.stableP99);
  return {
    measurements: {
      requests: stable.requests + canary.requests,
      canaryRequests: canary.requests,
      successRatio: canary.successRatio,
      p95Ms: canary.p95Ms,
      p99Ms: canary.p99Ms,
    },
    baseline: baseline ? stable : null,
  };
}

// the small epsilon keeps binary fractions such as 0.95 * 1e4 = 9499.999999999998 on the right side
function floor(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.floor(value * f + 1e-6) / f;
}

function ceil(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.ceil(value * f - 1e-6) / f;
}
