import { Chart, Size } from 'cdk8s';
import { AUTH_SCHEMES as SERVICE_AUTH_SCHEMES, scrubText } from '../../apps/shared/redact';
import { OtelCollector } from '../../lib/constructs/otel-collector';
import { AUTH_SCHEMES as COLLECTOR_AUTH_SCHEMES, TRACE_REDACTIONS, escapeConfigDollars } from '../../lib/constructs/otel-collector-config';
import { CLUSTER_STATE_METRICS } from '../../lib/slo/cluster-state';
import { SLO_RECORDS } from '../../lib/slo/recording-rules';
import { ISTIO } from '../../lib/slo/vocabulary';
import { synth, testApp, testChart } from '../support/chart';
import { configFile, find, ofKind } from '../support/manifest';
import {
  OttlSpan, OttlTraces, functionsOf, patternsOf, re2, re2Problems, runResourceStatements, runTraceStatements, unescapeConfigDollars,
} from '../support/ottl';
import {
  FIXTURE_HEADERS, FIXTURE_QUERY, FIXTURE_QUERY_REDACTED, NOT_A_CARD, SECRETS, leakedIn,
} from '../support/privacy-fixtures';

const TARGETS = {
  tempoOtlpGrpcEndpoint: 'tempo.observability.svc.cluster.local:4317',
  lokiOtlpUrl: 'http://loki.observability.svc.cluster.local:3100/otlp',
  prometheusRemoteWriteUrl: 'http://prometheus.observability.svc.cluster.local:9090/api/v1/write',
};

function render(props: Partial<ConstructorParameters<typeof OtelCollector>[2]> = {}) {
  const chart = testChart();
  const collector = new OtelCollector(chart, 'Collector', { ...TARGETS, ...props });
  const all = synth(chart);
  const deployment = find(all, 'Deployment', 'otel-collector');
  return {
    collector, all, deployment, pod: deployment.spec.template.spec, container: deployment.spec.template.spec.containers[0],
    config: configFile(all, 'otel-collector-config', 'config.yaml'),
  };
}

describe('OtelCollector', () => {
  describe('defaults', () => {
    const { collector, all, deployment, pod, container, config } = render();
    const pipelines = config.service.pipelines;

    test('one replica of the pinned contrib image', () => {
      expect(deployment.spec.replicas).toBe(1);
      expect(container.image).toBe('docker.io/otel/opentelemetry-collector-contrib:0.159.0');
      expect(container.args).toEqual(['--config=/conf/config.yaml']);
      expect(config).toEqual(JSON.parse(JSON.stringify(collector.config)));
    });

    test('OTLP receivers and the health check on 0.0.0.0, the probes on the health port', () => {
      expect(config.receivers.otlp.protocols).toEqual({ grpc: { endpoint: '0.0.0.0:4317', max_recv_msg_size_mib: 16 }, http: { endpoint: '0.0.0.0:4318' } });
      expect(config.extensions.health_check.endpoint).toBe('0.0.0.0:13133');
      expect(config.service.extensions).toEqual(['health_check']);
      const health = container.ports.find((p: any) => p.name === 'health');
      expect(health.containerPort).toBe(13133);
      expect(container.readinessProbe.httpGet).toEqual({ path: '/', port: 'health' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/', port: 'health' });
    });

    test('traces: the sidecar service name is fixed first, the redaction runs last before batch, on what the sampler kept', () => {
      expect(pipelines.traces.processors).toEqual([
        'memory_limiter', 'k8s_attributes', 'resource/cluster', 'transform/sidecar-service-name', 'probabilistic_sampler', 'transform/redact', 'batch',
      ]);
    });

    test('metrics: the resource is trimmed after the Kubernetes metadata is added, before batch', () => {
      expect(pipelines.metrics.processors).toEqual([
        'memory_limiter', 'filter/observer-metrics', 'k8s_attributes', 'resource/cluster', 'transform/metric-resource', 'batch',
      ]);
    });

    test('metrics: what would be stored under a name only the platform\'s observers write is dropped when a service pushes it; its own pass', () => {
      const filter = config.processors['filter/observer-metrics'];
      expect(filter.error_mode).toBe('ignore');
      const patterns = (filter.metrics.metric as string[]).map(condition => {
        const [, literal] = /^IsMatch\(name, (".*")\)$/.exec(unescapeConfigDollars(condition))!;
        return re2(JSON.parse(literal) as string);
      });
      const dropped = (name: string) => patterns.some(p => p.test(name));
      /**
       * The name Prometheus stores for an OTLP metric, as the Collector's export to it writes one (the translator's
       * rule, modelled here): the name's words (split at anything but letters, digits and `:`), the unit's, then
       * `total` for a counter.
       */
      const stored = (name: string, unit = '', counter = false) => {
        const words = (text: string) => text.split(/[^A-Za-z0-9:]+/).filter(Boolean);
        const parts = [...words(name), ...words(unit).filter(w => !words(name).includes(w))];
        return (counter ? [...parts.filter(w => w !== 'total'), 'total'] : parts).join('_');
      };
      const witness = (name: string) => /^(?:(?:istio|envoy|kube)_|up$)|:/.test(name);
      // [OTLP name, unit, counter]: every spelling that would be stored as a witness
      const forged: Array<[string, string?, boolean?]> = [
        [ISTIO.requests], [ISTIO.durationBucket],
        ...CLUSTER_STATE_METRICS.map(m => [m] as [string]), ...Object.values(SLO_RECORDS).map(m => [m] as [string]),
        ['up'], ['up_'], ['-up'], ['istio.requests', '', true], ['istio-requests', '', true], ['istio/requests', '', true], ['_istio_requests', '', true],
        ['istio', 'requests', true], ['istio', 'request_duration_milliseconds'], ['-', 'istio_requests', true], ['_', 'up'],
        // a counter's words `total` go to the end, whatever their place
        ['total', 'istio_requests', true], ['_total_', 'istio_requests', true], ['total_istio_requests', '', true], ['total.kube.deployment_x', '', true],
        ['kube-deployment-status-replicas-available'], ['kube.customresource.virtualservice_route_weight'], ['envoy_cluster_upstream_rq_total'],
      ];
      expect(forged.filter(([name, unit, counter]) => !witness(stored(name, unit, counter)))).toEqual([]);
      expect(forged.filter(([name]) => !dropped(name))).toEqual([]);
      // the services' own metrics, and names that only begin like a witness
      const own: Array<[string, string?, boolean?]> = [
        ['http_requests_total'], ['http.server.request.duration', 's'], ['http_request_duration_seconds_bucket'], ['process_cpu_seconds_total'],
        ['nodejs_heap_size_total_bytes'], ['upstream_latency', 's'], ['uptime', 's'], ['kubelet_volume_stats_used_bytes'], ['payments_istio_calls', '', true],
        ['istiod_compat'], ['kubernetes_client_requests', '', true], ['totals_istio', '', true], ['request_total', '', true],
      ];
      expect(own.filter(([name, unit, counter]) => witness(stored(name, unit, counter)))).toEqual([]);
      expect(own.filter(([name]) => dropped(name))).toEqual([]);
    });

    test.each(['traces', 'logs', 'metrics'])('the %s pipeline starts with memory_limiter and ends with batch', signal => {
      const processors: string[] = pipelines[signal].processors;
      expect(processors[0]).toBe('memory_limiter');
      expect(processors[processors.length - 1]).toBe('batch');
      expect(processors).toContain('k8s_attributes');
      expect(pipelines[signal].receivers).toEqual(['otlp']);
    });

    test('traces → Tempo, logs → Loki /otlp, metrics → Prometheus remote write', () => {
      expect(pipelines.traces.exporters).toEqual(['otlp_grpc/tempo']);
      expect(pipelines.logs.exporters).toEqual(['otlp_http/loki']);
      expect(pipelines.metrics.exporters).toEqual(['prometheus_remote_write']);
      expect(config.exporters['otlp_grpc/tempo']).toEqual({ endpoint: TARGETS.tempoOtlpGrpcEndpoint, tls: { insecure: true } });
      expect(config.exporters['otlp_http/loki']).toEqual({ endpoint: TARGETS.lokiOtlpUrl });
      expect(config.exporters.prometheus_remote_write.endpoint).toBe(TARGETS.prometheusRemoteWriteUrl);
    });

    test('every component a pipeline names is defined, and every defined one is used', () => {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        const used = new Set(Object.values<any>(pipelines).flatMap(p => p[kind]));
        expect([...used].sort()).toEqual(Object.keys(config[kind]).sort());
      }
    });

    test('the snake_case component names, not the deprecated ones', () => {
      const ids = [...Object.keys(config.processors), ...Object.keys(config.exporters)].map(id => id.split('/')[0]);
      for (const deprecated of ['otlp', 'otlphttp', 'k8sattributes', 'prometheusremotewrite']) expect(ids).not.toContain(deprecated);
      expect(JSON.stringify(config)).not.toContain('deployment_name_from_replicaset');
    });

    test('memory_limiter has the settings it requires', () => {
      expect(config.processors.memory_limiter).toEqual({ check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 25 });
      expect(container.env).toContainEqual({ name: 'GOMEMLIMIT', value: '819MiB' });
    });

    test('traces are kept at 100 % by default; only the traces pipeline samples', () => {
      expect(config.processors.probabilistic_sampler).toEqual({ sampling_percentage: 100 });
      expect(pipelines.logs.processors).not.toContain('probabilistic_sampler');
    });

    test('logs get the shippers\' app, namespace and cluster attributes for Loki, over any the service set itself', () => {
      // upsert: a service's own `cluster` or `namespace` resource attribute must not become Loki's index label
      expect(config.processors['resource/log-labels'].attributes).toEqual([
        { key: 'app', from_attribute: 'service.name', action: 'upsert' },
        { key: 'namespace', from_attribute: 'k8s.namespace.name', action: 'upsert' },
        { key: 'cluster', from_attribute: 'k8s.cluster.name', action: 'upsert' },
      ]);
      // after the processors that set the attributes they copy
      expect(pipelines.logs.processors.indexOf('resource/log-labels')).toBeGreaterThan(pipelines.logs.processors.indexOf('resource/cluster'));
      expect(pipelines.logs.processors.indexOf('resource/cluster')).toBeGreaterThan(pipelines.logs.processors.indexOf('k8s_attributes'));
    });

    test('k8s_attributes with the RBAC it needs', () => {
      expect(config.processors.k8s_attributes.extract.metadata).toContain('k8s.namespace.name');
      expect(find(all, 'ClusterRole', 'observability-otel-collector').rules).toEqual([
        { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
      ]);
      expect(pod.automountServiceAccountToken).toBe(true);
    });

    test('k8s_attributes looks pods up itself (no passthrough), by the pod IP or UID attribute, else by the connection', () => {
      expect(config.processors.k8s_attributes).toMatchObject({
        auth_type: 'serviceAccount',
        passthrough: false,
        pod_association: [
          { sources: [{ from: 'resource_attribute', name: 'k8s.pod.ip' }] },
          { sources: [{ from: 'resource_attribute', name: 'k8s.pod.uid' }] },
          { sources: [{ from: 'connection' }] },
        ],
      });
    });

    test('its own metrics on 0.0.0.0:8888 for Prometheus', () => {
      expect(config.service.telemetry.metrics.readers).toEqual([{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: 8888 } } } }]);
      expect(collector.metricsTarget).toMatchObject({ job: 'otel-collector', port: 'metrics' });
      expect(collector.otlpGrpcUrl).toBe('http://otel-collector.observability.svc.cluster.local:4317');
    });

    test('snapshot', () => {
      expect(all).toMatchSnapshot();
    });
  });

  describe('trace redaction (transform/redact)', () => {
    const { config } = render();
    const redact = config.processors['transform/redact'];
    const statements: string[] = redact.trace_statements.flatMap((g: { statements: string[] }) => g.statements);

    test('uses only OTTL functions of contrib 0.159 (pkg/ottl/ottlfuncs), with regexes RE2 accepts', () => {
      expect(redact.error_mode).toBe('ignore');
      expect(functionsOf(statements)).toEqual(['delete_key', 'delete_matching_keys', 'replace_all_patterns', 'replace_pattern']);
      const patterns = patternsOf(statements);
      expect(patterns.length).toBeGreaterThan(20);
      for (const pattern of patterns) expect([pattern, re2Problems(pattern)]).toEqual([pattern, []]);
    });

    test('every $ of the rendered statements is doubled, as the config resolver requires', () => {
      for (const statement of statements) expect(statement.replace(/\$\$/g, '')).not.toContain('$');
      expect(statements.some(s => s.includes('$${1}'))).toBe(true);
      expect(unescapeConfigDollars(escapeConfigDollars('^a$|${1}'))).toBe('^a$|${1}');
    });

    test('the Collector\'s rules know the Authorization schemes the services\' rules know: the twins list the same', () => {
      expect(COLLECTOR_AUTH_SCHEMES).toBe(SERVICE_AUTH_SCHEMES);
    });

    test('the Collector\'s rules remove what the services\' log rules remove, on the same strings', () => {
      const collector = (text: string) => TRACE_REDACTIONS.reduce((out, r) => out.replace(re2(r.pattern, 'g'), r.replacement.replace(/\$\{(\d)\}/g, '$$$1')), text);
      const strings = [
        FIXTURE_QUERY.replace(`&order=${NOT_A_CARD}`, ''), ...Object.values(FIXTURE_HEADERS).filter(h => !h.startsWith('user.id')), `Cookie: sessionid=${SECRETS.cookieSession}`,
        `upstream 401 for Bearer ${SECRETS.bearerToken}`, `/download/${SECRETS.jwt}`, 'a=1&sid=x&connect.sid=y&inside=2', 'mail lee%40example.com',
        `pay ${SECRETS.cardSpaced} now`, `${SECRETS.cardDashed}`, '/cart;jsessionid=ABC123?dep=ICN', 'basic auth failed',
        // encoded pairs inside a value, card codes, and runs of encoded delimiters
        `/api/x?${'%3B'.repeat(50)}%3D`, `a=${'%3F'.repeat(50)}token%3Dx%26b%3D1`, 'card_cvv=123&cardCvc=456&csc=789&csv=ok', 'u=a%2Eb%40c%2Eorg',
        // other Authorization schemes, and credentials in URLs, as error messages carry them
        'Authorization: Token tk-8Hq2Lm5Zs1\r\nAccept: */*', 'proxy-authorization: sk_live_51HqLm2Zs', 'the authorization of this request failed',
        'connect ECONNREFUSED postgres://ledger:pg-Vx4Nc8Qw@10.0.3.7:5432/ledger', 'https://ghp_Tq8Lm2Zx5Vc1@github.com/o/r.git', 'amqp://app:p@ss@mq:5672',
        'see https://example.com/about?by=jane@example.com', 'Authorization: sk_live_51HqLm2Zs rejected by upstream',
        '{"url":"http://svc:8080","owner":"ops@corp.com"}', 'proxy http://proxy:3128,mail=ops@corp.com', 'http://a.b\u00a0x@y.com',
        'postgres://ledger:pg,Vx4;N\'c8Qw@10.0.3.7:5432/ledger',
      ];
      for (const text of strings) expect([text, collector(text)]).toEqual([text, scrubText(text)]);
      // the one difference: RE2 has no Luhn check, so the Collector also replaces a long number of a card's shape;
      // neither touches an epoch timestamp
      expect([scrubText(`order=${NOT_A_CARD}`), collector(`order=${NOT_A_CARD}`)]).toEqual([`order=${NOT_A_CARD}`, 'order=[card]']);
      expect([scrubText('_=1724300000001'), collector('_=1724300000001')]).toEqual(['_=1724300000001', '_=1724300000001']);
    });

    /** A sidecar's span of the fixture request, as Envoy reports it, and a span of some other service. */
    function fixtureTraces(): OttlTraces {
      const sidecar: OttlSpan = {
        name: `flights.example.com:80/api/flight/timetable?${FIXTURE_QUERY}`,
        status: { message: `card ${SECRETS.cardSpaced} declined` },
        attributes: {
          component: 'proxy',
          'http.url': `http://flights.example.com/api/flight/timetable?${FIXTURE_QUERY}`,
          user_agent: FIXTURE_HEADERS['user-agent'],
          'http.request.header.authorization': [FIXTURE_HEADERS.authorization],
          'http.request.header.cookie': [FIXTURE_HEADERS.cookie],
          'http.request.header.baggage': [FIXTURE_HEADERS.baggage],
          'http.request.header.tracestate': [FIXTURE_HEADERS.tracestate],
          'http.request.header.x-hub-signature-256': [FIXTURE_HEADERS['x-hub-signature-256']],
          'http.request.header.accept': ['application/json'],
          'istio.canonical_service': 'gateway',
          'guid:x-request-id': '0c8b7c3e-5b7a-4f7e-9a51-1d0f1c2b3a4d',
          'http.status_code': '200',
        },
        events: [{
          name: 'exception',
          attributes: {
            'exception.message': `rejected Bearer ${SECRETS.bearerToken} of ${SECRETS.email}`,
            'exception.stacktrace': `Error: GET /?access_token=${SECRETS.accessToken}\nCookie: sessionid=${SECRETS.cookieSession}\n    at handler`,
          },
        }],
      };
      const other: OttlSpan = {
        name: 'SELECT users',
        status: { message: '' },
        attributes: {
          'url.full': `https://api.example.com/v2/users?api_key=${SECRETS.accessToken}&PHPSESSID=${SECRETS.phpSession}&ref=${SECRETS.jwt}`,
          'db.query.text': `SELECT * FROM users WHERE email = '${SECRETS.email}' AND card = '${SECRETS.cardPlain}'`,
          'http.response.status_code': 200,
        },
        events: [],
      };
      return {
        resource: { 'service.name': 'gateway.apps', 'k8s.namespace.name': 'apps', 'process.command_args': ['java', `-Dapi.token=${SECRETS.accessToken}`] },
        spans: [sidecar, other],
      };
    }

    test('leaves no secret of the fixture in any span, event or resource, and the rest as it was', () => {
      // the fixture carries them all: the check can fail
      expect(leakedIn(JSON.stringify(fixtureTraces())).sort()).toEqual(Object.keys(SECRETS).sort());
      const traces = runTraceStatements(redact.trace_statements, fixtureTraces());
      expect(leakedIn(JSON.stringify(traces))).toEqual([]);

      const [sidecar, other] = traces.spans;
      const query = FIXTURE_QUERY_REDACTED.replace(`order=${NOT_A_CARD}`, 'order=[card]');
      expect(sidecar.attributes).toEqual({
        component: 'proxy',
        'http.url': `http://flights.example.com/api/flight/timetable?${query}`,
        user_agent: 'fixture-crawler/1.0 (+mailto:[email])',
        'http.request.header.accept': ['application/json'],
        'istio.canonical_service': 'gateway',
        'guid:x-request-id': '0c8b7c3e-5b7a-4f7e-9a51-1d0f1c2b3a4d',
        'http.status_code': '200',
      });
      expect(sidecar.name).toBe(`flights.example.com:80/api/flight/timetable?${query}`);
      expect(sidecar.status.message).toBe('card [card] declined');
      expect(sidecar.events[0].attributes).toEqual({
        'exception.message': 'rejected Bearer [redacted] of [email]',
        'exception.stacktrace': 'Error: GET /?access_token=[redacted]\nCookie: [redacted]\n    at handler',
      });
      expect(other.attributes).toEqual({
        'url.full': 'https://api.example.com/v2/users?api_key=[redacted]&PHPSESSID=[redacted]&ref=[redacted]',
        'db.query.text': 'SELECT * FROM users WHERE email = \'[email]\' AND card = \'[card]\'',
        'http.response.status_code': 200,
      });
      expect(traces.resource).toEqual({ 'service.name': 'gateway.apps', 'k8s.namespace.name': 'apps' });
    });
  });

  describe('sidecar spans carry their service\'s own service.name (transform/sidecar-service-name)', () => {
    const { config } = render();
    const groups = config.processors['transform/sidecar-service-name'].trace_statements;

    const envoySpan = (canonical: string | undefined): OttlSpan => ({
      name: 'backend.apps.svc.cluster.local:8081/*', status: { message: '' }, events: [],
      attributes: { component: 'proxy', ...(canonical === undefined ? {} : { 'istio.canonical_service': canonical }) },
    });

    test('Istio\'s <app>.<namespace> becomes the canonical service, the name the service\'s own spans and logs carry', () => {
      const traces = runTraceStatements(groups, { resource: { 'service.name': 'gateway.apps' }, spans: [envoySpan('gateway')] });
      expect(traces.resource['service.name']).toBe('gateway');
    });

    test('spans of the services themselves, and pods without a canonical name, keep theirs', () => {
      expect(runTraceStatements(groups, { resource: { 'service.name': 'gateway' }, spans: [envoySpan(undefined)] }).resource['service.name']).toBe('gateway');
      expect(runTraceStatements(groups, { resource: { 'service.name': 'job.batch' }, spans: [envoySpan('unknown')] }).resource['service.name']).toBe('job.batch');
    });

    test('uses only set, on the span context', () => {
      expect(functionsOf(groups.flatMap((g: { statements: string[] }) => g.statements))).toEqual(['set']);
      expect(config.processors['transform/sidecar-service-name'].error_mode).toBe('ignore');
    });
  });

  describe('metric labels: service-level resource attributes only (transform/metric-resource)', () => {
    const { config } = render();
    const groups = config.processors['transform/metric-resource'].metric_statements;
    const pod = {
      'service.name': 'checkout', 'service.version': '1.4.2', 'deployment.environment': 'prod', 'obs_canary.track': 'canary',
      'k8s.cluster.name': 'prod-eu', 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'checkout-7d9f8-x2k4q', 'k8s.pod.uid': '5b0e…',
      'k8s.node.name': 'node-3', 'k8s.deployment.name': 'checkout-canary', 'host.name': 'checkout-7d9f8-x2k4q', 'process.pid': 1,
      'process.command_args': ['node', 'main.js'], 'telemetry.sdk.version': '3.1.1', 'container.id': 'c0ffee',
    };

    test('per-pod attributes go; service, version, track, environment, cluster and namespace stay; the pod is the instance', () => {
      expect(runResourceStatements(groups, { ...pod })).toEqual({
        'service.name': 'checkout', 'service.version': '1.4.2', 'deployment.environment': 'prod', 'obs_canary.track': 'canary',
        'k8s.cluster.name': 'prod-eu', 'k8s.namespace.name': 'shop', 'service.instance.id': 'shop.checkout-7d9f8-x2k4q',
      });
    });

    test('a service.instance.id the SDK set is kept as it is', () => {
      expect(runResourceStatements(groups, { ...pod, 'service.instance.id': 'a1b2' })['service.instance.id']).toBe('a1b2');
    });

    test('remote write makes labels of what is left, service.name and .instance.id only as job and instance', () => {
      expect(config.exporters.prometheus_remote_write.resource_to_telemetry_conversion).toEqual({ enabled: true, exclude_service_attributes: true });
      expect(functionsOf(groups.flatMap((g: { statements: string[] }) => g.statements))).toEqual(['Concat', 'keep_matching_keys', 'set']);
    });
  });

  describe('props', () => {
    test('replicas > 1 get a disruption budget and spread', () => {
      const { all, pod } = render({ replicas: 2 });
      expect(ofKind(all, 'PodDisruptionBudget')).toHaveLength(1);
      expect(pod.topologySpreadConstraints).toHaveLength(2);
    });

    test('samplingPercent, clusterName, resources', () => {
      const { config, container } = render({
        samplingPercent: 25, clusterName: 'prod',
        resources: { cpuRequestMillis: 1, cpuLimitMillis: 2, memoryRequest: Size.mebibytes(100), memoryLimit: Size.mebibytes(200) },
      });
      expect(config.processors.probabilistic_sampler.sampling_percentage).toBe(25);
      expect(config.processors['resource/cluster'].attributes).toEqual([{ key: 'k8s.cluster.name', value: 'prod', action: 'upsert' }]);
      expect(container.env).toContainEqual({ name: 'GOMEMLIMIT', value: '160MiB' });
    });
  });

  describe('validation', () => {
    test.each([0, -1, 101])('fails if samplingPercent is %p', samplingPercent => {
      expect(() => render({ samplingPercent })).toThrow(`'samplingPercent' must be more than 0 and at most 100, got ${samplingPercent}`);
    });
    test('fails if replicas is out of range', () => {
      expect(() => render({ replicas: 0 })).toThrow("[test/Collector] 'replicas' must be an integer from 1 to 20, got 0");
    });
    test('fails on a Tempo endpoint with a scheme, or a Loki URL without /otlp', () => {
      expect(() => render({ tempoOtlpGrpcEndpoint: 'http://tempo:4317' })).toThrow("'tempoOtlpGrpcEndpoint' must be host:port without a scheme");
      expect(() => render({ lokiOtlpUrl: 'http://loki:3100/otlp/v1/logs' })).toThrow("'lokiOtlpUrl' must end in /otlp (the exporter appends /v1/logs)");
    });
    test('fails outside a namespaced chart', () => {
      expect(() => new OtelCollector(new Chart(testApp(), 'c'), 'C', TARGETS)).toThrow('OtelCollector must be placed in a chart with a namespace');
    });
  });
});
