import type { IncomingMessage } from 'node:http';
import { DiagLogger, ROOT_CONTEXT, context, diag } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator, diagLogLevelFromString } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { envDetector, hostDetector, processDetector } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ENV, ENV_DEFAULTS, OPERATIONAL_PATHS, OTEL_ENV, ServiceName } from '../contract';
import { Env, LOG_LEVELS } from './config';
import { ReportingSpanExporter } from './export-reporter';
import { Logger, createLogger } from './logger';
import { onShutdown } from './shutdown-hooks';

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
 * Starts the OpenTelemetry SDK for `service`: traces only, exported in batches over OTLP gRPC; http (incoming) and
 * undici (global fetch) instrumentation, so one server span per request and one client span per backend call; W3C
 * trace context and baggage; the resource from `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, host and process; the
 * sampler from `OTEL_TRACES_SAMPLER`/`_ARG`; batch limits from `OTEL_BSP_*`. Registers the span flush as a shutdown hook.
 *
 * Must run before koa is loaded: services preload their `otel` module with `node --require`.
 */
export function startTracing(service: ServiceName, env: Env): NodeSDK {
  // main reports a bad LOG_LEVEL as its one fatal line; the preload must not crash before that
  const level = (LOG_LEVELS as readonly string[]).includes(env[ENV.logLevel] ?? '') ? env[ENV.logLevel] : ENV_DEFAULTS.logLevel;
  const logger = createLogger({ service, level, base: { component: 'opentelemetry' } });
  const exporter = new ReportingSpanExporter(new OTLPTraceExporter(), logger, otlpTraceEndpoint(env));
  const sdk = new NodeSDK({
    // an explicit serviceName would override OTEL_SERVICE_NAME, so only fill the gap
    serviceName: env[OTEL_ENV.serviceName] === undefined ? service : undefined,
    resourceDetectors: [envDetector, hostDetector, processDetector],
    textMapPropagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    // a trace exporter (not span processors) makes the SDK build its batch processor from OTEL_BSP_*
    traceExporter: exporter,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // outgoing calls use fetch, which the undici instrumentation covers
      new HttpInstrumentation({ ignoreIncomingRequestHook: isUntracedRequest, disableOutgoingRequestInstrumentation: true }),
      // no koa instrumentation: its router span repeated the server span's route and timing, and cost as much as
      // the server span itself; observeRequests names the server span by its route instead (bench/overhead)
      new UndiciInstrumentation(),
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
