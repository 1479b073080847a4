import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { decide, stageOf } from '../../lib/delivery/decide';
import { MeasureOutcome } from '../../lib/delivery/measure';
import {
  Decided, HandDecided, MrkdwnText, NotificationKind, WebhookMessage, notificationKindOf, notificationOf, postNotification, shouldNotify,
} from '../../lib/delivery/notify';
import { endCanaryByHand, releaseUngated, startCanary } from '../../lib/delivery/plan';
import { GateReport, gateReport } from '../../lib/delivery/report';
import { settingsOf } from '../../lib/rollout/settings';
import { CanaryState, HistoryEntry, Measurements, RolloutState } from '../../lib/rollout/state';
import { GATEWAY, REGISTRY, fixturePod, fixtureState } from '../rollout/fixtures';
import { DOWN_PORT } from '../support/ports';

// the fixture: gateway's canary 1.1.0 at 25 % (steps 10, 25, 50, 100), one failed check so far, p95 SLO 250 ms; the
// defaults: 3 failed checks roll back, more than 12 holds in a row too; window 5m, at least 100 requests
const fixture = fixtureState('canary');
const NOW = new Date('2026-11-01T11:00:00.000Z');
const WINDOW = { length: '5m', start: '2026-11-01T10:55:00.000Z', end: NOW.toISOString() };
const HEALTHY: Measurements = { requests: 1000, canaryRequests: 250, successRatio: 0.99, p95Ms: 180, p99Ms: null };
const STABLE = { requests: 750, successRatio: 0.995, p95Ms: 200, p99Ms: null };
const SLOW: Measurements = { ...HEALTHY, p95Ms: 260.5 };
// at 100 % the canary serves (nearly) everything
const ALL: Measurements = { ...HEALTHY, canaryRequests: 1000 };
const QUIET: Measurements = { ...HEALTHY, requests: 40, canaryRequests: 10 };

/**
 * The fixture's canary, observed applied at 10:21 (its window ending at NOW is due), with `more` (weight, counters),
 * and the gate's hold that recorded it applied at that weight.
 */
function inFlight(more: Partial<CanaryState> = {}): RolloutState {
  const canary = { ...fixture.canary!, appliedAt: '2026-11-01T10:21:00.000Z', ...more };
  const applied: HistoryEntry = {
    at: canary.appliedAt, decision: 'hold', by: 'gate', image: canary.image, fromWeight: canary.weight, toWeight: canary.weight, reason: 'applied',
  };
  return { ...fixture, canary, history: [...fixture.history, applied] };
}

/** What `canary advance` reports for the state, measuring `m` (stable as {@link STABLE}); `dryRun` as the flag. */
function gateRun(state: RolloutState, m: Measurements, dryRun = false): GateReport {
  const settings = settingsOf(state, GATEWAY);
  const outcome: MeasureOutcome = { ok: true, measurements: m, baseline: STABLE, samples: {} };
  const stage = stageOf(state, settings, NOW);
  const result = stage.kind === 'measure' ? decide({ state, settings, now: NOW, stage, outcome }) : decide({ state, settings, now: NOW, stage });
  return gateReport({
    service: 'gateway', env: 'prod', image: state.canary?.image ?? null, result, settings, queries: {}, samples: {}, observation: null,
    window: stage.kind === 'measure' ? WINDOW : null,
    outcome: dryRun ? { dryRun: true, changed: [], commit: null } : { dryRun: false, changed: ['rollout/prod/gateway.yaml'], commit: 'abc1234' },
  });
}

const gate = (report: GateReport): Decided => ({ by: 'gate', report });

/** What `canary advance` reports when it observes the fixture's step (committed at 10:20, never observed yet) applied. */
function appliedRun(): GateReport {
  const settings = settingsOf(fixture, GATEWAY);
  const result = decide({ state: fixture, settings, now: NOW, stage: stageOf(fixture, settings, NOW), observed: { ok: true, applied: true } });
  return gateReport({
    service: 'gateway', env: 'prod', image: fixture.canary!.image, result, settings, queries: {}, samples: {}, window: null, observation: null,
    outcome: { dryRun: false, changed: ['rollout/prod/gateway.yaml'], commit: 'abc1234' },
  });
}
const WRITTEN = { dryRun: false, changed: ['rollout/prod/gateway.yaml', 'dist/prod'], commit: 'def5678' };
const NEW_IMAGE = `${REGISTRY}/obs-canary-gateway:1.2.0`;
const started = (): Decided => ({
  by: 'cli', env: 'prod', change: startCanary(fixtureState('steady'), NEW_IMAGE, NOW, GATEWAY, fixturePod()), outcome: WRITTEN, firstStep: 10,
});
const byHand = (decision: 'promote' | 'rollback', reason?: string): Decided =>
  ({ by: 'cli', env: 'prod', change: endCanaryByHand(fixture, 'local', decision, NOW, reason), outcome: WRITTEN });

/** Every mrkdwn text of a message: the sections', the fields', the context's. */
function textsOf(message: WebhookMessage): MrkdwnText[] {
  return message.blocks.flatMap(block => ('text' in block ? [block.text] : 'fields' in block ? block.fields : block.elements));
}
const allText = (message: WebhookMessage): string => [message.text, ...textsOf(message).map(t => t.text)].join('\n');
/** The text of the field named `name` (its value, without the bold name). */
function fieldOf(message: WebhookMessage, name: string): string {
  const fields = message.blocks.flatMap(block => ('fields' in block ? block.fields : []));
  const found = fields.find(f => f.text.startsWith(`*${name}*\n`));
  if (!found) throw new Error(`no field ${name} in ${JSON.stringify(fields)}`);
  return found.text.slice(name.length + 3);
}

describe('which decisions notify', () => {
  const cases: Array<[string, NotificationKind | null, () => Decided]> = [
    ['canary start by hand', 'start', started],
    ['an advance by the gate (SLO met at 25 %)', 'advance', () => gate(gateRun(inFlight(), HEALTHY))],
    ['a promotion by the gate (SLO met at the last step)', 'promote', () => gate(gateRun(inFlight({ weight: 100 }), ALL))],
    ['canary promote by hand', 'promote', () => byHand('promote')],
    ['an ungated release', 'promote', () => ({
      by: 'cli', env: 'prod', change: releaseUngated(fixtureState('steady'), NEW_IMAGE, NOW, GATEWAY, fixturePod()), outcome: WRITTEN,
    })],
    ['a roll back by the gate (the third failed check)', 'rollback', () => gate(gateRun(inFlight({ failedChecks: 2 }), SLOW))],
    ['a roll back by the gate (fail safe: a 13th hold in a row)', 'rollback', () => gate(gateRun(inFlight({ consecutiveHolds: 12 }), QUIET))],
    ['canary rollback by hand', 'rollback', () => byHand('rollback', 'bad deploy')],
    ['a plain hold: too little traffic, 1 hold in a row', null, () => gate(gateRun(inFlight(), QUIET))],
    ['a plain hold: the first failed check of the run', null, () => gate(gateRun(inFlight({ failedChecks: 0 }), SLOW))],
    ['a plain hold: 11 holds in a row of 12', null, () => gate(gateRun(inFlight({ consecutiveHolds: 10 }), QUIET))],
    ['the last hold: 12 holds in a row of 12', 'hold-limit', () => gate(gateRun(inFlight({ consecutiveHolds: 11 }), QUIET))],
    ['the last hold: the second failed check of 3', 'hold-limit', () => gate(gateRun(inFlight(), SLOW))],
    // dwelling does not count: the counter stays at its limit without another message
    ['a dwelling hold with 12 holds in a row', null, () => gate(gateRun(inFlight({ consecutiveHolds: 12, appliedAt: '2026-11-01T10:58:00.000Z' }), HEALTHY))],
    ['the step just observed applied', null, () => gate(appliedRun())],
    ['no canary in flight', null, () => gate(gateRun(fixtureState('steady'), HEALTHY))],
    ['a dry run of an advance', null, () => gate(gateRun(inFlight(), HEALTHY, true))],
    ['a dry run of canary start', null, () => ({ ...(started() as HandDecided), outcome: { dryRun: true, changed: [], commit: null } })],
  ];

  test.each(cases)('%s → %s', (_name, kind, decided) => {
    const d = decided();
    expect(notificationKindOf(d)).toBe(kind);
    expect(shouldNotify(d)).toBe(kind !== null);
  });

  test('the scenario is what it says: the limit-reaching holds are holds at the counts the rule names', () => {
    expect(gateRun(inFlight({ consecutiveHolds: 11 }), QUIET)).toMatchObject({ decision: 'hold', hold: 'too-little-traffic', consecutiveHolds: 12 });
    expect(gateRun(inFlight(), SLOW)).toMatchObject({ decision: 'hold', hold: 'failed-check', failedCheckCount: 2 });
    expect(gateRun(inFlight({ consecutiveHolds: 12, appliedAt: '2026-11-01T10:58:00.000Z' }), HEALTHY))
      .toMatchObject({ decision: 'hold', hold: 'dwelling', consecutiveHolds: 12 });
    expect(appliedRun()).toMatchObject({ decision: 'hold', hold: 'applied' });
  });

  test('a run from start to promotion sends one message per step and none for its plain holds', () => {
    const sent = [
      started(),
      gate(gateRun(inFlight({ weight: 10 }), QUIET)),
      gate(gateRun(inFlight({ weight: 10 }), HEALTHY)),
      gate(gateRun(inFlight({ weight: 25, failedChecks: 0 }), SLOW)),
      gate(gateRun(inFlight({ weight: 25 }), HEALTHY)),
      gate(gateRun(inFlight({ weight: 50 }), HEALTHY)),
      gate(gateRun(inFlight({ weight: 100 }), ALL)),
    ].map(notificationKindOf);
    expect(sent).toEqual(['start', null, 'advance', null, 'advance', 'advance', 'promote']);
  });
});

describe('the messages', () => {
  test('start: service, environment, image, the first weight', () => {
    const message = notificationOf(started());
    expect(message.text).toMatch(/^prod\/gateway: canary started: canary registry\.example\.com\/obs-canary-gateway:1\.2\.0 started at 0%/);
    expect(fieldOf(message, 'image')).toBe(`\`${NEW_IMAGE}\``);
    expect(fieldOf(message, 'weight')).toBe('0% now (only the pin reaches it); 10% once the gate sees it run ready');
    expect(fieldOf(message, 'stable')).toBe(`\`${REGISTRY}/obs-canary-gateway:1.0.0\``);
    expect(fieldOf(message, 'commit')).toBe('`def5678`');
    expect(allText(message)).toContain(':seedling:');
  });

  test('advance: from → to, and the numbers against the SLO and stable, as the report has them', () => {
    const message = notificationOf(gate(gateRun(inFlight(), HEALTHY)));
    expect(message.text).toMatch(/^prod\/gateway: advance 25% → 50%: advanced to 50%: SLO met over 5m/);
    expect(fieldOf(message, 'weight')).toBe('25% → 50%');
    expect(fieldOf(message, 'requests')).toBe('canary 250 of 1000 in 5m (3.33/s in all) · stable 750\nlimit ≥ 100 together; canary ≥ its weight × 0.5 and ≥ 20');
    expect(fieldOf(message, 'success ratio')).toBe('canary 0.99 · stable 0.995\nlimit ≥ 0.95; error ratio ≤ stable\'s + 0.02');
    expect(fieldOf(message, 'error ratio')).toBe('canary 0.01 · stable 0.005\nlimit ≤ 0.05; ≤ stable\'s + 0.02');
    expect(fieldOf(message, 'p95 latency')).toBe('canary 180 ms · stable 200 ms\nlimit ≤ 250 ms; ≤ stable\'s × 1.5');
    expect(fieldOf(message, 'p99 latency')).toBe('canary – · stable –\nlimit not checked');
    expect(allText(message)).toContain('window 5m, 2026-11-01T10:55:00.000Z to 2026-11-01T11:00:00.000Z');
  });

  test('the last hold: says which limit is next, with the counters and the failed check', () => {
    const message = notificationOf(gate(gateRun(inFlight(), SLOW)));
    expect(message.text).toBe('prod/gateway: hold 25% → 25%, at its limit: failed check 2 of 3: p95Ms: 260.5 &gt; 250 '
      + '(failed checks 2 of 3: the next failed check rolls the canary back)');
    expect(fieldOf(message, 'counters')).toBe('failed checks 2 of 3 · holds in a row 1 of 12');
    expect(fieldOf(message, 'p95 latency')).toBe('canary 260.5 ms · stable 200 ms\nlimit ≤ 250 ms; ≤ stable\'s × 1.5');
    expect(allText(message)).toContain('*failed checks*\n• p95Ms: 260.5 &gt; 250');
    const failSafe = notificationOf(gate(gateRun(inFlight({ consecutiveHolds: 11 }), QUIET)));
    expect(failSafe.text).toContain('(holds in a row 12 of 12: the next hold ends the canary run (fail safe))');
    expect(fieldOf(failSafe, 'requests')).toBe('canary 10 of 40 in 5m (0.13/s in all) · stable 750\nlimit ≥ 100 together; canary ≥ its weight × 0.5 and ≥ 20');
  });

  test('roll back by the gate: the reason, the failed checks, the counters that ended the run', () => {
    const message = notificationOf(gate(gateRun(inFlight({ failedChecks: 2 }), SLOW)));
    expect(message.text).toBe('prod/gateway: rollback 25% → 0%: rolling back: failed check 3 of 3: p95Ms: 260.5 &gt; 250');
    expect(allText(message)).toContain(':rotating_light:');
    expect(allText(message)).toContain('*failed checks*\n• p95Ms: 260.5 &gt; 250');
    expect(fieldOf(message, 'counters')).toBe('failed checks 3 of 3 · holds in a row 1 of 12');
  });

  test('promote and roll back by hand: the reason and the weights', () => {
    const promote = notificationOf(byHand('promote'));
    expect(promote.text).toBe('prod/gateway: promote 25% → 25%: promoting by hand: stable rolls out '
      + `${REGISTRY}/obs-canary-gateway:1.1.0 while the canary keeps its 25%; the gate moves the traffic to stable once it runs ready`);
    expect(allText(promote)).toContain(':white_check_mark:');
    expect(allText(promote)).toContain('by hand');
    const rollback = notificationOf(byHand('rollback', 'bad deploy'));
    expect(rollback.text).toMatch(/^prod\/gateway: rollback 25% → 0%: rolling back by hand: .*\(bad deploy\)$/);
    expect(fieldOf(rollback, 'weight')).toBe('25% → 0%');
  });

  test('stays within Slack\'s limits: 3000 characters a text, 10 fields of 2000', () => {
    const report = gateRun(inFlight({ failedChecks: 2 }), SLOW);
    const huge: GateReport = { ...report, reason: 'r'.repeat(5000), failedChecks: Array.from({ length: 200 }, (_, i) => `check ${i}: ${'x'.repeat(40)}`) };
    const message = notificationOf(gate(huge));
    expect(message.text.length).toBeLessThanOrEqual(3000);
    for (const block of message.blocks) {
      if ('text' in block) expect(block.text.text.length).toBeLessThanOrEqual(3000);
      if ('fields' in block) {
        expect(block.fields.length).toBeLessThanOrEqual(10);
        for (const f of block.fields) expect(f.text.length).toBeLessThanOrEqual(2000);
      }
    }
    expect(JSON.parse(JSON.stringify(message))).toEqual(message);
  });
});

/** A webhook on loopback that records every request; its answer depends on the path. */
describe('postNotification', () => {
  let server: http.Server;
  let base: string;
  let seen: Array<{ method?: string; url?: string; contentType?: string; body: string }>;
  // the secret of a Slack webhook is its path; the query here stands for any other credential in the URL
  const SECRET_PATH = '/services/T0SECRET1/B0SECRET2/xoxSECRETtoken3?token=qSECRET4';
  const MESSAGE: WebhookMessage = notificationOf(started());
  const noSecret = (error: string): void => {
    expect(error).not.toMatch(/SECRET|services|token/);
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, contentType: req.headers['content-type'], body });
        const kind = req.url?.split('/')[1];
        if (kind === 'hang') return; // never answers
        if (kind === 'gone') res.writeHead(404, { 'content-type': 'text/plain' }).end('no_service');
        else if (kind === 'echo') res.writeHead(400, { 'content-type': 'text/plain' }).end(`invalid path ${req.url}`);
        else if (kind === 'word') res.writeHead(403, { 'content-type': 'text/plain' }).end('T0SECRET1');
        else if (kind === 'moved') res.writeHead(302, { location: `${base}/services/elsewhere` }).end();
        else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    seen = [];
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  });

  test('POSTs the message as JSON, once per call', async () => {
    await expect(postNotification(`${base}${SECRET_PATH}`, MESSAGE, { timeoutMs: 2000 })).resolves.toEqual({ ok: true });
    await expect(postNotification(`${base}${SECRET_PATH}`, MESSAGE, { timeoutMs: 2000 })).resolves.toEqual({ ok: true });
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ method: 'POST', url: SECRET_PATH, contentType: 'application/json' });
    expect(JSON.parse(seen[0].body)).toEqual(MESSAGE);
  });

  test('honours the timeout: a webhook that never answers is an error within it', async () => {
    const before = Date.now();
    // long enough that a descheduled worker still sends the request before the timer fires
    const result = await postNotification(`${base}/hang${SECRET_PATH}`, MESSAGE, { timeoutMs: 1000 });
    expect(Date.now() - before).toBeLessThan(8000);
    expect(result).toEqual({ ok: false, error: `webhook at ${new URL(base).host}: no answer within 1000 ms` });
    expect(seen).toHaveLength(1);
  });

  test('a non-2xx answer is an error with the status, and a short answer that holds no part of the URL', async () => {
    const result = await postNotification(`${base}/gone${SECRET_PATH}`, MESSAGE, { timeoutMs: 2000 });
    expect(result).toEqual({ ok: false, error: `webhook at ${new URL(base).host} answered HTTP 404: no_service` });
  });

  test.each([
    ['an answer that echoes the path', '/echo', 'answered HTTP 400'],
    ['an answer that is a piece of the path', '/word', 'answered HTTP 403'],
    ['a redirect (not followed)', '/moved', 'answered HTTP 302'],
  ])('%s: the status alone, never the URL', async (_name, prefix, status) => {
    const result = await postNotification(`${base}${prefix}${SECRET_PATH}`, MESSAGE, { timeoutMs: 2000 });
    expect(result).toEqual({ ok: false, error: `webhook at ${new URL(base).host} ${status}` });
    expect(seen).toHaveLength(1);
  });

  test('an unreachable webhook, a failing fetch, a bad URL: errors that never hold the URL', async () => {
    const port = DOWN_PORT;
    const down = await postNotification(`http://127.0.0.1:${port}${SECRET_PATH}`, MESSAGE, { timeoutMs: 2000 });
    expect(down).toEqual({ ok: false, error: `webhook at 127.0.0.1:${port}: unreachable (ECONNREFUSED)` });
    const leaky = async (input: string | URL | Request): Promise<Response> => {
      throw Object.assign(new Error(`cannot reach ${String(input)}`), { code: 'T0SECRET1' });
    };
    const thrown = await postNotification(`https://hooks.example.com${SECRET_PATH}`, MESSAGE, { timeoutMs: 2000, fetch: leaky });
    expect(thrown).toEqual({ ok: false, error: 'webhook at hooks.example.com: the request failed' });
    const bad = await postNotification(`not a url${SECRET_PATH}`, MESSAGE, { timeoutMs: 2000 });
    expect(bad.ok).toBe(false);
    for (const result of [down, thrown, bad]) if (!result.ok) noSecret(result.error);
  });
});
