import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ENVIRONMENT_NAMES } from '../lib/config/environment';
import { ENVIRONMENTS, loadEnvironment } from '../lib/config/environments';
import { loadRollouts } from '../lib/delivery/store';
import { findRepoRoot, renderEnvironment, replaceDirectory, synthesizeAll } from '../lib/synth';
import { fixtureInput } from './support/manifest';
import { readTree, repoCopy } from './support/repo-copy';

const root = path.join(__dirname, '..');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'synth-test-'));
}

describe('renderEnvironment', () => {
  const files = renderEnvironment(fixtureInput(ENVIRONMENTS.local));

  test('one directory per chart, holding manifest.yaml', () => {
    expect(files.map(f => f.path)).toEqual(['apps/manifest.yaml', 'argocd/manifest.yaml', 'bootstrap/manifest.yaml', 'observability/manifest.yaml']);
  });

  test('objects in apply order: the namespace first, policies and identities before workloads, then by kind and name', () => {
    const observability = files.find(f => f.path === 'observability/manifest.yaml')!;
    const docs = parseAllDocuments(observability.content).map(d => d.toJS());
    expect(docs).toHaveLength(observability.objects);
    const kinds = docs.map(d => d.kind);
    expect(kinds[0]).toBe('Namespace');
    expect(kinds.lastIndexOf('NetworkPolicy')).toBeLessThan(kinds.indexOf('ServiceAccount'));
    expect(kinds.lastIndexOf('ConfigMap')).toBeLessThan(kinds.indexOf('Deployment'));
    expect(kinds.lastIndexOf('Service')).toBeLessThan(kinds.indexOf('StatefulSet'));
    const configMaps = docs.filter(d => d.kind === 'ConfigMap').map(d => d.metadata.name);
    expect(configMaps).toEqual([...configMaps].sort());
  });

  test('is deterministic: byte-identical across runs', () => {
    expect(renderEnvironment(fixtureInput(ENVIRONMENTS.local))).toEqual(files);
    expect(renderEnvironment(fixtureInput(ENVIRONMENTS.prod))).toEqual(renderEnvironment(fixtureInput(ENVIRONMENTS.prod)));
  });
});

describe('committed dist/', () => {
  test.each(ENVIRONMENT_NAMES)('dist/%s equals a fresh synth (run `npm run synth` and commit if this fails)', name => {
    const expected = new Map(renderEnvironment({ env: loadEnvironment(name), rollouts: loadRollouts(root, name) }).map(f => [f.path, f.content]));
    const actual = readTree(path.join(root, 'dist', name));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [file, content] of expected) expect([file, actual.get(file)]).toEqual([file, content]);
  });

  test('holds exactly the environments', () => {
    expect(fs.readdirSync(path.join(root, 'dist')).sort()).toEqual([...ENVIRONMENT_NAMES].sort());
  });
});

describe('synthesizeAll', () => {
  test('renders every environment into <dist>/<env>/ and leaves no staging directory behind', () => {
    const dir = tempDir();
    const dist = path.join(dir, 'dist');
    const count = synthesizeAll(dist, ENVIRONMENT_NAMES.map(n => () => fixtureInput(loadEnvironment(n))));
    const tree = readTree(dist);
    // what each environment renders to on its own, rendered once
    const expected = ENVIRONMENT_NAMES.flatMap(n => renderEnvironment(fixtureInput(loadEnvironment(n))).map(file => ({ env: n, file })));
    expect(count).toBe(expected.reduce((sum, { file }) => sum + file.objects, 0));
    expect([...tree.keys()].sort()).toEqual(expected.map(({ env, file }) => `${env}/${file.path}`).sort());
    for (const { env, file } of expected) expect(tree.get(`${env}/${file.path}`)).toBe(file.content);
    expect(fs.readdirSync(dir)).toEqual(['dist']);
    fs.rmSync(dir, { recursive: true });
  });

  test('a failing environment leaves the previous dist/ exactly as it was', () => {
    const dir = tempDir();
    const dist = path.join(dir, 'dist');
    synthesizeAll(dist, [() => fixtureInput(ENVIRONMENTS.local)]);
    fs.writeFileSync(path.join(dist, 'marker'), 'previous');
    const before = readTree(dist);
    expect(() => synthesizeAll(dist, [
      () => fixtureInput(ENVIRONMENTS.local),
      () => fixtureInput(loadEnvironment('prod', { prod: { ...ENVIRONMENTS.prod, grafana: { ...ENVIRONMENTS.prod.grafana, replicas: 0 } } })),
    ])).toThrow("'grafana.replicas' must be an integer from 1 to 10, got 0");
    expect(readTree(dist)).toEqual(before);
    expect(fs.readdirSync(dir)).toEqual(['dist']);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('replaceDirectory', () => {
  test('swaps the new tree in', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'old'), '1');
    fs.mkdirSync(path.join(dir, 'new'));
    fs.writeFileSync(path.join(dir, 'new', 'fresh'), '2');
    replaceDirectory(path.join(dir, 'dist'), path.join(dir, 'new'));
    expect([...readTree(path.join(dir, 'dist')).keys()]).toEqual(['fresh']);
    expect(fs.readdirSync(dir)).toEqual(['dist']);
    fs.rmSync(dir, { recursive: true });
  });

  test('puts the old tree back when the new one cannot be moved in', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'old'), '1');
    expect(() => replaceDirectory(path.join(dir, 'dist'), path.join(dir, 'missing'))).toThrow(/ENOENT/);
    expect(readTree(path.join(dir, 'dist'))).toEqual(new Map([['old', '1']]));
    fs.rmSync(dir, { recursive: true });
  });
});

describe('findRepoRoot', () => {
  test('finds the directory holding cdk8s.yaml from below it', () => {
    expect(findRepoRoot(path.join(root, 'lib', 'config'))).toBe(path.resolve(root));
  });

  test('fails outside the repository', () => {
    expect(() => findRepoRoot(os.tmpdir())).toThrow('no cdk8s.yaml at or above');
  });
});

describe('main.ts (what `cdk8s synth` runs)', () => {
  test('renders DEPLOY_ENV into $CDK8S_OUTDIR/<env>/, the same files as dist/<env>/', () => {
    const out = tempDir();
    const result = spawnSync('node', ['tools/run-bundled.cjs', 'main.ts'], {
      cwd: root, encoding: 'utf8', env: { ...process.env, DEPLOY_ENV: 'prod', CDK8S_OUTDIR: out },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readTree(path.join(out, 'prod'))).toEqual(readTree(path.join(root, 'dist', 'prod')));
    fs.rmSync(out, { recursive: true });
  });
});

describe('npm run synth (end to end, on a copy of the repository)', () => {
  let copy: string;
  let remove: () => void;

  beforeAll(() => {
    ({ dir: copy, remove } = repoCopy());
  });

  afterAll(() => remove());

  const npmSynth = () => spawnSync('npm', ['run', '-s', 'synth'], { cwd: copy, encoding: 'utf8' });

  test('reproduces the committed dist/ byte for byte', () => {
    const before = readTree(path.join(copy, 'dist'));
    const result = npmSynth();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^synthesized \d+ objects for local, prod into dist\/\n$/);
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
  });

  test('an invalid state file fails naming the file and the field, and leaves dist/ as it was', () => {
    const file = path.join(copy, 'rollout', 'prod', 'backend.yaml');
    const source = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, source.replace(/- 25\n/, '- 5\n'));
    const before = readTree(path.join(copy, 'dist'));
    const result = npmSynth();
    fs.writeFileSync(file, source);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("invalid rollout state rollout/prod/backend.yaml:\n  - 'steps' must be strictly increasing, got [10,5,50,100]");
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
  });

  test('an invalid environment value fails with the field, the value and what is allowed, and leaves dist/ as it was', () => {
    const file = path.join(copy, 'lib', 'config', 'environments.ts');
    const source = fs.readFileSync(file, 'utf8');
    const broken = source.replace(/replicas: 2,/, 'replicas: 0,');
    expect(broken).not.toBe(source);
    fs.writeFileSync(file, broken);
    fs.writeFileSync(path.join(copy, 'dist', 'local', 'observability', 'manifest.yaml'), 'edited by hand\n');
    const before = readTree(path.join(copy, 'dist'));
    const result = npmSynth();
    fs.writeFileSync(file, source);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('synth failed; dist/ is unchanged.');
    expect(result.stderr).toContain('invalid environment "prod":');
    expect(result.stderr).toContain("'grafana.replicas' must be an integer from 1 to 10, got 0");
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
    expect(fs.readdirSync(copy).filter(e => e.startsWith('.dist-'))).toEqual([]);
  });
});
