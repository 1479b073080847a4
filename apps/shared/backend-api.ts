/** The backend's API paths, which the gateway calls. */
export const BACKEND_PATHS = {
  /** `GET`: every airport. */
  airports: '/v1/airports',
  /** `GET ?departure=ICN`: routes from an airport. */
  routes: '/v1/routes',
  /** `GET ?dep=ICN&arr=GMP`: flights of one route. */
  timetable: '/v1/timetable',
} as const;
