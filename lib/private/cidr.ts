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

/**
 * Whether the IPv4 blocks `blocks` together hold every address of `inner` (`10.0.0.0/17` and `10.0.128.0/17` hold
 * `10.0.0.0/16`); blocks that are none count for nothing.
 */
export function ipv4BlocksCover(blocks: readonly string[], inner: string): boolean {
  const target = ipv4Block(inner);
  if (target === undefined) return false;
  const end = target.base + 2 ** (32 - target.prefix);
  // the parts of the target each block holds, as [start, end) ranges, in order
  const ranges = blocks.flatMap(block => {
    const b = ipv4Block(block);
    if (b === undefined) return [];
    const from = Math.max(b.base, target.base);
    const to = Math.min(b.base + 2 ** (32 - b.prefix), end);
    return from < to ? [[from, to] as const] : [];
  }).sort((x, y) => x[0] - y[0]);
  let covered = target.base;
  for (const [from, to] of ranges) {
    if (from > covered) return false;
    covered = Math.max(covered, to);
  }
  return covered >= end;
}
