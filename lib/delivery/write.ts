import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvironmentName } from '../config/environment';
import { RolloutState } from '../rollout/state';
import { Rollouts, rolloutFile, writeRolloutState } from '../rollout/store';
import { Services } from '../services/catalog';
import { recoverSwaps, replaceDirectory, synthesizeEnvironment } from '../synth';
import { crashPoint } from '../private/crash-points';
import {
  changedBetween, commitOf, commitPaths, fetchBranch, gitPathOf, headCommit, isAncestor, isRepository, pushHead, resetKeep, restorePaths, shortHash,
  uncommittedChanges,
} from './git';
import { Lock, acquireLock } from './lock';
import { isRunning } from '../private/processes';
import { UsageError } from './plan';
import { Outcome } from './report';

/** Where a decision is published: a branch of a remote, whose state files are the lock. */
export interface PushTarget {
  readonly remote: string;
  readonly branch: string;
  /** The remote branch's commit this run read its state from (HEAD was at it). */
  readonly base: string;
}

/** One environment's dist/ to render, from the rollout state given (the files on disk with this run's changes). */
export interface Render {
  readonly env: EnvironmentName;
  readonly rollouts: Rollouts;
}

/** A change of state files (and the dist/ rendered from them) to write, commit and push as one. */
export interface WriteRequest {
  /** The repository root. */
  readonly root: string;
  /** Each state file to write, by environment. */
  readonly states: ReadonlyArray<{ readonly env: EnvironmentName; readonly state: RolloutState }>;
  /**
   * Each state file as this run read it (null: there was none). Another run that changed one meanwhile supersedes
   * this run's decision: it is dropped.
   */
  readonly read: Readonly<Record<string, string | null>>;
  /**
   * The environments to re-render, from the state files as they are on disk when called (under the lock, and again
   * on top of commits that landed on the remote meanwhile) with this run's states in place.
   */
  readonly renders: () => readonly Render[];
  /** The service files, as the run loaded them. */
  readonly services: Services;
  /** Commit the change with this message (null: write only). */
  readonly commitMessage: string | null;
  /** Push the commit; needs a commit message. */
  readonly push?: PushTarget;
}

/** What a write did. */
export interface WriteOutcome extends Outcome {
  /** The branch pushed to (`origin/main`), when pushed. */
  readonly pushed?: string;
}

/** How many times a push is rebuilt on commits of other services that landed meanwhile before the run gives up. */
const PUSH_ATTEMPTS = 5;

/** How long a run waits for another run's write on the same checkout. */
const WRITE_WAIT_MS = 120_000;

/** {@link controlDir} by root: asking git costs two processes, and a tick takes a lock per service. */
const controlDirs = new Map<string, string>();

/** The directory of the locks and the journal: inside `.git/` (never committed), else `.dist-canary/` (ignored). */
export function controlDir(root: string): string {
  let dir = controlDirs.get(root);
  if (dir === undefined) {
    dir = isRepository(root) ? gitPathOf(root, 'obs-canary') : path.join(root, '.dist-canary');
    controlDirs.set(root, dir);
  }
  return dir;
}

/** The lock of one service's decision in one environment: two runs for it never measure and decide at once. */
export function lockService(root: string, env: EnvironmentName, service: string, what: string): Lock {
  return acquireLock(path.join(controlDir(root), 'locks', `${env}--${service}.lock`), { what });
}

/** The lock of every write of the checkout (state files, dist/, the git index), held from the write to the push. */
function lockWrites(root: string, what: string): Lock {
  return acquireLock(path.join(controlDir(root), 'locks', 'write.lock'), { what, waitMs: WRITE_WAIT_MS });
}

/** What a write in progress records first, so that the next run can undo it if this one is killed. */
interface Journal {
  readonly pid: number;
  readonly host: string;
  readonly commit: boolean;
  /** The commit the current attempt builds on: HEAD when the run began, or the remote's tip it was made again on. */
  readonly head: string | null;
  /** The commit the current attempt made, once made. */
  readonly own: string | null;
  /**
   * The message of the commits it makes: a run killed inside `git commit`, after git moved HEAD and before the run
   * recorded the commit as {@link own}, is known by it.
   */
  readonly message?: string | null;
  /** Every commit HEAD was at or made by the run: recovery moves HEAD only from one of these. */
  readonly commits: readonly string[];
  /** Pushing to `<remote>/<branch>`. */
  readonly push?: { readonly remote: string; readonly branch: string };
  /** Each file written, with its content before (null: it did not exist). */
  readonly files: Readonly<Record<string, string | null>>;
  /** The dist/<env> directories re-rendered. */
  readonly dists: readonly string[];
  /** Those of them that existed before (write-only runs put them back from `backup`, and remove the others). */
  readonly existed: readonly string[];
  readonly backup: string | null;
}

function journalFile(root: string): string {
  return path.join(controlDir(root), 'journal.json');
}

/**
 * Puts the checkout back in a state the next run accepts after a run that was killed while writing: its journal says
 * what it had begun. Before its commit, every file it wrote is restored (from git, or from its copies when it was not
 * committing); after its commit but before its push, the unpublished commit is dropped (the decision never reached
 * the branch, and the next run decides again); a pushed commit stays. Then half-done swaps of dist/ are completed or
 * undone and dead runs' staging directories removed. Takes the write lock; a live run's journal is left alone.
 *
 * @throws {@link UsageError} when HEAD moved to a commit the killed run did not make: the checkout is left as it is,
 *   and the message says what to do
 */
export function recoverWrites(root: string): void {
  if (!fs.existsSync(journalFile(root)) && !hasLeftovers(root)) return;
  const lock = lockWrites(root, 'recovery of an interrupted write');
  try {
    recoverUnderLock(root);
  } finally {
    lock.release();
  }
}

/** Staging or backup directories, or swap markers, that a killed run left. */
function hasLeftovers(root: string): boolean {
  const dead = (dir: string): boolean => {
    try {
      return fs.readdirSync(dir).some(name => name.startsWith('.dist-'));
    } catch {
      return false;
    }
  };
  return dead(root) || dead(path.join(root, 'dist'));
}

function recoverUnderLock(root: string): void {
  const file = journalFile(root);
  if (fs.existsSync(file)) {
    const journal = JSON.parse(fs.readFileSync(file, 'utf8')) as Journal;
    // a journal of another host is a run on a shared file system: the write lock it held is ours now, so it is dead
    // or its host lost the lock; either way it writes no more
    if (journal.pid === process.pid || journal.host !== os.hostname() || !isRunning(journal.pid)) {
      undo(root, journal);
      fs.rmSync(file, { force: true });
    }
  }
  recoverSwaps(root);
  recoverSwaps(path.join(root, 'dist'));
  for (const name of fs.readdirSync(root).filter(n => /^\.dist-backup-\d+-/.test(n))) {
    const pid = Number(name.split('-')[2]);
    if (!isRunning(pid)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

/**
 * Undoes what a journal of a killed run says was begun (see {@link recoverWrites}): nothing once its commit is made
 * and, when it was pushing, published.
 */
function undo(root: string, journal: Journal): void {
  if (journal.commit && journal.own !== null && headCommit(root) === journal.own) {
    if (!journal.push || publishedOn(root, journal.own, journal.push)) return;
  }
  restore(root, journal);
}

/**
 * Puts back every file a write began to change, and drops its unpublished commit, moving HEAD back to the commit the
 * attempt built on. Only the run's own paths are restored and HEAD moves only from a commit the run was at or made
 * (`git reset --keep`, which keeps every other change of the working tree): what anyone else did is never touched.
 *
 * @throws {@link UsageError} when HEAD is at a commit the run did not make: nothing is changed
 */
function restore(root: string, journal: Journal): void {
  const paths = [...Object.keys(journal.files), ...journal.dists];
  if (journal.commit && journal.head !== null) {
    const head = headCommit(root);
    if (!journal.commits.includes(head) && !madeByAttempt(root, journal, head, paths)) {
      throw new UsageError(`a canary run (pid ${journal.pid}) was interrupted while writing ${paths.join(', ')}, and HEAD has moved since to `
        + `${shortHash(head)}, a commit it did not make: check git status and git log, put those paths back as you want them, then remove `
        + `${journalFile(root)}`);
    }
    // the run's own paths as HEAD has them, then HEAD back where the attempt began
    restorePaths(root, head, paths);
    if (head !== journal.head) resetKeep(root, journal.head);
    restorePaths(root, journal.head, paths);
    return;
  }
  for (const [file, content] of Object.entries(journal.files)) {
    if (content === null) fs.rmSync(path.join(root, file), { force: true });
    else fs.writeFileSync(path.join(root, file), content);
  }
  if (journal.backup !== null) restoreDists(root, journal);
}

/**
 * Whether `head` is the commit the journal's attempt was making when it was killed inside `git commit`: on the
 * attempt's base, with its message, changing only its paths.
 */
function madeByAttempt(root: string, journal: Journal, head: string, paths: readonly string[]): boolean {
  if (journal.message == null || journal.head === null) return false;
  const made = commitOf(root, head);
  const normal = (message: string): string => message.split('\n').map(line => line.trimEnd()).join('\n').replace(/\n{3,}/g, '\n\n').trim();
  return made.parents.length === 1 && made.parents[0] === journal.head && normal(made.message) === normal(journal.message)
    && changedBetween(root, journal.head, head).every(file => paths.some(p => file === p || file.startsWith(`${p}/`)));
}

/**
 * What a killed run left half-written, said for the commands that do not write and so do not put it back (`status`,
 * dry runs): undefined when no run was killed while writing.
 */
export function interruptedWrite(root: string): string | undefined {
  let journal: Journal;
  try {
    journal = JSON.parse(fs.readFileSync(journalFile(root), 'utf8')) as Journal;
  } catch {
    return undefined;
  }
  if (journal.host === os.hostname() && isRunning(journal.pid)) return undefined;
  return `a canary run (pid ${journal.pid}) was interrupted while writing ${[...Object.keys(journal.files), ...journal.dists].join(', ')}: `
    + 'what follows may show its half-written state; the next command that writes puts it back first';
}

/** Whether `commit` is on the remote branch (fetched now). */
function publishedOn(root: string, commit: string, push: { remote: string; branch: string }): boolean {
  try {
    return isAncestor(root, commit, fetchBranch(root, push.remote, push.branch));
  } catch {
    // unreachable remote: keep the commit rather than lose a decision that may be published
    return true;
  }
}

/**
 * Writes the state files and re-renders dist/ from them as one change, under the checkout's write lock: with a commit
 * message it is committed, with a push target pushed. When anything fails, every file it wrote is put back (and its
 * commit dropped), so the checkout is as the run found it.
 *
 * @throws {@link UsageError} (code `superseded`) when a state file it read changed meanwhile, on this checkout or on
 *   the remote branch, or (committing) the working tree is no longer clean: nothing of this run's decision is written
 *   or pushed
 */
export function writeChanges(request: WriteRequest): WriteOutcome {
  const { root } = request;
  const lock = lockWrites(root, `canary writing ${request.states.map(s => `${s.env}/${s.state.service}`).join(', ')}`);
  try {
    recoverUnderLock(root);
    crashPoint('locked');
    for (const [file, content] of Object.entries(request.read)) {
      if (readFile(root, file) !== content) {
        throw new UsageError(`${file} changed since this run read it (another run decided meanwhile); this decision was dropped and nothing `
          + 'was written; the next run decides from the new state', 'superseded');
      }
    }
    if (request.commitMessage !== null) {
      // another run without --commit may have written meanwhile: its files would be rendered into this commit
      const changes = uncommittedChanges(root);
      if (changes.length > 0) {
        throw new UsageError(`the working tree changed while this run decided (git status lists ${changes.join(', ')}): dist/ would be `
          + 'rendered from them; this decision was dropped and nothing was written', 'superseded');
      }
    }
    return writeUnderLock(request);
  } finally {
    lock.release();
  }
}

function readFile(root: string, file: string): string | null {
  try {
    return fs.readFileSync(path.join(root, file), 'utf8');
  } catch {
    return null;
  }
}

function writeUnderLock(request: WriteRequest): WriteOutcome {
  const { root, push } = request;
  const files = request.states.map(({ env, state }) => rolloutFile(env, state.service));
  const renders = request.renders();
  const dists = renders.map(r => `dist/${r.env}`);
  const changed = [...files, ...dists];
  const commit = request.commitMessage !== null;
  const backup = commit ? null : backUpDists(root, renders.map(r => r.env));
  const head = commit ? headCommit(root) : null;
  let journal: Journal = {
    pid: process.pid, host: os.hostname(), commit, head, own: null, commits: head ? [head] : [], message: request.commitMessage,
    ...(push ? { push: { remote: push.remote, branch: push.branch } } : {}),
    files: Object.fromEntries(files.map(f => [f, readFile(root, f)])), dists,
    existed: dists.filter(d => fs.existsSync(path.join(root, d))), backup,
  };
  writeJournal(root, journal);
  try {
    writeFiles(request, renders);
    if (!commit) {
      fs.rmSync(journalFile(root), { force: true });
      if (backup) fs.rmSync(path.join(root, backup), { recursive: true, force: true });
      return { dryRun: false, changed, commit: null };
    }
    const own = commitPaths(root, changed, request.commitMessage!);
    crashPoint('commit-made');
    journal = { ...journal, own, commits: [...journal.commits, own] };
    writeJournal(root, journal);
    crashPoint('committed');
    const published = push ? publish(request, push, changed, journal, next => {
      journal = next;
      writeJournal(root, journal);
    }) : own;
    fs.rmSync(journalFile(root), { force: true });
    return { dryRun: false, changed, commit: shortHash(published), ...(push ? { pushed: `${push.remote}/${push.branch}` } : {}) };
  } catch (error) {
    restore(root, journal);
    fs.rmSync(journalFile(root), { force: true });
    throw error;
  }
}

function writeJournal(root: string, journal: Journal): void {
  const file = journalFile(root);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(journal));
  fs.renameSync(tmp, file);
}

/** dist/<env>/ of each render first, from the states in memory (a failed synth writes no state file), then the state files. */
function writeFiles(request: WriteRequest, renders: readonly Render[]): void {
  for (const render of renders) synthesizeEnvironment(request.root, render.env, render.rollouts, request.services);
  for (const { env, state } of request.states) writeRolloutState(request.root, env, state);
  crashPoint('state-written');
}

/**
 * Pushes the commit. When the branch moved meanwhile: if the new commits touch a state file this run read, or
 * anything but other state files and dist/ (code, service files, configuration that would render differently), the
 * decision is superseded and dropped; otherwise it is made again on top of them (the state files as written, dist/
 * rendered anew, since a text merge of dist/ is no synth) and pushed, up to {@link PUSH_ATTEMPTS} times. Each attempt
 * is journaled before HEAD moves.
 *
 * @returns the commit pushed (full hash)
 */
function publish(request: WriteRequest, push: PushTarget, changed: readonly string[], first: Journal, record: (journal: Journal) => void): string {
  const { root } = request;
  let journal = first;
  let base = push.base;
  for (let attempt = 1; ; attempt++) {
    const result = pushHead(root, push.remote, push.branch);
    const head = headCommit(root);
    if (result.ok) {
      crashPoint('pushed');
      return head;
    }
    const tip = fetchBranch(root, push.remote, push.branch);
    // the push landed, and only its answer was lost
    if (tip === head) return head;
    if (tip === base || !isAncestor(root, base, tip)) {
      throw new Error(`git push to ${push.remote}/${push.branch} failed: ${result.message}; nothing was pushed`);
    }
    const landed = changedBetween(root, base, tip);
    const ours = Object.keys(request.read);
    const conflicting = landed.filter(file => ours.includes(file) || !(file.startsWith('rollout/') || file.startsWith('dist/')));
    if (conflicting.length > 0) {
      throw new UsageError(`${push.remote}/${push.branch} moved while this run decided, and its new commits change ${conflicting.slice(0, 5).join(', ')}`
        + `${conflicting.length > 5 ? ', …' : ''}: this decision was dropped and nothing was pushed; the next run decides from the new state`, 'superseded');
    }
    if (attempt >= PUSH_ATTEMPTS) throw new Error(`${push.remote}/${push.branch} kept moving: ${PUSH_ATTEMPTS} pushes rejected; nothing was pushed`);
    // again on top of the other services' decisions: their state files are on disk after the reset
    journal = { ...journal, head: tip, own: null, commits: [...journal.commits, tip] };
    record(journal);
    resetKeep(root, tip);
    base = tip;
    const renders = request.renders();
    if (renders.map(r => `dist/${r.env}`).join() !== journal.dists.join()) {
      // an environment became complete or incomplete meanwhile (an init landed): the commit would not say what it holds
      throw new UsageError(`${push.remote}/${push.branch} moved while this run decided, and what it renders changed: this decision was dropped and `
        + 'nothing was pushed; run it again', 'superseded');
    }
    writeFiles(request, renders);
    const own = commitPaths(root, changed, request.commitMessage!);
    journal = { ...journal, own, commits: [...journal.commits, own] };
    record(journal);
  }
}

/**
 * A copy of `dist/<env>/` of each environment, beside `dist/`, to put back when a write that is not committed fails
 * (without a commit, git has no copy of what the working tree held).
 *
 * @returns the copy's directory, relative to the root
 */
function backUpDists(root: string, envs: readonly EnvironmentName[]): string {
  // `.dist-*` is ignored by git, on the same file system as dist/
  const dir = `.dist-backup-${process.pid}-${randomBytes(4).toString('hex')}`;
  for (const env of envs) {
    const from = path.join(root, 'dist', env);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(root, dir, env), { recursive: true });
  }
  return dir;
}

function restoreDists(root: string, journal: Journal): void {
  const backup = journal.backup!;
  for (const dist of journal.dists) {
    const saved = path.join(root, backup, path.basename(dist));
    const target = path.join(root, dist);
    // a copy still there is put back; without one, a dist/<env> that existed is already back (a recovery that was
    // itself interrupted), and one that did not is removed
    if (fs.existsSync(saved)) replaceDirectory(target, saved);
    else if (!journal.existed.includes(dist)) fs.rmSync(target, { recursive: true, force: true });
  }
  fs.rmSync(path.join(root, backup), { recursive: true, force: true });
}
