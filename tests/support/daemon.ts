import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { freePort } from './ports';
import { waitFor } from './wait';

/** A server process a test started on a loopback port (Prometheus, Alertmanager). */
export interface Daemon {
  /** Base URL, such as `http://127.0.0.1:40123`. */
  readonly url: string;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes `dir`. */
  stop(): Promise<void>;
}

/**
 * Starts `command` with the arguments `args(address)` gives for a free loopback address, and waits until `GET /-/ready`
 * answers 200. Another process may take the free port between asking and binding, so it tries three ports; when all
 * fail, `dir` is removed and the last error thrown.
 *
 * @param dir the directory of the process's files, removed when it stops
 */
export async function startDaemon(command: string, args: (address: string) => readonly string[], dir: string,
  readyTimeoutMs = 30_000): Promise<Daemon> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const address = `127.0.0.1:${await freePort()}`;
    const child = spawn(command, [...args(address)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
    const url = `http://${address}`;
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}: ${stderr}`);
        // refused until it listens
        const response = await fetch(`${url}/-/ready`).catch(() => undefined);
        return response?.ok === true;
      }, { what: `${command} to be ready`, timeoutMs: readyTimeoutMs, intervalMs: 100 });
      return { url, address, stop: () => stop(child, exited, dir) };
    } catch (error) {
      lastError = error;
      await stop(child, exited, undefined);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

async function stop(child: ChildProcess, exited: Promise<number | null>, dir: string | undefined): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
