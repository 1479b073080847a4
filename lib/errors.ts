import { Duration } from 'cdk8s';
import { IConstruct } from 'constructs';
import { goDuration } from './private/units';

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
