import { parseCommand } from '../../lib/delivery/args';
import { Duration } from 'cdk8s';
import { DURATION_PATTERN, POSITIVE_DURATION_PATTERN, durationProblem, isDuration, parseDuration } from '../../lib/rollout/duration';
import { StateError, parseRolloutState } from '../../lib/rollout/state';
import { ANALYSIS_DURATIONS, ROLLOUT_STATE_SCHEMA } from '../../lib/rollout/state-schema';
import { goDuration } from '../../lib/private/units';
import { CANARY_YAML } from './fixtures';

const DAY = 86_400_000;
const SYNTAX = 'must be a duration such as 30s, 5m or 1h30m';
const SYNTAX_RULE = 'whole numbers, each with one of the units y, w, d, h, m, s, ms, largest first and each at most once (or 0 alone)';
const RANGE = 'must be at most 292y24w3d23h47m16s854ms, the longest duration Prometheus reads';

/** Prometheus's `model.ParseDuration`: what it accepts, in milliseconds, and what it refuses. */
const ACCEPTED: ReadonlyArray<readonly [string, number]> = [
  ['0s', 0],
  ['0', 0],
  ['1y', 365 * DAY],
  ['1h30m', 90 * 60_000],
  ['90s', 90_000],
  ['500ms', 500],
  ['1d1ms', DAY + 1],
  ['2w', 14 * DAY],
  ['1m5ms', 60_005],
  ['01s', 1000],
  ['0m0s', 0],
  ['1y1w1d1h1m1s1ms', 32_230_861_001],
  ['292y24w3d23h47m16s854ms', 9_223_372_036_854],
];
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ['30m1h', SYNTAX],
  ['5m5m', SYNTAX],
  ['1s1m', SYNTAX],
  ['1y1m1d', SYNTAX],
  ['1.5h', SYNTAX],
  ['-1m', SYNTAX],
  ['', SYNTAX],
  ['1H', SYNTAX],
  ['5', SYNTAX],
  ['00', SYNTAX],
  ['d', SYNTAX],
  ['1h30', SYNTAX],
  [' 5m', SYNTAX],
  ['5m\n', SYNTAX],
  ['5 m', SYNTAX],
  ['1µs', SYNTAX],
  ['\u0665s', SYNTAX],
  ['292y24w3d23h47m16s855ms', RANGE],
  ['294y', RANGE],
  ['9223372036855ms', RANGE],
];

describe('the duration rule', () => {
  test.each(ACCEPTED)('accepts %j as %d ms', (text, millis) => {
    expect(durationProblem(text)).toBeUndefined();
    expect(isDuration(text)).toBe(true);
    expect(parseDuration(text, 'analysis.window')).toBe(millis);
  });

  test.each(REFUSED)('refuses %j: %s', (text, problem) => {
    const got = `got ${JSON.stringify(text)}`;
    expect(durationProblem(text)).toBe(problem === SYNTAX ? `${SYNTAX}, ${got}: ${SYNTAX_RULE}` : `${problem}, ${got}`);
    expect(isDuration(text)).toBe(false);
    expect(() => parseDuration(text, 'analysis.window')).toThrow(`'analysis.window' ${problem}, got ${JSON.stringify(text)}`);
  });

  test.each(['0', '0s', '0m0s', '0ms'])('refuses %j where a duration must be longer than 0', text => {
    expect(durationProblem(text, { positive: true })).toBe(`must be longer than 0, got ${JSON.stringify(text)}`);
    expect(() => parseDuration(text, 'window', { positive: true })).toThrow(`'window' must be longer than 0, got ${JSON.stringify(text)}`);
  });

  test('min and max bound a duration, each itself a duration', () => {
    expect(durationProblem('6d23h', { min: '7d' })).toBe('must be at least 7d, got "6d23h"');
    expect(durationProblem('1w', { min: '7d', max: '90d' })).toBeUndefined();
    expect(durationProblem('90d1ms', { max: '90d' })).toBe('must be at most 90d, got "90d1ms"');
  });

  test('the longest duration is Prometheus\'s limit, 2^63 - 1 ns, in whole milliseconds', () => {
    expect(BigInt(parseDuration('292y24w3d23h47m16s854ms')) * 1_000_000n).toBeLessThanOrEqual(2n ** 63n - 1n);
    expect((BigInt(parseDuration('292y24w3d23h47m16s854ms')) + 1n) * 1_000_000n).toBeGreaterThan(2n ** 63n - 1n);
  });

  test.each([Duration.millis(1500), Duration.seconds(90), Duration.minutes(5), Duration.hours(36), Duration.days(7), Duration.seconds(0)])(
    'reads what goDuration writes: %s', duration => {
      expect(parseDuration(goDuration(duration))).toBe(duration.toMilliseconds());
    });
});

describe('the JSON Schema patterns', () => {
  const all = [...ACCEPTED.map(([text]) => text), ...REFUSED.map(([text]) => text)];
  const inRange = (text: string): boolean => durationProblem(text)?.startsWith(RANGE) !== true;

  test.each(all)('DURATION_PATTERN agrees with the rule on %j (the length aside)', text => {
    expect(new RegExp(DURATION_PATTERN, 'u').test(text)).toBe(isDuration(text) || !inRange(text));
  });

  test.each(all)('POSITIVE_DURATION_PATTERN agrees with the rule for positive durations on %j (the length aside)', text => {
    expect(new RegExp(POSITIVE_DURATION_PATTERN, 'u').test(text)).toBe(isDuration(text, { positive: true }) || !inRange(text));
  });

  test('the state file\'s window and query timeout must be longer than 0, its settle may be 0', () => {
    const analysis = ROLLOUT_STATE_SCHEMA.properties.analysis.properties;
    expect(analysis.window.pattern).toBe(POSITIVE_DURATION_PATTERN);
    expect(analysis.queryTimeout.pattern).toBe(POSITIVE_DURATION_PATTERN);
    expect(analysis.settle.pattern).toBe(DURATION_PATTERN);
  });
});

describe('durations in a state file', () => {
  const FILE = 'rollout/local/gateway.yaml';
  const valid = CANARY_YAML;
  const withAnalysis = (field: string, text: string): string => valid.replace('slo:', `analysis:\n  ${field}: ${JSON.stringify(text)}\nslo:`);
  const problemsOf = (text: string): readonly string[] => {
    try {
      parseRolloutState(text, FILE, 'gateway');
      return [];
    } catch (error) {
      if (!(error instanceof StateError)) throw error;
      expect(error.message).toMatch(new RegExp(`^invalid rollout state ${FILE}:\\n`));
      return error.problems;
    }
  };

  test.each(ACCEPTED)('analysis.settle %j is read as the CLI reads it: up to 1h, beyond that refused for its length alone', (text, ms) => {
    expect(problemsOf(withAnalysis('settle', text))).toEqual(ms <= 3_600_000 ? [] : [`'analysis.settle' must be at most 1h, got ${JSON.stringify(text)}`]);
  });

  test.each(REFUSED)('analysis.settle %j is refused with the rule\'s words, naming the field', (text, problem) => {
    expect(problemsOf(withAnalysis('settle', text))).toEqual([`'analysis.settle' ${durationProblem(text)}`]);
    expect(durationProblem(text)?.startsWith(problem)).toBe(true);
  });

  test.each([['window', '30m1h'], ['window', '0s'], ['queryTimeout', '0'], ['queryTimeout', '5m5m'], ['window', '300y'], ['window', '6h1ms']])(
    'analysis.%s %j is refused as the flag is', (field, text) => {
      expect(problemsOf(withAnalysis(field, text))).toEqual([`'analysis.${field}' ${durationProblem(text, ANALYSIS_DURATIONS[field as 'window' | 'queryTimeout'])}`]);
    });

  test('a query timeout beyond 10m is refused (Node fires a timer beyond ~24.8 days at once), from the state file and the flag', () => {
    expect(problemsOf(withAnalysis('queryTimeout', '11m'))).toEqual(['\'analysis.queryTimeout\' must be at most 10m, got "11m"']);
    expect(problemsOf(withAnalysis('queryTimeout', '10m'))).toEqual([]);
    expect(() => parseCommand(['advance', '--service', 'gateway', '--timeout', '30d'])).toThrow('--timeout must be at most 10m, got "30d"');
  });

  test('a settle of 0s is allowed, as tests and quick local runs use it', () => {
    expect(parseRolloutState(withAnalysis('settle', '0s'), FILE, 'gateway').analysis?.settle).toBe('0s');
  });
});
