import { execFileSync } from 'node:child_process';

/** Runs git in `cwd` and returns its standard output; throws with git's own message when it fails. */
function git(cwd: string, args: readonly string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
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
