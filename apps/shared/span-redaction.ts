import type { IncomingMessage } from 'node:http';
import type { Attributes, Link } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter, TimedEvent } from '@opentelemetry/sdk-trace';
import { scrub, scrubText } from './redact';

// Spans leave the process for the trace store, where they stay for days and reach more people than the logs. They
// are held to the log rules (redact.ts) twice: where they are made, the HTTP instrumentations record the query, URL
// and user agent only scrubbed (the hooks below); where they leave, RedactingSpanExporter scrubs every span's name,
// status message and attributes, and its events' and links' attributes, whatever instrumentation made them.

/**
 * The client's address as Koa computes `ctx.ip` with `app.proxy` on and `app.maxIpsCount = trustedProxies`: of the
 * comma-separated `X-Forwarded-For` entries, the first of the last `trustedProxies` (the one the outermost trusted
 * proxy wrote), else the socket's peer. Entries a client wrote itself stand further left and are never taken.
 */
export function clientAddress(forwardedFor: string | string[] | undefined, socketAddress: string | undefined, trustedProxies: number): string {
  if (trustedProxies > 0 && forwardedFor !== undefined) {
    const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map(entry => entry.trim());
    const trusted = entries.slice(-trustedProxies)[0];
    if (trusted) return trusted;
  }
  return socketAddress ?? '';
}

/**
 * Attributes that replace the http instrumentation's own on a server span (its `startIncomingSpanHook`): the query
 * and user agent scrubbed as in the access log, and `client.address` by {@link clientAddress}, where the
 * instrumentation would take the first `Forwarded`/`X-Forwarded-For` entry, which any client can write.
 */
export function incomingSpanAttributes(request: Pick<IncomingMessage, 'url' | 'headers' | 'socket'>, trustedProxies: number): Attributes {
  const attributes: Attributes = {
    'client.address': clientAddress(request.headers['x-forwarded-for'], request.socket.remoteAddress, trustedProxies),
  };
  const url = request.url ?? '';
  const query = url.indexOf('?');
  if (query !== -1 && query < url.length - 1) attributes['url.query'] = scrubText(url.slice(query + 1));
  const userAgent = request.headers['user-agent'];
  if (userAgent !== undefined && userAgent !== '') attributes['user_agent.original'] = scrubText(userAgent);
  return attributes;
}

/** Attributes that replace the undici instrumentation's own on a client span (its `startSpanHook`): the URL scrubbed. */
export function outgoingSpanAttributes(request: { readonly origin: string; readonly path: string }): Attributes {
  let url: URL;
  try {
    url = new URL(request.path, request.origin);
  } catch {
    return {};
  }
  return { 'url.full': scrubText(url.toString()), ...(url.search === '' ? {} : { 'url.query': scrubText(url.search) }) };
}

function scrubAttributes(attributes: Attributes): Attributes {
  return scrub(attributes) as Attributes;
}

/**
 * A copy of `span` as it may leave the process: name, status message and attributes, and the attributes of its
 * events and links, scrubbed by the log rules. Ids, times, resource and scope are the span's own (the exporter groups
 * spans by resource object).
 */
export function redactSpan(span: ReadableSpan): ReadableSpan {
  const { status } = span;
  return {
    name: scrubText(span.name),
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: status.message === undefined ? status : { ...status, message: scrubText(status.message) },
    attributes: scrubAttributes(span.attributes),
    links: span.links.map((link): Link => (link.attributes ? { ...link, attributes: scrubAttributes(link.attributes) } : link)),
    events: span.events.map((event): TimedEvent => (event.attributes ? { ...event, attributes: scrubAttributes(event.attributes) } : event)),
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** Wraps a span exporter so that only {@link redactSpan} copies reach it. */
export class RedactingSpanExporter implements SpanExporter {
  /** @param inner the exporter that sends the spans */
  constructor(private readonly inner: SpanExporter) {}

  /** Exports the redacted copies. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans.map(redactSpan), resultCallback);
  }

  /** Shuts the inner exporter down. */
  async shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  /** Flushes the inner exporter. */
  async forceFlush(): Promise<void> {
    return this.inner.forceFlush?.();
  }
}
