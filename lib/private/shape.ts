import { Duration, Size } from 'cdk8s';
import { show } from '../errors';
import { isPlainObject } from './walk';

/**
 * What a configuration value may be, read off its TypeScript type (`typeShape`): enough to tell a misspelt field, a
 * missing one or a value of the wrong kind from a valid one at run time, where no type checker runs.
 */
export type Shape =
  | { readonly kind: 'string' | 'number' | 'boolean' | 'duration' | 'size' }
  | { readonly kind: 'literal'; readonly values: ReadonlyArray<string | number | boolean> }
  | { readonly kind: 'array'; readonly of: Shape }
  | { readonly kind: 'record'; readonly of: Shape }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, { readonly shape: Shape; readonly optional: boolean }>> }
  | { readonly kind: 'union'; readonly of: readonly Shape[] };

/** One thing wrong with a value: the field (a dotted path), what kind of problem, and the message. */
export interface ShapeProblem {
  readonly field: string;
  /**
   * `unknown`: a field the shape does not have; `required`: one it needs, missing; `kind`: a value of another kind (a
   * string for a number); `value`: a value of the right kind that is not one of those allowed (a `kind` no variant has).
   */
  readonly problem: 'unknown' | 'required' | 'kind' | 'value';
  readonly message: string;
}

/** How a shape check words what it finds. */
export interface ShapeOptions {
  /** Appended to the message of a field the shape does not have (say, how to regenerate a shape that is behind). */
  readonly unknownHint?: string;
}

/** How each value class is written in an environment entry, for messages. */
const EXAMPLES = { duration: 'a Duration, such as Duration.days(15)', size: 'a Size, such as Size.gibibytes(10)' } as const;

/**
 * What is wrong with `value` for `shape`: fields nobody reads (a misspelt name is silently ignored otherwise), required
 * fields that are missing, and values of the wrong kind (`'15d'` for a `Duration`), each naming the field, the value
 * and what is allowed. The environments are TypeScript, but `npm run synth` bundles them without a type check.
 *
 * @param field the dotted path of `value`, `''` for the root
 */
export function shapeProblems(value: unknown, shape: Shape, field = '', options: ShapeOptions = {}): ShapeProblem[] {
  const name = field || 'the value';
  const wrong = (allowed: string, problem: 'kind' | 'value' = 'kind'): ShapeProblem[] =>
    [{ field, problem, message: `'${name}' must be ${allowed}, got ${show(value)}` }];
  switch (shape.kind) {
    case 'string':
    case 'number':
    case 'boolean':
      return typeof value === shape.kind ? [] : wrong(`a ${shape.kind}`);
    case 'duration':
      return value instanceof Duration ? [] : wrong(EXAMPLES.duration);
    case 'size':
      return value instanceof Size ? [] : wrong(EXAMPLES.size);
    case 'literal':
      if (shape.values.includes(value as string)) return [];
      return wrong(`one of ${shape.values.map(v => show(v)).join(', ')}`, shape.values.some(v => typeof v === typeof value) ? 'value' : 'kind');
    case 'array':
      if (!Array.isArray(value)) return wrong('a list');
      return value.flatMap((item, i) => shapeProblems(item, shape.of, `${field}[${i}]`, options));
    case 'record':
      if (!isPlainObject(value)) return wrong('an object');
      return Object.entries(value).flatMap(([key, item]) => shapeProblems(item, shape.of, join(field, key), options));
    case 'object':
      if (!isPlainObject(value)) return wrong(`an object with the fields ${Object.keys(shape.fields).join(', ')}`);
      return objectProblems(value, shape.fields, field, options);
    case 'union':
      return unionProblems(value, shape.of, field, options);
  }
}

function objectProblems(value: Record<string, unknown>, fields: Extract<Shape, { kind: 'object' }>['fields'], field: string,
  options: ShapeOptions): ShapeProblem[] {
  const known = Object.keys(fields);
  const problems: ShapeProblem[] = [];
  const hint = options.unknownHint ? `; ${options.unknownHint}` : '';
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(fields, key)) continue;
    const at = join(field, key);
    problems.push({ field: at, problem: 'unknown', message: `'${at}' is not a known field${field ? ` of '${field}'` : ''} (known: ${known.join(', ')}${hint})` });
  }
  for (const [key, { shape, optional }] of Object.entries(fields)) {
    const item = value[key];
    const at = join(field, key);
    if (item === undefined) {
      if (!optional) problems.push({ field: at, problem: 'required', message: `'${at}' is required` });
    } else {
      problems.push(...shapeProblems(item, shape, at, options));
    }
  }
  return problems;
}

/**
 * The problems of the union member `value` fits best: the one its `kind` names when every member is told apart by a
 * literal `kind` (or has none, the default), else the one with the fewest problems (none when it fits one).
 */
function unionProblems(value: unknown, members: readonly Shape[], field: string, options: ShapeOptions): ShapeProblem[] {
  const discriminated = members.every(m => m.kind === 'object' && (m.fields.kind === undefined || m.fields.kind.shape.kind === 'literal'));
  const kinds = discriminated ? members.flatMap(m => (m.kind === 'object' && m.fields.kind?.shape.kind === 'literal' ? m.fields.kind.shape.values : [])) : [];
  const byKind = isPlainObject(value) && kinds.length > 0 ? members.filter(m => m.kind === 'object' && kindAccepts(m, value.kind)) : [];
  if (isPlainObject(value) && kinds.length > 0 && byKind.length === 0 && value.kind !== undefined) {
    const at = join(field, 'kind');
    return [{ field: at, problem: 'value', message: `'${at}' must be one of ${[...new Set(kinds)].map(k => show(k)).join(', ')}, got ${show(value.kind)}` }];
  }
  let best: ShapeProblem[] | undefined;
  for (const member of byKind.length > 0 ? byKind : members) {
    const problems = shapeProblems(value, member, field, options);
    if (problems.length === 0) return [];
    if (best === undefined || problems.length < best.length) best = problems;
  }
  return best ?? [];
}

/** Whether an object member's `kind` field accepts `kind`: its literal, or none when the field is optional. */
function kindAccepts(member: Extract<Shape, { kind: 'object' }>, kind: unknown): boolean {
  const own = member.fields.kind;
  if (own === undefined || own.shape.kind !== 'literal') return false;
  return kind === undefined ? own.optional : own.shape.values.includes(kind as string);
}

function join(field: string, key: string): string {
  return field ? `${field}.${key}` : key;
}
