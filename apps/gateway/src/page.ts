import { GATEWAY_PATHS, HEADERS } from '../../contract';

/** Where the page's script is served (same origin, so the page's CSP can forbid everything else). */
export const PAGE_SCRIPT_PATH = GATEWAY_PATHS.script;

/** The page's Content-Security-Policy: nothing but this origin, no inline script or style. */
export const PAGE_CSP = "default-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** A small page that calls the API and shows the trace id of the last call (ids are what the browser test reads). */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>obs-canary flights</title>
<script src="${PAGE_SCRIPT_PATH}" defer></script>
</head>
<body>
<h1>Flights</h1>
<p>
  <button id="airports" type="button">List airports</button>
</p>
<form id="routes-form">
  <label>Routes from <input id="departure" name="departure" value="ICN" size="4" maxlength="3"></label>
  <button type="submit">Show routes</button>
</form>
<form id="timetable-form">
  <label>Timetable <input id="dep" name="dep" value="ICN" size="4" maxlength="3"></label>
  <label>to <input id="arr" name="arr" value="GMP" size="4" maxlength="3"></label>
  <button type="submit">Show flights</button>
</form>
<p>Last call: <code id="last-call">none yet</code>, status <code id="status">-</code>, trace id <code id="trace-id">-</code></p>
<pre id="result"></pre>
</body>
</html>
`;

/** The page's script, plain browser JavaScript. */
export const PAGE_SCRIPT = `'use strict';
async function call(path, params) {
  const url = params ? path + '?' + new URLSearchParams(params) : path;
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  document.getElementById('last-call').textContent = url;
  document.getElementById('status').textContent = String(response.status);
  document.getElementById('trace-id').textContent = response.headers.get('${HEADERS.traceId}') ?? '(none)';
  document.getElementById('result').textContent = JSON.stringify(await response.json(), null, 2);
}
function value(id) {
  return document.getElementById(id).value.trim().toUpperCase();
}
document.getElementById('airports').addEventListener('click', () => call('${GATEWAY_PATHS.airports}'));
document.getElementById('routes-form').addEventListener('submit', event => {
  event.preventDefault();
  return call('${GATEWAY_PATHS.routes}', { departure: value('departure') });
});
document.getElementById('timetable-form').addEventListener('submit', event => {
  event.preventDefault();
  return call('${GATEWAY_PATHS.timetable}', { dep: value('dep'), arr: value('arr') });
});
`;
