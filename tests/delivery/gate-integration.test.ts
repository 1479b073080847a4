import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseDuration } from '../../lib/rollout/duration';
import { CANARY_PIN, CANARY_PIN_ANSWER } from '../../lib/slo/vocabulary';
import { runCli } from '../../lib/delivery/cli';
import { queryValue } from '../../lib/delivery/prometheus';
import { StubServer } from '../apps/support/stub-server';
import { ClusterState, MeshMetricsTarget, TrackTraffic } from '../support/mesh-metrics-target';
import { DOWN_PORT } from '../support/ports';
import { PrometheusServer, startPrometheus } from '../support/prometheus-server';
import { readTree, repoClone, repoSnapshot } from '../support/repo-copy';
import { sequence } from '../support/sequence';
import { waitFor } from '../support/wait';

/**
 * `canary advance` end to end: the CLI on temporary git copies of the repository, against Debian's Prometheus
 * scraping, every 100 ms, a loopback target that serves Istio's metrics (and the services' own) at rates the test sets.
 *
 * Windows are 500 ms and settle 0 s, and the scenarios run in four lanes side by side, each on a git copy of its own:
 * lane A works in a snapshot of the working tree, the others in clones of it. Within a lane the scenarios run in
 * order, later ones continuing the canary earlier ones left, each waiting, by polling Prometheus, for a window that
 * holds only its own traffic. Lanes A, B and C all release gateway (its traffic, its cluster state), so B and C have a
 * Prometheus and target each of their own.
 *
 * The CLI runs as lib/delivery/main.ts runs it, runCli in this process, which spares a process start and a bundle load
 * per run; lane A runs the real command (node bin/canary.cjs, as the workflows do: exit codes, stdout, environment
 * variables) for its first hold and its last promotion. The same target also serves what kube-state-metrics would
 * report of the cluster: a scenario "applies" each commit (as Argo CD and the pods would) by setting it. What the time
 * goes to: Prometheus scrapes its targets only ~5 s after it started (service discovery hands them over every 5 s,
 * whatever the scrape interval), which the scenarios that need no window use; then the runs of the CLI.
 */
describe('canary advance against a real Prometheus', () => {
  const SCRAPE_INTERVAL = '100ms';
  // a window of five scrapes: a process starting under load may stall scrapes for a few hundred ms, and increase()
  // needs two samples in the window the CLI measures, which ends when it has started
  const WINDOW = '500ms';
  const WINDOW_MS = parseDuration(WINDOW);
  /** Samples a window must hold in every scrape job before the gate may measure it: one scrape may have failed. */
  const MIN_SAMPLES = 4;
  /** The services' traffic, in requests per second: 100 requests (`--min-requests`) take 100 ms of a window. */
  const RPS = 1000;
  // the default query budget: a loaded 2-core machine can take seconds over the cluster-state query, which is not what
  // these scenarios test (the timeout scenario sets its own)
  const FLAGS = ['--window', WINDOW, '--settle', '0s', '--min-requests', '100', '--timeout', '10s'];
  const targets: MeshMetricsTarget[] = [];
  const servers: PrometheusServer[] = [];
  const stubs: StubServer[] = [];
  const removals: Array<() => Promise<void>> = [];
  /** The copy whose bin/canary.cjs and tools/ every lane runs. */
  let home: string;
  /**
   * Where gateway's smoke checks go (services/gateway.yaml): its API as the canary would answer, only to pinned
   * requests (anything else is 421, which no check expects).
   */
  let smoke: StubServer;

  interface Run { status: number | null; stdout: string; stderr: string; json: any; ms: number }
  async function runIn(cwd: string, command: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
    // spawn, not spawnSync: the fake servers and the other lanes live in this process
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.PROMETHEUS_TOKEN;
    if (!env.GITHUB_STEP_SUMMARY) delete childEnv.GITHUB_STEP_SUMMARY;
    const started = Date.now();
    const child = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise<number | null>(resolve => child.on('close', resolve));
    return ranFor(started, status, stdout, stderr);
  }

  /** A {@link Run} of what a run printed; `json` is its stdout parsed, when it is JSON. */
  function ranFor(started: number, status: number | null, stdout: string, stderr: string): Run {
    let json: any;
    try {
      json = JSON.parse(stdout);
    } catch {
      json = undefined;
    }
    return { status, stdout, stderr, json, ms: Date.now() - started };
  }

  const bundling = new Map<'cli' | 'synth', Promise<unknown>>();
  /**
   * The first run of an entry point bundles it (~1 s of CPU, tools/run-bundled.cjs); the other lanes' runs wait for
   * it rather than bundle it too.
   */
  async function firstBundles(entry: 'cli' | 'synth', run: () => Promise<Run>): Promise<Run> {
    const first = bundling.get(entry);
    if (first) {
      await first;
      return run();
    }
    const running = run();
    bundling.set(entry, running.catch(() => undefined));
    return running;
  }

  /** With GATE_SAMPLE_OUT set to a directory, keeps real outputs for the documentation. */
  const sample = (name: string, r: Run) => {
    if (process.env.GATE_SAMPLE_OUT) fs.writeFileSync(path.join(process.env.GATE_SAMPLE_OUT, `${name}.json`), r.stdout);
  };

  /** The CLI in this process, as lib/delivery/main.ts runs it: the same io, with the variables a run would be given. */
  async function runHere(cwd: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const started = Date.now();
    const status = await runCli(args, {
      cwd,
      stdout: text => (stdout += text),
      stderr: text => (stderr += text),
      now: () => new Date(),
      // as main.ts reads them: an empty variable is unset
      env: { prometheusUrl: env.PROMETHEUS_URL, stepSummaryFile: env.GITHUB_STEP_SUMMARY, smokeUrl: env.SMOKE_BASE_URL || undefined },
    });
    return ranFor(started, status, stdout, stderr);
  }

  /** A git copy, the Prometheus and metrics target that measure it, and the sequence its scenarios run in. */
  class Lane {
    public dir = '';
    public prometheus!: PrometheusServer;
    public target!: MeshMetricsTarget;
    public readonly inTurn = sequence();


    public readonly git = (...args: string[]): string => execFileSync('git', args, { cwd: this.dir, encoding: 'utf8' }).trim();
    public readonly state = (service: string): any =>
      parse(fs.readFileSync(path.join(this.dir, 'rollout', 'local', `${service}.yaml`), 'utf8'));
    public readonly distTree = (): Map<string, string> => readTree(path.join(this.dir, 'dist'));
    public readonly run = (command: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> =>
      runIn(this.dir, command, args, { PROMETHEUS_URL: this.prometheus.url, SMOKE_BASE_URL: smoke.url, ...env });
    public readonly canary = (args: readonly string[], env: Record<string, string> = {}): Promise<Run> =>
      runHere(this.dir, args, { PROMETHEUS_URL: this.prometheus.url, SMOKE_BASE_URL: smoke.url, ...env });
    /** The same, as the command `node bin/canary.cjs` (its exit code, its streams, its environment variables). */
    public readonly canaryBin = (args: readonly string[], env: Record<string, string> = {}): Promise<Run> =>
      firstBundles('cli', () => this.run('node', [path.join(home, 'bin', 'canary.cjs'), ...args], env));
    /** `canary advance` with {@link FLAGS}; a flag of `extra` takes the place of the same one there (each is given once). */
    public readonly advance = (service: string, ...extra: string[]): Promise<Run> => {
      const own = new Set(extra.filter(arg => arg.startsWith('--')));
      const flags = FLAGS.flatMap((arg, i) => (i % 2 === 0 && !own.has(arg) ? [arg, FLAGS[i + 1]] : []));
      return this.canary(['advance', '--service', service, ...flags, '--commit', '--json', ...extra]);
    };
    /** Files of the last commit. */
    public readonly lastCommitFiles = (): string[] => this.git('show', '--name-only', '--format=', 'HEAD').split('\n').filter(Boolean);

    /**
     * A fresh synth in the copy leaves dist/ exactly as committed. A synth process costs ~0.4 s: run after the
     * promotion (the gate's path) and after the roll back by hand (the path of start, promote and rollback); every other
     * step checks that its commit holds only the state file and dist/, and that nothing is left uncommitted.
     */
    public readonly expectDistFresh = async (): Promise<void> => {
      const synth = await firstBundles('synth', () => this.run('node', [path.join(home, 'tools', 'run-bundled.cjs'), path.join(home, 'scripts', 'synth.ts')]));
      expect(synth.stderr).toBe('');
      expect(this.git('status', '--porcelain')).toBe('');
    };

    public readonly start = async (service: string, image: string): Promise<void> => {
      const r = await this.canary(['start', '--service', service, '--image', image, '--commit', '--json']);
      expect([r.status, r.stderr]).toEqual([0, '']);
    };

    /**
     * What Argo CD and the pods make of the last commit, as kube-state-metrics reports it: the Deployments of the state
     * file (stable with the canary's image while promoting), ready unless `canaryAvailable` is false, and the route at
     * the canary's weight; waits until Prometheus has scraped it.
     */
    public readonly applied = async (service: string,
      options: { canaryAvailable?: boolean; namespace?: string; stableNotYet?: boolean } = {}): Promise<void> => {
      const { stable, canary } = this.state(service);
      // what each Deployment of dist/ runs: its image and, when the state records one, its configuration's hash
      const track = (image: string, pod: { hash: string } | undefined, available: boolean) =>
        ({ image, available, ...(pod ? { podHash: pod.hash } : {}) });
      // stableNotYet: a promotion's commit that Argo CD has not applied yet (stable still runs what it ran)
      const promoting = canary?.phase === 'promoting' && !options.stableNotYet;
      const cluster: ClusterState = canary
        ? {
          stable: promoting ? track(canary.image, canary.pod, true) : track(stable.image, stable.pod, true),
          canary: track(canary.image, canary.pod, options.canaryAvailable ?? true),
          canaryWeight: canary.weight,
        }
        : { stable: track(stable.image, stable.pod, true) };
      const epoch = this.target.setCluster(service, cluster, options.namespace);
      const seen = () => queryValue({ url: this.prometheus.url, timeoutMs: 2000 }, `test_cluster_epoch{service="${service}"}`, new Date()).catch(() => null);
      await waitFor(async () => (await seen()) === epoch, { what: `the cluster state #${epoch} of ${service} in Prometheus`, timeoutMs: 30_000 });
    };

    /** Starts a canary and takes it, as the cluster applies each commit, to the first step observed applied. */
    public readonly toFirstStep = async (service: string, image: string, namespace?: string): Promise<void> => {
      await this.start(service, image);
      await this.applied(service, { ...(namespace ? { namespace } : {}) });
      const first = await this.advance(service);
      expect([first.status, first.json?.decision, first.json?.toWeight]).toEqual([0, 'advance', 10]);
      await this.applied(service, { ...(namespace ? { namespace } : {}) });
      const seen = await this.advance(service);
      expect([seen.status, seen.json?.hold]).toEqual([3, 'applied']);
    };

    /**
     * Sends `totalRps` to the service, split by the canary's weight as Istio would, and waits until the last window
     * holds only samples of this traffic, at least {@link MIN_SAMPLES} in every scrape job (Istio's and the service's
     * own, scraped at different times), and lies after the canary's last weight change (else the gate dwells).
     */
    public readonly traffic = async (service: string, weight: number,
      options: { totalRps?: number; canary?: Partial<TrackTraffic>; namespace?: string } = {}): Promise<void> => {
      const total = options.totalRps ?? RPS;
      const epoch = this.target.setTraffic(service, {
        stable: { rps: (total * (100 - weight)) / 100, errorRatio: 0.002, latencyMs: 40 },
        canary: { rps: (total * weight) / 100, errorRatio: 0.002, latencyMs: 40, ...options.canary },
      }, options.namespace);
      const epochs = `test_traffic_epoch{service="${service}"}[${WINDOW}]`;
      // and a service's series all older than the window: the gate adds the first value of a series that starts inside
      // it (lib/delivery/queries.ts), and this target's start with a history of a million requests, as old ones would
      const older = `count(test_traffic_epoch{service="${service}"} offset ${WINDOW}) == count(test_traffic_epoch{service="${service}"})`;
      const full = `min(min_over_time(${epochs})) == ${epoch} and min(count_over_time(${epochs})) >= ${MIN_SAMPLES} and on () ${older}`;
      // a slow answer under load is asked again, as a probe that has no answer yet
      const ask = () => queryValue({ url: this.prometheus.url, timeoutMs: 2000 }, full, new Date()).catch(() => null);
      await waitFor(async () => (await ask()) === epoch, { what: `a ${WINDOW} window of ${service}'s traffic #${epoch} only`, timeoutMs: 30_000 });
      await this.windowDue(service);
    };

    /**
     * Waits for the time the gate itself computes: a window after the step was applied and after the last counted
     * hold of the step (its history entry's time), else the gate dwells, or (before the step is applied) holds
     * without counting.
     */
    public readonly windowDue = async (service: string): Promise<void> => {
      const { canary, history } = this.state(service);
      if (canary === null) return;
      const since = Date.parse(canary.appliedAt ?? canary.weightChangedAt);
      const counted = history.filter((h: any) => h.decision === 'hold' && h.by === 'gate' && Date.parse(h.at) > since).map((h: any) => Date.parse(h.at));
      if (canary.appliedAt === undefined && counted.length === 0) return;
      const dueAt = Math.max(since, ...counted) + WINDOW_MS + 50;
      await waitFor(() => Date.now() >= dueAt, { what: `the next ${WINDOW} window of ${service}`, intervalMs: 10 });
    };
  }

  /** The healthy path to promotion: the longest chain of windows. */
  const laneA = new Lane();
  /** A canary of gateway that holds: the dry run, thin traffic, a canary that gets nothing or crashes. */
  const laneB = new Lane();
  /** Gateway without Prometheus (down, slow, garbage), then the roll back by hand: no window to wait for. */
  const laneC = new Lane();
  /** Backend: the failing canary, then the services' own http_* metrics. */
  const laneD = new Lane();

  beforeAll(async () => {
    smoke = await StubServer.start(async ({ url, headers }) => {
      if (headers[CANARY_PIN.header] !== CANARY_PIN.value) return { status: 421, body: { error: 'not pinned' } };
      const pinned = { [CANARY_PIN_ANSWER.header]: CANARY_PIN_ANSWER.value };
      return url.endsWith('departure=icn')
        ? { status: 400, body: { error: 'invalid_parameter' }, headers: pinned }
        : { status: 200, body: {}, headers: { 'x-trace-id': '0af7651916cd43dd8448eb211c80319c', ...pinned } };
    });
    stubs.push(smoke);
    // each pushed as it starts, so that afterAll stops it even when the other fails to start
    await Promise.all([0, 1, 2].map(async () => targets.push(await MeshMetricsTarget.start())));
    // Istio's metrics, and a service's own where a scenario reads them (lane D's http_* one): fewer scrapes, less CPU
    const scrapeJobs = (target: MeshMetricsTarget, ownMetricsOf: readonly string[]) => [
      { job_name: 'mesh', static_configs: [{ targets: [target.address] }] },
      // what the cluster runs, as kube-state-metrics reports it (the job the stack renders honours its labels)
      { job_name: 'kube-state-metrics', metrics_path: '/ksm', honor_labels: true, static_configs: [{ targets: [target.address] }] },
      ...ownMetricsOf.map(service => ({
        job_name: `http-${service}`, metrics_path: `/http/${service}`,
        static_configs: [{ targets: [target.address], labels: { namespace: 'apps', app: service } }],
      })),
    ];
    const [main, forB, forC] = await Promise.all([
      startPrometheus({ scrapeConfigs: scrapeJobs(targets[0], ['backend']), interval: SCRAPE_INTERVAL }).then(server => (servers.push(server), server)),
      startPrometheus({ scrapeConfigs: scrapeJobs(targets[1], []), interval: SCRAPE_INTERVAL }).then(server => (servers.push(server), server)),
      startPrometheus({ scrapeConfigs: scrapeJobs(targets[2], []), interval: SCRAPE_INTERVAL }).then(server => (servers.push(server), server)),
    ]);
    for (const lane of [laneA, laneD]) [lane.target, lane.prometheus] = [targets[0], main];
    [laneB.target, laneB.prometheus] = [targets[1], forB];
    [laneC.target, laneC.prometheus] = [targets[2], forC];

    const snapshot = repoSnapshot();
    removals.push(snapshot.remove);
    home = snapshot.dir;
    const clones = await Promise.all([laneB, laneC, laneD].map(() => repoClone(home)));
    removals.push(...clones.map(c => c.remove));
    [laneA.dir, laneB.dir, laneC.dir, laneD.dir] = [home, ...clones.map(c => c.dir)];
  }, 60_000);

  afterAll(async () => {
    await Promise.all(bundling.values());
    await Promise.all(servers.map(server => server.stop()));
    await Promise.all(targets.map(target => target.close()));
    for (const stub of stubs) await stub.close();
    await Promise.all(removals.map(remove => remove()));
  });

  // Jest starts at most 5 concurrent tests at once, in the order they are written, and a test waiting for its turn in
  // its lane keeps its slot: the first test of each lane comes first, the rest follow as slots free up. A test's
  // timeout counts its wait for the tests before it in its lane.
  test.concurrent('healthy: at 0 % until the cluster runs it, then step by step, each window after the step was applied; promotion '
    + 'rolls stable out while the canary keeps the traffic, then removes the canary', laneA.inTurn(async () => {
    const { git, state, canaryBin, advance, traffic, start, applied, lastCommitFiles, expectDistFresh, distTree } = laneA;
    const image = 'ghcr.io/example/obs-canary-gateway:0.2.0';
    const before = state('gateway').stable.image;
    // the cluster as it was: stable alone
    await applied('gateway');
    await start('gateway', image);
    // before the cluster runs the canary nothing moves, and nothing is written (the real command: exit code 3)
    const early = await canaryBin(['advance', '--service', 'gateway', ...FLAGS, '--dry-run', '--json']);
    expect([early.status, early.stderr]).toEqual([3, '']);
    expect(early.json).toMatchObject({ decision: 'hold', hold: 'applying', fromWeight: 0, toWeight: 0, window: null, samples: {}, dryRun: true, changed: [] });
    expect(early.json.observation).toEqual({ query: expect.stringContaining('deployment="gateway-canary"'), applied: false });
    expect(git('status', '--porcelain')).toBe('');
    await applied('gateway');
    const first = await advance('gateway');
    expect([first.status, first.stderr]).toEqual([0, '']);
    expect(first.json).toMatchObject({ decision: 'advance', fromWeight: 0, toWeight: 10, reason: expect.stringContaining('(only the pin reached it); 3 smoke checks passed through the pin') });
    expect(first.json.smoke.map((c: any) => [c.path, c.passed])).toEqual([
      ['/api/flight/airports', true], ['/api/flight/routes?departure=ICN', true], ['/api/flight/routes?departure=icn', true]]);

    const steps = [10, 25, 50, 100];
    for (const [i, weight] of steps.entries()) {
      // the step's commit reaches the cluster: the gate records when it saw it, and measures only after that
      await applied('gateway');
      const seen = await advance('gateway');
      expect([seen.status, seen.json?.decision, seen.json?.hold]).toEqual([3, 'hold', 'applied']);
      expect(state('gateway').canary).toMatchObject({ weight, appliedAt: expect.any(String), consecutiveHolds: 0 });
      // at the first step someone also pins 100 req/s to the canary, every one failing after 5 s: not traffic, no effect
      await traffic('gateway', weight, i === 0 ? { canary: { pinnedFailingRps: 100 } } : {});
      const head = git('rev-parse', 'HEAD');
      const r = await advance('gateway');
      const promoted = i === steps.length - 1;
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(r.json).toMatchObject({
        service: 'gateway', decision: promoted ? 'promote' : 'advance', fromWeight: weight, toWeight: promoted ? 100 : steps[i + 1],
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
      expect(state('gateway').canary.weight).toBe(promoted ? 100 : steps[i + 1]);
      sample(`${promoted ? 'promote' : 'advance'}-${weight}`, r);
    }
    // the promotion's first half: stable rolls out the new image, the canary still takes the traffic
    expect(state('gateway')).toMatchObject({ stable: { image: before }, canary: { phase: 'promoting', weight: 100 } });
    const manifest = distTree().get('local/apps/manifest.yaml')!;
    const deployments = parseAllDocuments(manifest).map(d => d.toJS()).filter(o => o.kind === 'Deployment');
    expect(deployments.filter(d => d.metadata.name.startsWith('gateway-')).map(d => [d.metadata.name, d.spec.template.spec.containers[0].image]))
      .toEqual([['gateway-canary', image], ['gateway-stable', image]]);
    // not yet ready: nothing moves
    const waiting = await advance('gateway');
    expect([waiting.status, waiting.json?.hold]).toEqual([3, 'applying']);
    // stable runs the new image, ready: all traffic returns to it, the canary still there (the real command: exit code 0)
    await applied('gateway');
    const drain = await canaryBin(['advance', '--service', 'gateway', ...FLAGS, '--commit', '--json']);
    expect([drain.status, drain.stderr]).toEqual([0, '']);
    expect(drain.json).toMatchObject({ decision: 'promote', fromWeight: 100, toWeight: 0, reason: expect.stringMatching(/^promoting: gateway-stable runs ready with /) });
    expect(state('gateway')).toMatchObject({ stable: { image }, canary: { phase: 'draining', weight: 0 } });
    expect(distTree().get('local/apps/manifest.yaml')).toContain('name: gateway-canary');
    // once the route to stable is applied, the canary goes
    await applied('gateway');
    const done = await advance('gateway');
    expect([done.status, done.json?.decision, done.json?.reason]).toEqual([0, 'promote', expect.stringMatching(/^promoted: .* the canary is removed$/)]);
    expect(state('gateway')).toMatchObject({ stable: { image }, canary: null });
    expect(distTree().get('local/apps/manifest.yaml')).not.toContain('name: gateway-canary');
    await expectDistFresh();
    expect(state('gateway').history.map((h: any) => h.decision))
      .toEqual(['start', 'advance', 'hold', 'advance', 'hold', 'advance', 'hold', 'advance', 'hold', 'promote', 'promote', 'promote']);
  }), 180_000);

  test.concurrent('the step summary and the dry run: the PromQL, the numbers and the decision, nothing changed', laneB.inTurn(async () => {
    const { git, canary, traffic, toFirstStep } = laneB;
    await toFirstStep('gateway', 'ghcr.io/example/obs-canary-gateway:0.3.0');
    await traffic('gateway', 10);
    const summaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-summary-'));
    removals.push(() => fs.promises.rm(summaryDir, { recursive: true, force: true }));
    const summary = path.join(summaryDir, 'summary.md');
    const head = git('rev-parse', 'HEAD');
    const dry = await canary(['advance', '--service', 'gateway', ...FLAGS, '--dry-run'], { GITHUB_STEP_SUMMARY: summary });
    expect([dry.status, dry.stderr]).toEqual([0, '']);
    expect(dry.stdout).toMatch(new RegExp(`^local/gateway: advance 10% → 25%: advanced to 25%: SLO met over ${WINDOW}: `));
    expect(dry.stdout).toContain('  canaryRequests = ');
    expect(dry.stdout).toContain('    (sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="apps",'
      + `destination_workload="gateway-canary",canary_pin!="always"}[${WINDOW}])) + `);
    expect(dry.stdout).toContain('  dry run: nothing changed');
    expect(git('status', '--porcelain')).toBe('');
    expect(git('rev-parse', 'HEAD')).toBe(head);
    const markdown = fs.readFileSync(summary, 'utf8');
    expect(markdown).toMatch(/^### canary local\/gateway: advance 10% → 25% \(dry run\)\n/);
    expect(markdown).toContain('| success ratio | ');
    // the same 48.75 ms each: the canary's rounded up, stable's (which the canary is compared with) down
    expect(markdown).toContain('| p95 latency | 48.8 ms | 48.7 ms | ≤ 300 ms; ≤ stable\'s × 1.5 |');
  }), 120_000);

  test.concurrent('Prometheus down, slow or answering garbage: hold (exit 3), weights and dist/ unchanged', laneC.inTurn(async () => {
    const { git, state, distTree, advance, start, lastCommitFiles } = laneC;
    // a canary of its own, in a copy of its own (the one of lane B is still being measured): whether the cluster runs it
    // is a question for Prometheus too
    await start('gateway', 'ghcr.io/example/obs-canary-gateway:0.3.0');
    const stub = async (respond: Parameters<typeof StubServer.start>[0]): Promise<string> => {
      const server = await StubServer.start(respond);
      stubs.push(server);
      return server.url;
    };
    const slow = await stub(() => new Promise(() => undefined));
    const garbage = await stub(async () => ({ status: 200, body: '<html>Sign in</html>' }));
    const down = `http://127.0.0.1:${DOWN_PORT}`;
    const dist = distTree();
    const before = state('gateway').canary;
    // only the slow case waits for the timeout; the others get a long one, so that a loaded machine (the stubs answer from
    // this busy process) cannot turn "garbage" into "no answer"
    const cases = [
      [down, '10s', /unreachable \(ECONNREFUSED\)/], [slow, '1s', /no answer within 1s/],
      [garbage, '10s', /answered with something that is not JSON/],
    ] as const;
    for (const [url, timeout, cause] of cases) {
      // each counts: a window apart
      await laneC.windowDue('gateway');
      const r = await advance('gateway', '--prometheus-url', url, '--timeout', timeout);
      expect([r.status, r.stderr]).toEqual([3, '']);
      expect(r.json).toMatchObject({ decision: 'hold', hold: 'no-data', fromWeight: 0, toWeight: 0, failedChecks: [] });
      expect(r.json.reason).toMatch(cause);
      expect(r.json.measurements).toEqual({ requests: null, canaryRequests: null, successRatio: null, p95Ms: null, p99Ms: null });
      expect(lastCommitFiles()).toEqual(['rollout/local/gateway.yaml']);
      expect(r.ms).toBeLessThan(15_000);
    }
    expect(state('gateway').canary).toEqual({ ...before, consecutiveHolds: before.consecutiveHolds + 3 });
    expect(distTree()).toEqual(dist);
    expect(git('status', '--porcelain')).toBe('');

    // a hold whose commit fails is unexpected (exit 1): the state file is put back
    const hook = path.join(laneC.dir, '.git', 'hooks', 'pre-commit');
    fs.writeFileSync(hook, '#!/bin/sh\necho "refused by policy" >&2\nexit 1\n', { mode: 0o755 });
    const head = git('rev-parse', 'HEAD');
    await laneC.windowDue('gateway');
    const refused = await advance('gateway', '--prometheus-url', down);
    fs.rmSync(hook);
    expect(refused.status).toBe(1);
    expect(refused.json.error).toEqual({ code: 'unexpected', message: expect.stringContaining('refused by policy') });
    expect([git('rev-parse', 'HEAD'), git('status', '--porcelain')]).toEqual([head, '']);
  }), 120_000);

  test.concurrent('failing: never advances; two failed checks hold, the third rolls back (exit 4), stable untouched', laneD.inTurn(async () => {
    const { git, state, distTree, advance, traffic, toFirstStep, applied, lastCommitFiles } = laneD;
    await toFirstStep('backend', 'ghcr.io/example/obs-canary-backend:0.2.0');
    const stable = state('backend').stable.image;
    await traffic('backend', 10, { canary: { errorRatio: 0.2, latencyMs: 800 } });
    const dist = distTree();
    for (const [i, expected] of ([[3, 'hold'], [3, 'hold'], [4, 'rollback']] as const).entries()) {
      await laneD.windowDue('backend');
      const r = await advance('backend');
      sample(`failing-${i + 1}`, r);
      expect([r.status, r.stderr]).toEqual([expected[0], '']);
      expect(r.json).toMatchObject({ decision: expected[1], fromWeight: 10, toWeight: expected[1] === 'hold' ? 10 : 0, failedCheckCount: i + 1 });
      expect(r.json.failedChecks).toEqual([
        expect.stringMatching(/^successRatio: 0\.[78]\d* < 0\.95$/),
        'p95Ms: 975 > 300',
        expect.stringMatching(/^baselineErrorRatio: canary 0\.\d+ − stable 0\.00\d* = 0\.\d+ > 0\.02$/),
        // 48.7 × 1.5 = 73.05 is below the 25 ms floor above stable's (its 48.75 ms rounded down, against the canary)
        'baselineP95: canary 975 ms > stable 48.7 ms + 25 ms = 73.7 ms',
      ]);
      expect(git('log', '-1', '--format=%B')).toContain(expected[1] === 'hold' ? `failed check ${i + 1} of 3` : 'rolling back: failed check 3 of 3');
      if (expected[1] === 'hold') {
        expect(state('backend').canary).toMatchObject({ weight: 10, failedChecks: i + 1 });
        expect(lastCommitFiles()).toEqual(['rollout/local/backend.yaml']);
        expect(distTree()).toEqual(dist);
      }
    }
    // the roll back's first half: all traffic to stable, the canary still there for the requests in flight
    expect(state('backend')).toMatchObject({ canary: { phase: 'rolling-back', weight: 0 }, stable: { image: stable } });
    expect(lastCommitFiles()).toContain('rollout/local/backend.yaml');
    expect(lastCommitFiles().every(f => f === 'rollout/local/backend.yaml' || f.startsWith('dist/'))).toBe(true);
    expect(git('status', '--porcelain')).toBe('');
    // once the cluster routes everything to stable, the canary is removed
    await applied('backend');
    const removed = await advance('backend');
    // the roll back was reported (exit 4) when it began: its end exits 0
    expect([removed.status, removed.json?.decision, removed.json?.reason]).toEqual([0, 'rollback', expect.stringMatching(/^rolled back: backend-stable runs ready/)]);
    expect(state('backend')).toMatchObject({ canary: null, stable: { image: stable } });
    expect(state('backend').history.map((h: any) => h.decision)).toEqual(['start', 'advance', 'hold', 'hold', 'hold', 'rollback', 'rollback']);
  }), 120_000);

  test.concurrent('by hand: rollback (exit 0: all traffic to stable), the gate removes the canary once that is applied, then nothing in flight', laneC.inTurn(async () => {
    const { git, state, canary, advance, applied, expectDistFresh } = laneC;
    const stable = state('gateway').stable.image;
    const r = await canary(['rollback', '--service', 'gateway', '--reason', 'tests', '--commit', '--json']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.json).toMatchObject({ decision: 'rollback', fromWeight: 0, toWeight: 0, reason: expect.stringMatching(/^rolling back by hand: .* \(tests\)$/) });
    expect(state('gateway')).toMatchObject({ canary: { phase: 'rolling-back', weight: 0 }, stable: { image: stable } });
    await applied('gateway');
    const removed = await advance('gateway');
    expect([removed.status, removed.json?.decision]).toEqual([0, 'rollback']);
    expect(state('gateway')).toMatchObject({ canary: null, stable: { image: stable } });
    await expectDistFresh();
    const head = git('rev-parse', 'HEAD');
    const none = await advance('gateway');
    expect([none.status, none.json?.decision, none.json?.queries]).toEqual([0, 'none', {}]);
    const promote = await canary(['promote', '--service', 'gateway', '--json']);
    expect([promote.status, promote.json?.error?.code]).toEqual([2, 'not-in-flight']);
    expect(git('rev-parse', 'HEAD')).toBe(head);
  }), 120_000);

  test.concurrent('thin traffic: hold (exit 3), counters and history committed, weights and dist/ unchanged', laneB.inTurn(async () => {
    const { git, state, distTree, advance, traffic, lastCommitFiles } = laneB;
    // continues the canary of the previous test, at 10%
    await traffic('gateway', 10, { totalRps: RPS / 20 });
    const dist = distTree();
    for (const count of [1, 2]) {
      await laneB.windowDue('gateway');
      const r = await advance('gateway');
      expect([r.status, r.stderr]).toEqual([3, '']);
      expect(r.json).toMatchObject({ decision: 'hold', hold: 'too-little-traffic', fromWeight: 10, toWeight: 10, consecutiveHolds: count,
        reason: `too little traffic: fewer than 100 requests (stable and canary) in the ${WINDOW} window` });
      expect(r.json.measurements.requests).toBeGreaterThan(0);
      expect(r.json.measurements.requests).toBeLessThan(100);
      expect(lastCommitFiles()).toEqual(['rollout/local/gateway.yaml']);
      expect(git('log', '-1', '--format=%B')).toContain(`holds in a row: ${count} (roll back beyond 12)`);
    }
    expect(distTree()).toEqual(dist);
    expect(state('gateway').canary).toMatchObject({ weight: 10, consecutiveHolds: 2, failedChecks: 0 });
    expect(state('gateway').history.at(-1)).toMatchObject({ decision: 'hold', count: 2 });
    expect(git('status', '--porcelain')).toBe('');
  }), 120_000);

  test.concurrent('a canary that receives nothing: a failed check; one that crashes behind its callers: rolled back at once', laneB.inTurn(async () => {
    const { state, distTree, advance, traffic } = laneB;
    await traffic('gateway', 10, { canary: { rps: 0 } });
    const dist = distTree();
    const nothing = await advance('gateway');
    expect([nothing.status, nothing.stderr]).toEqual([3, '']);
    expect(nothing.json).toMatchObject({ decision: 'hold', hold: 'failed-check', toWeight: 10, failedCheckCount: 1 });
    expect(nothing.json.measurements).toMatchObject({ canaryRequests: 0, successRatio: null, p95Ms: null });
    expect(nothing.json.failedChecks).toEqual([expect.stringMatching(/^canaryTraffic: 0 requests < \d+ expected \(10% of \d+ × 0\.5\)/)]);

    expect(distTree()).toEqual(dist);

    // the pods report nothing, the callers report 503s for them: requests enough, success ratio 0, below
    // analysis.rollbackBelowSuccessRatio (0.5): no third window of every request failing
    await traffic('gateway', 10, { canary: { rps: 0, callerOnlyErrorRps: RPS / 10 } });
    const crashing = await advance('gateway');
    expect([crashing.status, crashing.stderr]).toEqual([4, '']);
    expect(crashing.json).toMatchObject({ decision: 'rollback', fromWeight: 10, toWeight: 0, failedCheckCount: 2 });
    expect(crashing.json.reason)
      .toMatch(/^rolling back at once: success ratio 0 < 0\.5 \(analysis\.rollbackBelowSuccessRatio\) over \d+ canary requests; /);
    expect(crashing.json.measurements.canaryRequests).toBeGreaterThan(0);
    expect(crashing.json.measurements.successRatio).toBe(0);
    expect(crashing.json.failedChecks).toContain('successRatio: 0 < 0.95');
    expect(state('gateway').canary).toMatchObject({ weight: 0, phase: 'rolling-back', failedChecks: 2 });
  }), 120_000);

  test.concurrent('the services\' own http_* metrics (analysis.metrics: http) measure and advance the same way', laneD.inTurn(async () => {
    const { git, advance, traffic, toFirstStep } = laneD;
    const file = path.join(laneD.dir, 'rollout', 'local', 'backend.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^history:/m, 'analysis:\n  metrics: http\nhistory:'));
    git('commit', '--quiet', '--all', '--message', 'backend: gate on the http_* metrics');
    await toFirstStep('backend', 'ghcr.io/example/obs-canary-backend:0.3.0');
    await traffic('backend', 10);
    const r = await advance('backend');
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.json).toMatchObject({ decision: 'advance', fromWeight: 10, toWeight: 25, failedChecks: [] });
    expect(r.json.queries.canaryRequests).toContain('http_requests_total{namespace="apps",app="backend",version="canary"');
    expect(r.json.queries.canaryCallerErrors).toBeUndefined();
    expect(r.json.measurements).toMatchObject({ successRatio: expect.any(Number), p95Ms: 48.8 });
    expect(r.json.measurements.canaryRequests).toBeGreaterThan(0);
  }), 120_000);

  test.concurrent('a canary within the SLO but far slower than stable: the latency baseline fails it, the third time rolls back',
    laneD.inTurn(async () => {
      const { state, advance, traffic, applied } = laneD;
      // continues the canary of the previous test, now at 25 %: the cluster runs the step, then the canary turns slow
      await applied('backend');
      const seen = await advance('backend');
      expect([seen.status, seen.json?.hold]).toEqual([3, 'applied']);
      await traffic('backend', 25, { canary: { latencyMs: 240 } });
      for (const [i, code] of [3, 3, 4].entries()) {
        await laneD.windowDue('backend');
        const r = await advance('backend');
        expect([r.status, r.stderr]).toEqual([code, '']);
        expect(r.json.measurements.p95Ms).toBeLessThan(300); // within the SLO's own bound
        const baselineP95 = /^baselineP95: canary [\d.]+ ms > stable [\d.]+ ms (× 1\.5|\+ 25 ms) = [\d.]+ ms$/;
        expect(r.json.failedChecks).toEqual([expect.stringMatching(baselineP95)]);
        expect(r.json.failedCheckCount).toBe(i + 1);
      }
      expect(state('backend').canary).toMatchObject({ phase: 'rolling-back', weight: 0 });
    }), 120_000);

  test.concurrent('a change of env alone starts a canary of the same image; its promotion ends only once stable runs the new configuration',
    laneD.inTurn(async () => {
      const { git, state, canary, advance, applied, distTree } = laneD;
      // the previous test's roll back: once the route to stable is applied, the canary goes
      await applied('backend');
      expect((await advance('backend')).json?.decision).toBe('rollback');
      const image = state('backend').stable.image;
      const file = path.join(laneD.dir, 'services', 'backend.yaml');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^env:\n/m, 'env:\n  FEATURE_X: "on"\n'));
      git('commit', '--quiet', '--all', '--message', 'backend: FEATURE_X');
      // merged, not released: stable runs what its record says
      expect(distTree().get('local/apps/manifest.yaml')).not.toContain('FEATURE_X');
      const started = await canary(['start', '--service', 'backend', '--commit', '--json']);
      expect([started.status, started.stderr]).toEqual([0, '']);
      const { stable, canary: release } = state('backend');
      expect(release).toMatchObject({ image, weight: 0 });
      expect(release.pod.hash).not.toBe(stable.pod.hash);
      expect(release.pod.env).toMatchObject({ FEATURE_X: 'on' });
      // by hand to the promotion (the steps are the healthy lane's business): stable rolls out the new configuration
      expect((await canary(['promote', '--service', 'backend', '--commit', '--json'])).json?.decision).toBe('promote');
      // the same image everywhere: only the configuration's hash tells that Argo CD has not applied it to stable yet
      await applied('backend', { stableNotYet: true });
      const early = await advance('backend');
      expect([early.status, early.json?.hold]).toEqual([3, 'applying']);
      expect(early.json.reason).toContain(`(pod ${release.pod.hash})`);
      await applied('backend');
      const done = await advance('backend');
      expect([done.status, done.json?.decision]).toEqual([0, 'promote']);
      expect(state('backend')).toMatchObject({ canary: null, stable: { image, pod: { hash: release.pod.hash } } });
      expect(distTree().get('local/apps/manifest.yaml')).toContain('FEATURE_X');
    }), 120_000);

  test.concurrent('a team\'s third service in its own namespace: init, start and advance like the demo\'s', laneC.inTurn(async () => {
    const { git, state, canary, advance, traffic, toFirstStep } = laneC;
    // what a team adds: one service file (tests/fixtures/services/ledger.yaml), then canary init
    fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'services', 'ledger.yaml'), path.join(laneC.dir, 'services', 'ledger.yaml'));
    git('add', 'services/ledger.yaml');
    git('commit', '--quiet', '--message', 'Onboard ledger');
    // by digest: init writes every environment, and prod releases by digest only
    const stable = `ghcr.io/example/ledger@sha256:${'1'.repeat(64)}`;
    const init = await canary(['init', '--service', 'ledger', '--image', stable, '--commit', '--json']);
    expect([init.status, init.stderr, init.json?.error]).toEqual([0, '', undefined]);
    expect(state('ledger')).toMatchObject({ service: 'ledger', stable: { image: stable }, canary: null });
    await toFirstStep('ledger', 'ghcr.io/example/ledger:1.1.0', 'payments');
    expect(fs.readFileSync(path.join(laneC.dir, 'dist', 'local', 'payments', 'manifest.yaml'), 'utf8')).toContain('name: ledger-canary');
    await traffic('ledger', 10, { namespace: 'payments' });
    const r = await advance('ledger');
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.json).toMatchObject({ service: 'ledger', decision: 'advance', fromWeight: 10, toWeight: 25, failedChecks: [] });
    expect(r.json.queries.canaryRequests).toContain('destination_workload_namespace="payments",destination_workload="ledger-canary"');
    expect(r.json.measurements.canaryRequests).toBeGreaterThan(0);
    expect(state('ledger').canary).toMatchObject({ weight: 25 });
    expect(git('status', '--porcelain')).toBe('');
  }), 120_000);
  test.concurrent('a canary that never runs ready gets no weighted traffic and is rolled back at its progress deadline', laneC.inTurn(async () => {
    const { git, state, advance, start, applied, distTree } = laneC;
    const file = path.join(laneC.dir, 'rollout', 'local', 'gateway.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^history:/m, 'analysis:\n  progressDeadline: 1s\nhistory:'));
    git('commit', '--quiet', '--all', '--message', 'gateway: a short progress deadline');
    await start('gateway', 'ghcr.io/example/obs-canary-gateway:0.4.0');
    // the pods never become available (a crash loop, an image that cannot be pulled)
    await applied('gateway', { canaryAvailable: false });
    const deadline = Date.parse(state('gateway').canary.weightChangedAt) + 1000;
    // before the deadline (when this machine asks in time): a hold that writes nothing
    let r: Run | undefined;
    if (Date.now() < deadline - 300) {
      const waiting = await advance('gateway');
      if (waiting.status === 4) r = waiting; // decided after the deadline after all, under load
      else expect([waiting.status, waiting.json?.hold, waiting.json?.changed]).toEqual([3, 'applying', []]);
    }
    if (!r) {
      await waitFor(() => Date.now() > deadline, { what: 'the progress deadline', intervalMs: 50 });
      r = await advance('gateway');
    }
    expect([r.status, r.stderr]).toEqual([4, '']);
    expect(r.json).toMatchObject({ decision: 'rollback', fromWeight: 0, toWeight: 0, reason: expect.stringMatching(/^rolling back: not observed gateway-canary runs ready .* within 1s of /) });
    // the weighted route never gave it anything
    expect(state('gateway').history.filter((h: any) => h.image === 'ghcr.io/example/obs-canary-gateway:0.4.0').map((h: any) => h.toWeight)).toEqual([0, 0]);
    const route = parseAllDocuments(distTree().get('local/apps/manifest.yaml')!).map(d => d.toJS())
      .find(o => o.kind === 'VirtualService' && o.metadata.name === 'gateway').spec.http.find((h: any) => h.name === 'weighted');
    expect(route.route.map((d: any) => [d.destination.subset, d.weight])).toEqual([['stable', 100], ['canary', 0]]);
    await applied('gateway', { canaryAvailable: false });
    const removed = await advance('gateway');
    expect([removed.status, removed.json?.decision]).toEqual([0, 'rollback']);
    expect(state('gateway').canary).toBeNull();
    expect(git('status', '--porcelain')).toBe('');
  }), 120_000);
  test.concurrent('a failing smoke check rolls the canary back before any weighted traffic; without a URL for them it holds', laneC.inTurn(async () => {
    const { state, canary, start, applied } = laneC;
    const pinned = { [CANARY_PIN_ANSWER.header]: CANARY_PIN_ANSWER.value };
    const failing = await StubServer.start(async ({ url }) =>
      (url.includes('routes') ? { status: 503, body: {}, headers: pinned } : { status: 200, body: {}, headers: { 'x-trace-id': 'x', ...pinned } }));
    stubs.push(failing);
    await start('gateway', 'ghcr.io/example/obs-canary-gateway:0.5.0');
    await applied('gateway');
    const advance = (env: Record<string, string>) => canary(['advance', '--service', 'gateway', ...FLAGS, '--commit', '--json'], env);
    // the checks are named but nothing says where the service answers: a hold that counts, never a weighted step
    const unreachable = await advance({ SMOKE_BASE_URL: '' });
    expect([unreachable.status, unreachable.json?.hold, unreachable.json?.toWeight]).toEqual([3, 'no-data', 0]);
    expect(unreachable.json.reason).toMatch(/^smoke checks not run: services\/gateway\.yaml names 3 smoke checks, but there is no --smoke-url/);
    const r = await advance({ SMOKE_BASE_URL: failing.url });
    expect([r.status, r.stderr]).toEqual([4, '']);
    expect(r.json).toMatchObject({ decision: 'rollback', fromWeight: 0, toWeight: 0, reason: 'rolling back: 2 of 3 smoke checks failed through the pin' });
    expect(r.json.failedChecks).toEqual([
      'smoke: GET /api/flight/routes?departure=ICN answered 503, expected 200', 'smoke: GET /api/flight/routes?departure=icn answered 503, expected 400']);
    expect(failing.requests.every(request => request.headers[CANARY_PIN.header] === CANARY_PIN.value)).toBe(true);
    expect(state('gateway').canary).toMatchObject({ phase: 'rolling-back', weight: 0 });
    expect(state('gateway').history.filter((h: any) => h.image === 'ghcr.io/example/obs-canary-gateway:0.5.0').every((h: any) => h.toWeight === 0)).toBe(true);
  }), 120_000);

  test.concurrent('a canary whose every pod goes after its step was applied: its callers\' failures count for no track; rolled back at once',
    laneC.inTurn(async () => {
      const { state, advance, traffic, applied, toFirstStep } = laneC;
      await toFirstStep('backend', 'ghcr.io/example/obs-canary-backend:0.6.0');
      // evicted, or crash-looping and never ready: the callers' sidecars answer its share 503 "no healthy upstream",
      // which names no workload, so the window holds stable's requests alone
      await applied('backend', { canaryAvailable: false });
      await traffic('backend', 10, { canary: { rps: 0 } });
      const available = `max_over_time(kube_deployment_status_replicas_available{namespace="apps",deployment="backend-canary"}[${WINDOW}])`;
      const read = () => queryValue({ url: laneC.prometheus.url, timeoutMs: 2000 }, available, new Date()).catch(() => null);
      await waitFor(async () => (await read()) === 0, { what: `a ${WINDOW} window without a ready pod of backend-canary`, timeoutMs: 30_000 });
      const r = await advance('backend');
      expect([r.status, r.stderr]).toEqual([4, '']);
      expect(r.json).toMatchObject({ decision: 'rollback', fromWeight: 10, toWeight: 0, failedCheckCount: 1 });
      expect(r.json.reason).toMatch(/^rolling back at once: its 10% of the requests fail; failed check 1 of 3: canaryPods: no pod of /);
      expect(r.json.queries.canaryAvailable).toContain('kube_deployment_status_replicas_available{namespace="apps",deployment="backend-canary"}');
      expect(state('backend').canary).toMatchObject({ phase: 'rolling-back', weight: 0 });
    }), 120_000);
});
