/**
 * Grafana dashboards as code, built with `@grafana/grafana-foundation-sdk`: "Canary vs stable" for every service and
 * "Service overview" for every service with its own metrics, both from the service files, and the telemetry pipeline's
 * health. Each function returns the
 * dashboard model for `Grafana.addDashboard`; {@link serviceDashboards} returns them all with their folders.
 *
 * @packageDocumentation
 */

export { canaryDashboard, canaryDashboardUid } from './canary-dashboard';
export type { CanaryDashboardOptions } from './canary-dashboard';
export { serviceOverviewDashboard, serviceOverviewUid } from './service-overview';
export type { ServiceOverviewOptions } from './service-overview';
export { SERVICE_DASHBOARD_FOLDERS, serviceDashboards } from './service-dashboards';
export type { CanaryRelease, FolderedDashboard } from './service-dashboards';
export { PIPELINE_DASHBOARD_UID, pipelineDashboard } from './pipeline-dashboard';
export type { PipelineDashboardOptions } from './pipeline-dashboard';
export type { DashboardModel } from './private/panels';
