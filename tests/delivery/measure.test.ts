import { combineSamples, measure } from '../../lib/delivery/measure';
import { GateQueries } from '../../lib/delivery/queries';

describe('combineSamples', () => {
  test.each<[string, Parameters<typeof combineSamples>[0], ReturnType<typeof combineSamples>['measurements']]>([
    ['a healthy canary', { stableRequests: 900.4, canaryRequests: 100.9, canaryErrors: 1, canaryCallerErrors: 1, canaryP95: 48.75, canaryP99: 49.75 },
      { requests: 1000, canaryRequests: 100, successRatio: 0.99, p95Ms: 48.8, p99Ms: 49.8 }],
    ['no errors: ratio 1', { stableRequests: 0, canaryRequests: 10, canaryErrors: 0, canaryCallerErrors: 0, canaryP95: 10 },
      { requests: 10, canaryRequests: 10, successRatio: 1, p95Ms: 10, p99Ms: null }],
    ['errors only the callers saw (a crashing canary) count as requests and errors', { stableRequests: 90, canaryRequests: 8, canaryErrors: 0,
      canaryCallerErrors: 2, canaryP95: 10 }, { requests: 100, canaryRequests: 10, successRatio: 0.8, p95Ms: 10, p99Ms: null }],
    ['a request both sides saw fail counts once', { stableRequests: 0, canaryRequests: 10, canaryErrors: 2, canaryCallerErrors: 2, canaryP95: 10 },
      { requests: 10, canaryRequests: 10, successRatio: 0.8, p95Ms: 10, p99Ms: null }],
    ['a canary nobody reached, with callers\' errors: ratio 0', { stableRequests: 90, canaryRequests: 0, canaryErrors: null, canaryCallerErrors: 5, canaryP95: null },
      { requests: 95, canaryRequests: 5, successRatio: 0, p95Ms: null, p99Ms: null }],
    ['a canary nobody reached, without errors: ratio unknown', { stableRequests: 90, canaryRequests: 0, canaryErrors: null, canaryCallerErrors: 0, canaryP95: null },
      { requests: 90, canaryRequests: 0, successRatio: null, p95Ms: null, p99Ms: null }],
    ['requests without response codes: ratio unknown, never 1', { stableRequests: 90, canaryRequests: 10, canaryErrors: null, canaryCallerErrors: 0, canaryP95: 5 },
      { requests: 100, canaryRequests: 10, successRatio: null, p95Ms: 5, p99Ms: null }],
    ['rounding favours failure: 0.95 stays 0.95, 0.94999 becomes 0.9499, 300.01 ms becomes 300.1', {
      stableRequests: 0, canaryRequests: 100000, canaryErrors: 5001, canaryCallerErrors: 0, canaryP95: 300.01, canaryP99: 300,
    }, { requests: 100000, canaryRequests: 100000, successRatio: 0.9499, p95Ms: 300.1, p99Ms: 300 }],
    ['the http source has no callers\' view', { stableRequests: 10, canaryRequests: 10, canaryErrors: 1, canaryP95: 1 },
      { requests: 20, canaryRequests: 10, successRatio: 0.9, p95Ms: 1, p99Ms: null }],
  ])('%s', (_name, samples, measurements) => {
    expect(combineSamples(samples, false)).toEqual({ measurements, baseline: null });
  });

  test('0.95 exactly is kept (binary fractions do not round it down)', () => {
    const samples = { stableRequests: 0, canaryRequests: 20, canaryErrors: 1, canaryCallerErrors: 0 };
    expect(combineSamples(samples, false).measurements.successRatio).toBe(0.95);
  });

  test('stable\'s numbers as the baseline, rounded the other way: its success ratio up, its latencies down', () => {
    expect(combineSamples({ stableRequests: 200, canaryRequests: 10, canaryErrors: 0, canaryCallerErrors: 0, stableErrors: 2, stableCallerErrors: 4,
      stableP95: 40.09, stableP99: null }, true).baseline).toEqual({ requests: 202, successRatio: 0.9802, p95Ms: 40, p99Ms: null });
  });

  test('a canary 0.02004 worse than stable stays more than 0.02 worse once rounded (each side rounded against the canary)', () => {
    const { measurements, baseline } = combineSamples({ stableRequests: 900000, stableErrors: 0.5, stableCallerErrors: 0, canaryRequests: 100000,
      canaryErrors: 2004, canaryCallerErrors: 0 }, true);
    expect([measurements.successRatio, baseline?.successRatio]).toEqual([0.9799, 1]);
  });
});

describe('measure', () => {
  const queries: GateQueries = { stableRequests: 'a', canaryRequests: 'b', canaryErrors: 'c', canaryCallerErrors: 'd', canaryP95: 'e' };
  const answers: Record<string, number | null> = { a: 90, b: 10, c: 0, d: 0, e: 12 };

  test('runs every query and combines the answers', async () => {
    const seen: string[] = [];
    const outcome = await measure(queries, async q => {
      seen.push(q);
      return answers[q];
    }, false);
    expect(seen.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(outcome).toEqual({
      ok: true, baseline: null, samples: { stableRequests: 90, canaryRequests: 10, canaryErrors: 0, canaryCallerErrors: 0, canaryP95: 12 },
      measurements: { requests: 100, canaryRequests: 10, successRatio: 1, p95Ms: 12, p99Ms: null },
    });
  });

  test('one failed query fails the measurement, naming the query', async () => {
    const outcome = await measure(queries, async q => {
      if (q === 'c') throw new Error('prometheus at http://p: no answer within 10s');
      return answers[q];
    }, false);
    expect(outcome).toMatchObject({ ok: false, error: 'canaryErrors: prometheus at http://p: no answer within 10s' });
  });

  test('an empty answer to a count query that ends in or vector(0) is an error, not zero', async () => {
    const outcome = await measure(queries, async q => (q === 'b' ? null : answers[q]), false);
    expect(outcome).toMatchObject({ ok: false, error: 'canaryRequests: prometheus returned no sample although the query ends in "or vector(0)"' });
  });
});
