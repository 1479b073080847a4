import { readHttpUrl, readServiceConfig } from '../../../apps/shared/config';

describe('readServiceConfig', () => {
  test('defaults: the service port, stable, info, a 5 s shutdown delay, no trusted proxy', () => {
    expect(readServiceConfig({}, 8081)).toEqual({
      port: 8081, version: 'stable', logLevel: 'info', shutdownDelayMs: 5000, trustedProxyCount: 0, tracesSampler: 'parentbased_always_on',
    });
  });

  test('reads PORT, APP_VERSION, LOG_LEVEL, SHUTDOWN_DELAY_MS and TRUSTED_PROXY_COUNT', () => {
    expect(readServiceConfig({ PORT: '0', APP_VERSION: 'canary', LOG_LEVEL: 'debug', SHUTDOWN_DELAY_MS: '0', TRUSTED_PROXY_COUNT: '2' }, 8080))
      .toEqual({ port: 0, version: 'canary', logLevel: 'debug', shutdownDelayMs: 0, trustedProxyCount: 2, tracesSampler: 'parentbased_always_on' });
  });

  test.each(['0', '0.1', '.25', '1', '1.0', '1e-4'])('a ratio sampler takes %s as its share', arg => {
    expect(readServiceConfig({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: arg }, 8080).tracesSampler).toBe('parentbased_traceidratio');
    // the other samplers take no argument
    expect(readServiceConfig({ OTEL_TRACES_SAMPLER: 'always_off', OTEL_TRACES_SAMPLER_ARG: 'x' }, 8080).tracesSampler).toBe('always_off');
  });

  test.each([
    [{ PORT: '80a' }, 'PORT must be an integer from 0 to 65535, got "80a"'],
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535, got "70000"'],
    [{ APP_VERSION: 'v2' }, 'APP_VERSION must be one of stable, canary, got "v2"'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
    [{ SHUTDOWN_DELAY_MS: '-1' }, 'SHUTDOWN_DELAY_MS must be an integer from 0 to 60000, got "-1"'],
    [{ TRUSTED_PROXY_COUNT: '11' }, 'TRUSTED_PROXY_COUNT must be an integer from 0 to 10, got "11"'],
    [{ TRUSTED_PROXY_COUNT: 'all' }, 'TRUSTED_PROXY_COUNT must be an integer from 0 to 10, got "all"'],
    // the SDK would sample everything, silently
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceid_ratio' }, 'OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, '
      + 'parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got "parentbased_traceid_ratio"'],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0,1' },
      'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (the share of traces parentbased_traceidratio keeps), got "0,1"'],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '10' }, 'got "10"'],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'got "1.5"'],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio' }, 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (the share of traces traceidratio keeps), got none'],
  ])('fails for %j', (env, message) => {
    expect(() => readServiceConfig(env, 8080)).toThrow(message);
  });
});

describe('readHttpUrl', () => {
  test('drops a trailing slash and keeps a path', () => {
    expect(readHttpUrl({ U: 'http://backend:8081/' }, 'U', 'x')).toBe('http://backend:8081');
    expect(readHttpUrl({ U: 'https://b.example/api//' }, 'U', 'x')).toBe('https://b.example/api');
    expect(readHttpUrl({}, 'U', 'http://localhost:8081')).toBe('http://localhost:8081');
  });

  test.each(['backend:8081', 'ftp://backend', 'not a url'])('fails for %s', raw => {
    expect(() => readHttpUrl({ BACKEND_URL: raw }, 'BACKEND_URL', 'x')).toThrow(/^BACKEND_URL must /);
  });
});
