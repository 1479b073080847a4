import type Koa from 'koa';
import { GATEWAY_PATHS, HEADERS } from '../../contract';
import { BACKEND_PATHS } from '../../shared/backend-api';
import { iataParam } from '../../shared/iata';
import { clientClosedSignal } from '../../shared/observe';
import { ServiceApp, ServiceAppDeps, createServiceApp } from '../../shared/service-app';
import type { BackendClient } from './backend-client';
import { PAGE_CSP, PAGE_HTML, PAGE_SCRIPT, PAGE_SCRIPT_PATH } from './page';

/** Dependencies of the gateway app. */
export interface GatewayDeps extends ServiceAppDeps {
  /** The backend the API answers from. */
  readonly backend: BackendClient;
}

/** Headers the backend gets from the incoming request: the request id, and the canary pin so both hops match. */
function forwardedHeaders(ctx: Koa.Context): Record<string, string> {
  const headers: Record<string, string> = { [HEADERS.requestId]: ctx.state.requestId as string };
  const canary = ctx.get(HEADERS.canary);
  if (canary !== '') headers[HEADERS.canary] = canary;
  return headers;
}

/** Builds the gateway: the public flight API (answered by the backend) and the page at `/`. */
export function createApp(deps: GatewayDeps): ServiceApp {
  const { backend } = deps;
  return createServiceApp(deps, router => {
    router.get(GATEWAY_PATHS.page, ctx => {
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.type = 'html';
      ctx.body = PAGE_HTML;
    });
    router.get(PAGE_SCRIPT_PATH, ctx => {
      ctx.type = 'application/javascript';
      ctx.body = PAGE_SCRIPT;
    });
    router.get(GATEWAY_PATHS.airports, async ctx => {
      ctx.body = await backend.get(BACKEND_PATHS.airports, {}, forwardedHeaders(ctx), clientClosedSignal(ctx));
    });
    router.get(GATEWAY_PATHS.routes, async ctx => {
      const departure = iataParam(ctx, 'departure');
      ctx.body = await backend.get(BACKEND_PATHS.routes, { departure }, forwardedHeaders(ctx), clientClosedSignal(ctx));
    });
    router.get(GATEWAY_PATHS.timetable, async ctx => {
      const dep = iataParam(ctx, 'dep');
      const arr = iataParam(ctx, 'arr');
      ctx.body = await backend.get(BACKEND_PATHS.timetable, { dep, arr }, forwardedHeaders(ctx), clientClosedSignal(ctx));
    });
  });
}
