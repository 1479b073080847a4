import { show } from '../errors';
import type { Services } from '../services/catalog';
import { CanaryDashboardOptions, canaryDashboard } from './canary-dashboard';
import { DashboardModel } from './private/panels';
import { serviceOverviewDashboard } from './service-overview';

/** What a service's canary dashboard shows beyond its service file: the release, as the rollout state has it. */
export type CanaryRelease = Omit<CanaryDashboardOptions, 'service' | 'namespace'>;

/** A dashboard and the Grafana folder it belongs in: what `Grafana.addDashboard` takes. */
export interface FolderedDashboard {
  /** The Grafana folder. */
  readonly folder: string;
  /** The dashboard model. */
  readonly dashboard: DashboardModel;
}

/** The Grafana folders of the services' dashboards. */
export const SERVICE_DASHBOARD_FOLDERS = {
  /** "Canary vs stable" of every service. */
  canary: 'Canary',
  /** The overview of every service with its own metrics. */
  overview: 'Services',
} as const;

/**
 * The dashboards of the services, in name order: a "Canary vs stable" dashboard for every service, from Istio's
 * metrics in its namespace, and a service overview for every service whose file declares `metrics.http`, from the
 * metric names that file gives. A service is named in the dashboards exactly when it is in `services`.
 *
 * @param services every service, keyed by its name, as `loadServices` returns them
 * @param releaseOf the release of a service (SLO, weight, images, the gate's window), called once per service
 * @throws if a service is keyed by another name than its own, or a dashboard's options are out of range
 */
export function serviceDashboards(services: Services, releaseOf: (service: string) => CanaryRelease,
  options: { readonly clusters?: readonly string[] } = {}): FolderedDashboard[] {
  return Object.keys(services).sort().flatMap(key => {
    const spec = services[key];
    if (spec.name !== key) {
      throw new Error(`serviceDashboards: 'services.${key}' has 'name' ${show(spec.name)}: key each service by its name, as loadServices does`);
    }
    const { name: service, namespace } = spec;
    const http = spec.metrics.http;
    return [
      {
        folder: SERVICE_DASHBOARD_FOLDERS.canary,
        dashboard: canaryDashboard({ ...releaseOf(service), service, namespace, ...(options.clusters ? { clusters: options.clusters } : {}) }),
      },
      ...(http ? [{
        folder: SERVICE_DASHBOARD_FOLDERS.overview,
        dashboard: serviceOverviewDashboard({ service, namespace, metrics: http, ...(options.clusters ? { clusters: options.clusters } : {}) }),
      }] : []),
    ];
  });
}
