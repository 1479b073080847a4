import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliEnvironment, CliIo, runCli } from '../../lib/delivery/cli';

/** What one in-process run of the `canary` CLI printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The fixed time {@link cliIn} runs the CLI at. */
export const CLI_NOW = new Date('2026-11-01T12:00:00Z');

/** Runs the `canary` CLI in this process, in `cwd`, at a fixed time and with the environment variables `env`, capturing what it prints. */
export async function cliIn(cwd: string, argv: readonly string[], env?: CliEnvironment): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { cwd, stdout: t => (stdout += t), stderr: t => (stderr += t), now: () => CLI_NOW, ...(env ? { env } : {}) };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** The service file of a team's service that is nothing like the demo (tests/fixtures/services/ledger.yaml). */
export const LEDGER_YAML = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'services', 'ledger.yaml'), 'utf8');
