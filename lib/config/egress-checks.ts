import { FlowPort } from '../constructs/network-policies';
import { ObjectStorage, objectStorageKind } from '../constructs/types';
import { show } from '../errors';
import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN } from '../private/names';
import { shownUrl } from '../private/urls';
import { Checks } from './checks';
import {
  DependencyContext, EXTERNAL_DEPENDENCIES, EXTERNAL_DEPENDENCY_NAMES, EgressSettings, ExternalDependency, KUBELET_PORT, ObservabilityComponent,
  isInClusterProxy, isProxied,
} from './egress';

/**
 * The shortest prefix accepted without `allowWideCidrs`. /8 is the largest block ever allocated to one organisation
 * (the old class A networks, RFC 1918's 10.0.0.0/8), so a dependency's addresses fit in it; anything wider spans many
 * owners, which is the internet by another name.
 */
export const WIDEST_PREFIX = 8;
const LABEL_KEY = new RegExp(LABEL_KEY_PATTERN);
const LABEL_VALUE = new RegExp(LABEL_VALUE_PATTERN);

/**
 * Checks the `egress` section against the rest of the environment: every dependency in use is named and no other,
 * addresses are CIDR blocks no wider than /8 (unless `allowWideCidrs`), ports are ports, `via` names a proxy and
 * only where the dependency's clients honour proxies, and each component goes through one proxy at most.
 */
export function checkEgress(c: Checks, env: DependencyContext & { readonly egress: EgressSettings }): void {
  const egress = env.egress;
  if (egress === undefined) {
    c.expect(false, 'egress', egress, 'the environment\'s egress: { dns, dependencies }');
    return;
  }
  c.expect(egress.allowWideCidrs === undefined || typeof egress.allowWideCidrs === 'boolean', 'egress.allowWideCidrs', egress.allowWideCidrs, 'true or false');
  const blocks = (field: string, values: readonly string[] | undefined): void => {
    c.expect(Array.isArray(values) && values.length > 0, field, values, 'at least one IPv4 CIDR block');
    for (const [i, value] of (values ?? []).entries()) checkBlock(c, `${field}[${i}]`, value, egress.allowWideCidrs === true);
  };

  const dns = egress.dns;
  c.expect(dns !== undefined && (dns.pods !== undefined || dns.cidrs !== undefined), 'egress.dns', dns,
    'cluster DNS with pods { namespace, selector } or cidrs, or both (KUBE_DNS, NODE_LOCAL_DNS)');
  if (dns?.pods) checkPods(c, 'egress.dns.pods', dns.pods);
  if (dns?.cidrs !== undefined) blocks('egress.dns.cidrs', dns.cidrs);
  if (dns) checkPorts(c, 'egress.dns.ports', dns.ports);

  if (egress.clusterCidrs !== undefined) blocks('egress.clusterCidrs', egress.clusterCidrs);
  const proxies = egress.proxies ?? {};
  for (const [name, proxy] of Object.entries(proxies)) {
    const field = `egress.proxies.${name}`;
    c.dnsLabel(`${field} (its name)`, name);
    let url: URL | undefined;
    try {
      url = new URL(proxy.url);
    } catch {
      url = undefined;
    }
    c.expect(url !== undefined && url.protocol === 'http:' && url.pathname === '/' && url.username === '' && url.password === ''
      && url.search === '' && url.hash === '', `${field}.url`, shownUrl(proxy.url),
      'an http://host:port URL without credentials (gRPC and the S3 clients speak plain HTTP CONNECT to the proxy)');
    if (isInClusterProxy(proxy)) {
      checkPods(c, field, proxy);
      if (proxy.port !== undefined) c.integer(`${field}.port`, proxy.port, 1, 65535);
    } else {
      blocks(`${field}.cidrs`, proxy.cidrs);
    }
  }

  const dependencies = egress.dependencies ?? {};
  c.expect(egress.dependencies !== undefined, 'egress.dependencies', egress.dependencies, 'how each external dependency in use is reached');
  for (const name of Object.keys(dependencies)) {
    c.oneOf('egress.dependencies (a key)', name, EXTERNAL_DEPENDENCY_NAMES as readonly string[]);
  }
  const proxyOf = new Map<ObservabilityComponent, { proxy: string; field: string }>();
  for (const name of EXTERNAL_DEPENDENCY_NAMES) {
    const dependency: ExternalDependency = EXTERNAL_DEPENDENCIES[name];
    const field = `egress.dependencies.${name}`;
    const spec = dependencies[name];
    const because = dependency.usedBecause(env);
    if (because === undefined) {
      c.expect(spec === undefined, field, spec, `left out: nothing calls ${dependency.description} in this environment`);
      continue;
    }
    if (spec === undefined) {
      c.expect(false, field, spec, `{ cidrs, ports } or { via: <proxy> } for ${dependency.description}, because ${because}`);
      continue;
    }
    if (isProxied(spec)) {
      const refused = dependency.proxyRefused(env);
      if (refused !== undefined) {
        c.expect(false, `${field}.via`, spec.via, `left out (give { cidrs, ports }): ${refused}`);
        continue;
      }
      c.oneOf(`${field}.via`, spec.via, Object.keys(proxies));
      for (const user of dependency.users) {
        const earlier = proxyOf.get(user);
        if (earlier === undefined) proxyOf.set(user, { proxy: spec.via, field });
        else {
          c.expect(earlier.proxy === spec.via, `${field}.via`, spec.via,
            `${show(earlier.proxy)} like '${earlier.field}.via': ${user} takes one HTTPS_PROXY`);
        }
      }
    } else {
      blocks(`${field}.cidrs`, spec.cidrs);
      checkPorts(c, `${field}.ports`, spec.ports);
    }
  }
  if (proxyOf.size > 0) {
    c.expect(egress.clusterCidrs !== undefined && egress.clusterCidrs.length > 0, 'egress.clusterCidrs', egress.clusterCidrs,
      'the cluster\'s pod and Service CIDRs once a dependency goes via a proxy (NO_PROXY must keep in-cluster gRPC off the proxy)');
  }
  const storage = env.objectStorage;
  const storageEgress = dependencies.objectStorage;
  if (storage && storageEgress && !isProxied(storageEgress) && Array.isArray(storageEgress.ports)) {
    const port = objectStoragePort(storage);
    const where = objectStorageKind(storage) === 's3' ? `'objectStorage.endpoint' ${show(objectStorageEndpoint(storage))}` : show(objectStorageEndpoint(storage));
    c.expect(storageEgress.ports.some(p => p.port === port && (p.protocol ?? 'TCP') === 'TCP'), 'egress.dependencies.objectStorage.ports',
      storageEgress.ports, `to include ${port}/TCP, the port of ${where}`);
  }
  const kubelet = dependencies.kubelet;
  if (kubelet && !isProxied(kubelet) && Array.isArray(kubelet.ports)) {
    c.expect(kubelet.ports.some(p => p.port === KUBELET_PORT && (p.protocol ?? 'TCP') === 'TCP'), 'egress.dependencies.kubelet.ports',
      kubelet.ports, `to include ${KUBELET_PORT}/TCP, the kubelet's port Prometheus scrapes on every node`);
  }
}

/**
 * The `host[:port]` Loki and Tempo reach the object storage at: the S3 endpoint, Google Cloud Storage's JSON API
 * (`storage.googleapis.com`), or the Azure storage account's blob endpoint (`<account>.blob.core.windows.net`, the
 * default endpoint suffix of both clients).
 */
export function objectStorageEndpoint(storage: ObjectStorage): string {
  switch (storage.kind) {
    case 'gcs':
      return 'storage.googleapis.com';
    case 'azure':
      return `${storage.accountName}.blob.core.windows.net`;
    default:
      return storage.endpoint;
  }
}

/** The port of the object storage endpoint (`host[:port]`): the one it names, else 80 for plain HTTP and 443 for HTTPS (always, off S3). */
export function objectStoragePort(storage: ObjectStorage): number {
  if (storage.kind === 'gcs' || storage.kind === 'azure') return 443;
  const named = /:(\d+)$/.exec(storage.endpoint)?.[1];
  if (named !== undefined) return Number(named);
  return storage.insecure ? 80 : 443;
}

function checkBlock(c: Checks, field: string, value: string, allowWide: boolean): void {
  c.cidr(field, value, allowWide ? undefined : {
    prefix: WIDEST_PREFIX,
    why: '(the dependency\'s own addresses: a provider\'s published ranges, your network\'s), unless \'egress.allowWideCidrs\' is true',
  });
}

function checkPorts(c: Checks, field: string, ports: readonly FlowPort[] | undefined): void {
  c.expect(Array.isArray(ports) && ports.length > 0, field, ports, 'at least one { port, protocol? }');
  for (const [i, p] of (ports ?? []).entries()) {
    c.integer(`${field}[${i}].port`, p.port, 1, 65535);
    if (p.protocol !== undefined) c.oneOf(`${field}[${i}].protocol`, p.protocol, ['TCP', 'UDP']);
  }
}

function checkPods(c: Checks, field: string, pods: { readonly namespace: string; readonly selector: Readonly<Record<string, string>> }): void {
  c.dnsLabel(`${field}.namespace`, pods.namespace);
  const selector = Object.entries(pods.selector ?? {});
  c.expect(selector.length > 0 && selector.every(([k, v]) => LABEL_KEY.test(k) && LABEL_VALUE.test(v)), `${field}.selector`, pods.selector,
    'at least one label, each a valid label key and value');
}

/** Checks a map of labels or annotations: valid keys, and for labels valid values. */
export function checkLabelMap(c: Checks, field: string, map: Readonly<Record<string, string>> | undefined, values: 'label' | 'annotation'): void {
  for (const [key, value] of Object.entries(map ?? {})) {
    c.expect(LABEL_KEY.test(key), `${field} (a key)`, key, 'a label key: [prefix/]name, the name at most 63 letters, digits, "-", "_" and "."');
    c.expect(typeof value === 'string' && (values === 'annotation' || LABEL_VALUE.test(value)), `${field}.${key}`, value,
      values === 'label' ? 'a label value: at most 63 letters, digits, "-", "_" and "."' : 'a string');
  }
}
