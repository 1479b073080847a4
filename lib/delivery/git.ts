import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { withoutCredentials } from '../private/urls';

/** Runs git in `cwd` and returns its standard output; throws with git's own message when it fails. */
function git(cwd: string, args: readonly string[]): string {
  try {
    // trimEnd only: `git status --porcelain` lines may start with a space
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd();
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(withoutCredentials(`git ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`));
  }
}


/** Whether `cwd` is inside a git work tree. */
export function isRepository(cwd: string): boolean {
  try {
    return git(cwd, ['rev-parse', '--is-inside-work-tree']) === 'true';
  } catch {
    return false;
  }
}

/** The absolute path of `name` in the repository's git directory (`.git/<name>`, the common one in a worktree). */
export function gitPathOf(cwd: string, name: string): string {
  return path.resolve(cwd, git(cwd, ['rev-parse', '--git-path', name]));
}

/** Whether `file` (relative to the repository root) is in the commit HEAD points at. */
export function isCommitted(cwd: string, file: string): boolean {
  try {
    git(cwd, ['cat-file', '-e', `HEAD:${file}`]);
    return true;
  } catch {
    return false;
  }
}

/** A commit's hash as messages and reports show it: its first 7 characters. */
export function shortHash(commit: string): string {
  return commit.slice(0, 7);
}

/** The commit HEAD points at (full hash). */
export function headCommit(cwd: string): string {
  return git(cwd, ['rev-parse', 'HEAD']);
}

/**
 * The branch checked out.
 *
 * @throws when HEAD is detached
 */
export function currentBranch(cwd: string): string {
  return git(cwd, ['symbolic-ref', '--short', 'HEAD']);
}

/** Fetches `branch` of `remote` into its remote-tracking ref and returns the commit it points at. */
export function fetchBranch(cwd: string, remote: string, branch: string): string {
  git(cwd, ['fetch', '--quiet', '--no-tags', remote, `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`]);
  return git(cwd, ['rev-parse', `refs/remotes/${remote}/${branch}`]);
}

/** Whether `ancestor` is `commit` or one of its ancestors. */
export function isAncestor(cwd: string, ancestor: string, commit: string): boolean {
  try {
    git(cwd, ['merge-base', '--is-ancestor', ancestor, commit]);
    return true;
  } catch {
    return false;
  }
}

/** The files that differ between two commits. */
export function changedBetween(cwd: string, from: string, to: string): string[] {
  return git(cwd, ['diff', '--name-only', '--no-renames', from, to]).split('\n').filter(Boolean);
}

/** A commit's parents and message (as git stored it). */
export function commitOf(cwd: string, commit: string): { readonly parents: readonly string[]; readonly message: string } {
  const [parents, message] = git(cwd, ['log', '-1', '--format=%P%x00%B', commit]).split('\0');
  return { parents: parents.split(' ').filter(Boolean), message: message ?? '' };
}

/** What a push did: rejected (the branch moved, a hook refused, no access) with git's message. */
export type PushResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** Pushes HEAD to `branch` of `remote`, fast-forward only. */
export function pushHead(cwd: string, remote: string, branch: string): PushResult {
  try {
    git(cwd, ['push', '--quiet', remote, `HEAD:refs/heads/${branch}`]);
    return { ok: true };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

/**
 * Moves the checked-out branch to `commit`, updating the files that differ between HEAD and it, and keeping every other
 * change of the working tree (git refuses when a file it must update has changes of its own).
 */
export function resetKeep(cwd: string, commit: string): void {
  git(cwd, ['reset', '--quiet', '--keep', commit]);
}

/**
 * Puts `paths` (files and directories) back as they are at `commit`, in the index and the working tree: changes
 * undone, files added below them removed, files deleted restored.
 */
export function restorePaths(cwd: string, commit: string, paths: readonly string[]): void {
  if (paths.length === 0) return;
  git(cwd, ['reset', '--quiet', commit, '--', ...paths]);
  const tracked = git(cwd, ['ls-tree', '-r', '--name-only', commit, '--', ...paths]).split('\n').filter(Boolean);
  if (tracked.length > 0) git(cwd, ['checkout', '--quiet', commit, '--', ...tracked]);
  git(cwd, ['clean', '--quiet', '-d', '--force', '--', ...paths]);
}

/**
 * Commits exactly `paths` (new, changed and deleted files below them) as one commit, whatever else is staged. When
 * the commit fails (a hook, no identity), the paths are unstaged again.
 *
 * @returns the new commit (full hash)
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
  return headCommit(cwd);
}

/**
 * What `git status --porcelain` lists in `cwd`'s repository: changed, staged and untracked files (ignored ones are not
 * listed), one `XY path` entry each, the status letters first; empty when the working tree is clean.
 */
export function uncommittedChanges(cwd: string): string[] {
  return git(cwd, ['status', '--porcelain']).split('\n').filter(line => line !== '').map(line => line.trim());
}
