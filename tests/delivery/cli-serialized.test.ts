import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CliEnvironment, CliIo, runCli } from '../../lib/delivery/cli';
import { StubServer, StubRequest, StubResponse } from '../apps/support/stub-server';
import { repoClone, repoSnapshot } from '../support/repo-copy';

/**
 * Gate decisions serialized through the remote branch and a lock per checkout, crash-safe and secret-free, end to end:
 * a bare repository is the remote, clones of it are the checkouts (a CronJob's, a workflow's, a person's terminal),
 * a stub answers as Prometheus, and the real `canary` command runs where the process matters (concurrency, kill -9).
 */
const IMAGE = 'ghcr.io/example/obs-canary-gateway:0.2.0';
const NOW = new Date('2026-11-01T12:00:00Z');
/** Made at run time: a literal would be found in this very file of the checkout. */
const PASSWORD = `pr0m-${randomBytes(6).toString('hex')}/S3cret`;
const root = path.join(__dirname, '..', '..');

/** Prometheus as the gate sees it while a step applies: the cluster runs it (any series answers yes). */
const APPLIED: StubResponse = { status: 200, body: { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, '1'] }] } } };

/** Every file below `dir`, git's objects and node_modules aside (a symbolic link to the repository's). */
function filesBelow(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(entry => entry.isFile() && !/(^|\/)(node_modules|\.git\/objects)(\/|$)/.test(path.relative(dir, entry.parentPath)))
    .map(entry => path.join(entry.parentPath, entry.name));
}

interface Checkout {
  readonly dir: string;
  readonly git: (...args: string[]) => string;
  /** The CLI in this process. */
  readonly cli: (argv: readonly string[], env?: CliEnvironment) => Promise<{ code: number; stdout: string; stderr: string }>;
  /** The real command, as a process. */
  readonly spawn: (argv: readonly string[], env?: Record<string, string>) => Promise<{ code: number; stdout: string; stderr: string }>;
}

describe('canary decisions: serialized, crash-safe, secret-free', () => {
  let source: { dir: string; remove: () => Promise<void> };
  let remote: string;
  let prometheus: StubServer;
  let answer: (request: StubRequest) => Promise<StubResponse>;
  /** The remote's commit with gateway's canary in flight (made once, by the first test that needs it). */
  let inFlight: string | undefined;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    source = repoSnapshot();
    remote = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-remote-'));
    execFileSync('git', ['clone', '--quiet', '--bare', source.dir, remote]);
    prometheus = await StubServer.start(request => answer(request));
  });
  afterAll(async () => {
    await prometheus.close();
    await Promise.all([source.remove(), fs.promises.rm(remote, { recursive: true, force: true }), ...cleanups.map(c => c())]);
  });
  beforeEach(() => {
    answer = async () => APPLIED;
  });

  /** A fresh clone of the remote as it is now. */
  async function checkout(): Promise<Checkout> {
    const clone = await repoClone(remote);
    cleanups.push(clone.remove);
    const { dir } = clone;
    if (!fs.existsSync(path.join(dir, 'node_modules'))) fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
    const cli = async (argv: readonly string[], env: CliEnvironment = {}) => {
      let stdout = '';
      let stderr = '';
      const io: CliIo = {
        cwd: dir, stdout: t => (stdout += t), stderr: t => (stderr += t), now: () => NOW, env: { prometheusUrl: prometheus.url, ...env },
      };
      const code = await runCli(argv, io);
      return { code, stdout, stderr };
    };
    const spawn = async (argv: readonly string[], env: Record<string, string> = {}) => {
      try {
        const { stdout, stderr } = await promisify(execFile)('node', [path.join(dir, 'bin', 'canary.cjs'), ...argv], {
          cwd: dir, env: { ...process.env, PROMETHEUS_URL: prometheus.url, ...env }, encoding: 'utf8',
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; signal?: string; stdout: string; stderr: string };
        return { code: e.signal === 'SIGKILL' ? 137 : e.code ?? 1, stdout: e.stdout, stderr: e.stderr };
      }
    };
    return { dir, git, cli, spawn };
  }

  const remoteHead = (): string => execFileSync('git', ['rev-parse', 'refs/heads/main'], { cwd: remote, encoding: 'utf8' }).trim();
  const remoteFile = (file: string): string => execFileSync('git', ['show', `main:${file}`], { cwd: remote, encoding: 'utf8' });
  const STATE = 'rollout/local/gateway.yaml';

  /** A canary of `service` started on the remote, at weight 0 and not yet observed applied; returns the remote's head. */
  async function startCanary(service: string, image: string): Promise<string> {
    const a = await checkout();
    const started = await a.cli(['start', '--service', service, '--image', image, '--commit', '--push', '--json']);
    expect([started.code, started.stderr]).toEqual([0, '']);
    return remoteHead();
  }

  /** The remote's branch back at the commit that started gateway's canary, whatever the test before did. */
  async function canaryInFlight(): Promise<void> {
    inFlight ??= await startCanary('gateway', IMAGE);
    execFileSync('git', ['update-ref', 'refs/heads/main', inFlight], { cwd: remote });
  }

  test('two concurrent advance runs on one checkout: exactly one decision, a clean tree', async () => {
    await canaryInFlight();
    const c = await checkout();
    const head = c.git('rev-parse', 'HEAD');
    // Prometheus answers the run that holds the lock only once the other has exited: both are in flight together,
    // however late the machine starts the second (a bound under the query timeout, should the lock fail to hold)
    let oneExited!: () => void;
    const exited = new Promise<void>(resolve => { oneExited = resolve; });
    answer = async () => {
      await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 8000))]);
      return APPLIED;
    };
    const runs = await Promise.all([1, 2].map(() => c.spawn(['advance', '--service', 'gateway', '--commit', '--json']).then(r => (oneExited(), r))));
    const codes = runs.map(r => r.code).sort();
    // one decided (the step observed applied: a hold, 3), the other found the service busy (2) and changed nothing
    expect(codes).toEqual([2, 3]);
    const refused = runs.find(r => r.code === 2)!;
    expect(JSON.parse(refused.stdout).error.code).toBe('busy');
    expect(c.git('rev-list', '--count', `${head}..HEAD`)).toBe('1');
    expect(c.git('status', '--porcelain', '--ignored', '--', 'rollout', 'dist')).toBe('');
    expect(fs.readdirSync(path.join(c.dir, '.git', 'obs-canary', 'locks'))).toEqual([]);
  });

  test('a superseded decision exits 2 and pushes nothing: the remote state file changed while it decided', async () => {
    await canaryInFlight();
    const late = await checkout();
    const early = await checkout();
    const before = late.git('rev-parse', 'HEAD');
    // while `late` waits for Prometheus, `early` decides and pushes
    answer = async () => {
      answer = async () => APPLIED;
      expect((await early.cli(['rollback', '--service', 'gateway', '--reason', 'by hand', '--commit', '--push'])).code).toBe(0);
      return APPLIED;
    };
    const pushed = remoteHead();
    const result = await late.cli(['advance', '--service', 'gateway', '--commit', '--push', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error).toMatchObject({ code: 'superseded' });
    expect(JSON.parse(result.stdout).error.message).toContain(STATE);
    // the remote has the roll back and nothing of the late run; the late checkout is as it was
    expect(remoteHead()).not.toBe(pushed);
    expect(remoteFile(STATE)).toContain('rolling-back');
    expect(late.git('rev-parse', 'HEAD')).toBe(before);
    expect(late.git('status', '--porcelain')).toBe('');
    // run again without pulling: its checkout is behind the branch, so it decides nothing (superseded, exit 2)
    const stale = await late.cli(['advance', '--service', 'gateway', '--commit', '--push', '--json']);
    expect([stale.code, JSON.parse(stale.stdout).error.code]).toEqual([2, 'superseded']);
    // a dry run exits as the real run would
    const dry = await late.cli(['advance', '--service', 'gateway', '--commit', '--push', '--dry-run', '--json']);
    expect([dry.code, JSON.parse(dry.stdout).error.code]).toEqual([2, 'superseded']);
    expect(JSON.parse(stale.stdout).error.message).toMatch(/^origin\/main has moved on since this checkout/);
    // a commit of its own that is not on the branch: push it first
    fs.writeFileSync(path.join(late.dir, 'NOTES.md'), 'mine\n');
    late.git('add', 'NOTES.md');
    late.git('commit', '--quiet', '-m', 'my notes');
    const ahead = await late.cli(['advance', '--service', 'gateway', '--commit', '--push', '--json']);
    expect([ahead.code, JSON.parse(ahead.stdout).error.code]).toEqual([2, 'usage']);
    expect(JSON.parse(ahead.stdout).error.message).toMatch(/--push needs HEAD at origin\/main/);
  });

  test('another service\'s decision that landed meanwhile: the decision is made again on top of it, dist/ rendered anew, and pushed', async () => {
    await canaryInFlight();
    const gate = await checkout();
    const other = await checkout();
    answer = async () => {
      answer = async () => APPLIED;
      expect((await other.cli(['start', '--service', 'backend', '--image', 'ghcr.io/example/obs-canary-backend:0.2.0', '--commit', '--push'])).code).toBe(0);
      return APPLIED;
    };
    const result = await gate.cli(['advance', '--service', 'gateway', '--commit', '--push', '--json']);
    // a hold that writes its history: gateway's smoke checks have no URL here
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ decision: 'hold', pushed: 'origin/main' });
    expect(gate.git('rev-parse', 'HEAD')).toBe(remoteHead());
    expect(gate.git('status', '--porcelain')).toBe('');
    // both decisions in the remote's state and in its dist/, which is a synth of that state
    expect(remoteFile(STATE)).toContain('smoke checks not run');
    expect(remoteFile('rollout/local/backend.yaml')).toContain('obs-canary-backend:0.2.0');
    const manifest = remoteFile('dist/local/apps/manifest.yaml');
    expect(manifest).toContain('obs-canary-backend:0.2.0');
    expect(manifest).toContain(IMAGE);
  });

  // commit-made: killed inside git commit, after git moved HEAD and before the run recorded its commit
  test.each(['locked', 'staged', 'swapping', 'swapped', 'state-written', 'commit-made', 'committed', 'pushed'])(
    'kill -9 at %s: the next run recovers, and the remote has the decision once or not at all', async point => {
      await canaryInFlight();
      const c = await checkout();
      const before = remoteHead();
      const killed = await c.spawn(['rollback', '--service', 'gateway', '--commit', '--push'], { CANARY_CRASH_AT: point });
      expect(killed.code).toBe(137);
      const published = remoteHead() !== before;
      expect(published).toBe(point === 'pushed');
      // status writes nothing, so it puts nothing back: it says what it may be showing (killed before it began to
      // write, there is nothing to say)
      const status = await c.cli(['status']);
      const warning = /^canary: warning: a canary run \(pid \d+\) was interrupted while writing rollout\/local\/gateway.yaml, dist\/local: /;
      expect([status.code, status.stderr]).toEqual([0, point === 'locked' ? '' : expect.stringMatching(warning)]);
      // nor does a dry run
      const dryRun = await c.cli(['rollback', '--service', 'gateway', '--dry-run']);
      expect(dryRun.stderr.startsWith('canary: warning: a canary run')).toBe(point !== 'locked');
      // the next run accepts the checkout: it puts back what the killed run left, then decides from the branch's state:
      // the roll back again when it never reached the branch, else its second half (the canary removed; --force, since
      // no gate observed the route in between)
      const next = await c.cli(['rollback', '--service', 'gateway', '--force', '--commit', '--push', '--json']);
      expect([next.code, next.stderr]).toEqual([0, '']);
      expect(JSON.parse(next.stdout)).toMatchObject({ fromWeight: 0, toWeight: 0, pushed: 'origin/main' });
      expect(c.git('status', '--porcelain')).toBe('');
      expect(c.git('rev-parse', 'HEAD')).toBe(remoteHead());
      expect(fs.existsSync(path.join(c.dir, 'dist', 'local', 'apps', 'manifest.yaml'))).toBe(true);
      expect(fs.readdirSync(c.dir).filter(name => name.startsWith('.dist-'))).toEqual([]);
      expect(remoteFile(STATE).includes('rolling-back')).toBe(!published);
      // one roll back commit on the remote, not two: then its end when the killed run's had landed
      const subjects = execFileSync('git', ['log', '--format=%s', `${before}..main`], { cwd: remote, encoding: 'utf8' }).trim().split('\n');
      expect(subjects).toHaveLength(published ? 2 : 1);
      expect(subjects.filter(subject => subject.includes('rollback'))).toHaveLength(published ? 2 : 1);
      expect((await c.cli(['status'])).stderr).toBe('');
    });

  test('a run killed after its commit, then a commit of someone else: the next run touches nothing and says what to do', async () => {
    await canaryInFlight();
    const c = await checkout();
    expect((await c.spawn(['rollback', '--service', 'gateway', '--commit', '--push'], { CANARY_CRASH_AT: 'committed' })).code).toBe(137);
    fs.writeFileSync(path.join(c.dir, 'NOTES.md'), 'mine\n');
    c.git('add', 'NOTES.md');
    c.git('commit', '--quiet', '-m', 'my notes');
    const mine = c.git('rev-parse', 'HEAD');
    fs.appendFileSync(path.join(c.dir, 'README.md'), 'an edit of mine\n');
    const next = await c.cli(['status']);
    expect(next.code).toBe(0);
    const refused = await c.cli(['rollback', '--service', 'gateway', '--commit', '--json']);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout).error.message)
      .toMatch(/was interrupted while writing rollout\/local\/gateway.yaml, dist\/local, and HEAD has moved since/);
    expect(c.git('rev-parse', 'HEAD')).toBe(mine);
    expect(fs.readFileSync(path.join(c.dir, 'README.md'), 'utf8')).toMatch(/an edit of mine\n$/);
  });

  test('a file changed while the run decided: the decision is dropped (exit 2), the change is kept, nothing is committed', async () => {
    await canaryInFlight();
    const c = await checkout();
    const head = c.git('rev-parse', 'HEAD');
    answer = async () => {
      answer = async () => APPLIED;
      fs.appendFileSync(path.join(c.dir, 'README.md'), 'edited meanwhile\n');
      return APPLIED;
    };
    const result = await c.cli(['advance', '--service', 'gateway', '--commit', '--push', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error).toMatchObject({
      code: 'superseded', message: expect.stringContaining('the working tree changed while this run decided'),
    });
    expect(c.git('rev-parse', 'HEAD')).toBe(head);
    expect(c.git('status', '--porcelain')).toBe('M README.md');
  });

  test('a PROMETHEUS_URL with a password: sent as basic auth, and in no file, commit or output', async () => {
    await canaryInFlight();
    const c = await checkout();
    const summary = path.join(c.dir, '..', `summary-${path.basename(c.dir)}.md`);
    cleanups.push(() => fs.promises.rm(summary, { force: true }));
    const url = new URL(prometheus.url);
    url.username = 'gate';
    url.password = PASSWORD;
    const result = await c.cli(['advance', '--service', 'gateway', '--commit', '--push', '--json'], { prometheusUrl: url.toString(), stepSummaryFile: summary });
    expect(result.code).toBe(3);
    expect(prometheus.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from(`gate:${PASSWORD}`).toString('base64')}`);
    // Prometheus refuses: the hold reason quotes the answer and the URL, never the password
    answer = async () => ({ status: 401, body: { status: 'error', error: `bad password ${PASSWORD}` } });
    const refused = await c.cli(['advance', '--service', 'gateway', '--commit', '--push', '--json', '--settle', '0s', '--window', '1s'],
      { prometheusUrl: url.toString(), stepSummaryFile: summary, prometheusHeaders: '{"X-Scope-OrgID": "tenant-1"}' });
    expect(refused.code).toBe(3);
    expect(prometheus.requests.at(-1)!.headers['x-scope-orgid']).toBe('tenant-1');
    const everything = [
      result.stdout, result.stderr, refused.stdout, refused.stderr, fs.readFileSync(summary, 'utf8'),
      c.git('log', '--all', '--format=%H%n%B'), remoteFile(STATE),
      ...filesBelow(c.dir).map(file => fs.readFileSync(file, 'utf8')),
    ].join('\n');
    expect(everything).toContain('[redacted]');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(encodeURIComponent(PASSWORD));
    expect(everything).not.toContain(Buffer.from(`gate:${PASSWORD}`).toString('base64'));
    // nor in any object git holds (every file of every commit, each content once, and the commits), on the remote either
    for (const dir of [c.dir, remote]) {
      const objects = execFileSync('git', ['cat-file', '--batch-all-objects', '--batch'], { cwd: dir, maxBuffer: 1 << 30 });
      expect(objects.length).toBeGreaterThan(1_000_000);
      expect(objects.includes(PASSWORD)).toBe(false);
    }
  });

  test('the webhook gets one message per decision, none for a plain hold; a dead webhook changes no decision', async () => {
    const received: unknown[] = [];
    const webhook = await StubServer.start(async ({ body }) => {
      received.push(JSON.parse(body));
      return { status: 200, body: 'ok' };
    });
    try {
      await canaryInFlight();
      const c = await checkout();
      const env = { webhookUrl: `${webhook.url}/services/T000/B000/${PASSWORD}` };
      // and a step summary that cannot be written (a directory) changes no decision either
      const held = await c.cli(['advance', '--service', 'gateway', '--commit', '--push'], { ...env, stepSummaryFile: c.dir });
      expect([held.code, held.stderr]).toEqual([3, expect.stringContaining('canary: the step summary was not written (EISDIR')]);
      expect(held.stderr).toContain('the decision stands');
      expect(received).toHaveLength(0);
      const rollback = await c.cli(['rollback', '--service', 'gateway', '--reason', 'bad canary', '--commit', '--push'], env);
      expect(rollback.code).toBe(0);
      expect(received).toHaveLength(1);
      expect(JSON.stringify(received[0])).toContain('gateway');
      await webhook.close();
      const removed = await c.cli(['advance', '--service', 'gateway', '--commit', '--push'], env);
      expect(removed.code).toBe(0);
      expect(removed.stderr).toMatch(/notification was not delivered/);
      expect(removed.stderr).not.toContain(PASSWORD);
    } finally {
      await webhook.close().catch(() => undefined);
    }
  });

  test('advance --all: every service in flight gated in one run, one commit, one push; --scheduled leaves a cluster loop alone', async () => {
    await canaryInFlight();
    await startCanary('backend', 'ghcr.io/example/obs-canary-backend:0.3.0');
    const c = await checkout();
    const before = c.git('rev-parse', 'HEAD');
    const scheduled = await c.cli(['advance', '--all', '--scheduled', '--commit', '--push', '--json']);
    expect(scheduled.code).toBe(0);
    expect(JSON.parse(scheduled.stdout).skipped).toMatch(/runs in the cluster \(delivery.loop: cluster\)/);
    const result = await c.cli(['advance', '--all', '--commit', '--push', '--json']);
    expect(result.code).toBe(3);
    const report = JSON.parse(result.stdout);
    expect(report.services.map((r: { service: string; decision: string }) => [r.service, r.decision])).toEqual([['backend', 'advance'], ['gateway', 'hold']]);
    expect(report.busy).toEqual([]);
    expect(c.git('rev-list', '--count', `${before}..HEAD`)).toBe('1');
    expect(c.git('log', '-1', '--format=%s')).toBe('canary(local): backend advance, gateway hold');
    expect(c.git('rev-parse', 'HEAD')).toBe(remoteHead());
    // one synth for the step of backend: dist/local/ in the same commit
    expect(c.git('diff', '--name-only', `${before}..HEAD`).split('\n')).toEqual(expect.arrayContaining(['dist/local/apps/manifest.yaml', 'rollout/local/backend.yaml', STATE]));
  });

  test('prod releases from its allowed registries, by digest only: anything else is refused before anything is written', async () => {
    await canaryInFlight();
    const c = await checkout();
    const digest = `@sha256:${'a'.repeat(64)}`;
    for (const [image, message] of [
      ['ghcr.io/example/obs-canary-gateway:0.2.0', 'prod releases images by digest only (delivery.requireDigest)'],
      [`docker.io/example/obs-canary-gateway${digest}`, 'prod releases images from ghcr.io/example/ only (delivery.allowedRegistries)'],
    ]) {
      const result = await c.cli(['start', '--service', 'gateway', '--env', 'prod', '--image', image, '--commit', '--json']);
      expect([result.code, JSON.parse(result.stdout).error.code]).toEqual([2, 'not-releasable']);
      expect(JSON.parse(result.stdout).error.message).toContain(message);
    }
    expect(c.git('status', '--porcelain')).toBe('');
    const allowed = await c.cli(['start', '--service', 'gateway', '--env', 'prod', '--image', `ghcr.io/example/obs-canary-gateway${digest}`, '--dry-run']);
    expect(allowed.code).toBe(0);
  });
});
