import { createApp } from '../../../apps/backend/src/app';
import { AIRPORTS, ROUTES } from '../../../apps/backend/src/flights';
import { Served, get, serve } from '../support/http';
import { captureLogger } from '../support/log-capture';

let served: Served;
const { logger, lines } = captureLogger('backend');
const backend = createApp({ logger, version: 'canary' });

beforeAll(async () => {
  served = await serve(backend.app);
});
afterAll(async () => served.close());

describe('GET /v1/airports', () => {
  test('lists every airport', async () => {
    const { status, body } = await get(`${served.url}/v1/airports`);
    expect(status).toBe(200);
    expect(body.airports.map((a: { code: string }) => a.code)).toEqual(['CJU', 'GMP', 'HND', 'ICN', 'KIX', 'NRT', 'PUS']);
  });
});

describe('GET /v1/routes', () => {
  test('lists the routes from a departure airport', async () => {
    const { status, body } = await get(`${served.url}/v1/routes?departure=GMP`);
    expect(status).toBe(200);
    expect(body).toEqual({
      departure: 'GMP',
      routes: [
        { arr: 'CJU', daily_flights: 4 }, { arr: 'PUS', daily_flights: 2 }, { arr: 'HND', daily_flights: 3 },
        { arr: 'KIX', daily_flights: 1 }, { arr: 'ICN', daily_flights: 1 },
      ],
    });
  });

  test('fails with 400 missing_parameter without departure', async () => {
    const { status, body } = await get(`${served.url}/v1/routes`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: { code: 'missing_parameter', parameter: 'departure', message: expect.stringMatching(/"departure" is required/) } });
  });

  test.each(['icn', 'IC', 'ICNN', '123', 'I-N'])('fails with 400 invalid_parameter for departure=%s', async code => {
    const { status, body } = await get(`${served.url}/v1/routes?departure=${code}`);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_parameter', parameter: 'departure' });
    expect(body.error.message).toContain(`got "${code}"`);
  });

  test('fails with 400 invalid_parameter when departure is given twice', async () => {
    const { status, body } = await get(`${served.url}/v1/routes?departure=ICN&departure=GMP`);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_parameter', parameter: 'departure' });
  });

  test('fails with 404 unknown_airport for a well-formed but unknown code', async () => {
    const { status, body } = await get(`${served.url}/v1/routes?departure=LAX`);
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: 'unknown_airport', parameter: 'departure', message: expect.stringMatching(/unknown airport "LAX"/) } });
  });
});

describe('GET /v1/timetable', () => {
  test('lists the flights of a route', async () => {
    const { status, body } = await get(`${served.url}/v1/timetable?dep=ICN&arr=GMP`);
    expect(status).toBe(200);
    expect(body).toEqual({
      dep: 'ICN', arr: 'GMP',
      flights: [{ flight: 'KE1401', departs: '09:10', arrives: '09:55' }, { flight: 'KE1405', departs: '18:40', arrives: '19:25' }],
    });
  });

  test('fails with 404 unknown_route between known airports without flights', async () => {
    const { status, body } = await get(`${served.url}/v1/timetable?dep=HND&arr=NRT`);
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: 'unknown_route', message: expect.stringMatching(/no flights from HND to NRT/) } });
  });

  test('names the faulty parameter', async () => {
    expect((await get(`${served.url}/v1/timetable?dep=ICN`)).body.error).toMatchObject({ code: 'missing_parameter', parameter: 'arr' });
    expect((await get(`${served.url}/v1/timetable?dep=ICN&arr=XYZ`)).body.error).toMatchObject({ code: 'unknown_airport', parameter: 'arr' });
  });
});

test('an unknown path answers a JSON 404', async () => {
  const { status, body } = await get(`${served.url}/v2/nothing`);
  expect(status).toBe(404);
  expect(body).toEqual({ error: { code: 'not_found', message: 'no route for GET /v2/nothing' } });
});

test('a path it serves, asked with another method, answers a JSON 405 that names the methods it has (Allow), and stays off the route label', async () => {
  const response = await fetch(`${served.url}/v1/airports`, { method: 'POST' });
  expect([response.status, response.headers.get('allow')]).toEqual([405, 'HEAD, GET']);
  expect(await response.json()).toEqual({ error: { code: 'method_not_allowed', message: 'POST /v1/airports is not allowed; allowed: HEAD, GET' } });
  const metrics = await (await fetch(`${served.url}/metrics`)).text();
  expect(metrics).toMatch(/http_requests_total\{[^}]*route="unmatched"[^}]*status_code="405"[^}]*\} 1/);
  // any other method the same, OPTIONS and one the router does not know included: never a 5xx for a client's choice
  for (const method of ['OPTIONS', 'PROPFIND']) {
    const other = await fetch(`${served.url}/v1/airports`, { method });
    expect([method, other.status, other.headers.get('allow'), (await other.json()).error.code]).toEqual([method, 405, 'HEAD, GET', 'method_not_allowed']);
  }
  // an unknown path is still a 404 whatever the method
  for (const method of ['POST', 'PROPFIND']) expect((await fetch(`${served.url}/v2/nothing`, { method })).status).toBe(404);
});

test('the flight data is consistent: every route joins known airports and has flights', () => {
  const codes = new Set(AIRPORTS.map(a => a.code));
  for (const route of ROUTES) {
    expect(codes.has(route.dep) && codes.has(route.arr) && route.dep !== route.arr).toBe(true);
    expect(route.flights.length).toBeGreaterThan(0);
  }
  expect(new Set(ROUTES.map(r => `${r.dep}-${r.arr}`)).size).toBe(ROUTES.length);
});

test('each request writes one access line with route, status, duration and request id', async () => {
  await get(`${served.url}/v1/routes?departure=PUS`, { 'x-request-id': 'backend-unit-1', 'user-agent': 'jest' });
  const access = lines.filter(l => l.request_id === 'backend-unit-1');
  expect(access).toHaveLength(1);
  expect(access[0]).toMatchObject({
    level: 'info', msg: 'request', service: 'backend', method: 'GET', route: '/v1/routes', path: '/v1/routes', status: 200, user_agent: 'jest',
  });
  expect(access[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(typeof access[0].duration_ms).toBe('number');
  expect(access[0].ip).toMatch(/127\.0\.0\.1/);
});
