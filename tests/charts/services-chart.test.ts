import { NODE_LOCAL_DNS } from '../../lib/config/egress';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { exposedHosts, serviceNamespaces } from '../../lib/services/catalog';
import { ServiceSpec, edgeMethods } from '../../lib/services/service';
import { ISTIO } from '../../lib/slo/vocabulary';
import {
  SINGLE_CLUSTER_ENVIRONMENTS, Scenario, configFile, find, fixtureRollouts, ofKind, repoServices, servicesWithFixtures, synthStack,
} from '../support/manifest';
import { promtoolCheckConfig } from '../support/promtool';

const SCENARIOS: Scenario[] = ['steady', 'canary'];
const SPECS: ServiceSpec[] = Object.values(repoServices());
const env0 = (c: any, name: string) => c.env.find((e: any) => e.name === name);

describe.each(SINGLE_CLUSTER_ENVIRONMENTS.flatMap(env => SCENARIOS.map(scenario => ({ env, scenario, name: `${env.name}/${scenario}` }))))('ServicesChart ($name)', ({ env, scenario }) => {
  const { stack, charts } = synthStack(env, scenario);
  const rollouts = fixtureRollouts(scenario);
  const objectsOf = (spec: ServiceSpec) => charts[spec.namespace];
  const deploymentsOf = (spec: ServiceSpec) => ofKind(objectsOf(spec), 'Deployment').filter(d => d.metadata.labels.app === spec.name);

  test('one chart per namespace of the service files, each with sidecar injection and Pod Security restricted', () => {
    const namespaces = [...new Set(SPECS.map(s => s.namespace))].sort();
    expect(Object.keys(stack.namespaces).sort()).toEqual(namespaces);
    for (const namespace of namespaces) {
      expect(find(charts[namespace], 'Namespace', namespace).metadata.labels).toMatchObject({
        'istio-injection': 'enabled', 'pod-security.kubernetes.io/enforce': 'restricted',
      });
    }
  });

  describe.each(SPECS.map(spec => ({ spec, name: spec.name })))('$name', ({ spec }) => {
    const state = rollouts[spec.name];

    test('names: Deployments per track, Service, DestinationRule, VirtualService, host, subsets', () => {
      const objects = objectsOf(spec);
      expect(deploymentsOf(spec).map(d => d.metadata.name).sort()).toEqual(state.canary ? [`${spec.name}-canary`, `${spec.name}-stable`] : [`${spec.name}-stable`]);
      const svc = find(objects, 'Service', spec.name);
      expect(svc.spec.selector).toEqual({ app: spec.name });
      expect(svc.spec.ports).toEqual([{ name: spec.protocol, port: spec.port, targetPort: spec.port, protocol: 'TCP', appProtocol: spec.protocol }]);
      const host = `${spec.name}.${spec.namespace}.svc.cluster.local`;
      expect(find(objects, 'DestinationRule', spec.name).spec.host).toBe(host);
      expect(find(objects, 'VirtualService', spec.name).spec.hosts[0]).toBe(host);
      expect(find(objects, 'DestinationRule', spec.name).spec.subsets.map((s: any) => s.name)).toEqual(['stable', 'canary']);
    });

    test('the subsets select exactly the pods of each track', () => {
      const subsets = find(objectsOf(spec), 'DestinationRule', spec.name).spec.subsets;
      for (const deployment of deploymentsOf(spec)) {
        const labels = deployment.spec.template.metadata.labels;
        const matching = subsets.filter((s: any) => Object.entries(s.labels).every(([k, v]) => labels[k] === v));
        expect(matching.map((s: any) => s.name)).toEqual([labels.version]);
        expect(labels).toEqual({ app: spec.name, version: deployment.metadata.name.slice(spec.name.length + 1) });
      }
    });

    // stable takes 100 minus the canary's weight, so the exact check is also the "sums to 100" check
    test('the weights follow the state file and sum to 100; the images come from it', () => {
      const weighted = find(objectsOf(spec), 'VirtualService', spec.name).spec.http.find((h: any) => h.name === 'weighted');
      const weights = Object.fromEntries(weighted.route.map((r: any) => [r.destination.subset, r.weight]));
      expect(weights).toEqual(state.canary ? { stable: 100 - state.canary.weight, canary: state.canary.weight } : { stable: 100 });
      const image = (name: string) => find(objectsOf(spec), 'Deployment', name).spec.template.spec.containers[0].image;
      expect(image(`${spec.name}-stable`)).toBe(state.stable.image);
      if (state.canary) expect(image(`${spec.name}-canary`)).toBe(state.canary.image);
    });

    test('the container: the file\'s port, probes, uid, variables; the platform\'s telemetry; the environment\'s replicas', () => {
      for (const deployment of deploymentsOf(spec)) {
        const pod = deployment.spec.template.spec;
        const c = pod.containers[0];
        expect(pod.serviceAccountName).toBe(spec.name);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: spec.runAsUser, runAsGroup: spec.runAsGroup ?? spec.runAsUser });
        expect(c.ports).toEqual([{ name: spec.protocol, containerPort: spec.port, protocol: 'TCP' }]);
        for (const [probe, check] of [[c.readinessProbe, spec.probes.readiness], [c.livenessProbe, spec.probes.liveness]] as const) {
          if ('http' in check) expect(probe.httpGet).toEqual({ path: check.http, port: spec.protocol });
          else if ('tcp' in check) expect(probe.tcpSocket).toEqual({ port: spec.protocol });
          else expect(probe.grpc).toEqual({ port: spec.port });
        }
        for (const [name, value] of Object.entries(spec.env ?? {})) {
          if (typeof value === 'string') expect(env0(c, name).value).toBe(value);
          else if ('fieldRef' in value) expect(env0(c, name).valueFrom).toEqual({ fieldRef: { fieldPath: value.fieldRef } });
          else expect(env0(c, name).value).toMatch(new RegExp(`^http://${value.serviceUrl}\\.[a-z0-9-]+\\.svc\\.cluster\\.local:\\d+$`));
        }
        expect(env0(c, 'OTEL_EXPORTER_OTLP_ENDPOINT').value).toBe(stack.observability.collector.otlpGrpcUrl);
        expect(env0(c, 'OTEL_TRACES_SAMPLER_ARG').value).toBe(String(env.apps.traceSamplingRatio));
        expect(env0(c, 'OTEL_SERVICE_NAME').value).toBe(spec.name);
        expect(env0(c, 'OTEL_RESOURCE_ATTRIBUTES').value).toContain(`obs_canary.track=${deployment.metadata.labels.version},`);
        expect(env0(c, 'OTEL_RESOURCE_ATTRIBUTES').value).toContain(`deployment.environment=${env.name},`);
      }
      expect(find(objectsOf(spec), 'Deployment', `${spec.name}-stable`).spec.replicas).toBe(spec.replicas?.[env.name] ?? env.apps.stableReplicas);
    });

    test('Prometheus scrapes the service\'s own metrics exactly when its file names them', () => {
      const annotations = find(objectsOf(spec), 'Deployment', `${spec.name}-stable`).spec.template.metadata.annotations;
      const scrape = spec.metrics.http?.scrape;
      if (scrape) {
        expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(scrape.port), 'prometheus.io/path': scrape.path });
      } else {
        expect(Object.keys(annotations).filter(k => k.startsWith('prometheus.io/'))).toEqual([]);
      }
    });

    test('callers: an AuthorizationPolicy with the callers\' identities, and a network flow from each', () => {
      const callers = spec.callers ?? [];
      const policies = ofKind(objectsOf(spec), 'AuthorizationPolicy').filter(p => p.metadata.name === `callers-to-${spec.name}`);
      expect(policies).toHaveLength(callers.length > 0 ? 1 : 0);
      if (callers.length === 0) return;
      const services = repoServices();
      expect(policies[0].spec.rules[0].from[0].source.principals)
        .toEqual(callers.map(c => `cluster.local/ns/${services[c].namespace}/sa/${c}`));
      expect(policies[0].spec.selector).toEqual({ matchLabels: { app: spec.name } });
      // never the probe and scrape paths, nor what lies below them
      const operational = [...new Set([spec.probes.readiness, spec.probes.liveness].flatMap(p => ('http' in p ? [p.http] : []))
        .concat(spec.metrics.http ? [spec.metrics.http.scrape.path] : []))].sort();
      expect(policies[0].spec.rules[0].to?.[0]?.operation?.notPaths ?? []).toEqual(operational.flatMap(p => [p, `${p}/*`]));
      for (const caller of callers) {
        const ingress = find(objectsOf(spec), 'NetworkPolicy', `${caller}-to-${spec.name}-ingress`);
        expect(ingress.spec.ingress[0].ports).toEqual([{ port: spec.port, protocol: 'TCP' }]);
        expect(find(charts[services[caller].namespace], 'NetworkPolicy', `${caller}-to-${spec.name}-egress`).spec.egress[0].ports)
          .toEqual([{ port: spec.port, protocol: 'TCP' }]);
      }
    });

    test('exposure: only the listed paths and methods from the ingress gateway, everything else 404 at the edge', () => {
      const hosts = exposedHosts(spec, env.name);
      const vs = find(objectsOf(spec), 'VirtualService', spec.name).spec;
      const edge = ofKind(objectsOf(spec), 'AuthorizationPolicy').find(p => p.metadata.name === `ingress-to-${spec.name}`);
      if (hosts.length === 0) {
        expect(vs.gateways).toEqual(['mesh']);
        expect(edge).toBeUndefined();
        return;
      }
      const gateway = `${spec.namespace}/edge`;
      expect(vs.gateways).toEqual([gateway, 'mesh']);
      expect(vs.hosts.slice(1)).toEqual(hosts);
      expect(vs.http.at(-1)).toEqual({ name: 'not-exposed', match: [{ gateways: [gateway] }], directResponse: { status: 404 } });
      const weighted = vs.http.find((h: any) => h.name === 'weighted');
      expect(weighted.match).toEqual([
        { gateways: ['mesh'] },
        ...spec.expose!.paths.map(p => ({ uri: p.endsWith('*') ? { prefix: p.slice(0, -1) } : { exact: p }, gateways: [gateway] })),
      ]);
      expect(edge!.spec.rules).toEqual([{
        from: [{ source: { principals: [`cluster.local/ns/${env.apps.ingressGateway.namespace}/sa/${env.apps.ingressGateway.serviceAccount}`] } }],
        // the listed paths allow; the probe and scrape paths only narrow that, should a listed prefix cover them
        to: [{ operation: {
          methods: [...edgeMethods(spec)], paths: spec.expose!.paths, notPaths: ['/healthz', '/healthz/*', '/metrics', '/metrics/*', '/readyz', '/readyz/*'],
        } }],
      }]);
      const servers = find(objectsOf(spec), 'Gateway', 'edge').spec.servers;
      const credential = spec.expose!.tls?.[env.name]?.credentialName;
      const serving = servers.filter((s: any) => hosts.every(h => s.hosts.includes(h)));
      expect(serving.map((s: any) => s.port.number).sort()).toEqual(credential ? [443, 80] : [80]);
      if (credential) expect(serving.find((s: any) => s.port.number === 443).tls).toEqual({ mode: 'SIMPLE', credentialName: credential });
    });
  });

  test('mesh security: STRICT mTLS in every namespace; every AuthorizationPolicy allows, but the refusals of the pin from the edge', () => {
    for (const objects of Object.values(stack.namespaces).map(c => charts[c.node.id])) {
      expect(find(objects, 'PeerAuthentication', 'default').spec.mtls.mode).toBe('STRICT');
      expect(find(objects, 'Telemetry', 'tracing').spec.tracing[0].randomSamplingPercentage).toBe(env.apps.meshSamplingPercent);
      for (const p of ofKind(objects, 'AuthorizationPolicy')) {
        expect([p.metadata.name, p.spec.action]).toEqual([p.metadata.name, p.metadata.name.startsWith('edge-pin-to-') ? 'DENY' : 'ALLOW']);
      }
    }
  });

  test('Istio\'s request metrics carry the pin label in every namespace of services', () => {
    for (const objects of Object.values(stack.namespaces).map(c => charts[c.node.id])) {
      const overrides = find(objects, 'Telemetry', 'tracing').spec.metrics[0].overrides;
      expect(overrides.map((o: any) => [o.match.metric, Object.keys(o.tagOverrides)])).toEqual([['REQUEST_COUNT', [ISTIO.pin]], ['REQUEST_DURATION', [ISTIO.pin]]]);
    }
  });

  test('network policies of the apps namespace: default deny, DNS, istiod, the Collector, ingress, callers, scrapes, the gate\'s smoke checks', () => {
    expect(ofKind(charts.apps, 'NetworkPolicy').map(p => p.metadata.name).sort()).toEqual([
      'apps-to-collector-egress', 'canary-gate-smoke-gateway-ingress', 'default-deny-all', 'dns-egress', 'gateway-to-backend-egress', 'gateway-to-backend-ingress',
      'ingress-to-gateway-ingress', 'prometheus-to-apps-ingress', 'sidecars-to-istiod-egress',
    ]);
    expect(find(charts.apps, 'NetworkPolicy', 'prometheus-to-apps-ingress').spec.ingress[0]).toEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ port: 15020, protocol: 'TCP' }, { port: 15090, protocol: 'TCP' }],
    });
  });

  test('snapshot', () => {
    expect(charts.apps).toMatchSnapshot();
  });
});

describe('Argo CD\'s order: a canary\'s removal never lands before its route change', () => {
  /** An object's sync wave, as gitops-engine reads it (0 without the annotation). */
  const wave = (o: any): number => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
  const key = (o: any) => `${o.kind}/${o.metadata.name}`;
  // ledger, the service in flight (the first exposed), has three stable replicas in prod: its canary gets a
  // disruption budget of its own
  const fixtures = servicesWithFixtures('ledger');
  const services = {
    ...fixtures,
    gateway: { ...fixtures.gateway, expose: undefined },
    ledger: { ...fixtures.ledger, expose: { hosts: ['ledger.example.com'], paths: ['/api/*'] } },
  };

  test.each(SINGLE_CLUSTER_ENVIRONMENTS.map(env => ({ env, name: env.name })))('$name: the services\' workloads and budgets come last, alone', ({ env }) => {
    const { charts } = synthStack(env, 'canary', services);
    for (const namespace of serviceNamespaces(services)) {
      for (const o of charts[namespace]) {
        // the last wave holds what Argo CD would wait on (a Deployment rolling out, a budget not met): nothing waits on it
        expect([key(o), wave(o)]).toEqual([key(o), ['Deployment', 'PodDisruptionBudget'].includes(o.kind) ? 1 : 0]);
      }
    }
  });

  test.each(SINGLE_CLUSTER_ENVIRONMENTS.map(env => ({ env, name: env.name })))('$name: removing a canary prunes only objects of one wave after its route', ({ env }) => {
    const before = synthStack(env, 'canary', services).charts;
    const after = synthStack(env, 'steady', services).charts;
    for (const namespace of serviceNamespaces(services)) {
      const kept = new Set(after[namespace].map(key));
      const pruned = before[namespace].filter(o => !kept.has(key(o)));
      const routes = before[namespace].filter(o => o.kind === 'VirtualService');
      // gitops-engine prunes before it applies within a wave, and runs the pruned objects' waves in reverse order:
      // pruned objects of one wave, later than every route, go after the routes are applied
      expect(new Set(pruned.map(wave)).size).toBeLessThanOrEqual(1);
      for (const o of pruned) for (const route of routes) expect(wave(o)).toBeGreaterThan(wave(route));
      if (namespace === 'payments') {
        expect(pruned.map(key).sort()).toEqual(env.name === 'prod' ? ['Deployment/ledger-canary', 'PodDisruptionBudget/ledger-canary'] : ['Deployment/ledger-canary']);
      }
    }
  });
});

describe('DNS of the services\' namespaces follows egress.dns, as observability\'s does', () => {
  const dnsEgress = (env: typeof ENVIRONMENTS.prod) => {
    const { stack, charts } = synthStack(env);
    // chart ids: observability, and each namespace of services by its name
    return ['observability', ...Object.keys(stack.namespaces)].map(chart => find(charts[chart], 'NetworkPolicy', 'dns-egress').spec);
  };
  const kubeDns = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } };
  const ports = [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }];

  test('kube-dns (KUBE_DNS, the shipped environments): every pod of every namespace to the kube-dns pods on 53 UDP and TCP', () => {
    for (const spec of dnsEgress(ENVIRONMENTS.prod)) expect(spec).toEqual({ podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [kubeDns], ports }] });
  });

  test('NodeLocal DNSCache: the link-local address too, in every namespace', () => {
    const env = { ...ENVIRONMENTS.prod, name: 'node-local', egress: { ...ENVIRONMENTS.prod.egress, dns: NODE_LOCAL_DNS } };
    for (const spec of dnsEgress(env)) expect(spec.egress).toEqual([{ to: [kubeDns, { ipBlock: { cidr: '169.254.20.10/32' } }], ports }]);
  });
});

describe('Prometheus scrapes the services through Istio\'s metrics merging', () => {
  const objects = synthStack(ENVIRONMENTS.local).charts.observability;
  const config = configFile(objects, 'prometheus-config', 'prometheus.yml');
  const job = config.scrape_configs.find((j: any) => j.job_name === 'services');

  test('every annotated pod of the services\' namespaces, at the annotated port and path, labelled namespace, pod, app and version', () => {
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: serviceNamespaces(repoServices()) } }]);
    const byTarget = (t: string) => job.relabel_configs.find((r: any) => r.target_label === t);
    expect(job.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' });
    expect(byTarget('__address__')).toEqual({
      source_labels: ['__meta_kubernetes_pod_ip', '__meta_kubernetes_pod_annotation_prometheus_io_port'], regex: '(.+);(\\d+)', replacement: '$1:$2', target_label: '__address__',
    });
    expect(byTarget('__metrics_path__').source_labels).toEqual(['__meta_kubernetes_pod_annotation_prometheus_io_path']);
    expect(byTarget('app').source_labels).toEqual(['__meta_kubernetes_pod_label_app']);
    expect(byTarget('version').source_labels).toEqual(['__meta_kubernetes_pod_label_version']);
  });

  test('the relabelling turns a sidecar-rewritten pod into one target on the merged port, with its track', () => {
    // what the sidecar injector leaves on a pod, and what each relabel step makes of it
    const meta: Record<string, string> = {
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true', __meta_kubernetes_pod_annotation_prometheus_io_port: '15020',
      __meta_kubernetes_pod_annotation_prometheus_io_path: '/stats/prometheus', __meta_kubernetes_pod_ip: '10.1.2.3',
      __meta_kubernetes_namespace: 'apps', __meta_kubernetes_pod_name: 'gateway-canary-abc', __meta_kubernetes_pod_label_app: 'gateway',
      __meta_kubernetes_pod_label_version: 'canary', __meta_kubernetes_pod_phase: 'Running',
    };
    const labels = relabel(meta, job.relabel_configs);
    expect(labels).toMatchObject({
      __address__: '10.1.2.3:15020', __metrics_path__: '/stats/prometheus', namespace: 'apps', pod: 'gateway-canary-abc', app: 'gateway', version: 'canary',
    });
    expect(relabel({ ...meta, __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'false' }, job.relabel_configs)).toBeNull();
  });

  test('promtool accepts the configuration with the services job', () => {
    expect(promtoolCheckConfig(config)).toContain('SUCCESS');
  });
});

/** Prometheus's replace/keep/drop relabelling, enough to check the rules above. */
function relabel(input: Record<string, string>, rules: any[]): Record<string, string> | null {
  const labels = { ...input };
  for (const r of rules) {
    const value = (r.source_labels ?? []).map((l: string) => labels[l] ?? '').join(r.separator ?? ';');
    const m = new RegExp(`^(?:${r.regex ?? '(.*)'})$`).exec(value);
    const action = r.action ?? 'replace';
    if (action === 'keep' && !m) return null;
    if (action === 'drop' && m) return null;
    if (action === 'replace' && m) labels[r.target_label] = (r.replacement ?? '$1').replace(/\$(\d)/g, (_: string, i: string) => m[Number(i)] ?? '');
  }
  return labels;
}

describe('a caller identity in another of the services\' namespaces', () => {
  // ledger (payments) is also called by a reconciler job in apps, a namespace that denies every egress by default
  const fixtures = servicesWithFixtures('ledger');
  const services = { ...fixtures, ledger: { ...fixtures.ledger, callerIdentities: [{ namespace: 'apps', serviceAccount: 'reconciler' }] } };
  const { charts } = synthStack(ENVIRONMENTS.local, 'steady', services);

  test('gets both halves of its flow: egress from apps, ingress into ledger, on its port', () => {
    expect(find(charts.apps, 'NetworkPolicy', 'identity-0-to-ledger-egress').spec).toEqual({
      podSelector: {}, policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } }, podSelector: { matchLabels: { app: 'ledger' } } }],
        ports: [{ port: 9090, protocol: 'TCP' }] }],
    });
    expect(find(charts.payments, 'NetworkPolicy', 'identity-0-to-ledger-ingress').spec.ingress).toEqual([{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } } }], ports: [{ port: 9090, protocol: 'TCP' }],
    }]);
  });

  test('an identity in a namespace the platform does not render gets the ingress half only', () => {
    const outside = { ...fixtures, ledger: { ...fixtures.ledger, callerIdentities: [{ namespace: 'batch', serviceAccount: 'reconciler' }] } };
    const rendered = synthStack(ENVIRONMENTS.local, 'steady', outside).charts;
    expect(Object.values(rendered).flat().filter(o => o.kind === 'NetworkPolicy' && o.metadata.name === 'identity-0-to-ledger-egress')).toEqual([]);
    expect(find(rendered.payments, 'NetworkPolicy', 'identity-0-to-ledger-ingress')).toBeDefined();
  });
});

describe('a service exposed through a Gateway of the team\'s own (expose.gateway, expose.gatewayPods)', () => {
  const services = repoServices();
  const gatewayPods = { namespace: 'edge-system', serviceAccount: 'partner-gw', labels: { istio: 'partner-gw' } };
  const own = { ...services, gateway: { ...services.gateway, expose: { ...services.gateway.expose!, gateway: 'edge-system/partner-gw', gatewayPods } } };
  // local: its canary pin sources give the exposed service a DENY of pins from elsewhere too
  const { charts } = synthStack(ENVIRONMENTS.local, 'steady', own);
  const policy = (name: string) => find(charts.apps, 'AuthorizationPolicy', name).spec;

  test('the service lets in that Gateway\'s pods, by their identity and their labels, and not the environment\'s ingress gateway', () => {
    expect(policy('ingress-to-gateway').rules.map((r: any) => r.from)).toEqual([[{ source: { principals: ['cluster.local/ns/edge-system/sa/partner-gw'] } }]]);
    expect(find(charts.apps, 'NetworkPolicy', 'ingress-to-gateway-ingress').spec.ingress[0].from).toEqual([{
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'edge-system' } }, podSelector: { matchLabels: { istio: 'partner-gw' } },
    }]);
    // the pin through it is refused from elsewhere, as through the environment's
    expect(policy('edge-pin-to-gateway').rules[0].from[0].source.principals).toEqual(['cluster.local/ns/edge-system/sa/partner-gw']);
    expect(find(charts.apps, 'VirtualService', 'gateway').spec.gateways).toEqual(['edge-system/partner-gw', 'mesh']);
    // no service left for the environment's edge: no Gateway of it
    expect(ofKind(charts.apps, 'Gateway')).toEqual([]);
  });

  test('pods in a namespace this project renders are refused: its default-deny policies would drop the gateway\'s traffic', () => {
    for (const namespace of ['apps', 'observability']) {
      const inside = { ...own, gateway: { ...own.gateway, expose: { ...own.gateway.expose!, gatewayPods: { ...gatewayPods, namespace } } } };
      expect(() => synthStack(ENVIRONMENTS.local, 'steady', inside)).toThrow(
        'services/gateway.yaml: \'expose.gatewayPods.namespace\' must be a namespace this project does not render (its default-deny policies would refuse '
        + `the gateway's traffic), got "${namespace}"`);
    }
  });

  test('without expose.gateway, the environment\'s ingress gateway', () => {
    const { charts: plain } = synthStack(ENVIRONMENTS.local, 'steady', services);
    expect(find(plain.apps, 'AuthorizationPolicy', 'ingress-to-gateway').spec.rules[0].from)
      .toEqual([{ source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'] } }]);
  });
});

describe('a service file\'s keepAliveTimeout', () => {
  test('reaches its DestinationRule: the sidecars close idle connections at four fifths of it; the others keep the default', () => {
    const services = repoServices();
    const { charts } = synthStack(ENVIRONMENTS.local, 'steady', { ...services, backend: { ...services.backend, keepAliveTimeout: '10s' } });
    expect(find(charts.apps, 'DestinationRule', 'backend').spec.trafficPolicy.connectionPool.http.idleTimeout).toBe('8s');
    expect(find(charts.apps, 'DestinationRule', 'gateway').spec.trafficPolicy.connectionPool.http.idleTimeout).toBe('4s');
  });
});
