import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { POD_HASH_ANNOTATION } from '../../slo/cluster-state';
import { APP_LABEL, ISTIO, ISTIO_DURATION_BUCKETS_MS, TRACK_LABEL, Track, workloadName } from '../../slo/vocabulary';
import { EnvValue, ProbeCheck, ServiceContainer, ServiceTelemetry } from '../types';
import { containerPorts } from './component';
import { telemetryEnv } from './telemetry';
import { containerSecurityContext, injectedPodScratch, podSecurityContext, resourceRequirements, spreadReplicas } from './workload';

/** What one track's Deployment of a service needs. */
export interface ServiceDeploymentOptions {
  readonly service: string;
  readonly track: Track;
  readonly image: string;
  readonly replicas: number;
  readonly serviceAccountName: string;
  readonly container: ServiceContainer;
  /** @default - no variables injected */
  readonly telemetry?: ServiceTelemetry;
  /**
   * The hash of the recorded pod configuration the track runs, as the Deployment's {@link POD_HASH_ANNOTATION}.
   * @default - no annotation
   */
  readonly podHash?: string;
}

/**
 * Argo CD's sync wave of the services' Deployments and their budgets: after everything else of their namespace (wave
 * 0, the routes among it). A commit that removes a canary also moves its traffic (the gate's removal past a deadline,
 * a pull request): Argo CD prunes before it applies within a wave, so in one wave the canary's pods would go while the
 * route still sends them traffic. In the last wave nothing waits on a Deployment's health, and the objects before it
 * (Services, Istio's and the network's rules) are healthy once applied.
 */
export const SERVICE_WORKLOAD_SYNC_WAVE = { 'argocd.argoproj.io/sync-wave': '1' } as const;

/** The tag (or digest) of an image: the `service.version` its traces carry. */
export function imageVersion(image: string): string {
  const digest = image.indexOf('@');
  if (digest !== -1) return image.slice(digest + 1).replace('sha256:', 'sha256-').slice(0, 19);
  return image.slice(image.lastIndexOf(':') + 1);
}

/** The name of a service's port: what Istio reads the protocol from. */
export function portName(protocol: 'http' | 'grpc'): string {
  return protocol;
}

// Istio's sidecar injector rewrites HTTP, TCP and gRPC probes to its agent by default, which checks the app port past
// the traffic redirection: a TCP probe would otherwise always reach the sidecar and pass
// (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/)
function probe(check: ProbeCheck, c: ServiceContainer, timing: Pick<k8s.Probe, 'periodSeconds' | 'failureThreshold'>): k8s.Probe {
  const port = k8s.IntOrString.fromString(portName(c.protocol));
  const action: k8s.Probe = 'http' in check
    ? { httpGet: { path: check.http, port } }
    : 'grpc' in check ? { grpc: { port: c.port } } : { tcpSocket: { port } };
  return { ...action, timeoutSeconds: 2, ...timing };
}

/** How often a startup probe checks: a started app is seen within this, and the liveness probe takes over. */
const STARTUP_PERIOD_SECONDS = 5;

/** The liveness check, every {@link STARTUP_PERIOD_SECONDS}, until it passes or `seconds` have gone by. */
function startupProbe(c: ServiceContainer, seconds: number): k8s.Probe {
  return probe(c.liveness, c, { periodSeconds: STARTUP_PERIOD_SECONDS, failureThreshold: Math.ceil(seconds / STARTUP_PERIOD_SECONDS) });
}

function envVar(name: string, value: EnvValue): k8s.EnvVar {
  return typeof value === 'string' ? { name, value } : { name, valueFrom: { fieldRef: { fieldPath: value.fieldRef } } };
}

/**
 * The Deployment of one track, `<service>-<track>`: pods labelled `app` and `version` (no `app.kubernetes.io/version`,
 * so Istio reports the track as the version), the restricted security context with the service's uid, probes as the
 * service file says, the telemetry variables, and — when the service has its own metrics — the Prometheus annotations
 * that Istio's metrics merging turns into one scrape of app and sidecar metrics.
 */
export function serviceDeployment(scope: Construct, id: string, o: ServiceDeploymentOptions): k8s.KubeDeployment {
  const c = o.container;
  const name = workloadName(o.service, o.track);
  const selector = { [APP_LABEL]: o.service, [TRACK_LABEL]: o.track };
  // a canary's replicas follow its traffic; stable's stay what the environment says
  const spread = spreadReplicas(scope, {
    name, replicas: o.replicas, selector, kind: 'Deployment', replicasVary: o.track === 'canary', annotations: SERVICE_WORKLOAD_SYNC_WAVE,
  });
  const volumes = c.writablePaths.map((mountPath, i) => ({ name: `writable-${i}`, mountPath }));
  return new k8s.KubeDeployment(scope, id, {
    metadata: {
      name, labels: { ...selector },
      annotations: { ...SERVICE_WORKLOAD_SYNC_WAVE, ...(o.podHash ? { [POD_HASH_ANNOTATION.name]: o.podHash } : {}) },
    },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: selector },
      // a surge pod first, so capacity never drops during a rollout
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
      template: {
        metadata: {
          labels: selector,
          annotations: {
            ...(c.metricsScrape ? {
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': String(c.metricsScrape.port),
              'prometheus.io/path': c.metricsScrape.path,
            } : {}),
            // the app may call other services and the Collector through the sidecar: start it first, and let it stop
            // once the app's connections are closed (the app has exited), not 5 s after SIGTERM (Istio's default for a
            // classic sidecar, which failed the app's calls still in flight and its last flush of spans)
            'proxy.istio.io/config': JSON.stringify({ holdApplicationUntilProxyStarts: true, proxyMetadata: { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true' } }),
            // denser where latency limits are set: the gate's p95 is read from this histogram
            // (a prefix of stat names: the request duration's alone, not the request and response sizes')
            'sidecar.istio.io/statsHistogramBuckets': JSON.stringify({ [`istiocustom.${ISTIO.duration}`]: ISTIO_DURATION_BUCKETS_MS }),
            'kubectl.kubernetes.io/default-container': o.service,
            // the writable paths and what the sidecar's injection adds: scratch, which the cluster autoscaler may drop
            ...injectedPodScratch(volumes.map(v => v.name)),
          },
        },
        spec: {
          serviceAccountName: o.serviceAccountName,
          // the sidecar gets its identity from its own projected token; the app never calls the API server
          automountServiceAccountToken: false,
          securityContext: podSecurityContext({ user: c.runAsUser, group: c.runAsGroup }),
          terminationGracePeriodSeconds: c.terminationGracePeriodSeconds,
          ...spread,
          containers: [{
            name: o.service,
            image: o.image,
            ...(c.command ? { command: [...c.command] } : {}),
            ...(c.args ? { args: [...c.args] } : {}),
            ports: containerPorts([{ name: portName(c.protocol), port: c.port }]),
            env: [
              ...(o.telemetry ? telemetryEnv({
                serviceName: o.service, serviceVersion: imageVersion(o.image), track: o.track, environment: o.telemetry.environment,
                otlpEndpoint: o.telemetry.otlpEndpoint, samplingRatio: o.telemetry.samplingRatio,
              }) : []),
              // the Secrets' first: the kubelet expands a $(VAR) in a value only from the variables listed before it, and a
              // connection string in env names the password from secretEnv (DATABASE_URL: postgres://app:$(DB_PASSWORD)@db)
              ...c.secretEnv.map(s => ({ name: s.name, valueFrom: { secretKeyRef: { name: s.secret, key: s.key } } })),
              ...Object.entries(c.env).map(([envName, value]) => envVar(envName, value)),
            ],
            readinessProbe: probe(c.readiness, c, { periodSeconds: 5, failureThreshold: 2 }),
            livenessProbe: probe(c.liveness, c, { periodSeconds: 10, failureThreshold: 3 }),
            ...(c.startupSeconds !== undefined ? { startupProbe: startupProbe(c, c.startupSeconds) } : {}),
            resources: resourceRequirements(c.resources),
            securityContext: containerSecurityContext(),
            ...(volumes.length > 0 ? { volumeMounts: volumes.map(v => ({ name: v.name, mountPath: v.mountPath })) } : {}),
          }],
          ...(volumes.length > 0 ? { volumes: volumes.map(v => ({ name: v.name, emptyDir: {} })) } : {}),
        },
      },
    },
  });
}
