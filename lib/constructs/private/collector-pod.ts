import { k8s } from 'cdk8s-plus-28';
import { COLLECTOR_PORTS } from '../otel-collector-config';
import { ContainerResources } from '../types';
import { containerPorts } from './component';
import { containerSecurityContext, goMemLimitEnv, httpProbe, resourceRequirements } from './workload';

/** Where the Collector's container mounts its ConfigMap (`config.yaml`). */
const CONFIG_DIR = '/conf';

/** What differs between the Collectors that run the container: the gateway's Deployment and the node agents. */
export interface CollectorContainerProps {
  readonly name: string;
  readonly image: string;
  readonly resources: ContainerResources;
  /** Variables besides `GOMEMLIMIT`. */
  readonly env?: readonly k8s.EnvVar[];
  /** Mounts besides the config's (the volume named `config`, from {@link collectorConfigVolume}). */
  readonly volumeMounts?: readonly k8s.VolumeMount[];
}

/**
 * The OpenTelemetry Collector's container, the same wherever it runs: its config from the `config` volume, OTLP,
 * health-check and metrics ports ({@link COLLECTOR_PORTS}), probes on the health check, `GOMEMLIMIT` under the limit.
 */
export function collectorContainer(props: CollectorContainerProps): k8s.Container {
  return {
    name: props.name,
    image: props.image,
    args: [`--config=${CONFIG_DIR}/config.yaml`],
    env: [
      // the Go runtime collects garbage before the memory_limiter has to refuse data
      goMemLimitEnv(props.resources),
      ...props.env ?? [],
    ],
    ports: containerPorts([COLLECTOR_PORTS.otlpGrpc, COLLECTOR_PORTS.otlpHttp, COLLECTOR_PORTS.health, COLLECTOR_PORTS.metrics]),
    readinessProbe: httpProbe('/', COLLECTOR_PORTS.health.name, { periodSeconds: 10 }),
    livenessProbe: httpProbe('/', COLLECTOR_PORTS.health.name, { periodSeconds: 15, failureThreshold: 6 }),
    resources: resourceRequirements(props.resources),
    securityContext: containerSecurityContext(),
    volumeMounts: [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }, ...props.volumeMounts ?? []],
  };
}

/** The `config` volume {@link collectorContainer} mounts: the ConfigMap holding `config.yaml`. */
export function collectorConfigVolume(configMap: string): k8s.Volume {
  return { name: 'config', configMap: { name: configMap } };
}
