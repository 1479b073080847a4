import type Koa from 'koa';
import { BACKEND_PATHS } from '../../shared/backend-api';
import { iataParam } from '../../shared/iata';
import { ServiceApp, ServiceAppDeps, createServiceApp } from '../../shared/service-app';
import { AIRPORTS, Route, findRoute, isKnownAirport, routesFrom } from './flights';

/** Dependencies of the backend app. */
export type BackendDeps = ServiceAppDeps;

function knownAirport(ctx: Koa.Context, name: string): string {
  const code = iataParam(ctx, name);
  if (!isKnownAirport(code)) {
    ctx.throw(404, `unknown airport "${code}" in "${name}"; GET ${BACKEND_PATHS.airports} lists the known ones`, { code: 'unknown_airport', parameter: name });
  }
  return code;
}

function flownRoute(ctx: Koa.Context, dep: string, arr: string): Route {
  const route = findRoute(dep, arr);
  if (route === undefined) {
    ctx.throw(404, `no flights from ${dep} to ${arr}; GET ${BACKEND_PATHS.routes}?departure=${dep} lists the routes`, { code: 'unknown_route' });
  }
  return route;
}

/** Builds the backend: it owns the flight data and serves it as JSON. */
export function createApp(deps: BackendDeps): ServiceApp {
  return createServiceApp(deps, router => {
    router.get(BACKEND_PATHS.airports, ctx => {
      ctx.body = { airports: AIRPORTS };
    });
    router.get(BACKEND_PATHS.routes, ctx => {
      const departure = knownAirport(ctx, 'departure');
      ctx.body = { departure, routes: routesFrom(departure) };
    });
    router.get(BACKEND_PATHS.timetable, ctx => {
      const dep = knownAirport(ctx, 'dep');
      const arr = knownAirport(ctx, 'arr');
      ctx.body = { dep, arr, flights: flownRoute(ctx, dep, arr).flights };
    });
  });
}
