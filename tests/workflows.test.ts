import * as fs from 'node:fs';
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

  test('images builds both services with buildx, pushes, and reports the digests', () => {
    const { doc } = read('images.yml');
    expect(doc.jobs.build.strategy.matrix.service).toEqual(['gateway', 'backend']);
    const uses = steps(doc).map((s: any) => s.uses).filter(Boolean).map((u: string) => u.split('@')[0]);
    expect(uses).toEqual(expect.arrayContaining(['docker/setup-buildx-action', 'docker/login-action', 'docker/build-push-action']));
    const build = steps(doc).find((s: any) => s.id === 'build');
    expect(build.with).toMatchObject({ push: true, file: 'apps/${{ matrix.service }}/Dockerfile', context: '.' });
    expect(runs(doc)).toContain('GITHUB_STEP_SUMMARY');
    expect(JSON.stringify(doc)).toContain('steps.build.outputs.digest');
    expect(doc.permissions).toEqual({ contents: 'read', packages: 'write' });
  });

  test('deploy-canary: manual, one environment at a time, commits with the CLI and pushes with rebase', () => {
    const { doc } = read('deploy-canary.yml');
    expect(Object.keys(doc.on)).toEqual(['workflow_dispatch']);
    expect(Object.keys(doc.on.workflow_dispatch.inputs)).toEqual(['service', 'image', 'env']);
    expect(doc.concurrency).toEqual({ group: 'canary-${{ inputs.env }}', 'cancel-in-progress': false });
    expect(doc.permissions).toEqual({ contents: 'write' });
    expect(runs(doc)).toMatch(/npx canary start --service "\$SERVICE" --image "\$IMAGE" --env "\$TARGET_ENV" --commit/);
    expect(runs(doc)).toContain('bash scripts/push-with-rebase.sh "$GITHUB_REF_NAME"');
    expect(fs.readFileSync(path.join(dir, '..', '..', 'scripts', 'push-with-rebase.sh'), 'utf8')).toContain('git pull --rebase');
  });
});
