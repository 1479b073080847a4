// What leaves the cluster, for every environment and for variants that exercise proxies and workload identity: each
// external dependency the environment names is reachable from exactly the pods that use it (EXTERNAL_DEPENDENCIES),
// on its ports or through its proxy; DNS from every namespace; nothing else goes to an address outside the cluster.
import {
  EKS_POD_IDENTITY_AGENT, EXTERNAL_DEPENDENCIES, GKE_METADATA_SERVER, EXTERNAL_DEPENDENCY_NAMES, EgressSettings, ExternalDependency, NODE_LOCAL_DNS,
  ObservabilityComponent, isInClusterProxy, isProxied,
} from '../lib/config/egress';
import { AppClusterSettings, EnvironmentConfig, validateEnvironment } from '../lib/config/environment';
import { ENVIRONMENTS } from '../lib/config/environments';
import { OBSERVABILITY_NAMESPACE } from '../lib/charts/namespaces';
import { AZURE_WI, GCS_GKE, S3_IRSA } from './support/fixtures';
import { ALL_ENVIRONMENTS, K8sObject, SINGLE_CLUSTER_ENVIRONMENTS, find, podSpecOf, repoServices, servicesWithFixtures, synthStack, workloads } from './support/manifest';
import { AllowedEgress, PodSelection, egressViolations } from './support/policy';
import { schemaErrors } from './support/schema';
import { urlPort } from '../lib/private/urls';
import { Services, egressCidrs } from '../lib/services/catalog';

const prod = ENVIRONMENTS.prod;
const withEgress = (env: EnvironmentConfig, name: string, egress: Partial<EgressSettings>, rest: Partial<EnvironmentConfig> = {}) =>
  validateEnvironment({ ...env, ...rest, name, egress: { ...env.egress, ...egress } });

/** prod with object storage through an in-cluster forward proxy, and NodeLocal DNSCache. */
const VIA_IN_CLUSTER_PROXY = withEgress(prod, 'via-squid', {
  dns: NODE_LOCAL_DNS,
  proxies: { squid: { url: 'http://squid.egress.svc.cluster.local:80', namespace: 'egress', selector: { 'app.kubernetes.io/name': 'squid' }, port: 3128 } },
  dependencies: {
    ...prod.egress.dependencies, objectStorage: { via: 'squid' }, alertReceivers: { via: 'squid' }, gitHost: { via: 'squid' }, notificationWebhook: { via: 'squid' },
  },
});
/** prod on IRSA: object storage and STS through the corporate proxy. */
const IRSA = withEgress(prod, 'irsa', { dependencies: { ...prod.egress.dependencies, objectStorageIdentity: { via: 'corporate' } } }, { objectStorage: S3_IRSA });
/** prod on EKS Pod Identity: S3 directly on its published ranges (placeholders), the agent on the node. */
const POD_IDENTITY = withEgress(prod, 'pod-identity', {
  dependencies: {
    ...prod.egress.dependencies,
    objectStorage: { cidrs: ['52.218.0.0/17', '3.5.64.0/21'], ports: [{ port: 443 }] },
    objectStorageIdentity: EKS_POD_IDENTITY_AGENT,
  },
}, { objectStorage: { ...S3_IRSA, credentials: { kind: 'workloadIdentity', provider: 'eks-pod-identity' } } });

/** prod on GCS with GKE Workload Identity: the bucket through the corporate proxy, the metadata server on the node. */
const GKE = withEgress(prod, 'gke', { dependencies: { ...prod.egress.dependencies, objectStorageIdentity: GKE_METADATA_SERVER } }, { objectStorage: GCS_GKE });
/** prod on Azure Blob Storage with Azure Workload Identity: the account and Entra ID through the corporate proxy. */
const AZURE = withEgress(prod, 'azure', { dependencies: { ...prod.egress.dependencies, objectStorageIdentity: { via: 'corporate' } } }, { objectStorage: AZURE_WI });

/** prod pushing over SSH: git to GitHub's addresses (placeholders) on 22 directly, which no proxy carries; the webhook still via the proxy. */
const SSH_GIT = withEgress(prod, 'ssh-git', {
  dependencies: { ...prod.egress.dependencies, gitHost: { cidrs: ['140.82.112.0/20', '192.30.252.0/22'], ports: [{ port: 22 }] } },
}, { gitops: { ...prod.gitops, repoURL: 'git@github.com:example/obs-canary.git' } });
/** prod with the gate's loop on GitHub's schedule: the cluster calls neither the git host nor the webhook. */
const GITHUB_LOOP = (() => {
  const { gitHost: _git, notificationWebhook: _hook, ...dependencies } = prod.egress.dependencies;
  return withEgress(prod, 'github-loop', { dependencies }, { delivery: { ...prod.delivery, loop: 'github' } });
})();
/** local with a notification webhook, reached directly wherever it is. */
const LOCAL_WEBHOOK = withEgress(ENVIRONMENTS.local, 'local-webhook', {
  dependencies: { ...ENVIRONMENTS.local.egress.dependencies, notificationWebhook: { cidrs: ['0.0.0.0/0'], ports: [{ port: 443 }] } },
}, { delivery: { ...ENVIRONMENTS.local.delivery, webhook: { name: 'canary-gate-notifications', key: 'webhook-url' } } });

const ENVIRONMENTS_AND_VARIANTS = [...ALL_ENVIRONMENTS, VIA_IN_CLUSTER_PROXY, IRSA, POD_IDENTITY, GKE, AZURE, SSH_GIT, GITHUB_LOOP, LOCAL_WEBHOOK];

/** The kind of each component's workload, where it is no StatefulSet. */
const WORKLOAD_KINDS: Partial<Record<ObservabilityComponent, string>> = { 'canary-gate': 'CronJob' };

/** Whether a component runs in an environment: of the two log shippers only the one it names, Mimir where it is the store. */
function runsIn(env: EnvironmentConfig, component: ObservabilityComponent): boolean {
  if (component === 'mimir') return env.mimir !== undefined;
  return component !== (env.logs.shipper === 'alloy' ? 'promtail' : 'alloy');
}

/** The pods of a component, as its policies select them. */
function podsOf(component: ObservabilityComponent): PodSelection {
  return { namespace: OBSERVABILITY_NAMESPACE, labels: { 'app.kubernetes.io/name': component === 'collector' ? 'otel-collector' : component } };
}

const ipBlocks = (cidrs: readonly string[]) => cidrs.map(cidr => ({ ipBlock: { cidr } }));
const tcp = (ports: ReadonlyArray<{ port: number; protocol?: string }>) => ports.map(p => ({ port: p.port, protocol: p.protocol ?? 'TCP' }));

/** Cluster DNS, from every pod of the observability namespace and of `namespaces`. */
function dnsEgress(env: EnvironmentConfig, namespaces: readonly string[]): AllowedEgress {
  const { dns } = env.egress;
  return {
    what: 'cluster DNS',
    from: [OBSERVABILITY_NAMESPACE, ...namespaces].map(namespace => ({ namespace, labels: {} })),
    to: [
      ...(dns.pods ? [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': dns.pods.namespace } }, podSelector: { matchLabels: dns.pods.selector } }] : []),
      ...ipBlocks(dns.cidrs ?? []),
    ],
    ports: tcp(dns.ports),
  };
}

/**
 * The egress an environment allows out of the cluster, read from its configuration and the dependency table (not
 * from what the charts do): DNS from every pod of every namespace, each dependency in use from its users, directly or
 * to the proxy it names.
 */
function expectedEgress(env: EnvironmentConfig, namespaces: readonly string[], services: Services = repoServices()): AllowedEgress[] {
  const allowed: AllowedEgress[] = [dnsEgress(env, namespaces)];
  // what a service file names as what its pods call, by address, in this environment (a central topology's services
  // run in its application clusters: expectedClusterEgress)
  if (env.topology === undefined) allowed.push(...serviceEgress(env, services));
  return withDependencies(env, allowed);
}

/** The egress entries of the service files that name addresses in an environment, from each service's pods. */
function serviceEgress(env: EnvironmentConfig, services: Services): AllowedEgress[] {
  const allowed: AllowedEgress[] = [];
  for (const spec of Object.values(services)) {
    for (const entry of spec.egress ?? []) {
      const blocks = egressCidrs(entry, env.name);
      if (blocks.length === 0) continue;
      allowed.push({
        what: `${entry.name} of ${spec.file}`, from: [{ namespace: spec.namespace, labels: { app: spec.name } }], to: ipBlocks(blocks),
        ports: tcp(entry.ports.map(port => ({ port }))),
      });
    }
  }
  return allowed;
}

/** `allowed` and each external dependency of the environment in use, from its users, directly or to its proxy. */
function withDependencies(env: EnvironmentConfig, allowed: AllowedEgress[]): AllowedEgress[] {
  const { dependencies, proxies } = env.egress;
  const viaProxy = new Map<string, Set<ObservabilityComponent>>();
  for (const name of EXTERNAL_DEPENDENCY_NAMES) {
    const dependency: ExternalDependency = EXTERNAL_DEPENDENCIES[name];
    const spec = dependencies[name];
    if (dependency.usedBecause(env) === undefined) {
      expect([name, spec]).toEqual([name, undefined]);
      continue;
    }
    if (spec === undefined) throw new Error(`${env.name}: ${name} is used but not named`);
    const users = dependency.users.filter(u => runsIn(env, u) && !(dependency.notUsedBy?.(env) ?? []).includes(u));
    if (isProxied(spec)) {
      for (const user of users) viaProxy.set(spec.via, new Set([...(viaProxy.get(spec.via) ?? []), user]));
    } else {
      allowed.push({ what: `${name} of ${env.name}`, from: users.map(podsOf), to: ipBlocks(spec.cidrs), ports: tcp(spec.ports) });
    }
  }
  for (const [name, users] of viaProxy) {
    const proxy = proxies![name];
    const to = isInClusterProxy(proxy)
      ? [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': proxy.namespace } }, podSelector: { matchLabels: proxy.selector } }]
      : ipBlocks(proxy.cidrs);
    const port = (isInClusterProxy(proxy) ? proxy.port : undefined) ?? urlPort(proxy.url);
    allowed.push({ what: `proxy ${name} of ${env.name}`, from: [...users].map(podsOf), to, ports: [{ port, protocol: 'TCP' }] });
  }
  return allowed;
}

/** The proxy URL each workload of the stack sends through, by `<kind>/<name>`; only those that have one. */
function proxiesOf(objects: readonly K8sObject[]): Record<string, { url: string; noProxy: string[] }> {
  const found: Record<string, { url: string; noProxy: string[] }> = {};
  for (const workload of workloads(objects)) {
    for (const container of podSpecOf(workload).containers) {
      const env = Object.fromEntries((container.env ?? []).filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value as string]));
      if (env.HTTPS_PROXY !== undefined) {
        expect([workload.metadata.name, env.HTTP_PROXY]).toEqual([workload.metadata.name, env.HTTPS_PROXY]);
        found[`${workload.kind}/${workload.metadata.name}`] = { url: env.HTTPS_PROXY, noProxy: (env.NO_PROXY ?? '').split(',') };
      }
    }
  }
  return found;
}

/**
 * What an application cluster of a central topology allows out of it, read from its configuration: DNS from every
 * namespace, its API server from the agents that discover through it, the gateway's addresses from the three that ship.
 */
function expectedClusterEgress(env: EnvironmentConfig, cluster: AppClusterSettings, namespaces: readonly string[],
  services: Services = repoServices()): AllowedEgress[] {
  const agent = (name: string): PodSelection => ({ namespace: OBSERVABILITY_NAMESPACE, labels: { 'app.kubernetes.io/name': name } });
  return [
    dnsEgress(env, namespaces),
    ...serviceEgress(env, services),
    {
      what: `the API server of ${cluster.name}`, from: ['prometheus', 'otel-agent', 'alloy', 'kube-state-metrics'].map(agent),
      to: ipBlocks(cluster.egress.kubernetesApi.cidrs), ports: tcp(cluster.egress.kubernetesApi.ports),
    },
    {
      what: `the telemetry gateway, from ${cluster.name}`, from: ['prometheus', 'otel-agent', 'alloy'].map(agent),
      to: ipBlocks(cluster.egress.gateway.cidrs), ports: tcp(cluster.egress.gateway.ports),
    },
  ];
}

describe.each(SINGLE_CLUSTER_ENVIRONMENTS.map(env => ({ env, name: env.name })))('egress of a team\'s service file ($name)', ({ env }) => {
  const services = servicesWithFixtures('ledger');
  const { stack, charts } = synthStack(env, 'steady', services);
  const objects = Object.values(charts).flat();
  const allowed = expectedEgress(env, Object.keys(stack.namespaces), services);

  test('what its file names is allowed from its pods, and still nothing else leaves the cluster', () => {
    expect(allowed.some(a => a.what === 'ledger-db of services/ledger.yaml')).toBe(env.name === 'prod');
    expect(egressViolations(objects, allowed)).toEqual([]);
  });

  test('the check can fail: the entry\'s rule missing, or a block no file names', () => {
    if (env.name !== 'prod') return;
    const without = objects.filter(o => o.metadata.name !== 'ledger-to-ledger-db-egress');
    expect(egressViolations(without, allowed)).toEqual([expect.stringMatching(/^ledger-db of services\/ledger\.yaml: no egress from /)]);
    expect(egressViolations(objects, expectedEgress(env, Object.keys(stack.namespaces))))
      .toEqual(['NetworkPolicy payments/ledger-to-ledger-db-egress: egress to 198.18.4.0/24, which is no named dependency\'s']);
  });
});

describe.each(ENVIRONMENTS_AND_VARIANTS.map(env => ({ env, name: env.name })))('egress ($name)', ({ env }) => {
  const { stack, charts } = synthStack(env);
  const objects = Object.values(charts).flat();
  // a central topology's observability cluster runs no services; each app cluster is checked on its own below
  const clusterCharts = new Set(Object.values(stack.clusters ?? {})
    .flatMap(c => [c.agents, ...Object.values(c.namespaces)].map(chart => chart.node.id)));
  const ownObjects = Object.entries(charts).filter(([id]) => !clusterCharts.has(id)).flatMap(([, o]) => o);
  const allowed = expectedEgress(env, Object.keys(stack.namespaces));

  test('each named dependency is reachable from exactly the pods that use it, DNS from every namespace, and nothing else leaves the cluster', () => {
    expect(allowed.length).toBeGreaterThan(1);
    expect(egressViolations(ownObjects, allowed)).toEqual([]);
  });


  test('exactly the users of a dependency reached via a proxy send through it, with the cluster kept off it', () => {
    const expected: Record<string, { url: string }> = {};
    for (const name of EXTERNAL_DEPENDENCY_NAMES) {
      const spec = env.egress.dependencies[name];
      if (spec === undefined || !isProxied(spec)) continue;
      for (const user of EXTERNAL_DEPENDENCIES[name].users.filter(u => runsIn(env, u))) {
        expected[`${WORKLOAD_KINDS[user] ?? 'StatefulSet'}/${podsOf(user).labels['app.kubernetes.io/name']}`] = { url: env.egress.proxies![spec.via].url };
      }
    }
    const found = proxiesOf(objects);
    expect(Object.fromEntries(Object.entries(found).map(([w, p]) => [w, { url: p.url }]))).toEqual(expected);
    for (const { noProxy } of Object.values(found)) {
      expect(noProxy).toEqual(expect.arrayContaining(['localhost', '.svc', '.cluster.local', ...(env.egress.clusterCidrs ?? [])]));
    }
  });

  test('the objects of the variant are valid Kubernetes objects (several peers in a rule, annotations, proxy variables)', () => {
    expect(objects.flatMap(o => schemaErrors(o).map(e => `${o.kind}/${o.metadata.name}: ${e}`))).toEqual([]);
  });

  test('the gate\'s Node.js honours the proxy variables (NODE_USE_ENV_PROXY=1) exactly when the gate has a proxy', () => {
    const gate = objects.find(o => o.kind === 'CronJob' && o.metadata.name === 'canary-gate');
    expect(gate !== undefined).toBe(env.delivery.loop === 'cluster');
    if (!gate) return;
    const vars = Object.fromEntries(podSpecOf(gate).containers[0].env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    expect(vars.NODE_USE_ENV_PROXY).toBe(vars.HTTPS_PROXY === undefined ? undefined : '1');
  });

  test('no workload mounts the API-server token for its object storage identity', () => {
    for (const name of ['loki', 'tempo']) {
      expect(find(charts.observability, 'StatefulSet', name).spec.template.spec.automountServiceAccountToken).toBe(false);
      expect(find(charts.observability, 'ServiceAccount', name).automountServiceAccountToken).toBe(false);
    }
  });
});

describe.each(ALL_ENVIRONMENTS.filter(env => env.topology).map(env => ({ env, name: env.name })))('egress of the application clusters ($name)', ({ env }) => {
  const { stack, charts } = synthStack(env);

  test.each(env.topology!.appClusters.map(c => ({ ...c })))('$name: its agents reach its API server and the gateway, nothing else leaves it', cluster => {
    const c = stack.clusters![cluster.name];
    const objects = [c.agents, ...Object.values(c.namespaces)].flatMap(chart => charts[chart.node.id]);
    expect(objects.filter(o => o.kind === 'NetworkPolicy').length).toBeGreaterThan(5);
    expect(egressViolations(objects, expectedClusterEgress(env, cluster, Object.keys(c.namespaces)))).toEqual([]);
  });

  test('a team\'s service file naming its database here: allowed from its pods in each application cluster, not in the observability cluster', () => {
    const fixtures = servicesWithFixtures('ledger');
    const services: Services = {
      ...fixtures, ledger: { ...fixtures.ledger, egress: [{ name: 'ledger-db', cidrs: { [env.name]: ['198.18.4.0/24'] }, ports: [5432] }] },
    };
    const team = synthStack(env, 'steady', services);
    for (const cluster of env.topology!.appClusters) {
      const c = team.stack.clusters![cluster.name];
      const objects = [c.agents, ...Object.values(c.namespaces)].flatMap(chart => team.charts[chart.node.id]);
      expect(objects.some(o => o.metadata.name === 'ledger-to-ledger-db-egress')).toBe(true);
      expect(egressViolations(objects, expectedClusterEgress(env, cluster, Object.keys(c.namespaces), services))).toEqual([]);
    }
    const clusterCharts = new Set(Object.values(team.stack.clusters ?? {})
      .flatMap(c => [c.agents, ...Object.values(c.namespaces)].map(chart => chart.node.id)));
    const own = Object.entries(team.charts).filter(([id]) => !clusterCharts.has(id)).flatMap(([, o]) => o);
    expect(egressViolations(own, expectedEgress(env, Object.keys(team.stack.namespaces), services))).toEqual([]);
  });
});

describe('the canary gate\'s git host and webhook', () => {
  test('prod: both through the corporate proxy, which the gate alone of the namespace reaches for them', () => {
    const { charts } = synthStack(prod);
    const proxy = prod.egress.proxies!.corporate as { cidrs: readonly string[] };
    expect(find(charts.observability, 'NetworkPolicy', 'canary-gate-to-proxy-corporate-egress').spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'canary-gate' } },
      policyTypes: ['Egress'],
      egress: [{ to: proxy.cidrs.map(cidr => ({ ipBlock: { cidr } })), ports: [{ port: 3128, protocol: 'TCP' }] }],
    });
  });

  test('SSH: git dials the host on 22 directly, and its addresses are kept off the proxy the webhook goes through', () => {
    const { charts } = synthStack(SSH_GIT);
    expect(find(charts.observability, 'NetworkPolicy', 'canary-gate-to-git-host-egress').spec.egress).toEqual([{
      to: [{ ipBlock: { cidr: '140.82.112.0/20' } }, { ipBlock: { cidr: '192.30.252.0/22' } }], ports: [{ port: 22, protocol: 'TCP' }],
    }]);
    const container = podSpecOf(find(charts.observability, 'CronJob', 'canary-gate')).containers[0];
    const noProxy = String(container.env.find((e: any) => e.name === 'NO_PROXY').value).split(',');
    expect(noProxy).toEqual(expect.arrayContaining(['140.82.112.0/20', '192.30.252.0/22']));
  });

  test('SSH cannot go via a proxy: ssh ignores HTTPS_PROXY', () => {
    expect(() => withEgress(SSH_GIT, 'ssh-via-proxy', { dependencies: { ...SSH_GIT.egress.dependencies, gitHost: { via: 'corporate' } } }))
      .toThrow(/'egress.dependencies.gitHost.via' must be left out \(give \{ cidrs, ports \}\): 'gitops.repoURL' is an SSH URL/);
  });

  test('with the loop on GitHub, naming either is refused: nothing in the cluster calls them', () => {
    expect(() => withEgress(GITHUB_LOOP, 'github-loop-with-git', { dependencies: { ...GITHUB_LOOP.egress.dependencies, gitHost: { via: 'corporate' } } }))
      .toThrow(/'egress.dependencies.gitHost' must be left out: nothing calls the git host of gitops.repoURL in this environment/);
    expect(() => withEgress(prod, 'prod-without-webhook', {}, { delivery: { ...prod.delivery, webhook: undefined } }))
      .toThrow(/'egress.dependencies.notificationWebhook' must be left out/);
  });
});

describe('workload identity on GKE and Azure as rendered', () => {
  const noProxyOf = (env: EnvironmentConfig, name: string): string[] => {
    const container = find(synthStack(env).charts.observability, 'StatefulSet', name).spec.template.spec.containers[0];
    return String(container.env.find((e: any) => e.name === 'NO_PROXY').value).split(',');
  };

  test('GKE: Loki and Tempo reach the metadata server directly on 169.254.169.254:80, and NO_PROXY names it', () => {
    const { charts } = synthStack(GKE);
    expect(find(charts.observability, 'NetworkPolicy', 'loki-to-object-storage-identity-egress').spec.egress)
      .toEqual([{ to: [{ ipBlock: { cidr: '169.254.169.254/32' } }], ports: [{ port: 80, protocol: 'TCP' }] }]);
    for (const name of ['loki', 'tempo']) expect(noProxyOf(GKE, name)).toEqual(expect.arrayContaining(['169.254.169.254', '169.254.169.254/32']));
  });

  test('Azure: Entra ID and the account through the proxy, no rule of their own, the metadata address not exempted', () => {
    const { charts } = synthStack(AZURE);
    expect(charts.observability.filter(o => o.kind === 'NetworkPolicy' && o.metadata.name.includes('object-storage'))).toEqual([]);
    expect(noProxyOf(AZURE, 'loki')).not.toContain('169.254.169.254');
  });
});

describe('the egress check can fail', () => {
  const objects = Object.values(synthStack(prod).charts).flat();
  const allowed = expectedEgress(prod, Object.keys(synthStack(prod).stack.namespaces));
  const changed = (change: (objects: K8sObject[]) => void): K8sObject[] => {
    const copy = structuredClone(objects);
    change(copy);
    return copy;
  };

  test('a dependency\'s rule removed: Grafana without egress to its database is reported', () => {
    const without = changed(all => all.splice(all.indexOf(find(all, 'NetworkPolicy', 'grafana-to-database-egress')), 1));
    expect(egressViolations(without, allowed)).toEqual([
      'grafanaDatabase of prod: no egress from observability/app.kubernetes.io/name=grafana to {"ipBlock":{"cidr":"10.0.128.0/27"}} on 5432/TCP',
    ]);
  });

  test('a rule to an address nobody named, and a rule to anywhere, are reported', () => {
    const stray = changed(all => {
      find(all, 'NetworkPolicy', 'prometheus-to-kube-api-egress').spec.egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }] });
      delete find(all, 'NetworkPolicy', 'alloy-to-kube-api-egress').spec.egress[0].to;
    });
    expect(egressViolations(stray, allowed)).toEqual([
      'NetworkPolicy observability/prometheus-to-kube-api-egress: egress to 0.0.0.0/0, which is no named dependency\'s',
      'NetworkPolicy observability/alloy-to-kube-api-egress: egress to anywhere on 443',
      'kubernetesApi of prod: no egress from observability/app.kubernetes.io/name=alloy to {"ipBlock":{"cidr":"10.0.255.0/28"}} on 443/TCP',
    ]);
  });

  test('a dependency reached on other ports than it names is reported', () => {
    const otherPort = changed(all => { find(all, 'NetworkPolicy', 'grafana-to-database-egress').spec.egress[0].ports = [{ port: 5433, protocol: 'TCP' }]; });
    expect(egressViolations(otherPort, allowed)).toEqual([
      'NetworkPolicy observability/grafana-to-database-egress: egress to {"ipBlock":{"cidr":"10.0.128.0/27"}} with other peers or ports than grafanaDatabase of prod names',
      'grafanaDatabase of prod: no egress from observability/app.kubernetes.io/name=grafana to {"ipBlock":{"cidr":"10.0.128.0/27"}} on 5432/TCP',
    ]);
  });

  test('a component that does not use a dependency but reaches it is reported', () => {
    const extra = changed(all => {
      const grafana = find(all, 'NetworkPolicy', 'grafana-to-database-egress');
      all.push({ ...structuredClone(grafana), metadata: { ...grafana.metadata, name: 'prometheus-to-database-egress' },
        spec: { ...grafana.spec, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } } });
    });
    expect(egressViolations(extra, allowed)).toEqual([
      'NetworkPolicy observability/prometheus-to-database-egress: egress from observability/app.kubernetes.io/name=prometheus to '
      + '{"ipBlock":{"cidr":"10.0.128.0/27"}}, which only grafanaDatabase of prod allows, and only from observability/app.kubernetes.io/name=grafana',
    ]);
  });
});

describe('prod as rendered', () => {
  const { charts } = synthStack(prod);
  const objects = Object.values(charts).flat();

  test('Grafana reaches its database: egress to the database\'s addresses on 5432', () => {
    expect(find(charts.observability, 'NetworkPolicy', 'grafana-to-database-egress').spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'grafana' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.128.0/27' } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    });
  });

  test('nothing anywhere is open to 0.0.0.0/0', () => {
    expect(objects.length).toBeGreaterThan(50);
    expect(JSON.stringify(objects)).not.toContain('0.0.0.0/0');
    // and the check above does find it where it is
    expect(JSON.stringify(Object.values(synthStack(ENVIRONMENTS.local).charts).flat())).toContain('0.0.0.0/0');
  });
});
