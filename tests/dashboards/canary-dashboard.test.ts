import { CanaryDashboardOptions, canaryDashboard, canaryDashboardUid } from '../../lib/dashboards';
import { KIALI_PORT_FORWARD_CONSOLE, kialiServiceGraphUrl } from '../../lib/dashboards/canary-dashboard';
import { panelTitled, panelsOf, targetsOf } from './support';

const OPTIONS: CanaryDashboardOptions = {
  service: 'gateway',
  namespace: 'apps',
  slo: { successRatio: 0.99, p95LatencyMs: 250, p99LatencyMs: 700 },
  canaryWeight: 25,
  stableImage: 'ghcr.io/obs-canary/gateway:1.4.0',
  canaryImage: 'ghcr.io/obs-canary/gateway:1.5.0',
};

const dashboard = (overrides: Partial<CanaryDashboardOptions> = {}): Record<string, any> => canaryDashboard({ ...OPTIONS, ...overrides });
const steps = (panel: Record<string, any>): unknown => panel.fieldConfig.defaults.thresholds?.steps;

describe('canaryDashboard', () => {
  const model = dashboard();

  test('uid canary-<service> and a title naming the service', () => {
    expect(model.uid).toBe('canary-gateway');
    expect(model.title).toBe('Canary vs stable: gateway');
    expect(canaryDashboardUid('backend')).toBe('canary-backend');
    expect(dashboard({ service: 'backend' }).uid).toBe('canary-backend');
  });

  test('the exact PromQL, legend and refId of every query, from the destination sidecar\'s metrics', () => {
    // pinned requests left out, as the gate leaves them out
    const both = 'reporter="destination",destination_workload_namespace="apps",canary_pin!="always",destination_workload=~"gateway-stable|gateway-canary"';
    const canary = 'reporter="destination",destination_workload_namespace="apps",canary_pin!="always",destination_workload="gateway-canary"';
    const all = (w: string): string => `sum by (destination_workload) (rate(istio_requests_total{${both}}[${w}]))`;
    // the groups that had requests: an idle one gives no ratio, not NaN
    const busy = (w: string): string => `(${all(w)} > 0)`;
    const ri = '$__rate_interval';
    // failed: a 5xx, or a gRPC call that failed on the server (HTTP 200 with its own status)
    const failed = (selector: string, w: string): string => `(rate(istio_requests_total{${selector},response_code=~"5.."}[${w}])`
      + ` or rate(istio_requests_total{${selector},response_code!~"5..",grpc_response_status=~"2|4|12|13|14|15"}[${w}]))`;
    const callers = 'reporter="source",destination_service_namespace="apps",destination_service_name="gateway",canary_pin!="always"';
    expect(targetsOf(model).map(({ panel, target }) => [panel.title, target.refId, target.expr, target.legendFormat])).toEqual([
      ['Configured canary weight', 'A', 'vector(25)', 'configured canary weight'],
      ['Observed canary traffic share (5m)', 'A',
        `100 * (sum(rate(istio_requests_total{${canary}}[5m])) or vector(0)) / sum(rate(istio_requests_total{${both}}[5m]))`,
        'observed canary share'],
      // as the gate counts: the failures only the callers saw add to the requests and the failures
      ['Success ratio (5m)', 'A', (() => {
        const failedBy = (selector: string) => `sum by (destination_workload) (${failed(selector, '5m')})`;
        const tracks = `${callers},destination_workload=~"gateway-stable|gateway-canary"`;
        const served = `(${all('5m')} or ${failedBy(tracks)} * 0)`;
        const servedFailed = `(${failedBy(both)} or ${served} * 0)`;
        const unseen = `clamp_min((${failedBy(tracks)} or ${served} * 0) - ${servedFailed}, 0)`;
        return `1 - (${servedFailed} + ${unseen}) / ((${served} + ${unseen}) > 0)`;
      })(), '{{destination_workload}}'],
      ['Request rate by version', 'A', all(ri), '{{destination_workload}}'],
      ['Traffic share by version', 'A', `100 * ${all(ri)} / scalar(sum(rate(istio_requests_total{${both}}[${ri}])))`, '{{destination_workload}}'],
      ['Traffic share by version', 'B', 'vector(25)', 'configured canary weight'],
      ['Error ratio by version', 'A',
        `sum by (destination_workload) (${failed(both, ri)}) / ${busy(ri)} or ${busy(ri)} * 0`,
        '{{destination_workload}}'],
      ['Callers\' failed requests by destination (reporter="source")', 'A',
        `sum by (destination_workload, response_code, grpc_response_status) (${failed(callers, ri)})`,
        '{{destination_workload}} {{response_code}} {{grpc_response_status}}'],
      ['p95 latency by version', 'A',
        `histogram_quantile(0.95, sum by (destination_workload, le) (rate(istio_request_duration_milliseconds_bucket{${both}}[${ri}])))`,
        '{{destination_workload}}'],
      ['p99 latency by version', 'A',
        `histogram_quantile(0.99, sum by (destination_workload, le) (rate(istio_request_duration_milliseconds_bucket{${both}}[${ri}])))`,
        '{{destination_workload}}'],
    ]);
  });

  test('stat panels query one instant, time series a range', () => {
    for (const { panel, target } of targetsOf(model)) {
      expect([panel.title, target.instant ?? false]).toEqual([panel.title, panel.type === 'stat']);
    }
  });

  test('the SLO limits are drawn where they apply: success ratio, error ratio (1 − success ratio), p95 and p99', () => {
    expect(steps(panelTitled(model, 'Success ratio (5m)'))).toEqual([{ value: null, color: 'red' }, { value: 0.99, color: 'green' }]);
    const errors = panelTitled(model, 'Error ratio by version');
    expect(steps(errors)).toEqual([{ value: null, color: 'transparent' }, { value: 0.01, color: 'red' }]);
    expect(errors.fieldConfig.defaults.custom.thresholdsStyle).toEqual({ mode: 'dashed+area' });
    for (const [title, limit] of [['p95 latency by version', 250], ['p99 latency by version', 700]] as const) {
      const panel = panelTitled(model, title);
      expect(steps(panel)).toEqual([{ value: null, color: 'transparent' }, { value: limit, color: 'red' }]);
      expect(panel.fieldConfig.defaults.unit).toBe('ms');
      expect(panel.fieldConfig.defaults.custom.thresholdsStyle).toEqual({ mode: 'dashed+area' });
    }
  });

  test('without a p99 SLO the p99 panel draws no limit, and says so', () => {
    const panel = panelTitled(dashboard({ slo: { successRatio: 0.95, p95LatencyMs: 300 } }), 'p99 latency by version');
    expect(steps(panel)).toBeUndefined();
    expect(panel.fieldConfig.defaults.custom.thresholdsStyle).toBeUndefined();
    expect(panel.description).toContain('no p99 limit');
  });

  test('the configured weight: a stat, a dashed constant series beside the observed share, and the release notes', () => {
    expect(panelTitled(model, 'Configured canary weight').fieldConfig.defaults.unit).toBe('percent');
    const share = panelTitled(model, 'Traffic share by version');
    expect(share.fieldConfig.overrides).toEqual([{
      matcher: { id: 'byFrameRefID', options: 'B' },
      properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'custom.fillOpacity', value: 0 }],
    }]);
    const notes = panelTitled(model, 'Release').options.content;
    expect(notes).toContain('**Stable:** `ghcr.io/obs-canary/gateway:1.4.0`');
    expect(notes).toContain('**Canary:** `ghcr.io/obs-canary/gateway:1.5.0` at **25 %** of the traffic');
    expect(notes).toContain('success ratio ≥ 99 %, p95 ≤ 250 ms, p99 ≤ 700 ms');
    expect(model.description).toContain('canary weight 25 %');
  });

  test('the observed share turns green from the configured weight times the traffic factor', () => {
    const title = 'Observed canary traffic share (5m)';
    expect(steps(panelTitled(model, title))).toEqual([{ value: null, color: 'red' }, { value: 12.5, color: 'green' }]);
    expect(steps(panelTitled(dashboard({ canaryTrafficFactor: 0.2 }), title))).toEqual([{ value: null, color: 'red' }, { value: 5, color: 'green' }]);
    expect(panelTitled(model, title).fieldConfig.defaults.noValue).toBe('no traffic');
  });

  test('no canary in flight: weight 0 everywhere, no red for a share of 0', () => {
    const idle = dashboard({ canaryWeight: 0, canaryImage: undefined });
    expect(targetsOf(idle).filter(t => t.target.legendFormat === 'configured canary weight').map(t => t.target.expr)).toEqual(['vector(0)', 'vector(0)']);
    expect(steps(panelTitled(idle, 'Observed canary traffic share (5m)'))).toEqual([{ value: null, color: 'text' }]);
    expect(panelTitled(idle, 'Release').options.content).toContain('**Canary:** none in flight');
  });

  test('namespace and window options change the selectors and the stat windows', () => {
    const other = dashboard({ namespace: 'shop', window: '10m' });
    const exprs = targetsOf(other).map(t => t.target.expr).filter(e => e.includes('istio_'));
    expect(exprs.length).toBeGreaterThan(0);
    expect(exprs.filter(e => !e.includes('_namespace="shop"'))).toEqual([]);
    expect(panelTitled(other, 'Success ratio (10m)').targets[0].expr).toContain('[10m]');
    expect(panelTitled(other, 'Observed canary traffic share (10m)').targets[0].expr).not.toContain('[5m]');
  });

  test('defaults: the gate\'s window (5m) and traffic factor (0.5)', () => {
    const explicit = dashboard({ window: '5m', canaryTrafficFactor: 0.5 });
    expect(targetsOf(model).map(t => t.target.expr)).toEqual(targetsOf(explicit).map(t => t.target.expr));
    expect(steps(panelTitled(model, 'Observed canary traffic share (5m)'))).toEqual(steps(panelTitled(explicit, 'Observed canary traffic share (5m)')));
  });

  test('the service names its workloads (<service>-stable, <service>-canary) and the callers\' destination service', () => {
    const ledger = dashboard({
      service: 'ledger', namespace: 'payments', stableImage: 'ghcr.io/example/ledger:3.0.0', canaryImage: 'ghcr.io/example/ledger:3.1.0',
    });
    const exprs = targetsOf(ledger).map(t => t.target.expr as string).filter(e => e.includes('istio_'));
    const ofLedger = /destination_workload=~"ledger-stable\|ledger-canary"|destination_workload="ledger-canary"|destination_service_name="ledger"/;
    expect(exprs.filter(e => !ofLedger.test(e))).toEqual([]);
    expect(JSON.stringify(ledger)).not.toMatch(/gateway|"apps"|namespace=\\"apps/);
  });

  test('links the service\'s Kiali graph (workloads, over the window): through a port-forward by default, and says so', () => {
    const notes = panelTitled(model, 'Release').options.content;
    const url = 'http://localhost:20001/kiali/console/graph/node/namespaces/apps/services/gateway?graphType=workload&duration=300';
    expect(notes).toContain(`**Mesh:** [gateway in Kiali](${url}) (while \`kubectl -n observability port-forward svc/kiali 20001\` runs)`);
    expect(KIALI_PORT_FORWARD_CONSOLE).toBe('http://localhost:20001/kiali/console');
  });

  test('kialiConsoleUrl: the link goes to Kiali\'s root URL, with the window in seconds', () => {
    const notes = panelTitled(dashboard({ kialiConsoleUrl: 'https://kiali.example.com/kiali/console', window: '10m' }), 'Release').options.content;
    expect(notes).toContain(
      '**Mesh:** [gateway in Kiali](https://kiali.example.com/kiali/console/graph/node/namespaces/apps/services/gateway?graphType=workload&duration=600)',
    );
    expect(notes).not.toContain('port-forward');
    expect(kialiServiceGraphUrl('https://kiali.example.com/kiali/console/', 'shop', 'backend', 60))
      .toBe('https://kiali.example.com/kiali/console/graph/node/namespaces/shop/services/backend?graphType=workload&duration=60');
  });

  test('in the application clusters of a central topology: no link to a Kiali that cannot see their meshes', () => {
    const notes = panelTitled(dashboard({ kialiConsoleUrl: 'https://kiali.example.com/kiali/console', clusters: ['apps-eu', 'apps-us'] }), 'Release')
      .options.content;
    expect(notes).toContain('**Mesh:** gateway runs in the application clusters, whose meshes this environment\'s Kiali does not see');
    expect(notes).not.toContain('kiali.example.com');
  });

  test('rows Release, Traffic, Errors, Latency, each line filling the 24 columns', () => {
    const panels = panelsOf(model);
    expect(panels.filter(p => p.type === 'row').map(p => p.title)).toEqual(['Release', 'Traffic', 'Errors', 'Latency']);
    const widthByLine = new Map<number, number>();
    for (const p of panels) widthByLine.set(p.gridPos.y, (widthByLine.get(p.gridPos.y) ?? 0) + p.gridPos.w);
    expect([...widthByLine.values()].every(w => w === 24)).toBe(true);
  });

  describe('fails on options out of range', () => {
    test.each<[string, Partial<CanaryDashboardOptions>, string]>([
      ['a service that is not a DNS label', { service: 'Gateway' }, '\'service\' must be a lower-case DNS label of at most 33 characters (the dashboard uid is canary-<service>), got "Gateway"'],
      ['a service too long for the uid', { service: 'a'.repeat(34) }, `'service' must be a lower-case DNS label of at most 33 characters (the dashboard uid is canary-<service>), got "${'a'.repeat(34)}"`],
      ['a namespace that is not a DNS label', { namespace: 'apps"}' }, '\'namespace\' must be a lower-case DNS label of at most 63 characters, got "apps\\"}"'],
      ['a weight above 100', { canaryWeight: 101 }, '\'canaryWeight\' must be an integer from 0 to 100 (0: no canary), got 101'],
      ['a fractional weight', { canaryWeight: 2.5 }, '\'canaryWeight\' must be an integer from 0 to 100 (0: no canary), got 2.5'],
      ['a negative weight', { canaryWeight: -1 }, '\'canaryWeight\' must be an integer from 0 to 100 (0: no canary), got -1'],
      ['a success ratio of 0', { slo: { successRatio: 0, p95LatencyMs: 300 } }, '\'slo.successRatio\' must be a number greater than 0 and at most 1, got 0'],
      ['a success ratio above 1', { slo: { successRatio: 95, p95LatencyMs: 300 } }, '\'slo.successRatio\' must be a number greater than 0 and at most 1, got 95'],
      ['a p95 limit of 0', { slo: { successRatio: 0.95, p95LatencyMs: 0 } }, '\'slo.p95LatencyMs\' must be a number greater than 0'],
      ['a negative p99 limit', { slo: { successRatio: 0.95, p95LatencyMs: 300, p99LatencyMs: -5 } }, '\'slo.p99LatencyMs\' must be a number greater than 0'],
      ['a traffic factor above 1', { canaryTrafficFactor: 2 }, '\'canaryTrafficFactor\' must be a number greater than 0 and at most 1, got 2'],
      ['a window that is not a duration', { window: 'soon' }, '\'window\' must be a duration such as 30s, 5m or 1h30m, got "soon"'],
      ['an empty window', { window: '0s' }, '\'window\' must be longer than 0, got "0s"'],
      ['a Kiali console that is not a URL', { kialiConsoleUrl: 'kiali/console' }, '\'kialiConsoleUrl\' must be an absolute http(s) URL, got "kiali/console"'],
    ])('%s', (_, overrides, message) => {
      expect(() => dashboard(overrides)).toThrow(`canaryDashboard: ${message}`);
    });
  });
});
