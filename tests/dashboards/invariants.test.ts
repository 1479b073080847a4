import { Grafana, dashboardDatasourceUids } from '../../lib/constructs/grafana';
import { DATASOURCE_UIDS, lokiDatasource, prometheusDatasource, tempoDatasource } from '../../lib/constructs/grafana-datasources';
import { DashboardModel, pipelineDashboard, serviceDashboards, serviceOverviewDashboard } from '../../lib/dashboards';
import { walkProperties } from '../../lib/private/walk';
import { QUOTES, WITH_LEDGER } from '../slo/services';
import { synth, testChart } from '../support/chart';
import { KNOWN_MACROS, Panel, concrete, overlapping, panelsOf, promtoolCheckExpressions, targetsOf, testRelease } from './support';

/**
 * The dashboards of the repository's services, the ledger (Istio metrics only) and quotes (other metric names, in
 * milliseconds), plus an overview of metrics without a route label.
 */
const SERVICES = serviceDashboards({ ...WITH_LEDGER, quotes: QUOTES }, testRelease);
const DASHBOARDS: ReadonlyArray<[string, DashboardModel]> = [
  ...SERVICES.map(d => [`${d.folder}/${d.dashboard.uid}`, d.dashboard] as [string, DashboardModel]),
  ['overview without route label', serviceOverviewDashboard({
    service: 'plain', namespace: 'plain', metrics: { ...QUOTES.metrics.http!, routeLabel: undefined, ignoreRoutes: [] },
  })],
  // a central topology's: every query filtered on the cluster variable
  ...serviceDashboards({ gateway: WITH_LEDGER.gateway, quotes: QUOTES }, testRelease, { clusters: ['apps-eu', 'apps-us'] })
    .map(d => [`central: ${d.folder}/${d.dashboard.uid}`, d.dashboard] as [string, DashboardModel]),
  ['pipeline with Alloy', pipelineDashboard({ shipper: 'alloy' })],
  ['pipeline with Promtail', pipelineDashboard({ shipper: 'promtail' })],
];
const PROVISIONED = Object.values(DATASOURCE_UIDS) as string[];
const promql = (model: DashboardModel): string[] =>
  targetsOf(model).filter(t => t.target.datasource.uid === DATASOURCE_UIDS.prometheus).map(t => t.target.expr);

describe.each(DASHBOARDS)('%s', (_, model) => {
  const panels = panelsOf(model);

  test('a readable uid Grafana accepts: at most 40 of [a-zA-Z0-9_-]', () => {
    expect(model.uid).toMatch(/^[a-z][a-z0-9-]{0,39}$/);
  });

  test('datasources by fixed uid only (prometheus, loki, tempo), as { type, uid } objects on every panel and query', () => {
    const used = dashboardDatasourceUids(model);
    expect(used.length).toBeGreaterThan(0);
    for (const uid of used) expect(PROVISIONED).toContain(uid);
    const refs: unknown[] = [];
    walkProperties(model, (key, inner) => {
      if (key === 'datasource') refs.push(inner);
    });
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const { uid } = ref as { uid?: unknown };
      // a provisioned uid, and nothing else on the reference than its type, which is the uid
      expect([ref, PROVISIONED.includes(uid as string)]).toEqual([{ type: uid, uid }, true]);
    }
    for (const p of panels.filter(x => x.type !== 'row' && x.type !== 'text')) {
      expect([p.title, p.datasource?.uid]).toEqual([p.title, expect.any(String)]);
      for (const t of p.targets) expect([p.title, t.datasource]).toEqual([p.title, p.datasource]);
    }
  });

  test('every panel has a unique id, every query a unique refId in its panel', () => {
    const ids = panels.map(p => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every(id => Number.isInteger(id) && id > 0)).toBe(true);
    for (const p of panels) {
      const refIds = (p.targets ?? []).map((t: any) => t.refId);
      expect(refIds.every((r: unknown) => typeof r === 'string')).toBe(true);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });

  test('the grid: inside 24 columns, no two panels overlapping, every panel titled and described', () => {
    for (const p of panels) {
      expect(p.gridPos.x).toBeGreaterThanOrEqual(0);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      expect(p.gridPos.h).toBeGreaterThan(0);
      expect(p.title).toEqual(expect.any(String));
      if (p.type !== 'row') expect(p.description).toEqual(expect.any(String));
    }
    expect(overlapping(panels)).toEqual([]);
  });

  test('small enough for a provisioned file (< 200 KB), plain JSON data, read-only', () => {
    const json = JSON.stringify(model);
    expect(Buffer.byteLength(json)).toBeLessThan(200 * 1024);
    expect(JSON.parse(json)).toEqual(model);
    expect(model.editable).toBe(false);
  });

  test('every $name in a query is a Grafana macro or a variable of the dashboard', () => {
    const variables = ((model.templating as { list?: Array<{ name: string }> }).list ?? []).map(v => `$${v.name}`);
    for (const { target } of targetsOf(model)) {
      for (const [name] of (target.expr as string).matchAll(/\$\w+/g)) expect([...KNOWN_MACROS, ...variables]).toContain(name);
    }
  });

  test('promtool parses every PromQL query (macros and variables made concrete)', () => {
    const exprs = promql(model).map(concrete);
    expect(exprs.length).toBeGreaterThan(4);
    expect(promtoolCheckExpressions(exprs)).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});

describe('the checks can fail', () => {
  test('promtool rejects a broken expression', () => {
    const broken = 'sum by (version) (rate(http_requests_total{app="gateway"}[2m])';
    expect(() => promtoolCheckExpressions(['vector(1)', broken])).toThrow(/promtool check rules failed:[\s\S]*parse error/);
  });

  test('concrete() refuses a variable it does not know', () => {
    expect(() => concrete('up{app="$servce"}')).toThrow('no concrete value for $servce');
  });

  test('overlapping() finds panels sharing cells', () => {
    const at = (title: string, x: number, y: number, w: number, h: number): Panel => ({ title, gridPos: { x, y, w, h } });
    expect(overlapping([at('a', 0, 0, 12, 8), at('b', 12, 0, 12, 8), at('c', 11, 7, 2, 2)])).toEqual([['a', 'c'], ['b', 'c']]);
  });
});

describe('provisioned by the Grafana construct', () => {
  const all = [prometheusDatasource({ url: 'http://prometheus:9090', scrapeInterval: '30s' }), lokiDatasource({ url: 'http://loki:3100' }),
    tempoDatasource({ url: 'http://tempo:3200' })];

  test('the services\' dashboards cover every kind', () => {
    expect(SERVICES.map(d => d.dashboard.uid)).toEqual(
      ['canary-backend', 'svc-backend', 'canary-gateway', 'svc-gateway', 'canary-ledger', 'canary-quotes', 'svc-quotes']);
  });

  test('every dashboard is accepted in its folder and its datasources resolve', () => {
    const chart = testChart();
    const grafana = new Grafana(chart, 'Grafana', { datasources: all });
    for (const dashboard of SERVICES) grafana.addDashboard(dashboard);
    const keys = (name: string): string[] => Object.keys(synth(chart).find(o => o.metadata.name === name)?.data ?? {}).sort();
    expect(keys('grafana-dashboards-canary')).toEqual(['canary-backend.json', 'canary-gateway.json', 'canary-ledger.json', 'canary-quotes.json']);
    expect(keys('grafana-dashboards-services')).toEqual(['svc-backend.json', 'svc-gateway.json', 'svc-quotes.json']);
  });

  test('without Loki provisioned, a service overview fails synth', () => {
    const chart = testChart();
    const grafana = new Grafana(chart, 'Grafana', { datasources: all.filter(d => d.uid !== 'loki') });
    grafana.addDashboard(SERVICES.find(d => d.dashboard.uid === 'svc-gateway')!);
    expect(() => synth(chart)).toThrow('dashboard Services/svc-gateway.json uses datasource uid "loki", which is not provisioned');
  });
});

describe('central topology: the service dashboards filter on the cluster', () => {
  const central = serviceDashboards({ gateway: WITH_LEDGER.gateway, quotes: QUOTES }, testRelease, { clusters: ['apps-eu', 'apps-us'] });

  test.each(central.map(d => [d.dashboard.uid, d.dashboard] as const))('%s: a cluster variable of the clusters, and every query on it', (_uid, model) => {
    const variable = ((model.templating as { list?: any[] } | undefined)?.list ?? []).find((v: any) => v.name === 'cluster');
    expect(variable.options.map((o: any) => o.value)).toEqual(['apps-eu', 'apps-us']);
    const exprs = targetsOf(model).map(t => t.target.expr as string);
    expect(exprs.length).toBeGreaterThan(3);
    // each selector of each query (PromQL and LogQL) names the cluster; `vector(…)` constants have none
    for (const expr of exprs) for (const selector of expr.match(/\{[^}]*\}/g) ?? []) expect(selector).toMatch(/cluster="\$cluster"/);
    // and no metric is read without a selector (a counter, a histogram or a recorded series followed by no `{`)
    const bare = /(?:\b[a-zA-Z_][a-zA-Z0-9_]*_(?:total|bucket|count|sum)|\b[a-z_]+:[a-zA-Z0-9_:]+)(?![a-zA-Z0-9_:{])/g;
    for (const expr of exprs) expect([expr, expr.match(bare)]).toEqual([expr, null]);
  });

  test('one cluster: no variable, no cluster matcher (the single-cluster dashboards unchanged)', () => {
    for (const { dashboard } of serviceDashboards({ gateway: WITH_LEDGER.gateway }, testRelease)) {
      expect(JSON.stringify(dashboard)).not.toContain('$cluster');
    }
  });
});
