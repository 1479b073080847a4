import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliIo, runCli } from '../../lib/delivery/cli';

/** What one in-process run of the `canary` CLI printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the `canary` CLI in this process, in `cwd`, at a fixed time, capturing what it prints. */
export async function cliIn(cwd: string, argv: readonly string[], now: Date = new Date('2026-11-01T12:00:00Z')): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { cwd, stdout: t => (stdout += t), stderr: t => (stderr += t), now: () => now };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** The service file of a team's service that is nothing like the demo (tests/fixtures/services/ledger.yaml). */
export const LEDGER_YAML = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'services', 'ledger.yaml'), 'utf8');
