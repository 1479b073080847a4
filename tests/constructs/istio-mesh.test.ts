import { Chart } from 'cdk8s';
import { IstioGateway } from '../../lib/constructs/istio-gateway';
import { MeshPolicies, meshPrincipal } from '../../lib/constructs/mesh-policies';
import { synth, testApp, testChart } from '../support/chart';
import { find, ofKind } from '../support/manifest';

describe('IstioGateway', () => {
  const render = (props: Partial<ConstructorParameters<typeof IstioGateway>[2]> = {}) => {
    const chart = testChart('apps');
    const gateway = new IstioGateway(chart, 'Ingress', {
      name: 'edge', listeners: [{ hosts: ['flights.example.com'] }], selector: { istio: 'ingressgateway' }, ...props,
    });
    return { gateway, spec: find(synth(chart), 'Gateway', 'edge').spec };
  };

  test('plain HTTP on port 80 for the hosts, on the selected ingress pods', () => {
    const { gateway, spec } = render();
    expect(gateway.ref).toBe('apps/edge');
    expect(spec).toEqual({ selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['flights.example.com'] }] });
  });

  test('with a TLS credential: HTTPS on 443 and a redirect on 80, per certificate; plain hosts beside them', () => {
    const { spec } = render({
      listeners: [{ hosts: ['flights.example.com'], tlsCredentialName: 'flights-tls' }, { hosts: ['status.example.com'] }, { hosts: ['api.example.com'], tlsCredentialName: 'api-tls' }],
    });
    expect(spec.servers).toEqual([
      { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['status.example.com'] },
      { port: { number: 80, name: 'http-redirect-0', protocol: 'HTTP' }, hosts: ['flights.example.com'], tls: { httpsRedirect: true } },
      { port: { number: 443, name: 'https-0', protocol: 'HTTPS' }, hosts: ['flights.example.com'], tls: { mode: 'SIMPLE', credentialName: 'flights-tls' } },
      { port: { number: 80, name: 'http-redirect-1', protocol: 'HTTP' }, hosts: ['api.example.com'], tls: { httpsRedirect: true } },
      { port: { number: 443, name: 'https-1', protocol: 'HTTPS' }, hosts: ['api.example.com'], tls: { mode: 'SIMPLE', credentialName: 'api-tls' } },
    ]);
  });

  test('fails without hosts, with a host served twice, or outside a namespaced chart', () => {
    expect(() => render({ listeners: [] })).toThrow("[test/Ingress] 'listeners' must name at least one host, got []");
    expect(() => render({ listeners: [{ hosts: ['a.example.com'] }, { hosts: ['a.example.com'], tlsCredentialName: 't' }] }))
      .toThrow('[test/Ingress] each host must be served once, got ["a.example.com"] more than once');
    expect(() => new IstioGateway(new Chart(testApp(), 'c'), 'G', { name: 'g', listeners: [{ hosts: ['h'] }], selector: {} })).toThrow('must be placed in a chart with a namespace');
  });
});

describe('MeshPolicies', () => {
  const render = (props: ConstructorParameters<typeof MeshPolicies>[2] = {}) => {
    const chart = testChart('apps');
    const mesh = new MeshPolicies(chart, 'Mesh', props);
    return { chart, mesh };
  };

  test('mutual TLS required for every workload of the namespace', () => {
    const { chart } = render();
    expect(find(synth(chart), 'PeerAuthentication', 'default').spec).toEqual({ mtls: { mode: 'STRICT' } });
  });

  test('sidecar tracing to the otel-collector provider at 100 % by default, or the given share', () => {
    expect(find(synth(render().chart), 'Telemetry', 'tracing').spec.tracing).toEqual([
      { providers: [{ name: 'otel-collector' }], randomSamplingPercentage: 100, enableIstioTags: true },
    ]);
    const spec = find(synth(render({ tracingProvider: 'otel', tracingSamplingPercent: 5 }).chart), 'Telemetry', 'tracing').spec;
    expect(spec.tracing[0]).toEqual({ providers: [{ name: 'otel' }], randomSamplingPercentage: 5, enableIstioTags: true });
  });

  test('sidecar spans carry Istio\'s tags, istio.canonical_service among them: the Collector names the spans by it', () => {
    expect(find(synth(render().chart), 'Telemetry', 'tracing').spec.tracing[0].enableIstioTags).toBe(true);
  });

  test('Istio\'s request count and duration carry the pin label: the pin value when pinned, a fixed other value else', () => {
    const telemetry = find(synth(render().chart), 'Telemetry', 'tracing').spec;
    const value = 'request.headers[\'x-canary\'] == \'always\' ? \'always\' : \'none\'';
    expect(telemetry.metrics).toEqual([{
      providers: [{ name: 'prometheus' }],
      overrides: [
        { match: { metric: 'REQUEST_COUNT' }, tagOverrides: { canary_pin: { value } } },
        { match: { metric: 'REQUEST_DURATION' }, tagOverrides: { canary_pin: { value } } },
      ],
    }]);
    // one Telemetry without a selector: Istio allows no second one in a namespace
    expect(ofKind(synth(render().chart), 'Telemetry').map(t => [t.metadata.name, t.spec.selector])).toEqual([['tracing', undefined]]);
  });

  test('meshPrincipal: the SPIFFE path of a ServiceAccount', () => {
    expect(meshPrincipal('istio-system', 'istio-ingressgateway-service-account')).toBe('cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
  });

  test('allow() adds one ALLOW policy per rule: callers by identity, calls by operation', () => {
    const { chart, mesh } = render();
    mesh.allow({ name: 'gateway-to-backend', selector: { app: 'backend' }, principals: ['cluster.local/ns/apps/sa/gateway'], to: { methods: ['GET'], notPaths: ['/metrics'] } });
    mesh.allow({ name: 'scrapes', selector: {}, to: { ports: ['15020'] } });
    const objects = synth(chart);
    expect(find(objects, 'AuthorizationPolicy', 'gateway-to-backend').spec).toEqual({
      selector: { matchLabels: { app: 'backend' } }, action: 'ALLOW',
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/apps/sa/gateway'] } }], to: [{ operation: { methods: ['GET'], notPaths: ['/metrics'] } }] }],
    });
    expect(find(objects, 'AuthorizationPolicy', 'scrapes').spec).toEqual({ action: 'ALLOW', rules: [{ to: [{ operation: { ports: ['15020'] } }] }] });
    expect(ofKind(objects, 'AuthorizationPolicy')).toHaveLength(2);
  });

  test('fails on a bad or repeated rule name, or a sampling share outside 0..100', () => {
    const { mesh } = render();
    mesh.allow({ name: 'a', selector: {}, to: {} });
    expect(() => mesh.allow({ name: 'a', selector: {}, to: {} })).toThrow('rule "a" already exists');
    expect(() => mesh.allow({ name: 'A B', selector: {}, to: {} })).toThrow('rule name must be a DNS label, got "A B"');
    expect(() => render({ tracingSamplingPercent: 101 })).toThrow("'tracingSamplingPercent' must be from 0 to 100, got 101");
  });
});
