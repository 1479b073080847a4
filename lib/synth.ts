import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { StackChart, validateApp } from './charts/stack-chart';
import { EnvironmentName, checkAcrossEnvironments } from './config/environment';
import { ENVIRONMENT_NAMES, loadEnvironment } from './config/environments';
import { Rollouts, checkRolloutDirectories, loadRollouts } from './rollout/store';
import { Services, loadServices } from './services/catalog';
import { StackInput, defineStack } from './stack';
import { toYamlDocuments } from './private/yaml';
import { crashPoint } from './private/crash-points';
import { isRunning } from './private/processes';

/** One rendered manifest file, relative to the environment's directory. */
export interface RenderedFile {
  /** `<chart directory>/manifest.yaml` */
  readonly path: string;
  readonly content: string;
  /** Number of objects in the file. */
  readonly objects: number;
}

/**
 * The order `kubectl apply -f` should create kinds in (Helm's install order): namespaces and policies before what they
 * govern, identities and configuration before the workloads that mount them. Kinds not listed (custom resources) go
 * last, after their CRDs; an Argo CD AppProject goes before them, since an Application that names a project not yet
 * created is refused until the next reconcile (minutes).
 */
const APPLY_ORDER = [
  'Namespace', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodDisruptionBudget', 'ServiceAccount', 'Secret', 'ConfigMap',
  'StorageClass', 'PersistentVolume', 'PersistentVolumeClaim', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding',
  'Role', 'RoleBinding', 'Service', 'DaemonSet', 'Pod', 'ReplicaSet', 'Deployment', 'HorizontalPodAutoscaler', 'StatefulSet',
  'Job', 'CronJob', 'IngressClass', 'Ingress', 'AppProject',
];

function applyRank(kind: string): number {
  const rank = APPLY_ORDER.indexOf(kind);
  return rank === -1 ? APPLY_ORDER.length : rank;
}

/**
 * Renders the charts of an app: one directory per chart (one Argo CD Application each) holding `manifest.yaml`, its
 * objects in apply order, then by kind and name. One file per chart, not per object: the synth budget is mostly file
 * creation on slow disks, and a diff of one file reads the same.
 *
 * @throws if validation fails or two objects of a chart share kind and name
 */
export function renderApp(app: App): RenderedFile[] {
  validateApp(app);
  const charts = app.node.children.filter((c): c is StackChart => c instanceof StackChart);
  return charts.map(chart => {
    const objects: Array<{ kind: string; metadata: { name: string } }> = chart.renderObjects();
    const seen = new Set<string>();
    for (const obj of objects) {
      const key = `${obj.kind}/${obj.metadata.name}`;
      if (seen.has(key)) throw new Error(`chart ${chart.node.id} renders ${key} twice`);
      seen.add(key);
    }
    objects.sort((a, b) => applyRank(a.kind) - applyRank(b.kind) || a.kind.localeCompare(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
    return { path: `${chart.directory}/manifest.yaml`, content: toYamlDocuments(objects), objects: objects.length };
  }).sort((a, b) => a.path.localeCompare(b.path));
}

/** Defines and renders every chart of an environment. */
export function renderEnvironment(input: StackInput): RenderedFile[] {
  const app = new App();
  defineStack(app, input);
  return renderApp(app);
}

/** Writes files below `dir`, creating directories as needed. */
export function writeFiles(dir: string, files: readonly RenderedFile[]): void {
  for (const file of files) {
    const target = path.join(dir, file.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.content);
  }
}

/** The prefix of staging directories (ignored by git): `.dist-<pid>-<random>`, so a dead run's can be told from a live one's. */
const STAGING_PREFIX = '.dist-';

/**
 * Writes a new tree with `write` into a staging directory in `stagingParent` (the same file system as `target`), then
 * swaps it in for `target` by rename. When anything fails, `target` is left exactly as it was and the error is thrown.
 * A run killed half-way leaves its staging directory behind; the next one cleans it up, and completes or undoes a swap
 * it finds half-done ({@link recoverSwaps}), so `target` is never missing for long.
 *
 * @returns what `write` returns
 */
function replaceWithStaged<T>(target: string, stagingParent: string, write: (staging: string) => T): T {
  recoverSwaps(stagingParent);
  const staging = path.join(stagingParent, `${STAGING_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(staging);
    const result = write(staging);
    crashPoint('staged');
    replaceDirectory(target, staging);
    return result;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The pid a staging directory (or its marker) was made by, from its name. */
function stagingPid(name: string): number | undefined {
  const match = /^\.dist-(\d+)-[0-9a-f]+/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * Cleans up after runs that were killed while staging or swapping in `parent`: a swap whose marker is left (the run
 * died between the renames of {@link replaceDirectory}) is completed when the new tree is whole, else undone from
 * the old one, so the target exists again; then the dead runs' staging directories go. Those of live runs stay.
 */
export function recoverSwaps(parent: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return;
  }
  const dead = entries.filter(name => {
    const pid = stagingPid(name);
    return pid !== undefined && pid !== process.pid && !isRunning(pid);
  });
  for (const marker of dead.filter(name => name.endsWith(SWAP_MARKER))) {
    const replacement = path.join(parent, marker.slice(0, -SWAP_MARKER.length));
    const { target } = JSON.parse(fs.readFileSync(path.join(parent, marker), 'utf8')) as { target: string };
    const old = `${replacement}-old`;
    if (!fs.existsSync(target)) {
      // the marker is written once the new tree is complete: either tree will do, the new one is what the run made
      if (fs.existsSync(replacement)) fs.renameSync(replacement, target);
      else if (fs.existsSync(old)) fs.renameSync(old, target);
    }
  }
  for (const name of dead) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
}


/** Renders one environment into `dir`; returns the number of objects written. */
function renderInto(dir: string, input: StackInput): number {
  const files = renderEnvironment(input);
  writeFiles(dir, files);
  return files.reduce((sum, f) => sum + f.objects, 0);
}

/**
 * Renders every environment into a temporary directory beside `distDir`, then swaps it in. When anything fails,
 * `distDir` is left exactly as it was and the error is thrown.
 *
 * @param distDir the directory to replace (`dist/`)
 * @param inputs a loader per environment, each rendered into `<distDir>/<env name>/`; loading is part of the
 *   transaction, so an invalid environment or state file leaves `distDir` untouched
 * @returns the number of objects written
 */
export function synthesizeAll(distDir: string, inputs: ReadonlyArray<() => StackInput>): number {
  return replaceWithStaged(distDir, path.dirname(path.resolve(distDir)), staging => inputs.reduce((count, load) => {
    const input = load();
    return count + renderInto(path.join(staging, input.env.name), input);
  }, 0));
}

/**
 * Renders every environment of the repository at `root` (each of `ENVIRONMENTS`) into `<root>/dist/<env>/` as one
 * {@link synthesizeAll} transaction, after the checks across environments ({@link checkAcrossEnvironments}): each
 * environment's configuration, loaded and validated once, and its rollout state (`rollout/<env>/`, which must exist;
 * a directory there that names no environment is refused).
 *
 * @returns the number of objects written
 */
export function synthesizeRepo(root: string): number {
  const envs = ENVIRONMENT_NAMES.map(name => loadEnvironment(name));
  checkAcrossEnvironments(envs);
  checkRolloutDirectories(root, ENVIRONMENT_NAMES);
  const services = loadServices(root, ENVIRONMENT_NAMES);
  return synthesizeAll(path.join(root, 'dist'), envs.map(env => () => ({ env, services, rollouts: loadRollouts(root, env.name, services) })));
}

/**
 * What one environment of the repository at `root` is rendered from: its configuration, every service file and the
 * environment's rollout state.
 *
 * @param rollouts rollout state already in hand, used instead of the state files
 * @param services the service files already loaded (the CLI has them), used instead of reading them again
 * @throws {@link ConfigError}, {@link ServiceFileError} or {@link StateError} naming the file and field at fault
 */
export function loadStackInput(root: string, name: EnvironmentName, rollouts?: Rollouts, services?: Services): StackInput {
  const env = loadEnvironment(name);
  // the checks across environments hold for one environment's render too (the CLI's, `cdk8s synth`'s): a staging that
  // shares prod's bucket would otherwise be written, and its compactor would delete prod's data
  checkAcrossEnvironments(ENVIRONMENT_NAMES.map(other => (other === name ? env : loadEnvironment(other))));
  const catalog = services ?? loadServices(root, ENVIRONMENT_NAMES);
  return { env, services: catalog, rollouts: rollouts ?? loadRollouts(root, name, catalog) };
}

/**
 * Renders one environment of the repository at `root` into `<root>/dist/<name>/` and replaces that directory alone
 * (staged beside `dist/`, as {@link synthesizeAll} stages all of it): the canary CLI's changes touch one environment's
 * state, so their commits touch only that environment's manifests, and a failure leaves `dist/<name>/` as it was.
 *
 * @param rollouts rollout state already in hand (loaded, perhaps changed and not yet written), used instead of the
 *   state files
 * @param services the service files already loaded, used instead of reading them again
 * @returns the number of objects written
 */
export function synthesizeEnvironment(root: string, name: EnvironmentName, rollouts?: Rollouts, services?: Services): number {
  const dist = path.join(root, 'dist');
  fs.mkdirSync(dist, { recursive: true });
  return replaceWithStaged(path.join(dist, name), root,
    staging => renderInto(staging, loadStackInput(root, name, rollouts, services)));
}

/**
 * What `npm run synth` and `cdk8s synth` print when synth fails, after a line of their own: the error's message (a
 * configuration or state error lists each field, the value received and what is allowed), never a stack trace into
 * the bundled code.
 */
export function synthFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The suffix of the marker {@link replaceDirectory} leaves beside the replacement while it swaps. */
const SWAP_MARKER = '.swap';

/**
 * Replaces `target` with `replacement` by two renames on the same file system; if the second fails, the first is
 * undone, so `target` is either the old or the new tree. A marker beside `replacement` names `target` while the two
 * renames run: a run killed between them leaves it, and {@link recoverSwaps} puts a tree back in place.
 */
export function replaceDirectory(target: string, replacement: string): void {
  const old = `${replacement}-old`;
  const marker = `${replacement}${SWAP_MARKER}`;
  const hadTarget = fs.existsSync(target);
  fs.writeFileSync(marker, JSON.stringify({ target: path.resolve(target) }));
  if (hadTarget) fs.renameSync(target, old);
  crashPoint('swapping');
  try {
    fs.renameSync(replacement, target);
  } catch (error) {
    if (hadTarget) fs.renameSync(old, target);
    fs.rmSync(marker, { force: true });
    throw error;
  }
  fs.rmSync(marker, { force: true });
  fs.rmSync(old, { recursive: true, force: true });
  crashPoint('swapped');
}

/**
 * The repository root: the nearest directory at or above `start` that holds `cdk8s.yaml`.
 *
 * @throws if there is none
 */
export function findRepoRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'cdk8s.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no cdk8s.yaml at or above ${start}; run this from the repository`);
    dir = parent;
  }
}
