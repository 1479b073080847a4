import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

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

  test('ci, images and deploy-canary exist', () => {
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'images.yml', 'deploy-canary.yml']));
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
    expect(text).not.toMatch(/(password|token):\s+(?!\$\{\{\s*secrets\.)\S/i);
    expect(runs(doc)).not.toMatch(/\$\{\{\s*(inputs|github\.event)\./);
    expect(doc.permissions).toBeDefined();
  });

  test('ci runs the README\'s test command through .ci/run and fails when dist/ drifts', () => {
    const { doc } = read('ci.yml');
    expect(Object.keys(doc.on)).toEqual(['push', 'pull_request']);
    expect(runs(doc)).toContain('bash .ci/run');
    // synth writes dist/ only: that is where drift shows
    expect(runs(doc)).toMatch(/npm run synth\ngit diff --exit-code -- dist$/m);
    expect(doc.permissions).toEqual({ contents: 'read' });
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
    expect(doc.permissions).toEqual({ contents: 'read', packages: 'write' });
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

  test('deploy-canary: manual, one environment at a time, commits with the CLI and pushes with rebase', () => {
    const { doc } = read('deploy-canary.yml');
    expect(Object.keys(doc.on)).toEqual(['workflow_dispatch']);
    expect(Object.keys(doc.on.workflow_dispatch.inputs)).toEqual(['service', 'image', 'env']);
    // any service: checked by the first step (scripts/canary-in-flight.cjs) and by the CLI
    expect(doc.on.workflow_dispatch.inputs.service).toMatchObject({ type: 'string', required: true });
    expect(doc.jobs.start.steps[1].run).toBe('node scripts/canary-in-flight.cjs "$TARGET_ENV" "$SERVICE" > /dev/null');
    expect(doc.concurrency).toEqual({ group: 'canary-${{ inputs.env }}', 'cancel-in-progress': false });
    expect(doc.permissions).toEqual({ contents: 'write' });
    expect(runs(doc)).toMatch(/npx canary start --service "\$SERVICE" --image "\$IMAGE" --env "\$TARGET_ENV" --commit/);
    expect(runs(doc)).toContain('bash scripts/push-with-rebase.sh "$GITHUB_REF_NAME"');
    expect(fs.readFileSync(path.join(dir, '..', '..', 'scripts', 'push-with-rebase.sh'), 'utf8')).toContain('git pull --rebase');
    // the gate's smoke checks from Playwright (no browser), against the canary through the pin, once it answers
    expect(doc.jobs.smoke).toMatchObject({ needs: 'start', if: "vars.SMOKE_URLS != ''" });
    const smoke = doc.jobs.smoke.steps.at(-1);
    expect(smoke.env).toMatchObject({ SMOKE_SERVICE: '${{ inputs.service }}', TARGET_ENV: '${{ inputs.env }}', SMOKE_CANARY: '1' });
    expect(smoke.run).toContain('npx playwright test --project api --grep "smoke check of services/$SMOKE_SERVICE.yaml"');
    expect(smoke.run).toContain('\'.[$env][$service] // ""\'');
  });
});
