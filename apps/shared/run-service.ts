import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type Koa from 'koa';
import { SHUTDOWN, shutdownBudgetMs } from '../contract';
import { Logger, crashLogger } from './logger';
import type { Readiness } from './readiness';
import { runShutdownHooks } from './shutdown-hooks';

/** What {@link runService} needs. */
export interface RunServiceOptions {
  /** The app to serve. */
  readonly app: Koa;
  /** The readiness the app's `/readyz` reports. */
  readonly readiness: Readiness;
  /** The process logger. */
  readonly logger: Logger;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Serving time with readiness false between SIGTERM and closing the listener. */
  readonly shutdownDelayMs: number;
}

const TIMED_OUT = Symbol('timed out');

async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  const timer = new AbortController();
  try {
    return await Promise.race([work, sleep(ms, TIMED_OUT, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}

/**
 * Serves `app` on all interfaces and owns the process lifecycle. On SIGTERM: readiness false at once, keep serving
 * for `shutdownDelayMs` (SIGINT skips this), close the listener, let in-flight requests finish (at most
 * `SHUTDOWN.drainTimeoutMs`, then cut connections and let their requests end as 499s, at most `SHUTDOWN.cutSettleMs`),
 * run the shutdown hooks such as the span flush (at most
 * `SHUTDOWN.flushTimeoutMs`), exit 0. A timer exits 1 if all that overruns its budget. On an error nothing catches:
 * one fatal line, the hooks (at most `SHUTDOWN.flushTimeoutMs`), exit 1.
 *
 * @returns the server, listening once its `listening` line is logged (with the actual port)
 */
export function runService(options: RunServiceOptions): http.Server {
  const { logger, readiness } = options;
  const handle = options.app.callback();
  /** Each request in flight until Koa is done with it, its access line written. */
  const handling = new Set<Promise<unknown>>();
  const server = http.createServer((req, res) => {
    const done = handle(req, res).catch(() => undefined);
    handling.add(done);
    void done.finally(() => handling.delete(done));
  });
  server.listen(options.port, () => logger.info({ port: (server.address() as AddressInfo).port }, 'listening'));

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    // a second signal (kubelet and a preStop hook, a double Ctrl-C) changes nothing: the drain and flush go on
    if (stopping) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    readiness.shutDown();
    const delayMs = signal === 'SIGTERM' ? options.shutdownDelayMs : 0;
    const budgetMs = shutdownBudgetMs(delayMs);
    setTimeout(() => {
      logger.error({ signal, budget_ms: budgetMs }, 'shutdown overran its budget, exiting');
      process.exit(1);
    }, budgetMs).unref();
    logger.info({ signal, delay_ms: delayMs }, 'shutting down: readiness is false');
    await sleep(delayMs);

    const closed = new Promise<void>(resolve => server.close(() => resolve()));
    server.closeIdleConnections();
    if (await within(closed, SHUTDOWN.drainTimeoutMs) === TIMED_OUT) {
      logger.warn({ drain_timeout_ms: SHUTDOWN.drainTimeoutMs }, 'in-flight requests did not finish in time, closing their connections');
      server.closeAllConnections();
      // the cut requests end as 499s (their access lines, spans and metrics) before the flush and the exit, not after
      await within(Promise.allSettled([...handling]), SHUTDOWN.cutSettleMs);
    }
    const failures = await within(runShutdownHooks(), SHUTDOWN.flushTimeoutMs);
    if (failures === TIMED_OUT) logger.warn({ flush_timeout_ms: SHUTDOWN.flushTimeoutMs }, 'shutdown hooks did not finish in time');
    else for (const { name, error } of failures) logger.warn({ hook: name, err: error }, 'shutdown hook failed');
    logger.info('stopped');
    process.exit(0);
  };
  // `on`, not `once`: after a `once` handler ran, a repeated signal would take Node's default action and kill the
  // process mid-drain, its in-flight requests and unexported spans with it
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));
  // a crash is a JSON line like every other (redacted, found by level in Loki), not Node's plain-text trace on stderr,
  // whatever LOG_LEVEL says (`silent` would otherwise leave no trace of it); an unhandled rejection arrives here too
  // (origin `unhandledRejection`). The spans still buffered, those of the requests before the crash, are flushed
  // within SHUTDOWN.flushTimeoutMs; then exit 1, as Node would: the state is unknown, and the kubelet restarts it.
  // A second crash while flushing exits at once.
  const crashLog = crashLogger(logger);
  let crashed = false;
  process.on('uncaughtException', (error, origin) => {
    crashLog.fatal({ err: error, origin }, 'crashed: an error nothing caught');
    if (crashed) process.exit(1);
    crashed = true;
    // no new requests meanwhile
    readiness.shutDown();
    server.close();
    void within(runShutdownHooks(), SHUTDOWN.flushTimeoutMs).finally(() => process.exit(1));
  });
  return server;
}
