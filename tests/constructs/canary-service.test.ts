import { Chart, Duration, Size } from 'cdk8s';
import { CanaryService, Exposure } from '../../lib/constructs/canary-service';
import { ServiceContainer } from '../../lib/constructs/types';
import { imageVersion } from '../../lib/constructs/private/service-deployment';
import { TrafficSplit } from '../../lib/constructs/traffic-split';
import { synth, testApp, testChart } from '../support/chart';
import { K8sObject, find, ofKind } from '../support/manifest';
import { DELIVERY_DEFAULTS } from '../../lib/rollout/defaults';
import { ISTIO_DURATION_BUCKETS_MS } from '../../lib/slo/vocabulary';

const CONTAINER: ServiceContainer = {
  port: 8081,
  protocol: 'http',
  readiness: { http: '/readyz' },
  liveness: { http: '/healthz' },
  runAsUser: 1000,
  runAsGroup: 1000,
  writablePaths: [],
  env: { LOG_LEVEL: 'info', APP_VERSION: { fieldRef: 'metadata.labels[\'version\']' } },
  secretEnv: [],
  resources: { cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequest: Size.mebibytes(96), memoryLimit: Size.mebibytes(256) },
  terminationGracePeriodSeconds: 30,
  metricsScrape: { port: 8081, path: '/metrics' },
};

const BASE = {
  name: 'backend',
  container: CONTAINER,
  stableImage: 'registry.example.com/backend:1.0.0',
  telemetry: { otlpEndpoint: 'http://otel-collector.observability.svc.cluster.local:4317', samplingRatio: 1, environment: 'local' },
};

function render(props: Partial<ConstructorParameters<typeof CanaryService>[2]> = {}) {
  const chart = testChart('apps');
  const service = new CanaryService(chart, 'Backend', { ...BASE, ...props });
  return { service, all: synth(chart) };
}

const canary = { canaryImage: 'registry.example.com/backend:1.1.0', split: TrafficSplit.canary(25) };
const EXPOSE: Exposure = { gateway: 'apps/edge', hosts: ['api.example.com'], paths: ['/', '/api/*'] };
const PIN = { 'x-canary': { exact: 'always' } };
const INGRESS = 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';

describe('CanaryService', () => {
  describe('without a canary', () => {
    const { service, all } = render();
    const stable = find(all, 'Deployment', 'backend-stable');
    const pod = stable.spec.template.spec;
    const container = pod.containers[0];
    const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    const vs = find(all, 'VirtualService', 'backend');

    test('only the stable Deployment, selecting app and version', () => {
      expect(ofKind(all, 'Deployment').map(d => d.metadata.name)).toEqual(['backend-stable']);
      expect(stable.spec.selector.matchLabels).toEqual({ app: 'backend', version: 'stable' });
      expect(stable.spec.template.metadata.labels).toEqual({ app: 'backend', version: 'stable' });
    });

    test('no app.kubernetes.io/version on pods, so Istio reports the track as the version', () => {
      expect(Object.keys(stable.spec.template.metadata.labels)).not.toContain('app.kubernetes.io/version');
    });

    test('a Service named after the service, port http, selecting app only', () => {
      const svc = find(all, 'Service', 'backend');
      expect(svc.spec.selector).toEqual({ app: 'backend' });
      expect(svc.spec.ports).toEqual([{ name: 'http', port: 8081, targetPort: 8081, protocol: 'TCP', appProtocol: 'http' }]);
      expect(service.host).toBe('backend.apps.svc.cluster.local');
      expect(service.url).toBe('http://backend.apps.svc.cluster.local:8081');
    });

    test('telemetry: OTLP gRPC endpoint, parent-based sampling, resource attributes from the downward API; the service\'s own variables', () => {
      expect(env).toMatchObject({
        LOG_LEVEL: 'info', APP_VERSION: { fieldRef: { fieldPath: 'metadata.labels[\'version\']' } }, OTEL_SERVICE_NAME: 'backend',
        OTEL_EXPORTER_OTLP_ENDPOINT: BASE.telemetry.otlpEndpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1',
        POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } }, NODE_NAME: { fieldRef: { fieldPath: 'spec.nodeName' } },
      });
      expect(env.OTEL_RESOURCE_ATTRIBUTES).toBe('service.version=1.0.0,deployment.environment=local,obs_canary.track=stable,'
        + 'k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),k8s.node.name=$(NODE_NAME)');
      const names = container.env.map((e: any) => e.name);
      expect(names.indexOf('POD_NAME')).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
      // nothing of the demo's own run contract unless the service asks for it
      expect(names).not.toContain('PORT');
    });

    test('probes on the given paths; restricted-level security with the given uid; the given grace period', () => {
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(pod.terminationGracePeriodSeconds).toBe(30);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.volumes).toBeUndefined();
    });

    test('scrape annotations for Istio\'s metrics merging; the sidecar first, and last: it stops once the app\'s connections are closed', () => {
      expect(stable.spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true', 'prometheus.io/port': '8081', 'prometheus.io/path': '/metrics',
        'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts":true,"proxyMetadata":{"EXIT_ON_ZERO_ACTIVE_CONNECTIONS":"true"}}',
      });
    });

    test('the sidecar\'s request-duration histogram has a boundary at every latency limit the gate may judge', () => {
      const buckets = JSON.parse(stable.spec.template.metadata.annotations['sidecar.istio.io/statsHistogramBuckets']);
      // keyed by a prefix of Envoy's stat names: the request duration's own, so the request and response sizes
      // (istiocustom.istio_request_bytes, …) keep Istio's buckets, which reach past 60000 bytes
      expect(Object.keys(buckets)).toEqual(['istiocustom.istio_request_duration_milliseconds']);
      const istiocustom = buckets['istiocustom.istio_request_duration_milliseconds'];
      expect(istiocustom).toEqual(ISTIO_DURATION_BUCKETS_MS);
      // the default limit, and Istio's own boundaries from 1 ms to a minute
      expect(istiocustom).toContain(DELIVERY_DEFAULTS.slo.p95LatencyMs);
      expect(istiocustom).toEqual(expect.arrayContaining([1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000]));
    });

    test('DestinationRule: the host, stable and canary subsets by version, connection pool and outlier detection', () => {
      const dr = find(all, 'DestinationRule', 'backend').spec;
      expect(dr.host).toBe('backend.apps.svc.cluster.local');
      expect(dr.subsets).toEqual([{ name: 'stable', labels: { version: 'stable' } }, { name: 'canary', labels: { version: 'canary' } }]);
      expect(dr.trafficPolicy.connectionPool.tcp.maxConnections).toBe(1024);
      expect(dr.trafficPolicy.outlierDetection).toEqual({ consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 });
    });

    test('DestinationRule: idle connections closed before the server closes them (Node.js\'s default 5s keep-alive)', () => {
      expect(find(all, 'DestinationRule', 'backend').spec.trafficPolicy.connectionPool.http.idleTimeout).toBe('4s');
    });

    test('VirtualService: mesh only, everything to stable, no canary pin, timeout and retries of requests that never reached the app', () => {
      expect(vs.spec.gateways).toEqual(['mesh']);
      expect(vs.spec.hosts).toEqual(['backend.apps.svc.cluster.local']);
      expect(vs.spec.http).toEqual([{
        name: 'weighted',
        route: [{ destination: { host: 'backend.apps.svc.cluster.local', subset: 'stable', port: { number: 8081 } }, weight: 100 }],
        timeout: '5s',
        retries: { attempts: 2, retryOn: 'connect-failure,refused-stream,reset-before-request' },
      }]);
      // `reset` would send again a request the app may have acted on
      expect(vs.spec.http[0].retries.retryOn.split(',')).not.toContain('reset');
    });

    test('snapshot', () => {
      expect(all).toMatchSnapshot();
    });
  });

  describe('with a canary', () => {
    const { all } = render({ ...canary, stableReplicas: 4 });
    const http = find(all, 'VirtualService', 'backend').spec.http;

    test('a canary Deployment with the canary image and track', () => {
      const deployment = find(all, 'Deployment', 'backend-canary');
      expect(deployment.spec.template.metadata.labels).toEqual({ app: 'backend', version: 'canary' });
      const container = deployment.spec.template.spec.containers[0];
      expect(container.image).toBe('registry.example.com/backend:1.1.0');
      expect(container.env.find((e: any) => e.name === 'OTEL_RESOURCE_ATTRIBUTES').value).toContain('obs_canary.track=canary');
    });

    test('canary replicas follow the weight: 25 % of 4 stable replicas is one', () => {
      expect(find(all, 'Deployment', 'backend-stable').spec.replicas).toBe(4);
      expect(find(all, 'Deployment', 'backend-canary').spec.replicas).toBe(1);
      expect(find(render({ ...canary, split: TrafficSplit.canary(50), stableReplicas: 4 }).all, 'Deployment', 'backend-canary').spec.replicas).toBe(2);
      // sized for a weight it does not have yet (the next step): 25 % routed, pods for 100 %
      const ahead = render({ ...canary, stableReplicas: 4, canaryCapacityPercent: 100 }).all;
      expect(find(ahead, 'Deployment', 'backend-canary').spec.replicas).toBe(4);
      // never fewer pods than the weight routed to them
      expect(() => render({ ...canary, stableReplicas: 4, canaryCapacityPercent: 10 }))
        .toThrow("[test/Backend] 'canaryCapacityPercent' must be an integer from 25 to 100, got 10");
    });

    test('x-canary: always from inside the mesh pins requests to the canary, before the weighted route', () => {
      expect(http.map((h: any) => h.name)).toEqual(['canary-pin', 'weighted']);
      expect(http[0].match).toEqual([{ headers: { 'x-canary': { exact: 'always' } }, gateways: ['mesh'] }]);
      expect(http[0].route).toEqual([{ destination: { host: 'backend.apps.svc.cluster.local', subset: 'canary', port: { number: 8081 } }, weight: 100 }]);
      // its answers say so: the gate's smoke checks accept no other
      expect(http[0].headers).toEqual({ response: { set: { 'x-obs-canary-pinned': 'canary' } } });
      expect(http[1].headers).toBeUndefined();
    });

    // 75 + 25: the exact weights are also the "sums to 100" check
    test('weights follow the split and sum to 100', () => {
      const weights = http[1].route.map((r: any) => [r.destination.subset, r.weight]);
      expect(weights).toEqual([['stable', 75], ['canary', 25]]);
    });

    test('more than one stable replica brings a disruption budget and spread for stable', () => {
      expect(ofKind(all, 'PodDisruptionBudget').map(p => [p.metadata.name, p.spec.selector.matchLabels])).toEqual([
        ['backend-stable', { app: 'backend', version: 'stable' }],
      ]);
      const stableTrack = { matchLabels: { app: 'backend', version: 'stable' } };
      const spread = find(all, 'Deployment', 'backend-stable').spec.template.spec.topologySpreadConstraints;
      expect(spread.map((c: any) => [c.topologyKey, c.labelSelector])).toEqual([
        ['kubernetes.io/hostname', stableTrack],
        ['topology.kubernetes.io/zone', stableTrack],
      ]);
      // the canary runs one replica here: no budget (it would block a drain), but the same spread as at two, so that
      // its replicas can follow its traffic without a change of its pod template
      expect(find(all, 'Deployment', 'backend-canary').spec.replicas).toBe(1);
      expect(find(all, 'Deployment', 'backend-canary').spec.template.spec.topologySpreadConstraints).toHaveLength(2);
    });

    test('one stable replica: no spread and no budget for stable (its replicas do not follow the traffic); the canary keeps its spread', () => {
      const one = render({ ...canary, stableReplicas: 1 }).all;
      expect(find(one, 'Deployment', 'backend-stable').spec.template.spec.topologySpreadConstraints).toBeUndefined();
      expect(ofKind(one, 'PodDisruptionBudget')).toEqual([]);
      expect(find(one, 'Deployment', 'backend-canary').spec.template.spec.topologySpreadConstraints).toHaveLength(2);
    });
  });

  describe('props', () => {
    test.each([
      [Duration.seconds(2), '1600ms'], [Duration.seconds(65), '52s'], [Duration.millis(1), '1ms'],
    ])('keepAliveTimeout %s: the sidecars close idle connections at four fifths of it (%s), never at 0, which Envoy reads as none', (keepAlive, idle) => {
      const { all } = render({ keepAliveTimeout: keepAlive });
      expect(find(all, 'DestinationRule', 'backend').spec.trafficPolicy.connectionPool.http.idleTimeout).toBe(idle);
    });

    test('expose: on the Gateway only the listed paths, exact or prefix; everything else from there 404; the mesh unchanged', () => {
      const { all } = render({ ...canary, expose: EXPOSE });
      const vs = find(all, 'VirtualService', 'backend').spec;
      expect(vs.gateways).toEqual(['apps/edge', 'mesh']);
      expect(vs.hosts).toEqual(['backend.apps.svc.cluster.local', 'api.example.com']);
      expect(vs.http.map((h: any) => h.name)).toEqual(['canary-pin', 'edge-pin-ignored', 'weighted', 'not-exposed']);
      expect(vs.http[2].match).toEqual([
        { gateways: ['mesh'] }, { uri: { exact: '/' }, gateways: ['apps/edge'] }, { uri: { prefix: '/api/' }, gateways: ['apps/edge'] },
      ]);
      expect(vs.http[3]).toEqual({ name: 'not-exposed', match: [{ gateways: ['apps/edge'] }], directResponse: { status: 404 } });
    });

    test('expose without pinSources: the pin works inside the mesh only; a pinned request from the Gateway takes the weighted split, unpinned', () => {
      const { all } = render({ ...canary, expose: EXPOSE });
      const http = find(all, 'VirtualService', 'backend').spec.http;
      expect(http[0].match).toEqual([{ headers: PIN, gateways: ['mesh'] }]);
      expect(http[1]).toMatchObject({
        name: 'edge-pin-ignored',
        match: [{ headers: PIN, uri: { exact: '/' }, gateways: ['apps/edge'] }, { headers: PIN, uri: { prefix: '/api/' }, gateways: ['apps/edge'] }],
        headers: { request: { remove: ['x-canary'] } },
      });
      expect(http[1].route).toEqual(http[2].route);
      expect(http[1].route.map((r: any) => [r.destination.subset, r.weight])).toEqual([['stable', 75], ['canary', 25]]);
      expect(ofKind(all, 'AuthorizationPolicy')).toEqual([]);
    });

    test('expose without pinSources and without a canary: the Gateway still drops the pin, which later hops would honour', () => {
      const http = find(render({ expose: EXPOSE }).all, 'VirtualService', 'backend').spec.http;
      expect(http.map((h: any) => h.name)).toEqual(['edge-pin-ignored', 'weighted', 'not-exposed']);
      expect(http[0].headers).toEqual({ request: { remove: ['x-canary'] } });
      expect(http[0].route).toEqual([{ destination: { host: 'backend.apps.svc.cluster.local', subset: 'stable', port: { number: 8081 } }, weight: 100 }]);
    });

    test('expose with pinSources: the pin from the Gateway too, and a DENY of pinned requests from the ingress gateway outside the list', () => {
      const { all } = render({ ...canary, expose: { ...EXPOSE, pinSources: ['203.0.113.0/24', '198.51.100.7/32'], ingressPrincipal: INGRESS } });
      const http = find(all, 'VirtualService', 'backend').spec.http;
      expect(http.map((h: any) => h.name)).toEqual(['canary-pin', 'weighted', 'not-exposed']);
      expect(http[0].match).toEqual([
        { headers: PIN, gateways: ['mesh'] }, { headers: PIN, uri: { exact: '/' }, gateways: ['apps/edge'] },
        { headers: PIN, uri: { prefix: '/api/' }, gateways: ['apps/edge'] },
      ]);
      expect(find(all, 'AuthorizationPolicy', 'edge-pin-to-backend').spec).toEqual({
        selector: { matchLabels: { app: 'backend' } },
        action: 'DENY',
        rules: [{
          from: [{ source: { principals: [INGRESS], notRemoteIpBlocks: ['203.0.113.0/24', '198.51.100.7/32'] } }],
          when: [{ key: 'request.headers[x-canary]', values: ['always'] }],
        }],
      });
      // without a canary the pin goes on to later hops: the policy refuses it all the same
      const stableOnly = render({ expose: { ...EXPOSE, pinSources: ['203.0.113.0/24'], ingressPrincipal: INGRESS } }).all;
      expect(find(stableOnly, 'AuthorizationPolicy', 'edge-pin-to-backend').spec.rules[0].from[0].source.notRemoteIpBlocks).toEqual(['203.0.113.0/24']);
      expect(find(stableOnly, 'VirtualService', 'backend').spec.http.map((h: any) => h.name)).toEqual(['weighted', 'not-exposed']);
    });

    test('pinSources empty is none', () => {
      const { all } = render({ ...canary, expose: { ...EXPOSE, pinSources: [], ingressPrincipal: INGRESS } });
      expect(find(all, 'VirtualService', 'backend').spec.http[1].name).toBe('edge-pin-ignored');
      expect(ofKind(all, 'AuthorizationPolicy')).toEqual([]);
    });

    test('a service nothing like the demo: gRPC, TCP and gRPC probes, writable paths, secrets, command and args, no metrics, no telemetry', () => {
      const { all } = render({
        name: 'ledger',
        telemetry: undefined,
        container: {
          ...CONTAINER, port: 9090, protocol: 'grpc', readiness: { grpc: true }, liveness: { tcp: true }, runAsUser: 65532, runAsGroup: 65532,
          writablePaths: ['/tmp', '/var/cache/ledger'], env: { MODE: 'strict' }, secretEnv: [{ name: 'DB_URL', secret: 'ledger-db', key: 'url' }],
          command: ['/ledger'], args: ['--listen=:9090'], metricsScrape: undefined, terminationGracePeriodSeconds: 60,
        },
      });
      const deployment = find(all, 'Deployment', 'ledger-stable');
      const pod = deployment.spec.template.spec;
      const c = pod.containers[0];
      expect(c.ports).toEqual([{ name: 'grpc', containerPort: 9090, protocol: 'TCP' }]);
      expect(find(all, 'Service', 'ledger').spec.ports).toEqual([{ name: 'grpc', port: 9090, targetPort: 9090, protocol: 'TCP', appProtocol: 'grpc' }]);
      expect(c.readinessProbe).toMatchObject({ grpc: { port: 9090 } });
      expect(c.livenessProbe).toMatchObject({ tcpSocket: { port: 'grpc' } });
      expect(pod.securityContext).toMatchObject({ runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 });
      expect(c.volumeMounts).toEqual([{ name: 'writable-0', mountPath: '/tmp' }, { name: 'writable-1', mountPath: '/var/cache/ledger' }]);
      expect(pod.volumes).toEqual([{ name: 'writable-0', emptyDir: {} }, { name: 'writable-1', emptyDir: {} }]);
      // the Secrets' variables first: a $(DB_URL) in a literal variable expands only from the variables before it
      expect(c.env).toEqual([
        { name: 'DB_URL', valueFrom: { secretKeyRef: { name: 'ledger-db', key: 'url' } } }, { name: 'MODE', value: 'strict' },
      ]);
      expect([c.command, c.args]).toEqual([['/ledger'], ['--listen=:9090']]);
      expect(pod.terminationGracePeriodSeconds).toBe(60);
      expect(Object.keys(deployment.spec.template.metadata.annotations).filter(k => k.startsWith('prometheus.io/'))).toEqual([]);
    });

    test('a gRPC service has no route timeout unless its file sets one: it would cut every streaming call', () => {
      const grpc = (timeout?: Duration) => render({
        name: 'ledger', ...(timeout ? { timeout } : {}),
        container: { ...CONTAINER, port: 9090, protocol: 'grpc', readiness: { grpc: true }, liveness: { tcp: true } },
      }).all;
      const routes = (all: readonly K8sObject[]) => find(all, 'VirtualService', 'ledger').spec.http.filter((r: any) => r.route);
      expect(routes(grpc()).length).toBeGreaterThan(0);
      for (const route of routes(grpc())) expect(route).not.toHaveProperty('timeout');
      for (const route of routes(grpc(Duration.minutes(2)))) expect(route.timeout).toBe('2m');
      // nor a retry on a reset before the request, which breaks gRPC streams (Istio leaves it out of its own gRPC retries)
      for (const route of routes(grpc())) expect(route.retries).toEqual({ attempts: 2, retryOn: 'connect-failure,refused-stream' });
    });

    test('timeout, sampling and resources', () => {
      const { all } = render({
        timeout: Duration.millis(2500), telemetry: { ...BASE.telemetry, samplingRatio: 0.1 },
        container: {
          ...CONTAINER, resources: { cpuRequestMillis: 1, cpuLimitMillis: 2, memoryRequest: Size.mebibytes(32), memoryLimit: Size.mebibytes(64) },
        },
      });
      const container = find(all, 'Deployment', 'backend-stable').spec.template.spec.containers[0];
      const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
      expect(env).toMatchObject({ OTEL_TRACES_SAMPLER_ARG: '0.1' });
      expect(container.resources.limits).toEqual({ cpu: '2m', memory: '64Mi' });
      expect(find(all, 'VirtualService', 'backend').spec.http[0].timeout).toBe('2500ms');
    });
  });

  describe('validation', () => {
    test('fails when the canary image and the split disagree', () => {
      expect(() => render({ split: TrafficSplit.canary(10) })).toThrow("[test/Backend] 'canaryImage' must be set exactly when the split has a canary (weight 10), got undefined");
      expect(() => render({ canaryImage: 'r/b:2' })).toThrow("'canaryImage' must be set exactly when the split has a canary (weight 0), got \"r/b:2\"");
    });
    test.each([0, 51, 2.5])('fails on a replica count that is not an integer from 1 to 50: %p', stableReplicas => {
      expect(() => render({ stableReplicas })).toThrow(`[test/Backend] 'stableReplicas' must be an integer from 1 to 50, got ${stableReplicas}`);
    });
    test.each(['203.0.113.7', '203.0.113.0/33', '256.0.0.0/8', '2001:db8::/32'])('fails on a pin source that is no IPv4 CIDR block: %p', block => {
      expect(() => render({ expose: { ...EXPOSE, pinSources: ['10.0.0.0/8', block], ingressPrincipal: INGRESS } }))
        .toThrow(`[test/Backend] 'expose.pinSources[1]' must be an IPv4 CIDR block such as "203.0.113.0/24", got "${block}"`);
    });
    test('fails on pin sources without the ingress gateway\'s identity', () => {
      expect(() => render({ expose: { ...EXPOSE, pinSources: ['10.0.0.0/8'] } }))
        .toThrow('[test/Backend] \'expose.ingressPrincipal\' must name the ingress gateway\'s identity when \'expose.pinSources\' is set, got undefined');
    });
    test('fails outside a namespaced chart', () => {
      expect(() => new CanaryService(new Chart(testApp(), 'c'), 'S', BASE)).toThrow('CanaryService must be placed in a chart with a namespace');
    });
  });
});

describe('imageVersion', () => {
  test.each([
    ['registry.example.com/backend:1.2.3', '1.2.3'],
    ['localhost:5000/backend:1.2.3', '1.2.3'],
    [`ghcr.io/a/b@sha256:${'ab'.repeat(32)}`, 'sha256-abababababab'],
  ])('%s → %s', (image, version) => {
    expect(imageVersion(image)).toBe(version);
  });
});

describe('CanaryService.urlOf', () => {
  test('an http:// URL, or for gRPC the target its clients resolve (dns:///host:port)', () => {
    expect(CanaryService.urlOf('ledger', 'payments', 9090)).toBe('http://ledger.payments.svc.cluster.local:9090');
    expect(CanaryService.urlOf('ledger', 'payments', 9090, 'grpc')).toBe('dns:///ledger.payments.svc.cluster.local:9090');
  });
});
