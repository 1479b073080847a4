#!/usr/bin/env node
'use strict';
// Which services of an environment have a canary in flight, read from rollout/<env>/*.yaml without any npm package,
// so that the promote workflow can stop before `npm ci` when there is nothing to gate (it runs every few minutes).
//
//   node scripts/canary-in-flight.cjs <env> [service]
//
// Prints the services with a canary in flight, space-separated (empty when none), and with GITHUB_OUTPUT set writes
// `services=<list>` to it. When a file cannot be read for sure, its service counts as in flight: the gate itself then
// reads it properly and reports what is wrong. Exit 2 on a bad environment or service name, or a missing directory.
const fs = require('node:fs');
const path = require('node:path');

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Whether the state file's top-level `canary` is set to something other than null. Unsure counts as in flight. */
function inFlight(text) {
  const lines = text.split(/\r?\n/);
  const at = lines.findIndex(line => /^canary\s*:/.test(line));
  if (at === -1) return true;
  const value = lines[at].replace(/^canary\s*:/, '').replace(/\s+#.*$/, '').trim();
  if (value === 'null' || value === '~') return false;
  if (value !== '') return true;
  // `canary:` followed by an indented block is a mapping; followed by the next key (or nothing) it is null
  const next = lines.slice(at + 1).find(line => line.trim() !== '' && !/^\s*#/.test(line));
  return next !== undefined && /^\s/.test(next);
}

function main(argv) {
  const [env, service] = argv;
  if (env === undefined || !NAME.test(env)) {
    return fail(`the environment must be a name such as prod (lower-case letters, digits and "-"), got ${JSON.stringify(env ?? '')}`);
  }
  if (service !== undefined && service !== 'all' && !NAME.test(service)) {
    return fail(`the service must be "all" or a name such as gateway, got ${JSON.stringify(service)}`);
  }
  const dir = path.join(__dirname, '..', 'rollout', env);
  if (!fs.existsSync(dir)) return fail(`no rollout state for environment ${JSON.stringify(env)}: ${path.relative(process.cwd(), dir)} does not exist`);
  const names = fs.readdirSync(dir).filter(f => f.endsWith('.yaml')).map(f => f.slice(0, -'.yaml'.length)).sort();
  if (service !== undefined && service !== 'all' && !names.includes(service)) {
    return fail(`no rollout state for ${JSON.stringify(service)} in ${env}; there is ${names.map(n => JSON.stringify(n)).join(', ') || 'none'}`);
  }
  const wanted = service === undefined || service === 'all' ? names : [service];
  const flying = wanted.filter(name => inFlight(fs.readFileSync(path.join(dir, `${name}.yaml`), 'utf8')));
  console.log(flying.join(' '));
  if (process.env.GITHUB_OUTPUT) fs.appendFileSync(process.env.GITHUB_OUTPUT, `services=${flying.join(' ')}\n`);
  return 0;
}

function fail(message) {
  console.error(`canary-in-flight: ${message}`);
  return 2;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { inFlight };
