import { SmokeCheck } from '../services/service';
import { CANARY_PIN, CANARY_PIN_ANSWER } from '../slo/vocabulary';

/**
 * What a smoke URL may contain where an environment has several application clusters: each cluster's checks go to
 * the URL with its name in place (`https://{cluster}.flights.example.com`), so that every cluster's canary is checked
 * where it answers, not wherever one shared URL balances to.
 */
export const CLUSTER_PLACEHOLDER = '{cluster}';

/**
 * The smoke URL for one cluster's checks: `{cluster}` replaced by its name; undefined when the URL names `{cluster}`
 * but the environment has one cluster (a URL that would reach no host).
 */
export function smokeUrlFor(url: string, cluster: string | undefined): string | undefined {
  if (!url.includes(CLUSTER_PLACEHOLDER)) return url;
  return cluster === undefined ? undefined : url.replaceAll(CLUSTER_PLACEHOLDER, cluster);
}

/** One smoke check as it went: `GET /path → 200`, or what was wrong. */
export interface SmokeResult {
  readonly path: string;
  readonly passed: boolean;
  readonly detail: string;
}

/** The smoke checks of a canary: run (each result), or not run and why. */
export type SmokeOutcome =
  | { readonly ran: true; readonly results: readonly SmokeResult[] }
  | { readonly ran: false; readonly reason: string };

/**
 * Sends each check's `GET` to `baseUrl` with the canary pin, one after the other, and reads the status and the
 * header it asks for. An answer without {@link CANARY_PIN_ANSWER} came from stable (the pin ignored on the way) and
 * fails. Redirects are not followed (a redirect is an answer of its own); a request that fails or takes
 * longer than `timeoutMs` fails its check. The messages name the path, never the base URL.
 */
export async function runSmokeChecks(baseUrl: string, checks: readonly SmokeCheck[], timeoutMs: number): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  for (const check of checks) {
    const expected = check.status ?? 200;
    const what = `GET ${check.path}`;
    let result: SmokeResult;
    try {
      // appended, not resolved: a base URL's own path (`https://host/prefix`) stays in front of the check's
      const response = await fetch(`${baseUrl.replace(/\/+$/, '')}${check.path}`, {
        headers: { [CANARY_PIN.header]: CANARY_PIN.value },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      const missing = check.header !== undefined && !response.headers.get(check.header);
      const pinned = response.headers.get(CANARY_PIN_ANSWER.header) === CANARY_PIN_ANSWER.value;
      result = !pinned
        ? { path: check.path, passed: false, detail: `${what} answered ${response.status} without ${CANARY_PIN_ANSWER.header}: `
          + 'it did not reach the canary (the pin is ignored where the checks are sent from)' }
        : response.status !== expected
        ? { path: check.path, passed: false, detail: `${what} answered ${response.status}, expected ${expected}` }
        : missing
          ? { path: check.path, passed: false, detail: `${what} answered ${response.status} without a ${check.header} header` }
          : { path: check.path, passed: true, detail: `${what} answered ${response.status}${check.header ? ` with ${check.header}` : ''}` };
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      const why = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : `failed (${e.cause?.code ?? e.message})`;
      result = { path: check.path, passed: false, detail: `${what} ${why}` };
    }
    results.push(result);
  }
  return results;
}
