/**
 * Key paths of rendered component configs, for checking them against hand-kept lists of keys that were verified for
 * the pinned release (see tests/config-keys.test.ts). A path names objects by key and list items by `[]`
 * (`scrape_configs[].pipeline_stages[].cri`); a list entry ending in `.*` accepts any key below it (free-form maps).
 */
export function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) {
    const objects = value.filter(v => v && typeof v === 'object' && !Array.isArray(v));
    if (objects.length === 0) return prefix ? [prefix] : [];
    return [...new Set(objects.flatMap(v => keyPaths(v, `${prefix}[]`)))];
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return prefix ? [prefix] : [];
    return entries.flatMap(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return prefix ? [prefix] : [];
}

/** The paths of `config` that `known` does not list (directly or below a `.*` entry). */
export function unknownKeys(config: unknown, known: readonly string[]): string[] {
  const exact = new Set(known.filter(k => !k.endsWith('.*')));
  const open = known.filter(k => k.endsWith('.*')).map(k => k.slice(0, -1));
  return keyPaths(config).filter(path => !exact.has(path) && !open.some(o => path.startsWith(o))).sort();
}
