import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ServiceName } from '../../apps/contract';
import { queryValue } from '../../lib/delivery/prometheus';
import { StubServer } from '../apps/support/stub-server';
import { MeshMetricsTarget, TrackTraffic } from '../support/mesh-metrics-target';
import { freePort } from '../support/ports';
import { PrometheusServer, startPrometheus } from '../support/prometheus-server';
import { readTree, repoCopy } from '../support/repo-copy';
import { waitFor } from '../support/wait';

/**
 * `canary advance` end to end: the real CLI (node bin/canary.cjs) on a temporary git copy, against Debian's Prometheus
 * scraping a loopback target every second that serves Istio's metrics (and the services' own) at rates the test sets.
 * Windows are 4 s and settle 0 s for speed; scenarios share one Prometheus and run in order (later ones continue the
 * canary earlier ones left), each waiting, by polling Prometheus, for a window that holds only its own traffic.
 */
describe('canary advance against a real Prometheus', () => {
  const WINDOW = '4s';
  const FLAGS = ['--window', WINDOW, '--settle', '0s', '--min-requests', '100', '--timeout', '2s'];
  let dir: string;
  let remove: (() => void) | undefined;
  let target: MeshMetricsTarget | undefined;
  let prometheus: PrometheusServer | undefined;
  const stubs: StubServer[] = [];

  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  const state = (service: ServiceName) => parse(fs.readFileSync(path.join(dir, 'rollout', 'local', `${service}.yaml`), 'utf8'));
  const distTree = () => readTree(path.join(dir, 'dist'));

  interface Run { status: number | null; stdout: string; stderr: string; json: any; ms: number }
  async function run(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
    // spawn, not spawnSync: the metrics target and the fake servers live in this process and must keep answering
    const childEnv: NodeJS.ProcessEnv = { ...process.env, PROMETHEUS_URL: prometheus!.url, ...env };
    delete childEnv.PROMETHEUS_TOKEN;
    if (!env.GITHUB_STEP_SUMMARY) delete childEnv.GITHUB_STEP_SUMMARY;
    const started = Date.now();
    const child = spawn(command, args, { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise<number | null>(resolve => child.on('close', resolve));
    let json: any;
    try {
      json = JSON.parse(stdout);
    } catch {
      json = undefined;
    }
    return { status, stdout, stderr, json, ms: Date.now() - started };
  }
  const canary = (args: readonly string[], env?: Record<string, string>) => run('node', [path.join(dir, 'bin', 'canary.cjs'), ...args], env);
  const advance = (service: ServiceName, ...extra: string[]) => canary(['advance', '--service', service, ...FLAGS, '--commit', '--json', ...extra]);

  /** With GATE_SAMPLE_OUT set to a directory, keeps real outputs for the documentation. */
  const sample = (name: string, r: Run) => {
    if (process.env.GATE_SAMPLE_OUT) fs.writeFileSync(path.join(process.env.GATE_SAMPLE_OUT, `${name}.json`), r.stdout);
  };
  /** Files of the last commit. */
  const lastCommitFiles = () => git('show', '--name-only', '--format=', 'HEAD').split('\n').filter(Boolean);

  /**
   * A fresh synth in the copy leaves dist/ exactly as committed. A synth process costs ~0.6 s: run after the promotion
   * (the gate's path) and after the roll back by hand (the path of start, promote and rollback); every other step
   * checks that its commit holds only the state file and dist/, and that nothing is left uncommitted.
   */
  async function expectDistFresh(): Promise<void> {
    const synth = await run('node', ['tools/run-bundled.cjs', 'scripts/synth.ts']);
    expect(synth.stderr).toBe('');
    expect(git('status', '--porcelain')).toBe('');
  }

  async function start(service: ServiceName, image: string): Promise<void> {
    const r = await canary(['start', '--service', service, '--image', image, '--commit', '--json']);
    expect([r.status, r.stderr]).toEqual([0, '']);
  }

  /**
   * Sends `totalRps` to the service, split by the canary's weight as Istio would, and waits until the last 4 s hold
   * only samples of this traffic, in every scrape job (Istio's and the service's own, scraped at different times), and
   * lie after the canary's last weight change (else the gate dwells).
   */
  async function traffic(service: ServiceName, weight: number, options: { totalRps?: number; canary?: Partial<TrackTraffic> } = {}): Promise<void> {
    const total = options.totalRps ?? 100;
    const epoch = target!.setTraffic(service, {
      stable: { rps: (total * (100 - weight)) / 100, errorRatio: 0.002, latencyMs: 40 },
      canary: { rps: (total * weight) / 100, errorRatio: 0.002, latencyMs: 40, ...options.canary },
    });
    // a slow answer under load is asked again, as a probe that has no answer yet
    const ask = (promql: string) => queryValue({ url: prometheus!.url, timeoutMs: 2000 }, promql, new Date()).catch(() => null);
    await waitFor(async () => {
      const oldest = await ask(`min(min_over_time(test_traffic_epoch{service="${service}"}[${WINDOW}]))`);
      const samples = await ask(`min(count_over_time(test_traffic_epoch{service="${service}"}[${WINDOW}]))`);
      return oldest === epoch && samples !== null && samples >= 3;
    }, { what: `a ${WINDOW} window of ${service}'s traffic #${epoch} only`, timeoutMs: 30_000, intervalMs: 200 });
    const changed = state(service).canary?.weightChangedAt;
    const measurableAt = changed === undefined ? 0 : Date.parse(changed) + 4000 + 50;
    // a deadline the gate itself computes, not a guess: nothing to poll for
    if (measurableAt > Date.now()) await new Promise(resolve => setTimeout(resolve, measurableAt - Date.now()));
  }

  beforeAll(async () => {
    ({ dir, remove } = repoCopy({ git: true }));
    target = await MeshMetricsTarget.start();
    const ownMetrics = (service: ServiceName) => ({
      job_name: `http-${service}`, metrics_path: `/http/${service}`,
      static_configs: [{ targets: [target!.address], labels: { namespace: 'apps', app: service } }],
    });
    prometheus = await startPrometheus({
      scrapeConfigs: [{ job_name: 'mesh', static_configs: [{ targets: [target.address] }] }, ownMetrics('gateway'), ownMetrics('backend')],
    });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await target?.close();
    for (const stub of stubs) await stub.close();
    remove?.();
  });

  test('healthy: advances step by step to promotion, one commit per step, dist/ as a fresh synth makes it', async () => {
    const image = 'ghcr.io/example/obs-canary-gateway:0.2.0';
    await start('gateway', image);
    // right after the start the window would reach back before it: a dry run dwells and changes nothing
    const early = await canary(['advance', '--service', 'gateway', ...FLAGS, '--settle', '1m', '--dry-run', '--json']);
    expect(early.status).toBe(3);
    expect(early.json).toMatchObject({ decision: 'hold', hold: 'dwelling', window: null, samples: {}, dryRun: true, changed: [] });
    expect(git('status', '--porcelain')).toBe('');

    const steps = [10, 25, 50, 100];
    for (const [i, weight] of steps.entries()) {
      await traffic('gateway', weight);
      const head = git('rev-parse', 'HEAD');
      const r = await advance('gateway');
      const promoted = i === steps.length - 1;
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(r.json).toMatchObject({
        service: 'gateway', decision: promoted ? 'promote' : 'advance', fromWeight: weight, toWeight: promoted ? 0 : steps[i + 1],
        failedChecks: [], failedCheckCount: 0, consecutiveHolds: 0, hold: null, image,
      });
      const m = r.json.measurements;
      expect(m.requests).toBeGreaterThanOrEqual(100);
      expect(m.canaryRequests / m.requests).toBeGreaterThan((weight / 100) * 0.5);
      expect(m.successRatio).toBeGreaterThanOrEqual(0.99);
      expect(m.p95Ms).toBe(48.8); // every request takes 40 ms: bucket 25..50, interpolated
      // at 100% stable serves nothing: no baseline to compare with
      expect(r.json.baseline.successRatio).toEqual(weight === 100 ? null : expect.any(Number));
      expect(git('rev-list', '--count', `${head}..HEAD`)).toBe('1');
      expect(git('log', '-1', '--format=%B')).toContain(`canary(gateway, local): ${promoted ? 'promote' : 'advance'} ${image} ${weight}% → `);
      expect(lastCommitFiles()).toContain('rollout/local/gateway.yaml');
      expect(lastCommitFiles().every(f => f === 'rollout/local/gateway.yaml' || f.startsWith('dist/'))).toBe(true);
      expect(git('status', '--porcelain')).toBe('');
      expect(state('gateway').canary?.weight ?? 0).toBe(promoted ? 0 : steps[i + 1]);
      sample(`${promoted ? 'promote' : 'advance'}-${weight}`, r);
    }
    await expectDistFresh();
    expect(state('gateway').stable.image).toBe(image);
    expect(state('gateway').history.map((h: any) => h.decision)).toEqual(['start', 'advance', 'advance', 'advance', 'promote']);
  }, 180_000);

  test('the step summary and the dry run: the PromQL, the numbers and the decision, nothing changed', async () => {
    await start('gateway', 'ghcr.io/example/obs-canary-gateway:0.3.0');
    await traffic('gateway', 10);
    const summary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gate-summary-')), 'summary.md');
    const head = git('rev-parse', 'HEAD');
    const dry = await canary(['advance', '--service', 'gateway', ...FLAGS, '--dry-run'], { GITHUB_STEP_SUMMARY: summary });
    expect([dry.status, dry.stderr]).toEqual([0, '']);
    expect(dry.stdout).toMatch(/^local\/gateway: advance 10% → 25%: advanced to 25%: SLO met over 4s: /);
    expect(dry.stdout).toContain('  canaryRequests = ');
    expect(dry.stdout).toContain('    sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="apps",'
      + 'destination_workload="gateway-canary"}[4s])) or vector(0)');
    expect(dry.stdout).toContain('  dry run: nothing changed');
    expect(git('status', '--porcelain')).toBe('');
    expect(git('rev-parse', 'HEAD')).toBe(head);
    const markdown = fs.readFileSync(summary, 'utf8');
    expect(markdown).toMatch(/^### canary local\/gateway: advance 10% → 25% \(dry run\)\n/);
    expect(markdown).toContain('| success ratio | ');
    expect(markdown).toContain('| p95 latency | 48.8 ms | 48.8 ms | ≤ 300 ms |');
  }, 60_000);

  test('thin traffic: hold (exit 3), counters and history committed, weights and dist/ unchanged', async () => {
    // continues the canary of the previous test, at 10%
    await traffic('gateway', 10, { totalRps: 5 });
    const dist = distTree();
    for (const count of [1, 2]) {
      const r = await advance('gateway');
      expect([r.status, r.stderr]).toEqual([3, '']);
      expect(r.json).toMatchObject({ decision: 'hold', hold: 'too-little-traffic', fromWeight: 10, toWeight: 10, consecutiveHolds: count,
        reason: 'too little traffic: fewer than 100 requests (stable and canary) in the 4s window' });
      expect(r.json.measurements.requests).toBeGreaterThan(0);
      expect(r.json.measurements.requests).toBeLessThan(100);
      expect(lastCommitFiles()).toEqual(['rollout/local/gateway.yaml']);
      expect(git('log', '-1', '--format=%B')).toContain(`holds in a row: ${count} (roll back beyond 12)`);
    }
    expect(distTree()).toEqual(dist);
    expect(state('gateway').canary).toMatchObject({ weight: 10, consecutiveHolds: 2, failedChecks: 0 });
    expect(state('gateway').history.at(-1)).toMatchObject({ decision: 'hold', count: 2 });
    expect(git('status', '--porcelain')).toBe('');
  }, 60_000);

  test('a canary that receives nothing, or crashes behind its callers: failed checks, never advanced', async () => {
    await traffic('gateway', 10, { canary: { rps: 0 } });
    const dist = distTree();
    const nothing = await advance('gateway');
    expect([nothing.status, nothing.stderr]).toEqual([3, '']);
    expect(nothing.json).toMatchObject({ decision: 'hold', hold: 'failed-check', toWeight: 10, failedCheckCount: 1 });
    expect(nothing.json.measurements).toMatchObject({ canaryRequests: 0, successRatio: null, p95Ms: null });
    expect(nothing.json.failedChecks).toEqual([expect.stringMatching(/^canaryTraffic: 0 requests < \d+ expected \(10% of \d+ × 0\.5\)/)]);

    // the pods report nothing, the callers report 503s for them: requests enough, success ratio 0
    await traffic('gateway', 10, { canary: { rps: 0, callerOnlyErrorRps: 10 } });
    const crashing = await advance('gateway');
    expect([crashing.status, crashing.stderr]).toEqual([3, '']);
    expect(crashing.json).toMatchObject({ decision: 'hold', hold: 'failed-check', failedCheckCount: 2 });
    expect(crashing.json.measurements.canaryRequests).toBeGreaterThan(0);
    expect(crashing.json.measurements.successRatio).toBe(0);
    expect(crashing.json.failedChecks).toContain('successRatio: 0 < 0.95');
    expect(state('gateway').canary).toMatchObject({ weight: 10, failedChecks: 2 });
    expect(distTree()).toEqual(dist);
  }, 60_000);

  test('Prometheus down, slow or answering garbage: hold (exit 3), weights and dist/ unchanged', async () => {
    const stub = async (respond: Parameters<typeof StubServer.start>[0]): Promise<string> => {
      const server = await StubServer.start(respond);
      stubs.push(server);
      return server.url;
    };
    const slow = await stub(() => new Promise(() => undefined));
    const garbage = await stub(async () => ({ status: 200, body: '<html>Sign in</html>' }));
    const down = `http://127.0.0.1:${await freePort()}`;
    const dist = distTree();
    const before = state('gateway').canary;
    const cases = [
      [down, /unreachable \(ECONNREFUSED\)/], [slow, /no answer within 1s/], [garbage, /answered with something that is not JSON/],
    ] as const;
    for (const [url, cause] of cases) {
      const r = await advance('gateway', '--prometheus-url', url, '--timeout', '1s');
      expect([r.status, r.stderr]).toEqual([3, '']);
      expect(r.json).toMatchObject({ decision: 'hold', hold: 'no-data', fromWeight: 10, toWeight: 10, failedChecks: [] });
      expect(r.json.reason).toMatch(cause);
      expect(r.json.measurements).toEqual({ requests: null, canaryRequests: null, successRatio: null, p95Ms: null, p99Ms: null });
      expect(lastCommitFiles()).toEqual(['rollout/local/gateway.yaml']);
      expect(r.ms).toBeLessThan(15_000);
    }
    expect(state('gateway').canary).toEqual({ ...before, consecutiveHolds: before.consecutiveHolds + 3 });
    expect(distTree()).toEqual(dist);
    expect(git('status', '--porcelain')).toBe('');

    // a hold whose commit fails is unexpected (exit 1): the state file is put back
    const hook = path.join(dir, '.git', 'hooks', 'pre-commit');
    fs.writeFileSync(hook, '#!/bin/sh\necho "refused by policy" >&2\nexit 1\n', { mode: 0o755 });
    const head = git('rev-parse', 'HEAD');
    const refused = await advance('gateway', '--prometheus-url', down);
    fs.rmSync(hook);
    expect(refused.status).toBe(1);
    expect(refused.json.error).toEqual({ code: 'unexpected', message: expect.stringContaining('refused by policy') });
    expect([git('rev-parse', 'HEAD'), git('status', '--porcelain')]).toEqual([head, '']);
  }, 60_000);

  test('by hand: rollback (exit 0, state and dist/ in one commit), then nothing in flight', async () => {
    const stable = state('gateway').stable.image;
    const r = await canary(['rollback', '--service', 'gateway', '--reason', 'tests', '--commit', '--json']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.json).toMatchObject({ decision: 'rollback', fromWeight: 10, toWeight: 0, reason: expect.stringMatching(/^rolled back by hand: .* \(tests\)$/) });
    expect(state('gateway')).toMatchObject({ canary: null, stable: { image: stable } });
    await expectDistFresh();
    const head = git('rev-parse', 'HEAD');
    const none = await advance('gateway');
    expect([none.status, none.json?.decision, none.json?.queries]).toEqual([0, 'none', {}]);
    const promote = await canary(['promote', '--service', 'gateway', '--json']);
    expect([promote.status, promote.json?.error?.code]).toEqual([2, 'not-in-flight']);
    expect(git('rev-parse', 'HEAD')).toBe(head);
  }, 60_000);

  test('failing: never advances; two failed checks hold, the third rolls back (exit 4), stable untouched', async () => {
    await start('backend', 'ghcr.io/example/obs-canary-backend:0.2.0');
    const stable = state('backend').stable.image;
    await traffic('backend', 10, { canary: { errorRatio: 0.2, latencyMs: 800 } });
    const dist = distTree();
    for (const [i, expected] of ([[3, 'hold'], [3, 'hold'], [4, 'rollback']] as const).entries()) {
      const r = await advance('backend');
      sample(`failing-${i + 1}`, r);
      expect([r.status, r.stderr]).toEqual([expected[0], '']);
      expect(r.json).toMatchObject({ decision: expected[1], fromWeight: 10, toWeight: expected[1] === 'hold' ? 10 : 0, failedCheckCount: i + 1 });
      expect(r.json.failedChecks).toEqual([
        expect.stringMatching(/^successRatio: 0\.[78]\d* < 0\.95$/),
        'p95Ms: 975 > 300',
        expect.stringMatching(/^baselineErrorRatio: canary 0\.\d+ − stable 0\.00\d* = 0\.\d+ > 0\.02$/),
      ]);
      expect(git('log', '-1', '--format=%B')).toContain(expected[1] === 'hold' ? `failed check ${i + 1} of 3` : 'rolled back: failed check 3 of 3');
      if (expected[1] === 'hold') {
        expect(state('backend').canary).toMatchObject({ weight: 10, failedChecks: i + 1 });
        expect(lastCommitFiles()).toEqual(['rollout/local/backend.yaml']);
        expect(distTree()).toEqual(dist);
      }
    }
    expect(state('backend')).toMatchObject({ canary: null, stable: { image: stable } });
    expect(state('backend').history.map((h: any) => h.decision)).toEqual(['start', 'hold', 'hold', 'rollback']);
    expect(lastCommitFiles()).toContain('rollout/local/backend.yaml');
    expect(lastCommitFiles().every(f => f === 'rollout/local/backend.yaml' || f.startsWith('dist/'))).toBe(true);
    expect(git('status', '--porcelain')).toBe('');
  }, 60_000);

  test('the services\' own http_* metrics (analysis.metrics: http) measure and advance the same way', async () => {
    const file = path.join(dir, 'rollout', 'local', 'backend.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^history:/m, 'analysis:\n  metrics: http\nhistory:'));
    git('commit', '--quiet', '--all', '--message', 'backend: gate on the http_* metrics');
    await start('backend', 'ghcr.io/example/obs-canary-backend:0.3.0');
    await traffic('backend', 10);
    const r = await advance('backend');
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.json).toMatchObject({ decision: 'advance', fromWeight: 10, toWeight: 25, failedChecks: [] });
    expect(r.json.queries.canaryRequests).toContain('http_requests_total{namespace="apps",app="backend",version="canary"');
    expect(r.json.queries.canaryCallerErrors).toBeUndefined();
    expect(r.json.measurements).toMatchObject({ successRatio: expect.any(Number), p95Ms: 48.8 });
    expect(r.json.measurements.canaryRequests).toBeGreaterThan(0);
  }, 60_000);
});
