import * as fs from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { parse } from 'yaml';
import { CANARY_PIN_ANSWER } from '../../lib/slo/vocabulary';
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

// the checks the gate sends the canary through the pin before its first weighted step (the service file's `smoke`):
// the deploy workflow runs them with SMOKE_CANARY=1 against SMOKE_SERVICE's canary (default: the gateway this suite
// starts), and then only an answer the canary-pin route marked counts, as for the gate
const SMOKE_SERVICE = process.env.SMOKE_SERVICE ?? 'gateway';
const SERVICE_FILE = parse(fs.readFileSync(join(__dirname, '..', '..', 'services', `${SMOKE_SERVICE}.yaml`), 'utf8')) as {
  smoke?: Array<{ path: string; status?: number; header?: string }>;
};
for (const check of SERVICE_FILE.smoke ?? []) {
  const expected = `${check.status ?? 200}${check.header ? ` with ${check.header}` : ''}`;
  test(`smoke check of services/${SMOKE_SERVICE}.yaml: GET ${check.path} answers ${expected}`, async ({ request }) => {
    const response = await request.get(check.path, { maxRedirects: 0 });
    expect(response.status()).toBe(check.status ?? 200);
    if (check.header) expect(response.headers()[check.header]).toBeTruthy();
    if (process.env.SMOKE_CANARY === '1') expect(response.headers()[CANARY_PIN_ANSWER.header]).toBe(CANARY_PIN_ANSWER.value);
  });
}
