import type { IncomingMessage } from 'node:http';
import { Context, DiagLogger, ROOT_CONTEXT, TextMapGetter, TextMapPropagator, context, diag, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator, diagLogLevelFromString } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { envDetector, hostDetector, processDetector } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ENV, ENV_DEFAULTS, OPERATIONAL_PATHS, OTEL_ENV, ServiceName } from '../contract';
import { Env, LOG_LEVELS, readTrustedProxyCount } from './config';
import { ReportingSpanExporter } from './export-reporter';
import { Logger, createLogger } from './logger';
import { onShutdown } from './shutdown-hooks';
import { RedactingSpanExporter, incomingSpanAttributes, outgoingSpanAttributes } from './span-redaction';

/** The OTLP endpoint the exporter uses when none is configured (the OTLP default for gRPC). */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4317';

/** Whether an incoming request is a probe or scrape, which would only add noise and cost to traces. */
export function isUntracedRequest(request: Pick<IncomingMessage, 'url'>): boolean {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  return OPERATIONAL_PATHS.has(query === -1 ? url : url.slice(0, query));
}

/** The trace endpoint the OTLP exporter resolves from the environment, for log lines. */
export function otlpTraceEndpoint(env: Env): string {
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env[OTEL_ENV.exporterEndpoint] ?? DEFAULT_OTLP_ENDPOINT;
}

/**
 * W3C trace context without the caller's `tracestate`: its vendor entries are free text a client chooses (a token, an
 * e-mail address), which the span context would carry into every exported span and every later hop. `traceparent`
 * is read and written as usual; a `tracestate` is written only when this process set one itself.
 */
class TraceParentPropagator extends W3CTraceContextPropagator {
  public override extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const extracted = super.extract(ctx, carrier, getter);
    const spanContext = trace.getSpanContext(extracted);
    if (!spanContext?.traceState) return extracted;
    const { traceState: _dropped, ...rest } = spanContext;
    return trace.setSpanContext(extracted, rest);
  }
}

/**
 * The propagator of both services: W3C trace context only. The SDK's default (`OTEL_PROPAGATORS` unset) also reads
 * and writes W3C `baggage`, which would carry whatever a client puts in that header from the gateway to the backend
 * and into every later hop; neither service uses baggage, so none is read and none is sent; an incoming `tracestate`
 * is dropped for the same reason ({@link TraceParentPropagator}). An explicit propagator also makes the SDK ignore
 * `OTEL_PROPAGATORS`.
 */
export function createPropagator(): TextMapPropagator {
  return new TraceParentPropagator();
}

/** `TRUSTED_PROXY_COUNT`, or 0 (trust no `X-Forwarded-For` entry) when it is invalid: main then reports it and exits. */
function trustedProxyCountOrNone(env: Env): number {
  try {
    return readTrustedProxyCount(env);
  } catch {
    return 0;
  }
}

/**
 * Starts the OpenTelemetry SDK for `service`: traces only, exported in batches over OTLP gRPC; http (incoming) and
 * undici (global fetch) instrumentation, so one server span per request and one client span per backend call; W3C
 * trace context only (no baggage, see {@link createPropagator}); the resource from `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES`, host and process; the sampler from `OTEL_TRACES_SAMPLER`/`_ARG`; batch limits from
 * `OTEL_BSP_*`. Spans hold no secrets (span-redaction.ts): the instrumentations record the query, URL and user agent
 * scrubbed as the logs are, `client.address` trusts `TRUSTED_PROXY_COUNT` proxies as Koa's `ctx.ip` does, no headers
 * are recorded, and the exporter scrubs every span once more. Registers the span flush as a shutdown hook.
 *
 * Must run before koa is loaded: services preload their `otel` module with `node --require`.
 */
export function startTracing(service: ServiceName, env: Env): NodeSDK {
  // main reports a bad LOG_LEVEL or TRUSTED_PROXY_COUNT as its one fatal line; the preload must not crash before that
  const level = (LOG_LEVELS as readonly string[]).includes(env[ENV.logLevel] ?? '') ? env[ENV.logLevel] : ENV_DEFAULTS.logLevel;
  const trustedProxies = trustedProxyCountOrNone(env);
  const logger = createLogger({ service, level, base: { component: 'opentelemetry' } });
  const exporter = new ReportingSpanExporter(new RedactingSpanExporter(new OTLPTraceExporter()), logger, otlpTraceEndpoint(env));
  const sdk = new NodeSDK({
    // an explicit serviceName would override OTEL_SERVICE_NAME, so only fill the gap
    serviceName: env[OTEL_ENV.serviceName] === undefined ? service : undefined,
    resourceDetectors: [envDetector, hostDetector, processDetector],
    textMapPropagator: createPropagator(),
    // a trace exporter (not span processors) makes the SDK build its batch processor from OTEL_BSP_*
    traceExporter: exporter,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // outgoing calls use fetch, which the undici instrumentation covers; no headersToSpanAttributes on either:
      // request headers carry cookies and credentials
      new HttpInstrumentation({
        ignoreIncomingRequestHook: isUntracedRequest,
        disableOutgoingRequestInstrumentation: true,
        startIncomingSpanHook: request => incomingSpanAttributes(request, trustedProxies),
      }),
      // no koa instrumentation: its router span repeated the server span's route and timing, and cost as much as
      // the server span itself; observeRequests names the server span by its route instead (bench/overhead)
      new UndiciInstrumentation({ startSpanHook: outgoingSpanAttributes }),
    ],
  });
  routeDiagnostics(logger, env[OTEL_ENV.logLevel]);
  sdk.start();
  onShutdown('opentelemetry', async () => {
    try {
      await sdk.shutdown();
    } catch (error) {
      // a failed final export was already reported by the exporter: one warning, not two
      if (exporter.healthy) throw error;
    }
  });
  return sdk;
}

/**
 * Sends the SDK's own diagnostics, if `OTEL_LOG_LEVEL` asks for them, to the JSON log instead of the console; outside
 * any request's context, since the SDK's timers run in whichever request context started them.
 */
function routeDiagnostics(logger: Logger, level: string | undefined): void {
  if (level === undefined || level === '') return;
  const log = (method: 'error' | 'warn' | 'info' | 'debug' | 'trace'): DiagLogger[keyof DiagLogger] => (message: string, ...args: unknown[]) =>
    context.with(ROOT_CONTEXT, () => logger[method]({ args: args.length === 0 ? undefined : args }, message));
  const diagLogger: DiagLogger = { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug'), verbose: log('trace') };
  diag.setLogger(diagLogger, { logLevel: diagLogLevelFromString(level), suppressOverrideMessage: true });
}
