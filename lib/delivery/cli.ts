import * as fs from 'node:fs';
import * as path from 'node:path';
import { SERVICES, ServiceName } from '../../apps/contract';
import { ConfigError } from '../config/checks';
import { EnvironmentName } from '../config/environment';
import { findRepoRoot, synthesizeEnvironment } from '../synth';
import { Command, USAGE, helpOf, parseCommand, prometheusUrlOf } from './args';
import { GateDecision } from './decide';
import { runGate } from './gate';
import { commitPaths, uncommittedChanges } from './git';
import { Change, EffectiveSettings, UsageError, describeStatus, endCanaryByHand, settingsOf, startCanary, statusOf, withOverrides } from './plan';
import { Outcome, describeGate, gateReport, gateSummaryMarkdown } from './report';
import { StateError, parseRolloutState, renderRolloutState } from './state';
import { Rollouts, loadRollouts, rolloutFile, writeRolloutState } from './store';

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
}

/** Exit codes: the contract scripts and workflows rely on. */
export const EXIT = { done: 0, unexpected: 1, usage: 2, held: 3, rolledBack: 4 } as const;

/** The exit code of a gate decision: a hold is 3 and a roll back by the gate 4, so a workflow can tell them apart. */
export function exitCodeOf(decision: GateDecision): number {
  return decision === 'hold' ? EXIT.held : decision === 'rollback' ? EXIT.rolledBack : EXIT.done;
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
    const known = error instanceof UsageError || error instanceof StateError || error instanceof ConfigError;
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
  // a dry run too: it exits as the real run would
  if (command.verb !== 'status' && command.commit) refuseUncommittedChanges(root);
  const rollouts = loadRollouts(root, command.env);
  switch (command.verb) {
    case 'status': {
      const services = command.service ? [command.service] : (Object.keys(SERVICES) as ServiceName[]);
      const statuses = services.map(s => statusOf(command.env, rollouts[s]));
      io.stdout(command.json ? `${JSON.stringify({ env: command.env, services: statuses })}\n` : `${statuses.map(describeStatus).join('\n')}\n`);
      return EXIT.done;
    }
    case 'start':
      return applyByHand(startCanary(rollouts[command.service], command.image, io.now()), command, root, rollouts, io);
    case 'promote':
    case 'rollback':
      return applyByHand(endCanaryByHand(rollouts[command.service], command.verb, io.now(), command.reason), command, root, rollouts, io);
    case 'advance':
      return advance(command, root, rollouts, io);
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
function applyByHand(change: Change, command: Extract<Command, { verb: 'start' | 'promote' | 'rollback' }>, root: string, rollouts: Rollouts,
  io: CliIo): number {
  const outcome = applyChange(root, command.env, rollouts, change, {
    dryRun: command.dryRun,
    commit: command.commit,
    message: commitMessage(command.env, change),
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
async function advance(command: Extract<Command, { verb: 'advance' }>, root: string, rollouts: Rollouts, io: CliIo): Promise<number> {
  const state = rollouts[command.service];
  const url = prometheusUrlOf(command.prometheusUrl, io.env?.prometheusUrl);
  const settings: EffectiveSettings = withOverrides(settingsOf(state), command.overrides);
  const { analysis } = settings;
  const now = io.now();
  const { stage, queries, outcome, result } = await runGate({
    state, settings, now, prometheus: { url, ...(io.env?.prometheusToken ? { token: io.env.prometheusToken } : {}) },
  });
  const applied: Outcome = result.change
    ? applyChange(root, command.env, rollouts, result.change, {
      dryRun: command.dryRun,
      commit: command.commit,
      message: commitMessage(command.env, result.change, analysis),
      synth: result.decision !== 'hold',
    })
    : { dryRun: command.dryRun, changed: [], commit: null };
  const report = gateReport({
    service: command.service, env: command.env, image: state.canary?.image ?? null, result, settings, queries,
    window: stage.kind === 'measure' ? { length: analysis.window, start: stage.windowStart.toISOString(), end: now.toISOString() } : null,
    samples: outcome?.samples ?? {}, outcome: applied,
  });
  io.stdout(command.json ? `${JSON.stringify(report)}\n` : `${describeGate(report)}\n`);
  if (io.env?.stepSummaryFile) fs.appendFileSync(io.env.stepSummaryFile, gateSummaryMarkdown(report));
  return exitCodeOf(result.decision);
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
}

/**
 * Writes a changed state file and re-synthesizes dist/ from it, as one step: when synth or the commit fails, the state
 * file and dist/ are put back as they were.
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
  // dist/<env>/ first, from the new state in memory: a failed synth leaves it as it was and the state file unwritten
  if (synth) synthesizeEnvironment(root, env, { ...rollouts, [change.state.service]: change.state });
  // the file as written (comments and all), to put back
  const previous = fs.readFileSync(path.join(root, file), 'utf8');
  try {
    writeRolloutState(root, env, change.state);
    const commit = options.commit ? commitPaths(root, changed, options.message) : null;
    return { dryRun: false, changed, commit };
  } catch (error) {
    fs.writeFileSync(path.join(root, file), previous);
    if (synth) synthesizeEnvironment(root, env, rollouts);
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
