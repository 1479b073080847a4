import { Context, context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { DestinationStream, Logger } from 'pino';
import { scrub, scrubField } from './redact';

export type { Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** `service` field of every line. */
  readonly service: string;
  /** Minimum level. @default 'info' */
  readonly level?: string;
  /** Extra fields on every line, e.g. `version`. @default - none */
  readonly base?: Readonly<Record<string, string>>;
  /** Where lines go. @default - stdout, synchronously */
  readonly destination?: DestinationStream;
}

/** Trace fields of a log line. */
export interface TraceFields {
  /** 32-hex trace id. */
  readonly trace_id: string;
  /** 16-hex span id. */
  readonly span_id: string;
  /** `01` when sampled, `00` otherwise. */
  readonly trace_flags: string;
}

/** The trace fields of the span active in `ctx`, or none outside a span; a new object each time (pino merges into it). */
export function traceFields(ctx: Context = context.active()): TraceFields | Record<string, never> {
  const span = trace.getSpan(ctx);
  if (span === undefined) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: spanContext.traceFlags.toString(16).padStart(2, '0'),
  };
}

/** Fields of a line that are the SDK's hex ids, never a client's text. */
const TRACE_KEYS: ReadonlySet<string> = new Set<keyof TraceFields>(['trace_id', 'span_id', 'trace_flags']);

/**
 * A line's fields scrubbed (`redact.ts`), except the trace fields: a span id is 16 hex digits, and one made of decimal
 * digits only can look like a card number, which would cut the line off from its trace.
 */
function scrubLogFields(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    out[key] = TRACE_KEYS.has(key) ? value : scrubField(key, value);
  }
  return out;
}

/**
 * A pino logger writing one JSON object per line: string `level`, ISO `time`, `msg`, `service`, the active span's
 * `trace_id`/`span_id` (a mixin, so it works however modules were loaded), and secrets and e-mail addresses redacted
 * (see `redact.ts`).
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      mixin: () => traceFields(),
      // `scrub` already turned errors into plain objects; pino's error serializer would relabel them as `Object`
      serializers: { err: (error: unknown) => error },
      formatters: {
        level: label => ({ level: label }),
        log: scrubLogFields,
      },
      hooks: {
        logMethod(args, method) {
          // the message string is not part of the object `formatters.log` sees
          method.apply(this, args.map(arg => (typeof arg === 'string' ? scrub(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * The logger of a crash: `logger`'s fields, redaction and destination at level `fatal`, whatever `logger`'s own level
 * (`LOG_LEVEL=silent` would otherwise leave no trace of a crash at all).
 */
export function crashLogger(logger: Logger): Logger {
  return logger.child({}, { level: 'fatal' });
}
