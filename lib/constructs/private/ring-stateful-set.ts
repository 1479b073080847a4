import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { show, validationError } from '../../errors';
import { ContainerResources } from '../types';
import { DATA_VOLUME, ServicePort, containerPorts, dataVolumeClaim, service, statefulSet } from './component';
import {
  containerSecurityContext, goMemLimitEnv, httpProbe, podLabels, podSecurityContext, resourceRequirements, selectorLabels, spreadReplicas,
} from './workload';

/** Where Loki, Tempo and Mimir answer 200 once their modules are running (their readiness probe). */
export const RING_READY_PATH = '/ready';

/**
 * The replicas a ring of Loki or Mimir may have: 1, or 3 to 9. With 2, a write's quorum (replication factor 2 or 3)
 * needs both, so every restart of one (a rollout, a node drain) stops the writes.
 */
export const RING_REPLICAS = {
  allowed: '1, or 3 to 9 (replication factor 3: with 2, every restart stops the writes)',
  accepts: (replicas: number): boolean => Number.isInteger(replicas) && (replicas === 1 || (replicas >= 3 && replicas <= 9)),
} as const;

/** @throws unless `replicas` is one {@link RING_REPLICAS} accepts */
export function checkRingReplicas(scope: IConstruct, replicas: number): void {
  if (!RING_REPLICAS.accepts(replicas)) throw validationError(scope, `'replicas' must be ${RING_REPLICAS.allowed}, got ${show(replicas)}`);
}

/** What differs between the Grafana databases that run as one binary (`-target=all`) on a ring: Loki and Mimir. */
export interface RingStatefulSetProps {
  readonly name: string;
  /** The `app.kubernetes.io/component` of the pods: the signal they store. */
  readonly component: string;
  readonly image: string;
  readonly replicas: number;
  readonly ports: { readonly http: ServicePort; readonly grpc: ServicePort; readonly memberlist: ServicePort };
  /**
   * The headless Service the ring's members find each other by (memberlist on {@link ports}.memberlist); without it
   * the binary keeps its rings in memory and opens no memberlist port.
   */
  readonly memberlistService?: string;
  readonly serviceAccountName: string;
  /** Labels besides the component's (workload identity's). */
  readonly podLabels?: Readonly<Record<string, string>>;
  readonly podAnnotations: Readonly<Record<string, unknown>>;
  /** Where the config ConfigMap is mounted; the binary reads `config.yaml` there. */
  readonly configMap: { readonly name: string; readonly mountPath: string };
  /** Arguments after `-config.file` and `-target=all`. */
  readonly args: readonly string[];
  /** Variables besides GOMEMLIMIT, which follows the memory limit. */
  readonly env: readonly k8s.EnvVar[];
  readonly livenessProbe: k8s.Probe;
  readonly resources: ContainerResources;
  /** Mounts and volumes besides the config, the data volume and `/tmp`. */
  readonly volumeMounts?: readonly k8s.VolumeMount[];
  readonly volumes?: readonly k8s.Volume[];
  /** The data volume's mount path, and its claim. */
  readonly dataDir: string;
  readonly volumeSize: Size;
  readonly storageClassName?: string;
}

/**
 * A Grafana database in monolithic mode (`-target=all`) as a StatefulSet: its Service, the headless Service that
 * governs the StatefulSet (each replica's DNS name), the memberlist Service when it has a ring, a spread over nodes
 * and zones with a disruption budget, and the pods: uid 10001, `/ready` for readiness, a data volume per replica and
 * a scratch `/tmp`. Members start in parallel and get five minutes to flush on shutdown.
 */
export function ringStatefulSet(scope: Construct, props: RingStatefulSetProps): k8s.KubeStatefulSet {
  const { name, ports } = props;
  service(scope, name, [ports.http, ports.grpc]);
  // the StatefulSet's governing Service must be headless: it gives each replica its DNS name (<name>-0.<name>-headless)
  const headless = service(scope, name, [ports.http, ports.grpc], {
    id: 'HeadlessService', name: `${name}-headless`, headless: true, publishNotReadyAddresses: true,
  });
  if (props.memberlistService !== undefined) {
    service(scope, name, [ports.memberlist], { id: 'MemberlistService', name: props.memberlistService, headless: true, publishNotReadyAddresses: true });
  }
  const spread = spreadReplicas(scope, { name, replicas: props.replicas, selector: selectorLabels(name), kind: 'StatefulSet' });

  return statefulSet(scope, {
    metadata: { name },
    spec: {
      // immutable: a StatefulSet rendered with another serviceName must be deleted (--cascade=orphan) to change it
      serviceName: headless.name,
      replicas: props.replicas,
      // replicas of a ring join and leave independently; ordered start-up would only slow a restart down
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selectorLabels(name) },
      template: {
        metadata: {
          labels: { ...props.podLabels, ...podLabels(name, props.component) },
          // values may be Lazy (a checksum of what is added later): cdk8s resolves them at synth
          annotations: { ...props.podAnnotations } as Record<string, string>,
        },
        spec: {
          serviceAccountName: props.serviceAccountName,
          automountServiceAccountToken: false,
          securityContext: podSecurityContext({ user: 10001, group: 10001 }),
          // the ingester flushes and closes its head cleanly; a kill means a longer write-ahead log replay on start
          terminationGracePeriodSeconds: 300,
          ...spread,
          containers: [{
            name,
            image: props.image,
            args: [`-config.file=${props.configMap.mountPath}/config.yaml`, '-target=all', ...props.args],
            // Go lets the heap grow to twice what is live before it collects: without a soft limit under the hard
            // one, a query or a compaction takes the pod past its limit and the kernel kills it (a WAL replay and a
            // ring rejoin follow)
            env: [goMemLimitEnv(props.resources), ...props.env],
            ports: containerPorts(props.memberlistService !== undefined ? [ports.http, ports.grpc, ports.memberlist] : [ports.http, ports.grpc]),
            readinessProbe: httpProbe(RING_READY_PATH, ports.http.name, { initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 2 }),
            livenessProbe: props.livenessProbe,
            resources: resourceRequirements(props.resources),
            securityContext: containerSecurityContext(),
            volumeMounts: [
              { name: 'config', mountPath: props.configMap.mountPath, readOnly: true },
              ...props.volumeMounts ?? [],
              { name: DATA_VOLUME, mountPath: props.dataDir },
              // retention markers and other scratch files
              { name: 'tmp', mountPath: '/tmp' },
            ],
          }],
          volumes: [
            { name: 'config', configMap: { name: props.configMap.name } },
            ...props.volumes ?? [],
            { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
          ],
        },
      },
      volumeClaimTemplates: [dataVolumeClaim(props.volumeSize, props.storageClassName)],
    },
  });
}
