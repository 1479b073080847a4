import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { METRICS } from '../../apps/contract';
import { DEFAULT_NAMESPACE } from '../../lib/services/service';
import { KSM_METRICS, POD_HASH_ANNOTATION, ROUTE_WEIGHT, WEIGHTED_ROUTE } from '../../lib/slo/cluster-state';
import { CANARY_PIN, ISTIO, Track, workloadName } from '../../lib/slo/vocabulary';

type ServiceName = string;

/** Traffic to one track of a service, as the test wants Prometheus to see it. */
export interface TrackTraffic {
  /** Requests per second that reach the track's pods. */
  readonly rps: number;
  /**
   * Share of those answered 503.
   * @default 0
   */
  readonly errorRatio?: number;
  /**
   * Latency of every request, in milliseconds.
   * @default 20
   */
  readonly latencyMs?: number;
  /**
   * Requests per second that fail at the callers (503 reported by `reporter="source"`) without reaching the pods, as
   * with a crashing pod.
   * @default 0
   */
  readonly callerOnlyErrorRps?: number;
  /**
   * Requests per second pinned to the track (`x-canary: always`: Istio labels them `canary_pin="always"`), every one
   * answered 503 after 5 s: traffic that must not count.
   * @default 0
   */
  readonly pinnedFailingRps?: number;
}

/** Traffic to both tracks of a service. */
export type ServiceTraffic = Readonly<Record<Track, TrackTraffic>>;

/** One track's Deployment as kube-state-metrics would report it: one pod running `image`, available or not. */
export interface TrackDeployment {
  readonly image: string;
  readonly available: boolean;
  /** The recorded pod configuration's hash the Deployment carries (its annotation), if any. */
  readonly podHash?: string;
}

/** What the cluster runs of a service, as Argo CD and the pods left it: its Deployments and its route's weights. */
export interface ClusterState {
  readonly stable: TrackDeployment;
  /** Absent: no canary Deployment. */
  readonly canary?: TrackDeployment;
  /** The canary subset's weight in the weighted route (0 to 100); absent: a route to stable alone. */
  readonly canaryWeight?: number;
}

/** Istio's default request duration buckets, in milliseconds. */
const ISTIO_BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
const TRACKS: readonly Track[] = ['stable', 'canary'];

/** Requests each counter holds before a test's traffic, all answered in no time (a bucket's count below any bound). */
const HISTORY = 1_000_000;

interface Counters {
  ok: number;
  errors: number;
  callerOnlyErrors: number;
  pinnedErrors: number;
  probes: number;
  /** Observations per latency in ms, of answered (200) and failed (503) requests apart. */
  latencies: Record<'ok' | 'errors', Map<number, number>>;
}

/**
 * A loopback HTTP target that serves what Prometheus would scrape from a mesh running `<svc>-stable` and `<svc>-canary`:
 * `istio_requests_total` and `istio_request_duration_milliseconds_bucket` from both reporters on `/metrics`, and each
 * service's own `http_*` metrics on `/http/<service>` (the scrape job adds `namespace` and `app`, as the cluster's
 * does). Counters grow with wall-clock time at the rates the test sets, so `increase()` sees real samples.
 * `test_traffic_epoch{service}` counts the test's changes of a service's traffic, on both paths: a window in which its
 * minimum over every scrape job is the current epoch holds only samples of the current traffic.
 *
 * It serves a {@link MeshMetrics} from a worker thread of its own (tests/support/mesh-metrics-worker.ts): a test that
 * blocks its own thread (a synchronous git command, a spawn under load) would otherwise make scrapes at short intervals
 * time out, and leave holes in the windows the gate measures.
 */
export class MeshMetricsTarget {
  /** Starts the target on a free loopback port. */
  public static async start(): Promise<MeshMetricsTarget> {
    // the worker is plain Node.js, outside jest's transform: it loads TypeScript through the repository's hook
    const worker = new Worker(path.join(__dirname, 'mesh-metrics-worker.ts'), {
      execArgv: ['--require', path.join(__dirname, '..', '..', 'tools', 'ts-hook.cjs')],
    });
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('message', (message: { port: number }) => resolve(message.port));
      worker.once('error', reject);
      worker.once('exit', code => reject(new Error(`the metrics target's worker exited with ${code} before it listened`)));
    });
    worker.removeAllListeners();
    return new MeshMetricsTarget(worker, port);
  }

  private readonly epochs = new Map<ServiceName, number>();
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker, private readonly port: number) {
    worker.on('error', error => (this.failure = error));
  }

  /** `host:port`, for a scrape config. */
  public get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /**
   * Sets a service's traffic from now on and returns the new epoch; the target serves it as soon as its thread has
   * read the message (wait for the epoch in Prometheus).
   *
   * @throws the worker's error, when it failed
   */
  public setTraffic(service: ServiceName, traffic: ServiceTraffic, namespace: string = DEFAULT_NAMESPACE): number {
    if (this.failure) throw this.failure;
    const epoch = (this.epochs.get(service) ?? 0) + 1;
    this.epochs.set(service, epoch);
    this.worker.postMessage({ service, namespace, traffic, epoch } satisfies TrafficMessage);
    return epoch;
  }

  /**
   * Sets what the cluster runs of a service from now on (what kube-state-metrics reports on `/ksm`) and returns the new
   * epoch, `test_cluster_epoch{service}` there (wait for it in Prometheus).
   */
  public setCluster(service: ServiceName, cluster: ClusterState, namespace: string = DEFAULT_NAMESPACE): number {
    if (this.failure) throw this.failure;
    const epoch = (this.clusterEpochs.get(service) ?? 0) + 1;
    this.clusterEpochs.set(service, epoch);
    this.worker.postMessage({ service, namespace, cluster, epoch } satisfies ClusterMessage);
    return epoch;
  }

  private readonly clusterEpochs = new Map<ServiceName, number>();

  /** Stops serving. */
  public async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** What the test's thread tells the target's: a service's traffic from now on, and its epoch. */
export interface TrafficMessage {
  readonly service: ServiceName;
  /** The namespace its workloads run in. */
  readonly namespace: string;
  readonly traffic: ServiceTraffic;
  readonly epoch: number;
}

/** What the test's thread tells the target's: what the cluster runs of a service from now on, and its epoch. */
export interface ClusterMessage {
  readonly service: ServiceName;
  readonly namespace: string;
  readonly cluster: ClusterState;
  readonly epoch: number;
}

/** The metrics a {@link MeshMetricsTarget} serves, rendered per request path; counters advance on every request. */
export class MeshMetrics {
  private readonly traffic = new Map<ServiceName, ServiceTraffic>();
  private readonly epochs = new Map<ServiceName, number>();
  private readonly namespaces = new Map<ServiceName, string>();
  private readonly counters = new Map<string, Counters>();
  private last = Date.now();

  private readonly clusters = new Map<ServiceName, ClusterMessage>();

  /** The exposition for a request path (`/metrics`, `/http/<service>` or `/ksm`), or undefined for any other path. */
  public render(url: string): string | undefined {
    this.tick();
    if (url === '/ksm') return this.clusterState();
    const match = /^\/http\/(\w+)$/.exec(url);
    return url === '/metrics' ? this.istio() : match ? this.httpMetrics(match[1] as ServiceName) : undefined;
  }

  /** Sets what the cluster runs of a service. */
  public setCluster(message: ClusterMessage): void {
    this.clusters.set(message.service, message);
  }

  /** kube-state-metrics' series of each service's Deployments, pods and route, with the labels it writes. */
  private clusterState(): string {
    const lines = ['# TYPE test_cluster_epoch gauge'];
    const m = KSM_METRICS;
    for (const { service, namespace, cluster, epoch } of this.clusters.values()) {
      lines.push(`test_cluster_epoch{service="${service}"} ${epoch}`);
      for (const track of TRACKS) {
        const deployment = cluster[track];
        if (!deployment) continue;
        const name = workloadName(service, track);
        const d = `namespace="${namespace}",deployment="${name}"`;
        // a new image is a new ReplicaSet, as the Deployment controller names it
        const replicaSet = `${name}-${deployment.image.replace(/[^a-z0-9]/g, '').slice(-10)}`;
        const pod = `${replicaSet}-p0`;
        lines.push(
          `${m.deploymentSpecReplicas}{${d}} 1`, `${m.deploymentReplicas}{${d}} 1`, `${m.deploymentReplicasUpdated}{${d}} 1`,
          `${m.deploymentReplicasAvailable}{${d}} ${deployment.available ? 1 : 0}`,
          `${m.deploymentObservedGeneration}{${d}} 1`, `${m.deploymentMetadataGeneration}{${d}} 1`,
          `${m.deploymentCondition}{${d},condition="Available",status="true",reason="MinimumReplicasAvailable"} ${deployment.available ? 1 : 0}`,
          `${m.deploymentAnnotations}{${d}${deployment.podHash ? `,${POD_HASH_ANNOTATION.label}="${deployment.podHash}"` : ''}} 1`,
          `${m.replicaSetOwner}{namespace="${namespace}",replicaset="${replicaSet}",owner_kind="Deployment",owner_name="${name}",owner_is_controller="true"} 1`,
          `${m.podOwner}{namespace="${namespace}",pod="${pod}",uid="${pod}",owner_kind="ReplicaSet",owner_name="${replicaSet}",owner_is_controller="true"} 1`,
          `${m.podStatusPhase}{namespace="${namespace}",pod="${pod}",uid="${pod}",phase="Running"} 1`,
          `${m.podContainerInfo}{namespace="${namespace}",pod="${pod}",uid="${pod}",container="${service}",image_spec="${deployment.image}",`
            + `image="${deployment.image}",image_id="",container_id="containerd://${pod}"} 1`,
        );
      }
      const route = `namespace="${namespace}",virtualservice="${service}",route="${WEIGHTED_ROUTE}",host="${service}.${namespace}.svc.cluster.local"`;
      const canaryWeight = cluster.canaryWeight;
      // the VirtualService always has its weighted route: stable's alone (100) while no canary is in it
      lines.push(`${ROUTE_WEIGHT.metric}{${route},subset="stable"} ${100 - (canaryWeight ?? 0)}`);
      if (canaryWeight !== undefined) lines.push(`${ROUTE_WEIGHT.metric}{${route},subset="canary"} ${canaryWeight}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /** Sets a service's traffic from now on, under `epoch`. */
  public setTraffic({ service, namespace, traffic, epoch }: TrafficMessage): void {
    this.tick();
    this.traffic.set(service, traffic);
    this.namespaces.set(service, namespace);
    this.epochs.set(service, epoch);
  }

  private countersOf(service: ServiceName, track: Track): Counters {
    const key = `${service}/${track}`;
    let c = this.counters.get(key);
    if (!c) {
      // every series starts with history, as a long-running pod's do: rate() then extrapolates each to the window's edges
      // alike, where a counter that began near zero inside a window is extrapolated only to its zero, and a bucket that
      // a new latency has just filled would count less than +Inf (a p95 of 49.4 instead of 48.8 ms, now and then)
      c = {
        ok: HISTORY, errors: HISTORY, callerOnlyErrors: HISTORY, pinnedErrors: HISTORY, probes: HISTORY,
        latencies: { ok: new Map([[0, HISTORY]]), errors: new Map([[0, HISTORY]]) },
      };
      this.counters.set(key, c);
    }
    return c;
  }

  private tick(): void {
    const now = Date.now();
    const seconds = (now - this.last) / 1000;
    this.last = now;
    for (const [service, traffic] of this.traffic) {
      for (const track of TRACKS) {
        const t = traffic[track];
        const c = this.countersOf(service, track);
        const errors = t.rps * seconds * (t.errorRatio ?? 0);
        const ok = t.rps * seconds - errors;
        c.errors += errors;
        c.ok += ok;
        c.callerOnlyErrors += (t.callerOnlyErrorRps ?? 0) * seconds;
        c.pinnedErrors += (t.pinnedFailingRps ?? 0) * seconds;
        c.probes += seconds;
        observe(c.latencies.errors, t.latencyMs ?? 20, errors);
        observe(c.latencies.ok, t.latencyMs ?? 20, ok);
      }
    }
  }

  private istio(): string {
    const lines = [
      '# TYPE test_traffic_epoch gauge',
      ...[...this.epochs].map(([service, epoch]) => `test_traffic_epoch{service="${service}"} ${epoch}`),
      '# TYPE istio_requests_total counter',
    ];
    const buckets: string[] = ['# TYPE istio_request_duration_milliseconds histogram'];
    for (const service of this.traffic.keys()) {
      for (const track of TRACKS) {
        const c = this.countersOf(service, track);
        for (const reporter of ['destination', 'source']) {
          const namespace = this.namespaces.get(service) ?? DEFAULT_NAMESPACE;
          const labels = `reporter="${reporter}",source_workload="loadgen",source_workload_namespace="${namespace}",`
            + `destination_workload="${service}-${track}",destination_workload_namespace="${namespace}",destination_app="${service}",`
            + `destination_version="${track}",destination_service_name="${service}"`;
          const errors = reporter === 'source' ? c.errors + c.callerOnlyErrors : c.errors;
          // as the services' namespaces label them (lib/constructs/mesh-policies.ts): no header is "unknown"
          const traffic = `${labels},${ISTIO.pin}="unknown"`;
          const pinned = `${labels},${ISTIO.pin}="${CANARY_PIN.value}"`;
          lines.push(`istio_requests_total{${traffic},response_code="200"} ${c.ok}`, `istio_requests_total{${traffic},response_code="503"} ${errors}`,
            `istio_requests_total{${pinned},response_code="503"} ${c.pinnedErrors}`);
          for (const le of [...ISTIO_BUCKETS_MS.map(String), '+Inf']) {
            const upTo = le === '+Inf' ? Infinity : Number(le);
            buckets.push(`istio_request_duration_milliseconds_bucket{${traffic},le="${le}"} ${observedUpTo(c, upTo)}`,
              `istio_request_duration_milliseconds_bucket{${pinned},le="${le}"} ${upTo >= 5000 ? c.pinnedErrors : HISTORY}`);
          }
        }
      }
    }
    return `${[...lines, ...buckets].join('\n')}\n`;
  }

  private httpMetrics(service: ServiceName): string {
    if (!this.traffic.has(service)) return '';
    // the epoch again: this job is scraped at its own times, so a window of its samples needs checking by itself
    const lines = ['# TYPE test_traffic_epoch gauge', `test_traffic_epoch{service="${service}"} ${this.epochs.get(service)}`, '# TYPE http_requests_total counter'];
    const buckets = ['# TYPE http_request_duration_seconds histogram'];
    for (const track of TRACKS) {
      const c = this.countersOf(service, track);
      const series = [['/api/items', '200', c.ok, 'ok'], ['/api/items', '503', c.errors, 'errors'], ['/healthz', '200', c.probes, undefined]] as const;
      for (const [route, status, count, outcome] of series) {
        const labels = `method="GET",route="${route}",status_code="${status}",version="${track}"`;
        lines.push(`http_requests_total{${labels}} ${count}`);
        for (const le of [...METRICS.buckets.map(String), '+Inf']) {
          const upTo = le === '+Inf' ? Infinity : Number(le) * 1000;
          // probes are fast: every one falls in the first bucket
          const value = outcome === undefined ? count : observedUpTo(c, upTo, [outcome]);
          buckets.push(`http_request_duration_seconds_bucket{${labels},le="${le}"} ${value}`);
        }
      }
    }
    return `${[...lines, ...buckets].join('\n')}\n`;
  }
}

/** Observations of `outcomes` no slower than `upToMs`: a counter, like a histogram bucket, whatever the traffic did before. */
function observedUpTo(c: Counters, upToMs: number, outcomes: readonly (keyof Counters['latencies'])[] = ['ok', 'errors']): number {
  let total = 0;
  for (const outcome of outcomes) for (const [latency, count] of c.latencies[outcome]) if (latency <= upToMs) total += count;
  return total;
}

function observe(latencies: Map<number, number>, latencyMs: number, count: number): void {
  latencies.set(latencyMs, (latencies.get(latencyMs) ?? 0) + count);
}
