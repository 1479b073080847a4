import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { currentPod } from '../../lib/charts/service-pods';
import { ENVIRONMENTS, ENVIRONMENT_NAMES } from '../../lib/config/environments';
import { RolloutState, renderRolloutState } from '../../lib/rollout/state';
import { loadServices } from '../../lib/services/catalog';
import { readTree } from '../support/repo-copy';
import { CliRun, LEDGER_YAML, cliIn } from '../support/cli';

/** The environment whose synth fails, if any. */
let mockFailingEnv: string | undefined;
/** What each synth was asked to render: the environment and the image of each service. */
const mockSynths: Array<{ env: string; images: Record<string, string> }> = [];

// synth stands in for the charts: it writes what it was given, so that the transaction of init is tested on its own
jest.mock('../../lib/synth', () => {
  const actual = jest.requireActual('../../lib/synth');
  const nodeFs = jest.requireActual('node:fs');
  const nodePath = jest.requireActual('node:path');
  return {
    ...actual,
    synthesizeEnvironment: (root: string, env: string, rollouts: Record<string, RolloutState>): number => {
      if (env === mockFailingEnv) throw new Error(`synth of ${env} failed`);
      const images = Object.fromEntries(Object.entries(rollouts).map(([name, state]) => [name, state.stable.image]));
      mockSynths.push({ env, images });
      const dir = nodePath.join(root, 'dist', env, 'apps');
      nodeFs.rmSync(nodePath.join(root, 'dist', env), { recursive: true, force: true });
      nodeFs.mkdirSync(dir, { recursive: true });
      nodeFs.writeFileSync(nodePath.join(dir, 'manifest.yaml'), `${JSON.stringify(images)}\n`);
      return Object.keys(images).length;
    },
  };
});

/** Pinned by digest: init writes every environment, and prod releases by digest only. */
const IMAGE = `ghcr.io/example/ledger@sha256:${'1'.repeat(64)}`;
const BACKEND = `ghcr.io/example/obs-canary-backend@sha256:${'2'.repeat(64)}`;
const GATEWAY = `ghcr.io/example/obs-canary-gateway@sha256:${'3'.repeat(64)}`;
const STATE_FILES = ENVIRONMENT_NAMES.map(env => `rollout/${env}/ledger.yaml`);

/** `canary init` as one transaction: what it hands synth, and what it puts back when synth or the commit fails. */
describe('canary init: the state files and dist/ as one change', () => {
  let root: string;
  const cli = (...argv: string[]): Promise<CliRun> => cliIn(root, argv);
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  const tree = (): Map<string, string> => new Map([...readTree(root)].filter(([file]) => !file.startsWith('.git/')));

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-init-'));
    fs.writeFileSync(path.join(root, 'cdk8s.yaml'), 'language: typescript\n');
    fs.writeFileSync(path.join(root, '.gitignore'), '.dist-*/\n');
    fs.cpSync(path.join(__dirname, '..', '..', 'services'), path.join(root, 'services'), { recursive: true });
    fs.writeFileSync(path.join(root, 'services', 'ledger.yaml'), LEDGER_YAML);
    for (const env of ENVIRONMENT_NAMES) {
      fs.mkdirSync(path.join(root, 'rollout', env), { recursive: true });
      fs.mkdirSync(path.join(root, 'dist', env, 'apps'), { recursive: true });
      fs.writeFileSync(path.join(root, 'dist', env, 'apps', 'manifest.yaml'), `# ${env} before init\n`);
      for (const name of ['backend', 'gateway']) {
        const state: RolloutState = { service: name, stable: { image: `ghcr.io/example/obs-canary-${name}:0.1.0` }, canary: null, history: [] };
        fs.writeFileSync(path.join(root, 'rollout', env, `${name}.yaml`), renderRolloutState(state));
      }
    }
    git('init', '--quiet', '--initial-branch=main');
    git('config', 'user.name', 'tests');
    git('config', 'user.email', 'tests@obs-canary.invalid');
    git('add', '--all');
    git('commit', '--quiet', '--message', 'initial');
    mockFailingEnv = undefined;
    mockSynths.length = 0;
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('synth renders each environment from every service\'s state, the new one included; then the state files are written', async () => {
    const result = await cli('init', '--service', 'ledger', '--image', IMAGE);
    expect(result).toEqual({
      code: 0, stderr: '',
      stdout: `onboarded ledger in ${ENVIRONMENT_NAMES.join(', ')} with stable ${IMAGE}; wrote ${[...STATE_FILES, ...ENVIRONMENT_NAMES.map(e => `dist/${e}`)].join(', ')}\n`,
    });
    const images = { backend: 'ghcr.io/example/obs-canary-backend:0.1.0', gateway: 'ghcr.io/example/obs-canary-gateway:0.1.0', ledger: IMAGE };
    expect(mockSynths).toEqual(ENVIRONMENT_NAMES.map(env => ({ env, images })));
    const services = loadServices(root, ENVIRONMENT_NAMES);
    for (const env of ENVIRONMENT_NAMES) {
      const pod = currentPod(services.ledger, ENVIRONMENTS[env], services);
      expect(fs.readFileSync(path.join(root, 'rollout', env, 'ledger.yaml'), 'utf8'))
        .toBe(renderRolloutState({ service: 'ledger', stable: { image: IMAGE, pod }, canary: null, history: [] }));
    }
    expect(fs.readdirSync(root).filter(f => f.startsWith('.dist-'))).toEqual([]);
  });

  test('--env: only that environment is written and rendered', async () => {
    expect((await cli('init', '--service', 'ledger', '--image', IMAGE, '--env', 'prod')).code).toBe(0);
    expect(mockSynths.map(s => s.env)).toEqual(['prod']);
    expect(git('status', '--porcelain').split('\n').map(line => line.trim())).toEqual(['M dist/prod/apps/manifest.yaml', '?? rollout/prod/ledger.yaml']);
  });

  test('a new environment is onboarded one service at a time; the init that completes it renders its dist/', async () => {
    fs.rmSync(path.join(root, 'rollout', 'prod'), { recursive: true });
    fs.rmSync(path.join(root, 'dist', 'prod'), { recursive: true });
    git('commit', '--quiet', '--all', '--message', 'prod: to be onboarded');
    const first = await cli('init', '--service', 'ledger', '--image', IMAGE, '--env', 'prod', '--commit', '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ files: ['rollout/prod/ledger.yaml'], pending: { prod: ['backend', 'gateway'] }, changed: ['rollout/prod/ledger.yaml'] });
    expect(git('log', '-1', '--format=%b')).toContain('dist/prod is not rendered yet: no state in prod for backend, gateway');
    // prod releases by digest only: init writes no image its gate could not go on releasing
    const tagged = await cli('init', '--service', 'backend', '--image', 'ghcr.io/example/obs-canary-backend:0.1.0', '--env', 'prod', '--commit');
    expect([tagged.code, tagged.stderr]).toEqual([2, expect.stringContaining('prod releases images by digest only (delivery.requireDigest)')]);
    expect(git('status', '--porcelain')).toBe('');
    const second = await cli('init', '--service', 'backend', '--image', BACKEND, '--env', 'prod', '--commit');
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toContain('; dist/prod is rendered once every service has state there (canary init --env prod for gateway); committed ');
    expect(mockSynths).toEqual([]);
    expect(fs.existsSync(path.join(root, 'dist', 'prod'))).toBe(false);
    // other environments still need every service's state: a command there says so
    expect(JSON.parse((await cli('status', '--env', 'prod', '--json')).stdout).error.message).toContain('rollout/prod/gateway.yaml');
    const last = await cli('init', '--service', 'gateway', '--image', GATEWAY, '--env', 'prod', '--commit', '--json');
    expect(JSON.parse(last.stdout)).toMatchObject({ pending: {}, changed: ['rollout/prod/gateway.yaml', 'dist/prod'] });
    expect(mockSynths).toEqual([{
      env: 'prod', images: { backend: BACKEND, gateway: GATEWAY, ledger: IMAGE },
    }]);
    expect(git('status', '--porcelain')).toBe('');
    expect((await cli('status', '--env', 'prod')).code).toBe(0);
  });

  test('--commit: the state files and dist/ of every environment in one commit', async () => {
    const result = await cli('init', '--service', 'ledger', '--image', IMAGE, '--commit', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).commit).toBe(git('rev-parse', '--short', 'HEAD'));
    expect(git('log', '-1', '--format=%B')).toBe(`canary(ledger, ${ENVIRONMENT_NAMES.join(', ')}): init ${IMAGE} as stable\n\n`
      + `onboarded ledger (services/ledger.yaml) with stable ${IMAGE} and no canary; its steps, SLO and analysis are those of services/ledger.yaml`);
    expect(git('show', '--name-only', '--format=', 'HEAD').split('\n').sort())
      .toEqual([...ENVIRONMENT_NAMES.map(env => `dist/${env}/apps/manifest.yaml`), ...STATE_FILES].sort());
    expect(git('status', '--porcelain')).toBe('');
  });

  test('a synth that fails after another environment\'s succeeded (exit 1): no state file, every dist/<env> as it was', async () => {
    const before = tree();
    mockFailingEnv = ENVIRONMENT_NAMES[ENVIRONMENT_NAMES.length - 1];
    const result = await cli('init', '--service', 'ledger', '--image', IMAGE, '--commit', '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error).toEqual({ code: 'unexpected', message: `synth of ${mockFailingEnv} failed` });
    expect(mockSynths.length).toBe(ENVIRONMENT_NAMES.length - 1);
    expect(tree()).toEqual(before);
    expect(git('status', '--porcelain', '--ignored')).toBe('');
  });

  test('a commit that fails (exit 1): no state file, every dist/<env> as it was, nothing staged', async () => {
    fs.writeFileSync(path.join(root, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\necho "refused by policy" >&2\nexit 1\n', { mode: 0o755 });
    const before = tree();
    const head = git('rev-parse', 'HEAD');
    const result = await cli('init', '--service', 'ledger', '--image', IMAGE, '--commit');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('refused by policy');
    expect(mockSynths.map(s => s.env)).toEqual(ENVIRONMENT_NAMES);
    expect(tree()).toEqual(before);
    expect(git('status', '--porcelain', '--ignored')).toBe('');
    expect(git('rev-parse', 'HEAD')).toBe(head);
  });

  test('--commit refuses uncommitted changes before anything is rendered', async () => {
    fs.writeFileSync(path.join(root, 'services', 'ledger.yaml'), `${LEDGER_YAML}# uncommitted\n`);
    const result = await cli('init', '--service', 'ledger', '--image', IMAGE, '--commit', '--json');
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error.message).toMatch(/^--commit needs a clean working tree, but git status lists M services\/ledger\.yaml/);
    expect(mockSynths).toEqual([]);
  });
});
