import { DELIVERY_DEFAULTS } from '../lib/rollout/defaults';
import { ENVIRONMENTS } from '../lib/config/environments';
import { parseCommand } from '../lib/delivery/args';
import { panelTitled } from './dashboards/support';
import { parse } from 'yaml';
import { SAFE_TO_EVICT_LOCAL_VOLUMES } from '../lib/constructs/private/workload';
import { ALL_ENVIRONMENTS, find, podSpecOf, repoServices, servicesWithFixtures, synthStack, where, workloads } from './support/manifest';

describe('the stack wires the dashboards to the rollout state', () => {
  const { charts } = synthStack(ENVIRONMENTS.local, 'canary');
  const objects = charts.observability;
  const canaryFolder = find(objects, 'ConfigMap', 'grafana-dashboards-canary').data;

  test('one "Canary vs stable" dashboard per service, and the service overview', () => {
    expect(Object.keys(canaryFolder).sort()).toEqual(['canary-backend.json', 'canary-gateway.json']);
    expect(Object.keys(find(objects, 'ConfigMap', 'grafana-dashboards-services').data)).toEqual(['svc-backend.json', 'svc-gateway.json']);
  });

  test('the canary dashboard carries the state file\'s weight and the service\'s own SLO', () => {
    const dashboard = JSON.parse(canaryFolder['canary-gateway.json']);
    const text = JSON.stringify(dashboard);
    expect(text).toContain('vector(25)');
    // the gateway's fixture overrides p95 to 250 ms; the backend's keeps the default
    const p95Limit = (model: Record<string, any>) => panelTitled(model, 'p95 latency by version').fieldConfig.defaults.thresholds.steps;
    expect(p95Limit(dashboard)).toEqual([{ value: null, color: 'transparent' }, { value: 250, color: 'red' }]);
    expect(p95Limit(JSON.parse(canaryFolder['canary-backend.json']))).toEqual([
      { value: null, color: 'transparent' }, { value: DELIVERY_DEFAULTS.slo.p95LatencyMs, color: 'red' },
    ]);
    expect(DELIVERY_DEFAULTS.slo.p95LatencyMs).not.toBe(250);
    expect(JSON.stringify(JSON.parse(canaryFolder['canary-backend.json']))).toContain('vector(0)');
  });

  test('Grafana mounts each folder as a directory of the provider directory', () => {
    const pod = find(objects, 'Deployment', 'grafana').spec.template.spec;
    expect(pod.volumes.filter((v: any) => v.name.startsWith('dashboards-')).map((v: any) => v.configMap.name))
      .toEqual(['grafana-dashboards-canary', 'grafana-dashboards-services', 'grafana-dashboards-platform']);
    expect(pod.containers[0].volumeMounts.filter((m: any) => m.name.startsWith('dashboards-')).map((m: any) => m.mountPath))
      .toEqual(['/var/lib/grafana-dashboards/Canary', '/var/lib/grafana-dashboards/Services', '/var/lib/grafana-dashboards/Platform']);
  });
});

describe('every chart of the stack', () => {
  const { charts } = synthStack(ENVIRONMENTS.local, 'canary');

  test.each(Object.keys(charts))('labels every object of %s as part of obs-canary', chart => {
    expect(charts[chart].length).toBeGreaterThan(0);
    const unlabelled = charts[chart].filter(o => o.metadata.labels?.['app.kubernetes.io/part-of'] !== 'obs-canary').map(o => `${o.kind}/${o.metadata.name}`);
    expect(unlabelled).toEqual([]);
  });
});

describe.each(ALL_ENVIRONMENTS.map(env => [env.name, env] as const))('node drains and Argo CD\'s diff in %s', (_name, env) => {
  const all = Object.values(synthStack(env, 'canary').charts).flat();
  const budgets = all.filter(o => o.kind === 'PodDisruptionBudget');
  const spread = workloads(all).flatMap(w => (podSpecOf(w).topologySpreadConstraints ?? []).map((c: any) => ({ where: where(w), c })));

  test('every disruption budget lets a drain evict a pod that is not ready (a crash-looping release must not hold it)', () => {
    // one per workload of more than one replica (a single-node environment has none)
    expect(budgets.length).toBe(workloads(all).filter(w => (w.spec.replicas ?? 1) > 1).length);
    expect(budgets.filter(b => b.spec.unhealthyPodEvictionPolicy !== 'AlwaysAllow').map(b => b.metadata.name)).toEqual([]);
  });

  test('every spread constraint leaves out the nodes the pods cannot go to (a cordoned node\'s zero pods must not pin the skew)', () => {
    expect(spread.length).toBeGreaterThan(0);
    expect(spread.filter(s => s.c.nodeTaintsPolicy !== 'Honor').map(s => `${s.where} ${s.c.topologyKey}`)).toEqual([]);
  });

  test('every volume claim template names its apiVersion and kind, as the API server returns it (Argo CD\'s server-side apply diff '
    + 'compares the list whole: without them the Application would stay OutOfSync)', () => {
    const templates = all.filter(o => o.kind === 'StatefulSet')
      .flatMap(s => (s.spec.volumeClaimTemplates ?? []).map((t: any) => ({ where: where(s), apiVersion: t.apiVersion, kind: t.kind })));
    expect(templates.length).toBeGreaterThan(0);
    expect(templates.filter(t => t.apiVersion !== 'v1' || t.kind !== 'PersistentVolumeClaim')).toEqual([]);
  });

  test('a full batch of any Collector here fits every OTLP receiver here (gRPC refuses a larger message whole: grafana/tempo#2437)', () => {
    const configs = all.filter(o => o.kind === 'ConfigMap' && /^(otel-collector|otel-agent|tempo)-config$/.test(o.metadata.name))
      .flatMap(o => Object.values(o.data as Record<string, string>).map(text => parse(text)));
    const batches = configs.map(c => c.processors?.batch).filter(Boolean);
    const receivers = configs.map(c => (c.receivers ?? c.distributor?.receivers)?.otlp?.protocols?.grpc).filter(Boolean);
    expect([batches.length > 0, receivers.length > 1]).toEqual([true, true]);
    // spans of 2 KiB (many attributes, an exception's stack); without a maximum a batch has no bound
    const largest = Math.max(...batches.map((b: any) => b.send_batch_max_size ?? Infinity)) * 2048;
    const smallest = Math.min(...receivers.map((r: any) => (r.max_recv_msg_size_mib ?? 4) * 1024 * 1024));
    expect(largest).toBeLessThanOrEqual(smallest);
  });

  test('every Service targets a port number its pods declare (a renamed container port, as a change of protocol renames it, leaves no '
    + 'Service without endpoints)', () => {
    const services = all.filter(o => o.kind === 'Service' && o.spec.selector);
    expect(services.length).toBeGreaterThan(0);
    const declared = (selector: Record<string, string>): number[] => workloads(all)
      .filter(w => Object.entries(selector).every(([k, v]) => (w.spec.template ?? w.spec.jobTemplate?.spec.template)?.metadata?.labels?.[k] === v))
      .flatMap(w => podSpecOf(w).containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.containerPort)));
    const wrong = services.flatMap(s => s.spec.ports
      .filter((p: any) => typeof p.targetPort !== 'number' || !declared(s.spec.selector).includes(p.targetPort))
      .map((p: any) => `${s.metadata.namespace ?? ''}/${s.metadata.name}:${p.name} → ${p.targetPort}`));
    expect(wrong).toEqual([]);
  });

  test('the claims the StatefulSets make and the Secrets they mount are no orphans to Argo CD (the project ignores them)', () => {
    const ignore: Array<{ kind: string; name?: string }> = all.find(o => o.kind === 'AppProject' && o.spec.orphanedResources)!.spec.orphanedResources.ignore;
    const ignored = (kind: string, name: string) => ignore.some(i => i.kind === kind
      && (i.name === undefined || new RegExp(`^${i.name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(name)));
    const claims = all.filter(o => o.kind === 'StatefulSet')
      .flatMap(s => (s.spec.volumeClaimTemplates ?? []).map((t: any) => `${t.metadata.name}-${s.metadata.name}-0`));
    const secrets = workloads(all).flatMap(w => (podSpecOf(w).volumes ?? []).filter((v: any) => v.secret).map((v: any) => v.secret.secretName));
    expect(claims.length * secrets.length).toBeGreaterThan(0);
    expect([...claims.filter(c => !ignored('PersistentVolumeClaim', c)), ...secrets.filter(n => !ignored('Secret', n))]).toEqual([]);
  });
});

describe.each(['prod', 'central'] as const)('istiod installed in a namespace of its own choosing (%s)', name => {
  const base = ENVIRONMENTS[name];
  const env = { ...base, apps: { ...base.apps, istiod: { namespace: 'istio-control' } } };
  const { charts } = synthStack(env);
  const all = Object.values(charts).flat();

  test('every flow to istiod and its scrape job name that namespace: sidecars, gateways, Prometheus and Kiali reach it there', () => {
    const toIstiod = all.filter(o => o.kind === 'NetworkPolicy' && /-to-istiod-egress$/.test(o.metadata.name));
    expect(toIstiod.length).toBeGreaterThanOrEqual(3);
    for (const policy of toIstiod) {
      const peers = policy.spec.egress.flatMap((rule: any) => rule.to);
      expect([policy.metadata.name, peers]).toEqual([policy.metadata.name, [{
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-control' } }, podSelector: { matchLabels: { app: 'istiod' } },
      }]]);
    }
    // no peer anywhere pairs istiod's pods with another namespace
    const peers = all.filter(o => o.kind === 'NetworkPolicy')
      .flatMap(p => [...(p.spec.egress ?? []).flatMap((r: any) => r.to ?? []), ...(p.spec.ingress ?? []).flatMap((r: any) => r.from ?? [])]);
    const istiodPeers = peers.filter((peer: any) => peer.podSelector?.matchLabels?.app === 'istiod');
    expect(istiodPeers.length).toBeGreaterThanOrEqual(toIstiod.length);
    for (const peer of istiodPeers) expect(peer.namespaceSelector).toEqual({ matchLabels: { 'kubernetes.io/metadata.name': 'istio-control' } });
    // and Kiali, where it is limited to some namespaces (not in central, where it sees the whole cluster), shows that one
    const kiali = all.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'kiali');
    const selectors = kiali && parse(kiali.data['config.yaml']).deployment.discovery_selectors;
    if (name === 'prod') expect(JSON.stringify(selectors)).toContain('istio-control');
    const istiodJobs = all.filter(o => o.kind === 'ConfigMap' && o.metadata.name === 'prometheus-config')
      .map(o => parse(o.data['prometheus.yml']).scrape_configs.find((j: any) => j.job_name === 'istiod'));
    expect(istiodJobs.length).toBeGreaterThan(0);
    for (const job of istiodJobs) expect(job.kubernetes_sd_configs[0].namespaces).toEqual({ names: ['istio-control'] });
  });

  test('a namespace named like a platform component of the cluster is refused naming the file and the field, not as a clash of policy names', () => {
    // the cluster's own flow from Prometheus to Grafana; an application cluster's to its telemetry gateway
    const namespace = name === 'central' ? 'telemetry-gateway' : 'grafana';
    const services = { ...repoServices(), backend: { ...repoServices().backend, namespace } };
    expect(() => synthStack(env, 'steady', services)).toThrow(`invalid service file services/backend.yaml:\n  - 'namespace' ("${namespace}") names the network flow `
      + `"prometheus-to-${namespace}", which another flow of this cluster (the platform's or another service's) already has: choose another name`);
  });

  test('a caller named like the edge (ingress) is refused naming the file and the field', () => {
    const withLedger = servicesWithFixtures('ledger');
    const services = {
      ...withLedger, ingress: { ...withLedger.ledger, name: 'ingress', file: 'services/ingress.yaml' }, gateway: { ...withLedger.gateway, callers: ['ingress'] },
    };
    expect(() => synthStack(env, 'steady', services)).toThrow('invalid service file services/gateway.yaml:\n  - \'callers[0]\' ("ingress") names the network '
      + 'flow "ingress-to-gateway", which another flow of this cluster (the platform\'s or another service\'s) already has: choose another name');
  });

  test('a service may not take istiod\'s namespace for its own', () => {
    const services = { ...repoServices(), gateway: { ...repoServices().gateway, namespace: 'istio-control' } };
    expect(() => synthStack(env, 'steady', services)).toThrow(/'namespace' must be one of the services' own, got "istio-control", which is istiod's \(apps\.istiod\.namespace\)/);
  });
});

describe('the gate\'s window holds four scrapes of the environment\'s Prometheus', () => {
  const withWindow = (window: string) => {
    const gateway = repoServices().gateway;
    return { ...repoServices(), gateway: { ...gateway, analysis: { ...gateway.analysis, window } } };
  };

  test('a shorter one fails synth, naming the state file, where the window came from, the interval and the least', () => {
    // prod scrapes every 30s: a 1m window holds two scrapes, and increase() now and then none to compare
    expect(() => synthStack(ENVIRONMENTS.prod, 'steady', withWindow('1m'))).toThrow('invalid rollout state rollout/prod/gateway.yaml:\n'
      + '  - \'analysis.window\' (from services/gateway.yaml) must be at least 4 scrape intervals of prod\'s Prometheus '
      + '(prometheus.scrapeInterval 30s): 2m or more, got 1m');
  });

  test('four scrapes or more render', () => {
    expect(() => synthStack(ENVIRONMENTS.prod, 'steady', withWindow('2m'))).not.toThrow();
    // local scrapes every 15s
    expect(() => synthStack(ENVIRONMENTS.local, 'steady', withWindow('1m'))).not.toThrow();
  });
});

describe.each(ALL_ENVIRONMENTS)('the cluster autoscaler may move every pod ($name)', env => {
  test('each Deployment and StatefulSet names its emptyDirs as volumes it may lose, an injected pod\'s Istio ones too', () => {
    // what istiod's injector (sidecar and gateway templates, Istio 1.30.3) adds as emptyDirs: the rendered template
    // does not hold them, and the autoscaler keeps the node of a pod with any it was not told it may lose
    const injected = ['workload-socket', 'credential-socket', 'workload-certs', 'istio-envoy', 'istio-data'];
    const { stack, charts } = synthStack(env, 'steady', servicesWithFixtures('ledger'));
    // the services' namespaces, labelled for injection: this cluster's and, in a central topology, the application clusters'
    const appClusters = Object.values(stack.clusters ?? {});
    const serviceNamespaces = new Set([...Object.keys(stack.namespaces), ...appClusters.flatMap(c => Object.keys(c.namespaces))]);
    let annotated = 0;
    for (const o of Object.values(charts).flat()) {
      const template = ['Deployment', 'StatefulSet'].includes(o.kind) ? o.spec.template
        : o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec?.template;
      if (!template) continue;
      const isInjected = serviceNamespaces.has(o.metadata.namespace ?? '') || template.metadata?.labels?.['sidecar.istio.io/inject'] === 'true';
      const scratch = [...(template.spec.volumes ?? []).filter((v: any) => v.emptyDir).map((v: any) => v.name), ...(isInjected ? injected : [])];
      const expected = ['Deployment', 'StatefulSet'].includes(o.kind) && scratch.length > 0 ? scratch.join(',') : undefined;
      expect([o.kind, o.metadata.name, template.metadata?.annotations?.[SAFE_TO_EVICT_LOCAL_VOLUMES]]).toEqual([o.kind, o.metadata.name, expected]);
      if (expected) annotated++;
    }
    expect(annotated).toBeGreaterThan(0);
  });
});

describe('the runbooks\' canary commands', () => {
  // the CLI's default environment is local: a command without --env in prod's runbook reads and rolls back local's state
  test.each(ALL_ENVIRONMENTS.map(env => [env.name, env] as const))('in %s name it, and each parses as the CLI reads it', (name, env) => {
    const rendered = JSON.stringify(Object.values(synthStack(env).charts));
    const commands = [...rendered.matchAll(/npx canary ([a-z]+)((?: --?[a-z-]+(?: [^\s(),;\\"]+)?)*)/g)].map(m => m[0]);
    // the SLO alerts name status and rollback of each service; the gate's alert (where the gate runs in the cluster) rollback
    expect(commands.length).toBeGreaterThanOrEqual(2 * Object.keys(repoServices()).length);
    for (const command of commands) {
      const parsed = parseCommand(command.replace('<service>', 'gateway').split(' ').slice(2));
      expect([command, 'env' in parsed ? parsed.env : undefined]).toEqual([command, name]);
    }
  });
});
