import { AlertingRule, RuleGroup } from '../../lib/constructs/prometheus-config';
import { DELIVERY_DEFAULTS } from '../../lib/rollout/defaults';
import { SloSettings } from '../../lib/rollout/state';
import { Services } from '../../lib/services/catalog';
import {
  BURN_RATE_ALERTS, LATENCY_FOR, PAGE_MIN_ERRORS, SLO_ALERTS, burnRateFactor, sloAlertRuleGroupName, sloAlertingRules,
} from '../../lib/slo/alerting-rules';
import {
  GateCronJob, PIPELINE_ALERTS, PIPELINE_RULE_GROUP, REPLICA_ALERTS, WATCHDOG_ALERT, gateStalledAfterMinutes, pipelineAlertingRules,
} from '../../lib/slo/pipeline-alerts';

/** The environment the rules watch, which their runbooks' commands name. */
const ENVIRONMENT = 'prod';
const GATE_LOOP: GateCronJob = { namespace: 'observability', cronJob: 'canary-gate', intervalMinutes: 2, environment: ENVIRONMENT };
import { SLO_BURN_RECORDS, SLO_RECORDS, sloRecordingRules } from '../../lib/slo/recording-rules';
import { ISTIO_DURATION_BUCKETS_MS } from '../../lib/slo/vocabulary';
import { PromtoolTestCase, promtoolCheckRules, promtoolTestRules } from '../support/promtool';
import { LEDGER, QUOTES, REPO_SERVICES, SERVICE_FILE_NAMES, WITH_LEDGER, without } from './services';

/** The SLO of the scenarios: 99 % over 30 days, so the fast burn pages above a 14.4 % error ratio, the slow one above 6 %. */
const SLO: SloSettings = { successRatio: 0.99, p95LatencyMs: 300, p99LatencyMs: 1000, period: '30d' };
const sloOf = (): SloSettings => SLO;

const rulesOf = (groups: readonly RuleGroup[], service: string): AlertingRule[] =>
  groups.find(g => g.name === sloAlertRuleGroupName(service))!.rules as AlertingRule[];
const ruleNamed = (groups: readonly RuleGroup[], service: string, alert: string): AlertingRule =>
  rulesOf(groups, service).find(r => r.alert === alert)!;

describe('burnRateFactor', () => {
  test.each<[number, string, string, number]>([
    [2, '30d', '1h', 14.4],
    [5, '30d', '6h', 6],
    [2, '7d', '1h', 3.36],
    [5, '7d', '6h', 1.4],
    [2, '4w2d', '1h', 14.4],
  ])('%s %% of a %s budget in %s: %s', (percent, period, window, factor) => {
    expect(burnRateFactor(percent, period, window)).toBe(factor);
  });

  test('fails if the period is not a duration', () => {
    expect(() => burnRateFactor(2, '30 days', '1h')).toThrow(/^'slo.period' must be a duration/);
  });
});

describe('sloAlertingRules', () => {
  const repo = sloAlertingRules(REPO_SERVICES, sloOf, ENVIRONMENT);

  test('a group slo-alerts-<name> for each file under services/, in name order; none without services', () => {
    expect(repo.map(g => g.name)).toEqual(SERVICE_FILE_NAMES.map(sloAlertRuleGroupName));
    expect(sloAlertRuleGroupName('gateway')).toBe('slo-alerts-gateway');
    expect(sloAlertingRules({}, sloOf, ENVIRONMENT)).toEqual([]);
    expect(sloAlertingRules(without(REPO_SERVICES, 'backend'), sloOf, ENVIRONMENT)).toEqual(repo.filter(g => g.name !== 'slo-alerts-backend'));
  });

  test('every service: fast burn (page), slow and steady burns (tickets), p95 and p99 (tickets, for 10m), each with its labels and annotations', () => {
    for (const group of sloAlertingRules(WITH_LEDGER, sloOf, ENVIRONMENT)) {
      const service = group.name.replace(/^slo-alerts-/, '');
      const rules = group.rules as AlertingRule[];
      expect(rules.map(r => [r.alert, r.labels, r.for])).toEqual([
        [SLO_ALERTS.fastBurn, { severity: 'page', service }, undefined],
        [SLO_ALERTS.slowBurn, { severity: 'ticket', service }, undefined],
        [SLO_ALERTS.steadyBurn, { severity: 'ticket', service }, undefined],
        [SLO_ALERTS.latencyP95, { severity: 'ticket', service }, LATENCY_FOR],
        [SLO_ALERTS.latencyP99, { severity: 'ticket', service }, LATENCY_FOR],
      ]);
      for (const r of rules) {
        expect(Object.keys(r.annotations ?? {})).toEqual(['summary', 'description', 'runbook']);
        expect(r.annotations!.summary).toContain(service);
        expect(r.annotations!.description).toContain(service);
      }
    }
  });

  test('the burn rates pair 1h with 5m, 6h with 30m and 3d with 6h (the workbook\'s 14.4, 6 and 1), on the service-level error ratios', () => {
    const ratio = SLO_BURN_RECORDS.istio.serviceErrorRatio;
    const sel = '{destination_workload_namespace="apps",destination_app="gateway"}';
    // the page needs a few failed requests too: on a quiet service one failure is a 100 % ratio in both windows
    expect(ruleNamed(repo, 'gateway', SLO_ALERTS.fastBurn).expr)
      .toBe(`${ratio['1h']}${sel} > (14.4 * (1 - 0.99))\nand\n${ratio['5m']}${sel} > (14.4 * (1 - 0.99))\nand\n`
        + `${SLO_BURN_RECORDS.istio.serviceErrors1h}${sel} >= ${PAGE_MIN_ERRORS}`);
    expect(ruleNamed(repo, 'gateway', SLO_ALERTS.slowBurn).expr)
      .toBe(`${ratio['6h']}${sel} > (6 * (1 - 0.99))\nand\n${ratio['30m']}${sel} > (6 * (1 - 0.99))`);
    expect(ruleNamed(repo, 'gateway', SLO_ALERTS.steadyBurn).expr)
      .toBe(`${ratio['3d']}${sel} > (1 * (1 - 0.99))\nand\n${ratio['6h']}${sel} > (1 * (1 - 0.99))`);
    expect(BURN_RATE_ALERTS.map(a => [a.long, a.short])).toEqual([['1h', '5m'], ['6h', '30m'], ['3d', '6h']]);
  });

  test('the objective and the period come from the SLO; another period scales the factors', () => {
    const groups = sloAlertingRules({ gateway: REPO_SERVICES.gateway }, () => ({ ...SLO, successRatio: 0.995, period: '7d' }), ENVIRONMENT);
    expect(ruleNamed(groups, 'gateway', SLO_ALERTS.fastBurn).expr).toContain('> (3.36 * (1 - 0.995))');
    expect(ruleNamed(groups, 'gateway', SLO_ALERTS.slowBurn).expr).toContain('> (1.4 * (1 - 0.995))');
    expect(ruleNamed(groups, 'gateway', SLO_ALERTS.fastBurn).annotations!.description).toContain('2 % of the 7d error budget goes in 1h');
  });

  test('the steady burn is a burn rate of 1 whatever the period: above it the budget runs out before the period ends, below it never', () => {
    for (const [period, spent] of [['7d', '42.9'], ['30d', '10'], ['90d', '3.33']]) {
      const groups = sloAlertingRules({ gateway: REPO_SERVICES.gateway }, () => ({ ...SLO, successRatio: 0.99, period }), ENVIRONMENT);
      const steady = ruleNamed(groups, 'gateway', SLO_ALERTS.steadyBurn);
      expect([period, steady.expr]).toEqual([period, expect.stringContaining('> (1 * (1 - 0.99))')]);
      expect(steady.annotations!.description).toContain(`at this rate ${spent} % of the ${period} error budget goes in 3d`);
    }
  });

  test('without a period, the defaults\' 30d', () => {
    expect(DELIVERY_DEFAULTS.slo.period).toBe('30d');
    const { period: _, ...noPeriod } = SLO;
    expect(sloAlertingRules(REPO_SERVICES, () => noPeriod, ENVIRONMENT)).toEqual(repo);
  });

  test('with the address of each service\'s dashboard, every alert links it; without one, none does', () => {
    const linked = sloAlertingRules(REPO_SERVICES, sloOf, ENVIRONMENT, name => `https://grafana.example.com/d/canary-${name}`);
    for (const group of linked) {
      const service = group.name.replace('slo-alerts-', '');
      expect((group.rules as AlertingRule[]).map(r => r.annotations?.dashboard)).toEqual(group.rules.map(() => `https://grafana.example.com/d/canary-${service}`));
    }
    expect(repo.flatMap(g => g.rules as AlertingRule[]).some(r => r.annotations?.dashboard !== undefined)).toBe(false);
  });

  test('without p99LatencyMs, no p99 alert', () => {
    const { p99LatencyMs: _, ...noP99 } = SLO;
    expect(rulesOf(sloAlertingRules(REPO_SERVICES, () => noP99, ENVIRONMENT), 'gateway').map(r => r.alert)).not.toContain(SLO_ALERTS.latencyP99);
  });

  test('a service whose SLO source is its own metrics: the http records, its labels, the limit in the histogram\'s unit', () => {
    const seconds = { ...REPO_SERVICES.backend, metrics: { ...REPO_SERVICES.backend.metrics, source: 'http' as const } };
    const groups = sloAlertingRules({ backend: seconds, quotes: QUOTES }, sloOf, ENVIRONMENT);
    expect(ruleNamed(groups, 'backend', SLO_ALERTS.latencyP95).expr)
      .toBe(`${SLO_BURN_RECORDS.http.serviceLatencyP95}{namespace="apps",app="backend"} > 0.3`);
    expect(ruleNamed(groups, 'quotes', SLO_ALERTS.latencyP95).expr)
      .toBe(`${SLO_BURN_RECORDS.http.serviceLatencyP95}{namespace="pricing",app="quotes"} > 300`);
    expect(ruleNamed(groups, 'quotes', SLO_ALERTS.fastBurn).expr).toContain(`${SLO_BURN_RECORDS.http.serviceErrorRatio['1h']}{namespace="pricing",app="quotes"}`);
  });

  test('fails if an objective and period make a threshold unreachable (an error ratio of 1 or more)', () => {
    expect(() => sloAlertingRules({ ledger: LEDGER }, () => ({ ...SLO, successRatio: 0.9 }), ENVIRONMENT))
      .toThrow('sloAlertingRules: services/ledger.yaml: \'slo.successRatio\' 0.9 over \'slo.period\' 30d makes the SloErrorBudgetFastBurn threshold '
        + '14.4 × 0.1, an error ratio of 1 or more that no service reaches: raise successRatio above 0.930556 or shorten slo.period (at least 7d)');
  });

  test('fails if a service is keyed by another name', () => {
    expect(() => sloAlertingRules({ payments: LEDGER }, sloOf, ENVIRONMENT))
      .toThrow('sloAlertingRules: \'services.payments\' has \'name\' "ledger": key each service by its name, as loadServices does');
  });
});

describe('pipelineAlertingRules', () => {
  test('in Mimir\'s ruler: its own rule-evaluation counter, and no alert on a TSDB that agents do not keep', () => {
    const mimir = pipelineAlertingRules('alloy', 'mimir').rules as ReadonlyArray<{ alert: string; expr: string }>;
    expect(mimir.find(r => r.alert === PIPELINE_ALERTS.ruleEvaluationFailures)?.expr)
      .toBe('sum by (cluster, rule_group) (rate(cortex_prometheus_rule_evaluation_failures_total[5m])) > 0');
    expect(mimir.map(r => r.alert)).not.toContain(PIPELINE_ALERTS.retentionBySize);
    const prometheus = pipelineAlertingRules('alloy').rules as ReadonlyArray<{ alert: string; expr: string }>;
    expect(prometheus.find(r => r.alert === PIPELINE_ALERTS.ruleEvaluationFailures)?.expr)
      .toBe('sum by (cluster, rule_group) (rate(prometheus_rule_evaluation_failures_total[5m])) > 0');
    expect(prometheus.map(r => r.alert)).toContain(PIPELINE_ALERTS.retentionBySize);
  });

  test('the watchdog: always firing on Prometheus; on Mimir\'s ruler, only while the store answers with samples (promtool)', () => {
    const watchdog = (store: 'prometheus' | 'mimir') => pipelineAlertingRules(undefined, store, undefined, true).rules
      .filter(r => (r as AlertingRule).alert === WATCHDOG_ALERT) as AlertingRule[];
    expect(watchdog('prometheus').map(r => r.expr)).toEqual(['vector(1)']);
    expect(pipelineAlertingRules(undefined, 'mimir').rules.map(r => (r as AlertingRule).alert)).not.toContain(WATCHDOG_ALERT);
    const [rule] = watchdog('mimir');
    // Mimir's read path failing fails every rule that reads data: the watchdog reads some, so the heartbeat stops as well
    const firing = { exp_labels: rule.labels!, exp_annotations: rule.annotations! };
    expect(promtoolTestRules([{ name: 'heartbeat', rules: [rule] }], [
      { name: 'samples', interval: '1m', input_series: [{ series: 'up{job="loki",cluster="observability"}', values: '1x10' }],
        alert_rule_test: [{ eval_time: '5m', alertname: WATCHDOG_ALERT, exp_alerts: [firing] }] },
      { name: 'no samples within the lookback', interval: '1m', input_series: [{ series: 'up{job="loki",cluster="observability"}', values: '1x2' }],
        alert_rule_test: [{ eval_time: '10m', alertname: WATCHDOG_ALERT, exp_alerts: [] }] },
    ])).toContain('SUCCESS');
  });

  const group = pipelineAlertingRules(undefined, 'prometheus', GATE_LOOP);
  const rules = group.rules as AlertingRule[];

  test('one group, pipeline, with every alert of PIPELINE_ALERTS once, in its order', () => {
    expect(group.name).toBe(PIPELINE_RULE_GROUP);
    expect(rules.map(r => r.alert)).toEqual(Object.values(PIPELINE_ALERTS));
  });

  test('the gate\'s loop is watched only where it runs in the cluster, after five ticks and at least half an hour', () => {
    expect(pipelineAlertingRules().rules.map(r => (r as AlertingRule).alert)).not.toContain(PIPELINE_ALERTS.canaryGateStalled);
    expect(gateStalledAfterMinutes({ ...GATE_LOOP, intervalMinutes: 2 })).toBe(30);
    expect(gateStalledAfterMinutes({ ...GATE_LOOP, intervalMinutes: 10 })).toBe(50);
  });

  test('each alert: severity page or ticket, a component, and summary, description and runbook', () => {
    for (const r of rules) {
      expect(['page', 'ticket']).toContain(r.labels?.severity);
      expect(r.labels?.component).toMatch(/\S/);
      expect(Object.keys(r.annotations ?? {})).toEqual(['summary', 'description', 'runbook']);
    }
  });

  test('every aggregation keeps the cluster: a central Alertmanager groups per cluster, and the notification names it', () => {
    const aggregations = rules.flatMap(r => [...r.expr.matchAll(/\b(?:sum|max|min) by \(([^)]*)\)/g)].map(m => [r.alert, m[1]]));
    expect(aggregations.length).toBeGreaterThan(10);
    for (const [alert, by] of aggregations) expect([alert, by.split(', ')]).toEqual([alert, expect.arrayContaining(['cluster'])]);
  });

  test('the Collector\'s counters match with and without _total', () => {
    const refused = rules.find(r => r.alert === PIPELINE_ALERTS.collectorRefusing)!.expr;
    expect(refused).toContain('{__name__=~"otelcol_receiver_refused_(spans|metric_points|log_records)(_total)?"}');
  });
});

describe('promtool (Debian\'s 2.42)', () => {
  const all = [...sloRecordingRules(REPO_SERVICES), ...sloAlertingRules(REPO_SERVICES, sloOf, ENVIRONMENT), pipelineAlertingRules()];
  // the scenarios are gateway's: its groups alone keep promtool to a few seconds
  const recording = sloRecordingRules({ gateway: REPO_SERVICES.gateway });
  const alerting = sloAlertingRules({ gateway: REPO_SERVICES.gateway }, sloOf, ENVIRONMENT);

  test('check rules accepts the recording and alerting rules together', () => {
    expect(promtoolCheckRules(all)).toContain(`SUCCESS: ${all.flatMap(g => g.rules).length} rules found`);
  });

  /** A counter sampled every minute: `[minutes, increase per minute]` segments, from 0. */
  const counter = (...segments: ReadonlyArray<readonly [number, number]>): string => {
    const values = [0];
    for (const [minutes, perMinute] of segments) {
      for (let i = 0; i < minutes; i++) values.push(values[values.length - 1] + perMinute);
    }
    return values.join(' ');
  };
  const ISTIO_LABELS = (track: string) =>
    `reporter="destination",destination_workload_namespace="apps",destination_workload="gateway-${track}",destination_app="gateway",destination_version="${track}"`;
  /** Requests of gateway's track per minute: `[minutes, ok, errors]` segments. */
  const requests = (track: string, ...segments: ReadonlyArray<readonly [number, number, number]>) => [
    { series: `istio_requests_total{${ISTIO_LABELS(track)},response_code="200"}`, values: counter(...segments.map(([m, ok]) => [m, ok] as const)) },
    { series: `istio_requests_total{${ISTIO_LABELS(track)},response_code="503"}`, values: counter(...segments.map(([m, , err]) => [m, err] as const)) },
  ];
  /** Fills `{{ $labels.x }}` as Prometheus does, for the expected annotations. */
  const expand = (text: string, labels: Readonly<Record<string, string>>): string =>
    text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '');
  /** The alert `alert` of the only group of `groups` that has it, as it fires on a series with `seriesLabels`. */
  const fired = (groups: readonly RuleGroup[], alert: string, seriesLabels: Readonly<Record<string, string>>) => {
    const matching = groups.flatMap(g => g.rules as AlertingRule[]).filter(r => r.alert === alert);
    expect(matching).toHaveLength(1);
    const rule = matching[0];
    const labels = { ...seriesLabels, ...Object.fromEntries(Object.entries(rule.labels ?? {}).map(([k, v]) => [k, expand(v, seriesLabels)])) };
    return {
      exp_labels: labels,
      exp_annotations: Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, expand(v, labels)])),
    };
  };
  const GATEWAY = { destination_workload_namespace: 'apps', destination_app: 'gateway' };
  /** What the ingress gateway's sidecar reports of gateway's Service: `[code, response flags, values]` per series. */
  const ingressGateway = (workload: string, series: ReadonlyArray<readonly [string, string, string]>) => series.map(([code, flags, values]) => ({
    series: 'istio_requests_total{reporter="source",source_workload="istio-ingressgateway",destination_service_namespace="apps",destination_service_name="gateway",'
      + `destination_workload="${workload}",destination_workload_namespace="${workload === 'unknown' ? 'unknown' : 'apps'}",response_code="${code}",`
      + `response_flags="${flags}"}`,
    values,
  }));
  const expect_ = (groups: readonly RuleGroup[], alert: string, times: Readonly<Record<string, boolean>>) =>
    Object.entries(times).map(([eval_time, firing]) => ({ eval_time, alertname: alert, exp_alerts: firing ? [fired(groups, alert, GATEWAY)] : [] }));

  /** The scenarios, on gateway's group of `alerting` (the expected alerts are read from it). */
  const sloCases = (rendered: readonly RuleGroup[]): PromtoolTestCase[] => {
    const groups = rendered.filter(g => g.name === sloAlertRuleGroupName('gateway'));
    return [
    {
      name: 'a 20 % burn for an hour pages once the 1h window is above 14.4 %, and stops 5 minutes after it ends',
      interval: '1m',
      input_series: requests('stable', [60, 100, 0], [60, 80, 20], [30, 100, 0]),
      alert_rule_test: [
        // 30 minutes in, the hour holds 10 % errors: the 5m window alone is not enough; 55 minutes in, 18 %
        ...expect_(groups, SLO_ALERTS.fastBurn, { '90m': false, '115m': true, '120m': true, '130m': false }),
      ],
      promql_expr_test: [{
        expr: `round(${SLO_BURN_RECORDS.istio.serviceErrorRatio['5m']}, 0.001)`,
        eval_time: '115m',
        exp_samples: [{ labels: '{destination_workload_namespace="apps",destination_app="gateway"}', value: 0.2 }],
      }],
    },
    {
      name: 'a quiet night: one failed request is a 100 % ratio in both windows, and pages no one; five in a few minutes do',
      interval: '1m',
      // no request for hours but one that fails at 2h1m; then a burst of 6 failures in 3 minutes from 3h1m
      input_series: requests('stable', [120, 0, 0], [1, 0, 1], [59, 0, 0], [3, 0, 2], [58, 0, 0]),
      alert_rule_test: expect_(groups, SLO_ALERTS.fastBurn, { '2h3m': false, '2h6m': false, '3h5m': true }),
      promql_expr_test: [{
        expr: `${SLO_BURN_RECORDS.istio.serviceErrorRatio['5m']}`,
        eval_time: '2h3m',
        exp_samples: [{ labels: `${SLO_BURN_RECORDS.istio.serviceErrorRatio['5m']}{destination_workload_namespace="apps",destination_app="gateway"}`, value: 1 }],
      }],
    },
    {
      // failures of a service with a request every minute or two, all failing, in uneven minutes: 2 to 4 in any 5
      // minutes, some 36 an hour; a count over 5 minutes never reached 5, or sat on it and flapped
      name: 'a sustained outage of a low-traffic service pages, and stays paged while it lasts',
      interval: '1m',
      input_series: requests('stable', [120, 0, 0], ...Array.from({ length: 120 }, (_, minute) => [1, 0, [2, 0, 0, 1, 0, 0, 2, 0, 1, 0][minute % 10]] as const)),
      alert_rule_test: expect_(groups, SLO_ALERTS.fastBurn, { '2h1m': false, '2h20m': true, '2h21m': true, '2h22m': true, '2h23m': true, '2h24m': true, '3h': true }),
    },
    {
      name: 'no pod answers for 15 minutes: its own sidecars report nothing, the ingress gateway reports 503s, and the fast burn pages',
      interval: '1m',
      input_series: [
        ...requests('stable', [120, 600, 0]).map(s => ({ ...s, values: `${s.values} _x15` })),
        // the ingress gateway's view of the Service: no workload answers (Istio's "no healthy upstream", UH)
        ...ingressGateway('unknown', [['200', '-', counter([120, 600], [15, 0])], ['503', 'UH', counter([120, 0], [15, 600])]]),
      ],
      alert_rule_test: expect_(groups, SLO_ALERTS.fastBurn, { '110m': false, '125m': false, '133m': true }),
      promql_expr_test: [{
        expr: `${SLO_BURN_RECORDS.istio.serviceErrorRatio['5m']}`,
        eval_time: '133m',
        exp_samples: [{ labels: `${SLO_BURN_RECORDS.istio.serviceErrorRatio['5m']}{destination_workload_namespace="apps",destination_app="gateway"}`, value: 1 }],
      }, {
        // the long windows sum the callers' 5-minute records: 15 minutes of 503s in 135 of traffic are the counters'
        // 0.111; a 5-minute rate counts a minute's requests in the five evaluations after it, so the sum lags by ~2.5
        // minutes (0.098 here, right after the burst; nothing on a window of hours)
        expr: `round(${SLO_BURN_RECORDS.istio.serviceErrorRatio['6h']}, 0.001)`,
        eval_time: '135m',
        exp_samples: [{ labels: '{destination_workload_namespace="apps",destination_app="gateway"}', value: 0.098 }],
      }],
    },
    {
      // a service whose own metrics leave a code out of its errors (a 503 it sheds load with) is judged by them: its
      // callers count only what it never answered
      name: 'the callers\' 503s that the service sent itself (no response flag) add nothing to its own view\'s 0 %',
      interval: '1m',
      input_series: [
        ...requests('stable', [90, 600, 0]),
        ...ingressGateway('gateway-stable', [['200', '-', counter([90, 300])], ['503', '-', counter([90, 300])]]),
      ],
      alert_rule_test: expect_(groups, SLO_ALERTS.fastBurn, { '90m': false }),
      promql_expr_test: [{
        expr: `${SLO_BURN_RECORDS.istio.serviceErrorRatio['1h']}`,
        eval_time: '90m',
        exp_samples: [{ labels: `${SLO_BURN_RECORDS.istio.serviceErrorRatio['1h']}{destination_workload_namespace="apps",destination_app="gateway"}`, value: 0 }],
      }],
    },
    {
      name: 'a total outage of 4 minutes does not page: the 5m window burns, the 1h window does not',
      interval: '1m',
      input_series: requests('stable', [70, 100, 0], [4, 0, 100], [20, 100, 0]),
      alert_rule_test: expect_(groups, SLO_ALERTS.fastBurn, { '73m': false, '74m': false, '76m': false, '90m': false }),
    },
    {
      name: 'a 10 % burn after 6 healthy hours: a ticket once the 6h window is above 6 %, never a page',
      interval: '1m',
      input_series: requests('stable', [360, 100, 0], [240, 90, 10]),
      alert_rule_test: [
        ...expect_(groups, SLO_ALERTS.slowBurn, { '540m': false, '590m': true }),
        ...expect_(groups, SLO_ALERTS.fastBurn, { '420m': false, '590m': false }),
      ],
    },
    {
      name: 'a canary failing every request at 5 % of the traffic: the service burns 5 %, no page; its track burns 100 %',
      interval: '1m',
      input_series: [...requests('stable', [90, 95, 0]), ...requests('canary', [90, 0, 5])],
      alert_rule_test: expect_(groups, SLO_ALERTS.fastBurn, { '70m': false, '90m': false }),
      // the service's ratio is a ratio of sums (5 %), not the average of its tracks' ratios (50 %)
      promql_expr_test: [{
        expr: `${SLO_BURN_RECORDS.istio.trackErrorRatio['1h']}`,
        eval_time: '90m',
        exp_samples: [
          { labels: `${SLO_BURN_RECORDS.istio.trackErrorRatio['1h']}{${ISTIO_LABELS('canary').replace('reporter="destination",', '')}}`, value: 1 },
          { labels: `${SLO_BURN_RECORDS.istio.trackErrorRatio['1h']}{${ISTIO_LABELS('stable').replace('reporter="destination",', '')}}`, value: 0 },
        ],
      }, {
        expr: `${SLO_BURN_RECORDS.istio.serviceErrorRatio['1h']}`,
        eval_time: '90m',
        exp_samples: [{ labels: `${SLO_BURN_RECORDS.istio.serviceErrorRatio['1h']}{destination_workload_namespace="apps",destination_app="gateway"}`, value: 0.05 }],
      }],
    },
    {
      name: 'a healthy service (0.5 % errors) stays silent',
      interval: '1m',
      input_series: requests('stable', [400, 995, 5]),
      alert_rule_test: [
        ...expect_(groups, SLO_ALERTS.fastBurn, { '61m': false, '400m': false }),
        ...expect_(groups, SLO_ALERTS.slowBurn, { '400m': false }),
        ...expect_(groups, SLO_ALERTS.steadyBurn, { '400m': false }),
      ],
    },
    {
      name: 'a 3 % burn, three times what the budget allows and too slow for the other pairs: a ticket, the steady burn',
      interval: '1m',
      input_series: requests('stable', [120, 97, 3]),
      // summed from the 5-minute records, the long windows read the 3 % the counters hold
      promql_expr_test: (['6h', '3d'] as const).map(w => ({
        expr: `round(${SLO_BURN_RECORDS.istio.serviceErrorRatio[w]}, 0.001)`,
        eval_time: '120m',
        exp_samples: [{ labels: '{destination_workload_namespace="apps",destination_app="gateway"}', value: 0.03 }],
      })),
      alert_rule_test: [
        ...expect_(groups, SLO_ALERTS.steadyBurn, { '60m': true, '120m': true }),
        ...expect_(groups, SLO_ALERTS.slowBurn, { '120m': false }),
        ...expect_(groups, SLO_ALERTS.fastBurn, { '120m': false }),
      ],
    },
    {
      name: 'p95 above 300 ms fires after 10 minutes, a 3-minute slowdown does not; p99 stays under 1000 ms',
      interval: '1m',
      input_series: ([['100', 100, 50, 100], ['250', 100, 100, 100], ['500', 100, 200, 100], ['1000', 100, 200, 100], ['+Inf', 100, 200, 100]] as const)
        .map(([le, fast, slow]) => ({
          series: `istio_request_duration_milliseconds_bucket{${ISTIO_LABELS('stable')},le="${le}"}`,
          // fast for 10 minutes, slow for 3, fast for 17, slow for 30
          values: counter([10, fast], [3, slow], [17, fast], [30, slow]),
        })),
      alert_rule_test: [
        ...expect_(groups, SLO_ALERTS.latencyP95, { '22m': false, '38m': false, '45m': true, '60m': true }),
        ...expect_(groups, SLO_ALERTS.latencyP99, { '45m': false }),
      ],
    },
    ];
  };

  test('test rules: the SLO alerts on raw istio_requests_total and the duration histogram, recording rules included', () => {
    expect(promtoolTestRules([...recording, ...alerting], sloCases(alerting))).toContain('SUCCESS');
  });

  test('test rules: a total outage pages some 45 minutes in at the default objective (0.95), within a few at 0.999 (as the README says)', () => {
    const outage = requests('stable', [60, 100, 0], [60, 0, 100]);
    const at = (successRatio: number, times: Readonly<Record<string, boolean>>) => {
      const groups = sloAlertingRules({ gateway: REPO_SERVICES.gateway }, () => ({ ...DELIVERY_DEFAULTS.slo, successRatio }), ENVIRONMENT);
      const cases: PromtoolTestCase[] = [{ interval: '1m', input_series: outage, alert_rule_test: expect_(groups, SLO_ALERTS.fastBurn, times) }];
      return promtoolTestRules([...recording, ...groups], cases);
    };
    expect(DELIVERY_DEFAULTS.slo.successRatio).toBe(0.95);
    expect(at(0.95, { '100m': false, '108m': true })).toContain('SUCCESS');
    expect(at(0.999, { '60m': false, '66m': true })).toContain('SUCCESS');
  });

  test('test rules: a true p95 of 260 ms under a 300 ms limit reads 275 on the sidecars\' buckets, no ticket; Istio\'s default would read 375 and fire', () => {
    const groups = alerting.filter(g => g.name === sloAlertRuleGroupName('gateway'));
    // per minute: 90 requests within 100 ms, 10 at 260 ms
    const histogram = (bounds: readonly number[]) => [...bounds.map(String), '+Inf'].map(le => ({
      series: `istio_request_duration_milliseconds_bucket{${ISTIO_LABELS('stable')},le="${le}"}`,
      values: counter([40, le === '+Inf' || Number(le) >= 260 ? 100 : Number(le) >= 100 ? 90 : 0]),
    }));
    const reads = (value: number) => [{ expr: `round(${SLO_BURN_RECORDS.istio.serviceLatencyP95})`, eval_time: '30m', exp_samples: [{ labels: `{${
      Object.entries(GATEWAY).map(([k, v]) => `${k}="${v}"`).join(',')}}`, value }] }];
    const istioDefault = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
    expect(promtoolTestRules([...recording, ...alerting], [
      { name: 'the sidecars\' buckets', interval: '1m', input_series: histogram(ISTIO_DURATION_BUCKETS_MS), promql_expr_test: reads(275),
        alert_rule_test: expect_(groups, SLO_ALERTS.latencyP95, { '30m': false }) },
      { name: 'Istio\'s default buckets', interval: '1m', input_series: histogram(istioDefault), promql_expr_test: reads(375),
        alert_rule_test: expect_(groups, SLO_ALERTS.latencyP95, { '30m': true }) },
    ])).toContain('SUCCESS');
  });

  test('test rules: a canary failing its smoke checks (pinned requests) burns no budget and pages no one; the same failures unpinned page', () => {
    const groups = alerting.filter(g => g.name === sloAlertRuleGroupName('gateway'));
    // per minute: stable serves 100 users; the canary, at 0 %, answers 30 pinned requests with 503
    const canary = (pin: string) => ({
      series: `istio_requests_total{${ISTIO_LABELS('canary')},response_code="503",canary_pin="${pin}"}`, values: counter([90, 30]),
    });
    const users = requests('stable', [90, 100, 0]);
    expect(promtoolTestRules([...recording, ...alerting], [
      { name: 'pinned', interval: '1m', input_series: [...users, canary('always')], alert_rule_test: expect_(groups, SLO_ALERTS.fastBurn, { '70m': false }) },
      { name: 'not pinned', interval: '1m', input_series: [...users, canary('none')], alert_rule_test: expect_(groups, SLO_ALERTS.fastBurn, { '70m': true }) },
    ])).toContain('SUCCESS');
  });

  test('test rules, per cluster (a central store): one cluster burning pages for that cluster only, not for the sum', () => {
    const perCluster = sloRecordingRules({ gateway: REPO_SERVICES.gateway }, { perCluster: true });
    const groups = alerting.filter(g => g.name === sloAlertRuleGroupName('gateway'));
    // a: 20 % errors; b: healthy and five times the traffic, so the two together burn 3.3 %, below any threshold
    const inCluster = (cluster: string, ok: number, errors: number) => requests('stable', [120, ok, errors]).map(s => ({
      ...s, series: s.series.replace('{', `{cluster="${cluster}",`),
    }));
    const burning = fired(groups, SLO_ALERTS.fastBurn, { cluster: 'a', ...GATEWAY });
    const cases: PromtoolTestCase[] = [{
      name: 'cluster a burns 20 %, cluster b is healthy',
      interval: '1m',
      input_series: [...inCluster('a', 80, 20), ...inCluster('b', 500, 0)],
      alert_rule_test: [{ eval_time: '70m', alertname: SLO_ALERTS.fastBurn, exp_alerts: [burning] }],
    }];
    expect(promtoolTestRules([...perCluster, ...alerting], cases)).toContain('SUCCESS');
    // and without the cluster in the records, the sum hides the burning cluster: no page at all
    expect(() => promtoolTestRules([...recording, ...alerting], cases)).toThrow(/promtool test rules failed/);
  });

  test('test rules: a gRPC service\'s failed calls (HTTP 200, a server failure in grpc_response_status) burn its budget; a caller\'s error does not', () => {
    const groups = alerting.filter(g => g.name === sloAlertRuleGroupName('gateway'));
    const grpc = (status: string, perMinute: number) => ({
      series: `istio_requests_total{${ISTIO_LABELS('stable')},response_code="200",grpc_response_status="${status}"}`, values: counter([90, perMinute]),
    });
    const track = ISTIO_LABELS('stable').replace('reporter="destination",', '');
    const cases: PromtoolTestCase[] = [{
      name: 'per minute: 65 OK, 25 UNAVAILABLE (14), 10 NOT_FOUND (5)',
      interval: '1m',
      input_series: [grpc('0', 65), grpc('14', 25), grpc('5', 10)],
      // in thousandths: the rates' floating point is not exact
      promql_expr_test: [
        { expr: `round(1000 * ${SLO_BURN_RECORDS.istio.trackErrorRatio['1h']})`, eval_time: '70m', exp_samples: [{ labels: `{${track}}`, value: 250 }] },
        { expr: `round(1000 * ${SLO_RECORDS.istioSuccessRatio})`, eval_time: '70m', exp_samples: [{ labels: `{${track}}`, value: 750 }] },
      ],
      alert_rule_test: [{ eval_time: '70m', alertname: SLO_ALERTS.fastBurn, exp_alerts: [fired(groups, SLO_ALERTS.fastBurn, GATEWAY)] }],
    }];
    expect(promtoolTestRules([...recording, ...alerting], cases)).toContain('SUCCESS');
  });

  test('test rules: pipeline alerts', () => {
    const pipeline = [pipelineAlertingRules(undefined, 'prometheus', GATE_LOOP)];
    const GATE = { namespace: GATE_LOOP.namespace, cronjob: GATE_LOOP.cronJob };
    const LOKI = { job: 'loki', instance: '10.0.0.7:3100', namespace: 'observability', pod: 'loki-0' };
    const COLLECTOR = { namespace: 'observability', pod: 'otel-collector-0', exporter: 'otlp_grpc/tempo' };
    const OLD_COLLECTOR = { ...COLLECTOR, pod: 'otel-collector-1' };
    const ALLOY = { namespace: 'observability', pod: 'alloy-x7k2p', reason: 'ingester_error' };
    const ALERTMANAGER = { job: 'alertmanager', namespace: 'observability', pod: 'alertmanager-0' };
    const labels = (l: Readonly<Record<string, string>>) => Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(',');
    // targets that stop answering at minute 10: a pod's, a node's (the kubelet's), and kube-state-metrics', whose job adds
    // neither label (it honours the labels it exports), over IPv4 and IPv6
    const KUBELET = { job: 'kubelet', instance: '10.0.0.2:10250', node: 'node-a' };
    const KSM = { job: 'kube-state-metrics', instance: '10.0.0.9:8080' };
    const KSM_V6 = { job: 'kube-state-metrics', instance: '[fd00:10::9]:8080' };
    /** PipelineTargetDown as it renders for a target: where the description says it is, and the runbook's first command. */
    const targetDown = (target: Readonly<Record<string, string>>, where: string, command: string) => ({
      exp_labels: { ...target, severity: 'ticket', component: target.job },
      exp_annotations: {
        summary: `Prometheus cannot scrape ${target.job}`,
        description: `The target ${target.instance} of job ${target.job}${where} has not answered a scrape for 5 minutes: its metrics, and the alerts on them, `
          + 'are missing.',
        runbook: `${command}; check its logs, readiness and the network policy from Prometheus to its metrics port.`,
      },
    });
    /** A shipper pod's pushes to Loki answered with `code`, as its client's request histogram counts them. */
    const pushes = (pod: string, code: string) => ({ namespace: 'observability', pod, status_code: code, host: 'loki.observability.svc:3100' });
    const cases: PromtoolTestCase[] = [{
      interval: '1m',
      input_series: [
        ...[LOKI, KUBELET, KSM, KSM_V6].map(target => ({ series: `up{${labels(target)}}`, values: '1x10 0x10' })),
        { series: `up{${labels({ ...LOKI, job: 'tempo', pod: 'tempo-0' })}}`, values: '1x20' },
        { series: `otelcol_exporter_send_failed_spans_total{${labels(COLLECTOR)}}`, values: counter([20, 10]) },
        { series: `otelcol_exporter_send_failed_spans{${labels(OLD_COLLECTOR)}}`, values: counter([20, 10]) },
        // loki.write's drops after its retries: none for 20 minutes, then 5
        { series: `loki_write_dropped_entries_total{${labels({ ...ALLOY, job: 'alloy', host: 'loki.observability.svc:3100', tenant: '' })}}`, values: '0x20 5x10' },
        // pushes that fail and are retried: no answer at all (-1, what the client records then) from one Alloy, Loki's rate limit
        // (429) for one Promtail; a batch Loki refuses (400) is not retried, its entries count as dropped instead
        { series: `loki_write_request_duration_seconds_count{${labels(pushes('alloy-a', '-1'))}}`, values: '0+10x40' },
        { series: `promtail_request_duration_seconds_count{${labels(pushes('promtail-b', '429'))}}`, values: '0+10x40' },
        { series: `loki_write_request_duration_seconds_count{${labels(pushes('alloy-c', '400'))}}`, values: '0+10x40' },
        // the gate's ticks succeed every minute until minute 20, then fail: its last success stays at 1200 s
        ...gateSeries({ lastSuccess: '0+60x20 1200x40', created: '0x60', suspended: '0x60' }),
        // one Slack notification fails at minute 30 (after its retries), two pages at minute 50
        { series: `alertmanager_notifications_failed_total{${labels({ ...ALERTMANAGER, integration: 'slack' })}}`, values: '0x30 1x30' },
        { series: `alertmanager_notifications_failed_total{${labels({ ...ALERTMANAGER, integration: 'pagerduty' })}}`, values: '0x50 2x10' },
        // the heartbeat's webhook fails from minute 10: a ticket, never the page a failing chat or webhook is
        { series: `alertmanager_notifications_failed_total{${labels({ ...ALERTMANAGER, integration: 'webhook', receiver_name: 'heartbeat' })}}`, values: '0x10 3x50' },
      ],
      alert_rule_test: [
        { eval_time: '13m', alertname: PIPELINE_ALERTS.targetDown, exp_alerts: [] },
        {
          eval_time: '16m', alertname: PIPELINE_ALERTS.targetDown, exp_alerts: [
            targetDown(LOKI, ' (pod observability/loki-0)', 'kubectl -n observability describe pod loki-0'),
            targetDown(KUBELET, ' (node node-a)', 'kubectl describe node node-a'),
            targetDown(KSM, '', 'kubectl get pods --all-namespaces -o wide --field-selector status.podIP=10.0.0.9'),
            targetDown(KSM_V6, '', 'kubectl get pods --all-namespaces -o wide --field-selector status.podIP=fd00:10::9'),
          ],
        },
        {
          eval_time: '10m', alertname: PIPELINE_ALERTS.collectorExportFailing,
          exp_alerts: [COLLECTOR, OLD_COLLECTOR].map(l => fired(pipeline, PIPELINE_ALERTS.collectorExportFailing, l)),
        },
        { eval_time: '20m', alertname: PIPELINE_ALERTS.alloyDropping, exp_alerts: [] },
        { eval_time: '22m', alertname: PIPELINE_ALERTS.alloyDropping, exp_alerts: [fired(pipeline, PIPELINE_ALERTS.alloyDropping, ALLOY)] },
        { eval_time: '40m', alertname: PIPELINE_ALERTS.alloyDropping, exp_alerts: [] },
        ...(['12m', '25m'] as const).flatMap(eval_time => [
          { pod: 'alloy-a', alertname: PIPELINE_ALERTS.alloyPushErrors }, { pod: 'promtail-b', alertname: PIPELINE_ALERTS.promtailPushErrors },
        ].map(({ pod, alertname }) => ({
          eval_time, alertname, exp_alerts: eval_time === '12m' ? [] : [fired(pipeline, alertname, { namespace: 'observability', pod })],
        }))),
        // the threshold passes at 50 minutes; pending for 5
        ...stalledAt({ '55m': false, '56m': true }),
        // a failed chat pages; it counts for 15 minutes (at 15m only the heartbeat fails: no page)
        ...[['15m', false], ['30m', false], ['31m', true], ['45m', true], ['47m', false]].map(([eval_time, firing]) => ({
          eval_time: eval_time as string, alertname: PIPELINE_ALERTS.notificationsFailing,
          exp_alerts: firing ? [fired(pipeline, PIPELINE_ALERTS.notificationsFailing, { namespace: 'observability', pod: 'alertmanager-0', integration: 'slack' })] : [],
        })),
        ...[['10m', false], ['11m', true], ['25m', true], ['27m', false]].map(([eval_time, firing]) => ({
          eval_time: eval_time as string, alertname: PIPELINE_ALERTS.heartbeatNotificationsFailing,
          exp_alerts: firing ? [fired(pipeline, PIPELINE_ALERTS.heartbeatNotificationsFailing, { namespace: 'observability', pod: 'alertmanager-0', integration: 'webhook' })] : [],
        })),
        // a failed pager is a ticket (the pages cannot reach it)
        ...[['50m', false], ['51m', true]].map(([eval_time, firing]) => ({
          eval_time: eval_time as string, alertname: PIPELINE_ALERTS.pagerNotificationsFailing,
          exp_alerts: firing ? [fired(pipeline, PIPELINE_ALERTS.pagerNotificationsFailing, { namespace: 'observability', pod: 'alertmanager-0', integration: 'pagerduty' })] : [],
        })),
      ],
    },
    gateCase('the gate created at minute 10 has never succeeded: from minute 40, firing from 45',
      { created: '_x10 600x50', suspended: '_x10 0x50' }, { '45m': false, '46m': true }),
    gateCase('suspended on purpose, its last success at minute 5: no alert; resumed at minute 120, it has the threshold to succeed',
      { lastSuccess: '300x180', created: '0x180', suspended: '1x120 0x60' }, { '119m': false, '150m': false, '156m': true }),
    gateCase('kube-state-metrics stops reporting the CronJob at minute 10 (gone, or no RBAC): no silence',
      { lastSuccess: '0+60x10', created: '0x10', suspended: '0x10' }, { '40m': false, '46m': true }),
    ];
    /** The gate CronJob's series as kube-state-metrics exports them, each in promtool's expanding notation. */
    function gateSeries(values: { lastSuccess?: string; created: string; suspended: string }) {
      return [
        ...(values.lastSuccess ? [{ series: `kube_cronjob_status_last_successful_time{${labels(GATE)}}`, values: values.lastSuccess }] : []),
        { series: `kube_cronjob_created{${labels(GATE)}}`, values: values.created },
        { series: `kube_cronjob_spec_suspend{${labels(GATE)}}`, values: values.suspended },
      ];
    }
    /** CanaryGateStalled at each time: firing on the gate's CronJob, or silent. */
    function stalledAt(times: Readonly<Record<string, boolean>>) {
      return Object.entries(times).map(([eval_time, firing]) => ({
        eval_time, alertname: PIPELINE_ALERTS.canaryGateStalled, exp_alerts: firing ? [fired(pipeline, PIPELINE_ALERTS.canaryGateStalled, GATE)] : [],
      }));
    }
    // a volume that fills in 40 minutes and stays full: the early warning never fires (its hour of `for`, then a flat
    // prediction), the full volume pages 5 minutes after it passed 97 % and goes on paging while it stays full
    const PVC = { namespace: 'observability', persistentvolumeclaim: 'storage-loki-0' };
    const volume = { namespace: PVC.namespace, persistentvolumeclaim: PVC.persistentvolumeclaim, job: 'kubelet', node: 'node-a' };
    const volumeAt = (times: Readonly<Record<string, boolean>>) => Object.entries(times).map(([eval_time, firing]) => ({
      eval_time, alertname: PIPELINE_ALERTS.volumeFull, exp_alerts: firing ? [fired(pipeline, PIPELINE_ALERTS.volumeFull, volume)] : [],
    }));
    cases.push({
      name: 'a volume that fills fast pages once nearly full, and as long as it stays full',
      interval: '1m',
      input_series: [
        { series: `kubelet_volume_stats_capacity_bytes{${labels(volume)}}`, values: '100x701' },
        // 50 % free for 3 hours, then full in 40 minutes (below 3 % at 3h38m), then full for 8 hours
        { series: `kubelet_volume_stats_available_bytes{${labels(volume)}}`, values: '50x179 50-1.25x40 0x480' },
      ],
      alert_rule_test: [
        ...volumeAt({ '3h30m': false, '3h40m': false, '4h': true, '10h': true, '11h30m': true }),
        { eval_time: '10h', alertname: PIPELINE_ALERTS.volumeFillingUp, exp_alerts: [] },
      ],
    });
    // Loki's three pods: one never starts (Pending: no target at all) from minute 10; from minute 40 none runs (the last
    // samples go stale 5 minutes later)
    const withReplicas = pipelineAlertingRules(undefined, 'prometheus', undefined, false, { components: [{ job: 'loki', namespace: 'observability', replicas: 3, carries: 'the logs' }] });
    const lokiRunbook = 'kubectl -n observability get pods -o wide | grep loki, then kubectl describe pod on each that is not Running and ready: its '
      + 'events say why (Insufficient cpu or memory, a taint, ImagePullBackOff, a volume that does not attach, a failing probe).';
    const lokiPods = (pod: string, values: string) => ({ series: `up{job="loki",namespace="observability",pod="${pod}",instance="${pod}:3100"}`, values });
    const replicaCase: PromtoolTestCase = {
      name: 'a pod that never starts has no target: counted against the replicas, a ticket after 15 minutes; none answering pages',
      interval: '1m',
      input_series: [lokiPods('loki-0', '1x40'), lokiPods('loki-1', '1x40'), lokiPods('loki-2', '1x9')],
      alert_rule_test: [
        { eval_time: '20m', alertname: REPLICA_ALERTS.missing, exp_alerts: [] },
        {
          eval_time: '30m', alertname: REPLICA_ALERTS.missing, exp_alerts: [{
            exp_labels: { severity: 'ticket', component: 'loki' },
            exp_annotations: {
              summary: 'loki runs 2 of its 3 pods',
              description: 'Only 2 of the 3 pods of loki have answered a scrape for 15 minutes: the others are not running (Pending, crashing) or not '
                + 'ready, and one more failure may take the component down.',
              runbook: lokiRunbook,
            },
          }],
        },
        { eval_time: '48m', alertname: REPLICA_ALERTS.none, exp_alerts: [] },
        {
          eval_time: '60m', alertname: REPLICA_ALERTS.none, exp_alerts: [{
            exp_labels: { severity: 'page', component: 'loki' },
            exp_annotations: {
              summary: 'No pod of loki runs',
              description: 'None of the 3 pods of loki has answered a scrape for 10 minutes: the logs sent to it are being lost.',
              runbook: lokiRunbook,
            },
          }],
        },
      ],
    };
    function gateCase(name: string, values: Parameters<typeof gateSeries>[0], times: Readonly<Record<string, boolean>>): PromtoolTestCase {
      return { name, interval: '1m', input_series: gateSeries(values), alert_rule_test: stalledAt(times) };
    }
    expect(promtoolTestRules(pipeline, cases)).toContain('SUCCESS');
    expect(promtoolTestRules([withReplicas], [replicaCase])).toContain('SUCCESS');
    // a store of several clusters (Mimir's ruler): the alerts carry the cluster, and stay silent while the cluster's
    // agent sends nothing at all (ObservabilityAgentSilent's case), not one page per component
    const central = pipelineAlertingRules(undefined, 'mimir', undefined, false, {
      components: [{ job: 'loki', namespace: 'observability', replicas: 3, carries: 'the logs' }], cluster: 'obs',
    });
    const inCluster = (job: string, pod: string, values: string) => ({ series: `up{cluster="obs",job="${job}",pod="${pod}"}`, values });
    const down = (eval_time: string, firing: boolean) => ({
      eval_time, alertname: REPLICA_ALERTS.none, exp_alerts: firing ? [{
        exp_labels: { severity: 'page', component: 'loki', cluster: 'obs' },
        exp_annotations: {
          summary: 'No pod of loki runs in cluster obs',
          description: 'None of the 3 pods of loki in cluster obs has answered a scrape for 10 minutes: the logs sent to it are being lost.',
          runbook: lokiRunbook,
        },
      }] : [],
    });
    expect(promtoolTestRules([central], [
      {
        name: 'the agent falls silent: every series of the cluster stops, and no component is said to be down',
        interval: '1m',
        input_series: [...['loki-0', 'loki-1', 'loki-2'].map(pod => inCluster('loki', pod, '1x15')), inCluster('grafana', 'grafana-0', '1x15')],
        alert_rule_test: [down('40m', false)],
      },
      {
        name: 'Loki stops while the rest of the cluster still reports: paged, with the cluster',
        interval: '1m',
        input_series: [...['loki-0', 'loki-1', 'loki-2'].map(pod => inCluster('loki', pod, '1x15')), inCluster('grafana', 'grafana-0', '1x60')],
        alert_rule_test: [down('25m', false), down('40m', true)],
      },
      {
        // the page stands until ObservabilityAgentSilent (absent for 10 minutes) takes over: no resolved notice between
        name: 'Loki down, then the whole agent silent: the page stands for the 10 minutes before the agent alert fires',
        interval: '1m',
        input_series: [...['loki-0', 'loki-1', 'loki-2'].map(pod => inCluster('loki', pod, '1x10')), inCluster('grafana', 'grafana-0', '1x40')],
        alert_rule_test: [down('30m', true), down('46m', true), down('49m', true), down('60m', false)],
      },
    ])).toContain('SUCCESS');
  });

  test('test rules: pipeline alerts per cluster (a central store): each fires with the cluster of its pod', () => {
    const pipeline = [pipelineAlertingRules('alloy', 'mimir')];
    const alloy = (cluster: string) => ({ cluster, namespace: 'observability', pod: `alloy-${cluster}`, reason: 'ingester_error' });
    const labels = (l: Readonly<Record<string, string>>) => Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(',');
    const cases: PromtoolTestCase[] = [{
      interval: '1m',
      input_series: ['eu', 'us'].map(cluster => ({ series: `loki_write_dropped_entries_total{${labels({ ...alloy(cluster), job: 'alloy' })}}`, values: '0x5 5x10' })),
      alert_rule_test: [{
        eval_time: '8m', alertname: PIPELINE_ALERTS.alloyDropping,
        exp_alerts: ['eu', 'us'].map(cluster => fired(pipeline, PIPELINE_ALERTS.alloyDropping, alloy(cluster))),
      }],
    }];
    expect(promtoolTestRules(pipeline, cases)).toContain('SUCCESS');
  });

  test('test rules can fail: a fast burn with a tenth of the factor pages on the 4-minute outage', () => {
    const wrong = alerting.map(g => ({
      ...g, rules: (g.rules as AlertingRule[]).map(r => (r.alert === SLO_ALERTS.fastBurn ? { ...r, expr: r.expr.replace(/14\.4/g, '1.44') } : r)),
    }));
    const outage = sloCases(alerting).filter(c => c.name!.startsWith('a total outage'));
    expect(outage).toHaveLength(1);
    expect(() => promtoolTestRules([...recording, ...wrong], outage)).toThrow(/promtool test rules failed[\s\S]*SloErrorBudgetFastBurn/);
  });
});

test('the services of the scenarios are the repository\'s (gateway reads Istio\'s metrics)', () => {
  const services: Services = REPO_SERVICES;
  expect(services.gateway.metrics.source).toBe('istio');
});
