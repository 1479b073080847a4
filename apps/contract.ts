/**
 * The run contract of the demo services: what the Kubernetes manifests, the tests and operators may rely on.
 *
 * It stays free of runtime imports (no koa, pino or OpenTelemetry) and holds plain data plus two pure helpers.
 *
 * Note: these are the demo's own facts, for the services, the tests, the smoke run and `bench/`. The manifests
 * (`lib/`, `main.ts`, `scripts/`) must not import `apps/` (eslint.config.mjs enforces it): they keep the facts they
 * need on their side, and tests may compare the two. Keep every export the tests or `bench/` use.
 *
 * @packageDocumentation
 */

/** The name of a demo service; also its `app` label and its default `service.name`. */
export type ServiceName = 'gateway' | 'backend';

/** A release track; the pod's `version` label, `APP_VERSION` and the `version` metric label carry the same value. */
export type Track = 'stable' | 'canary';

/** How one service is run. */
export interface ServiceContract {
  /** The service name (`app` label, default `OTEL_SERVICE_NAME`). */
  readonly name: ServiceName;
  /** The port the service listens on when `PORT` is not set; the container port. */
  readonly defaultPort: number;
  /** The compiled entry file, relative to {@link IMAGE.workingDir}. */
  readonly entry: string;
  /** The compiled OpenTelemetry bootstrap, preloaded with `--require` so that it patches modules before Koa loads. */
  readonly otelBootstrap: string;
  /** The container command (`CMD` of the image), equal to `['node', '--require', otelBootstrap, entry]`. */
  readonly command: readonly string[];
  /** The npm script that runs the TypeScript sources locally from the repository root. */
  readonly npmScript: string;
}

function service(name: ServiceName, defaultPort: number): ServiceContract {
  const entry = `build/apps/${name}/src/main.js`;
  const otelBootstrap = `./build/apps/${name}/src/otel.js`;
  return { name, defaultPort, entry, otelBootstrap, command: ['node', '--require', otelBootstrap, entry], npmScript: `start:${name}` };
}

/** Per service: ports and how the image starts it. */
export const SERVICES: Readonly<Record<ServiceName, ServiceContract>> = {
  gateway: service('gateway', 8080),
  backend: service('backend', 8081),
};

/** Facts about the container images built from `apps/<service>/Dockerfile` (build context: the repository root). */
export const IMAGE = {
  /** The working directory; {@link ServiceContract.entry} paths are relative to it. */
  workingDir: '/app',
  /** The non-root user the images run as (`node` in the official Node.js images). */
  runAsUser: 1000,
  /** The group of that user. */
  runAsGroup: 1000,
  /** The services write nothing to disk, so the root filesystem can be mounted read-only. */
  readOnlyRootFilesystem: true,
} as const;

/** The release tracks, stable first. */
export const TRACKS: readonly Track[] = ['stable', 'canary'];

/** Environment variables the services read. */
export const ENV = {
  /** TCP port to listen on (0 picks a free port, logged in the `listening` line). Default: the service's `defaultPort`. */
  port: 'PORT',
  /** Gateway only: base URL of the backend, e.g. `http://backend:8081`. Default `http://localhost:8081`. */
  backendUrl: 'BACKEND_URL',
  /** Gateway only: time budget of one backend call in milliseconds (whole response), then 504. Default 2000. */
  backendTimeoutMs: 'BACKEND_TIMEOUT_MS',
  /** The track, `stable` or `canary` (the pod's `version` label). Default `stable`. */
  appVersion: 'APP_VERSION',
  /** pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Default `info`. */
  logLevel: 'LOG_LEVEL',
  /**
   * Milliseconds between SIGTERM and closing the listener, while `/readyz` answers 503 so that endpoints are removed
   * before connections are refused. SIGINT (a person at a terminal) skips it. Default 5000.
   */
  shutdownDelayMs: 'SHUTDOWN_DELAY_MS',
  /**
   * How many proxies in front of the service append to `X-Forwarded-For`, from 0 to 10: the client address (the `ip`
   * of the access log, `client.address` of the server span) is the entry the outermost of them wrote, so entries a
   * client sends itself are never taken for its address. 0 ignores the header. Behind Istio's ingress gateway: 1 (the
   * sidecar does not append), plus the ingress gateway's `numTrustedProxies`. Default 0.
   */
  trustedProxyCount: 'TRUSTED_PROXY_COUNT',
} as const;

/** Standard OpenTelemetry variables the manifests set; the SDK reads them, the services add no meaning of their own. */
export const OTEL_ENV = {
  /** `service.name`. Default: the service name. */
  serviceName: 'OTEL_SERVICE_NAME',
  /** Extra resource attributes, `k=v,k=v`; see {@link otelResourceAttributes}. */
  resourceAttributes: 'OTEL_RESOURCE_ATTRIBUTES',
  /** OTLP gRPC endpoint of the collector, e.g. `http://otel-collector.observability:4317`. Default `http://localhost:4317`. */
  exporterEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  /** Sampler name; the manifests use `parentbased_traceidratio`. Default `parentbased_always_on`. */
  tracesSampler: 'OTEL_TRACES_SAMPLER',
  /** Sampler argument, the ratio for `*_traceidratio` samplers, e.g. `0.1`. */
  tracesSamplerArg: 'OTEL_TRACES_SAMPLER_ARG',
  /** Span queue bound of the batch processor: spans beyond it are dropped, which bounds memory. Default 2048. */
  bspMaxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
  /** Batch processor delay between exports in milliseconds. Default 5000. */
  bspScheduleDelay: 'OTEL_BSP_SCHEDULE_DELAY',
  /** Timeout of one OTLP export in milliseconds. Default 10000. */
  exporterTimeout: 'OTEL_EXPORTER_OTLP_TIMEOUT',
  /** Routes the SDK's own diagnostics to the JSON log at this level (`error`, `warn`, …). Default: off. */
  logLevel: 'OTEL_LOG_LEVEL',
} as const;

/** Downward-API variables the manifests define so that {@link otelResourceAttributes} can reference them. */
export const DOWNWARD_API_ENV = {
  /** From `metadata.name`. */
  podName: 'POD_NAME',
  /** From `metadata.namespace`. */
  podNamespace: 'POD_NAMESPACE',
  /** From `spec.nodeName`. */
  nodeName: 'NODE_NAME',
} as const;

/** Inputs of {@link otelResourceAttributes}. */
export interface ResourceAttributesOptions {
  /** `service.version`: the image tag. */
  readonly serviceVersion: string;
  /** `deployment.environment`, e.g. `prod`. */
  readonly environment: string;
}

/**
 * The `OTEL_RESOURCE_ATTRIBUTES` value for a pod: `service.version`, `deployment.environment` and the pod, namespace
 * and node names as Kubernetes `$(VAR)` references to {@link DOWNWARD_API_ENV} (declare those variables first).
 */
export function otelResourceAttributes(options: ResourceAttributesOptions): string {
  for (const [key, value] of Object.entries(options)) {
    if (!/^[\w.:/-]+$/.test(value)) throw new Error(`${key} must be a non-empty value without spaces, commas or '=', got "${value}"`);
  }
  return [
    `service.version=${options.serviceVersion}`,
    `deployment.environment=${options.environment}`,
    `k8s.pod.name=$(${DOWNWARD_API_ENV.podName})`,
    `k8s.namespace.name=$(${DOWNWARD_API_ENV.podNamespace})`,
    `k8s.node.name=$(${DOWNWARD_API_ENV.nodeName})`,
  ].join(',');
}

/** HTTP paths every service serves next to its API; they are neither traced nor counted in the HTTP metrics. */
export const PATHS = {
  /** Liveness: 200 while the process runs. */
  liveness: '/healthz',
  /** Readiness: 200, or 503 from SIGTERM on. */
  readiness: '/readyz',
  /** Prometheus scrape; OpenMetrics (with exemplars) when the `Accept` header asks for it. */
  metrics: '/metrics',
} as const;

/** The {@link PATHS} as a set: probes and scrapes, not traffic. */
export const OPERATIONAL_PATHS: ReadonlySet<string> = new Set(Object.values(PATHS));

/** The gateway's public API and page. */
export const GATEWAY_PATHS = {
  /** The HTML page that calls the API and shows the last trace id. */
  page: '/',
  /** The page's script (same origin: the page's Content-Security-Policy allows nothing else). */
  script: '/app.js',
  /** `GET`: every airport. */
  airports: '/api/flight/airports',
  /** `GET ?departure=ICN`: routes from an airport. */
  routes: '/api/flight/routes',
  /** `GET ?dep=ICN&arr=GMP`: flights of a route. */
  timetable: '/api/flight/timetable',
} as const;

/** The HTTP metrics both services export (prom-client). */
export const METRICS = {
  /** Counter of finished requests. */
  requestsTotal: 'http_requests_total',
  /** Histogram of request durations in seconds. */
  requestDuration: 'http_request_duration_seconds',
  /** Labels of both metrics, in this order. */
  labelNames: ['method', 'route', 'status_code', 'version'],
  /** The `route` label of a request that matched no route template. */
  unmatchedRoute: 'unmatched',
  /** The exemplar label carrying the trace id (sampled requests, OpenMetrics scrapes only). */
  exemplarTraceIdLabel: 'trace_id',
  /** The latency threshold of the SLO, in seconds; it is one of {@link METRICS.buckets}. */
  sloLatencySeconds: 0.3,
  /** Histogram bucket upper bounds in seconds. */
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5],
} as const;

/** HTTP headers with a meaning in the contract. */
export const HEADERS = {
  /** On every API and page response: the 32-hex trace id the request was served under (absent without tracing). */
  traceId: 'x-trace-id',
  /** Honoured when well-formed (up to 128 of `A-Za-z0-9._:-`), otherwise generated; echoed and forwarded to the backend. */
  requestId: 'x-request-id',
  /** The gateway forwards it to the backend, so that both hops can be pinned to the canary. */
  canary: 'x-canary',
} as const;

/** The canary pin: send this header to be routed to the canary track on every hop. */
export const CANARY_PIN = { header: HEADERS.canary, value: 'always' } as const;

/** Time budget of a graceful shutdown after SIGTERM. */
export const SHUTDOWN = {
  /** Default of `SHUTDOWN_DELAY_MS`. */
  defaultDelayMs: 5000,
  /** Longest wait for in-flight requests after the listener closed; then remaining connections are cut. */
  drainTimeoutMs: 10_000,
  /** Longest wait, after connections were cut, for their requests to end as 499s (access line, span) before the flush. */
  cutSettleMs: 500,
  /** Longest wait for the span flush (`sdk.shutdown()`), which hangs on an unresponsive collector otherwise. */
  flushTimeoutMs: 5000,
} as const;

/**
 * The longest a shutdown may take after a signal: the delay, drain, cut and flush budgets plus half a second for the
 * rest. A service that overruns it exits 1.
 */
export function shutdownBudgetMs(shutdownDelayMs: number = SHUTDOWN.defaultDelayMs): number {
  return shutdownDelayMs + SHUTDOWN.drainTimeoutMs + SHUTDOWN.cutSettleMs + SHUTDOWN.flushTimeoutMs + 500;
}

/**
 * The smallest `terminationGracePeriodSeconds` that lets a shutdown finish: its {@link shutdownBudgetMs} plus a second
 * of margin. With the defaults: 22; the Kubernetes default of 30 is enough.
 */
export function minTerminationGracePeriodSeconds(shutdownDelayMs: number = SHUTDOWN.defaultDelayMs): number {
  return Math.ceil(shutdownBudgetMs(shutdownDelayMs) / 1000) + 1;
}

/** Defaults of the {@link ENV} variables (the port's default is per service, {@link ServiceContract.defaultPort}). */
export const ENV_DEFAULTS = {
  /** `BACKEND_URL`. */
  backendUrl: 'http://localhost:8081',
  /** `BACKEND_TIMEOUT_MS`. */
  backendTimeoutMs: 2000,
  /** `APP_VERSION`. */
  appVersion: 'stable',
  /** `LOG_LEVEL`. */
  logLevel: 'info',
  /** `SHUTDOWN_DELAY_MS`. */
  shutdownDelayMs: SHUTDOWN.defaultDelayMs,
  /** `TRUSTED_PROXY_COUNT`: trust no `X-Forwarded-For` entry. */
  trustedProxyCount: 0,
} as const;
