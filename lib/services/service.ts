import { parse } from 'yaml';
import { EnvValue, ProbeCheck, SecretEnvVar } from '../constructs/types';
import { ipv4CidrPrefix } from '../private/cidr';
import { credentialArguments, literalCredentialIn } from '../private/names';
import { fieldOf, unknownFieldMessage, valueAt } from '../private/schema-errors';
import { yamlSyntaxError } from '../private/yaml';
import { durationProblem } from '../rollout/duration';
import { AnalysisSettings, SloSettings } from '../rollout/state';
import { HttpMetrics, OBSERVER_METRIC_NAMES_WORDS, SCRAPED_OBSERVER_METRIC_NAMES } from '../slo/vocabulary';
import validateServiceSchema from './generated/validate-service.cjs';
import { FIELD_REF, FIELD_REF_WORDS } from './schema';

/** The namespace of a service whose file names none. */
export const DEFAULT_NAMESPACE = 'apps';

/** The uid a service runs as when its file names none (the `nonroot` user of distroless images). */
export const DEFAULT_RUN_AS_USER = 65532;

/** A value of a service file that may differ per environment: keyed by environment name. */
export type PerEnvironment<T> = Readonly<Record<string, T>>;

/** A list of a service file that is one for every environment, or one per environment (`hosts`, `cidrs`). */
export type ListOrPerEnvironment<T> = readonly T[] | PerEnvironment<readonly T[]>;

/** The per-environment form of such a field; undefined when it is one list for all (or unset). */
export function perEnvironmentPart<T>(value: ListOrPerEnvironment<T> | undefined): PerEnvironment<readonly T[]> | undefined {
  return value === undefined || Array.isArray(value) ? undefined : value as PerEnvironment<readonly T[]>;
}

/** Such a field's list in an environment: none when it is unset, or names other environments only. */
export function listIn<T>(value: ListOrPerEnvironment<T> | undefined, env: string): readonly T[] {
  if (value === undefined) return [];
  return perEnvironmentPart(value)?.[env] ?? (Array.isArray(value) ? value as readonly T[] : []);
}

/** Requests and limits as a service file writes them (Kubernetes quantities). */
export interface ResourcesField {
  readonly cpu: { readonly request: string; readonly limit: string };
  readonly memory: { readonly request: string; readonly limit: string };
}

/** A service's own metrics in its file: the names, and where Prometheus scrapes them. */
export interface HttpMetricsField extends Omit<HttpMetrics, 'durationUnit' | 'ignoreRoutes'> {
  readonly durationUnit?: HttpMetrics['durationUnit'];
  readonly ignoreRoutes?: readonly string[];
  readonly scrape: { readonly port: number; readonly path: string };
}

/** An environment variable's value in a service file: {@link EnvValue} or the in-cluster URL of another service. */
export type EnvField = EnvValue | { readonly serviceUrl: string };

/**
 * A service file, `services/<name>.yaml`, as written: every field but `name`, `image` and `port` is optional. The
 * schema (`services/schema.json`) says what each field allows; {@link ServiceSpec} is the file with its defaults.
 */
export interface ServiceFile {
  readonly name: string;
  readonly namespace?: string;
  readonly image: string;
  /**
   * The repository the service's images came from before a registry move: the images of it that its rollout state
   * still names (stable, a canary in flight) keep running and rendering until a release replaces them. Remove it once
   * no state file names it.
   */
  readonly previousImage?: string;
  readonly port: number;
  readonly protocol?: 'http' | 'grpc';
  readonly probes?: { readonly readiness?: ProbeCheck; readonly liveness?: ProbeCheck; readonly startupSeconds?: number };
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly writablePaths?: readonly string[];
  readonly env?: Readonly<Record<string, EnvField>>;
  readonly secretEnv?: readonly SecretEnvVar[];
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly telemetry?: boolean;
  readonly replicas?: PerEnvironment<number>;
  readonly resources?: PerEnvironment<ResourcesField>;
  readonly terminationGracePeriodSeconds?: number;
  readonly timeout?: string;
  readonly keepAliveTimeout?: string;
  readonly callers?: readonly string[];
  readonly callerIdentities?: ReadonlyArray<{ readonly namespace: string; readonly serviceAccount: string }>;
  readonly expose?: {
    readonly hosts: ListOrPerEnvironment<string>;
    readonly paths: readonly string[];
    readonly methods?: readonly string[];
    readonly tls?: PerEnvironment<{ readonly credentialName: string }>;
    readonly gateway?: string;
    /** The pods that serve {@link gateway}: what the service's mesh and network policies let in. */
    readonly gatewayPods?: { readonly namespace: string; readonly serviceAccount: string; readonly labels: Readonly<Record<string, string>> };
  };
  readonly metrics?: { readonly source?: 'istio' | 'http'; readonly http?: HttpMetricsField };
  /** What else its pods may call: the namespace denies every other connection. */
  readonly egress?: readonly EgressField[];
  /** Checks the gate runs against the canary through the pin before its first weighted step. */
  readonly smoke?: readonly SmokeCheck[];
  readonly steps?: readonly number[];
  readonly slo?: Partial<SloSettings>;
  readonly analysis?: Partial<AnalysisSettings>;
}

/**
 * Something outside the mesh's services that a service calls (a database, a queue, a SaaS API): what its pods may reach
 * past the namespace's default deny, by address or by pod labels, on its ports. Services of the catalog are reached by
 * `callers` instead, the stack's own components by the platform.
 */
export interface EgressField {
  /** A DNS label naming it (`ledger-db`): the NetworkPolicy is `<service>-to-<name>-egress`. */
  readonly name: string;
  /** Its IPv4 CIDR blocks, for every environment or per environment (`{ prod: [10.20.4.0/24] }`: none elsewhere). */
  readonly cidrs?: ListOrPerEnvironment<string>;
  /** Or pods in the cluster that are no service of the catalog: their namespace... */
  readonly namespace?: string;
  /** ...and labels. */
  readonly podLabels?: Readonly<Record<string, string>>;
  /** Its TCP ports. */
  readonly ports: readonly number[];
}

/** A smoke check: `GET <path>` through the pin must answer `status` (default 200), with `header` when it names one. */
export interface SmokeCheck {
  readonly path: string;
  readonly status?: number;
  readonly header?: string;
}

/** A service's own metrics with their defaults. */
export interface ServiceHttpMetrics extends HttpMetrics {
  readonly scrape: { readonly port: number; readonly path: string };
}

/** A service file with its defaults applied: what charts, the gate and the CLI read. */
export interface ServiceSpec extends Omit<ServiceFile, 'namespace' | 'protocol' | 'probes' | 'runAsUser' | 'metrics' | 'telemetry'> {
  /** The file it came from, relative to the repository root, for messages. */
  readonly file: string;
  readonly namespace: string;
  readonly protocol: 'http' | 'grpc';
  readonly probes: { readonly readiness: ProbeCheck; readonly liveness: ProbeCheck; readonly startupSeconds?: number };
  readonly runAsUser: number;
  readonly telemetry: boolean;
  readonly metrics: { readonly source: 'istio' | 'http'; readonly http?: ServiceHttpMetrics };
}

/**
 * The methods the edge lets through to an exposed service: its file's `expose.methods`, else GET and HEAD, or POST for
 * a gRPC service (every gRPC call is a POST).
 */
export function edgeMethods(spec: ServiceSpec): readonly string[] {
  return spec.expose?.methods ?? (spec.protocol === 'grpc' ? ['POST'] : ['GET', 'HEAD']);
}

/** A service file that cannot be used; the message names the file and every field at fault. */
export class ServiceFileError extends Error {
  public constructor(public readonly file: string, public readonly problems: readonly string[]) {
    super(`invalid service file ${file}:\n${problems.map(p => `  - ${p}`).join('\n')}`);
    this.name = 'ServiceFileError';
  }
}

/**
 * The paths of a service that are probes and scrapes, not API, in order: its HTTP probes' and its metrics scrape's. No
 * caller and not the edge may use them. Of a service file as written, or of its spec.
 */
export function operationalPaths(service: {
  readonly probes?: { readonly readiness?: ProbeCheck; readonly liveness?: ProbeCheck };
  readonly metrics?: { readonly http?: { readonly scrape: { readonly path: string } } };
}): string[] {
  const paths = [service.probes?.readiness, service.probes?.liveness].flatMap(p => (p && 'http' in p ? [p.http] : []));
  if (service.metrics?.http) paths.push(service.metrics.http.scrape.path);
  return [...new Set(paths)].sort();
}

/** A metric name the services' scrape drops ({@link SCRAPED_OBSERVER_METRIC_NAMES}, anchored as Prometheus does). */
const OBSERVER_METRIC_NAME = new RegExp(`^(?:${SCRAPED_OBSERVER_METRIC_NAMES})$`);

/** A JSON Schema type as a message says it. */
const KIND_WORDS: Readonly<Record<string, string>> = {
  object: 'a mapping', array: 'a list', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false',
};

/** The `fieldRef` of an env value `{ fieldRef }`, when it is one. */
function fieldRefOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Object.keys(value).join() !== 'fieldRef') return undefined;
  const { fieldRef } = value as { fieldRef: unknown };
  return typeof fieldRef === 'string' ? fieldRef : undefined;
}

/** What each schema error means to the person who wrote the file. */
function schemaProblems(data: unknown): string[] {
  const errors = validateServiceSchema.errors ?? [];
  // a oneOf reports each branch; the branch errors say less than the oneOf's own description
  const oneOfPaths = new Set(errors.filter(e => e.keyword === 'oneOf').map(e => e.instancePath));
  const problems = errors.flatMap(e => {
    const field = fieldOf(e.instancePath);
    const prefix = field ? `${field}.` : '';
    if (e.keyword !== 'oneOf' && [...oneOfPaths].some(p => e.instancePath === p || e.instancePath.startsWith(`${p}/`))) return [];
    if (e.keyword === 'required') return [`'${prefix}${String(e.params.missingProperty)}' is required`];
    // a pod field is no secret, and the oneOf's description would not say which fields there are
    const fieldRef = e.keyword === 'oneOf' ? fieldRefOf(valueAt(data, e.instancePath)) : undefined;
    if (fieldRef !== undefined && !new RegExp(FIELD_REF).test(fieldRef)) return [`'${field}.fieldRef' must be ${FIELD_REF_WORDS}, got ${JSON.stringify(fieldRef)}`];
    if (e.keyword === 'additionalProperties') return [unknownFieldMessage(e)];
    // an env value may be a credential that failed the schema before the credential check could refuse it
    // where a credential may be written: never shown, whatever the schema says of it
    const found = /^\/(?:env|args|command)\//.test(e.instancePath) ? '(a value not shown)' : JSON.stringify(valueAt(data, e.instancePath));
    const parent = (e.parentSchema ?? {}) as { description?: string; type?: string; minimum?: number; maximum?: number };
    const described = parent.description;
    if (['minimum', 'maximum', 'type'].includes(e.keyword) && parent.type === 'integer' && parent.minimum !== undefined && parent.maximum !== undefined) {
      return [`'${field}' must be an integer from ${parent.minimum} to ${parent.maximum}, got ${found}`];
    }
    if (e.keyword === 'propertyNames') return [`'${field}' has a key ${JSON.stringify(e.params.propertyName)} that ${described ?? 'is not allowed'}`];
    if (e.keyword === 'enum') return [`'${field}' must be one of ${(e.params.allowedValues as unknown[]).map(v => JSON.stringify(v)).join(', ')}, got ${found}`];
    if (described && ['pattern', 'oneOf', 'not', 'maxLength', 'minProperties', 'maxProperties', 'const'].includes(e.keyword)) {
      return [`'${field}' must be ${described}, got ${found}`];
    }
    if (e.keyword === 'const') return [`'${field}' must be ${JSON.stringify(e.params.allowedValue)}, got ${found}`];
    // a wrong kind of value: what the field is for says what it takes (`replicas` is per environment, not a number)
    if (e.keyword === 'type' && described) return [`'${field || '(file)'}' must be ${KIND_WORDS[String(e.params.type)] ?? String(e.params.type)}: ${described}, got ${found}`];
    return [`'${field || '(file)'}' ${e.message ?? 'is invalid'}, got ${found}`];
  });
  return [...new Set(problems)];
}

/**
 * Parses and validates one service file on its own; {@link loadServices} checks the files against each other and the
 * environments.
 *
 * @param file its path relative to the repository root, for messages; its base name must be the service's name
 * @throws {@link ServiceFileError} naming the file, each invalid field, the value found and what is allowed
 */
export function parseServiceFile(text: string, file: string): ServiceSpec {
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new ServiceFileError(file, [yamlSyntaxError(error)]);
  }
  if (!validateServiceSchema(data)) throw new ServiceFileError(file, schemaProblems(data));
  const f = data as ServiceFile;
  const problems: string[] = [];
  const expected = file.replace(/^.*\//, '').replace(/\.yaml$/, '');
  if (f.name !== expected) problems.push(`'name' must match the file name (${JSON.stringify(expected)}), got ${JSON.stringify(f.name)}`);
  // a Gateway of the team's own is served by pods of its own: the service lets in those, not the environment's
  if (f.expose?.gateway !== undefined && f.expose.gatewayPods === undefined) {
    problems.push(`'expose.gatewayPods' is required with 'expose.gateway' (${JSON.stringify(f.expose.gateway)}): the namespace, ServiceAccount and `
      + 'labels of the pods that serve it, which the service\'s policies let in (the environment\'s ingress gateway is let in otherwise)');
  }
  if (f.expose?.gatewayPods !== undefined && f.expose.gateway === undefined) {
    problems.push('\'expose.gatewayPods\' names the pods of \'expose.gateway\', which is not set: the environment\'s ingress gateway serves this service');
  }
  if (f.metrics?.source === 'http' && !f.metrics.http) {
    problems.push('\'metrics.http\' is required when \'metrics.source\' is "http": the gate needs the metric names and Prometheus the scrape port');
  }
  if (f.metrics?.http?.ignoreRoutes?.length && !f.metrics.http.routeLabel) {
    problems.push('\'metrics.http.routeLabel\' is required with \'metrics.http.ignoreRoutes\': the routes are matched on it');
  }
  // the services' scrape drops the names only the platform's observers write: a metric of the service's own named so
  // would never be stored, and a gate reading it would see no traffic at all
  for (const [field, name] of [['requests', f.metrics?.http?.requests], ['duration', f.metrics?.http?.duration]] as const) {
    if (name !== undefined && (OBSERVER_METRIC_NAME.test(name) || OBSERVER_METRIC_NAME.test(`${name}_bucket`))) {
      problems.push(`'metrics.http.${field}' must not be a name only the platform's observers write (${OBSERVER_METRIC_NAMES_WORDS}): `
        + `Prometheus drops those from a service's own scrape, got ${JSON.stringify(name)}`);
    }
  }
  if (f.analysis?.metrics === 'http' && !f.metrics?.http) {
    problems.push('\'analysis.metrics\' is "http" but \'metrics.http\' names no metrics: add them, or use "istio"');
  }
  // the edge never serves probes and scrapes (services-chart's notPaths): listed, a path would be refused silently
  const operational = operationalPaths(f);
  for (const [i, p] of (f.expose?.paths ?? []).entries()) {
    if (operational.includes(p)) {
      problems.push(`'expose.paths[${i}]' must not be a probe or metrics path (${operational.join(', ')}): the edge never serves those, `
        + `got ${JSON.stringify(p)}`);
    }
  }
  if (f.runAsUser === 0 || f.runAsGroup === 0) problems.push('\'runAsUser\' and \'runAsGroup\' must not be 0: the pods run as non-root');
  if (f.callers?.includes(f.name)) problems.push(`'callers' must not name the service itself, got ${JSON.stringify(f.name)}`);
  for (const [i, p] of (f.writablePaths ?? []).entries()) {
    if (p.split('/').includes('..')) problems.push(`'writablePaths[${i}]' must not contain "..", got ${JSON.stringify(p)}`);
  }
  const egressNames = (f.egress ?? []).map(e => e.name);
  for (const [i, e] of (f.egress ?? []).entries()) {
    if (egressNames.indexOf(e.name) !== i) problems.push(`'egress[${i}].name' must differ from the other entries' names, got ${JSON.stringify(e.name)} twice`);
    const byPods = e.namespace !== undefined || e.podLabels !== undefined;
    if (byPods === (e.cidrs !== undefined) || (byPods && (e.namespace === undefined || e.podLabels === undefined))) {
      problems.push(`'egress[${i}]' must name either cidrs, or namespace and podLabels, got ${JSON.stringify(Object.keys(e).filter(k => k !== 'name' && k !== 'ports'))}`);
    }
    const perEnvironment = perEnvironmentPart(e.cidrs);
    const lists = perEnvironment
      ? Object.entries(perEnvironment).map(([env, list]) => [`egress[${i}].cidrs.${env}`, list] as const)
      : [[`egress[${i}].cidrs`, listIn(e.cidrs, '')] as const];
    for (const [field, list] of lists) {
      for (const [j, cidr] of list.entries()) {
        if (ipv4CidrPrefix(cidr) === undefined) problems.push(`'${field}[${j}]' must be an IPv4 CIDR block such as "10.20.4.0/24", got ${JSON.stringify(cidr)}`);
      }
    }
  }
  // the schema's pattern lets `5m5m` through; the one duration rule does not
  for (const field of ['timeout', 'keepAliveTimeout'] as const) {
    const problem = f[field] === undefined ? undefined : durationProblem(f[field], { positive: true });
    if (problem) problems.push(`'${field}' ${problem}`);
  }
  // a literal is in dist/, in git and in the Deployment every reader of the namespace can get; the value is never echoed
  for (const [name, value] of Object.entries(f.env ?? {})) {
    const why = literalCredentialIn(name, value);
    if (why) {
      problems.push(`'env.${name}' must not hold a credential as a literal (${why}; it would be in dist/, in git and in the Deployment): `
        + 'put it in a Secret of the namespace and name it in \'secretEnv\'');
    }
  }
  for (const field of ['command', 'args'] as const) {
    for (const i of credentialArguments(f[field] ?? [])) {
      problems.push(`'${field}[${i}]' must not hold a credential as a literal (it would be in dist/, in git, in the Deployment and in the `
        + 'process list): put it in a Secret of the namespace, name the variable in \'secretEnv\' and write $(VARIABLE) in its place');
    }
  }
  const secretNames = (f.secretEnv ?? []).map(s => s.name);
  for (const name of new Set([...Object.keys(f.env ?? {}), ...secretNames].filter((n, i, all) => all.indexOf(n) !== i))) {
    problems.push(`'${name}' is set twice in 'env' and 'secretEnv': each variable must be set once`);
  }
  if (problems.length > 0) throw new ServiceFileError(file, problems);
  const tcp: ProbeCheck = { tcp: true };
  const http = f.metrics?.http;
  return {
    ...f,
    file,
    namespace: f.namespace ?? DEFAULT_NAMESPACE,
    protocol: f.protocol ?? 'http',
    probes: {
      readiness: f.probes?.readiness ?? tcp, liveness: f.probes?.liveness ?? tcp,
      ...(f.probes?.startupSeconds !== undefined ? { startupSeconds: f.probes.startupSeconds } : {}),
    },
    runAsUser: f.runAsUser ?? DEFAULT_RUN_AS_USER,
    telemetry: f.telemetry ?? true,
    metrics: {
      source: f.metrics?.source ?? 'istio',
      ...(http ? { http: { ...http, durationUnit: http.durationUnit ?? 'seconds', ignoreRoutes: http.ignoreRoutes ?? [] } } : {}),
    },
  };
}
