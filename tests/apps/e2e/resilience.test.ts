// Failure cases with real processes: no collector, no backend, a slow backend, a crash, SIGTERM during a request.
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, parseAllDocuments } from 'yaml';
import { OtlpReceiver, ReceivedSpan, SpanKind } from '../support/otlp-receiver';
import { LogLine, ServiceProcess, startServiceProcess } from '../support/service-process';
import { DOWN_PORT } from '../../support/ports';
import { waitFor } from '../../support/wait';
import { StubServer } from '../support/stub-server';
import { SECRETS, leakedIn } from '../../support/privacy-fixtures';
import { BACKEND_PATHS } from '../../../apps/shared/backend-api';
import { parseDuration } from '../../../lib/rollout/duration';
import { DEFAULT_KEEP_ALIVE_TIMEOUT } from '../../../lib/constructs/canary-service';

const started: Array<ServiceProcess | StubServer | OtlpReceiver> = [];

async function track<T extends ServiceProcess | StubServer | OtlpReceiver>(thing: Promise<T>): Promise<T> {
  const value = await thing;
  started.push(value);
  return value;
}

afterAll(async () => {
  await Promise.all(started.map(async thing => (thing instanceof ServiceProcess ? thing.stop('SIGKILL') : thing.close())));
});

describe('collector unreachable', () => {
  let backend: ServiceProcess;
  let gateway: ServiceProcess;

  beforeAll(async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${DOWN_PORT}`, OTEL_EXPORTER_OTLP_TIMEOUT: '1000' };
    backend = await track(startServiceProcess('backend', { env }));
    gateway = await track(startServiceProcess('gateway', { env: { ...env, BACKEND_URL: backend.url } }));
  }, 60_000);

  const exportWarnings = (service: ServiceProcess) => service.linesWhere(l => l.level === 'warn' && l.component === 'opentelemetry');

  /**
   * How long after its answer the service closes an idle keep-alive connection, in ms; Infinity when it has not by
   * `waitMs` (a server that keeps idle connections open has no race with the sidecars).
   */
  async function idleCloseMs(service: ServiceProcess, waitMs: number): Promise<number> {
    const { hostname, port } = new URL(service.url);
    const socket = net.connect(Number(port), hostname);
    let head = '';
    let answeredAt = 0;
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString();
      if (answeredAt === 0 && head.includes('\r\n\r\n')) answeredAt = Date.now();
    });
    socket.write(`GET /healthz HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
    const closed = await Promise.race([once(socket, 'close').then(() => true), sleep(waitMs, false)]);
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    return closed ? Date.now() - answeredAt : Number.POSITIVE_INFINITY;
  }

  test('an idle connection stays open as long as the service file says, longer than the sidecars keep theirs', async () => {
    const rendered = parseAllDocuments(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'dist', 'local', 'apps', 'manifest.yaml'), 'utf8'))
      .map(d => d.toJS());
    const idleTimeout = (name: string): number =>
      parseDuration(rendered.find(o => o?.kind === 'DestinationRule' && o.metadata.name === name).spec.trafficPolicy.connectionPool.http.idleTimeout);
    const declared = (name: string): number => {
      const file = parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'services', `${name}.yaml`), 'utf8'));
      return file.keepAliveTimeout ? parseDuration(file.keepAliveTimeout) : DEFAULT_KEEP_ALIVE_TIMEOUT.toMilliseconds();
    };
    const services = { backend, gateway };
    const closes = await Promise.all(Object.values(services).map(s => idleCloseMs(s, declared(s.name) + 3000)));
    for (const [i, name] of Object.keys(services).entries()) {
      // the file is true of the server; the sidecars let go first (else they send on a closing connection: a 503 UC)
      expect([name, Number.isFinite(closes[i])]).toEqual([name, true]);
      expect(closes[i]).toBeGreaterThanOrEqual(declared(name));
      expect(idleTimeout(name)).toBeLessThan(declared(name));
    }
  }, 30_000);

  test('requests keep succeeding and each service logs one warning, not one per batch', async () => {
    const statuses: number[] = [];
    const wave = async () => {
      for (let i = 0; i < 10; i++) statuses.push((await fetch(`${gateway.url}/api/flight/routes?departure=ICN`)).status);
    };
    await wave();
    const warning = await gateway.waitForLog(l => l.level === 'warn' && l.component === 'opentelemetry', 'export warning');
    await backend.waitForLog(l => l.level === 'warn' && l.component === 'opentelemetry', 'export warning');
    expect(warning.msg).toMatch(/span export failed/);
    expect(warning.trace_id).toBeUndefined();
    // more batches fail after the first warning (100 ms batch delay, 1 s export timeout): none may log again
    for (let i = 0; i < 3; i++) {
      await wave();
      await sleep(700);
    }
    expect(statuses).toHaveLength(40);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(exportWarnings(gateway)).toHaveLength(1);
    expect(exportWarnings(backend)).toHaveLength(1);
    expect(gateway.linesWhere(l => l.level === 'error')).toEqual([]);
    expect(gateway.stderr).toBe('');
  }, 60_000);
});

test('a stuck collector: the span queue drops what does not fit, and OTEL_LOG_LEVEL routes SDK diagnostics to the JSON log', async () => {
  const blackhole = net.createServer(() => undefined); // accepts connections, never answers
  await new Promise<void>(resolve => blackhole.listen(0, '127.0.0.1', resolve));
  try {
    const backend = await track(startServiceProcess('backend', {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(blackhole.address() as net.AddressInfo).port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '1500',
        OTEL_BSP_MAX_QUEUE_SIZE: '16', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '8', OTEL_LOG_LEVEL: 'warn',
      },
    }));
    const isDropWarning = (l: LogLine) => l.level === 'warn' && /Dropped \d+ spans because maxQueueSize reached/.test(String(l.msg));
    // the SDK reports drops when the next span fits again, i.e. after an export timed out: keep the traffic going
    await waitFor(async () => {
      for (let i = 0; i < 10; i++) expect((await fetch(`${backend.url}/v1/airports`)).status).toBe(200);
      return backend.logs.some(isDropWarning);
    }, { what: 'a dropped-spans warning', timeoutMs: 20_000 });
    const dropped = backend.logs.find(isDropWarning) as LogLine;
    expect(dropped.service).toBe('backend');
    expect(dropped.component).toBe('opentelemetry');
    expect(dropped.trace_id).toBeUndefined();
  } finally {
    blackhole.close();
  }
}, 60_000);

describe('backend failures', () => {
  let gatewayToNowhere: ServiceProcess;
  let gatewayToSlow: ServiceProcess;
  let hanging: StubServer;

  beforeAll(async () => {
    hanging = await track(StubServer.start(() => new Promise(() => undefined)));
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: (await track(OtlpReceiver.start())).endpoint };
    [gatewayToNowhere, gatewayToSlow] = await Promise.all([
      track(startServiceProcess('gateway', { env: { ...env, BACKEND_URL: `http://127.0.0.1:${DOWN_PORT}` } })),
      track(startServiceProcess('gateway', { env: { ...env, BACKEND_URL: hanging.url, BACKEND_TIMEOUT_MS: '500' } })),
    ]);
  }, 60_000);

  test('backend down → 502 backend_unavailable, logged as an error with the trace id', async () => {
    const response = await fetch(`${gatewayToNowhere.url}/api/flight/airports`);
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ error: { code: 'backend_unavailable', message: 'the backend is unreachable' } });
    const traceId = response.headers.get('x-trace-id');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const line = await gatewayToNowhere.waitForLog(l => l.level === 'error' && l.trace_id === traceId, 'error line of the 502');
    expect(JSON.stringify(line.err)).toMatch(/ECONNREFUSED|fetch failed/);
  });

  test('slow backend → 504 backend_timeout after BACKEND_TIMEOUT_MS, logged with the trace id', async () => {
    const start = Date.now();
    const response = await fetch(`${gatewayToSlow.url}/api/flight/timetable?dep=GMP&arr=CJU`);
    const elapsed = Date.now() - start;
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ error: { code: 'backend_timeout', message: 'the backend did not answer within 500 ms' } });
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(4000);
    const traceId = response.headers.get('x-trace-id');
    await gatewayToSlow.waitForLog(l => l.level === 'error' && l.trace_id === traceId && l.status === 504, 'error line of the 504');
    await gatewayToSlow.waitForLog(l => l.msg === 'request' && l.trace_id === traceId && l.status === 504, 'access line of the 504');
  });
});

test.each(['throw', 'reject'])('a bug nothing catches (%s): one fatal JSON line with the error, redacted, the spans flushed, and exit 1', async mode => {
  const receiver = await track(OtlpReceiver.start());
  const backend = await track(startServiceProcess('backend', {
    env: {
      NODE_OPTIONS: `--require ${path.join(__dirname, '..', 'fixtures', 'crash-on-signal.cjs')}`, CRASH: mode, CRASH_TOKEN: SECRETS.accessToken,
      // the spans before the crash would wait a minute for their batch: only the flush on the crash delivers them
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '60000',
    },
  }));
  const before = await fetch(`${backend.url}${BACKEND_PATHS.airports}`);
  expect(before.status).toBe(200);
  backend.child.kill('SIGUSR2');
  expect(await backend.exited).toBe(1);
  expect(receiver.trace(before.headers.get('x-trace-id') ?? '').filter(s => s.kind === SpanKind.SERVER)).toHaveLength(1);
  const fatal = backend.linesWhere(l => l.level === 'fatal');
  expect(fatal).toEqual([expect.objectContaining({
    msg: 'crashed: an error nothing caught', origin: mode === 'throw' ? 'uncaughtException' : 'unhandledRejection',
    err: expect.objectContaining({ message: 'boom: a bug nothing caught', stack: expect.stringContaining('crash-on-signal.cjs') }),
  })]);
  // and nothing in plain text; the credential the error carried is redacted like any other field's
  expect(backend.stderr).not.toContain('boom');
  expect(JSON.stringify(fatal[0].err)).toContain('access_token=[redacted]');
  expect(leakedIn(JSON.stringify(backend.logs) + backend.stderr)).toEqual([]);
});

/**
 * An OTLP receiver, a stub backend answering after `delayMs` or never (`null`: no timer outlives the test), and the
 * real gateway between them, with `env` added.
 */
async function gatewayToSlowBackend(delayMs: number | null, env: Record<string, string>) {
  const receiver = await track(OtlpReceiver.start());
  const slow = await track(StubServer.start(async () => {
    if (delayMs === null) return new Promise<never>(() => undefined);
    await sleep(delayMs);
    return { status: 200, body: { airports: [] } };
  }));
  const gateway = await track(startServiceProcess('gateway', { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, BACKEND_URL: slow.url, ...env } }));
  return { receiver, slow, gateway };
}

test('a client that goes away: its server span, log line and metric all say 499 on the route, and the backend call is cancelled', async () => {
  // a backend that answers only after the client has given up
  const { receiver, gateway } = await gatewayToSlowBackend(3000, { OTEL_BSP_SCHEDULE_DELAY: '100', BACKEND_TIMEOUT_MS: '20000' });
  await expect(fetch(`${gateway.url}/api/flight/airports`, { signal: AbortSignal.timeout(500) })).rejects.toThrow();
  const line = await gateway.waitForLog(l => l.msg === 'request' && l.route === '/api/flight/airports', 'the access line');
  expect(line.status).toBe(499);
  const ofKind = (all: readonly ReceivedSpan[], kind: number) => all.find(s => s.traceId === line.trace_id && s.kind === kind);
  const spans = await receiver.waitForSpans(all => ofKind(all, SpanKind.SERVER) !== undefined && ofKind(all, SpanKind.CLIENT) !== undefined);
  expect(ofKind(spans, SpanKind.SERVER)).toMatchObject({
    name: 'GET /api/flight/airports', attributes: { 'http.response.status_code': 499, 'http.route': '/api/flight/airports' },
  });
  // the call to the backend was cancelled when the client left: it ended with no answer, where it would have had the
  // backend's 200 three seconds later
  expect(ofKind(spans, SpanKind.CLIENT)!.attributes).not.toHaveProperty('http.response.status_code');
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  expect(metrics).toMatch(/http_requests_total\{[^}]*route="\/api\/flight\/airports"[^}]*status_code="499"[^}]*\} 1/);
});

test('SIGTERM with a request that outlasts the drain: its connection is cut, and it still ends as a 499 that is logged and exported', async () => {
  // a backend that never answers, so the request outlasts the drain (SHUTDOWN.drainTimeoutMs), and spans that only the
  // shutdown flush delivers
  const { receiver, slow, gateway } = await gatewayToSlowBackend(null, {
    OTEL_BSP_SCHEDULE_DELAY: '60000', SHUTDOWN_DELAY_MS: '100', BACKEND_TIMEOUT_MS: '60000',
  });
  const cut = fetch(`${gateway.url}/api/flight/airports`, { headers: { 'x-request-id': 'cut-at-drain' } }).catch((error: Error) => error);
  await waitFor(() => slow.requests.length > 0, { what: 'the request to reach the stub backend' });
  gateway.child.kill('SIGTERM');
  expect(await gateway.exited).toBe(0);
  // no answer: the connection was cut (fetch's own TypeError, from another realm than this test's)
  expect(String(await cut)).toBe('TypeError: fetch failed');
  const messages = gateway.logs.map(l => l.msg);
  expect(messages.indexOf('in-flight requests did not finish in time, closing their connections')).toBeGreaterThan(-1);
  // the access line comes before the flush and the exit, not never
  const line = gateway.logs.find(l => l.msg === 'request' && l.request_id === 'cut-at-drain');
  expect(line).toMatchObject({ status: 499, route: '/api/flight/airports' });
  expect(gateway.logs.indexOf(line!)).toBeLessThan(messages.indexOf('stopped'));
  expect(receiver.trace(String(line!.trace_id)).filter(s => s.kind === SpanKind.SERVER).map(s => s.attributes['http.response.status_code'])).toEqual([499]);
}, 60_000);

test('SIGTERM, even twice: readiness false at once, the in-flight request completes, spans are flushed, exit 0', async () => {
  // spans would wait a minute for the next batch: only the shutdown flush can deliver them in time
  const { receiver, slow, gateway } = await gatewayToSlowBackend(1500, { OTEL_BSP_SCHEDULE_DELAY: '60000', SHUTDOWN_DELAY_MS: '400' });
  const inFlight = fetch(`${gateway.url}/api/flight/airports`);
  await waitFor(() => slow.requests.length > 0, { what: 'the request to reach the stub backend' });
  const signalled = Date.now();
  gateway.child.kill('SIGTERM');
  await gateway.waitForLog(l => l.msg === 'shutting down: readiness is false', 'shutdown line');
  const readyz = await fetch(`${gateway.url}/readyz`);
  expect(readyz.status).toBe(503);
  // a second signal (a preStop hook and the kubelet, a double Ctrl-C) must not cut the drain short
  gateway.child.kill('SIGTERM');
  await gateway.waitForLog(l => l.msg === 'already shutting down', 'the second signal, ignored');

  const response = await inFlight;
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ airports: [] });
  expect(await gateway.exited).toBe(0);
  expect(Date.now() - signalled).toBeLessThan(8000);
  const traceId = response.headers.get('x-trace-id') ?? '';
  expect(receiver.trace(traceId).filter(s => s.kind === SpanKind.SERVER)).toHaveLength(1);
  expect(gateway.logs.at(-1)?.msg).toBe('stopped');
}, 60_000);

