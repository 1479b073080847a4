import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports';
import { waitFor } from './wait';

/** A Prometheus server the tests started (Debian's /usr/bin/prometheus), on loopback with a data directory of its own. */
export interface PrometheusServer {
  /** Base URL, such as `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with the given scrape jobs and waits until it is ready. Scrape and evaluation interval default to
 * 1 s, so that windows of a few seconds hold several samples; shorter ones such as `100ms` work too.
 *
 * Ready is not scraping: Prometheus 2.42 scrapes its targets only ~5 s after it started, whatever the interval (service
 * discovery hands them to the scrape manager at most every 5 s), so wait for the samples a test needs.
 */
export async function startPrometheus(options: { scrapeConfigs: readonly object[]; interval?: string }): Promise<PrometheusServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-prometheus-'));
  const interval = options.interval ?? '1s';
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), stringify({
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    scrape_configs: options.scrapeConfigs,
  }));
  let lastError: unknown;
  // another process may take the free port between asking and binding: try again on another one
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
        // refused until it listens
        const response = await fetch(`${url}/-/ready`).catch(() => undefined);
        return response?.ok === true;
      }, { what: 'prometheus to be ready', timeoutMs: 30_000, intervalMs: 100 });
      return { url, stop: () => stop(child, exited, dir) };
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
