import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const root = path.join(__dirname, '..', '..');
/** A committer for the tests' commits, and no automatic maintenance after each of them. */
const CONFIG = { 'user.name': 'obs-canary tests', 'user.email': 'tests@obs-canary.invalid', 'maintenance.auto': 'false' };

/** A temporary copy of the repository, and how to remove it. */
export interface TemporaryRepo {
  readonly dir: string;
  /** Removes the directory without blocking the event loop. */
  readonly remove: () => Promise<void>;
}

/**
 * A copy of the repository in a temporary directory, for end-to-end tests of `npm run synth`, `npm run import` and the
 * `canary` CLI: what `git add --all` would take from the working tree (tracked files as they are now, and untracked
 * ones git does not ignore), with node_modules linked. What git ignores stays behind (`.tools/` alone is a Node.js
 * distribution of ~190 MB), so copying and removing take a fraction of the time.
 */
export function repoCopy(): TemporaryRepo {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-copy-'));
  // read-only in the repository: lists, never refreshes the index
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0').filter(Boolean);
  for (const file of files) {
    const from = path.join(root, file);
    // tracked, but deleted in the working tree
    if (!fs.existsSync(from)) continue;
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(from, path.join(dir, file));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return { dir, remove: removal(dir) };
}

/** A {@link repoCopy} that is a git repository of its own, with the copy as its one commit. */
export function repoSnapshot(): TemporaryRepo {
  const copy = repoCopy();
  const git = (...args: string[]) => execFileSync('git', args, { cwd: copy.dir, stdio: 'pipe' });
  git('init', '--quiet', '--initial-branch=main');
  fs.appendFileSync(path.join(copy.dir, '.git', 'config'), Object.entries(CONFIG).map(([key, value]) => {
    const [section, name] = key.split('.');
    return `[${section}]\n\t${name} = ${value}\n`;
  }).join(''));
  git('add', '--all');
  git('commit', '--quiet', '--message', 'initial');
  return copy;
}

/**
 * A `git clone` of a repository (such as a {@link repoSnapshot}) in a temporary directory: the same files and
 * history as its HEAD, node_modules link included, in ~50 ms and without blocking the event loop.
 */
export async function repoClone(source: string): Promise<TemporaryRepo> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'obs-canary-clone-'));
  const config = Object.entries(CONFIG).flatMap(([key, value]) => ['--config', `${key}=${value}`]);
  await promisify(execFile)('git', ['clone', '--quiet', ...config, source, dir]);
  return { dir, remove: removal(dir) };
}

function removal(dir: string): () => Promise<void> {
  return () => fs.promises.rm(dir, { recursive: true, force: true });
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
