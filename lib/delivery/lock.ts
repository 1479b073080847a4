import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from './plan';
import { isRunning } from '../private/processes';

/** Who holds a lock: written into the lock file, so that a waiting run can name it and tell a dead holder. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** What the holder runs, for the message of a run that finds the lock taken. */
  readonly what: string;
  /** ISO time it took the lock. */
  readonly since: string;
}

/** A lock held by this process: release it when done (a killed process leaves it to the next run, which sees it dead). */
export interface Lock {
  readonly file: string;
  readonly release: () => void;
}

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /** What this run does, shown to a run that finds the lock taken. */
  readonly what: string;
  /**
   * How long to wait for a live holder, in milliseconds; 0 fails at once.
   * @default 0
   */
  readonly waitMs?: number;
}

const POLL_MS = 25;

/**
 * Takes the lock `file` (created with O_EXCL, so one process wins), waiting up to `waitMs` for a live holder. A lock
 * whose holder was a process of this host that no longer runs (killed, crashed) is taken over.
 *
 * @throws {@link UsageError} (code `busy`) naming the holder when it is still taken after `waitMs`
 */
export function acquireLock(file: string, options: LockOptions): Lock {
  const deadline = Date.now() + (options.waitMs ?? 0);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const me: LockHolder = { pid: process.pid, host: os.hostname(), what: options.what, since: new Date().toISOString() };
  for (;;) {
    if (tryCreate(file, me)) {
      let released = false;
      return {
        file,
        release: () => {
          if (released) return;
          released = true;
          // only ours: a lock taken over from us (we were thought dead) is not ours to remove
          if (holderOf(file)?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    }
    const holder = holderOf(file);
    if (holder === undefined ? isOldUnwritten(file) : isDead(holder)) {
      takeOverStale(file, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `${holder.what} (pid ${holder.pid} on ${holder.host}, since ${holder.since})` : 'a run that is starting';
      throw new UsageError(`another canary run holds ${path.basename(file)}: ${who}; nothing was changed, run again once it is done`, 'busy');
    }
    sleep(POLL_MS);
  }
}

/** Blocks the thread for `ms` milliseconds: the writes it guards are synchronous, and so is waiting for them. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Creates the lock file with our holder record in one step, false when it exists: the record is written to a file of
 * our own, then hard-linked into place (which fails when the lock exists), so a lock file is never seen empty.
 */
function tryCreate(file: string, me: LockHolder): boolean {
  const tmp = `${file}.${process.pid}-${Math.random().toString(16).slice(2)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(me));
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** The holder a lock file names; undefined when it is gone or unreadable (written by a run killed before it wrote). */
function holderOf(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof holder.pid === 'number' && typeof holder.host === 'string' ? holder as LockHolder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A lock file without a holder record (left by an older version, or a file system that lost its content) that is older
 * than a run needs to write one. A younger one is left alone.
 */
function isOldUnwritten(file: string): boolean {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat === undefined || Date.now() - stat.mtimeMs > 2_000;
}

/** A holder of this host whose process is gone. One of another host (a shared file system) is never taken for dead. */
function isDead(holder: LockHolder): boolean {
  return holder.host === os.hostname() && !isRunning(holder.pid);
}


/**
 * Removes a stale lock file. Two runs may find it stale at once: each moves it aside first, and a run that moved a
 * lock that is no longer the stale one (the other run took it meanwhile) puts it back.
 */
function takeOverStale(file: string, stale: LockHolder | undefined): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return;
  }
  const moved = holderOf(aside);
  // an unreadable file is the one found stale only if that one was unreadable too
  const same = moved === undefined ? stale === undefined : stale !== undefined && moved.pid === stale.pid && moved.since === stale.since;
  if (!same && !fs.existsSync(file)) fs.renameSync(aside, file);
  else fs.rmSync(aside, { force: true });
}
