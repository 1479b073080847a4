import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const home = path.resolve(__dirname, '..', '..');

/** `npm run checks` on a small project: a tsconfig, an ESLint config with a type-aware rule, and `files`. */
function checks(files: Readonly<Record<string, string>>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-checks-'));
  try {
    // the repository's packages, linked one by one: a link to its node_modules would put the build info the checks
    // write (node_modules/.cache) over the repository's own
    fs.mkdirSync(path.join(dir, 'node_modules'));
    for (const entry of fs.readdirSync(path.join(home, 'node_modules')).filter(e => e !== '.cache')) {
      fs.symlinkSync(path.join(home, 'node_modules', entry), path.join(dir, 'node_modules', entry));
    }
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', noEmit: true, types: [] },
      include: ['src/**/*.ts'],
    }));
    // a rule that needs type information, and no project of its own: only the checks' program can give it one
    fs.writeFileSync(path.join(dir, 'eslint.config.mjs'), [
      "import tseslint from 'typescript-eslint';",
      'export default tseslint.config({',
      "  files: ['**/*.ts'], extends: [tseslint.configs.base],",
      "  rules: { '@typescript-eslint/no-floating-promises': 'error' },",
      '});',
    ].join('\n'));
    fs.mkdirSync(path.join(dir, 'src'));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'src', name), text);
    const r = spawnSync(process.execPath, ['--require', path.join(home, 'tools', 'ts-hook.cjs'), path.join(home, 'scripts', 'checks.ts'), dir], { encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr, buildInfo: fs.existsSync(path.join(dir, 'node_modules', '.cache', 'tsc', 'tsconfig.tsbuildinfo')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('npm run checks: the type check and ESLint on one program', () => {
  // one project for both cases: each run builds a program (lib files included), some 3 s
  test('a type error and a type-aware lint error are both reported, and fail the checks; a clean file has nothing', () => {
    const r = checks({ 'ok.ts': 'export async function g(): Promise<number> {\n  return 1;\n}\n', 'bad.ts': 'export async function f(): Promise<void> {\n  Promise.resolve(1);\n  const n: number = \'one\';\n  void n;\n}\n' });
    expect(r.status).toBe(1);
    expect(r.out).toContain("Type 'string' is not assignable to type 'number'");
    // the rule needs type information: it runs on the checks' program
    expect(r.out).toMatch(/2:3 +error +Promises must be awaited.*@typescript-eslint\/no-floating-promises/);
    expect(r.out).toContain('checks failed: 1 type error(s), 1 lint error(s)');
    expect(r.out).not.toContain('ok.ts');
    // the project's own build info, for the next run
    expect(r.buildInfo).toBe(true);
  }, 60_000);
});
