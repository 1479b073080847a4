import { runSmokeChecks, smokeOutcomeOf } from '../../lib/delivery/smoke';
import { CANARY_PIN, CANARY_PIN_ANSWER } from '../../lib/slo/vocabulary';
import { StubServer } from '../apps/support/stub-server';
import { DOWN_PORT } from '../support/ports';

/** runSmokeChecks against a loopback stub that answers as a canary would, to pinned requests only. */
describe('runSmokeChecks', () => {
  let stub: StubServer;
  beforeAll(async () => {
    stub = await StubServer.start(async ({ url, headers }) => {
      if (headers[CANARY_PIN.header] !== CANARY_PIN.value) return { status: 421, body: 'not pinned' };
      // what the canary-pin route adds: stable's answers (the pin ignored on the way) lack it
      const pinned = { [CANARY_PIN_ANSWER.header]: CANARY_PIN_ANSWER.value };
      if (url.startsWith('/base/slow')) return new Promise(() => undefined);
      if (url.startsWith('/base/stable')) return { status: 200, body: {}, headers: { 'x-trace-id': 'abc' } };
      if (url.startsWith('/base/moved')) return { status: 302, body: '', headers: { location: '/elsewhere', ...pinned } };
      if (url.startsWith('/base/broken')) return { status: 503, body: {}, headers: pinned };
      // the server side's sidecar refusing the gate's identity: Envoy's RBAC answer, with the pin route's header
      if (url.startsWith('/base/denied')) return { status: 403, body: 'RBAC: access denied', headers: pinned };
      if (url.startsWith('/base/forbidden')) return { status: 403, body: { error: 'forbidden' }, headers: pinned };
      return { status: 200, body: {}, headers: url.includes('traced') ? { 'x-trace-id': 'abc', ...pinned } : pinned };
    });
  });
  afterAll(() => stub.close());

  test('each check: its status and header, through the pin, under the base URL\'s path, in order', async () => {
    const results = await runSmokeChecks(`${stub.url}/base`, [
      { path: '/traced?q=1', header: 'x-trace-id' }, { path: '/plain', header: 'x-trace-id' }, { path: '/broken' },
      { path: '/broken', status: 503 }, { path: '/moved' },
    ], 2000);
    expect(results).toEqual([
      { path: '/traced?q=1', passed: true, reached: true, detail: 'GET /traced?q=1 answered 200 with x-trace-id' },
      { path: '/plain', passed: false, reached: true, detail: 'GET /plain answered 200 without a x-trace-id header' },
      { path: '/broken', passed: false, reached: true, detail: 'GET /broken answered 503, expected 200' },
      { path: '/broken', passed: true, reached: true, detail: 'GET /broken answered 503' },
      // a redirect is an answer of its own, not followed
      { path: '/moved', passed: false, reached: true, detail: 'GET /moved answered 302, expected 200' },
    ]);
    expect(smokeOutcomeOf(results)).toEqual({ ran: true, results });
    expect(stub.requests.slice(-5).map(r => [r.url, r.headers[CANARY_PIN.header]])).toEqual([
      ['/base/traced?q=1', 'always'], ['/base/plain', 'always'], ['/base/broken', 'always'], ['/base/broken', 'always'], ['/base/moved', 'always']]);
  });

  test('an answer that did not come through the canary-pin route (stable\'s) did not reach the canary, whatever its status', async () => {
    const [stable] = await runSmokeChecks(`${stub.url}/base`, [{ path: '/stable', header: 'x-trace-id' }], 2000);
    expect(stable).toEqual({ path: '/stable', passed: false, reached: false,
      detail: 'GET /stable answered 200 without x-obs-canary-pinned: it did not reach the canary (the pin is ignored where the checks are sent from)' });
  });

  test('the mesh refusing the checks (an AuthorizationPolicy not applied yet) did not reach the canary; the app\'s own 403 did', async () => {
    const [denied, forbidden] = await runSmokeChecks(`${stub.url}/base`, [{ path: '/denied' }, { path: '/forbidden', status: 403 }], 2000);
    expect(denied).toEqual({ path: '/denied', passed: false, reached: false,
      detail: 'GET /denied answered 403 "RBAC: access denied": the mesh refused the checks before the canary saw them' });
    expect(forbidden).toEqual({ path: '/forbidden', passed: true, reached: true, detail: 'GET /forbidden answered 403' });
  });

  test('no answer in time, or nobody listening: did not reach the canary, named by path, never by the base URL', async () => {
    const port = DOWN_PORT;
    const [slow] = await runSmokeChecks(`${stub.url}/base`, [{ path: '/slow' }], 200);
    const [down] = await runSmokeChecks(`http://127.0.0.1:${port}`, [{ path: '/x' }], 2000);
    expect(slow).toEqual({ path: '/slow', passed: false, reached: false, detail: 'GET /slow no answer within 200 ms' });
    expect(down).toEqual({ path: '/x', passed: false, reached: false, detail: 'GET /x failed (ECONNREFUSED)' });
  });

  test('a check that did not reach the canary makes the outcome not run (a hold), unless one the canary answered failed', () => {
    const passed = { path: '/a', passed: true, reached: true, detail: 'GET /a answered 200' };
    const failed = { path: '/a', passed: false, reached: true, detail: 'GET /a answered 503, expected 200' };
    const unreached = { path: '/b', passed: false, reached: false, detail: 'GET /b failed (ECONNRESET)' };
    expect(smokeOutcomeOf([passed, unreached])).toEqual({ ran: false, reason: '1 of 2 did not reach the canary: GET /b failed (ECONNRESET)' });
    // the canary's own failure is the release's: it rolls back, whatever the plumbing did to the other check
    expect(smokeOutcomeOf([failed, unreached])).toEqual({ ran: true, results: [failed, unreached] });
  });
});
