import type { AlertingRule, RuleGroup } from '../constructs/prometheus-config';
import { show } from '../errors';
import { DELIVERY_DEFAULTS } from '../rollout/defaults';
import { parseDuration } from '../rollout/duration';
import { canaryCommand } from '../rollout/commands';
import type { SloSettings } from '../rollout/state';
import { SLO_DURATIONS } from '../rollout/state-schema';
import type { Services } from '../services/catalog';
import type { ServiceSpec } from '../services/service';
import { BurnRateWindow, SERVICE_LABELS, SLO_BURN_RECORDS, sloSourceOf } from './recording-rules';
import { toMillis } from './vocabulary';

/** How urgent an alert is: `page` wakes someone, `ticket` is for working hours. */
export type Severity = 'page' | 'ticket';

/** Names of the SLO alerts: routes, silences and the README refer to these, so they are a contract. */
export const SLO_ALERTS = {
  fastBurn: 'SloErrorBudgetFastBurn',
  slowBurn: 'SloErrorBudgetSlowBurn',
  steadyBurn: 'SloErrorBudgetSteadyBurn',
  latencyP95: 'SloLatencyP95High',
  latencyP99: 'SloLatencyP99High',
} as const;

/**
 * One multi-window burn-rate alert: it fires when both windows burn faster than its factor, which is either a share of
 * the budget spent in the long window (`budgetPercent`, scaled to the period) or a burn rate of its own (`factor`).
 */
export type BurnRateAlert = {
  readonly alert: string;
  readonly long: BurnRateWindow;
  readonly short: BurnRateWindow;
  readonly severity: Severity;
} & (
  /** The share of the period's error budget, in percent, that burning at the factor for the long window spends. */
  | { readonly budgetPercent: number; readonly factor?: undefined }
  /** A burn rate whatever the period: 1 is the rate that spends the budget exactly in the period. */
  | { readonly factor: number; readonly budgetPercent?: undefined }
);

/**
 * The three burn-rate alerts of the Google SRE workbook ("Alerting on SLOs", recommended parameters): 2 % of the budget
 * gone in 1 hour (checked against the last 5 minutes too) pages; 5 % in 6 hours (and the last 30 minutes) opens a
 * ticket, and so does any burn the budget cannot sustain (factor 1, the workbook's 10 % in 3 days of a 30-day period)
 * over 3 days and the last 6 hours. For a 30-day period the factors are the workbook's 14.4, 6 and 1; the first two
 * scale with the period ({@link burnRateFactor}), the last stays 1. The workbook pages on the 6-hour pair too; here it
 * is a ticket, so that only a burn that empties the budget within two days wakes someone.
 */
export const BURN_RATE_ALERTS: readonly BurnRateAlert[] = [
  { alert: SLO_ALERTS.fastBurn, budgetPercent: 2, long: '1h', short: '5m', severity: 'page' },
  { alert: SLO_ALERTS.slowBurn, budgetPercent: 5, long: '6h', short: '30m', severity: 'ticket' },
  { alert: SLO_ALERTS.steadyBurn, factor: 1, long: '3d', short: '6h', severity: 'ticket' },
];

/**
 * The fewest failed requests in the last hour (the fast burn's long window) for a burn rate to page: on a quiet service
 * one failure is a 100 % error ratio in both windows, and would page at night; an outage of a service with a request a
 * minute pages within minutes, and goes on paging (a count over 5 minutes sat on the threshold there, and flapped).
 */
export const PAGE_MIN_ERRORS = 5;

/** How long the p95/p99 latency must stay above the SLO before its alert fires. */
export const LATENCY_FOR = '10m';

/** The name of a service's SLO alert group: `slo-alerts-<service>`. */
export function sloAlertRuleGroupName(service: string): string {
  return `slo-alerts-${service}`;
}

/**
 * The burn rate at which `budgetPercent` of the error budget of `period` goes in `window`:
 * `budgetPercent / 100 × period / window`. For 30 days, 2 % in 1 hour is 14.4 and 5 % in 6 hours is 6, the workbook's
 * numbers; another period scales them so that each alert still means the same share of the budget (7 days: 3.36 and
 * 1.4). Rounded to 6 significant digits, so that the rule file reads well.
 */
export function burnRateFactor(budgetPercent: number, period: string, window: string): number {
  const factor = (budgetPercent * parseDuration(period, 'slo.period')) / (100 * parseDuration(window, 'window'));
  return Number(factor.toPrecision(6));
}

/**
 * The SLO alerts of every service, one group per service ({@link sloAlertRuleGroupName}) in name order, on the
 * service-level records of {@link SLO_BURN_RECORDS} (every track summed: what users see; a canary that burns is the
 * gate's business, and a bad canary at 10 % weight shows here only as far as it hurts users):
 * - {@link BURN_RATE_ALERTS}: error ratio above `factor × (1 − successRatio)` in both windows of a pair, with the factor
 *   scaled to `slo.period` ({@link burnRateFactor}); no `for`: the short window is what resets the alert quickly;
 * - the p95 (and p99, when the SLO sets one) above the SLO for {@link LATENCY_FOR}, as tickets: a percentile over a
 *   threshold says nothing about how much budget goes, so pages are left to the burn rates.
 *
 * Each alert carries `severity` and `service`, and `summary`, `description` and `runbook` annotations.
 *
 * @param services every service, keyed by its name, as `loadServices` returns them
 * @param sloOf the SLO of a service in this environment: `settingsOf(state, spec).slo`
 * @param environment the environment the rules watch, which the runbooks' `canary` commands name (the CLI's own
 *   default is `local`: a responder paged by prod must not read or roll back local's state)
 * @param dashboardUrl the address of a service's dashboard, for a `dashboard` annotation (where Grafana has a root URL)
 * @throws if a service is keyed by another name than its own, or if its objective and period make a burn-rate threshold
 *   an error ratio of 1 or more, which no service can reach
 */
export function sloAlertingRules(services: Services, sloOf: (service: string) => SloSettings, environment: string,
  dashboardUrl?: (service: string) => string): RuleGroup[] {
  return Object.keys(services).sort().map(key => {
    const spec = services[key];
    if (spec.name !== key) {
      throw new Error(`sloAlertingRules: 'services.${key}' has 'name' ${show(spec.name)}: key each service by its name, as loadServices does`);
    }
    const rules = serviceAlerts(spec, sloOf(spec.name), environment);
    // where the responder starts: the service's dashboard, one click from the notification
    const dashboard = dashboardUrl?.(spec.name);
    return {
      name: sloAlertRuleGroupName(spec.name),
      rules: dashboard === undefined ? rules : rules.map(r => ({ ...r, annotations: { ...r.annotations, dashboard } })),
    };
  });
}

function serviceAlerts(spec: ServiceSpec, slo: SloSettings, environment: string): AlertingRule[] {
  const source = sloSourceOf(spec);
  const records = SLO_BURN_RECORDS[source];
  const labels = SERVICE_LABELS[source];
  const selector = `{${labels.namespace}=${JSON.stringify(spec.namespace)},${labels.app}=${JSON.stringify(spec.name)}}`;
  const period = slo.period ?? DELIVERY_DEFAULTS.slo.period;
  const budget = 1 - slo.successRatio;
  const where = `${spec.name} (namespace ${spec.namespace}, ${source === 'istio' ? 'Istio\'s metrics' : 'its own metrics'})`;
  const dashboard = `Grafana's dashboard of ${spec.name}`;

  const burnRates = BURN_RATE_ALERTS.map((a): AlertingRule => {
    const factor = a.factor ?? burnRateFactor(a.budgetPercent, period, a.long);
    // the share of the budget the long window spends at the factor
    const spent = a.budgetPercent ?? Number(((100 * factor * parseDuration(a.long, 'window')) / parseDuration(period, 'slo.period')).toPrecision(3));
    if (factor * budget >= 1) {
      throw new Error(`sloAlertingRules: ${spec.file}: 'slo.successRatio' ${slo.successRatio} over 'slo.period' ${period} makes the ${a.alert} `
        + `threshold ${factor} × ${Number(budget.toPrecision(6))}, an error ratio of 1 or more that no service reaches: `
        + `raise successRatio above ${Number((1 - 1 / factor).toPrecision(6))} or shorten slo.period (at least ${SLO_DURATIONS.period.min})`);
    }
    const threshold = `(${factor} * (1 - ${slo.successRatio}))`;
    const enough = a.severity === 'page' ? `\nand\n${records.serviceErrors1h}${selector} >= ${PAGE_MIN_ERRORS}` : '';
    return {
      alert: a.alert,
      expr: `${records.serviceErrorRatio[a.long]}${selector} > ${threshold}\nand\n${records.serviceErrorRatio[a.short]}${selector} > ${threshold}${enough}`,
      labels: { severity: a.severity, service: spec.name },
      annotations: {
        summary: `${spec.name} is spending its error budget ${factor} times too fast`,
        description: `${where}: the 5xx ratio over the last ${a.long} and ${a.short} is above ${factor} × (1 − ${slo.successRatio})`
          + `${a.severity === 'page' ? `, with at least ${PAGE_MIN_ERRORS} failed requests in the last hour` : ''}; `
          + `at this rate ${spent} % of the ${period} error budget goes in ${a.long}.`,
        runbook: `Check whether a canary of ${spec.name} is in flight (${canaryCommand('status', environment, spec.name)}) and, if it is the `
          + `cause, roll it back from a checkout of the repository (${canaryCommand('rollback', environment, spec.name)} --commit --push); `
          + `otherwise compare the tracks and routes on ${dashboard} and follow the traces of failed requests in Tempo.`,
      },
    };
  });

  const unit = source === 'http' && spec.metrics.http ? toMillis(spec.metrics.http) : 1;
  const latency = ([
    [SLO_ALERTS.latencyP95, records.serviceLatencyP95, 'p95', slo.p95LatencyMs],
    [SLO_ALERTS.latencyP99, records.serviceLatencyP99, 'p99', slo.p99LatencyMs],
  ] as const).flatMap(([alert, record, quantile, limitMs]): AlertingRule[] => (limitMs === undefined ? [] : [{
    alert,
    // the record keeps the histogram's unit: the limit is written in it
    expr: `${record}${selector} > ${limitMs / unit}`,
    for: LATENCY_FOR,
    labels: { severity: 'ticket', service: spec.name },
    annotations: {
      summary: `${spec.name} is slower than its SLO: ${quantile} above ${limitMs} ms`,
      description: `${where}: the ${quantile} latency over 5 minutes, every track together, has been above ${limitMs} ms for ${LATENCY_FOR}.`,
      runbook: `Compare the tracks' latency on ${dashboard}; open the slowest traces in Tempo (exemplars link them) and check `
        + `${spec.name}'s dependencies and CPU throttling.`,
    },
  }]));

  return [...burnRates, ...latency];
}
