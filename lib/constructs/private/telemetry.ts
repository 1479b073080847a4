// types only: the service catalog reads TELEMETRY_ENV_NAMES, and the CLI should not load cdk8s-plus for it
import type { k8s } from 'cdk8s-plus-28';

/**
 * The standard OpenTelemetry SDK variables the platform sets on a service's container (the SDKs of every language
 * read them), and the downward-API variables their resource attributes refer to.
 */
export const OTEL_ENV = {
  serviceName: 'OTEL_SERVICE_NAME',
  resourceAttributes: 'OTEL_RESOURCE_ATTRIBUTES',
  exporterEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  exporterProtocol: 'OTEL_EXPORTER_OTLP_PROTOCOL',
  tracesSampler: 'OTEL_TRACES_SAMPLER',
  tracesSamplerArg: 'OTEL_TRACES_SAMPLER_ARG',
} as const;

/** Variables from the pod's own fields, declared before {@link OTEL_ENV} so that its attributes can refer to them. */
export const DOWNWARD_API_ENV = {
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  nodeName: 'NODE_NAME',
} as const;

/** Every variable the platform sets when a service's telemetry is on: a service's own `env` may not set them. */
export const TELEMETRY_ENV_NAMES: readonly string[] = [...Object.values(DOWNWARD_API_ENV), ...Object.values(OTEL_ENV)];

/** The resource attribute that carries the track (`stable` or `canary`): not a semantic convention, so namespaced. */
export const TRACK_ATTRIBUTE = 'obs_canary.track';

/** What {@link telemetryEnv} needs. */
export interface TelemetryEnvOptions {
  /** `service.name`. */
  readonly serviceName: string;
  /** `service.version`: the image tag or short digest. */
  readonly serviceVersion: string;
  /** The track of the pod. */
  readonly track: string;
  /** `deployment.environment`, such as `prod`. */
  readonly environment: string;
  /** The OTLP gRPC endpoint of the Collector. */
  readonly otlpEndpoint: string;
  /** Head sampling ratio, parent-based. */
  readonly samplingRatio: number;
}

/**
 * The variables that make any OpenTelemetry SDK export the service's spans to the Collector over OTLP gRPC, sampled
 * parent-based at the environment's ratio, with the resource attributes the dashboards and Tempo search use.
 *
 * @throws if a value would break the `k=v,k=v` list of resource attributes
 */
export function telemetryEnv(o: TelemetryEnvOptions): k8s.EnvVar[] {
  const attributes: Record<string, string> = {
    'service.version': o.serviceVersion,
    'deployment.environment': o.environment,
    [TRACK_ATTRIBUTE]: o.track,
    'k8s.pod.name': `$(${DOWNWARD_API_ENV.podName})`,
    'k8s.namespace.name': `$(${DOWNWARD_API_ENV.podNamespace})`,
    'k8s.node.name': `$(${DOWNWARD_API_ENV.nodeName})`,
  };
  for (const [key, value] of Object.entries(attributes)) {
    if (!/^[\w.:/$()-]+$/.test(value)) throw new Error(`resource attribute ${key} must be a non-empty value without spaces, commas or '=', got "${value}"`);
  }
  return [
    { name: DOWNWARD_API_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: DOWNWARD_API_ENV.podNamespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: DOWNWARD_API_ENV.nodeName, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    { name: OTEL_ENV.serviceName, value: o.serviceName },
    { name: OTEL_ENV.resourceAttributes, value: Object.entries(attributes).map(([k, v]) => `${k}=${v}`).join(',') },
    { name: OTEL_ENV.exporterEndpoint, value: o.otlpEndpoint },
    { name: OTEL_ENV.exporterProtocol, value: 'grpc' },
    { name: OTEL_ENV.tracesSampler, value: 'parentbased_traceidratio' },
    { name: OTEL_ENV.tracesSamplerArg, value: String(o.samplingRatio) },
  ];
}
