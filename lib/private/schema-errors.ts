/**
 * What a JSON Schema validator's errors (ajv's, with `verbose` for the parent schema) point at, as a person who wrote
 * the file reads it: the service files and the rollout state files say their problems this way.
 */

/** `/canary/weight` → `canary.weight`, `/history/3/at` → `history[3].at`; empty for the document itself. */
export function fieldOf(instancePath: string): string {
  return instancePath.split('/').slice(1).reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

/** The value at an error's `instancePath`. */
export function valueAt(data: unknown, instancePath: string): unknown {
  return instancePath.split('/').slice(1).reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], data);
}

/** An `additionalProperties` error: the field, the mapping it is in, and the fields that mapping takes. */
export function unknownFieldMessage(error: { readonly instancePath: string; readonly params: object; readonly parentSchema?: unknown }): string {
  const field = fieldOf(error.instancePath);
  const key = String((error.params as { additionalProperty?: unknown }).additionalProperty);
  const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
  return `'${field ? `${field}.` : ''}${key}' is not a known field${field ? ` of '${field}'` : ''}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`;
}
