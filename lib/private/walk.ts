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
