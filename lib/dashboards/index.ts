/**
 * Grafana dashboards as code, built with `@grafana/grafana-foundation-sdk`: "Canary vs stable" per service and
 * "Service overview". Each function returns the dashboard model for `Grafana.addDashboard`.
 *
 * @packageDocumentation
 */

export { canaryDashboard, canaryDashboardUid } from './canary-dashboard';
export type { CanaryDashboardOptions } from './canary-dashboard';
export { SERVICE_OVERVIEW_UID, serviceOverviewDashboard } from './service-overview';
export type { ServiceOverviewOptions } from './service-overview';
export type { DashboardModel } from './private/panels';
