import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const PUSH_SCRIPT = 'scripts/push-with-rebase.sh';
const workflow = parse(fs.readFileSync(path.join(WORKFLOWS, 'promote.yml'), 'utf8'));
const steps: any[] = workflow.jobs.gate.steps;
const gate = steps.find(s => typeof s.run === 'string' && s.run.includes('npx canary advance'));
const inflight = workflow.jobs['in-flight'].steps.find((s: any) => s.id === 'inflight');
const IN_FLIGHT_SCRIPT = 'scripts/canary-in-flight.cjs';
const deploySteps: any[] = parse(fs.readFileSync(path.join(WORKFLOWS, 'deploy-canary.yml'), 'utf8')).jobs.start.steps;
const deployPush = deploySteps.find(s => typeof s.run === 'string' && s.run.includes(PUSH_SCRIPT));
const deployStart = deploySteps.find(s => typeof s.run === 'string' && s.run.includes('npx canary start'));
const deployCheck = deploySteps.find(s => typeof s.run === 'string' && s.run.includes(IN_FLIGHT_SCRIPT));
/** The services of the scripts' test directories, unless a case names more: nothing in the workflows names them. */
const SERVICES = ['backend', 'gateway'];

describe('.github/workflows/promote.yml', () => {
  test('runs on a schedule and by hand, for one service or all, in an environment', () => {
    expect(workflow.on.schedule).toEqual([{ cron: expect.stringMatching(/^\S+ \S+ \S+ \S+ \S+$/) }]);
    const inputs = workflow.on.workflow_dispatch.inputs;
    // any service: checked by the first step against services/ and rollout/
    expect(inputs.service).toMatchObject({ type: 'string', default: 'all' });
    expect(inputs.service.options).toBeUndefined();
    // any environment of the repository: a string, checked by the first step against rollout/
    expect(inputs.env).toMatchObject({ type: 'string', default: 'prod' });
  });

  test('one gate job per environment with a canary in flight, at a time, shared with deploy-canary.yml; may write contents only', () => {
    expect(workflow.concurrency).toBeUndefined();
    expect(workflow.jobs.gate.needs).toBe('in-flight');
    expect(workflow.jobs.gate.if).toBe("needs.in-flight.outputs.matrix != '[]'");
    expect(workflow.jobs.gate.strategy).toEqual({ 'fail-fast': false, matrix: { include: '${{ fromJSON(needs.in-flight.outputs.matrix) }}' } });
    expect(workflow.jobs.gate.concurrency).toEqual({ group: 'canary-${{ matrix.env }}', 'cancel-in-progress': false });
    expect(parse(fs.readFileSync(path.join(WORKFLOWS, 'deploy-canary.yml'), 'utf8')).concurrency.group).toBe('canary-${{ inputs.env }}');
    expect(workflow.permissions).toEqual({ contents: 'write' });
  });

  test('the first job looks for canaries in flight without installing anything; only the gate jobs set up Node.js and npm ci', () => {
    const first = workflow.jobs['in-flight'];
    expect(first.steps.map((s: any) => s.uses ?? s.id)).toEqual([expect.stringMatching(/^actions\/checkout@[0-9a-f]{40}$/), 'inflight']);
    expect(first.outputs).toEqual({ matrix: '${{ steps.inflight.outputs.matrix }}' });
    expect(inflight.run).toContain(`node ${IN_FLIGHT_SCRIPT} "$TARGET_ENV" "$TARGET_SERVICE"`);
    // a scheduled run has no inputs: every environment
    expect(inflight.env).toEqual({ TARGET_ENV: "${{ inputs.env || '' }}", TARGET_SERVICE: "${{ inputs.service || 'all' }}" });
    expect(steps[0].uses).toMatch(/^actions\/checkout@[0-9a-f]{40}$/);
    expect(steps[1]).toEqual({ uses: expect.stringMatching(/^actions\/setup-node@[0-9a-f]{40}$/), with: { 'node-version-file': '.nvmrc', cache: 'npm' } });
    expect(steps[2].run).toMatch(/^npm ci\b/);
    expect(gate.env).toMatchObject({ TARGET_ENV: '${{ matrix.env }}', IN_FLIGHT: '${{ matrix.services }}' });
  });

  test('gates with --commit --json; secrets only through secrets.*, the URL from vars or a secret, nothing spliced into scripts', () => {
    expect(gate.run).toContain('npx canary advance --service "$service" --env "$TARGET_ENV" --commit --json');
    expect(gate.env.PROMETHEUS_TOKEN).toBe('${{ secrets.PROMETHEUS_TOKEN }}');
    expect(gate.env.PROMETHEUS_URL).toBe('${{ vars.PROMETHEUS_URL || secrets.PROMETHEUS_URL }}');
    for (const step of steps) if (step.run) expect(step.run).not.toContain('${{');
    const text = fs.readFileSync(path.join(WORKFLOWS, 'promote.yml'), 'utf8');
    expect(text.match(/secrets\.\w+/g)?.sort()).toEqual(['secrets.PROMETHEUS_TOKEN', 'secrets.PROMETHEUS_URL']);
  });
});

/**
 * A workflow step's script, run by bash in a directory holding the state files and scripts/push-with-rebase.sh, with
 * `npx`, `npm`, `git` and `sleep` replaced by stubs that log their calls.
 */
interface Case {
  /** Exit code of `npx canary advance` per service. */
  codes?: Record<string, number>;
  /** Commits ahead of origin. */
  ahead?: number;
  /** Pushes that fail before one succeeds. */
  pushFailures?: number;
  /** `git pull --rebase` fails, with these files in conflict (none: it fails before rebasing). */
  pullFails?: readonly string[];
  /** `npm run synth` fails. */
  synthFails?: boolean;
  /** What `git status --porcelain -- dist` lists after the synth. */
  distStatus?: string;
  service?: string;
  /** What the in-flight step found (the gate step's IN_FLIGHT). */
  inFlight?: string;
  /** prod's state file contents by service; default: every service in flight. */
  states?: Record<string, string>;
  /** Other environments' state files: contents by service, by environment. */
  others?: Record<string, Record<string, string>>;
  /** The service files, services/<name>.yaml; default: one for each service with a state file in prod. */
  serviceFiles?: readonly string[];
  env?: string;
  /** The repository variable SMOKE_URLS. */
  smokeUrls?: string;
}
const FLYING = 'service: x\ncanary:\n  image: ghcr.io/acme/x:2\n  weight: 10\nsteps: [10, 100]\n';
const LANDED = 'service: x\ncanary: null\nsteps: [10, 100]\n';
interface ScriptRun { status: number | null; calls: string[]; stdout: string; stderr: string; summary: string; output: string }
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
  for (const file of [PUSH_SCRIPT, IN_FLIGHT_SCRIPT]) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  const log = path.join(dir, 'calls.log');
  const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> "${log}"\n${body}\n`, { mode: 0o755 });
  stub('npx', `echo "smoke $4 \${SMOKE_BASE_URL:-}" >> "${log}"; service="$4"; echo "{\\"service\\":\\"$service\\"}"; code_var="CODE_$service"; exit "\${!code_var}"`);
  stub('npm', `exit ${c.synthFails ? 1 : 0}`);
  stub('sleep', 'exit 0');
  stub('git', [
    'case "$1" in',
    `  rev-list) echo "${c.ahead ?? 1}" ;;`,
    `  push) n=$(cat "${dir}/push-failures" 2>/dev/null || echo ${c.pushFailures ?? 0}); if [ "$n" -gt 0 ]; then echo $((n - 1)) > "${dir}/push-failures"; exit 1; fi ;;`,
    `  pull) exit ${c.pullFails ? 1 : 0} ;;`,
    `  diff) printf '${(c.pullFails ?? []).map(f => `${f}\\n`).join('')}' ;;`,
    `  status) printf '${c.distStatus ?? ''}' ;;`,
    'esac',
  ].join('\n'));
  const summary = path.join(dir, 'summary.md');
  fs.writeFileSync(summary, '');
  const output = path.join(dir, 'output');
  fs.writeFileSync(output, '');
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${process.env.PATH}`, HOME: dir, TARGET_ENV: c.env ?? 'prod', TARGET_SERVICE: c.service ?? 'all', RUNNER_TEMP: dir,
    SERVICE: c.service ?? 'gateway', IMAGE: 'ghcr.io/acme/obs-canary-gateway:2',
    IN_FLIGHT: c.inFlight ?? [...SERVICES].sort().join(' '), GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output, GITHUB_REF_NAME: 'main',
    SMOKE_URLS: c.smokeUrls ?? '{}',
    ...Object.fromEntries(Object.entries(c.codes ?? {}).map(([s, code]) => [`CODE_${s}`, String(code)])),
  };
  // as GitHub runs it: `shell: bash` is bash -eo pipefail, the default bash -e without pipefail
  const shell = step.shell === 'bash' ? ['-e', '-o', 'pipefail'] : ['-e'];
  const result = spawnSync('bash', ['--noprofile', '--norc', ...shell, '-c', step.run], { cwd: dir, env, encoding: 'utf8' });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
  const out = {
    status: result.status, calls, stdout: result.stdout, stderr: result.stderr, summary: fs.readFileSync(summary, 'utf8'),
    output: fs.readFileSync(output, 'utf8'),
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}
const gated = (calls: string[]) => calls.filter(c => c.startsWith('npx ')).map(c => c.split(' ')[4]);
const gitCalls = (calls: string[]) => calls.filter(c => c.startsWith('git ')).map(c => c.split(' ').slice(0, 2).join(' '));
const CONFLICTS = ['dist/prod/apps/manifest.yaml', 'rollout/prod/gateway.yaml'];

/** The gate step's script: exit codes 0 and 3 are green, 4 pushes and then fails, pushes are retried after a rebase. */
describe('promote.yml gate script', () => {
  const runGate = (c: Case) => runScript(gate, c);

  test('each service gets its own smoke URL from SMOKE_URLS, by environment; one it does not name, or a map that is not JSON, gets none', () => {
    const smoke = (calls: string[]) => calls.filter(c => c.startsWith('smoke ')).map(c => c.trim()).sort();
    const codes = { gateway: 0, backend: 0 };
    const urls = '{"prod": {"gateway": "https://flights.example.com"}, "staging": {"gateway": "https://flights.staging.example.com"}}';
    expect(smoke(runGate({ codes, smokeUrls: urls }).calls)).toEqual(['smoke backend', 'smoke gateway https://flights.example.com']);
    expect(smoke(runGate({ codes, smokeUrls: 'not json' }).calls)).toEqual(['smoke backend', 'smoke gateway']);
    expect(smoke(runGate({ codes }).calls)).toEqual(['smoke backend', 'smoke gateway']);
  });

  test('advanced and held: every service gated, the commits pushed once, a green run', () => {
    const r = runGate({ codes: { gateway: 0, backend: 3 }, ahead: 2 });
    expect(r.status).toBe(0);
    expect(gated(r.calls)).toEqual(['backend', 'gateway']); // as the in-flight step listed them
    expect(gitCalls(r.calls)).toEqual(['git rev-list', 'git push']);
    expect(r.stdout).toContain('{"service":"backend"}');
  });

  test('nothing committed: nothing pushed', () => {
    expect(gitCalls(runGate({ codes: { gateway: 0, backend: 0 }, ahead: 0 }).calls)).toEqual(['git rev-list']);
  });

  test('rolled back by the gate (exit 4): the roll back is pushed, then the run fails', () => {
    const r = runGate({ codes: { gateway: 4, backend: 0 } });
    expect(r.status).toBe(1);
    expect(gitCalls(r.calls)).toEqual(['git rev-list', 'git push']);
    expect(r.stdout).toContain('::error::the SLO gate rolled back gateway in prod (pushed)');
  });

  test('a push that loses a race is retried after git pull --rebase and a fresh synth of dist/', () => {
    const r = runGate({ codes: { gateway: 0, backend: 0 }, pushFailures: 2 });
    expect(r.status).toBe(0);
    expect(gitCalls(r.calls)).toEqual(['git rev-list', 'git push', 'git pull', 'git status', 'git push', 'git pull', 'git status', 'git push']);
    expect(r.calls).toContain('git pull --rebase --quiet origin main');
    expect(r.calls.filter(c => c.startsWith('npm '))).toEqual(['npm run -s synth', 'npm run -s synth']);
  });

  test('a rebase conflict aborts the rebase and fails the run, naming the files in conflict', () => {
    const r = runGate({ codes: { gateway: 3, backend: 3 }, pushFailures: 1, pullFails: CONFLICTS });
    expect(r.status).toBe(1);
    expect(gitCalls(r.calls)).toEqual(['git rev-list', 'git push', 'git pull', 'git diff', 'git rebase']);
    expect(r.calls).toContain('git rebase --abort');
    expect(r.stdout).toContain(`::error::the commits do not rebase onto main: ${CONFLICTS.join(' ')}: changed there too; nothing was pushed`);
  });

  test('an error (exit 2) goes to the summary and fails the run; the other services are still gated', () => {
    const r = runGate({ codes: { gateway: 2, backend: 3 } });
    expect(r.status).toBe(1);
    expect(gated(r.calls)).toEqual(['backend', 'gateway']);
    expect(r.summary).toContain('### canary prod/gateway: error (exit 2)');
    expect(r.stdout).toContain('::error::canary advance failed for gateway (exit 2)');
  });

  test('only the services the in-flight step listed', () => {
    expect(gated(runGate({ codes: { backend: 0 }, inFlight: 'backend' }).calls)).toEqual(['backend']);
  });
});

/** The in-flight step: before npm ci, which services of which environments have a canary; none skips the gate jobs. */
describe('promote.yml in-flight step', () => {
  const runCheck = (c: Case) => runScript(inflight, c);
  const matrixOf = (r: ScriptRun) => JSON.parse(/^matrix=(.*)\n$/.exec(r.output)?.[1] ?? 'null');

  test('by hand for one environment: every service with a canary, in name order, as the job matrix', () => {
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

  test('by hand for one service: only that one', () => {
    expect(matrixOf(runCheck({ service: 'backend' }))).toEqual([{ env: 'prod', services: 'backend' }]);
  });

  test('any service of the files under services/, not only the demo\'s', () => {
    const c: Case = { states: { backend: LANDED, gateway: LANDED, ledger: FLYING } };
    expect(matrixOf(runCheck(c))).toEqual([{ env: 'prod', services: 'ledger' }]);
    expect(matrixOf(runCheck({ ...c, service: 'ledger' }))).toEqual([{ env: 'prod', services: 'ledger' }]);
  });

  test.each([
    ['an environment without state files', { env: 'staging' }, 'no rollout state for environment "staging"'],
    ['a path as the environment', { env: '../prod' }, 'the environment must be a name such as prod'],
    ['a service that is no name', { service: 'Pay ments' }, 'the service must be "all" or the name of a service with a file under services/'],
    ['a service without a file', { service: 'payments' }, 'no service file services/payments.yaml: the services are "backend", "gateway"; '
      + 'to onboard "payments", add services/payments.yaml, then run `npx canary init --service payments --image <image>:<tag> --commit`'],
    ['a service without state in the environment', { service: 'ledger', serviceFiles: ['backend', 'gateway', 'ledger'] },
      'no rollout state for "ledger" in prod (there is for "backend", "gateway"); onboard it there with '
      + '`npx canary init --service ledger --image <image>:<tag> --env prod --commit`'],
  ])('%s fails the step before anything is installed', (_, c, message) => {
    const r = runCheck(c as Case);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.output).toBe('');
  });
});

/**
 * scripts/push-with-rebase.sh, as both workflows run it: dist/ holds every service of an environment, so after a
 * rebase it is re-synthesized, never trusted as git's text merge.
 */
describe('the push of promote.yml and deploy-canary.yml: scripts/push-with-rebase.sh', () => {
  test('deploy-canary.yml: a refused start fails its step although its output goes through tee (bash with pipefail)', () => {
    expect(deployStart.shell).toBe('bash');
    const refused = runScript(deployStart, { codes: { gateway: 2 } });
    expect(refused.status).toBe(2);
    expect(runScript(deployStart, { codes: { gateway: 0 } }).status).toBe(0);
    // what the default shell (bash -e, no pipefail) would have made of it: a green step
    expect(runScript({ run: deployStart.run }, { codes: { gateway: 2 } }).status).toBe(0);
  });

  test('deploy-canary.yml checks the service and the environment first, without installing anything', () => {
    expect(deploySteps.indexOf(deployCheck)).toBe(1);
    expect(deployCheck.env).toEqual({ SERVICE: '${{ inputs.service }}', TARGET_ENV: '${{ inputs.env }}' });
    expect(runScript(deployCheck, { service: 'gateway' }).status).toBe(0);
    const unknown = runScript(deployCheck, { service: 'payments' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no service file services/payments.yaml');
    expect(runScript(deployCheck, { service: 'gateway', env: 'staging' }).status).toBe(2);
  });

  test('deploy-canary.yml pushes its commit with the script', () => {
    expect(deployPush.run).toBe(`bash ${PUSH_SCRIPT} "$GITHUB_REF_NAME"`);
    expect(gate.run).toContain(`bash ${PUSH_SCRIPT} "$GITHUB_REF_NAME" || exit 1`);
  });

  test('a rebase that changes what synth makes of dist/: the new dist/ is committed before the push', () => {
    const r = runScript(deployPush, { pushFailures: 1, distStatus: ' M dist/prod/apps/manifest.yaml\n' });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      'git push --quiet origin HEAD:main', 'sleep 5', 'git pull --rebase --quiet origin main', 'npm run -s synth', 'git status --porcelain -- dist',
      'git add --all -- dist', 'git commit --quiet --message dist: re-synthesize after rebasing onto main -- dist', 'git push --quiet origin HEAD:main',
    ]);
  });

  test('a rebase after which synth changes nothing: pushed as rebased, no extra commit', () => {
    const r = runScript(deployPush, { pushFailures: 1 });
    expect(r.status).toBe(0);
    expect(gitCalls(r.calls)).toEqual(['git push', 'git pull', 'git status', 'git push']);
  });

  test('synth fails on the rebased tree: nothing pushed, the run fails', () => {
    const r = runScript(deployPush, { pushFailures: 1, synthFails: true });
    expect(r.status).toBe(1);
    expect(gitCalls(r.calls)).toEqual(['git push', 'git pull']);
    expect(r.stdout).toContain('::error::synth failed after rebasing onto main; nothing was pushed');
  });

  test('git pull fails without a conflict (the network): said so, nothing pushed', () => {
    const r = runScript(deployPush, { pushFailures: 1, pullFails: [] });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('::error::git pull --rebase origin main failed (see above); nothing was pushed');
  });

  test('five lost races: the run fails', () => {
    const r = runScript(deployPush, { pushFailures: 5 });
    expect(r.status).toBe(1);
    expect(gitCalls(r.calls).filter(c => c === 'git push')).toHaveLength(5);
    expect(r.stdout).toContain('::error::could not push to main in 5 attempts; nothing was pushed');
  });
});
