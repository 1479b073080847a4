import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { startDaemon } from './daemon';

/** The URL Alertmanager 0.25's copy reads instead of a webhook's `url_file`. */
export const PLACEHOLDER_URL = 'http://placeholder.invalid/';

/**
 * A copy of a rendered Alertmanager config adapted to Debian's Alertmanager 0.25: each webhook's `url_file` (0.26+)
 * becomes `url`, and `global.http_config.proxy_from_environment` (prometheus/common 0.44+) is removed.
 */
export function forAlertmanager025(config: any, url: (file: string) => string = () => PLACEHOLDER_URL): any {
  const copy = JSON.parse(JSON.stringify(config));
  for (const receiver of copy.receivers ?? []) {
    for (const webhook of receiver.webhook_configs ?? []) {
      webhook.url = url(webhook.url_file);
      delete webhook.url_file;
    }
  }
  // the emptied blocks stay, so that a structural diff names the one key removed
  if (copy.global?.http_config) delete copy.global.http_config.proxy_from_environment;
  return copy;
}

/** Every path at which two plain values differ (`receivers[1].webhook_configs[0].url_file`), added and removed keys included. */
export function structuralDiff(a: unknown, b: unknown, at = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => structuralDiff(a[i], b[i], `${at}[${i}]`)).flat();
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap(k => structuralDiff((a as any)[k], (b as any)[k], at ? `${at}.${k}` : k));
  }
  return Object.is(a, b) ? [] : [at];
}

/** Runs `amtool check-config` (Debian's 0.25) on a config; returns its output, throws with it when the check fails. */
export function amtoolCheckConfig(config: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'amtool-'));
  const file = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(file, stringify(config));
  try {
    return execFileSync('amtool', ['check-config', file], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`amtool check-config failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The receivers an alert with `labels` reaches, as `amtool config routes test` (Debian's 0.25) walks the routing tree
 * of a config ({@link forAlertmanager025}'s copy of a rendered one).
 */
export function amtoolRoutesTest(config: unknown, labels: Readonly<Record<string, string>>): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'amtool-'));
  const file = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(file, stringify(config));
  try {
    return execFileSync('amtool', ['config', 'routes', 'test', `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)],
      { encoding: 'utf8', stdio: 'pipe' }).trim().split(',');
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`amtool config routes test failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Renders a notification template with `amtool template render` (Debian's 0.25: Alertmanager's own template
 * functions) on the data of a notification of `alerts`; returns the text, throws with amtool's output when it fails.
 */
export function amtoolRenderTemplate(text: string, alerts: ReadonlyArray<{ status: 'firing' | 'resolved'; labels: object; annotations: object }>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'amtool-'));
  // amtool needs a template file to expand, even when the text uses none of them
  fs.writeFileSync(path.join(dir, 'none.tmpl'), '');
  fs.writeFileSync(path.join(dir, 'data.json'), JSON.stringify({
    receiver: 'test', status: alerts.some(a => a.status === 'firing') ? 'firing' : 'resolved',
    alerts: alerts.map((a, i) => ({ ...a, startsAt: '2026-12-01T10:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: String(i) })),
    groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager.invalid',
  }));
  try {
    return execFileSync('amtool', ['template', 'render', `--template.glob=${path.join(dir, '*.tmpl')}`, `--template.data=${path.join(dir, 'data.json')}`,
      `--template.text=${text}`], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`amtool template render failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An Alertmanager the tests started (Debian's /usr/bin/prometheus-alertmanager) on loopback, not clustered. */
export interface AlertmanagerServer {
  /** Base URL, such as `http://127.0.0.1:40123`. */
  readonly url: string;
  /** `127.0.0.1:<port>`, for Prometheus's `alerting` block. */
  readonly address: string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

/** Starts Alertmanager with `config` and waits until it is ready. */
export async function startAlertmanager(config: unknown): Promise<AlertmanagerServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-alertmanager-'));
  fs.writeFileSync(path.join(dir, 'alertmanager.yml'), stringify(config));
  return startDaemon('prometheus-alertmanager', address => [
    `--config.file=${path.join(dir, 'alertmanager.yml')}`,
    `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=${address}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ], dir, 15_000);
}
