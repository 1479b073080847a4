import { isProxied } from '../../lib/config/egress';
import { EnvironmentConfig } from '../../lib/config/environment';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { SINGLE_CLUSTER_ENVIRONMENTS, K8sObject, configFile, find, ofKind, podMetadataOf, synthStack } from '../support/manifest';
import { promtoolCheckConfig } from '../support/promtool';
import { S3ObjectStorage } from '../../lib/constructs/types';
import { ObservabilityChart } from '../../lib/charts/observability-chart';
import { AlloyBlock, AlloyStatement } from '../../lib/private/alloy-syntax';

describe.each(SINGLE_CLUSTER_ENVIRONMENTS)('ObservabilityChart ($name)', env => {
  const { stack, charts } = synthStack(env);
  const objects = charts.observability;

  test('the observability namespace enforces the level its log shipper declares (privileged for Promtail\'s hostPath, restricted with Alloy), restricted warned and audited', () => {
    const ns = find(objects, 'Namespace', 'observability');
    const level = env.logs.shipper === 'alloy' ? 'restricted' : 'privileged';
    expect(ns.metadata.namespace).toBeUndefined();
    expect(stack.observability.logShipper.podSecurityLevel).toBe(level);
    expect(stack.observability.podSecurityLevel).toBe(level);
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': level,
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
  });

  test('every namespaced object is in observability; cluster-scoped objects have no namespace', () => {
    for (const obj of objects) {
      const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass'].includes(obj.kind);
      expect([obj.kind, obj.metadata.name, obj.metadata.namespace]).toEqual([obj.kind, obj.metadata.name, clusterScoped ? undefined : 'observability']);
    }
  });

  test('the per-node agents run at the PriorityClass the chart renders: a full node evicts a pod of priority 0 for them', () => {
    const [priority] = ofKind(objects, 'PriorityClass');
    expect(priority).toMatchObject({ metadata: { name: 'obs-canary-node-agent' }, value: 1000000, globalDefault: false, preemptionPolicy: 'PreemptLowerPriority' });
    const daemonSets = ofKind(objects, 'DaemonSet');
    expect(daemonSets.length).toBeGreaterThan(0);
    for (const ds of daemonSets) {
      expect([ds.metadata.name, ds.spec.template.spec.priorityClassName]).toEqual([ds.metadata.name, priority.metadata.name]);
      // and on every node, whatever its taints
      expect([ds.metadata.name, ds.spec.template.spec.tolerations]).toEqual([ds.metadata.name, [{ operator: 'Exists' }]]);
      // a Windows node's taint too: the images are Linux ones
      expect([ds.metadata.name, ds.spec.template.spec.nodeSelector]).toEqual([ds.metadata.name, { 'kubernetes.io/os': 'linux' }]);
      // and no node that runs no DaemonSet (EKS Fargate's, a virtual kubelet's): the pods would never start
      const terms = ds.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
      expect(terms).toEqual([{ matchExpressions: expect.arrayContaining([
        { key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: ['fargate'] }, { key: 'type', operator: 'NotIn', values: ['virtual-kubelet'] },
      ]) }]);
    }
    // nothing else outranks the services
    for (const o of objects.filter(x => x.kind !== 'DaemonSet' && x.spec?.template?.spec)) expect(o.spec.template.spec.priorityClassName).toBeUndefined();
  });

  test('each component of a known number of pods is counted by its scrape job (not the per-node shipper, nor Prometheus itself)', () => {
    const counted = stack.observability.expectedReplicas;
    const workloads = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')].filter(w => w.metadata.name !== 'prometheus');
    // one entry per Deployment or StatefulSet Prometheus scrapes, with its replicas
    expect(counted.map(c => c.job).sort()).toEqual(counted.map(c => c.job).filter(j => workloads.some(w => w.metadata.name === j)).sort());
    for (const { job, replicas } of counted) {
      const workload = workloads.find(w => w.metadata.name === job)!;
      expect([job, replicas]).toEqual([job, workload.spec.replicas ?? 1]);
    }
    expect(counted.map(c => c.job)).not.toContain(stack.observability.logShipper.metricsTarget.job);
    expect(counted.map(c => c.job)).toEqual(expect.arrayContaining(['loki', 'tempo', 'otel-collector', 'grafana', 'alertmanager']));
    // a component down pages where telemetry or alerts are lost, not for a UI or the cluster-state exporter
    expect(counted.filter(c => c.carries !== undefined).map(c => c.job).sort())
      .toEqual(['alertmanager', 'loki', 'otel-collector', 'tempo', ...(stack.observability.mimir ? ['mimir'] : [])].sort());
  });

  test('the SLO alerts link each service\'s canary dashboard where Grafana has a root URL, and nothing where it has none', () => {
    const rules = configFile(objects, 'prometheus-config', 'rules.yml').groups.flatMap((g: any) => g.rules);
    const slo = rules.filter((r: any) => r.labels?.service !== undefined);
    expect(slo.length).toBeGreaterThan(0);
    for (const r of slo) {
      const link = env.grafana.rootUrl === undefined ? undefined : `${env.grafana.rootUrl.replace(/\/$/, '')}/d/canary-${r.labels.service}`;
      expect([r.alert, r.labels.service, r.annotations.dashboard]).toEqual([r.alert, r.labels.service, link]);
    }
  });

  test('every object carries the part-of label', () => {
    for (const obj of objects) expect(obj.metadata.labels?.['app.kubernetes.io/part-of']).toBe('obs-canary');
  });

  test('names are stable and readable (no hash suffixes)', () => {
    expect(objects.map(o => `${o.kind}/${o.metadata.name}`)).toEqual(expect.arrayContaining([
      'StatefulSet/prometheus', 'Service/prometheus', 'ConfigMap/prometheus-config', 'Deployment/grafana', 'Service/grafana',
    ]));
  });

  test('Prometheus follows the environment', () => {
    const cfg = configFile(objects, 'prometheus-config', 'prometheus.yml');
    const sts = find(objects, 'StatefulSet', 'prometheus');
    expect(cfg.global.external_labels).toEqual({ cluster: env.clusterName });
    expect(cfg.storage.tsdb.retention.time).toBe(`${env.prometheus.retention.toDays()}d`);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(`${env.prometheus.volumeSize.toGibibytes()}Gi`);
  });

  test('Prometheus records the SLO rules and scrapes itself, every component and the apps', () => {
    const rules = configFile(objects, 'prometheus-config', 'rules.yml');
    expect(rules.groups.map((g: any) => g.name)).toEqual(['slo-backend', 'slo-gateway', 'slo-alerts-backend', 'slo-alerts-gateway', 'pipeline']);
    // Prometheus evaluates what it scraped itself: the long windows sum the 5-minute records
    expect(JSON.stringify(rules)).toContain('sum_over_time(workload_version:istio_requests_slo_errors:rate5m');
    const cfg = configFile(objects, 'prometheus-config', 'prometheus.yml');
    expect(cfg.scrape_configs.map((j: any) => j.job_name)).toEqual([
      'prometheus', 'alertmanager', 'grafana', 'loki', env.logs.shipper, 'tempo', 'otel-collector', 'kube-state-metrics', 'kiali', 'istiod',
      'ingress-gateway', 'kubelet', 'services', 'sidecars',
    ]);
  });

  test('promtool accepts the Prometheus configuration', () => {
    expect(promtoolCheckConfig(configFile(objects, 'prometheus-config', 'prometheus.yml'))).toContain('SUCCESS');
  });

  test('Grafana reads Prometheus at the URL Prometheus publishes', () => {
    const ds = configFile(objects, 'grafana-provisioning', 'datasources.yaml').datasources;
    expect(ds.find((d: any) => d.uid === 'prometheus').url).toBe(stack.observability.prometheus.url);
    expect(ds.map((d: any) => d.uid)).toEqual(['prometheus', 'loki', 'tempo', 'alertmanager']);
  });

  test('replicas follow the environment, with a disruption budget exactly for the workloads that run more than one', () => {
    expect(find(objects, 'Deployment', 'grafana').spec.replicas).toBe(env.grafana.replicas);
    expect(find(objects, 'StatefulSet', 'loki').spec.replicas).toBe(env.loki.replicas);
    expect(find(objects, 'Deployment', 'otel-collector').spec.replicas).toBe(env.collector.replicas);
    expect(find(objects, 'StatefulSet', 'prometheus').spec.replicas).toBe(1);
    expect(find(objects, 'StatefulSet', 'tempo').spec.replicas).toBe(1);
    const multi = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')].filter(w => w.spec.replicas > 1).map(w => w.metadata.name).sort();
    expect(ofKind(objects, 'PodDisruptionBudget').map(p => p.metadata.name).sort()).toEqual(multi);
  });

  test('snapshot', () => {
    expect(objects).toMatchSnapshot();
  });
});

describe('promtoolCheckConfig', () => {
  test('fails on a config Prometheus would reject (the check can fail)', () => {
    const objects = synthStack(ENVIRONMENTS.local).charts.observability;
    const cfg = configFile(objects, 'prometheus-config', 'prometheus.yml');
    expect(() => promtoolCheckConfig({ ...cfg, scrape_configs: [...cfg.scrape_configs, { job_name: 'prometheus', scrape_interval: 'often' }] }))
      .toThrow(/promtool check config failed/);
  });
});

describe.each(SINGLE_CLUSTER_ENVIRONMENTS)('links between the signals resolve ($name)', env => {
  const { stack, charts } = synthStack(env);
  const objects = charts.observability;
  const { prometheus, loki, tempo, collector } = stack.observability;
  const datasources: any[] = configFile(objects, 'grafana-provisioning', 'datasources.yaml').datasources;
  const byUid = (uid: string) => datasources.find(d => d.uid === uid);
  const lokiDs = byUid('loki');
  const tempoDs = byUid('tempo');
  const promDs = byUid('prometheus');
  const { stages, pushUrl, externalLabels } = shippedLogs(objects, stack.observability);

  test('log → trace: one "View Trace" to the Tempo datasource, on a key Promtail writes as structured metadata for sampled lines only', () => {
    const [byLabel, ...others] = lokiDs.jsonData.derivedFields;
    expect(others).toEqual([]);
    expect(byLabel).toMatchObject({ matcherType: 'label', urlDisplayLabel: 'View Trace', url: '$${__value.raw}' });
    expect(byUid(byLabel.datasourceUid)?.type).toBe('tempo');
    const metadataKeys = Object.keys(stages.find(s => s.structured_metadata).structured_metadata);
    expect(metadataKeys.filter(k => new RegExp(byLabel.matcherRegex).test(k))).toEqual(['trace_id']);
    expect(stages.find(s => s.json).json.expressions).toMatchObject({ trace_id: 'trace_id', trace_flags: 'trace_flags' });
    const kept = stages.findIndex(s => s.template?.source === 'trace_id');
    expect(kept).toBeGreaterThan(-1);
    expect(kept).toBeLessThan(stages.findIndex(s => s.structured_metadata));
    expect(lokiDs.url).toBe(loki.url);
  });

  test('trace → logs: tracesToLogsV2 goes to the Loki datasource and selects on labels the shipper sets', () => {
    const link = tempoDs.jsonData.tracesToLogsV2;
    expect(byUid(link.datasourceUid)?.type).toBe('loki');
    expect(link.filterByTraceID).toBe(true);
    // the stream's own labels, and the cluster's name, which the shipper adds to every stream as Prometheus does
    expect(externalLabels).toEqual({ cluster: env.clusterName });
    const labels: string[] = [...stages.find(s => s.labelallow).labelallow, ...Object.keys(externalLabels)];
    for (const tag of link.tags) expect(labels).toContain(tag.value);
    // the span attributes the tags read are on every span: service.name from the SDK, the namespace from k8s_attributes,
    // the cluster from the Collector, under the name it gives the streams
    expect(link.tags.map((t: any) => t.key)).toEqual(['service.name', 'k8s.namespace.name', 'k8s.cluster.name']);
    expect(collector.config.processors.k8s_attributes?.extract.metadata).toContain('k8s.namespace.name');
    expect(collector.config.processors['resource/cluster'].attributes).toEqual([{ key: 'k8s.cluster.name', value: env.clusterName, action: 'upsert' }]);
    // and OTLP logs that reach Loki through the Collector carry the same three labels
    expect(collector.config.processors['resource/log-labels'].attributes.map((a: any) => [a.from_attribute, a.key]))
      .toEqual(link.tags.map((t: any) => [t.key, t.value]));
    expect(loki.config.limits_config.otlp_config.resource_attributes.attributes_config[0])
      .toEqual({ action: 'index_label', attributes: expect.arrayContaining(['app', 'namespace', 'cluster']) });
    expect(pushUrl).toBe(loki.pushUrl);
  });

  test('trace → metrics: the span metrics are selected by the span\'s service and cluster, labels Tempo\'s metrics carry', () => {
    const link = tempoDs.jsonData.tracesToMetrics;
    expect(byUid(link.datasourceUid)?.url).toBe(prometheus.url);
    expect(link.tags).toEqual([{ key: 'service.name', value: 'service' }, { key: 'k8s.cluster.name', value: 'cluster' }]);
    // one cluster: the generator's external label, which holds the name the Collector gives every span
    expect(tempo.config.metrics_generator?.registry.external_labels).toEqual({ source: 'tempo', cluster: env.clusterName });
    // as provisioned: the file doubles every `$`
    for (const { query } of link.queries) expect(query).toContain('{$$__tags}');
  });

  test('service graph: Tempo generates it into the Prometheus the Tempo datasource reads, and may reach it', () => {
    expect(byUid(tempoDs.jsonData.serviceMap.datasourceUid)?.url).toBe(prometheus.url);
    expect(tempo.config.overrides.defaults.metrics_generator?.processors).toContain('service-graphs');
    expect(tempo.config.metrics_generator?.storage.remote_write[0].url).toBe(prometheus.remoteWriteUrl);
    const sts = find(objects, 'StatefulSet', 'prometheus');
    expect(sts.spec.template.spec.containers[0].args).toContain('--web.enable-remote-write-receiver');
    expect(find(objects, 'NetworkPolicy', 'tempo-to-prometheus-ingress').spec.ingress[0].ports).toEqual([{ port: 9090, protocol: 'TCP' }]);
    expect(tempoDs.jsonData.nodeGraph.enabled).toBe(true);
  });

  test('metric → trace: exemplars (trace_id from the services, traceID from Tempo) open Tempo; exemplar storage is on', () => {
    expect(promDs.jsonData.exemplarTraceIdDestinations.map((d: any) => [d.name, byUid(d.datasourceUid)?.type])).toEqual([['trace_id', 'tempo'], ['traceID', 'tempo']]);
    expect(find(objects, 'StatefulSet', 'prometheus').spec.template.spec.containers[0].args).toContain('--enable-feature=exemplar-storage');
    expect(tempo.config.metrics_generator?.storage.remote_write[0].send_exemplars).toBe(true);
  });

  test('the Collector sends to the endpoints the backends publish', () => {
    expect(collector.config.exporters['otlp_grpc/tempo'].endpoint).toBe(tempo.otlpGrpcEndpoint);
    expect(collector.config.exporters['otlp_http/loki'].endpoint).toBe(loki.otlpUrl);
    expect(collector.config.exporters.prometheus_remote_write.endpoint).toBe(prometheus.remoteWriteUrl);
  });
});

describe.each(SINGLE_CLUSTER_ENVIRONMENTS)('network policies ($name)', env => {
  const objects = synthStack(env).charts.observability;
  const policies = ofKind(objects, 'NetworkPolicy');
  const names = policies.map(p => p.metadata.name);
  const workloads = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet'), ...ofKind(objects, 'DaemonSet'), ...ofKind(objects, 'CronJob')];
  const selectedWorkload = (policy: K8sObject) => {
    const selected = Object.entries<string>(policy.spec.podSelector.matchLabels ?? {});
    return workloads.find(w => selected.every(([k, v]) => podMetadataOf(w).labels[k] === v));
  };

  test('default deny, then one allow per flow', () => {
    expect(names).toContain('default-deny-all');
    const expected = [
      'dns-egress', `${env.logs.shipper}-to-loki-egress`, `${env.logs.shipper}-to-loki-ingress`, 'collector-to-tempo-egress', 'collector-to-tempo-ingress',
      'collector-to-loki-egress', 'collector-to-loki-ingress', 'collector-to-prometheus-egress', 'collector-to-prometheus-ingress',
      'grafana-to-prometheus-ingress', 'grafana-to-loki-ingress', 'grafana-to-tempo-ingress', 'tempo-to-prometheus-egress',
      'apps-to-collector-ingress', 'prometheus-to-grafana-ingress', 'prometheus-to-loki-ingress', `prometheus-to-${env.logs.shipper}-ingress`,
      'prometheus-to-tempo-ingress', 'prometheus-to-otel-collector-ingress', 'prometheus-to-kube-api-egress', `${env.logs.shipper}-to-kube-api-egress`,
      'otel-collector-to-kube-api-egress', 'users-to-grafana-ingress', 'prometheus-to-apps-egress',
    ];
    expect(names).toEqual(expect.arrayContaining(expected));
  });

  test('replicated Grafana and Alertmanager gossip with their own replicas, on TCP and UDP, and only when replicated', () => {
    const replicas = (kind: string, name: string) => find(objects, kind, name).spec.replicas;
    for (const [component, kind] of [['grafana', 'Deployment'], ['alertmanager', 'StatefulSet']] as const) {
      const flow = `${component}-to-${component}-ingress`;
      if (replicas(kind, component) > 1) {
        expect(find(objects, 'NetworkPolicy', flow).spec.ingress[0].ports).toEqual([{ port: 9094, protocol: 'TCP' }, { port: 9094, protocol: 'UDP' }]);
      } else {
        expect(names).not.toContain(flow);
      }
    }
  });

  test('every workload in the namespace can resolve names and is selected by the deny-all policy', () => {
    const dns = find(objects, 'NetworkPolicy', 'dns-egress');
    expect(dns.spec.podSelector).toEqual({});
    expect(find(objects, 'NetworkPolicy', 'default-deny-all').spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  test('each ingress allow selects pods that exist and opens a port they declare', () => {
    for (const policy of policies.filter(p => p.spec.policyTypes.includes('Ingress') && p.metadata.name !== 'default-deny-all')) {
      const target = selectedWorkload(policy);
      expect([policy.metadata.name, target?.metadata.name]).toEqual([policy.metadata.name, expect.any(String)]);
      const declared = target!.spec.template.spec.containers.flatMap((c: any) => c.ports.map((p: any) => p.containerPort));
      for (const port of policy.spec.ingress[0].ports) {
        expect([policy.metadata.name, declared]).toEqual([policy.metadata.name, expect.arrayContaining([port.port])]);
      }
    }
  });

  test('each egress allow selects pods that exist; within the namespace it mirrors its ingress policy (peer and ports)', () => {
    const egress = policies.filter(p => p.spec.policyTypes.includes('Egress') && p.metadata.name !== 'default-deny-all');
    const unpaired: string[] = [];
    for (const policy of egress) {
      expect([policy.metadata.name, selectedWorkload(policy)?.metadata.name]).toEqual([policy.metadata.name, expect.any(String)]);
      const counterpart = policies.find(p => p.metadata.name === policy.metadata.name.replace(/-egress$/, '-ingress'));
      if (!counterpart) {
        unpaired.push(policy.metadata.name);
        continue;
      }
      const [out] = policy.spec.egress;
      const [into] = counterpart.spec.ingress;
      expect([policy.metadata.name, out.to, into.from, out.ports]).toEqual([
        policy.metadata.name, [{ podSelector: counterpart.spec.podSelector }], [{ podSelector: policy.spec.podSelector }], into.ports,
      ]);
    }
    // the flows that leave the namespace, which have no ingress policy here
    const storage = env.egress.dependencies.objectStorage;
    const storageFlow = storage === undefined ? undefined : isProxied(storage) ? `proxy-${storage.via}` : 'object-storage';
    const alertReceivers = env.egress.dependencies.alertReceivers;
    const receivers = alertReceivers === undefined ? undefined : isProxied(alertReceivers) ? `proxy-${alertReceivers.via}` : 'alert-receivers';
    // the canary gate's git host and webhook: one rule to their proxy, or one each
    const gate = [...new Set(([['gitHost', 'git-host'], ['notificationWebhook', 'notification-webhook']] as const).flatMap(([name, flow]) => {
      const dependency = env.egress.dependencies[name];
      return dependency === undefined ? [] : [`canary-gate-to-${isProxied(dependency) ? `proxy-${dependency.via}` : flow}-egress`];
    }))];
    expect(unpaired.sort()).toEqual([
      'dns-egress', 'otel-collector-to-kube-api-egress', 'prometheus-to-apps-egress', 'prometheus-to-kube-api-egress', `${env.logs.shipper}-to-kube-api-egress`,
      'kube-state-metrics-to-kube-api-egress', 'prometheus-to-istiod-egress', 'prometheus-to-ingress-gateway-egress', 'prometheus-to-kubelet-egress',
      'kiali-to-kube-api-egress', 'kiali-to-istiod-egress',
      ...(env.grafana.databaseUrl ? ['grafana-to-database-egress'] : []),
      ...(storageFlow ? [`loki-to-${storageFlow}-egress`, `tempo-to-${storageFlow}-egress`] : []),
      ...(receivers ? [`alertmanager-to-${receivers}-egress`] : []),
      ...gate,
      // its smoke checks through the pin, from inside the mesh: to the gateway (its ingress half is in apps), and istiod
      ...(env.delivery.loop === 'cluster' ? ['canary-gate-smoke-gateway-egress', 'canary-gate-sidecar-to-istiod-egress'] : []),
    ].sort());
    expect(egress.length - unpaired.length).toBeGreaterThan(0);
  });

  test('the API server: Prometheus, the log shipper, the Collector, kube-state-metrics and Kiali reach egress.dependencies.kubernetesApi, nothing else does', () => {
    const api = env.egress.dependencies.kubernetesApi!;
    expect(isProxied(api)).toBe(false);
    const direct = api as Exclude<typeof api, { via: string }>;
    const ofApi = policies.filter(p => p.metadata.name.endsWith('-to-kube-api-egress'));
    expect(ofApi.map(p => p.spec.podSelector.matchLabels['app.kubernetes.io/name']).sort()).toEqual([env.logs.shipper, 'kube-state-metrics', 'otel-collector', 'prometheus', 'kiali'].sort());
    for (const policy of ofApi) {
      expect(policy.spec.egress).toEqual([{
        to: direct.cidrs.map(cidr => ({ ipBlock: { cidr } })), ports: direct.ports.map(p => ({ port: p.port, protocol: p.protocol ?? 'TCP' })),
      }]);
    }
  });

  test('Grafana reaches its database exactly when it has one', () => {
    expect(names.includes('grafana-to-database-egress')).toBe(env.grafana.databaseUrl !== undefined);
  });

  test('object storage egress only with object storage, Loki peer traffic only with more than one replica', () => {
    const storageEgress = names.filter(n => /^(loki|tempo)-to-(object-storage|proxy-.*)-egress$/.test(n));
    expect(storageEgress.length).toBe(env.objectStorage ? 2 : 0);
    expect(names.includes('loki-to-loki-ingress')).toBe(env.loki.replicas > 1);
  });
});

describe('egress to object storage follows egress.dependencies.objectStorage', () => {
  const prod = ENVIRONMENTS.prod;
  const direct = (endpoint: string, insecure: boolean, port: number): EnvironmentConfig => ({
    ...prod, objectStorage: { ...prod.objectStorage as S3ObjectStorage, endpoint, insecure },
    egress: { ...prod.egress, dependencies: { ...prod.egress.dependencies, objectStorage: { cidrs: ['10.20.0.0/16', '10.21.0.0/16'], ports: [{ port }] } } },
  });

  test.each([
    ['HTTPS, no port', 443, direct('s3.example.com', false, 443)],
    ['plain HTTP, no port', 80, direct('minio.example.com', true, 80)],
    ['a named port', 9000, direct('minio.example.com:9000', true, 9000)],
  ] as const)('directly, %s: Loki and Tempo reach its CIDR blocks on port %p, and no proxy is set', (_name, port, env) => {
    const objects = synthStack(env).charts.observability;
    for (const component of ['loki', 'tempo']) {
      expect(find(objects, 'NetworkPolicy', `${component}-to-object-storage-egress`).spec.egress)
        .toEqual([{ to: [{ ipBlock: { cidr: '10.20.0.0/16' } }, { ipBlock: { cidr: '10.21.0.0/16' } }], ports: [{ port, protocol: 'TCP' }] }]);
      const container = find(objects, 'StatefulSet', component).spec.template.spec.containers[0];
      expect(container.env.map((e: any) => e.name)).not.toContain('HTTPS_PROXY');
    }
  });

  test('via the corporate proxy (prod): Loki and Tempo reach the proxy only, with HTTPS_PROXY and a NO_PROXY that keeps the cluster off it', () => {
    const objects = synthStack(prod).charts.observability;
    const proxy = prod.egress.proxies!.corporate as { url: string; cidrs: readonly string[] };
    for (const component of ['loki', 'tempo']) {
      expect(find(objects, 'NetworkPolicy', `${component}-to-proxy-corporate-egress`).spec.egress)
        .toEqual([{ to: proxy.cidrs.map(cidr => ({ ipBlock: { cidr } })), ports: [{ port: 3128, protocol: 'TCP' }] }]);
      const env = Object.fromEntries(find(objects, 'StatefulSet', component).spec.template.spec.containers[0].env
        .filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
      expect(env).toMatchObject({ HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url });
      expect(env.NO_PROXY.split(',')).toEqual(['localhost', '127.0.0.1', '.svc', '.cluster.local', ...prod.egress.clusterCidrs!]);
    }
    expect(ofKind(objects, 'NetworkPolicy').map(p => p.metadata.name)).not.toContain('loki-to-object-storage-egress');
  });
});

test('prod Grafana: https root URL, Secure and SameSite=lax session cookies', () => {
  const ini = find(synthStack(ENVIRONMENTS.prod).charts.observability, 'ConfigMap', 'grafana-config').data['grafana.ini'];
  expect(ini).toContain('root_url = https://grafana.example.com');
  expect(ini).toMatch(/cookie_secure = true\ncookie_samesite = lax/);
});

/**
 * The log pipeline of whichever shipper the environment runs, in Promtail's shape: its stages (Alloy's `stage.x`
 * blocks of `loki.process` as `{ x: arguments }`, `label_keep` as Promtail's `labelallow`) and the URL it pushes to.
 */
function shippedLogs(objects: readonly K8sObject[], observability: ObservabilityChart): { stages: any[]; pushUrl: string; externalLabels: any } {
  if (observability.promtail) {
    const config = configFile(objects, 'promtail-config', 'promtail.yaml');
    return { stages: config.scrape_configs[0].pipeline_stages, pushUrl: config.clients[0].url, externalLabels: config.clients[0].external_labels };
  }
  const blocks = (body: readonly AlloyStatement[], name: string) => body.filter((s): s is AlloyBlock => s.kind === 'block' && s.name === name);
  const args = (b: AlloyBlock): any => Object.fromEntries(b.body.flatMap(s => (s.kind === 'attribute' ? [[s.name, s.value]] : [])));
  const [process] = blocks(observability.alloy!.config, 'loki.process');
  const stages = process.body.filter((s): s is AlloyBlock => s.kind === 'block').map(b => {
    const stage = b.name.replace(/^stage\./, '');
    if (stage === 'label_keep') return { labelallow: args(b).values };
    return { [stage]: ['labels', 'structured_metadata'].includes(stage) ? args(b).values : args(b) };
  });
  const [write] = blocks(observability.alloy!.config, 'loki.write');
  const [endpoint] = blocks(write.body, 'endpoint');
  return { stages, pushUrl: args(endpoint).url, externalLabels: args(write).external_labels };
}
