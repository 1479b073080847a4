import { EnvironmentConfig } from '../config/environment';
import { CanaryService } from '../constructs/canary-service';
import { ContainerResources, EnvValue, ServiceContainer, TrackPod } from '../constructs/types';
import { PodRecord, podRecordOf } from '../rollout/pod';
import { Services, containerResources } from '../services/catalog';
import { ServiceSpec } from '../services/service';

/** The in-cluster address of a service as its clients take it (`env: { X: { serviceUrl: name } }`): {@link CanaryService.urlOf}. */
export function urlOf(spec: ServiceSpec): string {
  return CanaryService.urlOf(spec.name, spec.namespace, spec.port, spec.protocol);
}

/** How a service's container runs in an environment: its file, with the environment's defaults where it is silent. */
export function containerOf(spec: ServiceSpec, env: EnvironmentConfig, services: Services): ServiceContainer {
  const variables: Record<string, EnvValue> = {};
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    variables[name] = typeof value === 'object' && 'serviceUrl' in value ? urlOf(services[value.serviceUrl]) : value;
  }
  return {
    port: spec.port,
    protocol: spec.protocol,
    // readiness, liveness and, when set, startupSeconds
    ...spec.probes,
    runAsUser: spec.runAsUser,
    runAsGroup: spec.runAsGroup ?? spec.runAsUser,
    writablePaths: spec.writablePaths ?? [],
    env: variables,
    secretEnv: spec.secretEnv ?? [],
    ...(spec.command ? { command: spec.command } : {}),
    ...(spec.args ? { args: spec.args } : {}),
    resources: containerResources(spec.resources?.[env.name]) ?? env.apps.resources,
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
    ...(spec.metrics.http ? { metricsScrape: spec.metrics.http.scrape } : {}),
  };
}

/**
 * What a release of a service in an environment would record as its pod: the configuration its file and the
 * environment's defaults give now (`canary start` compares it with stable's record, and records it for the canary).
 */
export function currentPod(spec: ServiceSpec, env: EnvironmentConfig, services: Services): PodRecord {
  return podRecordOf(containerOf(spec, env, services));
}

/** A track's recorded pod in the constructs' terms (quantities as numbers and sizes): what its Deployment renders. */
export function trackPodOf(record: PodRecord): TrackPod {
  const { command, args } = record;
  return {
    ...record.probes,
    runAsUser: record.runAsUser,
    runAsGroup: record.runAsGroup,
    writablePaths: record.writablePaths,
    env: record.env,
    secretEnv: record.secretEnv,
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    // the record always has resources: only an absent field has none
    resources: containerResources(record.resources) as ContainerResources,
    terminationGracePeriodSeconds: record.terminationGracePeriodSeconds,
    hash: record.hash,
  };
}
