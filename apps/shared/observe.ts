import { randomUUID } from 'node:crypto';
import { TraceFlags, context, isSpanContextValid, trace } from '@opentelemetry/api';
import { RPCMetadata, RPCType, getRPCMetadata } from '@opentelemetry/core';
import type { Context, Middleware } from 'koa';
import { HEADERS, METRICS, OPERATIONAL_PATHS } from '../contract';
import type { HttpMetrics } from './http-metrics';
import type { Logger } from './logger';
import type { Readiness } from './readiness';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The request's id: the incoming `x-request-id` when well-formed, otherwise a new UUID. */
export function requestId(ctx: Context): string {
  const incoming = ctx.get(HEADERS.requestId);
  return REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * The status of a request whose client closed the connection before the answer (nginx's 499, which proxies and
 * dashboards know): counted and logged as such, not as the 200 the handler would have sent, nor as a server error.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** Aborted when the request's client closes the connection before the response is sent: `ctx.state.clientClosed`. */
export function clientClosedSignal(ctx: Context): AbortSignal | undefined {
  return ctx.state.clientClosed as AbortSignal | undefined;
}

/** The route template the router matched, or `unmatched`. */
export function routeOf(ctx: Context): string {
  const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  return matched === undefined ? METRICS.unmatchedRoute : String(matched);
}

/** What {@link observeRequests} reports to and reads. */
export interface ObserveOptions {
  /** Where the access-log lines go. */
  readonly logger: Logger;
  /** Where requests are counted and timed. */
  readonly metrics: HttpMetrics;
  /** Once not ready, responses ask the client to close the connection. */
  readonly readiness: Readiness;
}

/**
 * The outermost middleware: sets `X-Trace-ID`, `X-Request-ID` and `X-Content-Type-Options: nosniff` on the
 * response, then, once the response is final, records the request in the metrics and writes the access-log line
 * (with the trace id, via the logger's mixin), and names the server span by its route. `ctx.state.requestId` holds
 * the request id for handlers.
 */
export function observeRequests({ logger, metrics, readiness }: ObserveOptions): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const id = requestId(ctx);
    ctx.state.requestId = id;
    ctx.set(HEADERS.requestId, id);
    ctx.set('X-Content-Type-Options', 'nosniff');
    const spanContext = trace.getActiveSpan()?.spanContext();
    const traced = spanContext !== undefined && isSpanContextValid(spanContext);
    if (traced) ctx.set(HEADERS.traceId, spanContext.traceId);
    // the response closes unfinished only when the client went away: handlers stop their work for it (calls upstream).
    // First among the listeners: the http instrumentation ends the server span on this event, with the status and
    // route it finds then (Koa's default 404 and none, unless set here)
    const closed = new AbortController();
    const rpc = getRPCMetadata(context.active());
    ctx.res.prependOnceListener('close', () => {
      if (ctx.res.writableFinished) return;
      ctx.res.statusCode = CLIENT_CLOSED_REQUEST;
      nameServerSpan(rpc, routeOf(ctx));
      closed.abort();
    });
    ctx.state.clientClosed = closed.signal;
    try {
      await next();
    } finally {
      if (closed.signal.aborted) ctx.status = CLIENT_CLOSED_REQUEST;
      // checked once the response is ready, so that requests in flight at SIGTERM free their connection too
      if (!readiness.ready) ctx.set('Connection', 'close');
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf(ctx);
      if (traced) nameServerSpan(rpc, route);
      const operational = OPERATIONAL_PATHS.has(route);
      if (!operational) {
        const sampled = traced && (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
        metrics.record({ method: ctx.method, route, status: ctx.status, seconds, traceId: sampled ? spanContext.traceId : undefined });
      }
      logger[operational ? 'debug' : 'info']({
        method: ctx.method,
        route,
        path: ctx.path,
        query: optional(ctx.querystring),
        status: ctx.status,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        request_id: id,
        user_agent: optional(ctx.get('user-agent')),
        ip: ctx.ip,
        ...(logger.isLevelEnabled('debug') ? { headers: ctx.headers } : {}),
      }, 'request');
    }
  };
}

/**
 * Gives the request's server span its route (`rpc`: the request's metadata, read in its context): the http
 * instrumentation then sets `http.route` and names the span `GET /api/flight/timetable` when the response ends (what
 * the koa instrumentation would do, without its extra span). An unmatched request keeps the plain method.
 */
function nameServerSpan(rpc: RPCMetadata | undefined, route: string): void {
  if (rpc?.type === RPCType.HTTP && route !== METRICS.unmatchedRoute) rpc.route = route;
}

function optional(value: string): string | undefined {
  return value === '' ? undefined : value;
}
