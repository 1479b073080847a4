import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  DOWNWARD_API_ENV, ENV, IMAGE, OTEL_ENV, PATHS, ServiceContract, Track, minTerminationGracePeriodSeconds, otelResourceAttributes,
} from '../../../apps/contract';
import { ContainerResources } from '../types';
import { containerPorts } from './component';
import { containerSecurityContext, fieldEnv, httpProbe, podSecurityContext, resourceRequirements, spreadReplicas } from './workload';

/** What one track's Deployment of a service needs. */
export interface ServiceDeploymentOptions {
  readonly contract: ServiceContract;
  readonly track: Track;
  readonly image: string;
  readonly replicas: number;
  readonly serviceAccountName: string;
  /** Environment variables specific to the service (the gateway's backend URL, for example). */
  readonly env: Readonly<Record<string, string>>;
  readonly otlpEndpoint: string;
  readonly traceSamplingRatio: number;
  /** `deployment.environment` of the traces. */
  readonly environmentName: string;
  readonly logLevel: string;
  readonly resources: ContainerResources;
}

/** The tag (or digest) of an image: the `service.version` its traces carry. */
export function imageVersion(image: string): string {
  const digest = image.indexOf('@');
  if (digest !== -1) return image.slice(digest + 1).replace('sha256:', 'sha256-').slice(0, 19);
  return image.slice(image.lastIndexOf(':') + 1);
}

/**
 * The Deployment of one track, `<service>-<track>`: pods labelled `app` and `version` (no `app.kubernetes.io/version`,
 * so Istio reports the track as the version), the run contract's environment, probes on its health paths, and the
 * Prometheus annotations that Istio's metrics merging turns into one scrape of app and sidecar metrics.
 */
export function serviceDeployment(scope: Construct, id: string, o: ServiceDeploymentOptions): k8s.KubeDeployment {
  const name = `${o.contract.name}-${o.track}`;
  const selector = { app: o.contract.name, version: o.track };
  const spread = spreadReplicas(scope, { name, replicas: o.replicas, selector, kind: 'Deployment' });
  return new k8s.KubeDeployment(scope, id, {
    metadata: { name, labels: { app: o.contract.name, version: o.track } },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: selector },
      // a surge pod first, so capacity never drops during a rollout
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
      template: {
        metadata: {
          labels: selector,
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(o.contract.defaultPort),
            'prometheus.io/path': PATHS.metrics,
            // the app calls the backend and the Collector through the sidecar: start it first
            'proxy.istio.io/config': JSON.stringify({ holdApplicationUntilProxyStarts: true }),
            'kubectl.kubernetes.io/default-container': o.contract.name,
          },
        },
        spec: {
          serviceAccountName: o.serviceAccountName,
          // the sidecar gets its identity from its own projected token; the app never calls the API server
          automountServiceAccountToken: false,
          securityContext: podSecurityContext({ user: IMAGE.runAsUser, group: IMAGE.runAsGroup }),
          terminationGracePeriodSeconds: minTerminationGracePeriodSeconds() + 8,
          ...spread,
          containers: [{
            name: o.contract.name,
            image: o.image,
            ports: containerPorts([{ name: 'http', port: o.contract.defaultPort }]),
            env: [
              { name: ENV.port, value: String(o.contract.defaultPort) },
              { name: ENV.appVersion, value: o.track },
              { name: ENV.logLevel, value: o.logLevel },
              ...Object.entries(o.env).map(([envName, value]) => ({ name: envName, value })),
              fieldEnv(DOWNWARD_API_ENV.podName, 'metadata.name'),
              fieldEnv(DOWNWARD_API_ENV.podNamespace, 'metadata.namespace'),
              fieldEnv(DOWNWARD_API_ENV.nodeName, 'spec.nodeName'),
              { name: OTEL_ENV.serviceName, value: o.contract.name },
              {
                name: OTEL_ENV.resourceAttributes,
                value: otelResourceAttributes({ serviceVersion: imageVersion(o.image), environment: o.environmentName }),
              },
              { name: OTEL_ENV.exporterEndpoint, value: o.otlpEndpoint },
              { name: OTEL_ENV.tracesSampler, value: 'parentbased_traceidratio' },
              { name: OTEL_ENV.tracesSamplerArg, value: String(o.traceSamplingRatio) },
            ],
            readinessProbe: httpProbe(PATHS.readiness, 'http', { periodSeconds: 5, failureThreshold: 2 }),
            livenessProbe: httpProbe(PATHS.liveness, 'http', { periodSeconds: 10, failureThreshold: 3 }),
            resources: resourceRequirements(o.resources),
            securityContext: containerSecurityContext(),
          }],
        },
      },
    },
  });
}
