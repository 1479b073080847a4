// Start-up with bad settings: one fatal JSON line naming the problem, exit code 1, no stack trace.
import { ServiceProcess, spawnService } from '../support/service-process';

test.each([
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
  [{ APP_VERSION: 'v2' }, 'APP_VERSION must be one of stable, canary, got "v2"'],
  [{ BACKEND_URL: 'backend:8081' }, 'BACKEND_URL must use http or https, got "backend:8081"'],
  [{ BACKEND_TIMEOUT_MS: '2s' }, 'BACKEND_TIMEOUT_MS must be an integer from 1 to 600000, got "2s"'],
  // the tracing preload reads it too, and must leave the report to main
  [{ TRUSTED_PROXY_COUNT: 'all' }, 'TRUSTED_PROXY_COUNT must be an integer from 0 to 10, got "all"'],
  // the SDK reads it in the preload, and would sample every trace
  [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0,1' }, expect.stringMatching(/^OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 /)],
])('gateway with %j exits 1 after one fatal line', async (env, message) => {
  const child = spawnService('gateway', 'ours', { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const gateway = new ServiceProcess('gateway', child);
  expect(await gateway.exited).toBe(1);
  expect(gateway.logs).toEqual([expect.objectContaining({ level: 'fatal', service: 'gateway', msg: message })]);
  expect(gateway.stderr).toBe('');
});
