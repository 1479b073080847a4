// Operational paths in every spelling, against the real services on loopback: only the canonical spelling (with or
// without a query string) reaches /metrics, /healthz or /readyz; every other spelling is a 404, as at the mesh's edge.
import { randomUUID } from 'node:crypto';
import { PATHS, ServiceName } from '../../../apps/contract';
import { CANONICAL_PATHS, OperationalPath, PATH_SPELLINGS, spellingsOf } from '../../support/path-spellings';
import { rawGet, RawAnswer } from '../support/http';
import { ServiceProcess, startServiceProcess } from '../support/service-process';

const SERVICE_NAMES: readonly ServiceName[] = ['gateway', 'backend'];

/** Whether an answer is the endpoint's own body. */
const ENDPOINT_BODY: Record<OperationalPath, (answer: RawAnswer) => boolean> = {
  '/metrics': ({ contentType, text }) => contentType.startsWith('text/plain') && text.includes('# TYPE http_requests_total counter'),
  '/healthz': ({ text }) => text === JSON.stringify({ status: 'ok' }),
  '/readyz': ({ text }) => text === JSON.stringify({ status: 'ready' }),
};

describe('the table of spellings', () => {
  test('covers exactly the operational paths of the contract', () => {
    expect([...CANONICAL_PATHS].sort()).toEqual(Object.values(PATHS).sort());
  });

  test.each(CANONICAL_PATHS)('%s: distinct spellings, and only the canonical one and its query-string form serve it', canonical => {
    const rows = spellingsOf(canonical);
    expect(new Set(rows.map(r => r.path)).size).toBe(rows.length);
    expect(rows.filter(r => r.servesEndpoint).map(r => r.path)).toEqual([canonical, `${canonical}?x=1`]);
  });

  test('the percent-encoded spellings decode to the canonical path', () => {
    const encoded = PATH_SPELLINGS.filter(r => /%[0-9A-Fa-f]{2}/.test(r.path) && !r.path.includes('%2F'));
    expect(encoded).toHaveLength(2 * CANONICAL_PATHS.length);
    for (const { path, canonical } of encoded) expect(decodeURIComponent(path)).toBe(canonical);
  });
});

describe.each(SERVICE_NAMES)('%s', name => {
  let service: ServiceProcess;

  beforeAll(async () => {
    // debug: probes and scrapes are logged too, so every request leaves a line with the path the service saw;
    // the deployed preload, but sampling nothing, so no export is attempted without a collector
    service = await startServiceProcess(name, { env: { LOG_LEVEL: 'debug', OTEL_TRACES_SAMPLER: 'always_off' } });
  }, 60_000);
  afterAll(async () => {
    await service?.stop('SIGKILL');
  });

  test.each(PATH_SPELLINGS)('GET $path, a spelling of $canonical: serves it $servesEndpoint', async ({ path, canonical, servesEndpoint }) => {
    const requestId = randomUUID();
    const answer = await rawGet(service.port, path, { 'x-request-id': requestId });
    const line = await service.waitForLog(l => l.msg === 'request' && l.request_id === requestId, `request ${requestId}`);
    // the service saw the target as written: no client or proxy normalised it on the way
    expect(line.path).toBe(path.split('?')[0]);
    if (servesEndpoint) {
      expect(answer.status).toBe(200);
      expect(ENDPOINT_BODY[canonical](answer)).toBe(true);
      expect(line.route).toBe(canonical);
    } else {
      expect(answer.status).toBe(404);
      expect(ENDPOINT_BODY[canonical](answer)).toBe(false);
      expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'not_found' } });
      expect(line.route).toBe('unmatched');
    }
  });
});
