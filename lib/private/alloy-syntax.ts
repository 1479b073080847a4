/**
 * A small writer of Grafana Alloy's configuration syntax: typed values, attributes and (labelled, nested) blocks,
 * rendered with two-space indentation in the order given.
 *
 * @see https://grafana.com/docs/alloy/latest/get-started/syntax/ (identifiers, attributes, blocks)
 * @see https://grafana.com/docs/alloy/latest/get-started/expressions/types_and_values/ (strings and their escapes)
 */

/** An identifier: UTF-8 letters, digits and underscores, not starting with a digit. */
const IDENTIFIER = /^[\p{L}_][\p{L}\p{Nd}_]*$/u;

/**
 * An expression written as is, never quoted: a reference to another component's export, a function call, or a
 * concatenation. Built only through its factories, so that its text is always well formed.
 */
export class AlloyExpression {
  /** A reference to an export: `discovery.relabel.pods.output`; each dotted part must be an identifier. */
  public static ref(path: string): AlloyExpression {
    return new AlloyExpression(checkPath(path, 'reference'));
  }

  /** A call of a standard-library function: `sys.env("HOSTNAME")`. */
  public static call(fn: string, ...args: readonly AlloyValue[]): AlloyExpression {
    return new AlloyExpression(`${checkPath(fn, 'function')}(${args.map(a => renderInline(a, 'argument')).join(', ')})`);
  }

  /** String concatenation: `"spec.nodeName=" + sys.env("HOSTNAME")`. */
  public static concat(...parts: readonly (string | AlloyExpression)[]): AlloyExpression {
    if (parts.length < 2) throw new Error(`a concatenation needs at least two parts, got ${parts.length}`);
    return new AlloyExpression(parts.map(p => renderInline(p, 'concatenation')).join(' + '));
  }

  private constructor(public readonly text: string) {}
}

/** An object literal, `{ key = value, … }`, keys in insertion order. */
export interface AlloyObject {
  readonly [key: string]: AlloyValue;
}

/** A value: string, number, bool, null, array, object, or an expression written unquoted. */
export type AlloyValue = string | number | boolean | null | readonly AlloyValue[] | AlloyObject | AlloyExpression;

/** `name = value` inside a block or at the top level. */
export interface AlloyAttribute {
  readonly kind: 'attribute';
  readonly name: string;
  readonly value: AlloyValue;
}

/** `name "label" { body }`: a component (`loki.write "default"`) or a nested block (`endpoint`, `rule`, `stage.json`). */
export interface AlloyBlock {
  readonly kind: 'block';
  /** Dotted identifiers: `loki.source.kubernetes`. */
  readonly name: string;
  /** The component's label, an identifier; nested blocks have none. */
  readonly label?: string;
  readonly body: readonly AlloyStatement[];
}

/** What a configuration file or a block body holds. */
export type AlloyStatement = AlloyAttribute | AlloyBlock;

/** `name = value`. */
export function attr(name: string, value: AlloyValue): AlloyAttribute {
  return { kind: 'attribute', name: checkIdentifier(name, 'attribute name'), value };
}

/** One attribute per entry of `values`, in insertion order; entries that are `undefined` are left out. */
export function attrs(values: Readonly<Record<string, AlloyValue | undefined>>): AlloyAttribute[] {
  return Object.entries(values).flatMap(([name, value]) => (value === undefined ? [] : [attr(name, value)]));
}

/** A block; pass `undefined` as the label of an unlabelled one. */
export function block(name: string, label: string | undefined, body: readonly AlloyStatement[] = []): AlloyBlock {
  checkPath(name, 'block name');
  if (label !== undefined) checkIdentifier(label, 'block label');
  return { kind: 'block', name, ...(label !== undefined ? { label } : {}), body };
}

/** The configuration text: top-level blocks separated by a blank line, ending with a newline. */
export function renderAlloy(statements: readonly AlloyStatement[]): string {
  return `${statements.map(s => renderStatement(s, 0)).join('\n\n')}\n`;
}

/** A double-quoted string, escaped so that Alloy reads back exactly `value`. */
export function quote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code >= 0xd800 && code <= 0xdfff) throw new Error(`a string must be valid Unicode, got a lone surrogate in ${JSON.stringify(value)}`);
    // other control characters, which an editor would not show
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const INDENT = '  ';

function renderStatement(s: AlloyStatement, depth: number): string {
  const pad = INDENT.repeat(depth);
  if (s.kind === 'attribute') return `${pad}${s.name} = ${renderValue(s.value, depth)}`;
  const head = `${pad}${s.name}${s.label !== undefined ? ` ${quote(s.label)}` : ''} {`;
  if (s.body.length === 0) return `${head}}`;
  return `${head}\n${s.body.map(b => renderStatement(b, depth + 1)).join('\n')}\n${pad}}`;
}

function isObject(value: AlloyValue): value is AlloyObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof AlloyExpression);
}

/** A value at `depth`: scalars and arrays of scalars on one line, objects (and arrays holding them) one entry a line. */
function renderValue(value: AlloyValue, depth: number): string {
  if (Array.isArray(value)) {
    const items = value as readonly AlloyValue[];
    if (items.length === 0) return '[]';
    if (!items.some(v => isObject(v) || Array.isArray(v))) return `[${items.map(v => renderValue(v, depth)).join(', ')}]`;
    const pad = INDENT.repeat(depth + 1);
    return `[\n${items.map(v => `${pad}${renderValue(v, depth + 1)},`).join('\n')}\n${INDENT.repeat(depth)}]`;
  }
  if (isObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const pad = INDENT.repeat(depth + 1);
    const key = (k: string) => (IDENTIFIER.test(k) ? k : quote(k));
    return `{\n${entries.map(([k, v]) => `${pad}${key(k)} = ${renderValue(v, depth + 1)},`).join('\n')}\n${INDENT.repeat(depth)}}`;
  }
  return renderScalar(value as string | number | boolean | null | AlloyExpression);
}

function renderScalar(value: string | number | boolean | null | AlloyExpression): string {
  if (value instanceof AlloyExpression) return value.text;
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`a number must be finite, got ${value}`);
    return String(value);
  }
  return value ? 'true' : 'false';
}

/** Function arguments and concatenated parts: single-line values only. */
function renderInline(value: AlloyValue, what: string): string {
  if (isObject(value) || Array.isArray(value)) throw new Error(`an ${what} must be a scalar or an expression, got ${JSON.stringify(value)}`);
  return renderScalar(value as string | number | boolean | null | AlloyExpression);
}

function checkIdentifier(name: string, what: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(`${what} must be an identifier (letters, digits and underscores, not starting with a digit), got ${JSON.stringify(name)}`);
  }
  return name;
}

function checkPath(path: string, what: string): string {
  for (const part of path.split('.')) checkIdentifier(part, `each part of a ${what}`);
  return path;
}
