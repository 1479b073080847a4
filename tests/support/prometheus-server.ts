import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { startDaemon } from './daemon';

/** A Prometheus server the tests started (Debian's /usr/bin/prometheus), on loopback with a data directory of its own. */
export interface PrometheusServer {
  /** Base URL, such as `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its data directory. */
  stop(): Promise<void>;
}

/** What {@link startPrometheus} starts Prometheus with. */
export interface PrometheusOptions {
  readonly scrapeConfigs: readonly object[];
  /** Scrape and evaluation interval. @default '1s' */
  readonly interval?: string;
  /** Rule files by file name, content as rendered. @default - none */
  readonly ruleFiles?: Readonly<Record<string, string>>;
  /** `host:port` of Alertmanagers to send alerts to (API v2), resent every second. @default - none */
  readonly alertmanagers?: readonly string[];
  /**
   * A directory of TSDB blocks (`promtool tsdb create-blocks-from …`) copied into the data directory, so that
   * Prometheus starts with history; retention is then 30 days instead of 1 hour.
   * @default - an empty data directory
   */
  readonly blocksFrom?: string;
  /**
   * `agent`: Prometheus in agent mode (`--enable-feature=agent`: scrapes and remote-writes, stores nothing queryable);
   * `receiver`: a server that also accepts remote write (`--web.enable-remote-write-receiver`), standing in for a
   * central store.
   * @default - a plain server
   */
  readonly mode?: 'agent' | 'receiver';
  /** Labels added to every series sent by remote write. @default - none */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** Remote-write endpoints (`<receiver>/api/v1/write`), flushed every 200 ms. @default - none */
  readonly remoteWrite?: readonly string[];
}

/**
 * Starts Prometheus with the given scrape jobs and waits until it is ready. Scrape and evaluation interval default to
 * 1 s, so that windows of a few seconds hold several samples; shorter ones such as `100ms` work too.
 *
 * Ready is not scraping: Prometheus 2.42 scrapes its targets only ~5 s after it started, whatever the interval (service
 * discovery hands them to the scrape manager at most every 5 s), so wait for the samples a test needs.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-prometheus-'));
  const interval = options.interval ?? '1s';
  const ruleFiles = Object.entries(options.ruleFiles ?? {});
  for (const [name, content] of ruleFiles) fs.writeFileSync(path.join(dir, name), content);
  // history older than an hour would be deleted by the default retention of the tests
  if (options.blocksFrom !== undefined) fs.cpSync(options.blocksFrom, path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), stringify({
    global: {
      scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval,
      ...(options.externalLabels ? { external_labels: options.externalLabels } : {}),
    },
    ...(options.remoteWrite
      ? { remote_write: options.remoteWrite.map(url => ({ url, queue_config: { batch_send_deadline: '200ms', min_backoff: '100ms' } })) }
      : {}),
    ...(ruleFiles.length > 0 ? { rule_files: ruleFiles.map(([name]) => path.join(dir, name)) } : {}),
    ...(options.alertmanagers ? { alerting: { alertmanagers: [{ api_version: 'v2', static_configs: [{ targets: options.alertmanagers }] }] } } : {}),
    scrape_configs: options.scrapeConfigs,
  }));
  // agent mode refuses the TSDB's flags: it has a write-ahead log only
  const storage = options.mode === 'agent'
    ? ['--enable-feature=agent', `--storage.agent.path=${path.join(dir, 'data')}`]
    : [`--storage.tsdb.path=${path.join(dir, 'data')}`, `--storage.tsdb.retention.time=${options.blocksFrom !== undefined ? '30d' : '1h'}`];
  return startDaemon('prometheus', address => [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    ...storage,
    ...(options.mode === 'receiver' ? ['--web.enable-remote-write-receiver'] : []),
    `--web.listen-address=${address}`,
    '--log.level=warn',
    // the Alertmanagers are discovered ~5 s after start: resend soon, or an alert that fired before waits a minute.
    // Not every second, though: each send is valid for four resend delays, and a Prometheus starved for longer on a
    // loaded machine let Alertmanager resolve a firing page and lift the inhibition it held (3 s: valid for 12 s)
    ...(options.alertmanagers ? ['--rules.alert.resend-delay=3s'] : []),
  ], dir);
}
