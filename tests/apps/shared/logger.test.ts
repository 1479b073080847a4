import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { crashLogger, traceFields } from '../../../apps/shared/logger';
import { captureLogger } from '../support/log-capture';

test('crashLogger: a crash is logged at level silent too, redacted like every line; nothing else is', () => {
  const { logger, lines } = captureLogger('gateway', 'silent');
  logger.error('below the level');
  crashLogger(logger).fatal({ err: { message: 'GET /x?access_token=abc failed' } }, 'crashed');
  expect(lines).toEqual([expect.objectContaining({ level: 'fatal', service: 'gateway', msg: 'crashed', err: { message: 'GET /x?access_token=[redacted] failed' } })]);
});

describe('createLogger', () => {
  test('writes JSON lines with a string level, an ISO time, msg and the service', () => {
    const { logger, lines } = captureLogger('gateway', 'info');
    logger.info({ n: 1 }, 'hello');
    logger.debug('below the level');
    expect(lines).toEqual([{ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), service: 'gateway', n: 1, msg: 'hello' }]);
  });

  test('has no trace fields outside a span', () => {
    const { logger, lines } = captureLogger();
    logger.info('no span');
    expect(lines[0].trace_id).toBeUndefined();
  });

  test('redacts authorization and cookie headers, password and token fields, at any depth', () => {
    const { logger, lines } = captureLogger();
    logger.info({
      headers: { authorization: 'Bearer abc', cookie: 'sid=1', 'set-cookie': ['sid=2'], 'x-api-key': 'k', accept: 'text/html' },
      body: { user: { password: 'hunter2', refresh_token: 'r', name: 'kim' } },
      token: 't',
    }, 'login');
    expect(lines[0]).toMatchObject({
      headers: { authorization: '[redacted]', cookie: '[redacted]', 'set-cookie': '[redacted]', 'x-api-key': '[redacted]', accept: 'text/html' },
      body: { user: { password: '[redacted]', refresh_token: '[redacted]', name: 'kim' } },
      token: '[redacted]',
    });
  });

  test('replaces e-mail addresses in messages, fields and errors, also URL-encoded ones', () => {
    const { logger, lines } = captureLogger();
    logger.warn({ to: ['kim@example.co.kr'], path: '/x?mail=lee%40example.com' }, 'mail to park.j+tag@example.com failed');
    logger.error({ err: new Error('no such user choi@example.org') }, 'lookup');
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/example\.(co\.kr|com|org)/);
    expect(lines[0]).toMatchObject({ to: ['[email]'], path: '/x?mail=[email]', msg: 'mail to [email] failed' });
    expect(lines[1].err).toMatchObject({ type: 'Error', message: 'no such user [email]', stack: expect.stringContaining('[email]') });
  });

  test('leaves the trace fields alone, even a span id of decimal digits only that looks like a card number', () => {
    const { logger, lines } = captureLogger();
    logger.info({ trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: '4111111111111111', note: 'card 4111111111111111' }, 'request');
    expect(lines[0]).toMatchObject({ trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: '4111111111111111', note: 'card [card]' });
  });

  test('removes credential query parameters inside strings', () => {
    const { logger, lines } = captureLogger();
    logger.info({ query: 'departure=ICN&access_token=abc&password=pw&tokens=3' }, 'request');
    expect(lines[0].query).toBe('departure=ICN&access_token=[redacted]&password=[redacted]&tokens=[redacted]');
  });
});

describe('traceFields', () => {
  test('reads trace id, span id and sampled flag of the active span', () => {
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED });
    expect(traceFields(trace.setSpan(ROOT_CONTEXT, span))).toEqual({
      trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331', trace_flags: '01',
    });
  });

  test('marks an unsampled span with 00 and ignores an invalid one', () => {
    const unsampled = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE });
    expect(traceFields(trace.setSpan(ROOT_CONTEXT, unsampled))).toMatchObject({ trace_flags: '00' });
    const invalid = trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: TraceFlags.SAMPLED });
    expect(traceFields(trace.setSpan(ROOT_CONTEXT, invalid))).toEqual({});
  });
});
