import { Page, expect, test } from '@playwright/test';
import { GATEWAY_PATHS, HEADERS } from '../../apps/contract';

const TRACE_ID = /^[0-9a-f]{32}$/;

/** Clicks `button` and returns the X-Trace-ID of the API response it triggered. */
async function traceIdOfCall(page: Page, button: string, path: string): Promise<string> {
  const [response] = await Promise.all([
    page.waitForResponse(r => new URL(r.url()).pathname === path),
    page.getByRole('button', { name: button }).click(),
  ]);
  expect(response.status()).toBe(200);
  return response.headers()[HEADERS.traceId];
}

test('the page shows the trace id of the last API call', async ({ page }) => {
  const pageResponse = await page.goto('/');
  expect(pageResponse?.headers()[HEADERS.traceId]).toMatch(TRACE_ID);
  await expect(page.locator('#trace-id')).toHaveText('-');

  const timetable = await traceIdOfCall(page, 'Show flights', GATEWAY_PATHS.timetable);
  expect(timetable).toMatch(TRACE_ID);
  await expect(page.locator('#trace-id')).toHaveText(timetable);
  await expect(page.locator('#result')).toContainText('KE1401');

  const airports = await traceIdOfCall(page, 'List airports', GATEWAY_PATHS.airports);
  expect(airports).not.toBe(timetable);
  await expect(page.locator('#trace-id')).toHaveText(airports);
});
