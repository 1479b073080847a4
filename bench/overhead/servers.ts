import { ChildProcess, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { ENV, PATHS, ServiceName } from '../../apps/contract';
import { TracingMode, spawnService } from '../../tests/apps/support/service-process';
import { freePort } from '../../tests/support/ports';
import { waitFor } from '../../tests/support/wait';

/** A gateway → backend pair run with one tracing set-up. */
export interface ServerPair {
  /** The gateway's base URL. */
  readonly url: string;
  /** Both processes' ids, for CPU accounting. */
  readonly pids: readonly number[];
  /** Stops both. */
  stop(): Promise<void>;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU time (user + system) of `pid` so far, in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the parenthesised command name; utime and stime are fields 14 and 15
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

// stdout ignored: parsing access logs would cost the load generator's CPU
function startOne(service: ServiceName, tracing: TracingMode, env: Record<string, string>, cpus: string | undefined): ChildProcess {
  return spawnService(service, tracing, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'], cpus });
}

async function ready(url: string): Promise<void> {
  await waitFor(async () => (await fetch(`${url}${PATHS.readiness}`).catch(() => undefined))?.status === 200, { what: `${url} to be ready`, timeoutMs: 60_000 });
}

/** Starts backend and gateway with `tracing` and `env` (both pinned to `cpus` if given) and waits until both are ready. */
export async function startPair(tracing: TracingMode, env: Record<string, string>, cpus?: string): Promise<ServerPair> {
  const [backendPort, gatewayPort] = [await freePort(), await freePort()];
  const common = { ...env, [ENV.logLevel]: 'info', [ENV.shutdownDelayMs]: '0' };
  const backend = startOne('backend', tracing, { ...common, PORT: String(backendPort), OTEL_SERVICE_NAME: 'backend' }, cpus);
  const gateway = startOne('gateway', tracing,
    { ...common, PORT: String(gatewayPort), BACKEND_URL: `http://127.0.0.1:${backendPort}`, OTEL_SERVICE_NAME: 'gateway' }, cpus);
  const url = `http://127.0.0.1:${gatewayPort}`;
  await Promise.all([ready(`http://127.0.0.1:${backendPort}`), ready(url)]);
  return {
    url,
    pids: [backend.pid ?? -1, gateway.pid ?? -1],
    async stop() {
      await Promise.all([backend, gateway].map(child => new Promise<void>(resolve => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      })));
    },
  };
}
