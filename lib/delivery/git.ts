import { execFileSync } from 'node:child_process';

/** Runs git in `cwd` and returns its standard output; throws with git's own message when it fails. */
function git(cwd: string, args: readonly string[]): string {
  try {
    // trimEnd only: `git status --porcelain` lines may start with a space
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd();
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`git ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/**
 * Commits exactly `paths` (new, changed and deleted files below them) as one commit, whatever else is staged. When
 * the commit fails (a hook, no identity), the paths are unstaged again.
 *
 * @returns the new commit's abbreviated hash
 */
export function commitPaths(cwd: string, paths: readonly string[], message: string): string {
  git(cwd, ['add', '--all', '--', ...paths]);
  try {
    git(cwd, ['commit', '--quiet', '--message', message, '--', ...paths]);
  } catch (error) {
    // leave the index as it was, too: the caller puts the files back
    git(cwd, ['reset', '--quiet', '--', ...paths]);
    throw error;
  }
  return git(cwd, ['rev-parse', '--short', 'HEAD']);
}

/**
 * What `git status --porcelain` lists in `cwd`'s repository: changed, staged and untracked files (ignored ones are not
 * listed), one `XY path` entry each, the status letters first; empty when the working tree is clean.
 */
export function uncommittedChanges(cwd: string): string[] {
  return git(cwd, ['status', '--porcelain']).split('\n').filter(line => line !== '').map(line => line.trim());
}
