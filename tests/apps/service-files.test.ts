import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CANARY_PIN as DEMO_PIN, ENV, GATEWAY_PATHS, HEADERS, IMAGE, OTEL_ENV, METRICS, PATHS, SERVICES, ServiceName, TRACKS,
  minTerminationGracePeriodSeconds,
} from '../../apps/contract';
import { OTEL_ENV as PLATFORM_OTEL_ENV } from '../../lib/constructs/private/telemetry';
import { CANARY_PIN, TRACKS as PLATFORM_TRACKS } from '../../lib/slo/vocabulary';
import { repoServices } from '../support/manifest';

// the demo's facts reach the manifests only through its service files (services/gateway.yaml, services/backend.yaml):
// these tests hold those files to the demo's run contract, so that neither can drift from the other
const DEMO = Object.keys(SERVICES) as ServiceName[];
const services = repoServices();

describe.each(DEMO)('services/%s.yaml matches the demo\'s run contract (apps/contract.ts)', name => {
  const spec = services[name];

  test('it exists, with the image its Dockerfile builds', () => {
    expect(spec).toBeDefined();
    expect(fs.existsSync(path.join(__dirname, '..', '..', 'apps', name, 'Dockerfile'))).toBe(true);
    expect(spec.image).toMatch(new RegExp(`/obs-canary-${name}$`));
  });

  test('the port it listens on, the probes on its health paths, the uid of the image', () => {
    expect(spec.port).toBe(SERVICES[name].defaultPort);
    expect(spec.probes).toEqual({ readiness: { http: PATHS.readiness }, liveness: { http: PATHS.liveness } });
    expect(spec.runAsUser).toBe(IMAGE.runAsUser);
    expect(spec.runAsGroup ?? spec.runAsUser).toBe(IMAGE.runAsGroup);
    expect(spec.writablePaths ?? []).toEqual([]);
  });

  test('the grace period outlasts its shutdown budget', () => {
    expect(spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(minTerminationGracePeriodSeconds());
  });

  test('its own metrics: the names it exports, scraped on its port and path, without probes and scrapes', () => {
    expect(spec.metrics.http).toEqual({
      requests: METRICS.requestsTotal, duration: METRICS.requestDuration, durationUnit: 'seconds', codeLabel: 'status_code', routeLabel: 'route',
      ignoreRoutes: Object.values(PATHS), scrape: { port: SERVICES[name].defaultPort, path: PATHS.metrics },
    });
    expect(METRICS.labelNames).toEqual(expect.arrayContaining(['status_code', 'route', 'version']));
  });

  test('its variables are ones it reads; the track comes from the pod\'s label', () => {
    const known: string[] = Object.values(ENV);
    for (const variable of Object.keys(spec.env ?? {})) expect([variable, known.includes(variable)]).toEqual([variable, true]);
    expect(spec.env?.[ENV.appVersion]).toEqual({ fieldRef: 'metadata.labels[\'version\']' });
  });
});

test('the gateway calls the backend at its in-cluster URL, within a budget below the backend\'s route timeout', () => {
  expect(services.gateway.env?.[ENV.backendUrl]).toEqual({ serviceUrl: 'backend' });
  expect(services.backend.callers).toEqual(['gateway']);
  const budget = Number(services.gateway.env?.[ENV.backendTimeoutMs]);
  const seconds = (t: string) => (t.endsWith('ms') ? Number(t.slice(0, -2)) / 1000 : Number(t.slice(0, -1)));
  expect(budget).toBeGreaterThan(0);
  expect(seconds(services.backend.timeout ?? '5s') * 1000).toBeGreaterThan(budget);
  expect(seconds(services.gateway.timeout ?? '5s') * 1000).toBeGreaterThan(seconds(services.backend.timeout ?? '5s') * 1000);
});

test('the gateway trusts the one X-Forwarded-For entry Istio\'s ingress gateway appends; the backend, called only inside the mesh, none', () => {
  expect(services.gateway.env?.[ENV.trustedProxyCount]).toBe('1');
  expect(services.backend.env?.[ENV.trustedProxyCount]).toBeUndefined();
});

test('the gateway exposes exactly its page, the page\'s script and its API: everything a browser at the edge loads', () => {
  expect(services.gateway.expose?.paths).toEqual(Object.values(GATEWAY_PATHS));
});

test('the demo forwards the platform\'s canary pin and knows its tracks', () => {
  expect(HEADERS.canary).toBe(CANARY_PIN.header);
  // what SMOKE_CANARY=1 sends
  expect(DEMO_PIN).toEqual(CANARY_PIN);
  expect(TRACKS).toEqual(PLATFORM_TRACKS);
});

test('the OpenTelemetry variables the demo documents are the standard ones the platform sets', () => {
  for (const [key, name] of Object.entries(PLATFORM_OTEL_ENV)) {
    if (key in OTEL_ENV) expect([key, OTEL_ENV[key as keyof typeof OTEL_ENV]]).toEqual([key, name]);
  }
  expect(Object.keys(PLATFORM_OTEL_ENV).filter(k => k in OTEL_ENV)).toHaveLength(5);
});
