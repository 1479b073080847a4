import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { currentPod } from '../../lib/charts/service-pods';
import { ENVIRONMENTS, ENVIRONMENT_NAMES } from '../../lib/config/environments';
import { RolloutState, parseRolloutState } from '../../lib/rollout/state';
import { loadRollouts } from '../../lib/rollout/store';
import { loadServices } from '../../lib/services/catalog';
import { loadStackInput, renderEnvironment } from '../../lib/synth';
import { POD_HASH_ANNOTATION } from '../../lib/slo/cluster-state';
import { CliRun, cliIn } from '../support/cli';
import { readTree, repoSnapshot } from '../support/repo-copy';

/**
 * A change of a service file is released like an image, end to end in this process on a temporary copy of the
 * repository with its own git history: gateway's state records what stable runs, its file gains a variable, and only
 * `canary start` (or `--ungated`) brings it to the pods.
 */
describe('canary CLI: configuration changes are canaried', () => {
  let dir: string;
  let remove: () => Promise<void>;
  const cli = (...argv: string[]): Promise<CliRun> => cliIn(dir, argv);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  const STATE = path.join('rollout', 'local', 'gateway.yaml');
  const state = (): RolloutState => parseRolloutState(fs.readFileSync(path.join(dir, STATE), 'utf8'), STATE, 'gateway');
  const pod = () => {
    const services = loadServices(dir, ENVIRONMENT_NAMES);
    return currentPod(services.gateway, ENVIRONMENTS.local, services);
  };
  /** Edits gateway's service file and commits it, as a merged pull request would. */
  const editServiceFile = (from: string, to: string): void => {
    const file = path.join(dir, 'services', 'gateway.yaml');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain(from);
    fs.writeFileSync(file, text.replace(from, to));
    git('commit', '--quiet', '--all', '--message', 'gateway: its service file');
  };
  /** The variables of gateway's Deployment of a track in the committed dist/local, or undefined when there is none. */
  const variables = (track: 'stable' | 'canary'): Record<string, unknown> | undefined => {
    const objects = parseAllDocuments(fs.readFileSync(path.join(dir, 'dist', 'local', 'apps', 'manifest.yaml'), 'utf8')).map(d => d.toJS());
    const deployment = objects.find(o => o.kind === 'Deployment' && o.metadata.name === `gateway-${track}`);
    return deployment && Object.fromEntries(deployment.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
  };
  const freshDist = (): Map<string, string> => new Map(renderEnvironment(loadStackInput(dir, 'local')).map(f => [f.path, f.content]));

  beforeAll(() => {
    ({ dir, remove } = repoSnapshot());
    // the repository's state is as canary init leaves it: stable's record is what the files give now
    expect(state().stable.pod).toEqual(pod());
    // and the record changes nothing that runs: without it, gateway-stable only lacks the annotation that says which
    // record it runs (kube-state-metrics exports it)
    const recorded = readTree(path.join(dir, 'dist', 'local'));
    expect(recorded).toEqual(freshDist());
    const services = loadServices(dir, ENVIRONMENT_NAMES);
    const { pod: _record, ...unrecordedStable } = state().stable;
    const rollouts = { ...loadRollouts(dir, 'local', services), gateway: { ...state(), stable: unrecordedStable } };
    const unrecorded = new Map(renderEnvironment(loadStackInput(dir, 'local', rollouts, services)).map(f => [f.path, f.content]));
    const lines = (tree: Map<string, string>) => [...tree.values()].join('').split('\n');
    const linesWithout = new Set(lines(unrecorded));
    expect(lines(recorded).filter(line => !linesWithout.has(line))).toEqual([`    ${POD_HASH_ANNOTATION.name}: ${pod().hash}`]);
    // and nothing else (the Deployment's `annotations:` has its sync wave either way)
    expect(lines(recorded).length - lines(unrecorded).length).toBe(1);
  });
  afterAll(() => remove());

  test('a merged change of the service file changes nothing that runs; status says canary start releases it', async () => {
    const before = readTree(path.join(dir, 'dist', 'local'));
    editServiceFile('LOG_LEVEL: info', 'LOG_LEVEL: info\n  FEATURE_X: "on"');
    // what a synth makes of the merged file is what runs already
    expect(freshDist()).toEqual(before);
    expect(variables('stable')).not.toHaveProperty('FEATURE_X');
    const text = await cli('status', '--service', 'gateway');
    expect(text.stdout).toBe(`local/gateway: stable ghcr.io/example/obs-canary-gateway:0.1.0 (pod ${state().stable.pod!.hash}); no canary in flight; `
      + 'services/gateway.yaml differs from what stable runs (env): canary start releases it\n');
    const json = JSON.parse((await cli('status', '--service', 'gateway', '--json')).stdout);
    expect(json.services[0].config).toEqual({
      file: 'services/gateway.yaml', stable: state().stable.pod!.hash, canary: null, current: pod().hash, unreleased: ['env'],
    });
  });

  test('start without --image starts a canary of stable\'s image with the new configuration: only its Deployment has the variable', async () => {
    const head = git('rev-parse', 'HEAD');
    const stable = state().stable;
    const result = await cli('start', '--service', 'gateway', '--commit', '--json');
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toMatchObject({ decision: 'start', image: stable.image, changed: [STATE, 'dist/local'] });
    expect(git('rev-list', '--count', `${head}..HEAD`)).toBe('1');
    expect(git('status', '--porcelain')).toBe('');
    expect(state().stable).toEqual(stable);
    expect(state().canary).toMatchObject({ image: stable.image, weight: 0, pod: pod() });
    expect(variables('canary')).toMatchObject({ FEATURE_X: 'on' });
    expect(variables('stable')).not.toHaveProperty('FEATURE_X');
    expect(readTree(path.join(dir, 'dist', 'local'))).toEqual(freshDist());
  });

  test('neither another start nor --ungated while the canary is in flight (exit 2, code in-flight)', async () => {
    for (const argv of [['start', '--service', 'gateway'], ['start', '--service', 'gateway', '--ungated']]) {
      const result = await cli(...argv, '--json');
      expect([argv, result.code, JSON.parse(result.stdout).error.code]).toEqual([argv, 2, 'in-flight']);
    }
    expect(git('status', '--porcelain')).toBe('');
  });

  test('promotion\'s end makes the canary\'s record stable\'s: stable runs the variable; another start has nothing to release', async () => {
    const canary = state().canary!;
    expect((await cli('promote', '--service', 'gateway', '--commit')).code).toBe(0);
    // promoting: stable already renders the canary's configuration
    expect(variables('stable')).toMatchObject({ FEATURE_X: 'on' });
    expect((await cli('promote', '--service', 'gateway', '--commit')).code).toBe(0);
    expect(state().stable).toEqual({ image: canary.image, pod: canary.pod });
    expect(state().canary).toBeNull();
    expect(variables('stable')).toMatchObject({ FEATURE_X: 'on' });
    expect(variables('canary')).toBeUndefined();
    const again = await cli('start', '--service', 'gateway', '--json');
    expect([again.code, JSON.parse(again.stdout).error]).toEqual([2, { code: 'usage', message: expect.stringMatching(/^nothing to release: /) }]);
  });

  test('--ungated changes stable at once, no canary, and the history says so', async () => {
    editServiceFile('LOG_LEVEL: info', 'LOG_LEVEL: debug');
    const head = git('rev-parse', 'HEAD');
    const result = await cli('start', '--service', 'gateway', '--ungated', '--commit');
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(git('rev-list', '--count', `${head}..HEAD`)).toBe('1');
    expect(git('show', '--name-only', '--format=', 'HEAD').split('\n')).toEqual(expect.arrayContaining([STATE, 'dist/local/apps/manifest.yaml']));
    expect(state().canary).toBeNull();
    expect(state().stable.pod).toEqual(pod());
    expect(state().history.at(-1)).toMatchObject({ decision: 'promote', by: 'cli', reason: expect.stringMatching(/^ungated: /) });
    expect(variables('stable')).toMatchObject({ LOG_LEVEL: 'debug', FEATURE_X: 'on' });
    expect(variables('canary')).toBeUndefined();
    expect(readTree(path.join(dir, 'dist', 'local'))).toEqual(freshDist());
  });
});
