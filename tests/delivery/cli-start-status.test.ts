import { SpawnSyncReturns, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadStackInput, renderEnvironment } from '../../lib/synth';
import { cliIn } from '../support/cli';
import { readTree, repoSnapshot } from '../support/repo-copy';

/**
 * `canary start` and `canary status` end to end on a temporary clone with its own git history: through the npm bin
 * where the process matters (the exit code, the output streams, the first status and start), else in this process.
 */
describe('canary CLI: start and status', () => {
  let dir: string;
  let remove: () => Promise<void>;
  const canary = (...args: string[]): SpawnSyncReturns<string> =>
    spawnSync('node', [path.join(dir, 'bin', 'canary.cjs'), ...args], { cwd: dir, encoding: 'utf8' });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  const state = (env: string, service: string) => parse(fs.readFileSync(path.join(dir, 'rollout', env, `${service}.yaml`), 'utf8'));
  /** The same CLI in this process: for the refusals, where a process per case would only add seconds. */
  const canaryHere = async (...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => {
    const { code, stdout, stderr } = await cliIn(dir, args);
    return { status: code, stdout, stderr };
  };
  const IMAGE = 'ghcr.io/example/obs-canary-gateway:0.2.0';

  beforeAll(() => {
    ({ dir, remove } = repoSnapshot());
  });
  afterAll(() => remove());

  test('status lists every service of the environment', async () => {
    const result = canary('status');
    expect(result.status).toBe(0);
    // the services of the files under services/, in name order
    // each with the configuration its state records (canary init records it), so a change of its file is not released
    const recorded = (service: string): string => parse(fs.readFileSync(path.join(dir, 'rollout', 'local', `${service}.yaml`), 'utf8')).stable.pod.hash;
    expect(result.stdout).toBe([
      `local/backend: stable ghcr.io/example/obs-canary-backend:0.1.0 (pod ${recorded('backend')}); no canary in flight`,
      `local/gateway: stable ghcr.io/example/obs-canary-gateway:0.1.0 (pod ${recorded('gateway')}); no canary in flight`,
      '',
    ].join('\n'));
    const json = JSON.parse((await canaryHere('status', '--env', 'prod', '--service', 'backend', '--json')).stdout);
    expect(json.env).toBe('prod');
    expect(json.services.map((s: any) => [s.service, s.canary])).toEqual([['backend', null]]);
  });

  test('start --dry-run reports the change and changes nothing', async () => {
    const head = git('rev-parse', 'HEAD');
    const result = await canaryHere('start', '--service', 'gateway', '--image', IMAGE, '--dry-run', '--json');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ decision: 'start', fromWeight: 0, toWeight: 0, dryRun: true, changed: [], commit: null });
    // as text: what it would do, then why
    expect((await canaryHere('start', '--service', 'gateway', '--image', IMAGE, '--dry-run')).stdout)
      .toMatch(/^dry run: local\/gateway would start \(canary ghcr\.io\/example\/obs-canary-gateway:0\.2\.0 started at 0% .*\); nothing changed\n$/);
    expect(git('status', '--porcelain')).toBe('');
    expect(git('rev-parse', 'HEAD')).toBe(head);
  });

  test('start --commit sets the canary at weight 0 (only the pin reaches it), re-synthesizes its environment\'s dist/ and makes one commit of both', async () => {
    const head = git('rev-parse', 'HEAD');
    const result = canary('start', '--service', 'gateway', '--image', IMAGE, '--commit');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp('^local/gateway: canary ghcr\\.io/example/obs-canary-gateway:0\\.2\\.0 started at 0% \\(only the pin reaches it\\); the gate gives it 10% once it runs ready; '
      + 'wrote rollout/local/gateway\\.yaml, dist/local; committed [0-9a-f]{7,}\\n$'));
    expect(git('rev-list', '--count', `${head}..HEAD`)).toBe('1');
    expect(git('log', '-1', '--format=%s')).toBe('canary(gateway, local): start ghcr.io/example/obs-canary-gateway:0.2.0 0% → 0%');
    const files = git('show', '--name-only', '--format=', 'HEAD').split('\n');
    expect(files).toContain('rollout/local/gateway.yaml');
    // one environment's release: the other environments' manifests are not touched
    expect(files.filter(f => f !== 'rollout/local/gateway.yaml' && !f.startsWith('dist/local/'))).toEqual([]);
    expect(git('status', '--porcelain')).toBe('');
    expect(state('local', 'gateway').canary).toMatchObject({ image: IMAGE, weight: 0, failedChecks: 0, consecutiveHolds: 0 });
    expect(state('local', 'gateway').canary.appliedAt).toBeUndefined();
    expect(state('local', 'gateway').history.map((h: any) => h.decision)).toEqual(['start']);
    // dist/ is what a fresh synth makes of the new state
    for (const env of ['local', 'prod']) {
      expect(readTree(path.join(dir, 'dist', env))).toEqual(new Map(renderEnvironment(loadStackInput(dir, env)).map(f => [f.path, f.content])));
    }
    expect((await canaryHere('status', '--service', 'gateway')).stdout).toContain(`canary ${IMAGE} at 0% (step 0 of 4, next: 10%; not yet observed applied)`);
    // the canary runs, and the weighted route gives it nothing: only the pin reaches it
    const routes = parseAllDocuments(fs.readFileSync(path.join(dir, 'dist', 'local', 'apps', 'manifest.yaml'), 'utf8')).map(d => d.toJS())
      .find(o => o.kind === 'VirtualService' && o.metadata.name === 'gateway').spec.http;
    expect(routes.find((r: any) => r.name === 'weighted').route.map((d: any) => [d.destination.subset, d.weight])).toEqual([['stable', 100], ['canary', 0]]);
    expect(fs.readFileSync(path.join(dir, 'dist', 'local', 'apps', 'manifest.yaml'), 'utf8')).toContain('name: gateway-canary');
  });

  test('a second start while the canary is in flight exits 2 with a JSON error and changes nothing', async () => {
    const head = git('rev-parse', 'HEAD');
    const result = await canaryHere('start', '--service', 'gateway', '--image', 'ghcr.io/example/obs-canary-gateway:0.3.0', '--commit', '--json');
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      error: { code: 'in-flight', message: `a canary of gateway is already in flight (${IMAGE} at 0%); promote or roll it back before starting another` },
    });
    expect(git('status', '--porcelain')).toBe('');
    expect(git('rev-parse', 'HEAD')).toBe(head);
  });

  test('--commit refuses uncommitted changes (exit 2), naming them, before it measures or writes anything; a dry run too', async () => {
    const head = git('rev-parse', 'HEAD');
    const backendImage = 'ghcr.io/example/obs-canary-backend:0.2.0';
    // the uncommitted change, how git status lists it, and a command that would otherwise write and commit (or dwell)
    const cases: Array<[string, string, string, string[]]> = [
      ['lib/synth.ts', '// uncommitted\n', 'M lib/synth.ts', ['start', '--service', 'backend', '--image', backendImage]],
      ['dist/stray.yaml', 'kind: Stray\n', '?? dist/stray.yaml', ['promote', '--service', 'gateway']],
      ['rollout/local/backend.yaml', '# uncommitted\n', 'M rollout/local/backend.yaml', ['start', '--service', 'backend', '--image', backendImage]],
      ['rollout/local/gateway.yaml', '# uncommitted\n', 'M rollout/local/gateway.yaml', ['rollback', '--service', 'gateway', '--dry-run']],
      // nothing is asked of Prometheus: without the refusal this canary, started moments ago, would dwell (exit 3)
      ['lib/synth.ts', '// uncommitted\n', 'M lib/synth.ts', ['advance', '--service', 'gateway', '--prometheus-url', 'http://127.0.0.1:9']],
    ];
    for (const [file, text, listed, args] of cases) {
      const full = path.join(dir, file);
      const before = fs.existsSync(full) ? fs.readFileSync(full, 'utf8') : undefined;
      fs.writeFileSync(full, `${before ?? ''}${text}`);
      const dirty = { status: git('status', '--porcelain'), dist: readTree(path.join(dir, 'dist')), rollout: readTree(path.join(dir, 'rollout')) };
      const result = await canaryHere(...args, '--commit', '--json');
      const after = { status: git('status', '--porcelain'), dist: readTree(path.join(dir, 'dist')), rollout: readTree(path.join(dir, 'rollout')) };
      if (before === undefined) fs.rmSync(full);
      else fs.writeFileSync(full, before);
      expect([args, result.status]).toEqual([args, 2]);
      expect(JSON.parse(result.stdout)).toEqual({
        error: {
          code: 'usage',
          message: `--commit needs a clean working tree, but git status lists ${listed}: the canary commit would carry them, and dist/ rendered from them; `
            + 'commit or stash them first (git stash --include-untracked), or run without --commit',
        },
      });
      expect(after).toEqual(dirty);
      expect(git('rev-parse', 'HEAD')).toBe(head);
    }
    expect(git('status', '--porcelain')).toBe('');
  });

  test('usage errors exit 2 and change nothing', async () => {
    for (const args of [
      ['start', '--service', 'backend', '--image', 'ghcr.io/example/obs-canary-backend:latest'], ['start', '--service', 'web', '--image', 'x:1'],
      ['start', '--service', 'backend', '--image', 'ghcr.io/example/obs-canary-gateway:0.2.0'], ['promote-everything'],
    ]) {
      const result = await canaryHere(...args);
      expect([args, result.status]).toEqual([args, 2]);
      expect(result.stderr.startsWith('canary: ')).toBe(true);
    }
    expect(git('status', '--porcelain')).toBe('');
  });

  test('the usage through the npm bin: no verb exits 2 with the overview on stderr, --help and a verb\'s --help exit 0', () => {
    const none = canary();
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr.startsWith('canary: missing verb, expected one of init, status, start, advance, promote, rollback, help\n\n'
      + 'usage: canary <verb> [options]\n')).toBe(true);
    for (const args of [['help'], ['--help']]) {
      const result = canary(...args);
      expect([args, result.status, result.stderr]).toEqual([args, 0, '']);
      expect(result.stdout).toMatch(/^usage: canary <verb> \[options\]\n/);
    }
    const advance = canary('advance', '-h');
    expect([advance.status, advance.stderr]).toEqual([0, '']);
    expect(advance.stdout).toMatch(/^usage: canary advance \[--service S\] \[--all\] /);
    expect(git('status', '--porcelain')).toBe('');
  });

  test('a state file with a duration Prometheus would refuse exits 2 naming the file and the field', async () => {
    const file = path.join(dir, 'rollout', 'local', 'backend.yaml');
    const source = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${source}analysis:\n  window: 30m1h\n`);
    const result = await canaryHere('status', '--json');
    fs.writeFileSync(file, source);
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout).error).toEqual({
      code: 'config',
      message: 'invalid rollout state rollout/local/backend.yaml:\n  - \'analysis.window\' must be a duration such as 30s, 5m or 1h30m, got "30m1h": '
        + 'whole numbers, each with one of the units y, w, d, h, m, s, ms, largest first and each at most once (or 0 alone)',
    });
  });

  test('when the commit fails (exit 1), the state file and dist/ are put back', async () => {
    const hook = path.join(dir, '.git', 'hooks', 'pre-commit');
    fs.writeFileSync(hook, '#!/bin/sh\necho "refused by policy" >&2\nexit 1\n', { mode: 0o755 });
    const head = git('rev-parse', 'HEAD');
    const result = await canaryHere('start', '--service', 'backend', '--image', 'ghcr.io/example/obs-canary-backend:0.2.0', '--commit');
    fs.rmSync(hook);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('refused by policy');
    expect(git('status', '--porcelain')).toBe('');
    expect(git('rev-parse', 'HEAD')).toBe(head);
  });

  test('a broken state file exits 2 naming the file and the field', async () => {
    const file = path.join(dir, 'rollout', 'local', 'backend.yaml');
    const source = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, source.replace('canary: null', 'canary: 10'));
    const result = await canaryHere('status', '--json');
    fs.writeFileSync(file, source);
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout).error).toEqual({ code: 'config', message: "invalid rollout state rollout/local/backend.yaml:\n  - 'canary' must be object, got 10" });
  });

  test('a registry move, as a team\'s first release: the service file names their registry and the old one as previousImage, stable keeps '
    + 'running until start --ungated puts their first build on it, and every environment still renders meanwhile', async () => {
    const file = path.join(dir, 'services', 'backend.yaml');
    const source = fs.readFileSync(file, 'utf8');
    const before = state('local', 'backend').stable.image;
    expect(before).toMatch(/^ghcr\.io\/example\/obs-canary-backend:/);
    const moved = source.replace('image: ghcr.io/example/obs-canary-backend', 'image: ghcr.io/acme/obs-canary-backend');
    // without previousImage, the old images are another repository's: refused, saying how to move
    fs.writeFileSync(file, moved);
    expect(() => loadStackInput(dir, 'local')).toThrow("name the old repository as 'previousImage' in services/backend.yaml");
    fs.writeFileSync(file, moved.replace('image: ghcr.io/acme/obs-canary-backend', 'image: ghcr.io/acme/obs-canary-backend\npreviousImage: ghcr.io/example/obs-canary-backend'));
    try {
      // what runs is rendered as it was, in every environment
      for (const env of ['local', 'prod', 'central'] as const) expect(() => loadStackInput(dir, env)).not.toThrow();
      expect((await canaryHere('status', '--service', 'backend')).stdout).toContain('; a registry move: what runs from ghcr.io/example/obs-canary-backend '
        + '(previousImage in services/backend.yaml) runs until a release replaces it (canary start); remove previousImage then');
      // a release of another service's image is still refused, in the old registry or the new
      expect((await canaryHere('start', '--service', 'backend', '--image', 'ghcr.io/acme/obs-canary-gateway:1.0.0', '--ungated')).status).toBe(2);
      const first = `ghcr.io/acme/obs-canary-backend@sha256:${'b'.repeat(64)}`;
      const result = await canaryHere('start', '--service', 'backend', '--image', first, '--ungated');
      expect([result.status, result.stderr]).toEqual([0, '']);
      expect(state('local', 'backend').stable.image).toBe(first);
      expect((await canaryHere('status', '--service', 'backend')).stdout).not.toContain('a registry move');
    } finally {
      fs.writeFileSync(file, source);
      git('checkout', '--', 'rollout', 'dist');
    }
  });
});
