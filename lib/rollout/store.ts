import * as fs from 'node:fs';
import * as path from 'node:path';
import { Services, serviceFile } from '../services/catalog';
import { ServiceSpec } from '../services/service';
import { sloSourceOf } from '../slo/recording-rules';
import { ISTIO_DURATION_BUCKETS_MS, TRACKS, workloadName } from '../slo/vocabulary';
import { canaryCommand, initCommand } from './commands';
import { settingsOf } from './settings';
import { RolloutState, StateError, parseRolloutState, renderRolloutState } from './state';

/** The rollout state of every service of one environment, by service name. */
export type Rollouts = Readonly<Record<string, RolloutState>>;

/** Where the state files live, relative to the repository root. */
export const ROLLOUT_DIR = 'rollout';

/** `rollout/<env>/<service>.yaml`, relative to the repository root. */
export function rolloutFile(env: string, service: string): string {
  return path.posix.join(ROLLOUT_DIR, env, `${service}.yaml`);
}

/**
 * Reads and validates the state file of every service of an environment, each against its service file.
 *
 * @throws {@link StateError} naming the file (and field) at fault: a service without a state file, a state file
 *   without a service, a missing `rollout/<env>/`, an image of another repository, a weight that is not a step
 */
export function loadRollouts(root: string, env: string, services: Services): Rollouts {
  const dir = `${path.posix.join(ROLLOUT_DIR, env)}/`;
  if (!fs.statSync(path.join(root, dir), { throwIfNoEntry: false })?.isDirectory()) {
    throw new StateError(dir, [
      `the directory is missing; every environment needs one, with a state file per service (run \`${initCommand('<service>', env)}\` `
      + 'for each service; a copy of another environment\'s files would carry its pods, its canaries in flight and its history)',
    ]);
  }
  const present = fs.readdirSync(path.join(root, dir)).filter(f => f.endsWith('.yaml')).map(f => f.slice(0, -'.yaml'.length));
  for (const name of present) {
    if (!Object.hasOwn(services, name)) {
      throw new StateError(rolloutFile(env, name), [
        `no service file ${serviceFile(name)} names this service: add one, or delete this state file if the service is gone`,
      ]);
    }
  }
  // what the environment's dist/ as last synthesized runs: what Argo CD syncs until the next synth replaces it
  const running = runningServices(root, env);
  const removed = [...running].filter(([name, run]) => run.canary && !Object.hasOwn(services, name));
  if (removed.length > 0) {
    throw new StateError(dir, removed.map(([name, run]) => `dist/${env}/ runs a canary of ${name} (${workloadName(name, 'canary')} in namespace `
      + `${run.namespace}), but no service file names ${name} any more: the sync would delete the canary with its traffic on it, failing the `
      + `requests in flight. Put back ${serviceFile(name)} and ${rolloutFile(env, name)}, end the canary (${canaryCommand('rollback', env, name)} `
      + '--commit --push, and again once the cluster runs the route), then remove the service'));
  }
  const namespaces = new Set([...Object.values(services).map(s => s.namespace), ...[...running.values()].map(r => r.namespace)]);
  const out: Record<string, RolloutState> = {};
  for (const [name, spec] of Object.entries(services)) {
    const file = rolloutFile(env, name);
    if (!present.includes(name)) {
      // a new service has state nowhere: one init writes every environment's; else only this one lacks it
      const elsewhere = fs.readdirSync(path.join(root, ROLLOUT_DIR)).some(other => fs.existsSync(path.join(root, rolloutFile(other, name))));
      throw new StateError(file, [
        `the file is missing: ${serviceFile(name)} has no rollout state in ${env}; run \`${initCommand(name, elsewhere ? env : undefined)}\``,
      ]);
    }
    const state = parseRolloutState(fs.readFileSync(path.join(root, file), 'utf8'), file, name);
    const problems = [...problemsWithService(state, spec), ...recordedCallProblems(state, services, env, namespaces)];
    if (problems.length > 0) throw new StateError(file, problems);
    out[name] = state;
  }
  return out;
}

/** The fields of a Deployment's manifest that name a service's workload: metadata's name and namespace, its labels' app and version. */
const WORKLOAD_FIELDS = {
  name: /^ {2}name: ([a-z0-9.-]+)$/m, namespace: /^ {2}namespace: ([a-z0-9.-]+)$/m,
  app: /^ {4}app: ([a-z0-9.-]+)$/m, track: /^ {4}version: ([a-z0-9.-]+)$/m,
} as const;

/**
 * The services that `dist/<env>/` as last synthesized runs (what Argo CD syncs until the next synth replaces it), by
 * name: the namespace of their workloads, and whether a canary is among them. Read from the manifests' text: the
 * Deployments labelled with a service (`app`) and a track (`version`) and named after both (`<service>-<track>`), in
 * the chart directories below `dist/<env>/`, an application cluster's too (`clusters/<name>/<chart>/`); none where
 * there is no `dist/<env>/`.
 */
export function runningServices(root: string, env: string): Map<string, { readonly namespace: string; readonly canary: boolean }> {
  const subdirectories = (dir: string): string[] => {
    try {
      return fs.readdirSync(dir, { withFileTypes: true }).filter(e => e.isDirectory()).map(e => path.join(dir, e.name));
    } catch {
      return [];
    }
  };
  // a chart's directory holds its manifest; another (`clusters/`, `clusters/<name>/`) holds charts further down
  const chartsBelow = (dir: string, depth: number): string[] => subdirectories(dir).flatMap(sub => (fs.existsSync(path.join(sub, 'manifest.yaml'))
    ? [sub] : depth > 1 ? chartsBelow(sub, depth - 1) : []));
  const charts = chartsBelow(path.join(root, 'dist', env), 3);
  const out = new Map<string, { namespace: string; canary: boolean }>();
  for (const chart of charts) {
    for (const doc of fs.readFileSync(path.join(chart, 'manifest.yaml'), 'utf8').split(/^---$/m)) {
      if (!/^kind: Deployment$/m.test(doc)) continue;
      const [name, namespace, app, track] = (['name', 'namespace', 'app', 'track'] as const).map(f => WORKLOAD_FIELDS[f].exec(doc)?.[1]);
      const known = TRACKS.find(t => t === track);
      if (!app || !namespace || !known || name !== workloadName(app, known)) continue;
      out.set(app, { namespace, canary: (out.get(app)?.canary ?? false) || known === 'canary' });
    }
  }
  return out;
}

/**
 * Refuses a directory under `rollout/` that names no environment: an environment removed from the configuration while
 * its state stayed behind, maybe with canaries in flight that nothing would decide any more (synth drops the
 * environment's `dist/`, and the scheduled workflow keeps finding them in flight).
 *
 * @throws {@link StateError} naming the directory, its canaries in flight, and the way to remove an environment
 */
export function checkRolloutDirectories(root: string, environments: readonly string[]): void {
  // no rollout/ at all: each environment's own check says what to run
  const entries = fs.existsSync(path.join(root, ROLLOUT_DIR)) ? fs.readdirSync(path.join(root, ROLLOUT_DIR), { withFileTypes: true }) : [];
  // hidden ones are no environment's (an editor's, a tool's)
  const dirs = entries.filter(entry => entry.isDirectory() && !entry.name.startsWith('.')).map(entry => entry.name);
  for (const env of dirs.filter(dir => !environments.includes(dir)).sort()) {
    const dir = `${path.posix.join(ROLLOUT_DIR, env)}/`;
    const inFlight = fs.readdirSync(path.join(root, dir)).filter(f => f.endsWith('.yaml')).sort().flatMap(file => {
      const name = file.slice(0, -'.yaml'.length);
      try {
        const { canary } = parseRolloutState(fs.readFileSync(path.join(root, dir, file), 'utf8'), `${dir}${file}`, name);
        return canary ? [`${name} (${canary.image} at ${canary.weight}%)`] : [];
      } catch {
        return [`${name} (its state file does not parse)`];
      }
    });
    throw new StateError(dir, [
      `no environment is named ${JSON.stringify(env)} (the environments: ${environments.join(', ')}; lib/config/): `
      + (inFlight.length > 0
        ? `its canaries in flight, ${inFlight.join(', ')}, would be decided by nothing: put the environment back, end them `
          + `(${canaryCommand('rollback', env)} --commit --push, or promote), then remove the environment and this directory together`
        : 'remove this directory with the environment, or put the environment back'),
    ]);
  }
}

/** What a state file gets wrong about its service file. */
export function problemsWithService(state: RolloutState, spec: ServiceSpec): string[] {
  const problems: string[] = [];
  for (const [field, image] of [['stable.image', state.stable.image], ['canary.image', state.canary?.image]] as const) {
    // a registry move names the old repository as previousImage: what runs from it keeps running until a release
    // replaces it, the first build from the new registry included
    if (image !== undefined && repositoryOf(image) !== spec.image && repositoryOf(image) !== spec.previousImage) {
      problems.push(`'${field}' must be an image of ${spec.image} (${spec.file}${spec.previousImage ? `, or of its previousImage ${spec.previousImage}` : ''}), `
        + `got ${JSON.stringify(image)}${spec.previousImage ? '' : `; after a registry move, name the old repository as 'previousImage' in ${spec.file} `
        + 'until a release replaces what runs from it'}`);
    }
  }
  // a canary's weight need not be one of the steps: a plan changed while it is in flight (its state file's or service
  // file's steps) takes it on from the first step above; refusing it would stop every service's gate in the environment
  const { slo, analysis } = settingsOf(state, spec);
  // the gate (this state's analysis.metrics) or the SLO alerts (the service file's source) judge it on the sidecars'
  // histogram, whose quantile between two boundaries is interpolated: a limit between them is judged on a guess
  if (analysis.metrics === 'istio' || sloSourceOf(spec) === 'istio') {
    for (const key of ['p95LatencyMs', 'p99LatencyMs'] as const) {
      const limit = slo[key];
      if (limit === undefined || limit === null || ISTIO_DURATION_BUCKETS_MS.includes(limit)) continue;
      // as settingsOf reads them: null is not set
      const where = state.slo?.[key] != null ? '' : ` (from ${spec.slo?.[key] != null ? spec.file : 'the defaults'})`;
      problems.push(`'slo.${key}'${where} must be a bucket boundary of the sidecars' request-duration histogram, which the gate `
        + `reads (${ISTIO_DURATION_BUCKETS_MS.join(', ')} ms), got ${limit}`);
    }
  }
  // the default (0.5) is taken at most at the SLO's ratio (lib/delivery/decide.ts); a value written above it is refused
  const written = state.analysis?.rollbackBelowSuccessRatio ?? spec.analysis?.rollbackBelowSuccessRatio;
  if (written != null && analysis.rollbackBelowSuccessRatio > slo.successRatio) {
    const where = state.analysis?.rollbackBelowSuccessRatio != null ? '' : ` (from ${spec.file})`;
    problems.push(`'analysis.rollbackBelowSuccessRatio'${where} must be at most the SLO's successRatio, ${slo.successRatio} (a ratio that passes the SLO `
      + `cannot roll back at once), got ${analysis.rollbackBelowSuccessRatio}`);
  }
  if (analysis.metrics === 'http' && !spec.metrics.http) {
    problems.push(`'analysis.metrics' is "http" but ${spec.file} names no 'metrics.http': add them there, or use "istio"`);
  }
  return problems;
}

/** A DNS label: a service's or a namespace's name. */
const LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';
/**
 * An in-cluster address written in a value (`http://backend.apps.svc.cluster.local:8081/x`, `dns:///ledger.payments.svc:9090`,
 * `backend.apps.svc`): its service and namespace, with the port if written.
 */
const SERVICE_ADDRESS = new RegExp(`(?<![-a-z0-9.])(${LABEL})\\.(${LABEL})\\.svc(?:\\.cluster\\.local)?\\.?(?::\\d+)?(?![-a-z0-9.])`, 'g');

/**
 * The calls a state's recorded pods make to the services this project renders that the files no longer let through:
 * to a service no file names (removed, renamed), or whose `callers` no longer list this one. Those pods keep running
 * what was recorded until a release replaces them, and Argo CD would prune the route and the network flows they call
 * through in the same sync: every call would fail. Not the calls to a service on another port or in another namespace
 * since: a caller's record takes its new address only from a release after that change, which this would refuse.
 *
 * @param env the environment of the state, which the message's command names
 * @param rendered the namespaces of this project's services: the files' and those the environment's `dist/` runs
 *   ({@link runningServices}: the last service of a namespace removed still runs there until the sync)
 */
export function recordedCallProblems(state: RolloutState, services: Services, env: string,
  rendered: ReadonlySet<string> = new Set(Object.values(services).map(s => s.namespace))): string[] {
  const problems: string[] = [];
  for (const [track, pod] of [['stable', state.stable.pod], ['canary', state.canary?.pod]] as const) {
    if (!pod) continue;
    const values: Array<[string, string]> = [
      ...Object.entries(pod.env).flatMap(([name, value]): Array<[string, string]> => (typeof value === 'string' ? [[`env.${name}`, value]] : [])),
      ...(['command', 'args'] as const).flatMap(list => (pod[list] ?? []).map((value, i): [string, string] => [`${list}[${i}]`, value])),
    ];
    for (const [field, value] of values) {
      for (const [address, name, namespace] of value.matchAll(SERVICE_ADDRESS)) {
        if (!rendered.has(namespace) || name === state.service) continue;
        const target = Object.hasOwn(services, name) ? services[name] : undefined;
        // not the port, nor a move to another namespace: the callers' records take the new address only from a release
        // after the change, which this check would refuse (the README's one push, its calls failing while they roll out)
        if (target && target.namespace !== namespace) continue;
        const why = !target ? `no service file names ${name} in namespace ${namespace}`
          : !(target.callers ?? []).includes(state.service) ? `the 'callers' of ${name} (${target.file}) do not list ${state.service}` : undefined;
        if (why === undefined) continue;
        problems.push(`'${track}.pod.${field}' calls ${address}, but ${why}: ${track}'s pods run this record until a release replaces it, and `
          + `every call would fail once the sync removes the route and the network flows. Keep ${name} as it was until ${state.service} `
          + `is released without the call (${canaryCommand('start', env, state.service)}, then its promotion), then change it`);
      }
    }
  }
  return problems;
}

/** The repository of an image reference: without its tag and digest (`registry:5000/a/b:1.2@sha256:…` → `registry:5000/a/b`). */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

/** Writes a state file atomically (a reader sees the old or the new file, never half of one). */
export function writeRolloutState(root: string, env: string, state: RolloutState): string {
  const file = rolloutFile(env, state.service);
  const target = path.join(root, file);
  // `.<name>.<pid>.tmp`: ignored by git, so one left by a killed run never blocks the next --commit
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(tmp, renderRolloutState(state));
  fs.renameSync(tmp, target);
  return file;
}
