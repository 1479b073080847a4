import type { CanaryRelease } from '../../lib/dashboards';

/** A panel of a dashboard model, as the tests read it. */
export type Panel = Record<string, any>;

/** Every panel, rows included, in order (panels of collapsed rows after their row). */
export function panelsOf(model: Record<string, unknown>): Panel[] {
  return ((model.panels ?? []) as Panel[]).flatMap(p => [p, ...(p.panels ?? [])]);
}

/** The panel with this title; fails when there is none or more than one. */
export function panelTitled(model: Record<string, unknown>, title: string): Panel {
  const found = panelsOf(model).filter(p => p.title === title && p.type !== 'row');
  if (found.length !== 1) throw new Error(`expected one panel titled ${JSON.stringify(title)}, found ${found.length}`);
  return found[0];
}

/** Every query of every panel, with its panel. */
export function targetsOf(model: Record<string, unknown>): Array<{ panel: Panel; target: Record<string, any> }> {
  return panelsOf(model).flatMap(panel => ((panel.targets ?? []) as Array<Record<string, any>>).map(target => ({ panel, target })));
}

/** Pairs of panels whose grid rectangles intersect, by title. */
export function overlapping(panels: readonly Panel[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  panels.forEach((a, i) => panels.slice(i + 1).forEach(b => {
    const g = a.gridPos;
    const h = b.gridPos;
    if (g.x < h.x + h.w && h.x < g.x + g.w && g.y < h.y + h.h && h.y < g.y + g.h) pairs.push([a.title, b.title]);
  }));
  return pairs;
}

/** Values that stand in for Grafana's macros and this project's template variables before promtool reads a query. */
const CONCRETE: Readonly<Record<string, string>> = {
  $__rate_interval: '2m',
  $__interval: '30s',
  $__range: '1h',
  $level: '.+',
  // a central topology's cluster variable
  $cluster: 'apps-eu',
};

/**
 * The query with each macro and variable replaced by a concrete value.
 *
 * @throws on a `$name` it does not know, so that a typo in a variable fails a test instead of reaching promtool
 */
export function concrete(expr: string): string {
  return expr.replace(/\$\w+/g, name => {
    const value = CONCRETE[name];
    if (value === undefined) throw new Error(`no concrete value for ${name} in ${expr}`);
    return value;
  });
}

/** The Grafana macros and variables {@link concrete} knows. */
export const KNOWN_MACROS = Object.keys(CONCRETE).filter(k => k.startsWith('$__'));

/** Moved to tests/support/promtool.ts beside promtoolCheckConfig; re-exported for the dashboard tests. */
export { promtoolCheckExpressions } from '../support/promtool';

/** A release for every service: gateway with a canary at 10 %, every other service without one. */
export function testRelease(service: string): CanaryRelease {
  const slo = { successRatio: 0.95, p95LatencyMs: 300, p99LatencyMs: 800 };
  return service === 'gateway'
    ? { slo, canaryWeight: 10, stableImage: 'gateway:1', canaryImage: 'gateway:2' }
    : { slo, canaryWeight: 0, stableImage: `${service}:1` };
}
