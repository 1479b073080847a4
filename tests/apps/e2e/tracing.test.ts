// Both services as real processes exporting to a real OTLP/gRPC receiver.
import { OtlpReceiver, ReceivedSpan, SpanKind, StatusCode } from '../support/otlp-receiver';
import { DOWN_PORT } from '../../support/ports';
import { ServiceProcess, startServiceProcess } from '../support/service-process';

const TRACE_ID = /^[0-9a-f]{32}$/;

let receiver: OtlpReceiver;
let backend: ServiceProcess;
let gateway: ServiceProcess;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_RESOURCE_ATTRIBUTES: 'service.version=1.2.3,deployment.environment=test' };
  backend = await startServiceProcess('backend', { env: otel });
  gateway = await startServiceProcess('gateway', { env: { ...otel, BACKEND_URL: backend.url, LOG_LEVEL: 'debug' } });
}, 60_000);

afterAll(async () => {
  await Promise.all([gateway?.stop(), backend?.stop()]);
  receiver?.close();
});

function only(spans: ReceivedSpan[], predicate: (span: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(predicate);
  if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length}: ${JSON.stringify(spans.map(s => [s.service, s.name, s.kind]))}`);
  return found[0];
}

/** Gateway server, gateway client and backend server spans of one trace, once all three arrived. */
interface Hops { gatewayServer: ReceivedSpan; gatewayClient: ReceivedSpan; backendServer: ReceivedSpan; all: ReceivedSpan[] }

async function hops(traceId: string): Promise<Hops> {
  const has = (service: string, kind: number) => (s: ReceivedSpan) => s.service === service && s.kind === kind;
  await receiver.waitForSpans(() => {
    const spans = receiver.trace(traceId);
    return spans.some(has('gateway', SpanKind.SERVER)) && spans.some(has('gateway', SpanKind.CLIENT)) && spans.some(has('backend', SpanKind.SERVER));
  });
  const all = receiver.trace(traceId);
  return {
    gatewayServer: only(all, has('gateway', SpanKind.SERVER), 'gateway server span'),
    gatewayClient: only(all, has('gateway', SpanKind.CLIENT), 'gateway client span'),
    backendServer: only(all, has('backend', SpanKind.SERVER), 'backend server span'),
    all,
  };
}

function ancestors(span: ReceivedSpan, spans: ReceivedSpan[]): string[] {
  const ids: string[] = [];
  for (let parent = span.parentSpanId; parent !== '';) {
    ids.push(parent);
    parent = spans.find(s => s.spanId === parent)?.parentSpanId ?? '';
  }
  return ids;
}

describe('one request through gateway and backend', () => {
  let traceId: string;
  let spans: Hops;

  beforeAll(async () => {
    const response = await fetch(`${gateway.url}/api/flight/timetable?dep=ICN&arr=GMP`);
    expect(response.status).toBe(200);
    traceId = response.headers.get('x-trace-id') ?? '';
    spans = await hops(traceId);
  });

  test('X-Trace-ID is the 32-hex id of the exported trace', () => {
    expect(traceId).toMatch(TRACE_ID);
    expect(spans.all.length).toBeGreaterThanOrEqual(3);
  });

  test('the backend server span is a child of the gateway client span, which descends from the gateway server span', () => {
    expect(spans.backendServer.parentSpanId).toBe(spans.gatewayClient.spanId);
    expect(ancestors(spans.gatewayClient, spans.all)).toContain(spans.gatewayServer.spanId);
    expect(spans.gatewayServer.parentSpanId).toBe('');
  });

  test('three spans: each server span named by its route, one client span for the backend call', () => {
    expect(spans.gatewayServer.name).toBe('GET /api/flight/timetable');
    expect(spans.gatewayServer.attributes['http.route']).toBe('/api/flight/timetable');
    expect(spans.backendServer.name).toBe('GET /v1/timetable');
    expect(spans.backendServer.attributes['http.route']).toBe('/v1/timetable');
    expect(spans.gatewayClient.scope).toBe('@opentelemetry/instrumentation-undici');
    expect(spans.gatewayServer.scope).toBe('@opentelemetry/instrumentation-http');
    // no koa layer spans: a router span would only repeat the server span's route and timing
    expect(spans.all).toHaveLength(3);
  });

  test('the resource carries the service name and OTEL_RESOURCE_ATTRIBUTES', () => {
    expect(spans.gatewayServer.resource).toMatchObject({ 'service.name': 'gateway', 'service.version': '1.2.3', 'deployment.environment': 'test' });
    expect(spans.backendServer.resource).toMatchObject({ 'service.name': 'backend', 'service.version': '1.2.3' });
  });

  test('the access-log lines of both services carry the trace id', async () => {
    const access = (service: ServiceProcess) => service.waitForLog(l => l.msg === 'request' && l.trace_id === traceId, `access line of ${traceId}`);
    const [gatewayLine, backendLine] = await Promise.all([access(gateway), access(backend)]);
    expect(gatewayLine).toMatchObject({ level: 'info', route: '/api/flight/timetable', status: 200, trace_flags: '01' });
    expect(backendLine).toMatchObject({ level: 'info', route: '/v1/timetable', status: 200, request_id: gatewayLine.request_id });
    expect(backendLine.span_id).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('incoming trace context', () => {
  test('a valid traceparent is continued', async () => {
    const parentTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${gateway.url}/api/flight/airports`, { headers: { traceparent: `00-${parentTraceId}-00f067aa0ba902b7-01` } });
    expect(response.headers.get('x-trace-id')).toBe(parentTraceId);
    const { gatewayServer } = await hops(parentTraceId);
    expect(gatewayServer.parentSpanId).toBe('00f067aa0ba902b7');
  });

  test('a malformed traceparent is served under a new, valid trace', async () => {
    const response = await fetch(`${gateway.url}/api/flight/routes?departure=GMP`, { headers: { traceparent: '00-zzzz-not-a-traceparent-01' } });
    expect(response.status).toBe(200);
    const traceId = response.headers.get('x-trace-id') ?? '';
    expect(traceId).toMatch(TRACE_ID);
    const { gatewayServer, backendServer, gatewayClient } = await hops(traceId);
    expect(gatewayServer.parentSpanId).toBe('');
    expect(backendServer.parentSpanId).toBe(gatewayClient.spanId);
  });

  test('every request gets its own trace id', async () => {
    const ids = await Promise.all([1, 2, 3].map(async () => (await fetch(`${gateway.url}/api/flight/airports`)).headers.get('x-trace-id')));
    expect(new Set(ids).size).toBe(3);
  });
});

test('an unmatched path keeps the plain method as its span name and no route', async () => {
  const response = await fetch(`${gateway.url}/no/such/path`);
  expect(response.status).toBe(404);
  const [server] = await receiver.waitForSpans(() => receiver.trace(response.headers.get('x-trace-id') ?? '').length === 1)
    .then(() => receiver.trace(response.headers.get('x-trace-id') ?? ''));
  expect([server.name, server.attributes['http.route']]).toEqual(['GET', undefined]);
});

test('a 5xx marks the server span as failed and records why as an exception event', async () => {
  const unreachable = await startServiceProcess('gateway', {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, BACKEND_URL: `http://127.0.0.1:${DOWN_PORT}` },
  });
  try {
    const response = await fetch(`${unreachable.url}/api/flight/airports`);
    expect(response.status).toBe(502);
    const traceId = response.headers.get('x-trace-id') ?? '';
    await receiver.waitForSpans(() => receiver.trace(traceId).some(s => s.kind === SpanKind.SERVER));
    const server = receiver.trace(traceId).find(s => s.kind === SpanKind.SERVER)!;
    expect([server.name, server.status]).toEqual(['GET /api/flight/airports', StatusCode.ERROR]);
    expect(server.events.map(e => e.name)).toEqual(['exception']);
    // the error's code is the exception type (the SDK prefers `code` to the class name)
    expect(server.events[0].attributes['exception.type']).toBe('backend_unavailable');
    expect(server.events[0].attributes['exception.message']).toEqual(expect.any(String));
  } finally {
    await unreachable.stop();
  }
});

test('probes and scrapes are not traced', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    const response = await fetch(`${gateway.url}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trace-id')).toBeNull();
  }
  // a traced request afterwards: once its spans are in, any probe span would have been exported too
  const marker = (await fetch(`${gateway.url}/api/flight/airports`)).headers.get('x-trace-id') ?? '';
  await hops(marker);
  const paths = receiver.spans.filter(s => s.service === 'gateway' && s.kind === SpanKind.SERVER).map(s => s.attributes['url.path']);
  expect(paths.filter(p => p === '/healthz' || p === '/readyz' || p === '/metrics')).toEqual([]);
});

test('credentials and e-mail addresses never reach the log, even at debug level with headers', async () => {
  const response = await fetch(`${gateway.url}/api/flight/routes?departure=ICN&contact=jane.doe@example.com&access_token=t0ken-value`, {
    headers: { authorization: 'Bearer s3cret-value', cookie: 'session=c00kie-value', 'x-request-id': 'redaction-check' },
  });
  expect(response.status).toBe(200);
  const line = await gateway.waitForLog(l => l.request_id === 'redaction-check' && l.msg === 'request', 'access line of the redaction check');
  expect(line.headers).toMatchObject({ authorization: '[redacted]', cookie: '[redacted]' });
  expect(line.query).toBe('departure=ICN&contact=[email]&access_token=[redacted]');
  const everything = JSON.stringify([...gateway.logs, ...backend.logs]);
  for (const secret of ['s3cret-value', 'c00kie-value', 'jane.doe@example.com', 't0ken-value']) expect(everything).not.toContain(secret);
});

describe('sampler from OTEL_TRACES_SAMPLER', () => {
  let unsampled: ServiceProcess;

  beforeAll(async () => {
    unsampled = await startServiceProcess('gateway', {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0', BACKEND_URL: backend.url },
    });
  }, 30_000);
  afterAll(async () => unsampled?.stop());

  test('ratio 0: the request still has a trace id (flagged 00 in both logs) but nothing is exported', async () => {
    const response = await fetch(`${unsampled.url}/api/flight/airports`);
    const traceId = response.headers.get('x-trace-id') ?? '';
    expect(traceId).toMatch(TRACE_ID);
    await unsampled.waitForLog(l => l.msg === 'request' && l.trace_id === traceId && l.trace_flags === '00', 'unsampled access line');
    await backend.waitForLog(l => l.msg === 'request' && l.trace_id === traceId && l.trace_flags === '00', 'unsampled backend access line');
    // parent-based: a sampled caller is followed, so these spans arrive, after any of the unsampled request
    const sampledTrace = '5bf92f3577b34da6a3ce929d0e0e4737';
    await fetch(`${unsampled.url}/api/flight/airports`, { headers: { traceparent: `00-${sampledTrace}-00f067aa0ba902b7-01` } });
    await hops(sampledTrace);
    expect(receiver.trace(traceId)).toEqual([]);
  });
});
