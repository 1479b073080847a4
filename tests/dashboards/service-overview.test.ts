import { PROMTAIL_LABELS } from '../../lib/constructs/promtail';
import { RecordingRule } from '../../lib/constructs/prometheus-config';
import { ServiceOverviewOptions, serviceOverviewDashboard, serviceOverviewUid } from '../../lib/dashboards';
import { SLO_RECORDS, sloRecordingRules, sloRuleGroupName } from '../../lib/slo/recording-rules';
import { httpTrafficSelector } from '../../lib/slo/vocabulary';
import { QUOTES, REPO_SERVICES } from '../slo/services';
import { panelTitled, panelsOf, targetsOf } from './support';

const GATEWAY: ServiceOverviewOptions = { service: 'gateway', namespace: 'apps', metrics: REPO_SERVICES.gateway.metrics.http! };
const QUOTES_OPTIONS: ServiceOverviewOptions = { service: 'quotes', namespace: 'pricing', metrics: QUOTES.metrics.http! };
const model: Record<string, any> = serviceOverviewDashboard(GATEWAY);
const quotes: Record<string, any> = serviceOverviewDashboard(QUOTES_OPTIONS);
const exprs = (m: Record<string, any>): string[] => targetsOf(m).map(t => t.target.expr as string);
/** Queries of the service's own metrics (not the recording rule, not Loki). */
const ownMetricQueries = (m: Record<string, any>): string[] =>
  targetsOf(m).filter(t => t.target.datasource.uid === 'prometheus' && !(t.target.expr as string).includes(':')).map(t => t.target.expr);

describe('serviceOverviewDashboard', () => {
  test('uid svc-<service> and a title naming the service', () => {
    expect(model.uid).toBe('svc-gateway');
    expect(serviceOverviewUid('gateway')).toBe('svc-gateway');
    expect(model.title).toBe('Service overview: gateway');
    expect(model.tags).toEqual(['obs-canary', 'services', 'gateway']);
  });

  test('the longest name a service file allows (33) fits Grafana\'s 40-character uid', () => {
    const longest = 'a'.repeat(33);
    expect(serviceOverviewDashboard({ ...GATEWAY, service: longest }).uid).toHaveLength(37);
  });

  test('one variable, the log level, all levels by default: the service is fixed, not chosen', () => {
    expect(model.templating.list).toHaveLength(1);
    expect(model.templating.list[0]).toMatchObject({
      name: 'level', type: 'custom', query: 'fatal,error,warn,info,debug,trace', multi: true, includeAll: true, allValue: '.*', current: { value: ['$__all'] },
    });
  });

  test('the exact PromQL and LogQL of every query, from the gateway\'s file', () => {
    const sel = 'namespace="apps",app="gateway",route!~"/healthz|/readyz|/metrics"';
    const ri = '$__rate_interval';
    const byVersion = `sum by (version) (rate(http_requests_total{${sel}}[${ri}]))`;
    const stream = '{namespace="apps", app="gateway", level=~"$level"}';
    const queries = targetsOf(model).map(({ panel, target }) => [panel.title, target.refId, target.datasource.uid, target.expr, target.legendFormat]);
    expect(queries).toEqual([
      ['Request rate by version', 'A', 'prometheus', byVersion, '{{version}}'],
      ['Error ratio by version', 'A', 'prometheus',
        `sum by (version) (rate(http_requests_total{${sel},status_code=~"5.."}[${ri}])) / (${byVersion} > 0) or (${byVersion} > 0) * 0`, '{{version}}'],
      ['SLO success ratio (5m, recording rule)', 'A', 'prometheus',
        'app_version:http_requests_success:ratio_rate5m{namespace="apps",app="gateway"}', '{{version}}'],
      ['Latency p95 and p99 by version', 'A', 'prometheus',
        `histogram_quantile(0.95, sum by (version, le) (rate(http_request_duration_seconds_bucket{${sel}}[${ri}])))`, 'p95 {{version}}'],
      ['Latency p95 and p99 by version', 'B', 'prometheus',
        `histogram_quantile(0.99, sum by (version, le) (rate(http_request_duration_seconds_bucket{${sel}}[${ri}])))`, 'p99 {{version}}'],
      ['Latency p95 by route', 'A', 'prometheus',
        `histogram_quantile(0.95, sum by (route, le) (rate(http_request_duration_seconds_bucket{${sel}}[${ri}])))`, '{{route}}'],
      ['Requests by route and status', 'A', 'prometheus',
        `sum by (route, status_code) (rate(http_requests_total{${sel}}[${ri}]))`, '{{route}} {{status_code}}'],
      ['Log volume by level', 'A', 'loki', `sum by (level) (count_over_time(${stream}[$__interval]))`, '{{level}}'],
      ['Logs', 'A', 'loki', stream, undefined],
    ]);
  });

  test('another service\'s file: its metric names, code and route labels, ignored routes, namespace and unit (ms)', () => {
    const sel = 'namespace="pricing",app="quotes",handler!~"/ping|/metrics\\\\.json"';
    const ri = '$__rate_interval';
    expect(ownMetricQueries(quotes)).toEqual([
      `sum by (version) (rate(quotes_served_total{${sel}}[${ri}]))`,
      `sum by (version) (rate(quotes_served_total{${sel},code=~"5.."}[${ri}])) / (sum by (version) (rate(quotes_served_total{${sel}}[${ri}])) > 0)`
        + ` or (sum by (version) (rate(quotes_served_total{${sel}}[${ri}])) > 0) * 0`,
      `histogram_quantile(0.95, sum by (version, le) (rate(quotes_latency_ms_bucket{${sel}}[${ri}])))`,
      `histogram_quantile(0.99, sum by (version, le) (rate(quotes_latency_ms_bucket{${sel}}[${ri}])))`,
      `histogram_quantile(0.95, sum by (handler, le) (rate(quotes_latency_ms_bucket{${sel}}[${ri}])))`,
      `sum by (handler, code) (rate(quotes_served_total{${sel}}[${ri}]))`,
    ]);
    for (const title of ['Latency p95 and p99 by version', 'Latency p95 by route']) expect(panelTitled(quotes, title).fieldConfig.defaults.unit).toBe('ms');
    expect(panelTitled(model, 'Latency p95 by route').fieldConfig.defaults.unit).toBe('s');
    expect(JSON.stringify(quotes)).not.toMatch(/http_requests_total|http_request_duration|status_code|gateway|"apps"|\{\{route\}\}/);
  });

  test('the ignored routes are left out of every query of the service\'s own metrics', () => {
    const selector = httpTrafficSelector(GATEWAY.metrics)!;
    expect(selector).toBe('route!~"/healthz|/readyz|/metrics"');
    expect(ownMetricQueries(model)).toHaveLength(6);
    for (const expr of ownMetricQueries(model)) expect(expr.split('{').length - 1).toBe(expr.split(selector).length - 1);
    expect(panelTitled(model, 'Request rate by version').description).toContain('/healthz, /readyz, /metrics (probes and scrapes) are left out');
  });

  test('without a route label: no route panels, latency by version full width, requests by status', () => {
    const metrics = { ...QUOTES_OPTIONS.metrics, routeLabel: undefined, ignoreRoutes: [] };
    const plain = serviceOverviewDashboard({ ...QUOTES_OPTIONS, metrics });
    expect(panelsOf(plain).filter(p => p.type === 'row').map(p => p.title)).toEqual(['Requests and errors', 'Duration', 'Status codes', 'Logs']);
    expect(panelTitled(plain, 'Latency p95 and p99 by version').gridPos.w).toBe(24);
    expect(panelTitled(plain, 'Requests by status').targets[0].expr).toBe('sum by (code) (rate(quotes_served_total{namespace="pricing",app="quotes"}[$__rate_interval]))');
    expect(panelsOf(plain).map(p => p.title)).not.toContain('Latency p95 by route');
    expect(JSON.stringify(plain)).not.toContain('handler');
  });

  test('exemplars are on for the latency panels and off everywhere else', () => {
    const withExemplars = targetsOf(model).filter(t => t.target.exemplar === true).map(t => t.panel.title);
    expect(withExemplars).toEqual(['Latency p95 and p99 by version', 'Latency p95 and p99 by version', 'Latency p95 by route']);
    for (const { panel, target } of targetsOf(model).filter(t => t.target.datasource.uid === 'prometheus')) {
      expect([panel.title, target.exemplar]).toEqual([panel.title, panel.fieldConfig.defaults.unit === 's']);
    }
  });

  test('the SLO panel reads the recording rule of this service\'s group, by the label that rule carries', () => {
    const rules = sloRecordingRules(REPO_SERVICES).find(g => g.name === sloRuleGroupName('gateway'))!.rules as RecordingRule[];
    const rule = rules.find(r => r.record === SLO_RECORDS.httpSuccessRatio)!;
    const expr = panelTitled(model, 'SLO success ratio (5m, recording rule)').targets[0].expr as string;
    expect(expr.slice(0, expr.indexOf('{'))).toBe(rule.record);
    expect(expr).toContain(`app="${rule.labels!.app}"`);
    expect(rule.expr).toContain('namespace="apps"');
  });

  test('Loki queries select only labels Promtail sets (trace_id stays structured metadata)', () => {
    for (const { target } of targetsOf(quotes).filter(t => t.target.datasource.uid === 'loki')) {
      const labels = [...(target.expr as string).matchAll(/(\w+)=~?"/g)].map(m => m[1]);
      expect(labels).toEqual(['namespace', 'app', 'level']);
      for (const label of labels) expect(PROMTAIL_LABELS).toContain(label);
      expect(target.expr).toContain('namespace="pricing", app="quotes"');
    }
  });

  test('the logs panel shows time and details (the trace link), newest first', () => {
    const logs = panelTitled(model, 'Logs');
    expect(logs.type).toBe('logs');
    expect(logs.options).toMatchObject({ showTime: true, enableLogDetails: true, sortOrder: 'Descending', wrapLogMessage: true });
    expect(logs.targets[0]).toMatchObject({ queryType: 'range', maxLines: 1000 });
  });

  test('rows Requests and errors, Duration, Routes, Logs', () => {
    expect(panelsOf(model).filter(p => p.type === 'row').map(p => p.title)).toEqual(['Requests and errors', 'Duration', 'Routes', 'Logs']);
  });

  test('the namespace changes every selector', () => {
    const shop = serviceOverviewDashboard({ ...GATEWAY, namespace: 'shop' });
    expect(exprs(shop)).toHaveLength(exprs(model).length);
    expect(exprs(shop).filter(e => !e.includes('namespace="shop"'))).toEqual([]);
  });

  describe('fails on bad options', () => {
    const metrics = GATEWAY.metrics;
    test.each<[string, Partial<ServiceOverviewOptions>, string]>([
      ['a service that is not a DNS label', { service: 'Back End' }, '\'service\' must be a lower-case DNS label of at most 36 characters (the dashboard uid is svc-<service>), got "Back End"'],
      ['a service too long for the uid', { service: 'a'.repeat(37) }, `'service' must be a lower-case DNS label of at most 36 characters (the dashboard uid is svc-<service>), got "${'a'.repeat(37)}"`],
      ['a namespace that is not a DNS label', { namespace: '' }, '\'namespace\' must be a lower-case DNS label of at most 63 characters, got ""'],
      ['a counter that is not a metric name', { metrics: { ...metrics, requests: 'http-requests' } }, '\'metrics.requests\' must be a Prometheus metric name (^[a-zA-Z_:][a-zA-Z0-9_:]*$), got "http-requests"'],
      ['a histogram that is not a metric name', { metrics: { ...metrics, duration: '' } }, '\'metrics.duration\' must be a Prometheus metric name (^[a-zA-Z_:][a-zA-Z0-9_:]*$), got ""'],
      ['a code label that is not a label name', { metrics: { ...metrics, codeLabel: 'status:code' } }, '\'metrics.codeLabel\' must be a Prometheus label name (^[a-zA-Z_][a-zA-Z0-9_]*$), got "status:code"'],
      ['a route label that is not a label name', { metrics: { ...metrics, routeLabel: '1route' } }, '\'metrics.routeLabel\' must be a Prometheus label name (^[a-zA-Z_][a-zA-Z0-9_]*$), got "1route"'],
      ['an unknown unit', { metrics: { ...metrics, durationUnit: 'minutes' as 'seconds' } }, '\'metrics.durationUnit\' must be one of "seconds", "milliseconds", got "minutes"'],
      ['ignored routes without a route label', { metrics: { ...metrics, routeLabel: undefined } },
        '\'metrics.ignoreRoutes\' needs \'metrics.routeLabel\' to match the routes on, got ignoreRoutes ["/healthz","/readyz","/metrics"] and no routeLabel; '
        + 'name the label, or ignore no routes'],
    ])('%s', (_, overrides, message) => {
      expect(() => serviceOverviewDashboard({ ...GATEWAY, ...overrides })).toThrow(`serviceOverviewDashboard: ${message}`);
    });
  });
});
