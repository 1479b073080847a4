import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { createApp as createBackendApp } from '../../../apps/backend/src/app';
import { createApp } from '../../../apps/gateway/src/app';
import { createBackendClient } from '../../../apps/gateway/src/backend-client';
import { Served, get, serve } from '../support/http';
import { captureLogger } from '../support/log-capture';
import { DOWN_PORT } from '../../support/ports';
import { StubServer } from '../support/stub-server';
import { waitFor } from '../../support/wait';

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanup.map(async close => close()));
});

/** A gateway app served on loopback, calling `backendUrl`. */
async function gatewayTo(backendUrl: string, timeoutMs = 2000) {
  const captured = captureLogger('gateway');
  const gateway = createApp({ logger: captured.logger, version: 'stable', backend: createBackendClient({ baseUrl: backendUrl, timeoutMs }) });
  const served = await serve(gateway.app);
  cleanup.push(async () => served.close());
  return { ...captured, url: served.url };
}

async function stub(respond: Parameters<typeof StubServer.start>[0]): Promise<StubServer> {
  const server = await StubServer.start(respond);
  cleanup.push(async () => server.close());
  return server;
}

describe('with the real backend app', () => {
  let gateway: Awaited<ReturnType<typeof gatewayTo>>;

  beforeAll(async () => {
    const backend: Served = await serve(createBackendApp({ logger: captureLogger('backend').logger, version: 'stable' }).app);
    cleanup.push(async () => backend.close());
    gateway = await gatewayTo(backend.url);
  });

  test('GET /api/flight/airports answers the backend\'s airports', async () => {
    const { status, body } = await get(`${gateway.url}/api/flight/airports`);
    expect(status).toBe(200);
    expect(body.airports).toContainEqual({ code: 'ICN', name: 'Incheon International Airport', city: 'Seoul', country: 'KR' });
  });

  test('GET /api/flight/routes answers the routes of a departure', async () => {
    const { status, body } = await get(`${gateway.url}/api/flight/routes?departure=ICN`);
    expect(status).toBe(200);
    expect(body.departure).toBe('ICN');
    expect(body.routes).toContainEqual({ arr: 'NRT', daily_flights: 3 });
  });

  test('GET /api/flight/timetable answers the flights of a route', async () => {
    const { status, body } = await get(`${gateway.url}/api/flight/timetable?dep=ICN&arr=GMP`);
    expect(status).toBe(200);
    expect(body.flights).toHaveLength(2);
  });

  test('relays the backend\'s 404 with its code, message and parameter, its hint naming the gateway\'s path', async () => {
    const { status, body } = await get(`${gateway.url}/api/flight/timetable?dep=ICN&arr=SFO`);
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: 'unknown_airport', parameter: 'arr', message: expect.stringMatching(/unknown airport "SFO"/) } });
    expect(body.error.message).toContain('GET /api/flight/airports lists the known ones');
    expect(body.error.message).not.toContain('/v1/');
  });
});

describe('input validation', () => {
  test.each([
    ['/api/flight/routes', 'missing_parameter', 'departure'],
    ['/api/flight/routes?departure=Icn', 'invalid_parameter', 'departure'],
    ['/api/flight/timetable?dep=ICN', 'missing_parameter', 'arr'],
    ['/api/flight/timetable?dep=IC1&arr=GMP', 'invalid_parameter', 'dep'],
  ])('%s → 400 %s for %s, without calling the backend', async (path, code, parameter) => {
    const backend = await stub(async () => ({ status: 200, body: {} }));
    const gateway = await gatewayTo(backend.url);
    const { status, body } = await get(`${gateway.url}${path}`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: { code, parameter, message: expect.any(String) } });
    expect(backend.requests).toEqual([]);
  });
});

describe('backend failures', () => {
  test('backend unreachable → 502 backend_unavailable, logged as an error with the cause', async () => {
    const gateway = await gatewayTo(`http://127.0.0.1:${DOWN_PORT}`);
    const { status, body } = await get(`${gateway.url}/api/flight/airports`);
    expect(status).toBe(502);
    expect(body).toEqual({ error: { code: 'backend_unavailable', message: 'the backend is unreachable' } });
    const errors = gateway.lines.filter(l => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ status: 502, path: '/api/flight/airports', err: { type: 'ApiError', code: 'backend_unavailable' } });
    expect(JSON.stringify(errors[0].err.cause)).toContain('ECONNREFUSED');
  });

  test('backend slower than the timeout → 504 backend_timeout, soon after the timeout', async () => {
    const backend = await stub(() => new Promise(() => undefined));
    const gateway = await gatewayTo(backend.url, 200);
    const start = Date.now();
    const { status, body } = await get(`${gateway.url}/api/flight/airports`);
    expect(Date.now() - start).toBeLessThan(3000);
    expect(status).toBe(504);
    expect(body).toEqual({ error: { code: 'backend_timeout', message: 'the backend did not answer within 200 ms' } });
  });

  test.each([
    [500, { error: { code: 'internal', message: 'boom' } }, 'the backend answered 500'],
    [503, 'not json', 'the backend answered 503 without JSON'],
    [400, { unexpected: true }, 'the backend answered 400'],
    // a canary backend that no longer serves the path, or refuses what the gateway sends: the two disagree, an error
    [404, { error: { code: 'not_found', message: 'no route for GET /v1/airports' } }, 'the backend answered 404'],
    [400, { error: { code: 'invalid_parameter', message: 'bad', parameter: 'departure' } }, 'the backend answered 400'],
  ])('backend answering %s (%j) → 502 backend_error', async (backendStatus, backendBody, message) => {
    const backend = await stub(async () => ({ status: backendStatus, body: backendBody }));
    const gateway = await gatewayTo(backend.url);
    const { status, body } = await get(`${gateway.url}/api/flight/airports`);
    expect(status).toBe(502);
    expect(body).toEqual({ error: { code: 'backend_error', message } });
  });
});

describe('a client that goes away', () => {
  test('cancels the backend call, and is counted and logged as 499, not as the answer it never got', async () => {
    // a backend that never answers, and says when its caller hung up
    let callerLeft!: () => void;
    const left = new Promise<void>(resolve => { callerLeft = resolve; });
    const backend = http.createServer((_req, res) => res.on('close', () => callerLeft()));
    await new Promise<void>(resolve => backend.listen(0, '127.0.0.1', resolve));
    cleanup.push(async () => { backend.closeAllConnections(); await new Promise(resolve => backend.close(resolve)); });
    const gateway = await gatewayTo(`http://127.0.0.1:${(backend.address() as AddressInfo).port}`, 20_000);
    const started = Date.now();
    await expect(fetch(`${gateway.url}/api/flight/airports`, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    await left;
    // long before the gateway's own 20 s budget
    expect(Date.now() - started).toBeLessThan(10_000);
    await waitFor(async () => gateway.lines.some(l => l.msg === 'request' && l.route === '/api/flight/airports'), { what: 'the access-log line' });
    expect(gateway.lines.find(l => l.msg === 'request' && l.route === '/api/flight/airports')).toMatchObject({ status: 499 });
    const metrics = (await get(`${gateway.url}/metrics`)).body as string;
    expect(metrics).toMatch(/http_requests_total\{[^}]*route="\/api\/flight\/airports"[^}]*status_code="499"[^}]*\} 1/);
    expect(metrics).not.toMatch(/http_requests_total\{[^}]*route="\/api\/flight\/airports"[^}]*status_code="(200|404|504)"/);
    expect(gateway.lines.filter(l => l.level === 'error')).toEqual([]);
  });
});

describe('headers to the backend', () => {
  let backend: StubServer;
  let gateway: Awaited<ReturnType<typeof gatewayTo>>;

  beforeAll(async () => {
    backend = await stub(async () => ({ status: 200, body: { airports: [] } }));
    gateway = await gatewayTo(backend.url);
  });

  test('forwards x-canary and the request id, nothing else of the client\'s', async () => {
    const answer = await get(`${gateway.url}/api/flight/airports`, { 'x-canary': 'always', 'x-request-id': 'req-42', authorization: 'Bearer x' });
    expect(answer.headers.get('x-request-id')).toBe('req-42');
    const sent = backend.requests.at(-1)?.headers;
    expect(sent).toMatchObject({ 'x-canary': 'always', 'x-request-id': 'req-42' });
    expect(sent?.authorization).toBeUndefined();
  });

  test('sends no x-canary when the client sent none, and a generated request id', async () => {
    const answer = await get(`${gateway.url}/api/flight/airports`);
    const sent = backend.requests.at(-1)?.headers;
    expect(sent?.['x-canary']).toBeUndefined();
    expect(sent?.['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headers.get('x-request-id')).toBe(sent?.['x-request-id']);
  });

  test('replaces a malformed incoming request id', async () => {
    const answer = await get(`${gateway.url}/api/flight/airports`, { 'x-request-id': 'has spaces and "quotes"' });
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the page', () => {
  let gateway: Awaited<ReturnType<typeof gatewayTo>>;

  beforeAll(async () => {
    gateway = await gatewayTo(`http://127.0.0.1:${DOWN_PORT}`);
  });

  test('GET / serves the HTML page under a strict CSP', async () => {
    const { status, headers, body } = await get(`${gateway.url}/`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(body).toContain('<script src="/app.js" defer></script>');
    expect(body).toContain('id="trace-id"');
  });

  test('GET /app.js serves the script that shows the X-Trace-ID of the last call', async () => {
    const { status, headers, body } = await get(`${gateway.url}/app.js`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/javascript/);
    expect(body).toContain("response.headers.get('x-trace-id')");
    expect(() => new Function(body)).not.toThrow();
  });
});
