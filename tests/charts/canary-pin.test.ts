import { EnvironmentConfig } from '../../lib/config/environment';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { CANARY_PIN } from '../../lib/slo/vocabulary';
import { SINGLE_CLUSTER_ENVIRONMENTS, K8sObject, find, fixtureRollouts, ofKind, repoServices, synthStack } from '../support/manifest';
import { routeOf } from '../support/virtual-service';

/**
 * The canary pin (`x-canary: always`) as Istio routes and authorizes it, in every environment and in variants with the
 * allowlist (`apps.canaryPinSources`) filled and emptied: inside the mesh it takes a pinned request to the canary;
 * from the edge Gateway it does so only with an allowlist, and then a DENY policy on the service's pods refuses a
 * pinned request from the ingress gateway whose client is outside the list.
 */
const PINNED = { [CANARY_PIN.header]: CANARY_PIN.value };
// the variants keep their environment's name: the service files name the exposed hosts per environment
const withSources = (env: EnvironmentConfig, canaryPinSources: readonly string[]): EnvironmentConfig =>
  ({ ...env, apps: { ...env.apps, canaryPinSources } });
const CASES = [
  ...SINGLE_CLUSTER_ENVIRONMENTS.map(env => ({ env, label: env.name })),
  { env: withSources(ENVIRONMENTS.prod, ['203.0.113.0/24', '198.51.100.7/32']), label: 'prod with pin sources' },
  { env: withSources(ENVIRONMENTS.local, []), label: 'local without pin sources' },
];

/** A path each exposed path pattern serves: itself, or one under its prefix. */
const samplePaths = (paths: readonly string[]): string[] => paths.map(p => (p.endsWith('*') ? `${p.slice(0, -1)}x` : p));

/** What a pinned request from the Gateway, to each exposed path, is routed to: `path → route (subset: weight, …)`. */
function pinnedFromEdge(objects: readonly K8sObject[], service: string, paths: readonly string[]): string[] {
  const vs = find(objects, 'VirtualService', service).spec;
  const gateway = vs.gateways.find((g: string) => g !== 'mesh');
  return samplePaths(paths).map(path => {
    const route = routeOf(vs, gateway, path, PINNED);
    return `${path} → ${route.name} (${route.route.map((r: any) => `${r.destination.subset}: ${r.weight}`).join(', ')})`;
  });
}

/** The routes a request from the Gateway can take (any of their matches is the Gateway's) that send everything to the canary. */
function canaryOnlyFromEdge(objects: readonly K8sObject[], service: string): string[] {
  const vs = find(objects, 'VirtualService', service).spec;
  const gateway = vs.gateways.find((g: string) => g !== 'mesh');
  return vs.http.filter((h: any) => (h.match ?? [{}]).some((m: any) => (m.gateways ?? vs.gateways).includes(gateway))
    && (h.route ?? []).length > 0 && h.route.every((r: any) => r.destination.subset === 'canary')).map((h: any) => h.name);
}

describe.each(CASES)('the canary pin ($label)', ({ env }) => {
  const { charts } = synthStack(env, 'canary');
  const rollouts = fixtureRollouts('canary');
  const exposed = Object.values(repoServices()).filter(s => s.expose);
  const inFlight = exposed.filter(s => rollouts[s.name].canary);
  const sources = env.apps.canaryPinSources;
  const ingressPrincipal = `cluster.local/ns/${env.apps.ingressGateway.namespace}/sa/${env.apps.ingressGateway.serviceAccount}`;
  const denials = (namespace: string) => ofKind(charts[namespace], 'AuthorizationPolicy').filter(p => p.spec.action === 'DENY');

  test('there is an exposed service with a canary in flight to check', () => {
    expect(inFlight.length).toBeGreaterThan(0);
  });

  describe.each(inFlight.map(spec => ({ spec, name: spec.name })))('$name', ({ spec }) => {
    const objects = charts[spec.namespace];
    const vs = find(objects, 'VirtualService', spec.name).spec;
    const weighted = vs.http.find((h: any) => h.name === 'weighted');
    const split = (route: any) => route.route.map((r: any) => [r.destination.subset, r.weight]);

    test('inside the mesh a pinned request goes to the canary, an unpinned one takes the weighted split', () => {
      expect([routeOf(vs, 'mesh', '/any/path', PINNED).name, split(routeOf(vs, 'mesh', '/any/path', PINNED))]).toEqual(['canary-pin', [['canary', 100]]]);
      expect(routeOf(vs, 'mesh', '/any/path').name).toBe('weighted');
    });

    if (sources.length === 0) {
      test('without an allowlist no route from the edge Gateway sends a pinned request to the canary alone', () => {
        expect(canaryOnlyFromEdge(objects, spec.name)).toEqual([]);
        const expected = `edge-pin-ignored (${split(weighted).map(([subset, weight]: [string, number]) => `${subset}: ${weight}`).join(', ')})`;
        expect(pinnedFromEdge(objects, spec.name, spec.expose!.paths)).toEqual(samplePaths(spec.expose!.paths).map(path => `${path} → ${expected}`));
      });

      test('without an allowlist the Gateway removes the pin header, so no later hop honours it, and nothing refuses the request', () => {
        for (const path of samplePaths(spec.expose!.paths)) {
          expect([path, routeOf(vs, `${spec.namespace}/edge`, path, PINNED).headers]).toEqual([path, { request: { remove: [CANARY_PIN.header] } }]);
        }
        expect(denials(spec.namespace)).toEqual([]);
      });

      test('the check can tell: a pin route open to the Gateway is found', () => {
        const opened = structuredClone(objects) as K8sObject[];
        const pin = find(opened, 'VirtualService', spec.name).spec.http.find((h: any) => h.name === 'canary-pin');
        pin.match.push({ headers: { [CANARY_PIN.header]: { exact: CANARY_PIN.value } }, gateways: [`${spec.namespace}/edge`] });
        expect(canaryOnlyFromEdge(opened, spec.name)).toEqual(['canary-pin']);
        expect(pinnedFromEdge(opened, spec.name, spec.expose!.paths)).toEqual(samplePaths(spec.expose!.paths).map(path => `${path} → canary-pin (canary: 100)`));
      });
    } else {
      test('with an allowlist a pinned request from the edge goes to the canary, as inside the mesh', () => {
        expect(canaryOnlyFromEdge(objects, spec.name)).toEqual(['canary-pin']);
        expect(pinnedFromEdge(objects, spec.name, spec.expose!.paths)).toEqual(samplePaths(spec.expose!.paths).map(path => `${path} → canary-pin (canary: 100)`));
      });
    }
  });

  if (sources.length > 0) {
    test('with an allowlist every exposed service refuses a pinned request from the ingress gateway outside exactly the allowlisted blocks', () => {
      const namespaces = [...new Set(Object.values(repoServices()).map(s => s.namespace))];
      expect(namespaces.flatMap(denials).map(p => p.spec.selector.matchLabels.app).sort()).toEqual(exposed.map(s => s.name).sort());
      for (const spec of exposed) {
        expect(denials(spec.namespace).filter(p => p.spec.selector.matchLabels.app === spec.name).map(p => p.spec)).toEqual([{
          selector: { matchLabels: { app: spec.name } },
          action: 'DENY',
          rules: [{
            from: [{ source: { principals: [ingressPrincipal], notRemoteIpBlocks: [...sources] } }],
            when: [{ key: `request.headers[${CANARY_PIN.header}]`, values: [CANARY_PIN.value] }],
          }],
        }]);
      }
    });
  }
});
