import * as fs from 'node:fs';
import * as path from 'node:path';
import { SERVICES, ServiceName } from '../../apps/contract';
import { ConfigError } from '../config/checks';
import { ENVIRONMENT_NAMES } from '../config/environment';
import { loadEnvironment } from '../config/environments';
import { findRepoRoot, synthesizeAll } from '../synth';
import { Command, USAGE, parseCommand } from './args';
import { commitPaths } from './git';
import { Change, UsageError, describeStatus, startCanary, statusOf } from './plan';
import { RolloutState, StateError, parseRolloutState, renderRolloutState } from './state';
import { Rollouts, loadRollouts, rolloutFile, writeRolloutState } from './store';

/** What the CLI may touch: tests pass their own. */
export interface CliIo {
  /** Where the command runs; the repository root is found from here. */
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly now: () => Date;
}

/** Exit codes: the contract scripts and workflows rely on. */
export const EXIT = { done: 0, unexpected: 1, usage: 2 } as const;

/**
 * Runs the `canary` CLI. The only place that touches files, git and the clock; the decisions are in `plan.ts`.
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
    io.stdout(`${USAGE}\n`);
    return EXIT.done;
  }
  const root = findRepoRoot(io.cwd);
  const rollouts = loadRollouts(root, command.env);
  switch (command.verb) {
    case 'status': {
      const services = command.service ? [command.service] : (Object.keys(SERVICES) as ServiceName[]);
      const statuses = services.map(s => statusOf(command.env, rollouts[s]));
      io.stdout(command.json ? `${JSON.stringify({ env: command.env, services: statuses })}\n` : `${statuses.map(describeStatus).join('\n')}\n`);
      return EXIT.done;
    }
    case 'start': {
      const change = startCanary(rollouts[command.service], command.image, io.now());
      const outcome = applyChange(root, command.env, change, {
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
  }
}

/** What a change did to the working tree. */
export interface Outcome {
  readonly dryRun: boolean;
  /** Files written, relative to the repository root (empty for a dry run). */
  readonly changed: readonly string[];
  /** The commit made, or null. */
  readonly commit: string | null;
}

/** Options of {@link applyChange}. */
export interface ApplyOptions {
  readonly dryRun: boolean;
  readonly commit: boolean;
  readonly message: string;
}

/**
 * Writes a changed state file and re-synthesizes dist/ from it, as one step: when synth or the commit fails, the state
 * file and dist/ are put back as they were.
 */
export function applyChange(root: string, env: string, change: Change, options: ApplyOptions): Outcome {
  const file = rolloutFile(env, change.state.service);
  // the new file must be one the next run can read
  parseRolloutState(renderRolloutState(change.state), file, change.state.service);
  if (options.dryRun) return { dryRun: true, changed: [], commit: null };

  const distDir = path.join(root, 'dist');
  const synth = (override?: RolloutState) => synthesizeAll(distDir, ENVIRONMENT_NAMES.map(name => () => {
    const rollouts: Rollouts = loadRollouts(root, name);
    return { env: loadEnvironment(name), rollouts: name === env && override ? { ...rollouts, [override.service]: override } : rollouts };
  }));
  const previous = fs.readFileSync(path.join(root, file), 'utf8');
  synth(change.state);
  try {
    writeRolloutState(root, env, change.state);
    const commit = options.commit ? commitPaths(root, [file, 'dist'], options.message) : null;
    return { dryRun: false, changed: [file, 'dist'], commit };
  } catch (error) {
    fs.writeFileSync(path.join(root, file), previous);
    synth();
    throw error;
  }
}

/** The commit message of a change: a subject line, then the numbers behind it. */
export function commitMessage(env: string, change: Change): string {
  const { entry } = change;
  const lines = [
    `canary(${change.state.service}, ${env}): ${entry.decision} ${entry.image} ${entry.fromWeight}% → ${entry.toWeight}%`,
    '',
    entry.reason,
  ];
  if (entry.measurements) lines.push('', ...Object.entries(entry.measurements).map(([k, v]) => `${k}: ${v ?? 'unknown'}`));
  if (entry.failedChecks?.length) lines.push('', 'failed checks:', ...entry.failedChecks.map(c => `- ${c}`));
  return `${lines.join('\n')}\n`;
}

function describeOutcome(r: { service: string; env: string; reason: string } & Outcome): string {
  if (r.dryRun) return `dry run: would ${r.reason} (${r.env}/${r.service}); nothing changed`;
  return `${r.env}/${r.service}: ${r.reason}; wrote ${r.changed.join(', ')}${r.commit ? `; committed ${r.commit}` : ''}`;
}
