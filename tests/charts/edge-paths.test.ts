import { Services } from '../../lib/services/catalog';
import { ServiceSpec, edgeMethods } from '../../lib/services/service';
import { SINGLE_CLUSTER_ENVIRONMENTS, K8sObject, find, ofKind, repoServices, servicesWithFixtures, synthStack } from '../support/manifest';
import { CANONICAL_PATHS, PATH_SPELLINGS } from '../support/path-spellings';
import { routeOf } from '../support/virtual-service';

/**
 * The edge as Istio evaluates it, for every spelling of an operational path (tests/support/path-spellings.ts, the same
 * table the services answer on loopback): the ingress gateway normalizes the path as the mesh's `pathNormalization`
 * says (https://istio.io/latest/docs/reference/config/security/normalization/), routes it by the VirtualService and
 * the AuthorizationPolicy judges it; what passes both reaches the service with the normalized path. The services
 * answer only the exact canonical spelling, so nothing may reach them as one.
 */
type Normalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';
const NORMALIZATIONS: Normalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

/** Istio's path normalization: the query is not part of the path the policies see. */
function normalize(target: string, mode: Normalization): string {
  let path = target.split('?')[0];
  if (mode === 'NONE') return path;
  if (mode === 'DECODE_AND_MERGE_SLASHES') path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  // BASE decodes these once: '-', '.', digits, letters, '_' and '~'
  path = path.replace(/%(2d|2e|3[0-9]|4[1-9a-f]|5[0-9a]|5f|6[1-9a-f]|7[0-9a]|7e)/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  path = path.replace(/\\/g, '/');
  path = removeDotSegments(path);
  if (mode !== 'BASE') path = path.replace(/\/{2,}/g, '/');
  return path;
}

/** RFC 3986, 5.2.4. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/').slice(1)) {
    if (segment === '..') out.pop();
    else if (segment !== '.') out.push(segment);
  }
  const last = path.split('/').pop();
  return `/${out.join('/')}${(last === '.' || last === '..') && out.length > 0 ? '/' : ''}`;
}

/** An AuthorizationPolicy path: exact, `prefix*`, `*suffix` or `*`. */
function authzPathMatches(pattern: string, path: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return path.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return path.endsWith(pattern.slice(1));
  return path === pattern;
}

/**
 * What the ingress gateway does with a request of `target` for a service, by one of the methods the service is exposed
 * for (GET for most, POST for a gRPC service): where it goes, and with which path.
 */
function atTheEdge(objects: readonly K8sObject[], spec: ServiceSpec, target: string, mode: Normalization): { reaches: boolean; path: string } {
  const service = spec.name;
  const method = edgeMethods(spec)[0];
  const path = normalize(target, mode);
  const vs = find(objects, 'VirtualService', service).spec;
  const rule = routeOf(vs, vs.gateways.find((g: string) => g !== 'mesh'), path);
  if (!rule || rule.directResponse) return { reaches: false, path };
  const policy = ofKind(objects, 'AuthorizationPolicy').find(p => p.metadata.name === `ingress-to-${service}`)!;
  const allowed = policy.spec.rules.some((r: any) => r.to.some((t: any) => (t.operation.methods ?? [method]).includes(method)
    && (t.operation.paths ?? ['*']).some((p: string) => authzPathMatches(p, path))
    && !(t.operation.notPaths ?? []).some((p: string) => authzPathMatches(p, path))));
  return { reaches: allowed, path };
}

/** The repository's services plus the ledger fixture exposed with a prefix, the riskier kind of rule. */
function withPrefixExposure(): Services {
  const services = servicesWithFixtures('ledger');
  return { ...services, ledger: { ...services.ledger, expose: { hosts: ['ledger.example.com'], paths: ['/', '/api/*'] } } };
}

/** The gateway exposed at every path: a prefix that covers its probe and scrape paths, which must stay inside. */
function withEverythingExposed(): Services {
  const services = repoServices();
  return { ...services, gateway: { ...services.gateway, expose: { ...services.gateway.expose!, paths: ['/*'] } } };
}

/** The ledger fixture as a gRPC API exposed by its package's prefix: every call a POST. */
function withGrpcExposure(): Services {
  const services = servicesWithFixtures('ledger');
  return { ...services, ledger: { ...services.ledger, protocol: 'grpc', expose: { hosts: ['ledger.example.com'], paths: ['/ledger.v1.Ledger/*'] } } };
}

const CASES = SINGLE_CLUSTER_ENVIRONMENTS.flatMap(env => [
  { label: `${env.name}: the repository's services`, env, services: repoServices() },
  { label: `${env.name}: a service exposed by prefix`, env, services: withPrefixExposure() },
  { label: `${env.name}: a service exposed at every path`, env, services: withEverythingExposed() },
  { label: `${env.name}: a gRPC service exposed`, env, services: withGrpcExposure() },
]);

describe.each(CASES)('the edge ($label)', ({ env, services }) => {
  const { charts } = synthStack(env, 'steady', services);
  const exposed = Object.values(services).filter(s => s.expose);

  test('there are exposed services to check', () => {
    expect(exposed.length).toBeGreaterThan(0);
  });

  describe.each(exposed.map(s => ({ name: s.name, spec: s })))('$name', ({ spec }) => {
    const objects = charts[spec.namespace];

    test.each(NORMALIZATIONS)('with pathNormalization %s no spelling of an operational path reaches the service as one', mode => {
      const leaks = PATH_SPELLINGS.map(row => ({ row, edge: atTheEdge(objects, spec, row.path, mode) }))
        .filter(({ edge }) => edge.reaches && (CANONICAL_PATHS as readonly string[]).includes(edge.path))
        .map(({ row, edge }) => `${row.path} → ${edge.path}`);
      expect(leaks).toEqual([]);
    });

    test('the exposed paths do reach it: the check can tell', () => {
      for (const path of spec.expose!.paths.map(p => (p.endsWith('*') ? `${p.slice(0, -1)}x` : p))) {
        expect([path, atTheEdge(objects, spec, path, 'BASE').reaches]).toEqual([path, true]);
      }
      // and an operational path would, if it were listed and not kept out
      const opened = structuredClone(objects) as K8sObject[];
      find(opened, 'VirtualService', spec.name).spec.http.find((h: any) => h.name === 'weighted').match.push({ uri: { exact: '/metrics' }, gateways: [`${spec.namespace}/edge`] });
      const operation = find(opened, 'AuthorizationPolicy', `ingress-to-${spec.name}`).spec.rules[0].to[0].operation;
      operation.paths.push('/metrics');
      delete operation.notPaths;
      expect(atTheEdge(opened, spec, '/%6Detrics', 'BASE')).toEqual({ reaches: true, path: '/metrics' });
    });
  });
});

describe('the normalization model', () => {
  test.each([
    ['/%6Detrics', 'BASE', '/metrics'],
    ['/api/../metrics', 'BASE', '/metrics'],
    ['/api/../metrics', 'NONE', '/api/../metrics'],
    ['//metrics', 'BASE', '//metrics'],
    ['//metrics', 'MERGE_SLASHES', '/metrics'],
    ['/metrics%2F', 'MERGE_SLASHES', '/metrics%2F'],
    ['/metrics%2F', 'DECODE_AND_MERGE_SLASHES', '/metrics/'],
    ['/metrics?x=1', 'BASE', '/metrics'],
    ['/a\\b', 'BASE', '/a/b'],
  ] as const)('%s with %s is %s', (path, mode, normalized) => {
    expect(normalize(path, mode)).toBe(normalized);
  });
});
