import { Duration, Size } from 'cdk8s';
import { show } from '../errors';
import { isPlainObject } from './walk';

/**
 * What a configuration value may be, read off its TypeScript type (`typeShape`): enough to tell a misspelt field, a
 * missing one or a value of the wrong kind from a valid one at run time, where no type checker runs.
 */
export type Shape =
  | { readonly kind: 'string' | 'number' | 'boolean' | 'duration' | 'size' | 'any' }
  | { readonly kind: 'literal'; readonly values: ReadonlyArray<string | number | boolean> }
  | { readonly kind: 'array'; readonly of: Shape }
  | { readonly kind: 'record'; readonly of: Shape }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, { readonly shape: Shape; readonly optional: boolean }>> }
  | { readonly kind: 'union'; readonly of: readonly Shape[] };

/** How each value class is written in an environment entry, for messages. */
const EXAMPLES = { duration: 'a Duration, such as Duration.days(15)', size: 'a Size, such as Size.gibibytes(10)' } as const;

/**
 * What is wrong with `value` for `shape`: fields nobody reads (a misspelt name is silently ignored otherwise), required
 * fields that are missing, and values of the wrong kind (`'15d'` for a `Duration`), each naming the field, the value
 * and what is allowed. The environments are TypeScript, but `npm run synth` bundles them without a type check.
 *
 * @param field the dotted path of `value`, `''` for the root
 */
export function shapeProblems(value: unknown, shape: Shape, field = ''): string[] {
  const name = field || 'the value';
  switch (shape.kind) {
    case 'any':
      return [];
    case 'string':
    case 'number':
    case 'boolean':
      return typeof value === shape.kind ? [] : [`'${name}' must be a ${shape.kind}, got ${show(value)}`];
    case 'duration':
      return value instanceof Duration ? [] : [`'${name}' must be ${EXAMPLES.duration}, got ${show(value)}`];
    case 'size':
      return value instanceof Size ? [] : [`'${name}' must be ${EXAMPLES.size}, got ${show(value)}`];
    case 'literal':
      return shape.values.includes(value as string) ? [] : [`'${name}' must be one of ${shape.values.map(v => show(v)).join(', ')}, got ${show(value)}`];
    case 'array':
      if (!Array.isArray(value)) return [`'${name}' must be a list, got ${show(value)}`];
      return value.flatMap((item, i) => shapeProblems(item, shape.of, `${field}[${i}]`));
    case 'record':
      if (!isPlainObject(value)) return [`'${name}' must be an object, got ${show(value)}`];
      return Object.entries(value).flatMap(([key, item]) => shapeProblems(item, shape.of, join(field, key)));
    case 'object':
      return objectProblems(value, shape.fields, field);
    case 'union':
      return unionProblems(value, shape.of, field);
  }
}

function objectProblems(value: unknown, fields: Extract<Shape, { kind: 'object' }>['fields'], field: string): string[] {
  const known = Object.keys(fields);
  if (!isPlainObject(value)) return [`'${field || 'the value'}' must be an object with the fields ${known.join(', ')}, got ${show(value)}`];
  const problems: string[] = [];
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(fields, key)) continue;
    problems.push(`'${join(field, key)}' is not a known field${field ? ` of '${field}'` : ''} (known: ${known.join(', ')})`);
  }
  for (const [key, { shape, optional }] of Object.entries(fields)) {
    const item = value[key];
    if (item === undefined) {
      if (!optional) problems.push(`'${join(field, key)}' is required`);
    } else {
      problems.push(...shapeProblems(item, shape, join(field, key)));
    }
  }
  return problems;
}

/**
 * The problems of the union member `value` fits best: the one its `kind` names when members are told apart by
 * `kind`, else the one with the fewest problems (none when it fits one).
 */
function unionProblems(value: unknown, members: readonly Shape[], field: string): string[] {
  const kinds = members.flatMap(m => (m.kind === 'object' && m.fields.kind?.shape.kind === 'literal' ? m.fields.kind.shape.values : []));
  const byKind = isPlainObject(value) ? members.filter(m => m.kind === 'object' && kindAccepts(m, value.kind)) : [];
  if (isPlainObject(value) && kinds.length > 0 && byKind.length === 0 && value.kind !== undefined) {
    return [`'${join(field, 'kind')}' must be one of ${[...new Set(kinds)].map(k => show(k)).join(', ')}, got ${show(value.kind)}`];
  }
  const candidates = byKind.length > 0 ? byKind : members;
  let best: string[] | undefined;
  for (const member of candidates) {
    const problems = shapeProblems(value, member, field);
    if (problems.length === 0) return [];
    if (best === undefined || problems.length < best.length) best = problems;
  }
  return best ?? [];
}

/** Whether an object member's `kind` field (if it has one) accepts `kind`; a member whose `kind` is optional accepts none. */
function kindAccepts(member: Extract<Shape, { kind: 'object' }>, kind: unknown): boolean {
  const own = member.fields.kind;
  if (own === undefined || own.shape.kind !== 'literal') return false;
  return kind === undefined ? own.optional : own.shape.values.includes(kind as string);
}

function join(field: string, key: string): string {
  return field ? `${field}.${key}` : key;
}
