import { ApiError } from '../../../apps/shared/errors';
import { createServiceApp } from '../../../apps/shared/service-app';
import { Served, get, serve } from '../support/http';
import { captureLogger } from '../support/log-capture';

let served: Served;
const { logger, lines } = captureLogger();
const service = createServiceApp({ logger, version: 'stable' }, router => {
  router.get('/boom', () => {
    throw new Error('database password=hunter2 rejected');
  });
  router.get('/upstream', () => {
    throw new ApiError(502, 'backend_error', 'the backend answered 500');
  });
  router.get('/teapot', ctx => ctx.throw(418, 'short and stout', { code: 'teapot', parameter: 'spout' }));
});

beforeAll(async () => {
  served = await serve(service.app);
});
afterAll(async () => served.close());

test('/healthz answers 200', async () => {
  expect(await get(`${served.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
});

test('every response carries X-Content-Type-Options: nosniff and an X-Request-ID', async () => {
  for (const path of ['/healthz', '/nowhere', '/boom']) {
    const { headers } = await get(`${served.url}${path}`);
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  }
});

test.each(['/TEAPOT', '/Teapot', '/teapot/'])('a route the service adds answers only its exact spelling: %s is a 404', async path => {
  expect((await get(`${served.url}/teapot`)).status).toBe(418);
  expect(await get(`${served.url}${path}`)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
});

test('an unexpected error becomes an opaque 500, logged with the error', async () => {
  const { status, body } = await get(`${served.url}/boom`);
  expect(status).toBe(500);
  expect(body).toEqual({ error: { code: 'internal', message: 'internal server error' } });
  const logged = lines.find(l => l.level === 'error' && l.path === '/boom');
  expect(logged?.err).toMatchObject({ type: 'Error', message: 'database password=[redacted] rejected' });
});

test('an ApiError is shown with its status, code and message', async () => {
  expect(await get(`${served.url}/upstream`)).toMatchObject({ status: 502, body: { error: { code: 'backend_error', message: 'the backend answered 500' } } });
});

test('ctx.throw for a 4xx is shown with its code and parameter, and not logged as an error', async () => {
  const { status, body } = await get(`${served.url}/teapot`);
  expect(status).toBe(418);
  expect(body).toEqual({ error: { code: 'teapot', message: 'short and stout', parameter: 'spout' } });
  expect(lines.filter(l => l.level === 'error' && l.path === '/teapot')).toEqual([]);
});

test('/readyz answers 200 until shutdown starts, then 503 and closes connections', async () => {
  const before = await get(`${served.url}/readyz`);
  expect(before).toMatchObject({ status: 200, body: { status: 'ready' } });
  expect(before.headers.get('connection')).toBe('keep-alive');
  service.readiness.shutDown();
  const after = await get(`${served.url}/readyz`);
  expect(after).toMatchObject({ status: 503, body: { status: 'shutting down' } });
  expect(after.headers.get('connection')).toBe('close');
  expect((await get(`${served.url}/healthz`)).status).toBe(200);
});
