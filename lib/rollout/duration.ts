/**
 * The one rule for durations written as text: the CLI's `--window`, `--settle` and `--timeout`, and the state files'
 * `analysis.window`, `analysis.settle` and `analysis.queryTimeout`. It accepts exactly what Prometheus's
 * `model.ParseDuration` (prometheus/common, model/time.go) accepts, so a duration that passes here passes in Prometheus
 * and in the PromQL it is written into:
 * - whole numbers, each followed by one of the units `y`, `w`, `d`, `h`, `m`, `s`, `ms` (a year is 365 days, a week
 *   7 days, a day 24 hours), each unit at most once and largest first: `1h30m`, `90s`, `1d1ms`; not `30m1h`, `5m5m`,
 *   `1.5h`, `5`, `-1m`, `1H` or the empty string;
 * - `0` alone;
 * - at most 2^63 − 1 nanoseconds (about 292 years), the longest duration Go can hold.
 *
 * Durations are written back out with `goDuration` (lib/private/units.ts), whose output this rule accepts.
 */

/** The units, largest first, with their length in milliseconds. */
const UNITS: ReadonlyArray<readonly [string, bigint]> = [
  ['y', 365n * 86_400_000n],
  ['w', 7n * 86_400_000n],
  ['d', 86_400_000n],
  ['h', 3_600_000n],
  ['m', 60_000n],
  ['s', 1000n],
  ['ms', 1n],
];

const AMOUNTS = UNITS.map(([unit]) => `(\\d+${unit})?`).join('');

/**
 * The syntax of a duration as an ECMA-262 regular expression (the JSON Schema `pattern` of the state files'
 * durations): `0` alone, or a non-empty sequence of amounts with units, largest unit first. It does not bound the
 * length; {@link durationProblem} does.
 */
export const DURATION_PATTERN = `^(0|(?!$)${AMOUNTS})$`;

/** {@link DURATION_PATTERN} for a duration longer than zero: some amount has a digit other than 0. */
export const POSITIVE_DURATION_PATTERN = `^(?=.*[1-9])${AMOUNTS}$`;

/** The longest duration Prometheus reads, 2^63 − 1 ns, in whole milliseconds. */
const MAX_MS = (2n ** 63n - 1n) / 1_000_000n;

/** {@link MAX_MS} as a duration. */
const MAX_TEXT = '292y24w3d23h47m16s854ms';

const SYNTAX = new RegExp(DURATION_PATTERN, 'u');

/** What a field that holds a duration requires beyond the syntax. */
export interface DurationOptions {
  /**
   * Refuse a duration of zero (`0`, `0s`, `0m0s`, …).
   * @default false
   */
  readonly positive?: boolean;
  /**
   * The shortest duration the field takes, itself a duration.
   * @default - no lower bound but the one of `positive`
   */
  readonly min?: string;
  /**
   * The longest duration the field takes, itself a duration.
   * @default - Prometheus's limit, about 292 years
   */
  readonly max?: string;
}

/** The duration's length in milliseconds, or undefined when `text` does not follow the syntax. */
function millisOf(text: string): bigint | undefined {
  const match = SYNTAX.exec(text);
  if (!match) return undefined;
  let total = 0n;
  UNITS.forEach(([unit, size], i) => {
    const amount = match[i + 2];
    if (amount !== undefined) total += BigInt(amount.slice(0, -unit.length)) * size;
  });
  return total;
}

/**
 * What is wrong with `text` as a duration, or undefined when it is one. The problem reads after a field name
 * (`'analysis.window' must be …`, `--window must be …`) and ends with the value received.
 */
export function durationProblem(text: string, options: DurationOptions = {}): string | undefined {
  const millis = millisOf(text);
  const got = `got ${JSON.stringify(text)}`;
  if (millis === undefined) {
    return `must be a duration such as 30s, 5m or 1h30m, ${got}: whole numbers, each with one of the units y, w, d, h, m, s, ms, `
      + 'largest first and each at most once (or 0 alone)';
  }
  if (millis > MAX_MS) return `must be at most ${MAX_TEXT}, the longest duration Prometheus reads, ${got}`;
  if (options.positive && millis === 0n) return `must be longer than 0, ${got}`;
  if (options.min !== undefined && millis < (millisOf(options.min) ?? 0n)) return `must be at least ${options.min}, ${got}`;
  if (options.max !== undefined && millis > (millisOf(options.max) ?? MAX_MS)) return `must be at most ${options.max}, ${got}`;
  return undefined;
}

/** True when `text` is a duration (see {@link durationProblem}). */
export function isDuration(text: string, options: DurationOptions = {}): boolean {
  return durationProblem(text, options) === undefined;
}

/**
 * Milliseconds of a duration such as `1h30m`.
 *
 * @param field the field or flag the text comes from, for the message
 * @throws if `text` is not a duration (or, with `positive`, is zero), naming `field`, the text and what is allowed
 */
export function parseDuration(text: string, field = 'duration', options: DurationOptions = {}): number {
  const problem = durationProblem(text, options);
  if (problem !== undefined) throw new Error(`'${field}' ${problem}`);
  return Number(millisOf(text));
}
