import { PROMTAIL_LABELS } from '../../lib/constructs/promtail';
import { SERVICE_OVERVIEW_UID, serviceOverviewDashboard } from '../../lib/dashboards';
import { HTTP_SLO_SELECTOR, sloRecordingRules } from '../../lib/slo/recording-rules';
import { panelTitled, panelsOf, targetsOf } from './support';

const model: Record<string, any> = serviceOverviewDashboard({ services: ['gateway', 'backend'], namespace: 'apps' });
const variable = (name: string): Record<string, any> => model.templating.list.find((v: any) => v.name === name);

describe('serviceOverviewDashboard', () => {
  test('uid service-overview and its title', () => {
    expect(model.uid).toBe('service-overview');
    expect(SERVICE_OVERVIEW_UID).toBe('service-overview');
    expect(model.title).toBe('Service overview');
  });

  test('a service variable offering the services, the first selected', () => {
    const service = variable('service');
    expect(service).toMatchObject({ type: 'custom', query: 'gateway,backend', multi: false, includeAll: false, current: { text: 'gateway', value: 'gateway' } });
    expect(service.options.map((o: any) => [o.value, o.selected])).toEqual([['gateway', true], ['backend', false]]);
    expect(serviceOverviewDashboard({ services: ['backend'] }).templating).toMatchObject({ list: [{ name: 'service', query: 'backend' }, { name: 'level' }] });
  });

  test('a level variable, all levels by default', () => {
    expect(variable('level')).toMatchObject({
      type: 'custom', query: 'fatal,error,warn,info,debug,trace', multi: true, includeAll: true, allValue: '.+', current: { value: ['$__all'] },
    });
  });

  test('the exact PromQL and LogQL of every query', () => {
    const sel = `namespace="apps",app="$service",${HTTP_SLO_SELECTOR}`;
    const ri = '$__rate_interval';
    const byVersion = `sum by (version) (rate(http_requests_total{${sel}}[${ri}]))`;
    const stream = '{namespace="apps", app="$service", level=~"$level"}';
    const queries = targetsOf(model).map(({ panel, target }) => [panel.title, target.refId, target.datasource.uid, target.expr, target.legendFormat]);
    expect(queries).toEqual([
      ['Request rate by version', 'A', 'prometheus', byVersion, '{{version}}'],
      ['Error ratio (5xx) by version', 'A', 'prometheus',
        `sum by (version) (rate(http_requests_total{${sel},status_code=~"5.."}[${ri}])) / ${byVersion} or ${byVersion} * 0`, '{{version}}'],
      ['SLO success ratio (5m, recording rule)', 'A', 'prometheus',
        'app_version:http_requests_success:ratio_rate5m{namespace="apps",app="$service"}', '{{version}}'],
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

  test('the probe and scrape routes are left out of every http_* query', () => {
    expect(HTTP_SLO_SELECTOR).toBe('route!~"/healthz|/readyz|/metrics"');
    const http = targetsOf(model).map(t => t.target.expr as string).filter(e => /http_request/.test(e) && !e.includes(':'));
    expect(http).toHaveLength(6);
    for (const expr of http) expect(expr.split('http_request').length - 1).toBe(expr.split(HTTP_SLO_SELECTOR).length - 1);
  });

  test('exemplars are on for the latency panels and off everywhere else', () => {
    const withExemplars = targetsOf(model).filter(t => t.target.exemplar === true).map(t => t.panel.title);
    expect(withExemplars).toEqual(['Latency p95 and p99 by version', 'Latency p95 and p99 by version', 'Latency p95 by route']);
    for (const { panel, target } of targetsOf(model).filter(t => t.target.datasource.uid === 'prometheus')) {
      expect([panel.title, target.exemplar]).toEqual([panel.title, panel.fieldConfig.defaults.unit === 's']);
    }
  });

  test('the recording rule the SLO panel reads is one Prometheus records', () => {
    const records = sloRecordingRules().flatMap(g => g.rules).map(r => ('record' in r ? r.record : undefined));
    const expr = panelTitled(model, 'SLO success ratio (5m, recording rule)').targets[0].expr as string;
    expect(records).toContain(expr.slice(0, expr.indexOf('{')));
  });

  test('Loki queries select only labels Promtail sets (trace_id stays structured metadata)', () => {
    for (const { target } of targetsOf(model).filter(t => t.target.datasource.uid === 'loki')) {
      const labels = [...(target.expr as string).matchAll(/(\w+)=~?"/g)].map(m => m[1]);
      expect(labels).toEqual(['namespace', 'app', 'level']);
      for (const label of labels) expect(PROMTAIL_LABELS).toContain(label);
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

  test('the namespace option changes every selector; it defaults to apps', () => {
    const shop = serviceOverviewDashboard({ services: ['gateway'], namespace: 'shop' });
    const exprs = targetsOf(shop).map(t => t.target.expr as string);
    expect(exprs).toHaveLength(targetsOf(model).length);
    expect(exprs.filter(e => !e.includes('namespace="shop"'))).toEqual([]);
    const byDefault = serviceOverviewDashboard({ services: ['gateway', 'backend'] });
    expect(targetsOf(byDefault).map(t => t.target.expr)).toEqual(targetsOf(model).map(t => t.target.expr));
  });

  describe('fails on bad options', () => {
    test.each<[string, { services: string[]; namespace?: string }, string]>([
      ['no service', { services: [] }, '\'services\' must name at least one service, got []'],
      ['a service that is not a DNS label', { services: ['gateway', 'Back End'] }, '\'services[1]\' must be a lower-case DNS label of at most 63 characters, got "Back End"'],
      ['a service twice', { services: ['gateway', 'gateway'] }, '\'services\' must not list a service twice, got "gateway" twice'],
      ['a namespace that is not a DNS label', { services: ['gateway'], namespace: '' }, '\'namespace\' must be a lower-case DNS label of at most 63 characters, got ""'],
    ])('%s', (_, options, message) => {
      expect(() => serviceOverviewDashboard(options)).toThrow(`serviceOverviewDashboard: ${message}`);
    });
  });
});
