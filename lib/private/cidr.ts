/**
 * The prefix length of an IPv4 CIDR block such as `10.0.0.0/8`, or undefined when `value` is none (a bare address, an
 * octet above 255, a prefix above 32, IPv6).
 */
export function ipv4CidrPrefix(value: unknown): number | undefined {
  const m = typeof value === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value) : null;
  if (m === null || !m.slice(1, 5).every(o => Number(o) <= 255) || Number(m[5]) > 32) return undefined;
  return Number(m[5]);
}

/** The first address of an IPv4 CIDR block as an unsigned 32-bit number, and its prefix; undefined when it is none. */
function ipv4Block(value: string): { readonly base: number; readonly prefix: number } | undefined {
  const prefix = ipv4CidrPrefix(value);
  if (prefix === undefined) return undefined;
  const address = value.split('/')[0].split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix);
  return { base: address - (address % size), prefix };
}

/** Whether the IPv4 block `outer` holds every address of `inner` (`10.0.0.0/8` holds `10.0.0.0/16`). */
export function ipv4BlockContains(outer: string, inner: string): boolean {
  const a = ipv4Block(outer);
  const b = ipv4Block(inner);
  if (a === undefined || b === undefined || a.prefix > b.prefix) return false;
  const size = 2 ** (32 - a.prefix);
  return b.base - (b.base % size) === a.base;
}
