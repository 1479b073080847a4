import Router, { type RouterOptions } from '@koa/router';
import Koa from 'koa';
import { PATHS, Track } from '../contract';
import { errorMiddleware } from './errors';
import { createHttpMetrics } from './http-metrics';
import type { Logger } from './logger';
import { observeRequests } from './observe';
import { Readiness } from './readiness';

/**
 * How the router matches paths: case-sensitive (`sensitive`) and without an optional trailing slash (`strict`), so
 * that only the canonical spelling of a route (plus a query string) reaches its handler, as at the mesh's edge.
 */
const ROUTER_OPTIONS: Readonly<Pick<RouterOptions, 'sensitive' | 'strict'>> = { sensitive: true, strict: true };

/** Dependencies every service app needs. */
export interface ServiceAppDeps {
  /** Where access and error lines go. */
  readonly logger: Logger;
  /** The track, the `version` label of the metrics. */
  readonly version: Track;
  /**
   * Proxies in front of the service that append to `X-Forwarded-For` (`TRUSTED_PROXY_COUNT`): `ctx.ip` is the entry
   * the outermost of them wrote. 0 ignores the header, so `ctx.ip` is the socket's peer.
   * @default 0
   */
  readonly trustedProxyCount?: number;
}

/** A Koa app with the parts both services share, ready for the service's own routes. */
export interface ServiceApp {
  /** The app. */
  readonly app: Koa;
  /** Its readiness. */
  readonly readiness: Readiness;
}

/**
 * Builds the common skeleton: request observation (trace and request id headers, metrics, access log) outermost,
 * then the one error middleware, then one router with `/healthz`, `/readyz`, `/metrics` and what `addRoutes` adds.
 * Trusts the last `trustedProxyCount` entries of `X-Forwarded-For` for the client ip (Koa's `proxy` and
 * `maxIpsCount`), so an address a client writes into the header itself is never taken for its own.
 *
 * Few middleware layers on purpose: with tracing on, every async layer pays for context propagation.
 */
export function createServiceApp(deps: ServiceAppDeps, addRoutes: (router: Router) => void = () => undefined): ServiceApp {
  const readiness = new Readiness();
  const metrics = createHttpMetrics(deps.version);
  const trustedProxies = deps.trustedProxyCount ?? 0;
  // maxIpsCount 0 would mean "all entries": with no trusted proxy the header is not read at all
  const app = new Koa({ proxy: trustedProxies > 0, maxIpsCount: trustedProxies });
  app.use(observeRequests({ logger: deps.logger, metrics, readiness }));
  app.use(errorMiddleware(deps.logger));
  // @koa/router's default matches case-insensitively with an optional trailing slash: `/METRICS` or `/metrics/`
  // would reach a route that the mesh's edge rules only guard under its canonical spelling
  const router = new Router(ROUTER_OPTIONS);
  router.get(PATHS.liveness, ctx => {
    ctx.body = { status: 'ok' };
  });
  router.get(PATHS.readiness, ctx => {
    ctx.status = readiness.ready ? 200 : 503;
    ctx.body = { status: readiness.ready ? 'ready' : 'shutting down' };
  });
  router.get(PATHS.metrics, async ctx => {
    const scrape = await metrics.scrape(ctx.get('accept'));
    ctx.type = scrape.contentType;
    ctx.body = scrape.body;
  });
  addRoutes(router);
  // after every route is added: the koa instrumentation wraps the routes present when the router is mounted
  app.use(router.routes());
  // a path served with another method (any: OPTIONS, or one the router does not know, which its allowedMethods would
  // answer 200 or 501, a 5xx the SLO would count): 405 with the methods it has in Allow, not a 404 saying it does not exist
  app.use(ctx => {
    const allowed = [...new Set(((ctx.matched ?? []) as ReadonlyArray<{ readonly methods: readonly string[] }>).flatMap(layer => layer.methods))];
    if (allowed.length === 0) return;
    ctx.status = 405;
    ctx.set('Allow', allowed.join(', '));
  });
  app.on('error', (error: unknown) => deps.logger.error({ err: error }, 'unhandled koa error'));
  return { app, readiness };
}
