import { ChildProcess, StdioOptions, spawn } from 'node:child_process';
import * as path from 'node:path';
import { ServiceName } from '../../../apps/contract';
import { waitFor } from '../../support/wait';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** How a service process is traced: our bootstrap, none, or the zero-code auto-instrumentations. */
export type TracingMode = 'ours' | 'off' | 'zero-code';

/** One JSON log line. */
export type LogLine = Record<string, unknown> & { level?: string; msg?: string; trace_id?: string };

/** Options of {@link startServiceProcess}. */
export interface ServiceProcessOptions {
  /** Extra environment; `PORT` defaults to 0, `SHUTDOWN_DELAY_MS` to 0, `OTEL_BSP_SCHEDULE_DELAY` to 100. */
  readonly env?: Readonly<Record<string, string>>;
  /** @default 'ours' */
  readonly tracing?: TracingMode;
}

/** The node arguments that run `service` from its TypeScript sources with the given tracing. */
function nodeArgs(service: ServiceName, tracing: TracingMode): string[] {
  const preload: Record<TracingMode, string[]> = {
    ours: ['--require', `./apps/${service}/src/otel.ts`],
    off: [],
    'zero-code': ['--require', '@opentelemetry/auto-instrumentations-node/register'],
  };
  return ['--require', './tools/ts-hook.cjs', ...preload[tracing], `apps/${service}/src/main.ts`];
}

/** How {@link spawnService} starts the process. */
export interface SpawnServiceOptions {
  /** The whole environment. */
  readonly env: NodeJS.ProcessEnv;
  /** The child's stdin, stdout and stderr. */
  readonly stdio: StdioOptions;
  /** Run the process under `taskset -c <cpus>`. @default - no pinning */
  readonly cpus?: string;
}

/** Spawns `service` from its sources in the repository root. */
export function spawnService(service: ServiceName, tracing: TracingMode, { env, stdio, cpus }: SpawnServiceOptions): ChildProcess {
  const args = nodeArgs(service, tracing);
  // taskset execs node, so the pid is the server's and /proc/<pid>/stat counts its CPU
  return cpus === undefined
    ? spawn(process.execPath, args, { cwd: ROOT, env, stdio })
    : spawn('taskset', ['-c', cpus, process.execPath, ...args], { cwd: ROOT, env, stdio });
}

/** A service running as a child process on a loopback port, with its stdout parsed as JSON lines. */
export class ServiceProcess {
  /** Parsed stdout lines. */
  readonly logs: LogLine[] = [];
  /** Raw stderr. */
  stderr = '';
  /** The port from the `listening` line. */
  port = 0;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;

  constructor(readonly name: ServiceName, readonly child: ChildProcess) {
    let pending = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.take(line);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise(resolve => child.once('exit', code => resolve(code)));
  }

  private take(line: string): void {
    if (line.trim() === '') return;
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      parsed = { level: 'unparsed', msg: line };
    }
    if (parsed.msg === 'listening' && typeof parsed.port === 'number') this.port = parsed.port;
    this.logs.push(parsed);
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Log lines matching `predicate`. */
  linesWhere(predicate: (line: LogLine) => boolean): LogLine[] {
    return this.logs.filter(predicate);
  }

  /** Polls until a log line matches `predicate` and returns it. */
  async waitForLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs = 15_000): Promise<LogLine> {
    await waitFor(() => this.logs.some(predicate), { timeoutMs, what: `${this.name} log line: ${what}` });
    return this.logs.find(predicate) as LogLine;
  }

  /** Sends `signal` and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Starts `service` on a free port and resolves once it logged `listening`. */
export async function startServiceProcess(service: ServiceName, options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
  const env = {
    ...process.env,
    PORT: '0',
    SHUTDOWN_DELAY_MS: '0',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ...options.env,
  };
  const child = spawnService(service, options.tracing ?? 'ours', { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new ServiceProcess(service, child);
  let exited = false;
  void proc.exited.then(() => (exited = true));
  try {
    await waitFor(() => proc.port !== 0 || exited, { timeoutMs: 30_000, what: `${service} to listen` });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if (proc.port === 0) throw new Error(`${service} exited with ${await proc.exited} before listening:\n${proc.stderr}${JSON.stringify(proc.logs)}`);
  return proc;
}
