import { FlowPeer, FlowPort, cidrs, pods } from '../constructs/network-policies';
import { EgressProxyEnv } from '../constructs/types';
import {
  ClusterDns, DependencyContext, EXTERNAL_DEPENDENCIES, EXTERNAL_DEPENDENCY_NAMES, EgressProxy, EgressSettings, ExternalDependency,
  ExternalDependencyName, ObservabilityComponent, isInClusterProxy, isProxied,
} from './egress';
import { urlPort } from '../private/urls';

/** One egress the environment allows a component: to a dependency, or to the proxy it reaches dependencies through. */
export interface EgressGrant {
  /** The component whose pods may send. */
  readonly component: ObservabilityComponent;
  /** Names its flow: the dependency's `flow`, or `proxy-<name>`. */
  readonly flow: string;
  /** The dependencies it serves. */
  readonly dependencies: readonly ExternalDependencyName[];
  readonly to: FlowPeer;
  readonly ports: readonly FlowPort[];
}

/** What an environment's egress section asks of the observability namespace. */
export interface EgressPlan {
  /** Every egress to outside the cluster (DNS apart), in the order of {@link EXTERNAL_DEPENDENCIES}. */
  readonly grants: readonly EgressGrant[];
  /** The proxy of each component that reaches a dependency through one. */
  readonly proxies: Readonly<Partial<Record<ObservabilityComponent, EgressProxyEnv>>>;
}

/** Names in-cluster clients resolve, kept off every proxy: Services, and the loopback Go already exempts. */
const IN_CLUSTER_NAMES = ['localhost', '127.0.0.1', '.svc', '.cluster.local'] as const;

/**
 * The egress grants and proxy settings an environment implies: for each dependency in use and each of its users,
 * egress to the dependency's CIDR blocks and ports, or (reached `via` a proxy) to the proxy, plus `NO_PROXY` of the
 * in-cluster names, the cluster's CIDRs and the component's direct dependencies (their CIDR blocks and the hosts their
 * clients dial, such as the GKE metadata server). The environment must be valid.
 */
export function planEgress(env: DependencyContext & { readonly egress: EgressSettings }): EgressPlan {
  const { egress } = env;
  const grants: EgressGrant[] = [];
  const viaProxy = new Map<ObservabilityComponent, { name: string; dependencies: ExternalDependencyName[] }>();
  const direct = new Map<ObservabilityComponent, string[]>();
  for (const name of EXTERNAL_DEPENDENCY_NAMES) {
    const dependency: ExternalDependency = EXTERNAL_DEPENDENCIES[name];
    const spec = egress.dependencies[name];
    if (spec === undefined || dependency.usedBecause(env) === undefined) continue;
    const notUsedBy = dependency.notUsedBy?.(env) ?? [];
    for (const component of dependency.users.filter(user => runs(env, user) && !notUsedBy.includes(user))) {
      if (isProxied(spec)) {
        const entry = viaProxy.get(component) ?? { name: spec.via, dependencies: [] };
        entry.dependencies.push(name);
        viaProxy.set(component, entry);
      } else {
        grants.push({ component, flow: dependency.flow, dependencies: [name], to: cidrs(spec.cidrs), ports: spec.ports });
        direct.set(component, [...(direct.get(component) ?? []), ...spec.cidrs, ...(dependency.noProxy?.(env) ?? [])]);
      }
    }
  }
  const proxies: Partial<Record<ObservabilityComponent, EgressProxyEnv>> = {};
  for (const [component, { name, dependencies }] of viaProxy) {
    const proxy = (egress.proxies ?? {})[name];
    grants.push({ component, flow: `proxy-${name}`, dependencies, to: proxyPeer(name, proxy), ports: [{ port: proxyPort(proxy) }] });
    proxies[component] = {
      url: proxy.url,
      noProxy: [...new Set([...IN_CLUSTER_NAMES, ...(egress.clusterCidrs ?? []), ...(direct.get(component) ?? [])])],
    };
  }
  return { grants, proxies };
}

/** Whether the environment runs a component: every one does, but the log shipper it does not use. */
function runs(env: DependencyContext, component: ObservabilityComponent): boolean {
  const shipper = env.logs?.shipper ?? 'promtail';
  if (component === 'mimir') return env.mimir !== undefined;
  return component === 'alloy' || component === 'promtail' ? component === shipper : true;
}

/** Where a proxy is, for a network policy. */
function proxyPeer(name: string, proxy: EgressProxy): FlowPeer {
  return isInClusterProxy(proxy) ? pods({ name, namespace: proxy.namespace, selector: proxy.selector }) : cidrs(proxy.cidrs);
}

/** The port a proxy's pods or hosts listen on. */
function proxyPort(proxy: EgressProxy): number {
  return (isInClusterProxy(proxy) ? proxy.port : undefined) ?? urlPort(proxy.url);
}

/** Cluster DNS as the peer of every namespace's `dns` flow: its pods, its addresses, or either. */
export function dnsPeer(dns: ClusterDns): FlowPeer {
  const peers: FlowPeer[] = [
    ...(dns.pods ? [pods({ name: 'cluster-dns', namespace: dns.pods.namespace, selector: dns.pods.selector })] : []),
    ...(dns.cidrs ?? []).map((cidr): FlowPeer => ({ kind: 'cidr', cidr })),
  ];
  return peers.length === 1 ? peers[0] : { kind: 'anyOf', peers };
}
