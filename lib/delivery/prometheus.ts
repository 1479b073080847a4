import { Duration } from 'cdk8s';
import { goDuration } from '../private/units';

/** Where and how to ask Prometheus. */
export interface PrometheusOptions {
  /** Base URL of the Prometheus HTTP API, such as `http://prometheus.observability:9090` (a path prefix is kept). */
  readonly url: string;
  /**
   * Headers of every query: `authorization` (bearer or basic) and extra ones such as `x-scope-orgid`.
   * @default - none
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Time budget of one query, connection and answer included, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * Takes the secrets out of what Prometheus (or a proxy before it) answered, before any of it is cut short or escaped
   * into a message: a cut or escaped secret would no longer be found by the redaction of the output.
   * @default - the answer as it is
   */
  readonly redact?: (text: string) => string;
}

/** Why a query gave no usable answer. */
export type PrometheusErrorKind =
  | 'unreachable' | 'timeout' | 'http-status' | 'not-json' | 'query-error' | 'warnings' | 'unexpected-result' | 'not-a-number';

/** A query that gave no usable answer. The gate never reads one as a pass. */
export class PrometheusError extends Error {
  public constructor(public readonly kind: PrometheusErrorKind, message: string, public readonly query: string) {
    super(message);
    this.name = 'PrometheusError';
  }
}

interface ApiAnswer {
  readonly status?: unknown;
  readonly errorType?: unknown;
  readonly error?: unknown;
  readonly warnings?: unknown;
  readonly data?: { readonly resultType?: unknown; readonly result?: unknown };
}

/**
 * Runs an instant query and returns its value: the one sample of a vector, or a scalar; null when the vector is empty.
 *
 * @param time the evaluation time, so that every query of a decision sees the same window
 * @throws {@link PrometheusError} when Prometheus cannot be reached or does not answer in time, answers with an HTTP
 *   error, with something that is not JSON, with a query error, with warnings (a partial answer), with more than one
 *   series or another result type,
 *   or with a value that is not a finite decimal number (NaN, ±Inf, hex) or is below 0: no query the gate asks can be
 */
export async function queryValue(options: PrometheusOptions, promql: string, time: Date): Promise<number | null> {
  const where = `prometheus at ${options.url}`;
  const fail = (kind: PrometheusErrorKind, message: string): PrometheusError => new PrometheusError(kind, `${where}: ${message}`, promql);
  const endpoint = new URL('api/v1/query', options.url.endsWith('/') ? options.url : `${options.url}/`);
  const timeout = goDuration(Duration.millis(options.timeoutMs));
  const body = new URLSearchParams({ query: promql, time: (time.getTime() / 1000).toFixed(3), timeout });
  // identity: the answers are small, and decompressing hundreds of them costs a tick more than the bytes
  const headers: Record<string, string> = {
    ...options.headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'accept-encoding': 'identity',
  };

  let status: number;
  let statusText: string;
  let text: string;
  try {
    const response = await fetch(endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(options.timeoutMs) });
    status = response.status;
    statusText = response.statusText;
    text = await response.text();
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      throw fail('timeout', `no answer within ${timeout} (raise --timeout or analysis.queryTimeout if Prometheus is just slow)`);
    }
    throw fail('unreachable', `unreachable (${e.cause?.code ?? e.cause?.message ?? e.message}); check --prometheus-url or PROMETHEUS_URL`);
  }

  const redact = options.redact ?? ((t: string) => t);
  let answer: ApiAnswer;
  try {
    answer = JSON.parse(text) as ApiAnswer;
  } catch {
    const what = status >= 200 && status < 300 ? 'answered' : `answered HTTP ${status} ${statusText}`;
    const excerpt = JSON.stringify(redact(text).slice(0, 80));
    throw fail(status >= 200 && status < 300 ? 'not-json' : 'http-status', `${what} with something that is not JSON: ${excerpt}`);
  }
  const apiError = typeof answer?.error === 'string' ? redact(`${String(answer.errorType ?? 'error')}: ${answer.error}`) : undefined;
  if (status < 200 || status >= 300) {
    throw fail('http-status', `answered HTTP ${status} ${statusText}${apiError ? ` (${apiError})` : ''}${status === 401 || status === 403 ? '; check PROMETHEUS_TOKEN, or PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD' : ''}`);
  }
  if (answer?.status !== 'success') throw fail('query-error', `query failed: ${apiError ?? `status ${JSON.stringify(answer?.status)}`}`);
  // a store that answered in part (Thanos or a querier with a store down: series missing, the canary's errors read as
  // 0) or PromQL's own warnings (a malformed bucket, mixed histograms: samples left out): the number is not the
  // window's; `infos` only annotate an answer that is whole
  if (Array.isArray(answer.warnings) && answer.warnings.length > 0) {
    const first = redact(String(answer.warnings[0])).slice(0, 160);
    const more = answer.warnings.length > 1 ? ` (and ${answer.warnings.length - 1} more)` : '';
    throw fail('warnings', `answered with a warning, so the result may be incomplete: ${JSON.stringify(first)}${more}`);
  }

  const { resultType, result } = answer.data ?? {};
  let value: unknown;
  if (resultType === 'scalar') {
    value = Array.isArray(result) ? result[1] : undefined;
  } else if (resultType === 'vector' && Array.isArray(result)) {
    if (result.length === 0) return null;
    if (result.length > 1) throw fail('unexpected-result', `expected at most one series, got ${result.length}`);
    value = (result[0] as { value?: unknown[] })?.value?.[1];
  } else {
    throw fail('unexpected-result', `expected a vector or a scalar, got ${JSON.stringify(resultType ?? null)}`);
  }
  if (typeof value !== 'string') throw fail('unexpected-result', `expected a sample value as a string, got ${JSON.stringify(value ?? null)}`);
  // a decimal as Prometheus and its remote stores write one; Number() alone would also take hex ("0x64"), binary and
  // whitespace, which no store sends and a broken proxy might
  const number = SAMPLE_VALUE.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(number)) throw fail('not-a-number', `answered ${value}, not a finite number`);
  // every query the gate asks is a count, a rate, a latency, a weight or a number of pods: a negative answer is a broken
  // store or rule, and read as it stands it made requests that never happened (caller errors minus the canary's own)
  if (number < 0) throw fail('unexpected-result', `answered ${value}, below 0, which no count, latency or state the gate reads can be`);
  // -0 (a product of 0 and a negative number) as 0, so that no message prints it
  return number === 0 ? 0 : number;
}

/** A sample value in decimal or exponent notation (`12`, `0.25`, `-3`, `1e+06`). */
const SAMPLE_VALUE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
