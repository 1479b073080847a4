import { METRICS } from '../../../apps/contract';
import { createHttpMetrics } from '../../../apps/shared/http-metrics';
import { createServiceApp } from '../../../apps/shared/service-app';
import { get, serve } from '../support/http';
import { captureLogger } from '../support/log-capture';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

describe('createHttpMetrics', () => {
  test('counts and times requests with method, route, status_code and version labels', async () => {
    const metrics = createHttpMetrics('canary');
    metrics.record({ method: 'GET', route: '/api/flight/routes', status: 404, seconds: 0.2 });
    const { contentType, body } = await metrics.scrape(undefined);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const labels = 'method="GET",route="/api/flight/routes",status_code="404",version="canary"';
    expect(body).toContain(`http_requests_total{${labels}} 1`);
    expect(body).toContain(`http_request_duration_seconds_bucket{le="0.25",${labels}} 1`);
    expect(body).toContain(`http_request_duration_seconds_bucket{le="0.1",${labels}} 0`);
    expect(body).toContain(`http_request_duration_seconds_count{${labels}} 1`);
  });

  test('has fixed buckets that include the SLO threshold', async () => {
    const metrics = createHttpMetrics('stable');
    metrics.record({ method: 'GET', route: '/r', status: 200, seconds: 0.001 });
    const { body } = await metrics.scrape(undefined);
    const bounds = [...body.matchAll(/http_request_duration_seconds_bucket\{le="([^"]+)"/g)].map(m => m[1]);
    expect(bounds).toEqual([...METRICS.buckets.map(String), '+Inf']);
    expect(bounds).toContain(String(METRICS.sloLatencySeconds));
  });

  test('attaches the trace id as exemplar when scraped as OpenMetrics', async () => {
    const metrics = createHttpMetrics('stable');
    metrics.record({ method: 'GET', route: '/r', status: 200, seconds: 0.02, traceId: TRACE });
    const { contentType, body } = await metrics.scrape('application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4');
    expect(contentType).toBe(OPENMETRICS);
    expect(body).toMatch(new RegExp(`^http_requests_total\\{[^}]+\\} 1 # \\{trace_id="${TRACE}"\\} 1 [\\d.]+$`, 'm'));
    expect(body).toMatch(new RegExp(`^http_request_duration_seconds_bucket\\{le="0.025",[^}]+\\} 1 # \\{trace_id="${TRACE}"\\} 0.02 [\\d.]+$`, 'm'));
    expect(body.trimEnd().endsWith('# EOF')).toBe(true);
  });

  test('keeps the classic format (and the _total name) after an OpenMetrics scrape', async () => {
    const metrics = createHttpMetrics('stable');
    metrics.record({ method: 'GET', route: '/r', status: 200, seconds: 0.02, traceId: TRACE });
    await metrics.scrape('application/openmetrics-text');
    const { body } = await metrics.scrape('text/plain');
    expect(body).toContain('# TYPE http_requests_total counter');
    expect(body).toMatch(/^http_requests_total\{[^}]+\} 1$/m);
    expect(body).not.toContain('trace_id');
  });

  test('collapses unknown methods into OTHER', async () => {
    const metrics = createHttpMetrics('stable');
    metrics.record({ method: 'BREW', route: 'unmatched', status: 404, seconds: 0.001 });
    expect((await metrics.scrape(undefined)).body).toContain('http_requests_total{method="OTHER",route="unmatched",status_code="404",version="stable"} 1');
  });
});

describe('/metrics of a service app', () => {
  test('counts API requests by route template, unmatched ones as "unmatched", and not probes or scrapes', async () => {
    const { app } = createServiceApp({ logger: captureLogger().logger, version: 'stable' });
    const served = await serve(app);
    try {
      for (const path of ['/healthz', '/readyz', '/metrics', '/nowhere', '/nowhere/else']) await get(`${served.url}${path}`);
      const { status, headers, body } = await get(`${served.url}/metrics`);
      expect(status).toBe(200);
      expect(headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(body).toContain('http_requests_total{method="GET",route="unmatched",status_code="404",version="stable"} 2');
      expect(body).not.toMatch(/route="\/(healthz|readyz|metrics)"/);
      const openMetrics = await get(`${served.url}/metrics`, { accept: 'application/openmetrics-text; version=1.0.0' });
      expect(openMetrics.headers.get('content-type')).toBe(OPENMETRICS);
    } finally {
      await served.close();
    }
  });
});
