import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { SERVICES } from '../../apps/contract';
import { ENVIRONMENT_NAMES } from '../../lib/config/environment';

const WORKFLOWS = path.join(__dirname, '..', '..', '.github', 'workflows');
const workflow = parse(fs.readFileSync(path.join(WORKFLOWS, 'promote.yml'), 'utf8'));
const steps: any[] = workflow.jobs.gate.steps;
const gate = steps.find(s => typeof s.run === 'string' && s.run.includes('npx canary advance'));

describe('.github/workflows/promote.yml', () => {
  test('runs on a schedule and by hand, for one service or all, in an environment', () => {
    expect(workflow.on.schedule).toEqual([{ cron: expect.stringMatching(/^\S+ \S+ \S+ \S+ \S+$/) }]);
    const inputs = workflow.on.workflow_dispatch.inputs;
    expect(inputs.service.options).toEqual(['all', ...Object.keys(SERVICES)]);
    expect([...inputs.env.options].sort()).toEqual([...ENVIRONMENT_NAMES].sort());
  });

  test('one run per environment at a time, shared with deploy-canary.yml; may write contents and nothing else', () => {
    expect(workflow.concurrency).toEqual({ group: "canary-${{ inputs.env || 'prod' }}", 'cancel-in-progress': false });
    const deploy = path.join(WORKFLOWS, 'deploy-canary.yml');
    if (fs.existsSync(deploy)) expect(parse(fs.readFileSync(deploy, 'utf8')).concurrency.group).toBe('canary-${{ inputs.env }}');
    expect(workflow.permissions).toEqual({ contents: 'write' });
  });

  test('checks out, sets up Node 20 with the npm cache, installs with npm ci', () => {
    expect(steps[0].uses).toMatch(/^actions\/checkout@v4/);
    expect(steps[1]).toEqual({ uses: expect.stringMatching(/^actions\/setup-node@v4/), with: { 'node-version': expect.stringMatching(/^20(\.|$)/), cache: 'npm' } });
    expect(steps[2].run).toMatch(/^npm ci\b/);
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
 * The gate step's script, run by bash with `npx`, `git` and `sleep` replaced by stubs that log their calls: exit codes
 * 0 and 3 are green, 4 pushes and then fails, pushes are retried after a rebase.
 */
describe('promote.yml gate script', () => {
  interface Case { codes: Record<string, number>; ahead?: number; pushFailures?: number; pullFails?: boolean; service?: string }
  function runScript(c: Case): { status: number | null; calls: string[]; stdout: string; summary: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promote-yml-'));
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(dir, 'rollout', 'prod'), { recursive: true });
    for (const service of Object.keys(SERVICES)) fs.writeFileSync(path.join(dir, 'rollout', 'prod', `${service}.yaml`), '');
    const log = path.join(dir, 'calls.log');
    const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> "${log}"\n${body}\n`, { mode: 0o755 });
    stub('npx', 'service="$4"; echo "{\\"service\\":\\"$service\\"}"; code_var="CODE_$service"; exit "${!code_var}"');
    stub('sleep', 'exit 0');
    stub('git', [
      'case "$1" in',
      `  rev-list) echo "${c.ahead ?? 1}" ;;`,
      `  push) n=$(cat "${dir}/push-failures" 2>/dev/null || echo ${c.pushFailures ?? 0}); if [ "$n" -gt 0 ]; then echo $((n - 1)) > "${dir}/push-failures"; exit 1; fi ;;`,
      `  pull) exit ${c.pullFails ? 1 : 0} ;;`,
      'esac',
    ].join('\n'));
    const summary = path.join(dir, 'summary.md');
    fs.writeFileSync(summary, '');
    const env: NodeJS.ProcessEnv = {
      PATH: `${bin}:${process.env.PATH}`, HOME: dir, TARGET_ENV: 'prod', TARGET_SERVICE: c.service ?? 'all', RUNNER_TEMP: dir,
      GITHUB_STEP_SUMMARY: summary, GITHUB_REF_NAME: 'main',
      ...Object.fromEntries(Object.entries(c.codes).map(([s, code]) => [`CODE_${s}`, String(code)])),
    };
    const result = spawnSync('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', gate.run], { cwd: dir, env, encoding: 'utf8' });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
    const out = { status: result.status, calls, stdout: result.stdout, summary: fs.readFileSync(summary, 'utf8') };
    fs.rmSync(dir, { recursive: true, force: true });
    return out;
  }
  const gated = (calls: string[]) => calls.filter(c => c.startsWith('npx ')).map(c => c.split(' ')[4]);
  const gitCalls = (calls: string[]) => calls.filter(c => c.startsWith('git ')).map(c => c.split(' ').slice(0, 2).join(' '));

  test('advanced and held: every service gated, the commits pushed once, a green run', () => {
    const r = runScript({ codes: { gateway: 0, backend: 3 }, ahead: 2 });
    expect(r.status).toBe(0);
    expect(gated(r.calls)).toEqual(['backend', 'gateway']); // the state files, in glob order
    expect(gitCalls(r.calls)).toEqual(['git rev-list', 'git push']);
    expect(r.stdout).toContain('{"service":"backend"}');
  });

  test('nothing committed: nothing pushed', () => {
    expect(gitCalls(runScript({ codes: { gateway: 0, backend: 0 }, ahead: 0 }).calls)).toEqual(['git rev-list']);
  });

  test('rolled back by the gate (exit 4): the roll back is pushed, then the run fails', () => {
    const r = runScript({ codes: { gateway: 4, backend: 0 } });
    expect(r.status).toBe(1);
    expect(gitCalls(r.calls)).toEqual(['git rev-list', 'git push']);
    expect(r.stdout).toContain('::error::the SLO gate rolled back gateway in prod (pushed)');
  });

  test('a push that loses a race is retried after git pull --rebase', () => {
    const r = runScript({ codes: { gateway: 0, backend: 0 }, pushFailures: 2 });
    expect(r.status).toBe(0);
    expect(gitCalls(r.calls)).toEqual(['git rev-list', 'git push', 'git pull', 'git push', 'git pull', 'git push']);
    expect(r.calls).toContain('git pull --rebase --quiet origin main');
  });

  test('a rebase conflict aborts the rebase and fails the run', () => {
    const r = runScript({ codes: { gateway: 3, backend: 3 }, pushFailures: 1, pullFails: true });
    expect(r.status).toBe(1);
    expect(gitCalls(r.calls)).toEqual(['git rev-list', 'git push', 'git pull', 'git rebase']);
  });

  test('an error (exit 2) goes to the summary and fails the run; the other services are still gated', () => {
    const r = runScript({ codes: { gateway: 2, backend: 3 } });
    expect(r.status).toBe(1);
    expect(gated(r.calls)).toEqual(['backend', 'gateway']); // the state files, in glob order
    expect(r.summary).toContain('### canary prod/gateway: error (exit 2)');
    expect(r.stdout).toContain('::error::canary advance failed for gateway (exit 2)');
  });

  test('by hand for one service: only that one', () => {
    expect(gated(runScript({ codes: { backend: 0 }, service: 'backend' }).calls)).toEqual(['backend']);
  });
});
