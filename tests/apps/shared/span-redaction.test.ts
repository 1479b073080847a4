import type { IncomingMessage } from 'node:http';
import { ROOT_CONTEXT, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createServiceApp } from '../../../apps/shared/service-app';
import {
  RedactingSpanExporter, clientAddress, incomingSpanAttributes, outgoingSpanAttributes, redactSpan,
} from '../../../apps/shared/span-redaction';
import { createPropagator } from '../../../apps/shared/tracing';
import { Served, get, serve } from '../support/http';
import { captureLogger } from '../support/log-capture';
import { FIXTURE_HEADERS, FIXTURE_QUERY, FIXTURE_QUERY_REDACTED, SECRETS, leakedIn } from '../../support/privacy-fixtures';

const SPOOFED = '203.0.113.66';
const INGRESS_SEEN = '198.51.100.7';

describe('clientAddress', () => {
  test.each([
    [undefined, 1, '10.0.0.9'],
    [INGRESS_SEEN, 0, '10.0.0.9'],
    [INGRESS_SEEN, 1, INGRESS_SEEN],
    [`${SPOOFED}, ${INGRESS_SEEN}`, 1, INGRESS_SEEN],
    [`${SPOOFED}, ${INGRESS_SEEN}, 10.1.0.1`, 2, INGRESS_SEEN],
    [`${SPOOFED},${INGRESS_SEEN}`, 5, SPOOFED],
    [[SPOOFED, INGRESS_SEEN], 1, INGRESS_SEEN],
    [`${SPOOFED}, `, 1, '10.0.0.9'],
  ])('X-Forwarded-For %p with %p trusted proxies: %s', (header, trusted, expected) => {
    expect(clientAddress(header, '10.0.0.9', trusted)).toBe(expected);
  });

  describe('agrees with the ip Koa logs for the same request', () => {
    const served: Record<number, Served> = {};
    beforeAll(async () => {
      for (const trusted of [0, 1, 2]) {
        const { app } = createServiceApp({ logger: captureLogger().logger, version: 'stable', trustedProxyCount: trusted }, router => {
          router.get('/ip', ctx => {
            ctx.body = { ip: ctx.ip, socket: ctx.req.socket.remoteAddress };
          });
        });
        served[trusted] = await serve(app);
      }
    });
    afterAll(async () => Promise.all(Object.values(served).map(async s => s.close())));

    test.each([
      [0, `${SPOOFED}, ${INGRESS_SEEN}`], [1, `${SPOOFED}, ${INGRESS_SEEN}`], [2, `${SPOOFED}, ${INGRESS_SEEN}`], [1, ''], [2, INGRESS_SEEN],
    ])('%p trusted proxies, X-Forwarded-For %p', async (trusted, header) => {
      const { body } = await get(`${served[trusted].url}/ip`, header === '' ? {} : { 'x-forwarded-for': header });
      expect(body.ip).toBe(clientAddress(header === '' ? undefined : header, body.socket, trusted));
    });

    test('by default the header is not read at all', async () => {
      const { app } = createServiceApp({ logger: captureLogger().logger, version: 'stable' }, router => {
        router.get('/ip', ctx => {
          ctx.body = { ip: ctx.ip };
        });
      });
      const plain = await serve(app);
      try {
        expect((await get(`${plain.url}/ip`, { 'x-forwarded-for': SPOOFED })).body.ip).not.toBe(SPOOFED);
      } finally {
        await plain.close();
      }
    });
  });
});

describe('incomingSpanAttributes (the server span)', () => {
  const request = (url: string, headers: Record<string, string>) =>
    ({ url, headers, socket: { remoteAddress: '127.0.0.6' } }) as unknown as IncomingMessage;

  test('records the query and user agent as the access log has them, and the trusted client address', () => {
    const attributes = incomingSpanAttributes(
      request(`/api/flight/timetable?${FIXTURE_QUERY}`, { ...FIXTURE_HEADERS, 'x-forwarded-for': `${SPOOFED}, ${INGRESS_SEEN}` }), 1,
    );
    expect(attributes).toEqual({
      'client.address': INGRESS_SEEN,
      'url.query': FIXTURE_QUERY_REDACTED,
      'user_agent.original': 'fixture-crawler/1.0 (+mailto:[email])',
    });
  });

  test('without a query, user agent or proxy: only the peer', () => {
    expect(incomingSpanAttributes(request('/api/flight/airports?', {}), 0)).toEqual({ 'client.address': '127.0.0.6' });
  });
});

test('outgoingSpanAttributes scrubs the URL of a client span', () => {
  expect(outgoingSpanAttributes({ origin: 'http://backend:8081', path: `/v1/routes?departure=ICN&email=${encodeURIComponent(SECRETS.email)}` }))
    .toEqual({ 'url.full': 'http://backend:8081/v1/routes?departure=ICN&email=[email]', 'url.query': '?departure=ICN&email=[email]' });
  expect(outgoingSpanAttributes({ origin: 'http://backend:8081', path: '/v1/airports' })).toEqual({ 'url.full': 'http://backend:8081/v1/airports' });
  expect(outgoingSpanAttributes({ origin: 'not a url', path: '/' })).toEqual({});
});

describe('RedactingSpanExporter', () => {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: new RedactingSpanExporter(memory) })] });
  const tracer = provider.getTracer('test');
  afterAll(async () => provider.shutdown());

  test('every string that leaves is scrubbed: name, status message, attributes, event and link attributes', () => {
    const linked = trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 }).spanContext();
    const span = tracer.startSpan(`GET /download/${SECRETS.jwt}`, {
      attributes: {
        'url.full': `http://gateway/api?${FIXTURE_QUERY}`,
        'http.request.header.cookie': [FIXTURE_HEADERS.cookie],
        'http.request.header.authorization': [FIXTURE_HEADERS.authorization],
        'app.cards': [SECRETS.cardPlain, SECRETS.cardDashed],
        'http.response.status_code': 502,
      },
      links: [{ context: linked, attributes: { 'link.note': `from ${SECRETS.email}` } }],
    });
    span.addEvent('exception', { 'exception.message': `upstream rejected Bearer ${SECRETS.bearerToken} for ${SECRETS.email}` });
    span.setStatus({ code: SpanStatusCode.ERROR, message: `card ${SECRETS.cardSpaced} declined` });
    span.end();

    const [exported] = memory.getFinishedSpans();
    // the span as recorded held every secret; what left holds none
    expect(leakedIn(JSON.stringify({ name: `GET /download/${SECRETS.jwt}`, url: FIXTURE_QUERY }))).toEqual(expect.arrayContaining(['jwt', 'accessToken']));
    const { name, status, attributes, events, links } = exported;
    expect(leakedIn(JSON.stringify({ name, status, attributes, events, links }))).toEqual([]);
    expect(name).toBe('GET /download/[redacted]');
    expect(status).toEqual({ code: SpanStatusCode.ERROR, message: 'card [card] declined' });
    expect(attributes).toEqual({
      'url.full': `http://gateway/api?${FIXTURE_QUERY_REDACTED}`,
      'http.request.header.cookie': '[redacted]',
      'http.request.header.authorization': '[redacted]',
      'app.cards': ['[card]', '[card]'],
      'http.response.status_code': 502,
    });
    expect(events[0].attributes).toEqual({ 'exception.message': 'upstream rejected Bearer [redacted] for [email]' });
    expect(links[0]).toMatchObject({ context: linked, attributes: { 'link.note': 'from [email]' } });
  });

  test('ids, times, kind, resource and scope are the span\'s own', () => {
    memory.reset();
    const span = tracer.startSpan('plain', { attributes: { n: 1 } });
    span.end();
    const original = (span as unknown as { spanContext(): unknown }).spanContext();
    const [exported] = memory.getFinishedSpans();
    expect(exported.spanContext()).toEqual(original);
    const copy = redactSpan(exported);
    for (const key of ['kind', 'startTime', 'endTime', 'duration', 'ended', 'resource', 'instrumentationScope', 'droppedAttributesCount'] as const) {
      expect(copy[key]).toBe(exported[key]);
    }
  });
});

describe('createPropagator: trace context, no baggage, no caller\'s tracestate', () => {
  const propagator = createPropagator();

  test('reads and writes only traceparent and tracestate', () => {
    expect(propagator.fields()).toEqual(['traceparent', 'tracestate']);
  });

  test('an incoming baggage header is not read, so nothing of it is passed on', () => {
    const incoming = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', baggage: FIXTURE_HEADERS.baggage };
    const extracted = propagator.extract(ROOT_CONTEXT, incoming, defaultTextMapGetter);
    expect(propagation.getBaggage(extracted)).toBeUndefined();
    expect(trace.getSpanContext(extracted)?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const outgoing: Record<string, string> = {};
    const withBaggage = propagation.setBaggage(extracted, propagation.createBaggage({ 'user.id': { value: SECRETS.baggageUser } }));
    propagator.inject(withBaggage, outgoing, defaultTextMapSetter);
    expect(Object.keys(outgoing)).toEqual(['traceparent']);
  });

  test('an incoming tracestate is dropped: free text a client chooses reaches no span and no later hop; the trace goes on', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const incoming = { traceparent, tracestate: `acme=${SECRETS.jwt},mail=${SECRETS.email.replace('@', '.at.')}` };
    const extracted = propagator.extract(ROOT_CONTEXT, incoming, defaultTextMapGetter);
    expect(trace.getSpanContext(extracted)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
    const outgoing: Record<string, string> = {};
    propagator.inject(extracted, outgoing, defaultTextMapSetter);
    expect(outgoing).toEqual({ traceparent });
  });
});
