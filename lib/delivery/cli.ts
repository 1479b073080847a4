import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/checks';
import { EnvironmentName } from '../config/environment';
import { ENVIRONMENT_NAMES, loadEnvironment } from '../config/environments';
import { EffectiveSettings, settingsOf } from '../rollout/settings';
import { StateError, parseRolloutState, renderRolloutState } from '../rollout/state';
import { Rollouts, loadRollouts, problemsWithService, rolloutFile, writeRolloutState } from '../rollout/store';
import { Services, loadServices } from '../services/catalog';
import { ServiceFileError, ServiceSpec } from '../services/service';
import { currentPod } from '../charts/service-pods';
import { findRepoRoot, replaceDirectory, synthesizeEnvironment } from '../synth';
import { Command, USAGE, helpOf, parseCommand, prometheusUrlOf, smokeUrlOf } from './args';
import { GateDecision } from './decide';
import { runGate } from './gate';
import { commitPaths, uncommittedChanges } from './git';
import {
  Change, UsageError, describeStatus, endCanaryByHand, initialState, releaseUngated, serviceNamed, startCanary, statusOf, withOverrides,
} from './plan';
import { Outcome, describeGate, gateReport, gateSummaryMarkdown } from './report';

/** What the CLI may touch: tests pass their own. */
export interface CliIo {
  /** Where the command runs; the repository root is found from here. */
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly now: () => Date;
  /**
   * What the process environment says; only `main.ts` reads `process.env`.
   * @default - nothing set
   */
  readonly env?: CliEnvironment;
}

/** The environment variables the CLI honours. */
export interface CliEnvironment {
  /** `PROMETHEUS_URL`: the fallback of `--prometheus-url`. */
  readonly prometheusUrl?: string;
  /** `PROMETHEUS_TOKEN`: sent as a bearer token to Prometheus. */
  readonly prometheusToken?: string;
  /** `GITHUB_STEP_SUMMARY`: a file `canary advance` appends a Markdown summary of its decision to. */
  readonly stepSummaryFile?: string;
  /** `SMOKE_BASE_URL`: the fallback of `--smoke-url`. */
  readonly smokeUrl?: string;
}

/** Exit codes: the contract scripts and workflows rely on. */
export const EXIT = { done: 0, unexpected: 1, usage: 2, held: 3, rolledBack: 4 } as const;

/**
 * The exit code of a gate decision: a hold is 3 and a roll back by the gate 4, so a workflow can tell them apart. A
 * roll back's end (the canary removed once stable has all the traffic) is 0: the roll back was reported when it began.
 */
export function exitCodeOf(decision: GateDecision, removesCanary = false): number {
  return decision === 'hold' ? EXIT.held : decision === 'rollback' && !removesCanary ? EXIT.rolledBack : EXIT.done;
}

/**
 * Runs the `canary` CLI. The only place that touches files, git, Prometheus and the clock; the decisions are in
 * `plan.ts` and `decide.ts`.
 *
 * @returns the exit code
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    const command = parseCommand(argv);
    return await execute(command, io);
  } catch (error) {
    const known = error instanceof UsageError || error instanceof StateError || error instanceof ConfigError || error instanceof ServiceFileError;
    const code = error instanceof UsageError ? error.code : known ? 'config' : 'unexpected';
    const message = error instanceof Error ? error.message : String(error);
    if (json) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
    else io.stderr(`canary: ${message}\n`);
    return known ? EXIT.usage : EXIT.unexpected;
  }
}

async function execute(command: Command, io: CliIo): Promise<number> {
  if (command.verb === 'help') {
    io.stdout(`${command.topic ? helpOf(command.topic) : USAGE}\n`);
    return EXIT.done;
  }
  const root = findRepoRoot(io.cwd);
  // the services are data: the files under services/ say which exist
  const services = loadServices(root, ENVIRONMENT_NAMES);
  const service = command.service === undefined ? undefined : serviceNamed(services, command.service);
  // a dry run too: it exits as the real run would
  if (command.verb !== 'status' && command.commit) refuseUncommittedChanges(root);
  if (command.verb === 'init') return init(command, root, services, io);
  const rollouts = loadRollouts(root, command.env, services);
  switch (command.verb) {
    case 'status': {
      const names = service ? [service.name] : Object.keys(services);
      const env = loadEnvironment(command.env);
      const statuses = names.map(name => statusOf(command.env, rollouts[name], services[name], currentPod(services[name], env, services)));
      io.stdout(command.json ? `${JSON.stringify({ env: command.env, services: statuses })}\n` : `${statuses.map(describeStatus).join('\n')}\n`);
      return EXIT.done;
    }
    case 'start': {
      const pod = currentPod(services[command.service], loadEnvironment(command.env), services);
      const release = command.ungated ? releaseUngated : startCanary;
      return applyByHand(release(rollouts[command.service], command.image, io.now(), services[command.service], pod), command, root, services,
        rollouts, io);
    }
    case 'promote':
    case 'rollback':
      return applyByHand(endCanaryByHand(rollouts[command.service], command.verb, io.now(), command.reason), command, root, services, rollouts, io);
    case 'advance':
      return advance(command, root, services, rollouts, io);
  }
}

/**
 * `--commit` commits the state file and dist/ as rendered from the working tree, so anything uncommitted would ride
 * along: edits under lib/ in the rendered dist/, a stray file in dist/, a hand edit of the state file in the decision.
 * Refuses before anything is read from Prometheus or written.
 *
 * @throws {@link UsageError} naming the uncommitted paths
 */
function refuseUncommittedChanges(root: string): void {
  const changes = uncommittedChanges(root);
  if (changes.length === 0) return;
  throw new UsageError(`--commit needs a clean working tree, but git status lists ${changes.join(', ')}: the canary commit would carry `
    + 'them, and dist/ rendered from them; commit or stash them first (git stash --include-untracked), or run without --commit');
}

/** Writes (and commits) a change a person asked for, `start`, `promote` or `rollback`, and reports it. */
function applyByHand(change: Change, command: Extract<Command, { verb: 'start' | 'promote' | 'rollback' }>, root: string, services: Services,
  rollouts: Rollouts, io: CliIo): number {
  const outcome = applyChange(root, command.env, rollouts, change, {
    dryRun: command.dryRun,
    commit: command.commit,
    message: commitMessage(command.env, change),
    services,
  });
  const report = {
    service: command.service, env: command.env, decision: change.entry.decision, image: change.entry.image,
    fromWeight: change.entry.fromWeight, toWeight: change.entry.toWeight, reason: change.entry.reason, ...outcome,
  };
  io.stdout(command.json ? `${JSON.stringify(report)}\n` : `${describeOutcome(report)}\n`);
  return EXIT.done;
}

/**
 * `canary advance`: measure, decide, write. Nothing is queried without a canary or while it dwells; holds write only
 * the state file (history and counters), every other decision the state file and dist/.
 */
async function advance(command: Extract<Command, { verb: 'advance' }>, root: string, services: Services, rollouts: Rollouts,
  io: CliIo): Promise<number> {
  const service = services[command.service];
  const state = rollouts[command.service];
  const url = prometheusUrlOf(command.prometheusUrl, io.env?.prometheusUrl);
  const settings: EffectiveSettings = withOverrides(settingsOf(state, service), command.overrides);
  const { analysis } = settings;
  const now = io.now();
  const smokeUrl = smokeUrlOf(command.smokeUrl, io.env?.smokeUrl);
  const { stage, queries, outcome, observation, smoke, result } = await runGate({
    state, service, settings, now, prometheus: { url, ...(io.env?.prometheusToken ? { token: io.env.prometheusToken } : {}) },
    ...(smokeUrl !== undefined ? { smokeUrl } : {}),
  });
  const applied: Outcome = result.change
    ? applyChange(root, command.env, rollouts, result.change, {
      dryRun: command.dryRun,
      commit: command.commit,
      message: commitMessage(command.env, result.change, analysis),
      synth: result.decision !== 'hold',
      services,
    })
    : { dryRun: command.dryRun, changed: [], commit: null };
  const report = gateReport({
    service: command.service, env: command.env, image: state.canary?.image ?? null, result, settings, queries,
    window: stage.kind === 'measure' ? { length: analysis.window, start: stage.windowStart.toISOString(), end: now.toISOString() } : null,
    samples: outcome?.samples ?? {}, outcome: applied,
    observation: observation ? { query: observation.query, applied: observation.outcome.ok ? observation.outcome.applied : null } : null,
    smoke: smoke?.ran ? smoke.results : null,
  });
  io.stdout(command.json ? `${JSON.stringify(report)}\n` : `${describeGate(report)}\n`);
  if (io.env?.stepSummaryFile) fs.appendFileSync(io.env.stepSummaryFile, gateSummaryMarkdown(report));
  return exitCodeOf(result.decision, result.change !== null && result.change.state.canary === null);
}

/** What `canary init` reports: the service, where it was onboarded, and what changed. */
export interface InitReport extends Outcome {
  readonly service: string;
  readonly envs: readonly EnvironmentName[];
  readonly decision: 'init';
  /** The image stable runs. */
  readonly image: string;
  /** The state files written (or, in a dry run, that would be). */
  readonly files: readonly string[];
  /**
   * The environments whose dist/ is not rendered yet, each with the services that still have no state file there (an
   * environment is onboarded one service at a time, and rendered once every service has its state).
   */
  readonly pending: Readonly<Record<EnvironmentName, readonly string[]>>;
}

/**
 * `canary init`: writes the first state file of a service in each environment asked for, re-synthesizes their dist/
 * from the complete rollout state in memory, and with `--commit` commits all of it as one commit. An environment where
 * other services have no state file yet (a new one, onboarded one service at a time) only gets the state file; its
 * dist/ is rendered by the init that completes it. When synth, a write or the commit fails, the state files are
 * removed again and every dist/<env> is put back as it was.
 *
 * @throws {@link UsageError} (code `exists`) when a state file of the service already exists in one of the
 *   environments, or (code `usage`) when the image is not pinned or not of the service's repository
 */
function init(command: Extract<Command, { verb: 'init' }>, root: string, services: Services, io: CliIo): number {
  const spec = services[command.service];
  const files = command.envs.map(env => rolloutFile(env, command.service));
  const existing = files.filter(file => fs.existsSync(path.join(root, file)));
  if (existing.length > 0) {
    throw new UsageError(`${command.service} already has rollout state: ${existing.join(', ')} exists; release a new image with canary start, `
      + `or name with --env an environment it has none in (${ENVIRONMENT_NAMES.join(', ')})`, 'exists');
  }
  // each environment's own: its defaults (resources) are part of what stable runs
  const states = new Map(command.envs.map(env => [env, initialState(spec, command.image, currentPod(spec, loadEnvironment(env), services))]));
  for (const [env, state] of states) {
    // the new files must be ones the next run can read
    const file = rolloutFile(env, command.service);
    const problems = problemsWithService(state, spec);
    if (problems.length > 0) throw new StateError(file, problems);
    parseRolloutState(renderRolloutState(state), file, command.service);
  }
  // the other services' state as the files say, then this one's: what synth renders each environment from
  const others: Services = Object.fromEntries(Object.entries(services).filter(([name]) => name !== command.service));
  const plans = command.envs.map(env => {
    const missing = Object.keys(others).filter(name => !fs.existsSync(path.join(root, rolloutFile(env, name))));
    if (missing.length > 0) return { env, missing };
    // without other services there may be no rollout/<env>/ yet
    const rollouts = Object.keys(others).length > 0 ? loadRollouts(root, env, others) : {};
    return { env, missing, rollouts: { ...rollouts, [command.service]: states.get(env)! } };
  });
  const pending = Object.fromEntries(plans.filter(plan => plan.missing.length > 0).map(plan => [plan.env, plan.missing]));
  const report = (outcome: Outcome): InitReport => ({
    service: command.service, envs: command.envs, decision: 'init', image: command.image, files, pending, ...outcome,
  });
  if (command.dryRun) {
    io.stdout(describeInit(report({ dryRun: true, changed: [], commit: null }), command.json));
    return EXIT.done;
  }
  const rendered = plans.flatMap(plan => (plan.rollouts ? [{ env: plan.env, rollouts: plan.rollouts }] : []));
  const changed = [...files, ...rendered.map(plan => `dist/${plan.env}`)];
  const backup = backUpDist(root, rendered.map(plan => plan.env));
  const written: string[] = [];
  try {
    // dist/<env>/ first: a failed synth leaves no state file behind
    for (const plan of rendered) synthesizeEnvironment(root, plan.env, plan.rollouts, services);
    for (const [env, state] of states) written.push(writeRolloutState(root, env, state));
    const commit = command.commit ? commitPaths(root, changed, initCommitMessage(spec, command.envs, command.image, pending)) : null;
    backup.discard();
    io.stdout(describeInit(report({ dryRun: false, changed, commit }), command.json));
    return EXIT.done;
  } catch (error) {
    for (const file of written) fs.rmSync(path.join(root, file), { force: true });
    backup.restore();
    throw error;
  }
}

/** The commit message of `canary init`; `pending` as {@link InitReport.pending}. */
export function initCommitMessage(service: ServiceSpec, envs: readonly EnvironmentName[], image: string,
  pending: InitReport['pending'] = {}): string {
  const lines = [
    `canary(${service.name}, ${envs.join(', ')}): init ${image} as stable`,
    '',
    `onboarded ${service.name} (${service.file}) with stable ${image} and no canary; its steps, SLO and analysis `
      + `are those of ${service.file}`,
    ...Object.entries(pending).map(([env, missing]) => `dist/${env} is not rendered yet: no state in ${env} for ${missing.join(', ')}`),
  ];
  return `${lines.join('\n')}\n`;
}

function describeInit(r: InitReport, json: boolean): string {
  if (json) return `${JSON.stringify(r)}\n`;
  const where = `${r.service} in ${r.envs.join(', ')} with stable ${r.image}`;
  const waiting = Object.entries(r.pending).map(([env, missing]) =>
    `; dist/${env} is rendered once every service has state there (canary init --env ${env} for ${missing.join(', ')})`).join('');
  if (r.dryRun) return `dry run: would onboard ${where} (${r.files.join(', ')})${waiting}; nothing changed\n`;
  return `onboarded ${where}; wrote ${r.changed.join(', ')}${waiting}${r.commit ? `; committed ${r.commit}` : ''}\n`;
}

/**
 * A copy of `dist/<env>/` of each environment, beside `dist/`, to put back when a change that re-synthesized them
 * fails: a synth from the state before `canary init` is no way back, since the new service's file is already there.
 */
function backUpDist(root: string, envs: readonly EnvironmentName[]): { readonly restore: () => void; readonly discard: () => void } {
  // `.dist-*` is where synth stages too: ignored by git, on the same file system as dist/
  const dir = path.join(root, `.dist-backup-${randomBytes(4).toString('hex')}`);
  for (const env of envs) {
    const from = path.join(root, 'dist', env);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, env), { recursive: true });
  }
  const discard = (): void => fs.rmSync(dir, { recursive: true, force: true });
  return {
    restore: () => {
      for (const env of envs) {
        const target = path.join(root, 'dist', env);
        const saved = path.join(dir, env);
        if (fs.existsSync(saved)) replaceDirectory(target, saved);
        else fs.rmSync(target, { recursive: true, force: true });
      }
      discard();
    },
    discard,
  };
}

/** Options of {@link applyChange}. */
export interface ApplyOptions {
  readonly dryRun: boolean;
  readonly commit: boolean;
  readonly message: string;
  /**
   * Re-synthesize dist/ from the new state. A hold changes only history and counters, which nothing renders.
   * @default true
   */
  readonly synth?: boolean;
  /**
   * The service files as the command loaded them, rendered from instead of reading them again.
   * @default - read from services/
   */
  readonly services?: Services;
}

/**
 * Writes a changed state file and re-synthesizes dist/ from it, as one step: when synth or the commit fails, the state
 * file and dist/ are put back as they were (dist/<env>/ from a copy, as `canary init` does: rendering the old state
 * again could fail too).
 *
 * @param rollouts the environment's rollout state as loaded, before the change
 */
export function applyChange(root: string, env: EnvironmentName, rollouts: Rollouts, change: Change, options: ApplyOptions): Outcome {
  const file = rolloutFile(env, change.state.service);
  // the new file must be one the next run can read
  parseRolloutState(renderRolloutState(change.state), file, change.state.service);
  if (options.dryRun) return { dryRun: true, changed: [], commit: null };
  const synth = options.synth ?? true;
  const changed = synth ? [file, `dist/${env}`] : [file];
  // the file as written (comments and all), and dist/<env>/, to put back
  const previous = fs.readFileSync(path.join(root, file), 'utf8');
  const backup = backUpDist(root, synth ? [env] : []);
  try {
    // dist/<env>/ first, from the new state in memory: a failed synth leaves it as it was and the state file unwritten
    if (synth) synthesizeEnvironment(root, env, { ...rollouts, [change.state.service]: change.state }, options.services);
    writeRolloutState(root, env, change.state);
    const commit = options.commit ? commitPaths(root, changed, options.message) : null;
    backup.discard();
    return { dryRun: false, changed, commit };
  } catch (error) {
    fs.writeFileSync(path.join(root, file), previous);
    backup.restore();
    throw error;
  }
}

/**
 * The commit message of a change: a subject line, then the reason and the numbers behind it (canary, stable, failed
 * checks and, while the canary is in flight, its counters against their limits).
 */
export function commitMessage(env: string, change: Change, limits?: { maxFailedChecks: number; maxConsecutiveHolds: number }): string {
  const { entry } = change;
  const lines = [
    `canary(${change.state.service}, ${env}): ${entry.decision} ${entry.image} ${entry.fromWeight}% → ${entry.toWeight}%`,
    '',
    entry.reason,
  ];
  if (entry.measurements) lines.push('', ...Object.entries(entry.measurements).map(([k, v]) => `${k}: ${v ?? 'unknown'}`));
  if (entry.baseline) lines.push('', ...Object.entries(entry.baseline).map(([k, v]) => `stable ${k}: ${v ?? 'unknown'}`));
  if (entry.failedChecks?.length) lines.push('', 'failed checks:', ...entry.failedChecks.map(c => `- ${c}`));
  const canary = change.state.canary;
  if (limits && canary) {
    lines.push('', `failed checks in this run: ${canary.failedChecks} of ${limits.maxFailedChecks}`,
      `holds in a row: ${canary.consecutiveHolds} (roll back beyond ${limits.maxConsecutiveHolds})`);
  }
  return `${lines.join('\n')}\n`;
}

function describeOutcome(r: { service: string; env: string; reason: string } & Outcome): string {
  if (r.dryRun) return `dry run: would ${r.reason} (${r.env}/${r.service}); nothing changed`;
  return `${r.env}/${r.service}: ${r.reason}; wrote ${r.changed.join(', ')}${r.commit ? `; committed ${r.commit}` : ''}`;
}
