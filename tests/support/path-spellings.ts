/**
 * Spellings of the services' operational paths, one table for both sides of the edge: the services must answer only
 * the canonical spelling (tests/apps/e2e/path-spellings.test.ts), and the mesh's rules must treat every other
 * spelling the way the services do. Each spelling is sent as written, without normalisation: a client may send any of
 * them, and a proxy that normalised one would turn it into the canonical path.
 *
 * @packageDocumentation
 */

/** An operational path: liveness, readiness or the Prometheus scrape (`PATHS` in apps/contract.ts). */
export type OperationalPath = '/metrics' | '/healthz' | '/readyz';

/** The operational paths the table covers. */
export const CANONICAL_PATHS: readonly OperationalPath[] = ['/metrics', '/healthz', '/readyz'];

/** One row of the table. */
export interface PathSpelling {
  /** The request target exactly as sent on the request line, query included. */
  readonly path: string;
  /** The operational path it is a spelling of. */
  readonly canonical: OperationalPath;
  /** Whether the service answers it with the endpoint (only the canonical path, with or without a query string). */
  readonly servesEndpoint: boolean;
}

/**
 * `path` with its first character whose code has a hex letter percent-encoded, in upper- or lower-case hex
 * (`/metrics` → `/%6Detrics` or `/%6detrics`), so that both spellings differ from each other and from the path.
 */
function percentEncodeOne(path: string, hexCase: 'upper' | 'lower'): string {
  for (let i = 1; i < path.length; i++) {
    const hex = path.charCodeAt(i).toString(16);
    if (/[a-f]/.test(hex)) return `${path.slice(0, i)}%${hexCase === 'upper' ? hex.toUpperCase() : hex}${path.slice(i + 1)}`;
  }
  throw new Error(`no character of ${path} has a hex letter in its code; pick another encoding for this path`);
}

/** The spellings of one operational path, the canonical one first. */
export function spellingsOf(canonical: OperationalPath): PathSpelling[] {
  const name = canonical.slice(1);
  const serves = (path: string): PathSpelling => ({ path, canonical, servesEndpoint: true });
  const refused = (path: string): PathSpelling => ({ path, canonical, servesEndpoint: false });
  return [
    serves(canonical),
    refused(canonical.toUpperCase()),
    refused(`/${name[0].toUpperCase()}${name.slice(1)}`),
    refused(`${canonical}/`),
    refused(`${canonical}//`),
    refused(`/${canonical}`),
    refused(percentEncodeOne(canonical, 'upper')),
    refused(percentEncodeOne(canonical, 'lower')),
    refused(`${canonical}%2F`),
    refused(`/.${canonical}`),
    refused(`/api/..${canonical}`),
    refused(`${canonical};x`),
    serves(`${canonical}?x=1`),
  ];
}

/** Every spelling of every operational path. */
export const PATH_SPELLINGS: readonly PathSpelling[] = CANONICAL_PATHS.flatMap(spellingsOf);
