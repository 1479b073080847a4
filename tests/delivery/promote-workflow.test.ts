import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const workflow = parse(fs.readFileSync(path.join(WORKFLOWS, 'promote.yml'), 'utf8'));
const steps: any[] = workflow.jobs.gate.steps;
const gate = steps.find(s => typeof s.run === 'string' && s.run.includes('npx canary advance'));
const inflight = workflow.jobs['in-flight'].steps.find((s: any) => s.id === 'inflight');
const IN_FLIGHT_SCRIPT = 'scripts/canary-in-flight.cjs';
const stepsOf = (file: string, job: string): any[] => parse(fs.readFileSync(path.join(WORKFLOWS, file), 'utf8')).jobs[job].steps;
const deploySteps = stepsOf('deploy-canary.yml', 'start');
const deployStart = deploySteps.find(s => typeof s.run === 'string' && s.run.includes('npx canary start'));
const deployCheck = deploySteps.find(s => typeof s.run === 'string' && s.run.includes(IN_FLIGHT_SCRIPT));
const rollbackCheck = stepsOf('rollback.yml', 'rollback').find(s => typeof s.run === 'string' && s.run.includes(IN_FLIGHT_SCRIPT));
/** The services of the scripts' test directories, unless a case names more: nothing in the workflows names them. */
const SERVICES = ['backend', 'gateway'];

describe('.github/workflows/promote.yml', () => {
  test('runs on a schedule and by hand, for one environment or every one', () => {
    expect(workflow.on.schedule).toEqual([{ cron: expect.stringMatching(/^\S+ \S+ \S+ \S+ \S+$/) }]);
    const inputs = workflow.on.workflow_dispatch.inputs;
    // one run gates every canary of an environment: no service to choose
    expect(Object.keys(inputs)).toEqual(['env']);
    // any environment of the repository: a string, checked by the first step against rollout/
    expect(inputs.env).toMatchObject({ type: 'string', default: 'prod' });
  });

  test('one gate job per environment with a canary in flight, at a time, shared with deploy-canary.yml and rollback.yml; only the gate jobs may write, contents only', () => {
    expect(workflow.concurrency).toBeUndefined();
    expect(workflow.jobs.gate.needs).toBe('in-flight');
    expect(workflow.jobs.gate.if).toBe("needs.in-flight.outputs.matrix != '[]'");
    expect(workflow.jobs.gate.strategy).toEqual({ 'fail-fast': false, matrix: { include: '${{ fromJSON(needs.in-flight.outputs.matrix) }}' } });
    // queued, not replaced: a scheduled run never cancels a start or a roll back waiting in the group
    expect(workflow.jobs.gate.concurrency).toEqual({ group: 'canary-${{ matrix.env }}', 'cancel-in-progress': false, queue: 'max' });
    const rollback = parse(fs.readFileSync(path.join(WORKFLOWS, 'rollback.yml'), 'utf8'));
    const deploy = parse(fs.readFileSync(path.join(WORKFLOWS, 'deploy-canary.yml'), 'utf8'));
    for (const concurrency of [rollback.concurrency, deploy.jobs.start.concurrency]) {
      expect(concurrency).toEqual({ group: 'canary-${{ inputs.env }}', 'cancel-in-progress': false, queue: 'max' });
    }
    // the job that only looks reads; the gate jobs commit
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(workflow.jobs['in-flight'].permissions).toBeUndefined();
    expect(workflow.jobs.gate.permissions).toEqual({ contents: 'write' });
  });

  test('the first job looks for canaries in flight without installing anything; only the gate jobs set up Node.js and npm ci', () => {
    const first = workflow.jobs['in-flight'];
    expect(first.steps.map((s: any) => s.uses ?? s.id)).toEqual([expect.stringMatching(/^actions\/checkout@[0-9a-f]{40}$/), 'inflight']);
    expect(first.outputs).toEqual({ matrix: '${{ steps.inflight.outputs.matrix }}' });
    expect(inflight.run).toContain(`node ${IN_FLIGHT_SCRIPT} "$TARGET_ENV"`);
    // a scheduled run has no inputs: every environment
    expect(inflight.env).toEqual({ TARGET_ENV: "${{ inputs.env || '' }}" });
    expect(steps[0].uses).toMatch(/^actions\/checkout@[0-9a-f]{40}$/);
    expect(steps[1]).toEqual({ uses: expect.stringMatching(/^actions\/setup-node@[0-9a-f]{40}$/), with: { 'node-version-file': '.nvmrc', cache: 'npm' } });
    expect(steps[2].run).toMatch(/^npm ci\b/);
    expect(gate.env).toMatchObject({ TARGET_ENV: '${{ matrix.env }}' });
  });

  test('gates with --all --commit --push --json; secrets only through secrets.*, the URL from vars or a secret, nothing spliced into scripts', () => {
    expect(gate.run).toContain('npx canary advance --all --env "$TARGET_ENV" "${scheduled[@]}" --commit --push --json');
    expect(gate.shell).toBe('bash');
    expect(gate.env.PROMETHEUS_TOKEN).toBe('${{ secrets.PROMETHEUS_TOKEN }}');
    expect(gate.env.PROMETHEUS_URL).toBe('${{ vars.PROMETHEUS_URL || secrets.PROMETHEUS_URL }}');
    // the map by environment as the single URL: a secret when its URLs carry credentials
    expect(gate.env.PROMETHEUS_URLS_BY_ENV).toBe("${{ vars.PROMETHEUS_URLS || secrets.PROMETHEUS_URLS || '{}' }}");
    for (const step of steps) if (step.run) expect(step.run).not.toContain('${{');
    const text = fs.readFileSync(path.join(WORKFLOWS, 'promote.yml'), 'utf8');
    expect(text.match(/secrets\.\w+/g)?.sort()).toEqual(['secrets.PROMETHEUS_TOKEN', 'secrets.PROMETHEUS_URL', 'secrets.PROMETHEUS_URLS']);
  });
});

/**
 * A workflow step's script, run by bash in a directory holding the state files and scripts/canary-in-flight.cjs, with
 * `npx` and `git` replaced by stubs that log their calls.
 */
interface Case {
  /** Exit code of the `npx canary …` stub. */
  code?: number;
  /** What the stub prints (`--json`). */
  output?: string;
  /** What started the run (`GITHUB_EVENT_NAME`). */
  event?: string;
  service?: string;
  /** prod's state file contents by service; default: every service in flight. */
  states?: Record<string, string>;
  /** Other environments' state files: contents by service, by environment. */
  others?: Record<string, Record<string, string>>;
  /** The service files, services/<name>.yaml; default: one for each service with a state file in prod. */
  serviceFiles?: readonly string[];
  env?: string;
  /** The repository's `PROMETHEUS_URL`, and its `PROMETHEUS_URLS` map by environment. */
  prometheusUrl?: string;
  prometheusUrls?: string;
  reason?: string;
}
const FLYING = 'service: x\ncanary:\n  image: ghcr.io/acme/x:2\n  weight: 10\nsteps: [10, 100]\n';
const LANDED = 'service: x\ncanary: null\nsteps: [10, 100]\n';
const REPORTS = JSON.stringify({ env: 'prod', services: [{ service: 'backend', decision: 'hold' }, { service: 'gateway', decision: 'advance' }] });
const SUPERSEDED = JSON.stringify({ error: { code: 'superseded', message: 'origin/main moved while this run decided, and its new commits change rollout/prod/gateway.yaml: this decision was dropped' } });
interface ScriptRun {
  status: number | null; calls: string[]; stdout: string; stderr: string; summary: string; output: string;
  /** The PROMETHEUS_URL the CLI got. */
  prometheusUrl?: string;
}
function runScript(step: { run: string; shell?: string }, c: Case): ScriptRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promote-yml-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(dir, 'rollout', 'prod'), { recursive: true });
  const prod = [...new Set([...SERVICES, ...Object.keys(c.states ?? {})])];
  for (const service of prod) fs.writeFileSync(path.join(dir, 'rollout', 'prod', `${service}.yaml`), c.states?.[service] ?? FLYING);
  fs.mkdirSync(path.join(dir, 'services'));
  for (const service of c.serviceFiles ?? prod) fs.writeFileSync(path.join(dir, 'services', `${service}.yaml`), `name: ${service}\n`);
  for (const [env, states] of Object.entries(c.others ?? {})) {
    fs.mkdirSync(path.join(dir, 'rollout', env));
    for (const [service, text] of Object.entries(states)) fs.writeFileSync(path.join(dir, 'rollout', env, `${service}.yaml`), text);
  }
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(ROOT, IN_FLIGHT_SCRIPT), path.join(dir, IN_FLIGHT_SCRIPT));
  const log = path.join(dir, 'calls.log');
  const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> "${log}"\n${body}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'npx-output.json'), c.output ?? REPORTS);
  stub('npx', `printf %s "\${PROMETHEUS_URL:-}" > "${dir}/prometheus-url"; cat "${dir}/npx-output.json"; echo; exit ${c.code ?? 0}`);
  stub('git', 'exit 0');
  const summary = path.join(dir, 'summary.md');
  fs.writeFileSync(summary, '');
  const output = path.join(dir, 'output');
  fs.writeFileSync(output, '');
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${process.env.PATH}`, HOME: dir, TARGET_ENV: c.env ?? 'prod', RUNNER_TEMP: dir, GITHUB_EVENT_NAME: c.event ?? 'workflow_dispatch',
    SERVICE: c.service ?? 'gateway', IMAGE: 'ghcr.io/acme/obs-canary-gateway:2', REASON: c.reason ?? 'errors after the release',
    GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output, GITHUB_REF_NAME: 'main', SMOKE_URLS_BY_ENV: '{}',
    PROMETHEUS_URL: c.prometheusUrl ?? '', PROMETHEUS_URLS_BY_ENV: c.prometheusUrls ?? '{}',
  };
  // as GitHub runs it: `shell: bash` is bash -eo pipefail, the default bash -e without pipefail
  const shell = step.shell === 'bash' ? ['-e', '-o', 'pipefail'] : ['-e'];
  const result = spawnSync('bash', ['--noprofile', '--norc', ...shell, '-c', step.run], { cwd: dir, env, encoding: 'utf8' });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
  const out = {
    status: result.status, calls, stdout: result.stdout, stderr: result.stderr, summary: fs.readFileSync(summary, 'utf8'),
    output: fs.readFileSync(output, 'utf8'),
    ...(fs.existsSync(path.join(dir, 'prometheus-url')) ? { prometheusUrl: fs.readFileSync(path.join(dir, 'prometheus-url'), 'utf8') } : {}),
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

/**
 * The gate step's script: one `canary advance --all` per environment; 0 and 3 are green, 4 (pushed by the CLI) and
 * errors red, superseded (exit 2 with that code) green with a notice.
 */
describe('promote.yml gate script', () => {
  const runGate = (c: Case) => runScript(gate, c);

  test.each([
    ['advanced, promoted or nothing in flight', 0],
    ['held', 3],
  ])('%s: a green run, the CLI\'s report in the log', (_, code) => {
    const r = runGate({ code });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual(['npx canary advance --all --env prod --commit --push --json']);
    expect(r.stdout).toContain(REPORTS);
    // the CLI wrote the summary of each service
    expect(r.summary).toBe('');
  });

  test('rolled back by the gate (exit 4): pushed by the CLI, then the run fails', () => {
    const r = runGate({ code: 4 });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('::error::the SLO gate rolled back a canary in prod (pushed); see the summary for the numbers');
  });

  test('superseded (exit 2, the branch changed a state file this run read): not a failure; said in the log and the summary', () => {
    const r = runGate({ code: 2, output: SUPERSEDED });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('::notice::superseded in prod: origin/main moved while this run decided');
    expect(r.summary).toContain('### canary prod: superseded');
    expect(r.summary).toContain('this decision was dropped');
  });

  test.each([
    ['a usage or configuration error (exit 2)', 2, JSON.stringify({ error: { code: 'config', message: 'rollout/prod/gateway.yaml: bad' } })],
    ['an unexpected failure (exit 1)', 1, JSON.stringify({ error: { code: 'unexpected', message: 'git refused the commit' } })],
    ['a crash without JSON (exit 1)', 1, 'TypeError: boom'],
  ])('%s fails the run, the CLI\'s answer in the summary', (_, code, output) => {
    const r = runGate({ code, output });
    expect(r.status).toBe(1);
    expect(r.summary).toContain(`### canary prod: error (exit ${code})`);
    expect(r.summary).toContain(output);
    expect(r.stdout).toContain(`::error::canary advance --all failed in prod (exit ${code}); see the summary`);
  });

  /** What `advance --all --json` prints when backend's own file stopped its gate. */
  const BACKEND_NOT_GATED = JSON.stringify({
    env: 'prod', services: [], busy: [], commit: 'abc1234', failed: [{ service: 'backend', error: { code: 'config', message: 'in the future' } }],
  });

  test('services the CLI could not gate (exit 2, listed under failed): the run fails naming them, and says the others were pushed', () => {
    const r = runGate({ code: 2, output: BACKEND_NOT_GATED });
    expect(r.status).toBe(1);
    expect(r.summary).toContain('### canary prod: error (exit 2)');
    expect(r.stdout).toContain('::error::canary advance --all in prod could not gate backend (their state or service file); the others were decided and pushed');
  });

  test('a roll back (exit 4) beside services the CLI could not gate: both are said, the ones it could not gate by name', () => {
    const r = runGate({ code: 4, output: BACKEND_NOT_GATED });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('::error::canary advance --all in prod could not gate backend (their state or service file); the others were decided and pushed');
    expect(r.stdout).toContain('::error::the SLO gate rolled back a canary in prod (pushed); see the summary for the numbers');
  });

  test('on the schedule: --scheduled, so that an environment gated by its in-cluster loop is left alone', () => {
    expect(runGate({ event: 'schedule' }).calls).toEqual(['npx canary advance --all --env prod --scheduled --commit --push --json']);
  });

  test('with a map of Prometheus URLs, the environment\'s own, or none (never another environment\'s); without a map, PROMETHEUS_URL', () => {
    const urls = JSON.stringify({ prod: 'https://prometheus.prod.example', central: 'https://mimir.example' });
    expect(runGate({ prometheusUrl: 'https://one.example', prometheusUrls: urls })).toMatchObject({ status: 0, prometheusUrl: 'https://prometheus.prod.example' });
    expect(runGate({ prometheusUrl: 'https://one.example' })).toMatchObject({ status: 0, prometheusUrl: 'https://one.example' });
    // none for prod: the CLI gets no URL (on the schedule it leaves prod to its in-cluster loop, else it says what is missing)
    const without = runGate({ prometheusUrl: 'https://one.example', prometheusUrls: JSON.stringify({ central: 'https://mimir.example' }), event: 'schedule' });
    expect(without).toMatchObject({ status: 0, prometheusUrl: '', calls: ['npx canary advance --all --env prod --scheduled --commit --push --json'] });
    expect(without.stdout).toContain('::notice::PROMETHEUS_URLS names no Prometheus for prod: the CLI gets none');
    for (const map of ['not json', '"https://one.example"']) {
      const r = runGate({ prometheusUrl: 'https://one.example', prometheusUrls: map });
      expect([r.status, r.calls]).toEqual([1, []]);
      expect(r.stdout).toContain('::error::the repository variable PROMETHEUS_URLS is no JSON map from environment to URL: nothing was gated');
    }
  });

  test('the script itself never touches git: the CLI commits and pushes', () => {
    for (const code of [0, 2, 3, 4]) expect(runGate({ code }).calls.filter(c => c.startsWith('git '))).toEqual([]);
  });
});

/** The in-flight step: before npm ci, which environments have a canary in flight; none skips the gate jobs. */
describe('promote.yml in-flight step', () => {
  const runCheck = (c: Case) => runScript(inflight, c);
  const matrixOf = (r: ScriptRun) => JSON.parse(/^matrix=(.*)\n$/.exec(r.output)?.[1] ?? 'null');

  test('by hand for one environment: its services with a canary, in name order, as the job matrix', () => {
    const r = runCheck({ others: { staging: { gateway: FLYING } } });
    expect(r.status).toBe(0);
    expect(matrixOf(r)).toEqual([{ env: 'prod', services: 'backend gateway' }]);
  });

  test('on the schedule (no inputs): every environment under rollout/ with a canary in flight, one matrix entry each', () => {
    const r = runCheck({ env: '', states: { backend: LANDED }, others: { staging: { gateway: FLYING, backend: LANDED }, dev: { gateway: LANDED } } });
    expect(matrixOf(r)).toEqual([{ env: 'prod', services: 'gateway' }, { env: 'staging', services: 'gateway' }]);
  });

  test('a landed canary is skipped; none in flight: an empty matrix and a line in the summary', () => {
    expect(matrixOf(runCheck({ states: { backend: LANDED } }))).toEqual([{ env: 'prod', services: 'gateway' }]);
    const none = runCheck({ states: Object.fromEntries(SERVICES.map(s => [s, LANDED])) });
    expect([none.status, matrixOf(none)]).toEqual([0, []]);
    expect(none.summary).toContain('no canary in flight in prod');
  });

  test('any service of the files under services/, not only the demo\'s', () => {
    expect(matrixOf(runCheck({ states: { backend: LANDED, gateway: LANDED, ledger: FLYING } }))).toEqual([{ env: 'prod', services: 'ledger' }]);
  });

  test.each([
    ['an environment without state files', { env: 'staging' }, 'no rollout state for environment "staging"'],
    ['a path as the environment', { env: '../prod' }, 'the environment must be a name such as prod'],
  ])('%s fails the step before anything is installed', (_, c, message) => {
    const r = runCheck(c as Case);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.output).toBe('');
  });
});

/** deploy-canary.yml and rollback.yml: the inputs checked before anything is installed; a refused start fails. */
describe('deploy-canary.yml and rollback.yml steps', () => {
  test('deploy-canary.yml: a refused start fails its step although its output goes through tee (bash with pipefail)', () => {
    expect(deployStart.shell).toBe('bash');
    const refused = runScript(deployStart, { code: 2 });
    expect(refused.status).toBe(2);
    expect(refused.calls).toEqual(['npx canary start --service=gateway --image=ghcr.io/acme/obs-canary-gateway:2 --env=prod --commit --push --json']);
    expect(runScript(deployStart, { code: 0 }).status).toBe(0);
    // what the default shell (bash -e, no pipefail) would have made of it: a green step
    expect(runScript({ run: deployStart.run }, { code: 2 }).status).toBe(0);
  });

  test('deploy-canary.yml checks the service and the environment first, without installing anything', () => {
    expect(deploySteps.indexOf(deployCheck)).toBe(1);
    expect(deployCheck.env).toEqual({ SERVICE: '${{ inputs.service }}', TARGET_ENV: '${{ inputs.env }}' });
  });

  const checks: ReadonlyArray<readonly [string, any]> = [['deploy-canary.yml', deployCheck], ['rollback.yml', rollbackCheck]];

  test.each(checks)('%s: a service with a state file in the environment passes the check', (_, step) => {
    expect(runScript(step, { service: 'gateway' }).status).toBe(0);
  });

  test.each(checks.flatMap(([file, step]) => [
    ['an environment without state files', { service: 'gateway', env: 'staging' }, 'no rollout state for environment "staging"'],
    ['a path as the environment', { service: 'gateway', env: '../prod' }, 'the environment must be a name such as prod'],
    ['a service that is no name', { service: 'Pay ments' }, 'the service must be "all" or the name of a service with a file under services/'],
    ['a service without a file', { service: 'payments' }, 'no service file services/payments.yaml: the services are "backend", "gateway"; '
      + 'to onboard "payments", add services/payments.yaml, then run `npx canary init --service payments --image <image>@sha256:<digest>`'],
    ['a service without state in the environment', { service: 'ledger', serviceFiles: ['backend', 'gateway', 'ledger'] },
      'no rollout state for "ledger" in prod (there is for "backend", "gateway"); onboard it there with '
      + '`npx canary init --service ledger --image <image>@sha256:<digest> --env prod`'],
  ].map(([what, c, message]) => [file, what, step, c, message] as const)))('%s: %s fails the check before anything is installed', (_, __, step, c, message) => {
    const r = runScript(step, c as Case);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
