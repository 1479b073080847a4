import { SERVICES, ServiceName } from '../contract';
import { Env, readServiceConfig } from './config';
import { Logger, createLogger } from './logger';
import { runService } from './run-service';
import type { ServiceApp, ServiceAppDeps } from './service-app';

/** Builds a service's app from the common dependencies; reads its own settings and may throw on bad ones. */
export type AppBuilder = (deps: ServiceAppDeps) => ServiceApp;

/**
 * The body of a service's `main`: reads the common settings from `env`, creates the logger, builds the app and runs
 * it until a signal. A bad setting is logged as one `fatal` line and the process exits 1.
 */
export function startService(name: ServiceName, env: Env, build: AppBuilder): void {
  let logger: Logger = createLogger({ service: name });
  try {
    const config = readServiceConfig(env, SERVICES[name].defaultPort);
    logger = createLogger({ service: name, level: config.logLevel, base: { version: config.version } });
    const { app, readiness } = build({ logger, version: config.version, trustedProxyCount: config.trustedProxyCount });
    runService({ app, readiness, logger, port: config.port, shutdownDelayMs: config.shutdownDelayMs });
  } catch (error) {
    logger.fatal((error as Error).message);
    process.exitCode = 1;
  }
}
