import * as fs from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { parse } from 'yaml';
import { GATEWAY_PATHS, HEADERS } from '../../apps/contract';

const TRACE_ID = /^[0-9a-f]{32}$/;

const ENDPOINTS = [
  { path: GATEWAY_PATHS.airports, check: (body: any) => expect(body.airports.map((a: { code: string }) => a.code)).toContain('ICN') },
  { path: `${GATEWAY_PATHS.routes}?departure=ICN`, check: (body: any) => expect(body).toMatchObject({ departure: 'ICN' }) },
  { path: `${GATEWAY_PATHS.timetable}?dep=ICN&arr=GMP`, check: (body: any) => expect(body.flights.length).toBeGreaterThan(0) },
];

for (const { path, check } of ENDPOINTS) {
  test(`GET ${path} answers 200 with a fresh 32-hex X-Trace-ID per request`, async ({ request }) => {
    const first = await request.get(path);
    const second = await request.get(path);
    for (const response of [first, second]) {
      expect(response.status()).toBe(200);
      expect(response.headers()[HEADERS.traceId]).toMatch(TRACE_ID);
      check(await response.json());
    }
    expect(first.headers()[HEADERS.traceId]).not.toBe(second.headers()[HEADERS.traceId]);
  });
}

test('bad input gets a JSON 400 naming the parameter', async ({ request }) => {
  const response = await request.get(`${GATEWAY_PATHS.routes}?departure=icn`);
  expect(response.status()).toBe(400);
  expect(response.headers()['content-type']).toMatch(/^application\/json/);
  expect(await response.json()).toEqual({ error: { code: 'invalid_parameter', parameter: 'departure', message: expect.any(String) } });
  expect(response.headers()[HEADERS.traceId]).toMatch(TRACE_ID);
});

test('a missing parameter gets a JSON 400 too', async ({ request }) => {
  const response = await request.get(`${GATEWAY_PATHS.timetable}?dep=ICN`);
  expect(response.status()).toBe(400);
  expect(await response.json()).toMatchObject({ error: { code: 'missing_parameter', parameter: 'arr' } });
});

// the checks the gate sends the canary through the pin before its first weighted step (services/gateway.yaml
// `smoke`): with SMOKE_CANARY=1 the deploy workflow runs them against the canary, as the gate will
const GATEWAY_FILE = parse(fs.readFileSync(join(__dirname, '..', '..', 'services', 'gateway.yaml'), 'utf8')) as {
  smoke?: Array<{ path: string; status?: number; header?: string }>;
};
for (const check of GATEWAY_FILE.smoke ?? []) {
  test(`smoke check of services/gateway.yaml: GET ${check.path} answers ${check.status ?? 200}${check.header ? ` with ${check.header}` : ''}`, async ({ request }) => {
    const response = await request.get(check.path, { maxRedirects: 0 });
    expect(response.status()).toBe(check.status ?? 200);
    if (check.header) expect(response.headers()[check.header]).toBeTruthy();
  });
}
