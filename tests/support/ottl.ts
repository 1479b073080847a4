/**
 * A test-only interpreter for the subset of OTTL the Collector config renders, so that tests can run the rendered
 * statements on telemetry in JavaScript (the Collector binary is not available to the tests). It reads statements as
 * they stand in the config file (`$$` is a literal `$` there), parses them strictly and throws on any function, path
 * or syntax it does not know, so a statement it cannot run fails the test instead of being skipped.
 *
 * Semantics follow contrib v0.159 (pkg/ottl/ottlfuncs/README.md): `replace_all_patterns(map, "value", re, repl)`
 * rewrites string values only; `replace_pattern(field, re, repl)` rewrites one string; `delete_matching_keys` and
 * `keep_matching_keys` match keys unanchored (Go `MatchString`); `set` with a nil value does nothing; replacements use
 * Go's `${n}`. Regexes run in JavaScript after a check that they use no syntax RE2 lacks.
 */

/** Attribute maps as the tests build them. */
export type AttributeMap = Record<string, unknown>;

/** A span with its events. */
export interface OttlSpan {
  name: string;
  status: { message: string };
  attributes: AttributeMap;
  events: Array<{ name: string; attributes: AttributeMap }>;
}

/** Resource spans: one resource, its spans. */
export interface OttlTraces {
  resource: AttributeMap;
  spans: OttlSpan[];
}

type Value = string | null | Value[] | { path: string[] } | { call: string; args: Value[] };
interface Comparison { left: Value; op: '==' | '!='; right: Value }
interface Statement { fn: string; args: Value[]; where: Comparison[] }

/** What the config resolver does to a string value: `$$` is a literal `$`. */
export function unescapeConfigDollars(text: string): string {
  return text.replace(/\$\$/g, '$');
}

/** Syntax JavaScript regexes accept but RE2 (Go's regexp) does not: lookaround, back-references, named groups à la JS. */
export function re2Problems(pattern: string): string[] {
  const problems: string[] = [];
  if (/\(\?[=!]|\(\?<[=!]/.test(pattern)) problems.push('lookaround');
  if (/\\[1-9]|\\k</.test(pattern)) problems.push('back-reference');
  if (/\(\?<[A-Za-z]/.test(pattern)) problems.push('JS named group (RE2 wants (?P<name>))');
  return problems;
}

/** A JavaScript RegExp for an RE2 pattern; throws if the pattern uses syntax RE2 lacks. */
export function re2(pattern: string, flags = ''): RegExp {
  const problems = re2Problems(pattern);
  if (problems.length > 0) throw new Error(`not RE2: ${problems.join(', ')} in ${pattern}`);
  return new RegExp(pattern, flags);
}

/** A Go `regexp.Expand` replacement (`${1}`, `$1`, `$$`) as a JavaScript one. */
function goReplacement(replacement: string): string {
  return replacement.replace(/\$\{(\d+)\}/g, '$$$1');
}

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  statement(): Statement {
    const fn = this.identifier();
    const args = this.args();
    const where: Comparison[] = [];
    this.space();
    if (this.text.startsWith('where', this.pos)) {
      this.pos += 'where'.length;
      do where.push(this.comparison()); while (this.keyword('and'));
    }
    this.space();
    if (this.pos !== this.text.length) throw new Error(`unexpected "${this.text.slice(this.pos)}" in ${this.text}`);
    return { fn, args, where };
  }

  private comparison(): Comparison {
    const left = this.value();
    this.space();
    const op = this.text.slice(this.pos, this.pos + 2);
    if (op !== '==' && op !== '!=') throw new Error(`expected == or != at "${this.text.slice(this.pos)}"`);
    this.pos += 2;
    return { left, op, right: this.value() };
  }

  private keyword(word: string): boolean {
    this.space();
    if (this.text.startsWith(`${word} `, this.pos)) {
      this.pos += word.length;
      return true;
    }
    return false;
  }

  private args(): Value[] {
    this.expect('(');
    const args: Value[] = [];
    this.space();
    if (this.peek() === ')') {
      this.pos += 1;
      return args;
    }
    for (;;) {
      args.push(this.value());
      this.space();
      if (this.peek() === ')') {
        this.pos += 1;
        return args;
      }
      this.expect(',');
    }
  }

  private value(): Value {
    this.space();
    const c = this.peek();
    if (c === '"') return this.string();
    if (c === '[') {
      this.pos += 1;
      const items: Value[] = [];
      for (;;) {
        items.push(this.value());
        this.space();
        if (this.peek() === ']') {
          this.pos += 1;
          return items;
        }
        this.expect(',');
      }
    }
    const name = this.identifier();
    if (name === 'nil') return null;
    if (/^[A-Z]/.test(name)) return { call: name, args: this.args() };
    const path = [name];
    for (;;) {
      if (this.peek() === '.') {
        this.pos += 1;
        path.push(this.identifier());
      } else if (this.peek() === '[') {
        this.pos += 1;
        path.push(this.string());
        this.expect(']');
      } else {
        return { path };
      }
    }
  }

  private string(): string {
    const match = /^"(?:[^"\\]|\\.)*"/.exec(this.text.slice(this.pos));
    if (!match) throw new Error(`expected a string at "${this.text.slice(this.pos)}"`);
    this.pos += match[0].length;
    // OTTL string literals take Go escapes; the rendered ones use only \\ and \"
    if (/\\[^\\"]/.test(match[0].replace(/\\\\/g, ''))) throw new Error(`escape the test interpreter does not read in ${match[0]}`);
    return JSON.parse(match[0]) as string;
  }

  private identifier(): string {
    this.space();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!match) throw new Error(`expected a name at "${this.text.slice(this.pos)}"`);
    this.pos += match[0].length;
    return match[0];
  }

  private expect(char: string): void {
    this.space();
    if (this.peek() !== char) throw new Error(`expected "${char}" at "${this.text.slice(this.pos)}" in ${this.text}`);
    this.pos += 1;
  }

  private peek(): string {
    return this.text[this.pos];
  }

  private space(): void {
    while (this.text[this.pos] === ' ') this.pos += 1;
  }
}

/** Parses one statement as written in the config file. */
export function parseStatement(configText: string): Statement {
  return new Parser(unescapeConfigDollars(configText)).statement();
}

/** The function names of `statements` (as written in the config file), converters included. */
export function functionsOf(statements: readonly string[]): string[] {
  const names = new Set<string>();
  const visit = (value: Value): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object' && 'call' in value) {
      names.add(value.call);
      value.args.forEach(visit);
    }
  };
  for (const text of statements) {
    const statement = parseStatement(text);
    names.add(statement.fn);
    statement.args.forEach(visit);
    statement.where.forEach(c => [c.left, c.right].forEach(visit));
  }
  return [...names].sort();
}

/** The regex arguments of `statements`, for the RE2 check. */
export function patternsOf(statements: readonly string[]): string[] {
  return statements.flatMap(text => {
    const { fn, args } = parseStatement(text);
    const at = { replace_all_patterns: 2, replace_pattern: 1, delete_matching_keys: 1, keep_matching_keys: 1 }[fn];
    return at === undefined ? [] : [args[at] as string];
  });
}

interface Scope { resource: AttributeMap; span?: OttlSpan; event?: OttlSpan['events'][number] }

function container(scope: Scope, path: string[]): { owner: Record<string, unknown>; key: string } {
  const [context, field, ...rest] = path;
  if (context === 'resource' && field === 'attributes') return mapEntry(scope.resource, rest);
  if (context === 'span' && scope.span !== undefined) {
    if (field === 'attributes') return mapEntry(scope.span.attributes, rest);
    if (field === 'name' && rest.length === 0) return { owner: scope.span as unknown as Record<string, unknown>, key: 'name' };
    if (field === 'status' && rest.length === 1 && rest[0] === 'message') return { owner: scope.span.status, key: 'message' };
  }
  if (context === 'spanevent' && field === 'attributes' && scope.event !== undefined) return mapEntry(scope.event.attributes, rest);
  throw new Error(`path the test interpreter does not know, or not in this context: ${path.join('.')}`);
}

function mapEntry(map: AttributeMap, rest: string[]): { owner: Record<string, unknown>; key: string } {
  if (rest.length > 1) throw new Error(`nested map paths are not supported: ${rest.join('.')}`);
  // the map itself: a pseudo-owner whose key '' is the map
  return rest.length === 0 ? { owner: { '': map }, key: '' } : { owner: map, key: rest[0] };
}

function evaluate(scope: Scope, value: Value): unknown {
  if (value === null || typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(v => evaluate(scope, v));
  if ('path' in value) {
    const { owner, key } = container(scope, value.path);
    return owner[key] ?? null;
  }
  if (value.call === 'Concat') {
    const [items, delimiter] = value.args.map(v => evaluate(scope, v)) as [unknown[], string];
    return items.map(item => (item === null ? '' : String(item))).join(delimiter);
  }
  throw new Error(`converter the test interpreter does not know: ${value.call}`);
}

function mapArg(scope: Scope, value: Value): AttributeMap {
  const map = evaluate(scope, value);
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new Error('expected a map');
  return map as AttributeMap;
}

function run(scope: Scope, { fn, args, where }: Statement): void {
  if (!where.every(c => (evaluate(scope, c.left) === evaluate(scope, c.right)) === (c.op === '=='))) return;
  switch (fn) {
    case 'set': {
      const { owner, key } = container(scope, (args[0] as { path: string[] }).path);
      const value = evaluate(scope, args[1]);
      if (value !== null) owner[key] = value;
      return;
    }
    case 'delete_key':
      delete mapArg(scope, args[0])[args[1] as string];
      return;
    case 'delete_matching_keys':
    case 'keep_matching_keys': {
      const map = mapArg(scope, args[0]);
      const pattern = re2(args[1] as string);
      for (const key of Object.keys(map)) if (pattern.test(key) === (fn === 'delete_matching_keys')) delete map[key];
      return;
    }
    case 'replace_pattern': {
      const { owner, key } = container(scope, (args[0] as { path: string[] }).path);
      if (typeof owner[key] === 'string') owner[key] = (owner[key] as string).replace(re2(args[1] as string, 'g'), goReplacement(args[2] as string));
      return;
    }
    case 'replace_all_patterns': {
      if (args[1] !== 'value') throw new Error('only "value" mode is supported');
      const map = mapArg(scope, args[0]);
      for (const [key, value] of Object.entries(map)) {
        if (typeof value === 'string') map[key] = value.replace(re2(args[2] as string, 'g'), goReplacement(args[3] as string));
      }
      return;
    }
    default:
      throw new Error(`function the test interpreter does not know: ${fn}`);
  }
}

/** The context a group of statements runs in, inferred from its paths as the transform processor does. */
function contextOf(statements: Statement[]): 'resource' | 'span' | 'spanevent' {
  const paths = JSON.stringify(statements);
  if (paths.includes('"spanevent"')) return 'spanevent';
  if (paths.includes('"span"')) return 'span';
  return 'resource';
}

/** Runs trace statement groups (as rendered) on `traces`, in place, the way the transform processor orders them. */
export function runTraceStatements(groups: ReadonlyArray<{ readonly statements: readonly string[] }>, traces: OttlTraces): OttlTraces {
  for (const group of groups) {
    const statements = group.statements.map(parseStatement);
    const context = contextOf(statements);
    const scopes: Scope[] = context === 'resource' ? [{ resource: traces.resource }]
      : context === 'span' ? traces.spans.map(span => ({ resource: traces.resource, span }))
        : traces.spans.flatMap(span => span.events.map(event => ({ resource: traces.resource, span, event })));
    for (const scope of scopes) for (const statement of statements) run(scope, statement);
  }
  return traces;
}

/** Runs metric statement groups that use resource paths only, on one resource's attributes, in place. */
export function runResourceStatements(groups: ReadonlyArray<{ readonly statements: readonly string[] }>, resource: AttributeMap): AttributeMap {
  for (const group of groups) {
    const statements = group.statements.map(parseStatement);
    if (contextOf(statements) !== 'resource') throw new Error('only resource statements are supported for metrics');
    for (const statement of statements) run({ resource }, statement);
  }
  return resource;
}
