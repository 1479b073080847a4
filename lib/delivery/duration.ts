/**
 * Durations as the state file and the CLI write them, in Prometheus's notation: `30s`, `5m`, `1h30m`, `2d`. They are
 * written back out with `goDuration` (lib/private/units.ts), as the rest of the repository writes durations.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(\d+(ms|s|m|h|d|w))+$/;

/** True when `text` is a duration in Prometheus notation. */
export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/**
 * Milliseconds of a duration such as `1h30m`.
 *
 * @throws if `text` is not a duration, naming `field`
 */
export function parseDuration(text: string, field = 'duration'): number {
  if (!isDuration(text)) throw new Error(`'${field}' must be a duration such as 30s, 5m or 1h30m, got ${JSON.stringify(text)}`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(amount) * UNIT_MS[unit];
  return total;
}
