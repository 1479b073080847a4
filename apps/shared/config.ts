import { ENV, ENV_DEFAULTS, OTEL_ENV, TRACKS, Track } from '../contract';

/** Environment variables as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The pino levels `LOG_LEVEL` accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino level name. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Settings every service reads from its environment. */
export interface ServiceConfig {
  /** Listening port; 0 picks a free one. */
  readonly port: number;
  /** The track (`APP_VERSION`). */
  readonly version: Track;
  /** The log level (`LOG_LEVEL`). */
  readonly logLevel: LogLevel;
  /** Milliseconds of readiness-false serving between SIGTERM and closing the listener (`SHUTDOWN_DELAY_MS`). */
  readonly shutdownDelayMs: number;
  /** Proxies whose `X-Forwarded-For` entries are trusted (`TRUSTED_PROXY_COUNT`). */
  readonly trustedProxyCount: number;
  /** The sampler the SDK builds (`OTEL_TRACES_SAMPLER`, with `OTEL_TRACES_SAMPLER_ARG` checked): read here to be checked. */
  readonly tracesSampler: TracesSampler;
}

/**
 * The samplers the Node.js SDK builds from `OTEL_TRACES_SAMPLER`; for any other name it samples every trace, saying so
 * only through its own diagnostics (off by default).
 */
export const TRACE_SAMPLERS = [
  'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio',
] as const;

/** A sampler name the SDK builds. */
export type TracesSampler = (typeof TRACE_SAMPLERS)[number];

/** The most proxies `TRUSTED_PROXY_COUNT` accepts: a request crosses a handful, not more. */
export const MAX_TRUSTED_PROXIES = 10;

/** Reads the settings common to both services; throws a message naming the variable, the value and what is allowed. */
export function readServiceConfig(env: Env, defaultPort: number): ServiceConfig {
  return {
    port: readInteger(env, ENV.port, defaultPort, 0, 65535),
    version: readChoice(env, ENV.appVersion, TRACKS, ENV_DEFAULTS.appVersion),
    logLevel: readChoice(env, ENV.logLevel, LOG_LEVELS, ENV_DEFAULTS.logLevel),
    shutdownDelayMs: readInteger(env, ENV.shutdownDelayMs, ENV_DEFAULTS.shutdownDelayMs, 0, 60_000),
    trustedProxyCount: readTrustedProxyCount(env),
    tracesSampler: readTracesSampler(env),
  };
}

/**
 * Checks `OTEL_TRACES_SAMPLER` and, for a ratio sampler, `OTEL_TRACES_SAMPLER_ARG` (a number from 0 to 1), which the
 * SDK reads itself: on a mistake (`0,1`, a misspelt name) it would sample every trace, ten times the spans of a 10 %
 * setting, without a word. Throws a message naming the variable, the value and what is allowed.
 */
export function readTracesSampler(env: Env): TracesSampler {
  const sampler = readChoice(env, OTEL_ENV.tracesSampler, TRACE_SAMPLERS, 'parentbased_always_on');
  const raw = env[OTEL_ENV.tracesSamplerArg];
  // a number as the SDK reads one (Number(), so 1e-4 too), within its range
  const ratio = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  if (sampler.endsWith('traceidratio') && !(ratio >= 0 && ratio <= 1)) {
    throw new Error(`${OTEL_ENV.tracesSamplerArg} must be a number from 0 to 1 (the share of traces ${sampler} keeps), `
      + `got ${raw === undefined ? 'none' : `"${raw}"`}`);
  }
  return sampler;
}

/** Reads `TRUSTED_PROXY_COUNT`: an integer from 0 to {@link MAX_TRUSTED_PROXIES}, default 0. */
export function readTrustedProxyCount(env: Env): number {
  return readInteger(env, ENV.trustedProxyCount, ENV_DEFAULTS.trustedProxyCount, 0, MAX_TRUSTED_PROXIES);
}

/** Reads an integer variable within `[min, max]`, or the fallback when unset or empty. */
export function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** Reads a variable that must be one of `choices`, or the fallback when unset or empty. */
export function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new Error(`${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** Reads an absolute http(s) URL without a trailing slash, or the fallback when unset or empty. */
export function readHttpUrl(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${name} must be an absolute http(s) URL such as http://backend:8081, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${name} must use http or https, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}
