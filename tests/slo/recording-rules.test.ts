import { stringify } from 'yaml';
import { RecordingRule, RuleGroup } from '../../lib/constructs/prometheus-config';
import { Services } from '../../lib/services/catalog';
import {
  BURN_RATE_WINDOWS, SLO_BURN_RECORDS, SLO_CALLER_RECORDS, SLO_RECORDS, SUMMED_WINDOWS, SloSource, sloRecordingRules, sloRuleGroupName, sloSourceOf,
} from '../../lib/slo/recording-rules';
import { successRatio } from '../../lib/dashboards/private/promql';
import { ISTIO, ISTIO_OUTCOMES } from '../../lib/slo/vocabulary';
import { promtoolCheckRules, promtoolTestRules } from '../support/promtool';
import { LEDGER, QUOTES, REPO_SERVICES, SERVICE_FILE_NAMES, WITH_LEDGER, without } from './services';

const ISTIO_RECORDS: readonly string[] = [
  SLO_RECORDS.istioRequestRate, SLO_RECORDS.istioSuccessRatio, SLO_RECORDS.istioLatencyP95, SLO_RECORDS.istioLatencyP99,
];
const HTTP_RECORDS = [SLO_RECORDS.httpRequestRate, SLO_RECORDS.httpSuccessRatio, SLO_RECORDS.httpLatencyP95, SLO_RECORDS.httpLatencyP99];
/** The burn-rate records of a source of its own (the callers' two are Istio's for every source). */
const ownBurnRecords = (source: SloSource): string[] => {
  const r = SLO_BURN_RECORDS[source];
  return [
    r.trackRequestRate, r.trackErrorRate, ...BURN_RATE_WINDOWS.map(w => r.trackErrorRatio[w]), ...BURN_RATE_WINDOWS.map(w => r.serviceErrorRatio[w]),
    r.serviceErrors1h, r.serviceLatencyP95, r.serviceLatencyP99,
  ];
};
/** The burn-rate records of a source, in the order they are rendered. */
const burnRecords = (source: SloSource): string[] => {
  const [trackRequestRate, trackErrorRate, ...rest] = ownBurnRecords(source);
  return [trackRequestRate, trackErrorRate, SLO_CALLER_RECORDS.requestRate, SLO_CALLER_RECORDS.errorRate, ...rest];
};
const ALL_BURN_RECORDS = [...ownBurnRecords('istio'), ...ownBurnRecords('http')];

const groupOf = (groups: readonly RuleGroup[], service: string): RuleGroup => {
  const found = groups.filter(g => g.name === sloRuleGroupName(service));
  if (found.length !== 1) throw new Error(`expected one group for ${service}, found ${found.length}`);
  return found[0];
};
const rulesOf = (groups: readonly RuleGroup[], service: string): RecordingRule[] => groupOf(groups, service).rules as RecordingRule[];
/** The expression a service's group records under `record`, on one line. */
const expr = (groups: readonly RuleGroup[], service: string, record: string): string =>
  rulesOf(groups, service).find(r => r.record === record)!.expr.replace(/\s+/g, ' ');
const allRules = (groups: readonly RuleGroup[]): RecordingRule[] => groups.flatMap(g => g.rules as RecordingRule[]);

describe('sloRecordingRules', () => {
  const repo = sloRecordingRules(REPO_SERVICES);
  const withLedger = sloRecordingRules(WITH_LEDGER);

  describe('one group per service file', () => {
    test('a group slo-<name> exactly for each file under services/, in name order', () => {
      expect(SERVICE_FILE_NAMES.length).toBeGreaterThan(0);
      expect(repo.map(g => g.name)).toEqual(SERVICE_FILE_NAMES.map(sloRuleGroupName));
      expect(sloRuleGroupName('gateway')).toBe('slo-gateway');
    });

    test('an added service adds its group, and name order holds whatever the order of the object', () => {
      expect(withLedger.map(g => g.name)).toEqual(['slo-backend', 'slo-gateway', 'slo-ledger']);
      const shuffled: Services = { ledger: LEDGER, gateway: REPO_SERVICES.gateway, backend: REPO_SERVICES.backend };
      expect(sloRecordingRules(shuffled)).toEqual(withLedger);
    });

    test('removing backend removes every mention of it, and nothing else', () => {
      expect(JSON.stringify(repo)).toContain('backend');
      const rest = sloRecordingRules(without(REPO_SERVICES, 'backend'));
      expect(JSON.stringify(rest)).not.toContain('backend');
      expect(rest).toEqual(repo.filter(g => g.name !== 'slo-backend'));
    });

    test('no services, no groups', () => {
      expect(sloRecordingRules({})).toEqual([]);
    });

    test('every record name is one of SLO_RECORDS or of the SLO source\'s SLO_BURN_RECORDS, and each is recorded', () => {
      expect([...new Set(allRules(repo).map(r => r.record))].sort()).toEqual([...Object.values(SLO_RECORDS), ...burnRecords('istio')].sort());
      expect(new Set(sloRecordingRules({ quotes: QUOTES }).flatMap(g => g.rules as RecordingRule[]).map(r => r.record)))
        .toEqual(new Set([...Object.values(SLO_RECORDS), ...burnRecords('http')]));
    });
  });

  describe('Istio rules, for every service', () => {
    test.each(['backend', 'gateway', 'ledger'])('%s: the four Istio records, from the destination reporter, of its two workloads in its namespace', name => {
      const { namespace } = WITH_LEDGER[name];
      // pinned requests left out, as the gate leaves them out
      const selector = `reporter="destination",destination_workload_namespace="${namespace}",destination_workload=~"${name}-stable|${name}-canary",canary_pin!="always"`;
      const by = 'destination_workload_namespace, destination_workload, destination_app, destination_version';
      const all = `sum by (${by}) (rate(istio_requests_total{${selector}}[5m]))`;
      expect(ISTIO_RECORDS.map(record => expr(withLedger, name, record))).toEqual([
        all,
        `sum by (${by}) (rate(istio_requests_total{${selector},response_code!~"5..",grpc_response_status!~"2|4|12|13|14|15"}[5m])) / ${all} or ${all} * 0`,
        `histogram_quantile(0.95, sum by (${by}, le) (rate(istio_request_duration_milliseconds_bucket{${selector}}[5m])))`,
        `histogram_quantile(0.99, sum by (${by}, le) (rate(istio_request_duration_milliseconds_bucket{${selector}}[5m])))`,
      ]);
    });

    test('the Istio names are the vocabulary\'s', () => {
      const istio = allRules(withLedger).filter(r => ISTIO_RECORDS.includes(r.record));
      expect(istio).toHaveLength(12);
      for (const { expr: e } of istio) expect(e.includes(ISTIO.requests) || e.includes(ISTIO.durationBucket)).toBe(true);
    });

    test('the ledger (Istio metrics only) gets the Istio rules and nothing else, in namespace payments', () => {
      const ledger = rulesOf(withLedger, 'ledger');
      expect(ledger.map(r => r.record)).toEqual([...ISTIO_RECORDS, ...burnRecords('istio')]);
      for (const r of ledger) {
        // its own series, or its callers' (by the Service they called)
        expect(r.expr).toMatch(/destination_(workload|service)_namespace="payments"/);
        expect(r.expr).not.toMatch(/http_|namespace="apps"/);
      }
    });
  });

  describe('the services\' own metrics, for services that declare metrics.http', () => {
    test('gateway and backend declare them and get the four http records after the Istio ones', () => {
      for (const name of ['backend', 'gateway']) {
        expect(rulesOf(repo, name).map(r => r.record)).toEqual([...ISTIO_RECORDS, ...HTTP_RECORDS, ...burnRecords('istio')]);
      }
    });

    test('gateway: its metric names and code label, its namespace and app, its probe routes left out', () => {
      const sel = 'namespace="apps",app="gateway",route!~"/healthz|/readyz|/metrics"';
      const all = `sum by (namespace, app, version) (rate(http_requests_total{${sel}}[5m]))`;
      expect(HTTP_RECORDS.map(record => expr(repo, 'gateway', record))).toEqual([
        all,
        `sum by (namespace, app, version) (rate(http_requests_total{${sel},status_code!~"5.."}[5m])) / ${all} or ${all} * 0`,
        `histogram_quantile(0.95, sum by (namespace, app, version, le) (rate(http_request_duration_seconds_bucket{${sel}}[5m])))`,
        `histogram_quantile(0.99, sum by (namespace, app, version, le) (rate(http_request_duration_seconds_bucket{${sel}}[5m])))`,
      ]);
    });

    test('a service with other metric names: its names, code label and routes, the histogram in its own unit (ms)', () => {
      const groups = sloRecordingRules({ quotes: QUOTES });
      const sel = 'namespace="pricing",app="quotes",handler!~"/ping|/metrics\\\\.json"';
      const all = `sum by (namespace, app, version) (rate(quotes_served_total{${sel}}[5m]))`;
      expect(HTTP_RECORDS.map(record => expr(groups, 'quotes', record))).toEqual([
        all,
        `sum by (namespace, app, version) (rate(quotes_served_total{${sel},code!~"5.."}[5m])) / ${all} or ${all} * 0`,
        `histogram_quantile(0.95, sum by (namespace, app, version, le) (rate(quotes_latency_ms_bucket{${sel}}[5m])))`,
        `histogram_quantile(0.99, sum by (namespace, app, version, le) (rate(quotes_latency_ms_bucket{${sel}}[5m])))`,
      ]);
      expect(JSON.stringify(groups)).not.toMatch(/http_requests_total|http_request_duration_seconds_bucket|status_code|route!~/);
    });

    test('without ignored routes, no route selector', () => {
      const http = { ...QUOTES.metrics.http!, routeLabel: undefined, ignoreRoutes: [] };
      const groups = sloRecordingRules({ quotes: { ...QUOTES, metrics: { source: 'http', http } } });
      expect(expr(groups, 'quotes', SLO_RECORDS.httpRequestRate))
        .toBe('sum by (namespace, app, version) (rate(quotes_served_total{namespace="pricing",app="quotes"}[5m]))');
    });
  });

  describe('burn-rate records, from the SLO\'s source only', () => {
    const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    test('the source is the file\'s analysis.metrics, else metrics.source', () => {
      expect(sloSourceOf(REPO_SERVICES.gateway)).toBe('istio');
      expect(sloSourceOf(QUOTES)).toBe('http');
      expect(sloSourceOf({ ...REPO_SERVICES.gateway, analysis: { metrics: 'http' } })).toBe('http');
    });

    test('gateway (Istio): a ratio of sums per track and of the service over 5m, 30m, 1h, 6h and 3d, 0 when there is traffic but no 5xx', () => {
      const selector = 'reporter="destination",destination_workload_namespace="apps",destination_workload=~"gateway-stable|gateway-canary",canary_pin!="always"';
      const failed = (by: string, w: string, sel = selector): string => `sum by (${by}) ((rate(istio_requests_total{${sel},response_code=~"5.."}[${w}])`
        + ` or rate(istio_requests_total{${sel},response_code!~"5..",grpc_response_status=~"2|4|12|13|14|15"}[${w}])))`;
      // the callers' failures: requests the service never answered, by Envoy's response flags, not any 5xx
      const unanswered = (by: string, w: string, sel: string): string =>
        `sum by (${by}) (rate(istio_requests_total{${sel},response_flags=~"(.*,)?(UH|UF|UC|UT|URX|UO)(,.*)?"}[${w}]))`;
      const ratio = (by: string, w: string, sel = selector, failures: (b: string, w2: string, s: string) => string = failed): string => {
        const all = `sum by (${by}) (rate(istio_requests_total{${sel}}[${w}]))`;
        return `( ${failures(by, w, sel)} or 0 * ${all} ) / ${all}`;
      };
      // the callers' view: what their sidecars report of the Service, named as the service's own series are
      const callers = (w: string): string => `label_replace( label_replace( ${ratio('destination_service_namespace, destination_service_name', w,
        'reporter="source",destination_service_namespace="apps",destination_service_name="gateway",canary_pin!="always"', unanswered)} , "destination_workload_namespace", "$1", `
        + '"destination_service_namespace", "(.*)") , "destination_app", "$1", "destination_service_name", "(.*)")';
      const service = 'destination_workload_namespace, destination_app';
      const track = 'destination_workload_namespace, destination_workload, destination_app, destination_version';
      for (const w of BURN_RATE_WINDOWS.filter(window => !SUMMED_WINDOWS.has(window))) {
        expect(expr(repo, 'gateway', SLO_BURN_RECORDS.istio.trackErrorRatio[w])).toBe(ratio(track, w));
        expect(expr(repo, 'gateway', SLO_BURN_RECORDS.istio.serviceErrorRatio[w])).toBe(`max by (${service}) ( ${ratio(service, w)} or ${callers(w)} )`);
      }
      expect(BURN_RATE_WINDOWS).toEqual(['5m', '30m', '1h', '6h', '3d']);

      // the long windows sum the 5-minute rates the group records first: the same failed series, by the same labels
      const callersBy = 'destination_service_namespace, destination_service_name';
      const callersSelector = 'reporter="source",destination_service_namespace="apps",destination_service_name="gateway",canary_pin!="always"';
      const { trackRequestRate, trackErrorRate } = SLO_BURN_RECORDS.istio;
      const records = [trackRequestRate, trackErrorRate, SLO_CALLER_RECORDS.requestRate, SLO_CALLER_RECORDS.errorRate];
      expect(records.map(r => expr(repo, 'gateway', r))).toEqual([
        `sum by (${track}) (rate(istio_requests_total{${selector}}[5m]))`, failed(track, '5m'),
        `sum by (${callersBy}) (rate(istio_requests_total{${callersSelector}}[5m]))`, unanswered(callersBy, '5m', callersSelector),
      ]);
      // each pair its own: a request-rate record with older history would make a ratio read low until the window passed
      expect(SLO_BURN_RECORDS.istio.trackRequestRate).not.toBe(SLO_RECORDS.istioRequestRate);
      const summed = (record: string, sel: string, by: string, w: string) => `sum by (${by}) (sum_over_time(${record}{${sel}}[${w}]))`;
      const summedRatio = (errors: string, all: string, sel: string, by: string, w: string) =>
        `( ${summed(errors, sel, by, w)} or 0 * ${summed(all, sel, by, w)} ) / ${summed(all, sel, by, w)}`;
      const own = 'destination_workload_namespace="apps",destination_app="gateway"';
      const seen = 'destination_service_namespace="apps",destination_service_name="gateway"';
      for (const w of ['6h', '3d'] as const) {
        expect(SUMMED_WINDOWS.has(w)).toBe(true);
        const trackRatio = summedRatio(SLO_BURN_RECORDS.istio.trackErrorRate, SLO_BURN_RECORDS.istio.trackRequestRate, own, track, w);
        expect(expr(repo, 'gateway', SLO_BURN_RECORDS.istio.trackErrorRatio[w])).toBe(trackRatio);
        const callersRatio = summedRatio(SLO_CALLER_RECORDS.errorRate, SLO_CALLER_RECORDS.requestRate, seen, callersBy, w);
        expect(expr(repo, 'gateway', SLO_BURN_RECORDS.istio.serviceErrorRatio[w])).toBe(`max by (${service}) ( `
          + `${summedRatio(SLO_BURN_RECORDS.istio.trackErrorRate, SLO_BURN_RECORDS.istio.trackRequestRate, own, service, w)} or label_replace( label_replace( ${callersRatio} , `
          + '"destination_workload_namespace", "$1", "destination_service_namespace", "(.*)") , "destination_app", "$1", "destination_service_name", "(.*)") )');
        // no counter is rated over a long window: every sample of every series, at every evaluation
        expect(allRules(repo).filter(r => r.expr.includes('rate(istio_requests_total{') && r.expr.includes(`[${w}]`))).toEqual([]);
      }
      expect(expr(repo, 'gateway', SLO_BURN_RECORDS.istio.serviceLatencyP95)).toBe(
        `histogram_quantile(0.95, sum by (destination_workload_namespace, destination_app, le) (rate(istio_request_duration_milliseconds_bucket{${selector}}[5m])))`);
    });

    test('quotes (its own metrics): its counter, code label and routes, by namespace, app and version', () => {
      const groups = sloRecordingRules({ quotes: QUOTES });
      const sel = 'namespace="pricing",app="quotes",handler!~"/ping|/metrics\\\\.json"';
      const all = `sum by (namespace, app) (rate(quotes_served_total{${sel}}[1h]))`;
      const own = `( sum by (namespace, app) (rate(quotes_served_total{${sel},code=~"5.."}[1h])) or 0 * ${all} ) / ${all}`;
      expect(expr(groups, 'quotes', SLO_BURN_RECORDS.http.serviceErrorRatio['1h']))
        .toMatch(new RegExp(`^max by \\(namespace, app\\) \\( ${escape(own)} or label_replace\\(`));
      // its callers' view keeps the service's own labels
      const ratio = expr(groups, 'quotes', SLO_BURN_RECORDS.http.serviceErrorRatio['1h']);
      expect(ratio).toContain('reporter="source",destination_service_namespace="pricing",destination_service_name="quotes"');
      expect(ratio.endsWith(', "namespace", "$1", "destination_service_namespace", "(.*)") , "app", "$1", "destination_service_name", "(.*)") )')).toBe(true);
      expect(expr(groups, 'quotes', SLO_BURN_RECORDS.http.trackErrorRatio['5m'])).toContain('sum by (namespace, app, version)');
      expect(JSON.stringify(groups)).not.toMatch(/(workload_version|app):istio_requests_errors:/);
      // its long windows sum its own records, by its own labels, with its error codes
      const service = 'namespace="pricing",app="quotes"';
      expect(expr(groups, 'quotes', SLO_BURN_RECORDS.http.serviceErrorRatio['3d'])).toMatch(new RegExp(String.raw`^max by \(namespace, app\) \( \( `
        + escape(`sum by (namespace, app) (sum_over_time(${SLO_BURN_RECORDS.http.trackErrorRate}{${service}}[3d])) or 0 * `
        + `sum by (namespace, app) (sum_over_time(${SLO_BURN_RECORDS.http.trackRequestRate}{${service}}[3d]))`)));
      expect(expr(groups, 'quotes', SLO_BURN_RECORDS.http.trackErrorRate)).toBe(
        `sum by (namespace, app, version) (rate(quotes_served_total{${sel},code=~"5.."}[5m]))`);
    });

    test.each([
      ['per cluster, a central Mimir', { perCluster: true, remoteWritten: true }, 'cluster, '],
      ['one cluster\'s Mimir', { remoteWritten: true }, ''],
    ])('on remote-written samples (%s): every window rates the counters, since samples may arrive late', (_, options, clusterBy) => {
      const rendered = sloRecordingRules(REPO_SERVICES, options);
      const records = allRules(rendered).map(r => r.record);
      for (const record of [SLO_BURN_RECORDS.istio.trackRequestRate, SLO_BURN_RECORDS.istio.trackErrorRate, ...Object.values(SLO_CALLER_RECORDS)]) {
        expect(records).not.toContain(record);
      }
      expect(allRules(rendered).map(r => r.expr).join('\n')).not.toContain('sum_over_time');
      expect(expr(rendered, 'gateway', SLO_BURN_RECORDS.istio.trackErrorRatio['3d']))
        .toMatch(new RegExp(`^\\( sum by \\(${clusterBy}destination_workload_namespace, .*rate\\(istio_requests_total\\{[^}]*\\}\\[3d\\]\\)`));
    });

    test('every burn-rate record name is distinct across the sources', () => {
      expect(new Set(ALL_BURN_RECORDS).size).toBe(ALL_BURN_RECORDS.length);
    });
  });

  test('every rule carries its service as a static label its series already have (destination_app or app)', () => {
    for (const group of withLedger) {
      const service = group.name.replace(/^slo-/, '');
      for (const r of group.rules as RecordingRule[]) {
        expect([r.record, r.labels]).toEqual([r.record, r.record.includes(':istio_') ? { destination_app: service } : { app: service }]);
      }
    }
  });

  test('the rule file has no YAML anchors or aliases: each rule\'s labels are its own', () => {
    const text = stringify({ groups: withLedger });
    expect(text).not.toMatch(/[&*]a\d/);
    expect(text).toContain('destination_app: ledger');
  });

  test('fails if a service is keyed by another name', () => {
    expect(() => sloRecordingRules({ payments: LEDGER }))
      .toThrow('sloRecordingRules: \'services.payments\' has \'name\' "ledger": key each service by its name, as loadServices does');
  });

  describe('promtool (Debian\'s 2.42)', () => {
    test.each<[string, Services]>([
      ['the repository\'s services', REPO_SERVICES],
      ['with the ledger and a service of other metric names', { ...WITH_LEDGER, quotes: QUOTES }],
    ])('check rules accepts %s, duplicate-rule lint included', (_, services) => {
      const groups = sloRecordingRules(services);
      expect(promtoolCheckRules(groups)).toContain(`SUCCESS: ${allRules(groups).length} rules found`);
    });

    test('the static labels are what keep promtool\'s duplicate-rule lint quiet (the check can fail)', () => {
      const unlabelled = sloRecordingRules(REPO_SERVICES).map(g => ({ ...g, rules: (g.rules as RecordingRule[]).map(({ labels: _, ...r }) => r) }));
      // 2.42's lint is not fatal: it exits 0 but prints its finding on stderr instead of SUCCESS on stdout
      expect(promtoolCheckRules(unlabelled)).not.toContain('SUCCESS');
    });

    test('a canary that fails every request records a success ratio of 0, not nothing; the canary dashboard\'s stat shows it too', () => {
      const destination = (workload: string, version: string, code: string) => 'istio_requests_total{reporter="destination",'
        + `destination_workload_namespace="apps",destination_workload="${workload}",destination_app="gateway",destination_version="${version}",`
        + `response_code="${code}"}`;
      const by = [ISTIO.workloadNamespace, ISTIO.workload, ISTIO.app, ISTIO.version];
      const stat = successRatio({ metric: ISTIO.requests, matchers: [`${ISTIO.reporter}="destination"`], outcomes: ISTIO_OUTCOMES, by, window: '5m' },
        [`${ISTIO.reporter}="source"`]);
      const expected = [
        { labels: '{destination_app="gateway",destination_version="canary",destination_workload="gateway-canary",destination_workload_namespace="apps"}', value: 0 },
        { labels: '{destination_app="gateway",destination_version="stable",destination_workload="gateway-stable",destination_workload_namespace="apps"}', value: 1 },
      ];
      expect(promtoolTestRules(repo, [{
        name: 'stable answers 200s, the canary only 503s',
        interval: '1m',
        input_series: [
          { series: destination('gateway-stable', 'stable', '200'), values: '0+60x20' },
          { series: destination('gateway-canary', 'canary', '503'), values: '0+6x20' },
        ],
        promql_expr_test: [
          { expr: SLO_RECORDS.istioSuccessRatio, eval_time: '10m', exp_samples: expected.map(s => ({ ...s, labels: `${SLO_RECORDS.istioSuccessRatio}${s.labels}` })) },
          { expr: stat, eval_time: '10m', exp_samples: expected },
        ],
      }])).toContain('SUCCESS');
      // a workload whose series are there but idle (a canary just removed): no ratio on the panel, not NaN
      expect(promtoolTestRules([], [{
        name: 'stable answers 200s; the old canary\'s counter stands still',
        interval: '1m',
        input_series: [
          { series: destination('gateway-stable', 'stable', '200'), values: '0+60x20' },
          { series: destination('gateway-canary', 'canary', '200'), values: '120x20' },
        ],
        promql_expr_test: [{ expr: stat, eval_time: '10m', exp_samples: [expected[1]] }],
      }])).toContain('SUCCESS');
    });

    test('the canary dashboard\'s stat counts as the gate does: failures only the callers saw count as requests and as failures, once', () => {
      const labels = (reporter: string, workload: string, version: string, code: string) => `istio_requests_total{reporter="${reporter}",`
        + `destination_workload_namespace="apps",destination_workload="${workload}",destination_app="gateway",destination_version="${version}",`
        + `response_code="${code}"}`;
      const by = [ISTIO.workloadNamespace, ISTIO.workload, ISTIO.app, ISTIO.version];
      const stat = successRatio({ metric: ISTIO.requests, matchers: [`${ISTIO.reporter}="destination"`], outcomes: ISTIO_OUTCOMES, by, window: '5m' },
        [`${ISTIO.reporter}="source"`]);
      const at = (workload: string, version: string, value: number) => ({
        labels: `{destination_app="gateway",destination_version="${version}",destination_workload="${workload}",destination_workload_namespace="apps"}`, value,
      });
      expect(promtoolTestRules([], [{
        name: 'the canary answers 1 request/s, its callers see 1/s more fail (a crashing pod); stable\'s 2 failures/s both sides saw',
        interval: '1m',
        input_series: [
          { series: labels('destination', 'gateway-canary', 'canary', '200'), values: '0+60x20' },
          { series: labels('source', 'gateway-canary', 'canary', '503'), values: '0+60x20' },
          { series: labels('destination', 'gateway-stable', 'stable', '200'), values: '0+480x20' },
          { series: labels('destination', 'gateway-stable', 'stable', '503'), values: '0+120x20' },
          { series: labels('source', 'gateway-stable', 'stable', '503'), values: '0+120x20' },
        ],
        // the gate: 2 requests/s of the canary, half failed; stable 10, 2 failed (its own view alone read the canary as 1)
        promql_expr_test: [{ expr: stat, eval_time: '10m', exp_samples: [at('gateway-canary', 'canary', 0.5), at('gateway-stable', 'stable', 0.8)] }],
      }])).toContain('SUCCESS');
    });

    test('rejects a broken rule (the check can fail)', () => {
      expect(() => promtoolCheckRules([{ name: 'g', rules: [{ record: 'x:y:z', expr: 'sum(rate(x[5m])' }] }])).toThrow(/promtool check rules failed/);
    });
  });
});
