/**
 * A VirtualService's HTTP routing as Istio evaluates it, enough for the policy tests: the first route with a match
 * that the request satisfies (its gateway, path and headers) takes it.
 */

/** An Istio string match (exact, prefix or regex) of a value; an absent value never matches. */
function stringMatches(match: any, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (match.exact !== undefined) return value === match.exact;
  if (match.prefix !== undefined) return value.startsWith(match.prefix);
  return new RegExp(`^(?:${match.regex})$`).test(value);
}

/**
 * The route of a VirtualService's `spec` that takes a request arriving from `from` (a Gateway, `namespace/name`, or
 * `mesh`) for `path` with the request headers `headers` (lower-case names), or undefined when none does.
 */
export function routeOf(vs: any, from: string, path: string, headers: Readonly<Record<string, string>> = {}): any {
  const takes = (m: any) => (m.gateways ?? vs.gateways).includes(from) && (!m.uri || stringMatches(m.uri, path))
    && Object.entries(m.headers ?? {}).every(([name, match]) => stringMatches(match, headers[name]));
  return vs.http.find((h: any) => (h.match ?? [{}]).some(takes));
}
