import { Chart, Duration, Size, Testing } from 'cdk8s';
import { SERVICES } from '../../apps/contract';
import { CanaryService } from '../../lib/constructs/canary-service';
import { imageVersion } from '../../lib/constructs/private/service-deployment';
import { TrafficSplit } from '../../lib/constructs/traffic-split';
import { synth, testChart } from '../support/chart';
import { find, ofKind } from '../support/manifest';

const BASE = {
  contract: SERVICES.backend,
  stableImage: 'registry.example.com/backend:1.0.0',
  otlpEndpoint: 'http://otel-collector.observability.svc.cluster.local:4317',
  environmentName: 'local',
};

function render(props: Partial<ConstructorParameters<typeof CanaryService>[2]> = {}) {
  const chart = testChart('apps');
  const service = new CanaryService(chart, 'Backend', { ...BASE, ...props });
  return { service, all: synth(chart) };
}

const canary = { canaryImage: 'registry.example.com/backend:1.1.0', split: TrafficSplit.canary(25) };

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
      expect(svc.spec.ports).toEqual([{ name: 'http', port: 8081, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }]);
      expect(service.host).toBe('backend.apps.svc.cluster.local');
      expect(service.url).toBe('http://backend.apps.svc.cluster.local:8081');
    });

    test('the run contract: port, track, OTLP endpoint, parent-based sampling, resource attributes from the downward API', () => {
      expect(env).toMatchObject({
        PORT: '8081', APP_VERSION: 'stable', LOG_LEVEL: 'info', OTEL_SERVICE_NAME: 'backend',
        OTEL_EXPORTER_OTLP_ENDPOINT: BASE.otlpEndpoint, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1',
        POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } }, NODE_NAME: { fieldRef: { fieldPath: 'spec.nodeName' } },
      });
      expect(env.OTEL_RESOURCE_ATTRIBUTES).toBe('service.version=1.0.0,deployment.environment=local,'
        + 'k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),k8s.node.name=$(NODE_NAME)');
      const names = container.env.map((e: any) => e.name);
      expect(names.indexOf('POD_NAME')).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
    });

    test('probes on the contract\'s health paths; restricted-level security; grace period above the shutdown budget', () => {
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(22);
      expect(pod.automountServiceAccountToken).toBe(false);
    });

    test('scrape annotations for Istio\'s metrics merging, and the sidecar first', () => {
      expect(stable.spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true', 'prometheus.io/port': '8081', 'prometheus.io/path': '/metrics',
        'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts":true}',
      });
    });

    test('DestinationRule: the host, stable and canary subsets by version, connection pool and outlier detection', () => {
      const dr = find(all, 'DestinationRule', 'backend').spec;
      expect(dr.host).toBe('backend.apps.svc.cluster.local');
      expect(dr.subsets).toEqual([{ name: 'stable', labels: { version: 'stable' } }, { name: 'canary', labels: { version: 'canary' } }]);
      expect(dr.trafficPolicy.connectionPool.tcp.maxConnections).toBe(1024);
      expect(dr.trafficPolicy.outlierDetection).toEqual({ consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 });
    });

    test('VirtualService: mesh only, everything to stable, no canary pin, timeout and retries of failures that never reached the app', () => {
      expect(vs.spec.gateways).toEqual(['mesh']);
      expect(vs.spec.hosts).toEqual(['backend.apps.svc.cluster.local']);
      expect(vs.spec.http).toEqual([{
        name: 'weighted',
        route: [{ destination: { host: 'backend.apps.svc.cluster.local', subset: 'stable', port: { number: 8081 } }, weight: 100 }],
        timeout: '5s',
        retries: { attempts: 2, retryOn: 'connect-failure,refused-stream,unavailable,cancelled,reset' },
      }]);
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
      expect(container.env.find((e: any) => e.name === 'APP_VERSION').value).toBe('canary');
    });

    test('canary replicas follow the weight: 25 % of 4 stable replicas is one', () => {
      expect(find(all, 'Deployment', 'backend-stable').spec.replicas).toBe(4);
      expect(find(all, 'Deployment', 'backend-canary').spec.replicas).toBe(1);
      expect(find(render({ ...canary, split: TrafficSplit.canary(50), stableReplicas: 4 }).all, 'Deployment', 'backend-canary').spec.replicas).toBe(2);
    });

    test('x-canary: always pins requests to the canary, before the weighted route', () => {
      expect(http.map((h: any) => h.name)).toEqual(['canary-pin', 'weighted']);
      expect(http[0].match).toEqual([{ headers: { 'x-canary': { exact: 'always' } } }]);
      expect(http[0].route).toEqual([{ destination: { host: 'backend.apps.svc.cluster.local', subset: 'canary', port: { number: 8081 } }, weight: 100 }]);
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
      // the canary runs one replica here: nothing to spread
      expect(find(all, 'Deployment', 'backend-canary').spec.template.spec.topologySpreadConstraints).toBeUndefined();
    });
  });

  describe('props', () => {
    test('expose: bound to the ingress gateway too, with health and metrics paths answered 404 there', () => {
      const { all } = render({ contract: SERVICES.gateway, expose: { gateway: 'apps/flights', hosts: ['flights.example.com'] } });
      const vs = find(all, 'VirtualService', 'gateway').spec;
      expect(vs.gateways).toEqual(['apps/flights', 'mesh']);
      expect(vs.hosts).toEqual(['gateway.apps.svc.cluster.local', 'flights.example.com']);
      expect(vs.http[0]).toEqual({
        name: 'not-outside', directResponse: { status: 404 },
        match: ['/metrics', '/healthz', '/readyz'].map(uri => ({ uri: { exact: uri }, gateways: ['apps/flights'] })),
      });
    });

    test('env, timeout, sampling, log level and resources', () => {
      const { all } = render({
        env: { EXTRA: 'x' }, timeout: Duration.millis(2500), traceSamplingRatio: 0.1, logLevel: 'debug',
        resources: { cpuRequestMillis: 1, cpuLimitMillis: 2, memoryRequest: Size.mebibytes(32), memoryLimit: Size.mebibytes(64) },
      });
      const container = find(all, 'Deployment', 'backend-stable').spec.template.spec.containers[0];
      const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
      expect(env).toMatchObject({ EXTRA: 'x', OTEL_TRACES_SAMPLER_ARG: '0.1', LOG_LEVEL: 'debug' });
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
    test('fails outside a namespaced chart', () => {
      expect(() => new CanaryService(new Chart(Testing.app(), 'c'), 'S', BASE)).toThrow('CanaryService must be placed in a chart with a namespace');
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
