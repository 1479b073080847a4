/**
 * The prefix length of an IPv4 CIDR block such as `10.0.0.0/8`, or undefined when `value` is none (a bare address, an
 * octet above 255, a prefix above 32, IPv6).
 */
export function ipv4CidrPrefix(value: unknown): number | undefined {
  const m = typeof value === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value) : null;
  if (m === null || !m.slice(1, 5).every(o => Number(o) <= 255) || Number(m[5]) > 32) return undefined;
  return Number(m[5]);
}
