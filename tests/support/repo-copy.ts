import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const SKIP = new Set(['node_modules', '.git', '.tools', 'build', 'cdk8s.out', 'coverage', 'test-results', 'playwright-report']);

/**
 * A copy of the repository's working tree in a temporary directory, with node_modules linked, for end-to-end tests of
 * `npm run synth` and the `canary` CLI. With `git`, the copy is a fresh repository with one commit.
 */
export function repoCopy(options: { git?: boolean } = {}): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-copy-'));
  for (const entry of fs.readdirSync(root)) {
    if (!SKIP.has(entry) && !entry.startsWith('.dist-')) fs.cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  if (options.git) {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
    git('init', '--quiet', '--initial-branch=main');
    git('config', 'user.name', 'obs-canary tests');
    git('config', 'user.email', 'tests@obs-canary.invalid');
    git('add', '--all');
    git('commit', '--quiet', '--message', 'initial');
  }
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Every file below `dir`, relative path → content. */
export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.set(path.relative(dir, full), fs.readFileSync(full, 'utf8'));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}
