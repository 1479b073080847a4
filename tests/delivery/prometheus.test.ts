import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { PrometheusError, PrometheusErrorKind, queryValue } from '../../lib/delivery/prometheus';
import { DOWN_PORT } from '../support/ports';

/** A fake Prometheus on loopback whose answer each test sets. */
describe('queryValue', () => {
  let server: http.Server;
  let base: string;
  let answer: (res: http.ServerResponse) => void;
  let seen: { url?: string; method?: string; headers: http.IncomingHttpHeaders; body: string };
  const TIME = new Date('2026-11-22T12:00:00.000Z');
  const json = (status: number, body: unknown) => (res: http.ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const vector = (...values: string[]) => json(200, {
    status: 'success', data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1795348800, v] })) },
  });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen = { url: req.url, method: req.method, headers: req.headers, body };
        answer(res);
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  });

  test('POSTs an instant query at the given time with a server-side timeout, and returns the one sample', async () => {
    answer = vector('42.5');
    await expect(queryValue({ url: base, timeoutMs: 2000 }, 'sum(up)', TIME)).resolves.toBe(42.5);
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/api/v1/query');
    expect(Object.fromEntries(new URLSearchParams(seen.body))).toEqual({ query: 'sum(up)', time: '1795348800.000', timeout: '2s' });
    expect(seen.headers.authorization).toBeUndefined();
  });

  test('keeps a path prefix and sends the headers it is given (authorization, a tenant)', async () => {
    answer = vector('1');
    await queryValue({ url: `${base}/prometheus`, headers: { authorization: 'Bearer s3cret', 'x-scope-orgid': 'tenant-1' }, timeoutMs: 1500 }, 'vector(1)', TIME);
    expect(seen.url).toBe('/prometheus/api/v1/query');
    expect(seen.headers.authorization).toBe('Bearer s3cret');
    expect(seen.headers['x-scope-orgid']).toBe('tenant-1');
    // no compression: a tick sends hundreds of small queries, and inflating them cost more than the bytes
    expect(seen.headers['accept-encoding']).toBe('identity');
    expect(new URLSearchParams(seen.body).get('timeout')).toBe('1500ms');
  });

  test('a secret echoed in an answer is taken out before the answer is cut short or escaped into the message', async () => {
    const token = `glc_${'eyJvIjoiMTIzNDU2NyIsIm4iOiJwcm9tZXRoZXVzLXJlYWQi'.repeat(3)}`;
    const password = 'p"w\\d-12345';
    answer = res => res.writeHead(401, { 'content-type': 'text/plain' }).end(`Unauthorized: invalid token ${token} or password ${password}`);
    const redact = (text: string) => text.split(token).join('[redacted]').split(password).join('[redacted]');
    const error = await queryValue({ url: base, timeoutMs: 2000, redact }, 'up', TIME).catch((e: unknown) => e as PrometheusError);
    expect((error as PrometheusError).message).toContain('with something that is not JSON: "Unauthorized: invalid token [redacted] or password [redacted]"');
    expect((error as PrometheusError).message).not.toContain(token.slice(0, 12));
    answer = json(403, { status: 'error', errorType: 'forbidden', error: `token ${token} may not read` });
    expect(((await queryValue({ url: base, timeoutMs: 2000, redact }, 'up', TIME).catch((e: unknown) => e)) as Error).message)
      .toContain('(forbidden: token [redacted] may not read)');
  });

  test('infos annotate a whole answer: the value counts', async () => {
    answer = json(200, {
      status: 'success', infos: ['PromQL info: input to histogram_quantile needed to be fixed for monotonicity'],
      data: { resultType: 'vector', result: [{ metric: {}, value: [1795348800, '0.25'] }] },
    });
    await expect(queryValue({ url: base, timeoutMs: 2000 }, 'q', TIME)).resolves.toBe(0.25);
  });

  test('a scalar is a value; an empty vector is null (unknown)', async () => {
    answer = json(200, { status: 'success', data: { resultType: 'scalar', result: [1795348800, '7'] } });
    await expect(queryValue({ url: base, timeoutMs: 2000 }, 'scalar(x)', TIME)).resolves.toBe(7);
    answer = vector();
    await expect(queryValue({ url: base, timeoutMs: 2000 }, 'x', TIME)).resolves.toBeNull();
  });

  const failures: Array<[string, (res: http.ServerResponse) => void, PrometheusErrorKind, string]> = [
    ['HTTP 503 with a plain text body', res => res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream down'), 'http-status',
      'answered HTTP 503 Service Unavailable with something that is not JSON: "upstream down"'],
    ['HTTP 400 with Prometheus\'s error', json(400, { status: 'error', errorType: 'bad_data', error: 'parse error at char 4' }), 'http-status',
      'answered HTTP 400 Bad Request (bad_data: parse error at char 4)'],
    ['HTTP 401', json(401, {}), 'http-status', 'answered HTTP 401 Unauthorized; check PROMETHEUS_TOKEN, or PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD'],
    ['HTML with status 200', res => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'), 'not-json',
      'answered with something that is not JSON: "<html>login</html>"'],
    ['status error with 200', json(200, { status: 'error', errorType: 'timeout', error: 'query timed out' }), 'query-error', 'query failed: timeout: query timed out'],
    ['a partial answer (a store down behind Thanos)', json(200, {
      status: 'success', warnings: ['partial response: store 10.0.0.7:10901 unavailable', 'another'],
      data: { resultType: 'vector', result: [{ metric: {}, value: [1795348800, '1'] }] },
    }), 'warnings', 'answered with a warning, so the result may be incomplete: "partial response: store 10.0.0.7:10901 unavailable" (and 1 more)'],
    ['a matrix', json(200, { status: 'success', data: { resultType: 'matrix', result: [] } }), 'unexpected-result', 'expected a vector or a scalar, got "matrix"'],
    ['two series', vector('1', '2'), 'unexpected-result', 'expected at most one series, got 2'],
    ['a sample without a value', json(200, { status: 'success', data: { resultType: 'vector', result: [{ metric: {} }] } }), 'unexpected-result',
      'expected a sample value as a string, got null'],
    ['NaN', vector('NaN'), 'not-a-number', 'answered NaN, not a finite number'],
    ['+Inf', vector('+Inf'), 'not-a-number', 'answered +Inf, not a finite number'],
    ['an empty value', vector(''), 'not-a-number', 'answered , not a finite number'],
    // Number() would read these as 100, 0 and 5
    ['a hexadecimal value', vector('0x64'), 'not-a-number', 'answered 0x64, not a finite number'],
    ['a binary value', vector('0b0'), 'not-a-number', 'answered 0b0, not a finite number'],
    ['a value padded with spaces', vector(' 5 '), 'not-a-number', 'answered  5 , not a finite number'],
    // a broken store or rule: read as it stands, a negative error count made requests that never happened
    ['a negative count', vector('-300'), 'unexpected-result', 'answered -300, below 0, which no count, latency or state the gate reads can be'],
    ['a negative latency', vector('-0.9'), 'unexpected-result', 'answered -0.9, below 0, which no count, latency or state the gate reads can be'],
  ];
  test.each([['12', 12], ['0.25', 0.25], ['1e+06', 1e6], ['2.5E-3', 0.0025], ['+7', 7], ['-0', 0], ['.5', 0.5]])(
    'a decimal or exponent value is read: %s', async (text, value) => {
      answer = vector(text);
      expect(await queryValue({ url: base, timeoutMs: 2000 }, 'q', TIME)).toBe(value);
    });
  test.each(failures)('%s: %s', async (_name, reply, kind, message) => {
    answer = reply;
    const error = await queryValue({ url: base, timeoutMs: 2000 }, 'q', TIME).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrometheusError);
    expect(error).toMatchObject({ kind, query: 'q', message: `prometheus at ${base}: ${message}` });
  });

  test('no answer within the timeout: timeout, on time', async () => {
    answer = () => undefined;
    const started = Date.now();
    const error = await queryValue({ url: base, timeoutMs: 1000 }, 'q', TIME).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'timeout', message: expect.stringContaining('no answer within 1s ') });
    expect(Date.now() - started).toBeLessThan(8000);
  });

  test('nobody listening: unreachable, with the cause', async () => {
    const url = `http://127.0.0.1:${DOWN_PORT}`;
    const error = await queryValue({ url, timeoutMs: 2000 }, 'q', TIME).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unreachable', message: `prometheus at ${url}: unreachable (ECONNREFUSED); check --prometheus-url or PROMETHEUS_URL` });
  });
});
