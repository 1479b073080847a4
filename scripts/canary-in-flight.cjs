#!/usr/bin/env node
'use strict';
// Which services have a canary in flight, read from rollout/<env>/*.yaml without any npm package, so that the promote
// workflow can stop before `npm ci` when there is nothing to gate (it runs every few minutes).
//
//   node scripts/canary-in-flight.cjs [env] [service]
//
// Without an environment (or with ''), every environment under rollout/; without a service (or with 'all'), every
// service of it. Prints a JSON list with one entry per environment that has a canary in flight, such as
// [{"env":"prod","services":"backend gateway"}] ([] when none), and with GITHUB_OUTPUT set writes `matrix=<list>` to
// it, for a job matrix. When a state file cannot be read for sure, its service counts as in flight: the gate itself
// then reads it properly and reports what is wrong. The services are data: a service is one with a file
// services/<name>.yaml, and it can be released in an environment once `canary init` wrote its state file there. Exit
// 2 on a bad environment or service name, a service without a file or without a state file, or a missing directory.
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

/** The `npx canary init` command that onboards a service (in one environment, or in every one). */
function initCommand(service, env) {
  return `npx canary init --service ${service} --image <image>@sha256:<digest>${env ? ` --env ${env}` : ''}`;
}

/** The names of the service files, services/<name>.yaml, in name order. */
function serviceNames(root) {
  const dir = path.join(root, 'services');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter(f => f.endsWith('.yaml')).map(f => f.slice(0, -'.yaml'.length)).sort() : [];
}

const list = names => names.map(n => JSON.stringify(n)).join(', ') || 'none';

function main(argv) {
  const [env = '', service = 'all'] = argv;
  if (env !== '' && !NAME.test(env)) {
    return fail(`the environment must be a name such as prod (lower-case letters, digits and "-"), got ${JSON.stringify(env)}`);
  }
  if (service !== 'all' && !NAME.test(service)) {
    return fail(`the service must be "all" or the name of a service with a file under services/ (lower-case letters, digits and "-"), got ${JSON.stringify(service)}`);
  }
  const root = path.join(__dirname, '..');
  if (service !== 'all' && !serviceNames(root).includes(service)) {
    return fail(`no service file services/${service}.yaml: the services are ${list(serviceNames(root))}; to onboard ${JSON.stringify(service)}, `
      + `add services/${service}.yaml, then run \`${initCommand(service)}\``);
  }
  const rollout = path.join(root, 'rollout');
  const envs = env === ''
    ? fs.readdirSync(rollout, { withFileTypes: true }).filter(e => e.isDirectory()).map(e => e.name).sort()
    : [env];
  const matrix = [];
  for (const name of envs) {
    const dir = path.join(rollout, name);
    if (!fs.existsSync(dir)) return fail(`no rollout state for environment ${JSON.stringify(name)}: ${path.relative(process.cwd(), dir)} does not exist`);
    const services = fs.readdirSync(dir).filter(f => f.endsWith('.yaml')).map(f => f.slice(0, -'.yaml'.length)).sort();
    if (service !== 'all' && !services.includes(service)) {
      return fail(`no rollout state for ${JSON.stringify(service)} in ${name} (there is for ${list(services)}); onboard it there with \`${initCommand(service, name)}\``);
    }
    const wanted = service === 'all' ? services : [service];
    const flying = wanted.filter(s => inFlight(fs.readFileSync(path.join(dir, `${s}.yaml`), 'utf8')));
    if (flying.length > 0) matrix.push({ env: name, services: flying.join(' ') });
  }
  const json = JSON.stringify(matrix);
  console.log(json);
  if (process.env.GITHUB_OUTPUT) fs.appendFileSync(process.env.GITHUB_OUTPUT, `matrix=${json}\n`);
  return 0;
}

function fail(message) {
  console.error(`canary-in-flight: ${message}`);
  return 2;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { inFlight };
