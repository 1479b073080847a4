import * as fs from 'node:fs';
import * as path from 'node:path';
import { Size } from 'cdk8s';
import { ISTIO_SIDECAR_PORTS, OBSERVABILITY_NAMESPACE } from '../charts/namespaces';
import { RESOURCE_BOUNDS } from '../config/environment';
// the names alone: the CLI loads the catalog and should not load the constructs
import { TELEMETRY_ENV_NAMES } from '../constructs/private/telemetry';
import { ContainerResources } from '../constructs/types';
import { durationProblem } from '../rollout/duration';
import { stepsProblemOf } from '../rollout/state';
import { ANALYSIS_DURATIONS, SLO_DURATIONS } from '../rollout/state-schema';
import { EgressField, PerEnvironment, ResourcesField, ServiceFileError, ServiceSpec, listIn, parseServiceFile, perEnvironmentPart } from './service';

/** Where the service files live, relative to the repository root. */
export const SERVICES_DIR = 'services';

/** Every service, by name, in name order: the one list of services. */
export type Services = Readonly<Record<string, ServiceSpec>>;

/**
 * Namespaces a service may not use: the stack's own, Argo CD's and the cluster's, whose policies this project does not
 * own (a default-deny policy there would cut off the control plane).
 */
export const RESERVED_NAMESPACES: ReadonlySet<string> = new Set([
  OBSERVABILITY_NAMESPACE, 'argocd', 'bootstrap', 'default', 'kube-system', 'kube-public', 'kube-node-lease', 'istio-system',
]);

/** `services/<name>.yaml`, relative to the repository root. */
export function serviceFile(name: string): string {
  return path.posix.join(SERVICES_DIR, `${name}.yaml`);
}

/**
 * Reads every service file, `services/*.yaml`, and checks each on its own and all of them together: a caller or a
 * `serviceUrl` naming no service, a per-environment key naming no environment (a `.yml` file is refused, named).
 *
 * @param environments the names of the environments, which per-environment fields may use as keys
 * @throws {@link ServiceFileError} naming the file, the field, the value and what is allowed
 */
export function loadServices(root: string, environments: readonly string[]): Services {
  const dir = path.join(root, SERVICES_DIR);
  const names = fs.readdirSync(dir).filter(f => /\.ya?ml$/.test(f)).sort();
  const specs: ServiceSpec[] = [];
  for (const name of names) {
    const file = path.posix.join(SERVICES_DIR, name);
    // the state files, the CLI, the workflows' checks and the schema hint all name services/<name>.yaml (one file per
    // service, as the file system keeps names unique)
    if (name.endsWith('.yml')) {
      throw new ServiceFileError(file, [`a service file is named <service>.yaml: rename it to ${serviceFile(name.replace(/\.yml$/, ''))}`]);
    }
    specs.push(parseServiceFile(fs.readFileSync(path.join(dir, name), 'utf8'), file));
  }
  const services = Object.fromEntries(specs.map(s => [s.name, s]));
  for (const spec of specs) checkAgainstOthers(spec, services, environments);
  return services;
}

/** The checks one file cannot make on its own. */
function checkAgainstOthers(spec: ServiceSpec, services: Services, environments: readonly string[]): void {
  const problems: string[] = [];
  const known = Object.keys(services);
  const list = (names: readonly string[]): string => names.map(n => JSON.stringify(n)).join(', ');
  if (RESERVED_NAMESPACES.has(spec.namespace)) {
    problems.push(`'namespace' must be a namespace of its own, not one of ${list([...RESERVED_NAMESPACES])}, got ${JSON.stringify(spec.namespace)}`);
  }
  // a pod can read every Secret of its namespace that its spec names, and a namespace may hold several teams' services:
  // each Secret is the service's whose name it is or begins with (and a dash), the longest such name in the namespace,
  // so that `api` reads `api-…` but not `api-admin-…` beside a service api-admin
  for (const [i, { secret }] of (spec.secretEnv ?? []).entries()) {
    const owner = Object.values(services).filter(s => s.namespace === spec.namespace && (secret === s.name || secret.startsWith(`${s.name}-`)))
      .reduce<ServiceSpec | undefined>((longest, s) => (longest && longest.name.length >= s.name.length ? longest : s), undefined);
    if (!owner) {
      problems.push(`'secretEnv[${i}].secret' must be ${JSON.stringify(spec.name)} or begin with "${spec.name}-" (a service reads its own Secrets: `
        + `its namespace may hold other services' too), got ${JSON.stringify(secret)}`);
    } else if (owner.name !== spec.name) {
      problems.push(`'secretEnv[${i}].secret' names a Secret of ${owner.name} (${owner.file}), which shares the namespace ${spec.namespace}: `
        + `a service reads its own Secrets, got ${JSON.stringify(secret)}`);
    }
  }
  // a previous repository that is another service's own would let that service's images run as this one
  const owner = spec.previousImage === undefined ? undefined
    : Object.values(services).find(other => other.name !== spec.name && other.image === spec.previousImage);
  if (owner !== undefined) {
    problems.push(`'previousImage' must not be the repository of another service (${owner.file} names it as its 'image'), `
      + `got ${JSON.stringify(spec.previousImage)}`);
  } else if (spec.previousImage === spec.image) {
    problems.push(`'previousImage' must differ from 'image' (it names the repository before a registry move), got ${JSON.stringify(spec.previousImage)}`);
  }
  for (const [i, caller] of (spec.callers ?? []).entries()) {
    if (!Object.hasOwn(services, caller)) {
      problems.push(`'callers[${i}]' must name a service with a file under ${SERVICES_DIR}/ (${list(known)}), got ${JSON.stringify(caller)}`);
    }
  }
  for (const [variable, value] of Object.entries(spec.env ?? {})) {
    if (typeof value !== 'object' || !('serviceUrl' in value)) continue;
    const target = services[value.serviceUrl];
    if (!Object.hasOwn(services, value.serviceUrl)) {
      problems.push(`'env.${variable}.serviceUrl' must name a service (${list(known)}), got ${JSON.stringify(value.serviceUrl)}`);
    } else if (target.name === spec.name) {
      // a service cannot be its own caller (its file may not list itself): the mesh would refuse the call
      problems.push(`'env.${variable}.serviceUrl' names the service itself, which the mesh lets no service call: reach it on localhost`);
    } else if (!(target.callers ?? []).includes(spec.name)) {
      // the URL alone would pass synth and fail every call: the mesh and the network policies let only callers in
      problems.push(`'env.${variable}.serviceUrl' names ${JSON.stringify(target.name)}, whose 'callers' (${target.file}) do not list `
        + `${JSON.stringify(spec.name)}: the mesh would refuse every call; add ${spec.name} to them`);
    }
  }
  for (const variable of Object.keys(spec.env ?? {}).concat((spec.secretEnv ?? []).map(s => s.name))) {
    if (spec.telemetry && TELEMETRY_ENV_NAMES.includes(variable)) {
      problems.push(`'${variable}' is set by the platform while 'telemetry' is on (${list(TELEMETRY_ENV_NAMES)}): remove it, or set telemetry: false and set them yourself`);
    }
  }
  // one Gateway per namespace, all on the same ingress gateway: a host two files list would be claimed twice (Istio's
  // ConflictingGateways), and one service's paths would shadow the other's
  for (const env of environments) {
    for (const host of exposedHosts(spec, env)) {
      const others = Object.values(services).filter(other => other.name !== spec.name && exposedHosts(other, env).includes(host));
      if (others.length > 0) {
        const field = perEnvironmentPart(spec.expose?.hosts) ? `expose.hosts.${env}` : 'expose.hosts';
        problems.push(`'${field}' must name hosts no other service is exposed on in ${env}; ${JSON.stringify(host)} is also in `
          + `${others.map(o => o.file).join(', ')}: one service per host, or one service's paths`);
      }
    }
  }
  // the pods of a namespace this project renders deny what no flow allows: a call there needs both halves, which a
  // service (callers) or the platform's own flows give
  const managed = new Set([OBSERVABILITY_NAMESPACE, ...Object.values(services).map(s => s.namespace)]);
  for (const [i, e] of (spec.egress ?? []).entries()) {
    // <service>-to-<name> is also the flow of a caller to a service of that name
    if (Object.hasOwn(services, e.name)) {
      problems.push(`'egress[${i}].name' must not be a service's name (${JSON.stringify(e.name)} has a file under ${SERVICES_DIR}/): `
        + 'to call it, name this service in its \'callers\'');
    }
    if (e.namespace !== undefined && managed.has(e.namespace)) {
      problems.push(`'egress[${i}].namespace' must be a namespace this project does not render (${list([...managed].sort())} deny every connection `
        + `no flow allows), got ${JSON.stringify(e.namespace)}: to call a service, name this one in its 'callers'`);
    }
  }
  const perEnvironment: Array<[string, PerEnvironment<unknown> | undefined]> = [
    ['replicas', spec.replicas],
    ['resources', spec.resources],
    ['expose.hosts', perEnvironmentPart(spec.expose?.hosts)],
    ['expose.tls', spec.expose?.tls],
    ...(spec.egress ?? []).map((e, i): [string, PerEnvironment<unknown> | undefined] =>
      [`egress[${i}].cidrs`, perEnvironmentPart(e.cidrs)]),
  ];
  for (const [field, values] of perEnvironment) {
    for (const key of Object.keys(values ?? {})) {
      if (!environments.includes(key)) problems.push(`'${field}.${key}' names no environment: the keys must be among ${list(environments)}`);
    }
  }
  for (const [env, field] of Object.entries(spec.resources ?? {})) problems.push(...resourceProblems(`resources.${env}`, field));
  for (const [field, port] of [['port', spec.port], ['metrics.http.scrape.port', spec.metrics.http?.scrape.port]] as const) {
    if (port !== undefined && ISTIO_SIDECAR_PORTS.includes(port)) {
      problems.push(`'${field}' must not be one of the ports Istio's sidecar takes in every pod (${ISTIO_SIDECAR_PORTS.join(', ')}), got ${port}`);
    }
  }
  const steps = spec.steps && stepsProblemOf(spec.steps);
  if (steps) problems.push(`'steps' ${steps}`);
  for (const [field, options] of Object.entries(ANALYSIS_DURATIONS)) {
    const value = spec.analysis?.[field as keyof typeof ANALYSIS_DURATIONS];
    const problem = typeof value === 'string' ? durationProblem(value, options) : undefined;
    if (problem) problems.push(`'analysis.${field}' ${problem}`);
  }
  for (const [field, options] of Object.entries(SLO_DURATIONS)) {
    const value = spec.slo?.[field as keyof typeof SLO_DURATIONS];
    const problem = typeof value === 'string' ? durationProblem(value, options) : undefined;
    if (problem) problems.push(`'slo.${field}' ${problem}`);
  }
  if (problems.length > 0) throw new ServiceFileError(spec.file, problems);
}

/** CPU as millicores: `250m` → 250, `0.5` → 500, `2` → 2000. */
export function cpuMillis(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Math.round(Number(quantity) * 1000);
}

/** Memory as a size: `128Mi`, `1Gi`. */
export function memorySize(quantity: string): Size {
  const amount = Number(quantity.slice(0, -2));
  return quantity.endsWith('Gi') ? Size.gibibytes(amount) : Size.mebibytes(amount);
}

/** A service file's resources in the constructs' terms, or undefined when the field is not there. */
export function containerResources(field: ResourcesField | undefined): ContainerResources | undefined {
  if (!field) return undefined;
  return {
    cpuRequestMillis: cpuMillis(field.cpu.request),
    cpuLimitMillis: cpuMillis(field.cpu.limit),
    memoryRequest: memorySize(field.memory.request),
    memoryLimit: memorySize(field.memory.limit),
  };
}

/** The external hosts of a service in an environment: none when it is not exposed there. */
export function exposedHosts(spec: ServiceSpec, env: string): readonly string[] {
  return listIn(spec.expose?.hosts, env);
}

/** The CIDR blocks of an egress entry in an environment: none when it names pods, or other environments only. */
export function egressCidrs(entry: EgressField, env: string): readonly string[] {
  return listIn(entry.cidrs, env);
}

/** The namespaces of the services, `apps` first when used, then by name. */
export function serviceNamespaces(services: Services): string[] {
  return [...new Set(Object.values(services).map(s => s.namespace))].sort((a, b) => (a === 'apps' ? -1 : b === 'apps' ? 1 : a.localeCompare(b)));
}

/** A file's resources of one environment, checked in the file's own terms against the platform's {@link RESOURCE_BOUNDS}. */
function resourceProblems(field: string, r: ResourcesField): string[] {
  const { cpuLimitMillis: cpuBounds, memoryMebibytes: memoryBounds } = RESOURCE_BOUNDS;
  const problems: string[] = [];
  const cpu = { request: cpuMillis(r.cpu.request), limit: cpuMillis(r.cpu.limit) };
  const memory = { request: memorySize(r.memory.request).toMebibytes(), limit: memorySize(r.memory.limit).toMebibytes() };
  if (cpu.limit < cpuBounds.min || cpu.limit > cpuBounds.max) {
    problems.push(`'${field}.cpu.limit' must be from ${cpuBounds.min}m to ${cpuBounds.max / 1000} CPUs, got ${JSON.stringify(r.cpu.limit)}`);
  }
  if (cpu.request > cpu.limit) {
    problems.push(`'${field}.cpu.request' must be at most the limit (${field}.cpu.limit: ${r.cpu.limit}), got ${JSON.stringify(r.cpu.request)}`);
  }
  if (memory.limit < memoryBounds.min || memory.limit > memoryBounds.max) {
    problems.push(`'${field}.memory.limit' must be from ${memoryBounds.min}Mi to ${memoryBounds.max / 1024}Gi, got ${JSON.stringify(r.memory.limit)}`);
  }
  if (memory.request < memoryBounds.min) problems.push(`'${field}.memory.request' must be at least ${memoryBounds.min}Mi, got ${JSON.stringify(r.memory.request)}`);
  if (memory.request > memory.limit) {
    problems.push(`'${field}.memory.request' must be at most the limit (${field}.memory.limit: ${r.memory.limit}), got ${JSON.stringify(r.memory.request)}`);
  }
  return problems;
}
