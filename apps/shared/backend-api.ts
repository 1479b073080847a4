/**
 * The backend's own "not found" answers, the only errors of its the gateway passes on to its clients: a well-formed
 * airport code it does not know, a route with no flights. Any other 4xx (a path it no longer serves, a parameter it
 * refuses) is the two services disagreeing: the gateway answers 502, an error the SLO counts.
 */
export const BACKEND_RELAYED_CODES: ReadonlySet<string> = new Set(['unknown_airport', 'unknown_route']);

/** The backend's API paths, which the gateway calls. */
export const BACKEND_PATHS = {
  /** `GET`: every airport. */
  airports: '/v1/airports',
  /** `GET ?departure=ICN`: routes from an airport. */
  routes: '/v1/routes',
  /** `GET ?dep=ICN&arr=GMP`: flights of one route. */
  timetable: '/v1/timetable',
} as const;
