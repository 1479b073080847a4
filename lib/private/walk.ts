/**
 * Calls `visit` for every property of every object nested in `value` (arrays included), depth first.
 */
export function walkProperties(value: unknown, visit: (key: string, inner: unknown) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walkProperties(item, visit);
  } else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      visit(key, inner);
      walkProperties(inner, visit);
    }
  }
}

/** An object written as a literal (`{ … }`), not an instance of a class such as `Duration` or an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
