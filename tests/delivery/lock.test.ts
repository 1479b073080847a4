import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireLock } from '../../lib/delivery/lock';
import { UsageError } from '../../lib/delivery/plan';
import { recoverSwaps } from '../../lib/synth';

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

describe('acquireLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('one holder at a time: a second run is refused (busy), naming the holder; released, the lock is free again', () => {
    const file = path.join(dir, 'locks', 'local--gateway.lock');
    const lock = acquireLock(file, { what: 'canary advance local/gateway' });
    let error: unknown;
    try {
      acquireLock(file, { what: 'another' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ code: 'busy' });
    expect((error as Error).message).toContain(`canary advance local/gateway (pid ${process.pid} on ${os.hostname()}`);
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
    acquireLock(file, { what: 'again' }).release();
  });

  test('waits for a live holder up to waitMs', () => {
    const file = path.join(dir, 'write.lock');
    acquireLock(file, { what: 'first' });
    const start = Date.now();
    expect(() => acquireLock(file, { what: 'second', waitMs: 200 })).toThrow(/another canary run holds write.lock/);
    expect(Date.now() - start).toBeGreaterThanOrEqual(190);
  });

  test('a lock whose holder was killed is taken over', () => {
    const file = path.join(dir, 'write.lock');
    fs.writeFileSync(file, JSON.stringify({ pid: deadPid(), host: os.hostname(), what: 'killed', since: '2026-01-01T00:00:00Z' }));
    const lock = acquireLock(file, { what: 'next' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, what: 'next' });
    lock.release();
  });

  test('a holder on another host is never taken for dead; an empty lock file is, once it is old', () => {
    const file = path.join(dir, 'write.lock');
    fs.writeFileSync(file, JSON.stringify({ pid: deadPid(), host: 'elsewhere', what: 'remote', since: '2026-01-01T00:00:00Z' }));
    expect(() => acquireLock(file, { what: 'next' })).toThrow(/remote \(pid \d+ on elsewhere/);
    fs.writeFileSync(file, '');
    expect(() => acquireLock(file, { what: 'next' })).toThrow(/a run that is starting/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    acquireLock(file, { what: 'next' }).release();
  });
});

describe('recoverSwaps: a synth killed between its two renames', () => {
  test('the new tree is put in place when the old one was moved aside; the dead run\'s leftovers go, a live run\'s stay', () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-swap-'));
    try {
      const pid = deadPid();
      const target = path.join(parent, 'dist');
      const staging = path.join(parent, `.dist-${pid}-0a0b0c0d`);
      fs.mkdirSync(path.join(staging, 'local'), { recursive: true });
      fs.writeFileSync(path.join(staging, 'local', 'manifest.yaml'), 'new\n');
      fs.mkdirSync(`${staging}-old`);
      fs.writeFileSync(path.join(`${staging}-old`, 'old.yaml'), 'old\n');
      fs.writeFileSync(`${staging}.swap`, JSON.stringify({ target }));
      const live = path.join(parent, `.dist-${process.pid}-01020304`);
      fs.mkdirSync(live);
      recoverSwaps(parent);
      expect(fs.readFileSync(path.join(target, 'local', 'manifest.yaml'), 'utf8')).toBe('new\n');
      expect(fs.readdirSync(parent).sort()).toEqual(['dist', path.basename(live)].sort());
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });
});
