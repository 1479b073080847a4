import { trace } from '@opentelemetry/api';
import type { Middleware } from 'koa';
import type { Logger } from './logger';
import { scrub } from './redact';

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly error: {
    /** Machine-readable code, snake_case, e.g. `invalid_parameter`. */
    readonly code: string;
    /** What went wrong and what is allowed, for people. */
    readonly message: string;
    /** The query parameter at fault, for 400 and 404 answers about one. */
    readonly parameter?: string;
  };
}

/**
 * An error with a status and a message meant for the client; used for upstream failures (502, 504) and for
 * relaying an upstream's 4xx answer. Handlers use `ctx.throw`/`ctx.assert` for their own 4xx.
 */
export class ApiError extends Error {
  /** Always shown to the client, unlike other 5xx errors. */
  readonly expose = true;

  /** The body's `parameter`, if any. */
  readonly parameter?: string;

  /**
   * @param status the response status
   * @param code the body's `code`
   * @param message the body's `message`
   * @param options the body's `parameter`, and the error that caused this one (logged, never shown)
   */
  constructor(readonly status: number, readonly code: string, message: string, options: { parameter?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ApiError';
    this.parameter = options.parameter;
  }
}

const DEFAULT_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request', 404: 'not_found', 405: 'method_not_allowed', 500: 'internal', 502: 'bad_gateway', 503: 'unavailable', 504: 'gateway_timeout',
};

interface ThrownFields { status?: unknown; expose?: unknown; code?: unknown; parameter?: unknown; message?: unknown }

/** The status and JSON body for anything thrown by a handler; unexposed errors become an opaque 500. */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ThrownFields;
  const status = typeof e.status === 'number' && e.status >= 400 && e.status <= 599 ? e.status : 500;
  if (e.expose !== true) return { status, body: { error: { code: DEFAULT_CODES[status] ?? 'internal', message: 'internal server error' } } };
  const code = typeof e.code === 'string' ? e.code : DEFAULT_CODES[status] ?? 'error';
  const parameter = typeof e.parameter === 'string' ? e.parameter : undefined;
  return { status, body: { error: { code, message: String(e.message), ...(parameter === undefined ? {} : { parameter }) } } };
}

/**
 * An error as a span's `exception` event, scrubbed as the logs are: spans leave the process for the trace store, and
 * an upstream's error message can carry a query string with a token or an e-mail address.
 */
export function exceptionOf(error: Error): { name: string; message: string; stack?: string; code?: string | number } {
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: scrub(error.message) as string,
    ...(error.stack === undefined ? {} : { stack: scrub(error.stack) as string }),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
  };
}

/**
 * The one error middleware: turns anything thrown below it into the JSON error body, logs 5xx with the error (the
 * line carries the trace id) and records it as an exception event on the request's span, and answers unmatched
 * requests with a JSON 404.
 */
export function errorMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: { code: 'not_found', message: `no route for ${ctx.method} ${ctx.path}` } } satisfies ErrorBody;
      } else if (ctx.status === 405 && ctx.body === undefined) {
        // the router's answer to a path it has with another method: its Allow header stays
        const message = `${ctx.method} ${ctx.path} is not allowed; allowed: ${ctx.response.get('Allow')}`;
        ctx.body = { error: { code: 'method_not_allowed', message } } satisfies ErrorBody;
      }
    } catch (error) {
      const { status, body } = errorResponse(error);
      ctx.status = status;
      ctx.body = body;
      if (status >= 500) {
        logger.error({ err: error, status, path: ctx.path }, body.error.message);
        // the http instrumentation marks the span as failed for a 5xx; this says why
        if (error instanceof Error) trace.getActiveSpan()?.recordException(exceptionOf(error));
      }
    }
  };
}
