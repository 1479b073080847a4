import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ENVIRONMENTS } from '../lib/config/environments';
import { CANARY_GATE_INPUTS } from '../lib/images';

const dir = path.join(__dirname, '..', '.github', 'workflows');
const read = (name: string) => ({ text: fs.readFileSync(path.join(dir, name), 'utf8'), doc: parse(fs.readFileSync(path.join(dir, name), 'utf8')) });
const steps = (doc: any) => Object.values<any>(doc.jobs).flatMap(job => job.steps);
const runs = (doc: any) => steps(doc).map((s: any) => s.run ?? '').join('\n');

/** The first major of each action whose action.yml runs on node24 (GitHub's runners dropped node20 in 2026). */
const NODE24_SINCE: Record<string, number> = {
  'actions/checkout': 5,
  'actions/setup-node': 5,
  'docker/setup-buildx-action': 4,
  'docker/login-action': 4,
  'docker/build-push-action': 7,
};

describe('GitHub Actions workflows', () => {
  const files = fs.readdirSync(dir).filter(f => f.endsWith('.yml'));

  test('ci, images, deploy-canary, promote and rollback exist', () => {
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'images.yml', 'deploy-canary.yml', 'promote.yml', 'rollback.yml']));
  });

  test.each(files)('%s: actions pinned by commit with the release in a comment, credentials only from secrets, inputs never spliced into scripts', file => {
    const { text, doc } = read(file);
    const uses = [...text.matchAll(/^\s*(?:- )?uses:\s*(.*)$/gm)].map(m => m[1]);
    expect(uses.length).toBe(steps(doc).filter((s: any) => s.uses).length);
    for (const use of uses) {
      expect(use).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
      const [, action, major] = /^(\S+)@\S+ # v(\d+)/.exec(use)!;
      // an action not in the table has not been checked for its runtime
      expect(Object.keys(NODE24_SINCE)).toContain(action);
      expect(Number(major)).toBeGreaterThanOrEqual(NODE24_SINCE[action]);
    }
    // or the job's own token, which GitHub mints per run and revokes when the job ends
    expect(text).not.toMatch(/(password|token):\s+(?!\$\{\{\s*(secrets\.|github\.token\s*\}\}))\S/i);
    expect(runs(doc)).not.toMatch(/\$\{\{\s*(inputs|github\.event)\./);
    expect(doc.permissions).toBeDefined();
  });

  test('ci runs the README\'s test command through .ci/run and fails when dist/ drifts', () => {
    const { doc } = read('ci.yml');
    expect(Object.keys(doc.on)).toEqual(['push', 'pull_request']);
    expect(runs(doc)).toContain('bash .ci/run');
    expect(doc.permissions).toEqual({ contents: 'read' });
  });

  test('ci\'s drift check of dist/ fails on a changed file and on one nobody committed (untracked), not on a clean tree', () => {
    const step = Object.values<any>(read('ci.yml').doc.jobs).flatMap(j => j.steps).find((st: any) => /npm run synth/.test(st.run ?? ''));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-drift-'));
    try {
      const git = (...args: string[]) => spawnSync('git', args, { cwd: work, encoding: 'utf8' });
      git('init', '-q'); git('config', 'user.email', 'ci@example.com'); git('config', 'user.name', 'ci');
      fs.mkdirSync(path.join(work, 'dist', 'local'), { recursive: true });
      fs.writeFileSync(path.join(work, 'dist', 'local', 'manifest.yaml'), 'a: 1\n');
      git('add', '.'); git('commit', '-qm', 'dist');
      // synth stands still: the step's check runs on the tree as each case leaves it
      const check = () => spawnSync('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', step.run.replace('npm run synth', 'true')], { cwd: work, encoding: 'utf8' }).status;
      expect(check()).toBe(0);
      fs.mkdirSync(path.join(work, 'dist', 'prod'));
      fs.writeFileSync(path.join(work, 'dist', 'prod', 'manifest.yaml'), 'b: 1\n');
      expect(check()).toBe(1);
      fs.rmSync(path.join(work, 'dist', 'prod'), { recursive: true });
      fs.writeFileSync(path.join(work, 'dist', 'local', 'manifest.yaml'), 'a: 2\n');
      expect(check()).toBe(1);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    // .ci/run ends with the same check
    expect(fs.readFileSync(path.join(__dirname, '..', '.ci', 'run'), 'utf8')).toContain('drift="$(git status --porcelain -- dist)"');
  });

  test('no workflow lists the services: they are data (services/*.yaml, apps/*/Dockerfile)', () => {
    for (const file of files) {
      const { text, doc } = read(file);
      expect([file, text]).toEqual([file, expect.not.stringMatching(/^\s*options:/m)]);
      for (const input of Object.values<any>(doc.on?.workflow_dispatch?.inputs ?? {})) expect([file, input.type]).not.toEqual([file, 'choice']);
      for (const job of Object.values<any>(doc.jobs)) expect(JSON.stringify(job.strategy ?? {})).not.toMatch(/gateway|backend/);
    }
  });

  test('images builds every service with a Dockerfile under apps/ with buildx, pushes, and reports the digests', () => {
    const { doc } = read('images.yml');
    expect(doc.jobs.build.needs).toBe('services');
    expect(doc.jobs.build.if).toBe("needs.services.outputs.services != '[]'");
    expect(doc.jobs.build.strategy.matrix.service).toBe('${{ fromJSON(needs.services.outputs.services) }}');
    expect(doc.jobs.services.outputs).toEqual({ services: '${{ steps.list.outputs.services }}' });
    const uses = steps(doc).map((s: any) => s.uses).filter(Boolean).map((u: string) => u.split('@')[0]);
    expect(uses).toEqual(expect.arrayContaining(['docker/setup-buildx-action', 'docker/login-action', 'docker/build-push-action']));
    const build = steps(doc).find((s: any) => s.id === 'build');
    expect(build.with).toMatchObject({ push: true, file: 'apps/${{ matrix.service }}/Dockerfile', context: '.' });
    expect(runs(doc)).toContain('GITHUB_STEP_SUMMARY');
    expect(JSON.stringify(doc)).toContain('steps.build.outputs.digest');
    // read by default, packages written only by the jobs that push, one run at a time whatever the branch
    expect(doc.permissions).toEqual({ contents: 'read' });
    expect(doc.jobs.services.permissions).toBeUndefined();
    for (const job of ['build', 'gate']) expect(doc.jobs[job].permissions).toEqual({ contents: 'read', packages: 'write' });
    expect(doc.concurrency).toEqual({ group: 'images', 'cancel-in-progress': false, queue: 'max' });
  });

  describe('images: the first job\'s list of services', () => {
    const step = read('images.yml').doc.jobs.services.steps.find((s: any) => s.id === 'list');
    /** Runs the step as GitHub would (bash -eo pipefail) in a directory holding `dirs` under apps/, those in `built` with a Dockerfile. */
    const list = (dirs: readonly string[], built: readonly string[]): { status: number | null; output: string; stdout: string } => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'images-yml-'));
      try {
        for (const name of dirs) fs.mkdirSync(path.join(work, 'apps', name), { recursive: true });
        for (const name of built) fs.writeFileSync(path.join(work, 'apps', name, 'Dockerfile'), 'FROM scratch\n');
        fs.writeFileSync(path.join(work, 'apps', 'README.md'), '');
        const output = path.join(work, 'output');
        fs.writeFileSync(output, '');
        const r = spawnSync('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', step.run], {
          cwd: work, encoding: 'utf8', env: { PATH: process.env.PATH, GITHUB_OUTPUT: output },
        });
        return { status: r.status, output: fs.readFileSync(output, 'utf8'), stdout: r.stdout };
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    };

    test('runs before anything is installed', () => {
      expect(read('images.yml').doc.jobs.services.steps.map((s: any) => s.uses ?? s.id)).toEqual([expect.stringMatching(/^actions\/checkout@/), 'list']);
      expect(step.shell).toBe('bash');
    });

    test('every directory of apps/ with a Dockerfile, in name order, as a JSON list', () => {
      const r = list(['gateway', 'backend', 'shared', 'ledger'], ['gateway', 'backend', 'ledger']);
      expect(r.status).toBe(0);
      expect(r.output).toBe('services=["backend","gateway","ledger"]\n');
      expect(JSON.parse(r.output.slice('services='.length))).toEqual(['backend', 'gateway', 'ledger']);
    });

    test('the repository\'s own: the demo services', () => {
      const apps = path.join(__dirname, '..', 'apps');
      const built = fs.readdirSync(apps).filter(name => fs.existsSync(path.join(apps, name, 'Dockerfile')));
      expect(JSON.parse(list(fs.readdirSync(apps).filter(n => fs.statSync(path.join(apps, n)).isDirectory()), built).output.slice('services='.length)))
        .toEqual([...built].sort());
    });

    test('none: an empty list, so that the build job is skipped', () => {
      expect(list(['shared'], [])).toMatchObject({ status: 0, output: 'services=[]\n' });
    });

    test('a directory that is no service name fails the job', () => {
      const r = list(['Gateway_2'], ['Gateway_2']);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('::error::apps/Gateway_2/Dockerfile: the directory must be named like its service');
      expect(r.output).toBe('');
    });
  });

  test('deploy-canary: manual, one environment at a time, under its GitHub Environment, commits and pushes with the CLI', () => {
    const { doc } = read('deploy-canary.yml');
    expect(Object.keys(doc.on)).toEqual(['workflow_dispatch']);
    expect(Object.keys(doc.on.workflow_dispatch.inputs)).toEqual(['service', 'image', 'env']);
    // any service: checked by the first step (scripts/canary-in-flight.cjs) and by the CLI
    expect(doc.on.workflow_dispatch.inputs.service).toMatchObject({ type: 'string', required: true });
    expect(doc.jobs.start.steps[1].run).toBe('node scripts/canary-in-flight.cjs "$TARGET_ENV" "$SERVICE" > /dev/null');
    // the start job alone holds the group and may write; the smoke job reads, with no token left behind
    expect(doc.concurrency).toBeUndefined();
    expect(doc.jobs.start.concurrency).toEqual({ group: 'canary-${{ inputs.env }}', 'cancel-in-progress': false, queue: 'max' });
    expect(doc.permissions).toEqual({ contents: 'read' });
    expect(doc.jobs.start.permissions).toEqual({ contents: 'write' });
    expect(doc.jobs.smoke.permissions).toBeUndefined();
    expect(doc.jobs.smoke.steps[0].with).toEqual({ 'persist-credentials': false });
    expect(doc.jobs.start.environment).toBe('${{ inputs.env }}');
    expect(runs(doc).split('\n')).toContain('npx canary start --service="$SERVICE" --image="$IMAGE" --env="$TARGET_ENV" --commit --push --json | tee canary.json');
    // the gate's smoke checks from Playwright (no browser), against the canary through the pin, once it answers
    expect(doc.jobs.smoke).toMatchObject({ needs: 'start', if: "vars.SMOKE_URLS != ''" });
    expect(doc.jobs.smoke.environment).toBeUndefined();
    const smoke = doc.jobs.smoke.steps.at(-1);
    expect(smoke.env).toMatchObject({ SMOKE_SERVICE: '${{ inputs.service }}', TARGET_ENV: '${{ inputs.env }}', SMOKE_CANARY: '1' });
    expect(smoke.run).toContain('npx playwright test --project api --grep "smoke check of services/$SMOKE_SERVICE.yaml"');
    expect(smoke.run).toContain('\'.[$env][$service] // ""\'');
  });

  const REPO = path.join(__dirname, '..');

  /**
   * Runs deploy-canary's smoke step as GitHub would, in the repository, with `npx` a stub that logs and fails: what it
   * printed and put in the summary, and the `npx` commands it ran.
   */
  function runSmokeStep(env: Readonly<Record<string, string>>) {
    const smoke = read('deploy-canary.yml').doc.jobs.smoke.steps.at(-1);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-smoke-'));
    try {
      fs.mkdirSync(path.join(work, 'bin'));
      fs.writeFileSync(path.join(work, 'bin', 'npx'), `#!/bin/sh\necho "$*" >> "${work}/npx.log"\nexit 1\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(work, 'summary.md'), '');
      const r = spawnSync('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', smoke.run], {
        cwd: REPO, encoding: 'utf8', timeout: 10_000,
        env: { PATH: `${path.join(work, 'bin')}:${process.env.PATH}`, GITHUB_STEP_SUMMARY: path.join(work, 'summary.md'), ...env },
      });
      const npx = fs.existsSync(path.join(work, 'npx.log')) ? fs.readFileSync(path.join(work, 'npx.log'), 'utf8') : '';
      return { status: r.status, stdout: r.stdout, stderr: r.stderr, summary: fs.readFileSync(path.join(work, 'summary.md'), 'utf8'), npx };
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  test('deploy-canary: a smoke URL naming {cluster} (central) is left to the gate, which runs the checks in each cluster; no Playwright', () => {
    const r = runSmokeStep({ SMOKE_SERVICE: 'gateway', TARGET_ENV: 'central', SMOKE_URLS: JSON.stringify({ central: { gateway: 'https://{cluster}.flights.example.com' } }) });
    expect([r.status, r.stdout]).toEqual([0, expect.stringContaining('::notice::the smoke URL of gateway in central names {cluster}')]);
    expect(r.npx).toBe('');
    expect(r.summary).toContain('the gate runs its checks in each cluster');
  });

  test('deploy-canary: the smoke step\'s selection is the service\'s smoke checks, one test each (Playwright lists them)', () => {
    const smoke = read('deploy-canary.yml').doc.jobs.smoke.steps.at(-1);
    const grep = /npx playwright test --project api --grep "([^"]+)"/.exec(smoke.run)![1].replace('$SMOKE_SERVICE', 'gateway');
    const listed = spawnSync(path.join(REPO, 'node_modules', '.bin', 'playwright'), ['test', '--list', '--project', 'api', '--grep', grep], {
      // as a workflow runs it: Playwright refuses to run where it sees a jest worker
      cwd: REPO, encoding: 'utf8', env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'JEST_WORKER_ID')), SMOKE_SERVICE: 'gateway' },
    });
    const checks = (parse(fs.readFileSync(path.join(REPO, 'services', 'gateway.yaml'), 'utf8')).smoke ?? []).length;
    expect(checks).toBeGreaterThan(0);
    expect([listed.status, /Total: (\d+) tests?/.exec(listed.stdout)?.[1]]).toEqual([0, String(checks)]);
  });

  test('deploy-canary: a service whose file lists no smoke checks passes the smoke step at once, without Playwright', () => {
    expect(parse(fs.readFileSync(path.join(REPO, 'services', 'backend.yaml'), 'utf8')).smoke).toBeUndefined();
    const r = runSmokeStep({ SMOKE_SERVICE: 'backend', TARGET_ENV: 'prod', SMOKE_URLS: JSON.stringify({ prod: { backend: 'https://backend.example.com' } }) });
    expect([r.status, r.stderr, r.npx]).toEqual([0, '', '']);
    expect(r.summary).toContain('services/backend.yaml lists no smoke checks');
  });

  test('deploy-canary: the image input says what the CLI refuses, without a copy of any environment\'s registries', () => {
    const { text, doc } = read('deploy-canary.yml');
    expect(doc.on.workflow_dispatch.inputs.image.description).toMatch(/delivery\.allowedRegistries.*delivery\.requireDigest/);
    const registries = Object.values(ENVIRONMENTS).flatMap(env => env.delivery.allowedRegistries);
    expect(registries.length).toBeGreaterThan(0);
    for (const registry of registries) expect(text).not.toContain(registry);
  });
});

/** The workflows that move an environment's canaries: each commits with the CLI and pushes with it (`--push`). */
describe('canary workflows: deploy-canary, rollback, promote', () => {
  const deploy = read('deploy-canary.yml').doc;
  const rollback = read('rollback.yml').doc;
  const promote = read('promote.yml').doc;
  const rollbackStep = rollback.jobs.rollback.steps.find((s: any) => typeof s.run === 'string' && s.run.includes('npx canary rollback'));
  const gateStep = promote.jobs.gate.steps.find((s: any) => typeof s.run === 'string' && s.run.includes('npx canary advance'));

  /**
   * Runs a step's script as GitHub would (`shell: bash` is bash -eo pipefail) with `npx` replaced by a stub that logs
   * its arguments and the SMOKE_URLS it was given.
   */
  type StepRun = { status: number | null; npx: string[]; stdout: string };
  const runStep = (step: { run: string; shell?: string }, env: Record<string, string>, npxExit = 0): StepRun => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-workflow-'));
    try {
      const bin = path.join(work, 'bin');
      fs.mkdirSync(bin);
      const log = path.join(work, 'npx.log');
      fs.writeFileSync(path.join(bin, 'npx'), `#!/bin/bash\necho "$* | SMOKE_URLS=\${SMOKE_URLS-unset}" >> "${log}"\necho '{}'\nexit ${npxExit}\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(work, 'summary.md'), '');
      const shell = step.shell === 'bash' ? ['-e', '-o', 'pipefail'] : ['-e'];
      const r = spawnSync('bash', ['--noprofile', '--norc', ...shell, '-c', step.run], {
        cwd: work, encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, RUNNER_TEMP: work, GITHUB_STEP_SUMMARY: path.join(work, 'summary.md'), ...env },
      });
      return { status: r.status, npx: fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [], stdout: r.stdout };
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  };

  /** The environment that gives the step that pushes, and it alone, the token, for git alone. */
  const PUSH_TOKEN = {
    GH_TOKEN: '${{ github.token }}', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'credential.helper',
    GIT_CONFIG_VALUE_0: '!f() { test "$1" = get && echo username=x-access-token && echo "password=$GH_TOKEN"; }; f',
  };
  const pushing = [['deploy-canary', deploy.jobs.start], ['rollback', rollback.jobs.rollback], ['promote', promote.jobs.gate]] as const;

  test.each(pushing)('%s: no token in the checkout and no install scripts; only the step that pushes gets the token', (_name, job: any) => {
    expect(job.steps[0]).toMatchObject({ uses: expect.stringMatching(/^actions\/checkout@/), with: { 'persist-credentials': false } });
    // the branch's commit when the job starts, not the one it was queued at (the CLI refuses to push from behind it)
    expect(job.steps[0].with.ref).toBe('${{ github.ref }}');
    const installs = job.steps.filter((step: any) => /\bnpm ci\b/.test(step.run ?? ''));
    expect(installs.map((step: any) => step.run)).toEqual(['npm ci --no-audit --no-fund --ignore-scripts && (cd node_modules/esbuild && node install.js)']);
    const withToken = job.steps.filter((step: any) => JSON.stringify(step).includes('github.token'));
    expect(withToken).toHaveLength(1);
    expect(withToken[0].run).toMatch(/npx canary \w+ .*--push/);
    expect(withToken[0].env).toMatchObject(PUSH_TOKEN);
  });

  test('the credential helper hands git the token from the environment, for https, and nothing when git stores or erases', () => {
    const token = `ghs_${'x'.repeat(12)}`;
    const env = { ...process.env, ...PUSH_TOKEN, GH_TOKEN: token, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir() };
    const fill = spawnSync('git', ['credential', 'fill'], { input: 'protocol=https\nhost=github.com\npath=acme/obs-canary.git\n\n', env, encoding: 'utf8' });
    expect([fill.status, fill.stdout]).toEqual([0, expect.stringContaining(`username=x-access-token\npassword=${token}\n`)]);
    const without = spawnSync('git', ['credential', 'fill'], {
      input: 'protocol=https\nhost=github.com\n\n', env: { ...env, GIT_CONFIG_COUNT: '0' }, encoding: 'utf8',
    });
    expect(without.status).not.toBe(0);
  });

  test('the three share the concurrency group canary-<env>, without cancelling, queued (queue: max): no two move an environment at once, and none waiting is dropped', () => {
    expect(rollback.concurrency).toEqual({ group: 'canary-${{ inputs.env }}', 'cancel-in-progress': false, queue: 'max' });
    expect(deploy.jobs.start.concurrency).toEqual(rollback.concurrency);
    // the gate's group is per matrix entry (one environment each), under the same name
    expect(promote.jobs.gate.concurrency).toEqual({ group: 'canary-${{ matrix.env }}', 'cancel-in-progress': false, queue: 'max' });
  });

  test('starting and rolling back run under the GitHub Environment named by the env input; the gate never does (reviewers would hold every scheduled run)', () => {
    expect(deploy.jobs.start.environment).toBe('${{ inputs.env }}');
    expect(rollback.jobs.rollback.environment).toBe('${{ inputs.env }}');
    for (const job of Object.values<any>(promote.jobs)) expect(job.environment).toBeUndefined();
  });

  test('rollback: by hand, with service, env (default prod) and a required reason, each a string', () => {
    expect(Object.keys(rollback.on)).toEqual(['workflow_dispatch']);
    const inputs = rollback.on.workflow_dispatch.inputs;
    expect(Object.keys(inputs)).toEqual(['service', 'env', 'reason']);
    expect(inputs.service).toMatchObject({ type: 'string', required: true });
    expect(inputs.env).toMatchObject({ type: 'string', required: true, default: 'prod' });
    expect(inputs.reason).toMatchObject({ type: 'string', required: true });
    expect(rollback.permissions).toEqual({ contents: 'write' });
  });

  test('rollback: checks the inputs as deploy-canary does, before anything is installed, then installs as deploy-canary does', () => {
    const check = rollback.jobs.rollback.steps[1];
    expect(check.env).toEqual({ SERVICE: '${{ inputs.service }}', TARGET_ENV: '${{ inputs.env }}', REASON: '${{ inputs.reason }}' });
    expect(check.run.split('\n')[0]).toBe(deploy.jobs.start.steps[1].run);
    // the same actions at the same commits, set up the same way
    const setup = (job: any) => job.steps.filter((s: any) => s.uses || /^npm ci\b/.test(s.run ?? '')).map((s: any) => ({ uses: s.uses, with: s.with, run: s.run }));
    expect(setup(rollback.jobs.rollback)).toEqual(setup(deploy.jobs.start));
    expect(read('rollback.yml').text.match(/uses: .*$/gm)).toEqual(read('deploy-canary.yml').text.match(/uses: .*$/gm)!.slice(0, 2));
  });

  test.each([['an empty reason', ''], ['a blank reason', ' \t ']])('rollback: %s fails the check', (_, reason) => {
    const check = rollback.jobs.rollback.steps[1];
    const r = runStep({ run: check.run.split('\n').slice(1).join('\n') }, { REASON: reason });
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('::error::a roll back needs a reason');
    expect(runStep({ run: check.run.split('\n').slice(1).join('\n') }, { REASON: 'p95 doubled after the release' }).status).toBe(0);
  });

  test('rollback: the CLI rolls back, commits and pushes, the inputs reaching it as environment variables only', () => {
    expect(rollbackStep.run).toBe('npx canary rollback --service="$SERVICE" --env="$TARGET_ENV" --reason="$REASON" --commit --push --json | tee canary.json');
    expect(rollbackStep.env).toEqual({ SERVICE: '${{ inputs.service }}', TARGET_ENV: '${{ inputs.env }}', REASON: '${{ inputs.reason }}', ...PUSH_TOKEN });
    expect(rollbackStep.shell).toBe('bash');
    for (const step of rollback.jobs.rollback.steps) if (step.run) expect(step.run).not.toContain('${{');
    const env = { SERVICE: 'gateway', TARGET_ENV: 'prod', REASON: 'errors; $(echo injected) "quoted"' };
    const done = runStep(rollbackStep, env);
    expect(done.status).toBe(0);
    expect(done.npx).toEqual(['canary rollback --service=gateway --env=prod --reason=errors; $(echo injected) "quoted" --commit --push --json | SMOKE_URLS=unset']);
    // refused (no canary in flight, superseded): the step fails although its output goes through tee
    expect(runStep(rollbackStep, env, 2).status).toBe(2);
  });

  test('rollback: a summary with the reason and the CLI\'s answer, whatever happened', () => {
    const summary = rollback.jobs.rollback.steps.at(-1);
    expect(summary.if).toBe('always()');
    expect(summary.run).toContain('>> "$GITHUB_STEP_SUMMARY"');
    expect(summary.run).toContain('Reason: $REASON');
    expect(summary.run).toContain('cat canary.json');
  });

  test('every commit is pushed by the CLI (--commit --push); scripts/push-with-rebase.sh is gone', () => {
    for (const doc of [deploy, rollback, promote]) {
      const text = runs(doc);
      expect(text).not.toContain('push-with-rebase');
      expect(text).not.toMatch(/\bgit push\b/);
      for (const line of text.split('\n').filter(l => /npx canary (start|rollback|advance)\b/.test(l))) expect(line).toContain('--commit --push --json');
    }
    expect(fs.existsSync(path.join(dir, '..', '..', 'scripts', 'push-with-rebase.sh'))).toBe(false);
  });

  test('promote: one command per environment for every canary in flight (--all), with --scheduled on the schedule only', () => {
    const env = { TARGET_ENV: 'prod', SMOKE_URLS_BY_ENV: '{}' };
    expect(runStep(gateStep, { ...env, GITHUB_EVENT_NAME: 'schedule' }).npx).toEqual(['canary advance --all --env prod --scheduled --commit --push --json | SMOKE_URLS={}']);
    expect(runStep(gateStep, { ...env, GITHUB_EVENT_NAME: 'workflow_dispatch' }).npx).toEqual(['canary advance --all --env prod --commit --push --json | SMOKE_URLS={}']);
    expect(gateStep.env.TARGET_ENV).toBe('${{ matrix.env }}');
    expect(Object.keys(promote.on)).toEqual(['schedule', 'workflow_dispatch']);
  });

  test('promote: SMOKE_URLS reaches the CLI as the environment\'s part of the repository variable, service to URL', () => {
    expect(gateStep.env.SMOKE_URLS_BY_ENV).toBe("${{ vars.SMOKE_URLS || '{}' }}");
    const urls = '{"prod": {"gateway": "https://flights.example.com"}, "staging": {"gateway": "https://flights.staging.example.com"}}';
    const smokeOf = (byEnv: string, targetEnv = 'prod') => runStep(gateStep, { TARGET_ENV: targetEnv, SMOKE_URLS_BY_ENV: byEnv, GITHUB_EVENT_NAME: 'workflow_dispatch' }).npx[0].split(' | ')[1];
    expect(smokeOf(urls)).toBe('SMOKE_URLS={"gateway":"https://flights.example.com"}');
    expect(smokeOf(urls, 'local')).toBe('SMOKE_URLS={}');
    expect(smokeOf('not json')).toBe('SMOKE_URLS={}');
  });
});

describe('images: the gate image (delivery/Dockerfile)', () => {
  const { doc } = read('images.yml');
  const job = doc.jobs.gate;
  const step = job.steps.find((s: any) => s.id === 'name');
  const root = path.join(__dirname, '..');
  const pinned = /canaryGate: '[^']*:([^']+)'/.exec(fs.readFileSync(path.join(root, 'lib', 'images.ts'), 'utf8'))![1];

  /** Runs the step that names the tags as GitHub would, with a `docker` that answers `imagetools inspect` as told. */
  const tagsStep = (inspect: { status: number; output: string; ref?: string }): { status: number | null; output: string; stdout: string } => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'images-gate-'));
    try {
      fs.mkdirSync(path.join(work, 'bin'));
      fs.writeFileSync(path.join(work, 'bin', 'docker'), `#!/bin/sh\necho '${inspect.output}' >&2\nexit ${inspect.status}\n`, { mode: 0o755 });
      const output = path.join(work, 'output');
      fs.writeFileSync(output, '');
      const r = spawnSync('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', step.run], {
        cwd: root, encoding: 'utf8',
        env: { PATH: `${path.join(work, 'bin')}:${process.env.PATH}`, GITHUB_OUTPUT: output, OWNER: 'Example-Org', SHA: 'abc123', REF: inspect.ref ?? 'refs/heads/main' },
      });
      return { status: r.status, output: fs.readFileSync(output, 'utf8'), stdout: r.stdout };
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  };

  test('runs on changes of delivery/, the lockfile and the pin, builds delivery/Dockerfile from the root, pushes and reports the digest', () => {
    // the pin, and every file of the image (CANARY_GATE_INPUTS), is under one of the paths
    const watched = (file: string) => doc.on.push.paths.some((p: string) => (p.endsWith('/**') ? file.startsWith(p.slice(0, -2)) : file === p));
    expect(['lib/images.ts', ...CANARY_GATE_INPUTS].filter(file => !watched(file))).toEqual([]);
    const build = job.steps.find((s: any) => s.id === 'build');
    expect(build.uses).toMatch(/^docker\/build-push-action@/);
    expect(build.with).toMatchObject({ context: '.', file: 'delivery/Dockerfile', push: true, tags: '${{ steps.name.outputs.tags }}' });
    expect(step.env).toEqual({ OWNER: '${{ github.repository_owner }}', SHA: '${{ github.sha }}', REF: '${{ github.ref }}' });
    expect(JSON.stringify(job.steps.at(-1))).toContain('steps.build.outputs.digest');
    expect(job.steps.at(-1).run).toContain('GITHUB_STEP_SUMMARY');
  });

  test('tags: the commit, and the tag lib/images.ts pins while the registry has none', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+-build\.[0-9a-f]{12}$/);
    const r = tagsStep({ status: 1, output: 'ERROR: ghcr.io/example-org/obs-canary-gate:x: not found' });
    expect(r.status).toBe(0);
    expect(r.output).toBe(`image=ghcr.io/example-org/obs-canary-gate\ntags=ghcr.io/example-org/obs-canary-gate:abc123,ghcr.io/example-org/obs-canary-gate:${pinned}\n`);
  });

  test('a branch\'s build never takes the pinned tag, even while the registry has none: main\'s, reviewed, is pushed from main', () => {
    const r = tagsStep({ status: 1, output: 'ERROR: ghcr.io/example-org/obs-canary-gate:x: not found', ref: 'refs/heads/try-a-fix' });
    expect(r.status).toBe(0);
    expect(r.output).toContain('tags=ghcr.io/example-org/obs-canary-gate:abc123\n');
    expect(r.stdout).toContain('the pinned tag');
  });

  test('a pinned tag that was pushed is never moved: the commit\'s tag only', () => {
    const r = tagsStep({ status: 0, output: 'Name: ghcr.io/example-org/obs-canary-gate' });
    expect(r.status).toBe(0);
    expect(r.output).toContain('tags=ghcr.io/example-org/obs-canary-gate:abc123\n');
    expect(r.stdout).toContain('was pushed before and is never moved');
  });

  test('a registry that cannot tell whether the pinned tag exists fails the job', () => {
    const r = tagsStep({ status: 1, output: 'ERROR: unauthorized' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('::error::could not tell whether');
    expect(r.output).not.toContain('tags=');
  });
});
