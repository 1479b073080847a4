import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import { EnvironmentConfig } from '../../lib/config/environment';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { RolloutState } from '../../lib/rollout/state';
import { Rollouts } from '../../lib/rollout/store';
import { Services, loadServices } from '../../lib/services/catalog';
import { defineStack, Stack, StackInput } from '../../lib/stack';
import { testApp } from './chart';

/** A rendered Kubernetes object, as plain JSON. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };

/**
 * The repository's service files plus fixture service files from tests/fixtures/services/ (`ledger.yaml`: a service
 * nothing like the demo), loaded together as synth would load them from one directory.
 */
export function servicesWithFixtures(...fixtures: readonly string[]): Services {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-services-'));
  try {
    fs.cpSync(path.join(REPO_ROOT, 'services'), path.join(root, 'services'), { recursive: true });
    for (const name of fixtures) fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'services', `${name}.yaml`), path.join(root, 'services', `${name}.yaml`));
    return loadServices(root, Object.keys(ENVIRONMENTS));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Rollout scenarios: `steady` (no canary) and `canary` (the first exposed service's canary at 25 %). */
export type Scenario = 'steady' | 'canary';

/** The repository's root. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

let repoServicesCache: Services | undefined;

/** The repository's service files (`services/`), loaded once per test file. */
export function repoServices(): Services {
  repoServicesCache ??= loadServices(REPO_ROOT, Object.keys(ENVIRONMENTS));
  return repoServicesCache;
}

/**
 * The rollout states of a scenario, built from the service files (tests never read the live rollout/: a release
 * commit must not break them): every service runs `<image>:1.0.0`; in `canary`, the first exposed service (the first
 * service when none is exposed) has `<image>:1.1.0` at 25 % after one advance, with one failed check and its own p95.
 */
export function fixtureRollouts(scenario: Scenario, services: Services = repoServices()): Rollouts {
  const specs = Object.values(services);
  const target = (specs.find(s => s.expose) ?? specs[0])?.name;
  return Object.fromEntries(specs.map(spec => {
    const state: RolloutState = { service: spec.name, stable: { image: `${spec.image}:1.0.0` }, canary: null, history: [] };
    if (scenario === 'steady' || spec.name !== target) return [spec.name, state];
    const image = `${spec.image}:1.1.0`;
    return [spec.name, {
      ...state,
      canary: { image, weight: 25, startedAt: '2026-11-01T10:00:00Z', weightChangedAt: '2026-11-01T10:20:00Z', failedChecks: 1, consecutiveHolds: 0 },
      steps: [10, 25, 50, 100],
      slo: { p95LatencyMs: 250 },
      history: [
        { at: '2026-11-01T10:00:00Z', decision: 'start', by: 'cli', image, fromWeight: 0, toWeight: 10, reason: `canary ${image} started at 10%` },
        { at: '2026-11-01T10:20:00Z', decision: 'advance', by: 'gate', image, fromWeight: 10, toWeight: 25, reason: 'SLO met over 5m' },
      ],
    } satisfies RolloutState];
  }));
}

/** A stack input from an environment, a fixture scenario and (by default) the repository's service files. */
export function fixtureInput(env: EnvironmentConfig, scenario: Scenario = 'steady', services: Services = repoServices()): StackInput {
  return { env, services, rollouts: fixtureRollouts(scenario, services) };
}

/** A synthesized stack: the constructs, their app, and the objects of each chart by chart id. */
export interface SynthesizedStack {
  readonly stack: Stack;
  readonly app: App;
  readonly charts: Readonly<Record<string, readonly K8sObject[]>>;
}

const synthesized = new Map<string, SynthesizedStack>();

/**
 * The objects of every chart of an environment, synthesized in memory from a fixture scenario.
 *
 * A shipped environment (one of {@link ENVIRONMENTS}, unchanged) is rendered once per test file and scenario, and
 * its objects are frozen: callers only read them, and a test that changes an object works on a `structuredClone`.
 * Any other environment (a variant built in a test) is rendered afresh on every call.
 */
export function synthStack(env: EnvironmentConfig, scenario: Scenario = 'steady', services?: Services): SynthesizedStack {
  if (services || !Object.hasOwn(ENVIRONMENTS, env.name) || ENVIRONMENTS[env.name] !== env) return render(env, scenario, services);
  const key = `${env.name}/${scenario}`;
  let result = synthesized.get(key);
  if (result === undefined) {
    result = render(env, scenario);
    for (const objects of Object.values(result.charts)) deepFreeze(objects);
    synthesized.set(key, result);
  }
  return result;
}

function render(env: EnvironmentConfig, scenario: Scenario, services?: Services): SynthesizedStack {
  const app = testApp();
  const stack = defineStack(app, fixtureInput(env, scenario, services));
  const charts: Record<string, K8sObject[]> = {};
  for (const chart of app.node.children.filter((c): c is Chart => c instanceof Chart)) {
    charts[chart.node.id] = Testing.synth(chart) as K8sObject[];
  }
  return { stack, app, charts };
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
}

/** Every environment this repository ships (each entry of {@link ENVIRONMENTS}, extensions resolved), in its order. */
export const ALL_ENVIRONMENTS: readonly EnvironmentConfig[] = Object.values(ENVIRONMENTS);
/**
 * The environments whose services run in the observability stack's own cluster: the charts' layout tests read their
 * `apps` chart; a central topology's application clusters have tests of their own (tests/charts/central.test.ts).
 */
export const SINGLE_CLUSTER_ENVIRONMENTS: readonly EnvironmentConfig[] = ALL_ENVIRONMENTS.filter(env => env.topology === undefined);

/** Every object of every chart of every environment and scenario, labelled with where it came from. */
export function everyObject(): Array<{ env: string; chart: string; obj: K8sObject }> {
  return ALL_ENVIRONMENTS.flatMap(env => (['steady', 'canary'] as const).flatMap(scenario => Object.entries(synthStack(env, scenario).charts)
    .flatMap(([chart, objs]) => objs.map(obj => ({ env: `${env.name}/${scenario}`, chart, obj })))));
}

/** The objects of a kind. */
export function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter(o => o.kind === kind);
}

/** The one object of a kind and name; fails the test if there is not exactly one. */
export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter(o => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0];
}

/** A file of a ConfigMap, parsed as YAML. */
export function configFile(objects: readonly K8sObject[], configMap: string, key: string): any {
  const data = find(objects, 'ConfigMap', configMap).data as Record<string, string>;
  if (!(key in data)) throw new Error(`ConfigMap ${configMap} has no key ${key}; keys: ${Object.keys(data).join(', ')}`);
  return parse(data[key]);
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']);

/** The pod template spec of a workload object. */
export function podSpecOf(obj: K8sObject): any {
  if (obj.kind === 'Pod') return obj.spec;
  if (obj.kind === 'CronJob') return obj.spec.jobTemplate.spec.template.spec;
  return obj.spec.template.spec;
}

/** The pod template metadata of a workload object. */
export function podMetadataOf(obj: K8sObject): any {
  if (obj.kind === 'Pod') return obj.metadata;
  if (obj.kind === 'CronJob') return obj.spec.jobTemplate.spec.template.metadata;
  return obj.spec.template.metadata;
}

/** Workloads: objects with a pod template. */
export function workloads(objects: readonly K8sObject[]): K8sObject[] {
  return objects.filter(o => WORKLOAD_KINDS.has(o.kind));
}

/** Every container (init containers included) of a workload, with the workload. */
export function containersOf(objects: readonly K8sObject[]): Array<{ workload: K8sObject; container: any; init: boolean }> {
  return workloads(objects).flatMap(workload => {
    const spec = podSpecOf(workload);
    return [
      ...(spec.initContainers ?? []).map((container: any) => ({ workload, container, init: true })),
      ...(spec.containers ?? []).map((container: any) => ({ workload, container, init: false })),
    ];
  });
}

/** A string describing a container for test names and failure messages. */
export function where(workload: K8sObject, container?: { name: string }): string {
  return `${workload.kind}/${workload.metadata.name}${container ? `[${container.name}]` : ''}`;
}

/** The soft memory limit a container's Go runtime gets from the platform: 80 % of its memory limit, in MiB. */
export function goMemLimitOf(container: any): { name: string; value: string } {
  const limit: string = container.resources.limits.memory;
  const mebibytes = Number.parseInt(limit, 10) * (limit.endsWith('Gi') ? 1024 : 1);
  return { name: 'GOMEMLIMIT', value: `${Math.floor(mebibytes * 0.8)}MiB` };
}
