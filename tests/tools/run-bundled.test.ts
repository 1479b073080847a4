import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * tools/run-bundled.cjs on checkouts of a two-file program that share one node_modules (as the tests' copies of the
 * repository do): each run prints what its own sources say, and a checkout whose sources match another's runs the
 * bundle that one built.
 */
describe('tools/run-bundled.cjs', () => {
  const repo = path.join(__dirname, '..', '..');
  let base: string;
  let cache: string;

  beforeAll(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-run-bundled-'));
    fs.mkdirSync(path.join(base, 'node_modules'));
    fs.symlinkSync(path.join(repo, 'node_modules', 'esbuild'), path.join(base, 'node_modules', 'esbuild'));
    cache = path.join(base, 'node_modules', '.cache', 'obs-canary-bundles');
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  /** A checkout: the runner, an entry point that imports a greeting, and the shared node_modules. */
  function checkout(name: string, greeting: string): string {
    const dir = path.join(base, name);
    fs.mkdirSync(path.join(dir, 'tools'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'src'));
    fs.copyFileSync(path.join(repo, 'tools', 'run-bundled.cjs'), path.join(dir, 'tools', 'run-bundled.cjs'));
    fs.writeFileSync(path.join(dir, 'src', 'greeting.ts'), `export const greeting: string = '${greeting}';\n`);
    fs.writeFileSync(path.join(dir, 'src', 'main.ts'),
      "import { greeting } from './greeting';\nconsole.log(`${greeting} ${process.argv.slice(2).join(' ')} ${require('node:path').basename(process.argv[1])}`);\n");
    fs.symlinkSync(path.join(base, 'node_modules'), path.join(dir, 'node_modules'));
    return dir;
  }
  const run = (dir: string, ...args: string[]) =>
    execFileSync(process.execPath, ['tools/run-bundled.cjs', 'src/main.ts', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  const bundles = () => fs.readdirSync(cache).filter(f => f.endsWith('.js')).sort();

  test('runs the entry point with its arguments, as itself', () => {
    const a = checkout('a', 'hello');
    expect(run(a, 'x', 'y')).toBe('hello x y main.ts');
    expect(bundles()).toHaveLength(1);
    expect(run(a, 'z')).toBe('hello z main.ts');
    expect(bundles()).toHaveLength(1);
  });

  test('a second checkout with the same sources runs the bundle the first one built', () => {
    const before = bundles();
    const b = checkout('b', 'hello');
    expect(run(b)).toBe('hello  main.ts');
    expect(bundles()).toEqual(before);
  });

  test('checkouts whose sources differ each run their own, in any order', () => {
    const c = checkout('c', 'bonjour');
    expect(run(c)).toBe('bonjour  main.ts');
    expect(run(path.join(base, 'a'))).toBe('hello  main.ts');
    expect(run(c)).toBe('bonjour  main.ts');
    expect(bundles()).toHaveLength(2);
  });

  test('a changed input is rebuilt; without the checkout\'s record, its content alone decides', () => {
    const a = path.join(base, 'a');
    fs.writeFileSync(path.join(a, 'src', 'greeting.ts'), "export const greeting: string = 'HELLO';\n");
    expect(run(a)).toBe('HELLO  main.ts');
    // the same size, and the mtime put back: only the content tells
    const file = path.join(a, 'src', 'greeting.ts');
    const { mtime } = fs.statSync(file);
    fs.writeFileSync(file, "export const greeting: string = 'HOLA!';\n");
    fs.utimesSync(file, mtime, mtime);
    fs.rmSync(path.join(cache, fs.readdirSync(cache).find(f => f.startsWith('src-main-') && f.endsWith('.inputs.json')
      && JSON.parse(fs.readFileSync(path.join(cache, f), 'utf8')).entry === path.join(a, 'src', 'main.ts'))!));
    expect(run(a)).toBe('HOLA!  main.ts');
  });

  test('an input that is gone is rebuilt without it', () => {
    const b = path.join(base, 'b');
    fs.writeFileSync(path.join(b, 'src', 'main.ts'), "console.log('alone');\n");
    fs.rmSync(path.join(b, 'src', 'greeting.ts'));
    expect(run(b)).toBe('alone');
  });
});
