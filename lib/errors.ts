import { Chart, Duration, Size } from 'cdk8s';
import { IConstruct } from 'constructs';
import { goDuration, quantity } from './private/units';

/**
 * An error in what a construct was given, prefixed with the construct path so the reader knows where to look.
 *
 * @example throw validationError(this, `'replicas' must be an integer from 1 to 10, got ${replicas}`)
 */
export function validationError(scope: IConstruct, message: string): Error {
  return new Error(`[${scope.node.path}] ${message}`);
}

/** Renders a value for an error message: strings quoted, durations as `90m`, everything else as JSON. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Duration) return goDuration(value);
  return JSON.stringify(value);
}

/**
 * The namespace of the chart `scope` is in.
 *
 * @param construct the construct's class name, for the message (names do not survive minified bundles)
 * @throws if the chart has no namespace: every component renders namespaced objects and in-cluster URLs
 */
export function chartNamespace(scope: IConstruct, construct: string): string {
  const namespace = Chart.of(scope).namespace;
  if (!namespace) throw validationError(scope, `${construct} must be placed in a chart with a namespace`);
  return namespace;
}

/**
 * Checks that a numeric prop is an integer in `[min, max]`.
 *
 * @throws naming the prop, the value and the range
 */
export function checkInteger(scope: IConstruct, prop: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw validationError(scope, `'${prop}' must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
}

/**
 * Checks that a duration prop is a whole number of hours, at least `minHours`.
 *
 * @param reason why the minimum, shown in parentheses after it
 * @throws naming the prop, the minimum and the value
 */
export function checkWholeHours(scope: IConstruct, prop: string, value: Duration, minHours: number, reason?: string): void {
  const hours = value.toHours({ integral: false });
  if (!Number.isInteger(hours) || hours < minHours) {
    throw validationError(scope, `'${prop}' must be whole hours, at least ${minHours}h${reason ? ` (${reason})` : ''}, got ${show(value)}`);
  }
}

/**
 * Checks that a size prop is at least `min`.
 *
 * @throws naming the prop, the minimum and the value
 */
export function checkMinSize(scope: IConstruct, prop: string, value: Size, min: Size): void {
  if (value.toMebibytes() < min.toMebibytes()) throw validationError(scope, `'${prop}' must be at least ${quantity(min)}, got ${quantity(value)}`);
}
