/**
 * A small YAML emitter for JSON-shaped data (objects, arrays, strings, finite numbers, booleans, null), used for every
 * manifest and every config file the project renders.
 *
 * Why not the `yaml` package (what cdk8s uses): it is three times slower, and rendering dominated the synth budget.
 * This emitter is deliberately conservative: a string is written plain only when no YAML 1.1 or 1.2 parser can read
 * it as anything but that string (Kubernetes, Loki, Tempo and the Collector read YAML with Go parsers of either
 * version); everything else is double-quoted as JSON, which is valid YAML. Multi-line strings become literal blocks
 * so that embedded config files stay readable. Keys whose value is `undefined` are left out.
 */

// letters, digits and a few punctuation characters that are never indicators in the middle of a plain scalar
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./:@=+$~-]*$/;
// quantities and durations such as 10Gi, 500m, 168h: start with a digit, yet never a number, date or time
const UNIT = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|KiB|MiB|GiB|MB|GB|ms|m|s|h|d|w|y|%)$/;
// words YAML 1.1 reads as booleans or null
const RESERVED = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;
const INDENT = '  ';

/** Renders one YAML document (no `---`), ending with a newline. */
export function toYaml(value: unknown): string {
  return `${block(value, '')}\n`.replace(/^\n/, '');
}

/** Renders several documents separated by `---`. */
export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map(toYaml).join('---\n');
}

/** A scalar on one line, or undefined when the value needs a block. */
function scalar(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot render ${value} as YAML`);
    return String(value);
  }
  if (typeof value === 'string') {
    if (value.includes('\n') && isBlockable(value)) return undefined;
    return isPlain(value) ? value : JSON.stringify(value);
  }
  if (Array.isArray(value) && value.length === 0) return '[]';
  if (isObject(value) && entries(value).length === 0) return '{}';
  return undefined;
}

function isPlain(s: string): boolean {
  return (PLAIN.test(s) && !RESERVED.test(s) && !s.endsWith(':')) || UNIT.test(s);
}

/**
 * Literal blocks take printable text with tabs. Strings a block could not carry exactly are quoted instead: only
 * newlines, lines of nothing but white space (a block reads them as empty), and a first line that starts with white
 * space (it would set the block's indentation).
 */
function isBlockable(s: string): boolean {
  if (/[\u0000-\u0008\u000b-\u001f\u007f\u0085\u2028\u2029\ufeff]/.test(s) || s.trim() === '') return false;
  const lines = s.split('\n');
  return lines.every(line => line === '' || line.trim() !== '') && !/^[ \t]/.test(lines.find(line => line !== '')!);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(value: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(value).filter(([, v]) => v !== undefined);
}

function key(k: string): string {
  return isPlain(k) ? k : JSON.stringify(k);
}

/** A literal block scalar: `|` keeps one final newline, `|-` none, `|+` all of them. */
function literal(s: string, indent: string): string {
  const trailing = /\n*$/.exec(s)![0].length;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = s.slice(0, s.length - trailing).split('\n').map(line => (line === '' ? '' : indent + line)).join('\n');
  return `|${chomp}\n${body}${'\n'.repeat(Math.max(0, trailing - 1))}`;
}

/** Renders a value that starts after `key:` or `- ` at indentation `indent`. */
function block(value: unknown, indent: string): string {
  const one = scalar(value);
  if (one !== undefined) return one;
  if (typeof value === 'string') return literal(value, indent);
  if (Array.isArray(value)) {
    return value.map(item => {
      const inner = block(item, indent + INDENT);
      // a nested object or list starts on the dash line; its other lines line up under its first
      const nested = scalar(item) === undefined && typeof item !== 'string';
      return `${indent}- ${nested ? inner.slice(indent.length + INDENT.length) : inner}`;
    }).join('\n');
  }
  if (isObject(value)) {
    return entries(value).map(([k, v]) => {
      const inline = scalar(v);
      if (inline !== undefined) return `${indent}${key(k)}: ${inline}`;
      if (typeof v === 'string') return `${indent}${key(k)}: ${literal(v, indent + INDENT)}`;
      return `${indent}${key(k)}:\n${block(v, indent + INDENT)}`;
    }).join('\n');
  }
  throw new Error(`cannot render a ${typeof value} as YAML`);
}

/**
 * A YAML syntax error in one line, as a problem list shows it: the `yaml` package's message and position, without the
 * code frame it appends after a colon (`… at line 3, column 1`).
 */
export function yamlSyntaxError(error: unknown): string {
  return `not valid YAML: ${(error as Error).message.split('\n')[0].replace(/:$/, '')}`;
}
