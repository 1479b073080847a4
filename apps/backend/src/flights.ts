/** An airport the backend knows. */
export interface Airport {
  /** IATA code, e.g. `ICN`. */
  readonly code: string;
  /** Airport name. */
  readonly name: string;
  /** City served. */
  readonly city: string;
  /** ISO 3166-1 alpha-2 country code. */
  readonly country: string;
}

/** One scheduled daily flight. */
export interface Flight {
  /** Flight number, e.g. `KE1201`. */
  readonly flight: string;
  /** Local departure time, `HH:MM`. */
  readonly departs: string;
  /** Local arrival time, `HH:MM`. */
  readonly arrives: string;
}

/** A route with its daily flights. */
export interface Route {
  /** Departure airport code. */
  readonly dep: string;
  /** Arrival airport code. */
  readonly arr: string;
  /** Daily flights, in departure order. */
  readonly flights: readonly Flight[];
}

/** Every airport, by code order. */
export const AIRPORTS: readonly Airport[] = [
  { code: 'CJU', name: 'Jeju International Airport', city: 'Jeju', country: 'KR' },
  { code: 'GMP', name: 'Gimpo International Airport', city: 'Seoul', country: 'KR' },
  { code: 'HND', name: 'Tokyo Haneda Airport', city: 'Tokyo', country: 'JP' },
  { code: 'ICN', name: 'Incheon International Airport', city: 'Seoul', country: 'KR' },
  { code: 'KIX', name: 'Kansai International Airport', city: 'Osaka', country: 'JP' },
  { code: 'NRT', name: 'Narita International Airport', city: 'Tokyo', country: 'JP' },
  { code: 'PUS', name: 'Gimhae International Airport', city: 'Busan', country: 'KR' },
];

function daily(dep: string, arr: string, ...flights: Array<[string, string, string]>): Route {
  return { dep, arr, flights: flights.map(([flight, departs, arrives]) => ({ flight, departs, arrives })) };
}

/** Every route; the timetable is fictional, the city pairs are real. */
export const ROUTES: readonly Route[] = [
  daily('ICN', 'GMP', ['KE1401', '09:10', '09:55'], ['KE1405', '18:40', '19:25']),
  daily('ICN', 'CJU', ['KE1221', '08:15', '09:20'], ['OZ8561', '20:05', '21:10']),
  daily('ICN', 'PUS', ['KE1411', '08:50', '09:55']),
  daily('ICN', 'NRT', ['KE703', '09:00', '11:20'], ['OZ102', '13:10', '15:35'], ['7C1102', '19:45', '22:05']),
  daily('ICN', 'HND', ['KE719', '12:20', '14:35']),
  daily('ICN', 'KIX', ['KE723', '10:05', '11:50'], ['LJ211', '17:30', '19:15']),
  daily('GMP', 'CJU', ['KE1201', '06:00', '07:05'], ['OZ8901', '07:30', '08:40'], ['7C113', '10:15', '11:20'], ['LJ311', '18:50', '19:55']),
  daily('GMP', 'PUS', ['KE1101', '07:00', '08:00'], ['OZ8801', '15:30', '16:30']),
  daily('GMP', 'HND', ['KE2101', '08:20', '10:25'], ['NH862', '11:35', '13:45'], ['JL92', '19:55', '22:00']),
  daily('GMP', 'KIX', ['KE2117', '09:40', '11:25']),
  daily('GMP', 'ICN', ['KE1402', '10:40', '11:25']),
  daily('CJU', 'GMP', ['KE1202', '07:50', '08:55'], ['OZ8902', '12:00', '13:10'], ['7C114', '21:00', '22:05']),
  daily('CJU', 'PUS', ['BX8102', '09:15', '10:10']),
  daily('CJU', 'ICN', ['KE1222', '10:10', '11:15']),
  daily('PUS', 'GMP', ['KE1102', '08:50', '09:50']),
  daily('PUS', 'CJU', ['BX8101', '07:30', '08:25']),
  daily('PUS', 'NRT', ['BX112', '12:10', '14:10']),
  daily('PUS', 'KIX', ['BX122', '14:00', '15:30']),
  daily('NRT', 'ICN', ['KE704', '12:40', '15:20'], ['OZ101', '17:00', '19:40']),
  daily('NRT', 'PUS', ['BX111', '15:20', '17:50']),
  daily('HND', 'GMP', ['KE2102', '11:40', '14:10'], ['NH863', '14:55', '17:20']),
  daily('HND', 'ICN', ['KE720', '15:50', '18:25']),
  daily('KIX', 'ICN', ['KE724', '12:50', '14:45']),
  daily('KIX', 'GMP', ['KE2118', '12:35', '14:25']),
  daily('KIX', 'PUS', ['BX123', '16:30', '18:00']),
];

const AIRPORT_CODES: ReadonlySet<string> = new Set(AIRPORTS.map(a => a.code));

/** Whether `code` is an airport the backend knows. */
export function isKnownAirport(code: string): boolean {
  return AIRPORT_CODES.has(code);
}

/** Routes leaving `dep`, each with its number of daily flights. */
export function routesFrom(dep: string): Array<{ arr: string; daily_flights: number }> {
  return ROUTES.filter(r => r.dep === dep).map(r => ({ arr: r.arr, daily_flights: r.flights.length }));
}

/** The route from `dep` to `arr`, if one is flown. */
export function findRoute(dep: string, arr: string): Route | undefined {
  return ROUTES.find(r => r.dep === dep && r.arr === arr);
}
