/**
 * Checks of dashboard options: each throws at once, naming the function, the option, the value received and what
 * is allowed.
 */

import { show } from '../../errors';
import { DNS_1035_LABEL_PATTERN } from '../../private/names';

const DNS_LABEL = new RegExp(DNS_1035_LABEL_PATTERN);

/** An error in an option of a dashboard function, prefixed with the function's name. */
export function optionError(fn: string, message: string): Error {
  return new Error(`${fn}: ${message}`);
}

/** Throws unless `value` is a DNS label (a Kubernetes name, an `app` label) of at most `max` characters. */
export function checkName(fn: string, option: string, value: string, max: number, why = ''): void {
  if (typeof value !== 'string' || value.length > max || !DNS_LABEL.test(value)) {
    throw optionError(fn, `'${option}' must be a lower-case DNS label of at most ${max} characters${why}, got ${show(value)}`);
  }
}

/** Throws unless `value` is a finite number with `min < value ≤ max`. */
export function checkRange(fn: string, option: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= min || value > max) {
    throw optionError(fn, `'${option}' must be a number greater than ${min} and at most ${max}, got ${show(value)}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws unless `value` is a Prometheus metric name. */
export function checkMetricName(fn: string, option: string, value: string): void {
  if (typeof value !== 'string' || !METRIC_NAME.test(value)) {
    throw optionError(fn, `'${option}' must be a Prometheus metric name (${METRIC_NAME.source}), got ${show(value)}`);
  }
}

/** Throws unless `value` is a Prometheus label name. */
export function checkLabelName(fn: string, option: string, value: string): void {
  if (typeof value !== 'string' || !LABEL_NAME.test(value)) {
    throw optionError(fn, `'${option}' must be a Prometheus label name (${LABEL_NAME.source}), got ${show(value)}`);
  }
}
