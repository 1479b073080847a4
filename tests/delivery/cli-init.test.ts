import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { currentPod } from '../../lib/charts/service-pods';
import { ENVIRONMENTS, ENVIRONMENT_NAMES } from '../../lib/config/environments';
import { loadServices } from '../../lib/services/catalog';
import { readTree, repoSnapshot } from '../support/repo-copy';
import { loadStackInput, renderEnvironment } from '../../lib/synth';
import { LEDGER_YAML, cliIn } from '../support/cli';

/** A service that is not one of the demo's: in a namespace of its own, called by gateway. */
/** Pinned by digest: init writes every environment, and prod releases by digest only. */
const IMAGE = `ghcr.io/example/ledger@sha256:${'1'.repeat(64)}`;

/**
 * Onboarding a third service end to end, the CLI run in this process (tests/delivery/gate-integration.test.ts runs the
 * same through the npm bin), on a temporary copy of the repository with its own git history: its service file,
 * `canary init`, then its first canary with `canary start`.
 */
describe('canary init: a third service, from its service file to its first canary', () => {
  let dir: string;
  let remove: () => Promise<void>;
  const canary = async (...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => {
    const { code, stdout, stderr } = await cliIn(dir, args);
    return { status: code, stdout, stderr };
  };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  const state = (env: string) => parse(fs.readFileSync(path.join(dir, 'rollout', env, 'ledger.yaml'), 'utf8'));
  const distOf = (env: string): string => [...readTree(path.join(dir, 'dist', env)).values()].join('\n');

  beforeAll(() => {
    ({ dir, remove } = repoSnapshot());
    fs.writeFileSync(path.join(dir, 'services', 'ledger.yaml'), LEDGER_YAML);
    git('add', '--all');
    git('commit', '--quiet', '--message', 'ledger: its service file');
  });
  afterAll(() => remove());

  test('before init, the CLI refuses to work in an environment without the service\'s state (exit 2), naming the command that writes it', async () => {
    const result = await canary('status', '--json');
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout).error).toEqual({
      code: 'config', message: expect.stringContaining('services/ledger.yaml has no rollout state in local; run `npx canary init --service ledger'),
    });
  });

  test('--dry-run reports what it would write and changes nothing', async () => {
    const head = git('rev-parse', 'HEAD');
    const result = await canary('init', '--service', 'ledger', '--image', IMAGE, '--dry-run', '--json');
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toEqual({
      service: 'ledger', envs: ENVIRONMENT_NAMES, decision: 'init', image: IMAGE, files: ENVIRONMENT_NAMES.map(env => `rollout/${env}/ledger.yaml`),
      pending: {}, dryRun: true, changed: [], commit: null,
    });
    expect(git('status', '--porcelain')).toBe('');
    expect(git('rev-parse', 'HEAD')).toBe(head);
  });

  test('when the commit fails (exit 1), no state file is left and every dist/<env> is put back', async () => {
    const hook = path.join(dir, '.git', 'hooks', 'pre-commit');
    fs.writeFileSync(hook, '#!/bin/sh\necho "refused by policy" >&2\nexit 1\n', { mode: 0o755 });
    const head = git('rev-parse', 'HEAD');
    const dist = readTree(path.join(dir, 'dist'));
    const result = await canary('init', '--service', 'ledger', '--image', IMAGE, '--commit');
    fs.rmSync(hook);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('refused by policy');
    expect(git('status', '--porcelain', '--ignored', '--', 'rollout', 'dist')).toBe('');
    expect(readTree(path.join(dir, 'dist'))).toEqual(dist);
    expect(fs.readdirSync(dir).filter(f => f.startsWith('.dist-'))).toEqual([]);
    expect(git('rev-parse', 'HEAD')).toBe(head);
  });

  test('--commit writes rollout/<env>/ledger.yaml in every environment, re-synthesizes their dist/ and makes one commit of all', async () => {
    const head = git('rev-parse', 'HEAD');
    const result = await canary('init', '--service', 'ledger', '--image', IMAGE, '--commit', '--json');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const files = ENVIRONMENT_NAMES.map(env => `rollout/${env}/ledger.yaml`);
    expect(JSON.parse(result.stdout)).toEqual({
      service: 'ledger', envs: ENVIRONMENT_NAMES, decision: 'init', image: IMAGE, files, pending: {}, dryRun: false,
      changed: [...files, ...ENVIRONMENT_NAMES.map(env => `dist/${env}`)], commit: expect.stringMatching(/^[0-9a-f]{7,}$/),
    });
    expect(git('rev-list', '--count', `${head}..HEAD`)).toBe('1');
    expect(git('log', '-1', '--format=%s')).toBe(`canary(ledger, ${ENVIRONMENT_NAMES.join(', ')}): init ${IMAGE} as stable`);
    const committed = git('show', '--name-only', '--format=', 'HEAD').split('\n');
    expect(committed).toEqual(expect.arrayContaining(files));
    expect(committed.filter(f => !files.includes(f) && !ENVIRONMENT_NAMES.some(env => f.startsWith(`dist/${env}/`)))).toEqual([]);
    expect(git('status', '--porcelain')).toBe('');
    const services = loadServices(dir, ENVIRONMENT_NAMES);
    for (const env of ENVIRONMENT_NAMES) {
      // no steps, SLO or analysis of its own: the service file's apply; stable records what the file gives in env
      const pod = currentPod(services.ledger, ENVIRONMENTS[env], services);
      expect(state(env)).toEqual({ service: 'ledger', stable: { image: IMAGE, pod }, canary: null, history: [] });
    }
    // each environment's own record: prod's resources are the service file's, local's the environment's defaults
    expect(state('prod').stable.pod.resources).toEqual({ cpu: { request: '250m', limit: '1000m' }, memory: { request: '128Mi', limit: '512Mi' } });
    expect(state('local').stable.pod.resources).not.toEqual(state('prod').stable.pod.resources);
    // dist/ is what a fresh synth makes of the new state
    for (const env of ENVIRONMENT_NAMES) {
      const fresh = new Map(renderEnvironment(loadStackInput(dir, env)).map(f => [f.path, f.content]));
      expect(readTree(path.join(dir, 'dist', env))).toEqual(fresh);
    }
    expect((await canary('status', '--service', 'ledger', '--env', 'prod')).stdout)
      .toBe(`prod/ledger: stable ${IMAGE} (pod ${state('prod').stable.pod.hash}); no canary in flight\n`);
  });

  test('the manifests of every environment run the new service', async () => {
    for (const env of ENVIRONMENT_NAMES) {
      expect([env, distOf(env)]).toEqual([env, expect.stringContaining('name: ledger-stable')]);
      expect(distOf(env)).toContain(`image: ${IMAGE}`);
    }
  });

  test('a second init exits 2 (code exists) and changes nothing', async () => {
    const head = git('rev-parse', 'HEAD');
    const result = await canary('init', '--service', 'ledger', '--image', 'ghcr.io/example/ledger:1.0.1', '--env', 'prod', '--json');
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout).error).toEqual({ code: 'exists', message: expect.stringContaining('rollout/prod/ledger.yaml exists') });
    expect(git('status', '--porcelain')).toBe('');
    expect(git('rev-parse', 'HEAD')).toBe(head);
  });

  test('canary start releases it like any other service: its first canary, one commit of its state and dist/', async () => {
    const other = await canary('start', '--service', 'ledger', '--image', 'ghcr.io/example/obs-canary-gateway:0.2.0', '--json');
    expect([other.status, JSON.parse(other.stdout).error.message]).toEqual([2, expect.stringContaining('the repository services/ledger.yaml names')]);
    const head = git('rev-parse', 'HEAD');
    const release = 'ghcr.io/example/ledger:1.1.0';
    const result = await canary('start', '--service', 'ledger', '--image', release, '--commit');
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout.startsWith(`local/ledger: canary ${release} started at 0% (only the pin reaches it); the gate gives it 10% once it runs ready; wrote rollout/local/ledger.yaml, dist/local; committed `)).toBe(true);
    expect(git('rev-list', '--count', `${head}..HEAD`)).toBe('1');
    expect(git('log', '-1', '--format=%s')).toBe(`canary(ledger, local): start ${release} 0% → 0%`);
    const committed = git('show', '--name-only', '--format=', 'HEAD').split('\n');
    expect(committed.filter(f => f !== 'rollout/local/ledger.yaml' && !f.startsWith('dist/local/'))).toEqual([]);
    expect(state('local').canary).toMatchObject({ image: release, weight: 0 });
    expect((await canary('status', '--service', 'ledger')).stdout).toContain(`canary ${release} at 0% (step 0 of 4, next: 10%; not yet observed applied)`);
    expect(distOf('local')).toContain('name: ledger-canary');
    expect(distOf('local')).toContain(`image: ${release}`);
    expect(git('status', '--porcelain')).toBe('');
  });
});

describe('canary init with the service file not yet committed (the README\'s onboarding, in one commit)', () => {
  let dir: string;
  let remove: () => Promise<void>;
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();

  beforeAll(() => {
    ({ dir, remove } = repoSnapshot());
    fs.writeFileSync(path.join(dir, 'services', 'ledger.yaml'), LEDGER_YAML);
  });
  afterAll(() => remove());

  test('--commit exits 2 naming the way; without it, the state files and dist/ commit together with the service file', async () => {
    const head = git('rev-parse', 'HEAD');
    const refused = await cliIn(dir, ['init', '--service', 'ledger', '--image', IMAGE, '--commit']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('canary: services/ledger.yaml is not committed yet, and a commit of it alone would be a service without state, '
      + `which synth refuses: run \`npx canary init --service ledger --image ${IMAGE}\` without --commit (it writes the state files and dist/ from `
      + 'the file as it is), then commit them together: git add services/ledger.yaml rollout dist && git commit\n');
    expect([git('rev-parse', 'HEAD'), git('status', '--porcelain')]).toEqual([head, '?? services/ledger.yaml']);
    // staged, the same; for one environment, the others are named too
    git('add', 'services/ledger.yaml');
    const staged = await cliIn(dir, ['init', '--service', 'ledger', '--image', IMAGE, '--env', 'prod', '--commit']);
    expect(staged.code).toBe(2);
    expect(staged.stderr).toContain(`run \`npx canary init --service ledger --image ${IMAGE} --env prod\` without --commit`);
    expect(staged.stderr).toContain(`and init for ${ENVIRONMENT_NAMES.filter(e => e !== 'prod').join(', ')} too (every environment needs its state)`);
    git('reset', '--quiet');

    expect((await cliIn(dir, ['init', '--service', 'ledger', '--image', IMAGE])).code).toBe(0);
    git('add', 'services/ledger.yaml', 'rollout', 'dist');
    git('commit', '--quiet', '--message', 'onboard ledger');
    expect(git('status', '--porcelain')).toBe('');
    // one commit that synth renders as committed
    const services = loadServices(dir, ENVIRONMENT_NAMES);
    for (const env of ENVIRONMENT_NAMES) {
      const rendered = new Map(renderEnvironment(loadStackInput(dir, env, undefined, services)).map(f => [f.path, f.content]));
      expect(readTree(path.join(dir, 'dist', env))).toEqual(rendered);
    }
  });
});
