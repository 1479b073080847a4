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
  /**
   * Whether the canary's route answered (its answer carries {@link CANARY_PIN_ANSWER}, and is not the mesh refusing the
   * gate): only then does the check say anything about the canary. No answer, a refused connection, stable's answer or
   * an authorization policy not applied yet are the platform's, not the release's.
   */
  readonly reached: boolean;
  readonly detail: string;
}

/** The body Envoy's RBAC filter answers 403 with: an AuthorizationPolicy refused the request, not the app. */
const MESH_DENIAL = 'RBAC: access denied';

/** The smoke checks of a canary: run (each result), or not run and why. */
export type SmokeOutcome =
  | { readonly ran: true; readonly results: readonly SmokeResult[] }
  | { readonly ran: false; readonly reason: string };

/**
 * Sends each check's `GET` to `baseUrl` with the canary pin, one after the other, and reads the status and the
 * header it asks for. An answer without {@link CANARY_PIN_ANSWER} came from stable (the pin ignored on the way) and
 * did not reach the canary, nor did a request that fails, takes longer than `timeoutMs` or that the mesh refused.
 * Redirects are not followed (a redirect is an answer of its own). The messages name the path, never the base URL.
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
      const body = await response.text();
      const missing = check.header !== undefined && !response.headers.get(check.header);
      const pinned = response.headers.get(CANARY_PIN_ANSWER.header) === CANARY_PIN_ANSWER.value;
      const refused = response.status === 403 && body.trim() === MESH_DENIAL;
      const answered = `${what} answered ${response.status}`;
      result = !pinned
        ? { path: check.path, passed: false, reached: false, detail: `${answered} without ${CANARY_PIN_ANSWER.header}: `
          + 'it did not reach the canary (the pin is ignored where the checks are sent from)' }
        : refused
        ? { path: check.path, passed: false, reached: false, detail: `${answered} "${MESH_DENIAL}": the mesh refused the checks before the canary saw them` }
        : response.status !== expected
        ? { path: check.path, passed: false, reached: true, detail: `${answered}, expected ${expected}` }
        : missing
          ? { path: check.path, passed: false, reached: true, detail: `${answered} without a ${check.header} header` }
          : { path: check.path, passed: true, reached: true, detail: `${answered}${check.header ? ` with ${check.header}` : ''}` };
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      const why = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : `failed (${e.cause?.code ?? e.message})`;
      result = { path: check.path, passed: false, reached: false, detail: `${what} ${why}` };
    }
    results.push(result);
  }
  return results;
}

/**
 * The outcome of checks that ran: the results when every check reached the canary or one that reached it failed (a
 * failure the canary answered is the release's, whatever else went wrong); otherwise, when one did not reach it, not
 * run and why (the gate then holds, as without a URL, rather than judge the release by the platform's plumbing).
 */
export function smokeOutcomeOf(results: readonly SmokeResult[]): SmokeOutcome {
  const unreached = results.filter(r => !r.reached);
  if (unreached.length === 0 || results.some(r => r.reached && !r.passed)) return { ran: true, results };
  return { ran: false, reason: `${unreached.length} of ${results.length} did not reach the canary: ${unreached.map(r => r.detail).join('; ')}` };
}
