import Router from '@koa/router';
import Koa from 'koa';
import { PATHS, Track } from '../contract';
import { errorMiddleware } from './errors';
import { HttpMetrics, createHttpMetrics } from './http-metrics';
import type { Logger } from './logger';
import { observeRequests } from './observe';

/** Whether the service takes new traffic; {@link Readiness.shutDown} flips it for good. */
export class Readiness {
  private shuttingDown = false;

  /** True until shutdown starts. */
  get ready(): boolean {
    return !this.shuttingDown;
  }

  /** Marks the service as shutting down: `/readyz` answers 503 and responses close their connection. */
  shutDown(): void {
    this.shuttingDown = true;
  }
}

/** Dependencies every service app needs. */
export interface ServiceAppDeps {
  /** Where access and error lines go. */
  readonly logger: Logger;
  /** The track, the `version` label of the metrics. */
  readonly version: Track;
  /** Shared with the server's shutdown. @default - a fresh, ready instance */
  readonly readiness?: Readiness;
}

/** A Koa app with the parts both services share, ready for the service's own routes. */
export interface ServiceApp {
  /** The app; add routes with `app.use(router.routes())`. */
  readonly app: Koa;
  /** Its metrics, e.g. to inspect in tests. */
  readonly metrics: HttpMetrics;
  /** Its readiness. */
  readonly readiness: Readiness;
}

/**
 * Builds the common skeleton: request observation (trace and request id headers, metrics, access log) outermost,
 * then the one error middleware, then `/healthz`, `/readyz` and `/metrics`. Trusts `X-Forwarded-For` for the client
 * ip, since the services run behind the mesh's sidecar.
 */
export function createServiceApp(deps: ServiceAppDeps): ServiceApp {
  const readiness = deps.readiness ?? new Readiness();
  const metrics = createHttpMetrics(deps.version);
  const app = new Koa({ proxy: true });
  app.use(observeRequests(deps.logger, metrics));
  app.use(errorMiddleware(deps.logger));
  app.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      // checked once the response is ready, so that requests in flight at SIGTERM free their connection too
      if (!readiness.ready) ctx.set('Connection', 'close');
    }
  });
  const ops = new Router();
  ops.get(PATHS.liveness, ctx => {
    ctx.body = { status: 'ok' };
  });
  ops.get(PATHS.readiness, ctx => {
    ctx.status = readiness.ready ? 200 : 503;
    ctx.body = { status: readiness.ready ? 'ready' : 'shutting down' };
  });
  ops.get(PATHS.metrics, async ctx => {
    const scrape = await metrics.scrape(ctx.get('accept'));
    ctx.type = scrape.contentType;
    ctx.body = scrape.body;
  });
  app.use(ops.routes());
  app.on('error', (error: unknown) => deps.logger.error({ err: error }, 'unhandled koa error'));
  return { app, metrics, readiness };
}
