import { runGate, runGateInClusters } from '../../lib/delivery/gate';
import { queryValue } from '../../lib/delivery/prometheus';
import { QueryName, gateQueries } from '../../lib/delivery/queries';
import { withOverrides } from '../../lib/delivery/plan';
import { settingsOf } from '../../lib/rollout/settings';
import { RolloutState } from '../../lib/rollout/state';
import { clusterSeenQuery, observedReleaseQuery } from '../../lib/slo/cluster-state';
import { CANARY_PIN_ANSWER, CLUSTER_LABEL } from '../../lib/slo/vocabulary';
import { SERVICE_CLUSTER_LABEL_RELABELS } from '../../lib/constructs/prometheus-config';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { StubResponse, StubServer } from '../apps/support/stub-server';
import { MeshMetricsTarget } from '../support/mesh-metrics-target';
import { PrometheusServer, startPrometheus } from '../support/prometheus-server';
import { waitFor } from '../support/wait';
import { GATEWAY, fixtureState } from '../rollout/fixtures';

/**
 * One store, two clusters: a Prometheus that accepts remote write stands in for the central store (Mimir), fed by two
 * Prometheus agents that scrape one cluster each and label their series with it. The gate for a cluster's canary reads
 * that cluster's numbers only.
 */
/** The canary's image in every scenario; the time of the stub scenarios, two minutes after the last weight change. */
const IMAGE = 'registry.example.com/obs-canary-gateway:1.1.0';
const NOW = new Date('2026-11-01T12:00:00Z');
const changed = '2026-11-01T11:58:00Z';
/** A store's answers: one series (the query's "yes"), or none. */
const ONE: StubResponse = { status: 200, body: { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, '1'] }] } } };
const NONE: StubResponse = { status: 200, body: { status: 'success', data: { resultType: 'vector', result: [] } } };

describe('the gate against a store that holds two clusters', () => {
  const WINDOW = '20s';
  const started = '2020-01-01T00:00:00Z';
  const state: RolloutState = {
    ...fixtureState('steady'),
    canary: { image: IMAGE, weight: 10, startedAt: started, weightChangedAt: started, appliedAt: started, failedChecks: 0, consecutiveHolds: 0 },
  };
  const settings = withOverrides(settingsOf(state, GATEWAY), { window: WINDOW, settle: '0s', minRequests: 100, queryTimeout: '10s' });
  const targets: MeshMetricsTarget[] = [];
  const servers: PrometheusServer[] = [];
  let store: PrometheusServer;
  /** A service's own metrics with a `cluster` label of its own (its database's), scraped in both clusters. */
  let own: Server;

  /** Waits until each cluster has `samples` samples in the store in the window that ends at `at`. */
  const samplesIn = (at: () => Date, samples: number) => waitFor(async () => {
    const counts = await Promise.all(['a', 'b'].map(c => queryValue({ url: store.url, timeoutMs: 2000 },
      `count_over_time(test_traffic_epoch{service="gateway",${CLUSTER_LABEL}="${c}"}[${WINDOW}])`, at()).catch(() => null)));
    return counts.every(n => n !== null && n >= samples);
  }, { what: `${samples} samples of each cluster in the store`, timeoutMs: 60_000, intervalMs: 250 });

  beforeAll(async () => {
    store = await startPrometheus({ scrapeConfigs: [], mode: 'receiver' });
    servers.push(store);
    own = createServer((_req, res) => res.end('# TYPE ledger_queries_total counter\nledger_queries_total{cluster="db-main"} 7\n'));
    await new Promise<void>(resolve => own.listen(0, '127.0.0.1', resolve));
    const ownTarget = `127.0.0.1:${(own.address() as AddressInfo).port}`;
    for (const [cluster, errorRatio] of [['a', 0], ['b', 0.5]] as const) {
      const target = await MeshMetricsTarget.start();
      targets.push(target);
      // the same service in both clusters; b's canary answers half of its requests with 503
      target.setTraffic('gateway', { stable: { rps: 900, latencyMs: 40 }, canary: { rps: 100, errorRatio, latencyMs: 45 } });
      // both run the step (the gate asks each cluster before it measures it)
      target.setCluster('gateway', { stable: { image: state.stable.image, available: true }, canary: { image: IMAGE, available: true }, canaryWeight: 10 });
      servers.push(await startPrometheus({
        scrapeConfigs: [
          { job_name: 'mesh', static_configs: [{ targets: [target.address] }] },
          { job_name: 'kube-state-metrics', metrics_path: '/ksm', honor_labels: true, static_configs: [{ targets: [target.address] }] },
          // the services job's relabelling in a, none in b (the check can tell)
          { job_name: 'own', static_configs: [{ targets: [ownTarget] }], ...(cluster === 'a' ? { metric_relabel_configs: SERVICE_CLUSTER_LABEL_RELABELS } : {}) },
        ],
        mode: 'agent', externalLabels: { [CLUSTER_LABEL]: cluster }, remoteWrite: [`${store.url}/api/v1/write`],
      }));
    }
    await samplesIn(() => new Date(), 4);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(servers.map(s => s.stop()));
    await Promise.all(targets.map(t => t.close()));
    await new Promise<void>(resolve => (own ? own.close(() => resolve()) : resolve()));
  });

  test('a service\'s own cluster label becomes exported_cluster: its series stay the application cluster\'s (without it, the database\'s)', async () => {
    const series = async () => ((await (await fetch(`${store.url}/api/v1/query?query=ledger_queries_total`)).json()) as {
      data: { result: Array<{ metric: Record<string, string> }> };
    }).data.result.map(r => [r.metric.job, r.metric[CLUSTER_LABEL], r.metric[`exported_${CLUSTER_LABEL}`]]);
    await waitFor(async () => (await series()).length === 2, { what: 'the own job of both clusters in the store', timeoutMs: 30_000, intervalMs: 250 });
    expect((await series()).sort()).toEqual([['own', 'a', 'db-main'], ['own', 'db-main', undefined]]);
  });

  const gate = (cluster?: string, now = new Date()) => runGate({
    state, service: GATEWAY, settings, now, prometheus: { url: store.url }, ...(cluster !== undefined ? { cluster } : {}),
  });

  test('cluster a\'s canary advances on its own numbers; b\'s failing series are not its', async () => {
    const run = await gate('a');
    expect(run.stage.kind).toBe('measure');
    for (const query of Object.values(run.queries)) expect(query).toContain(`${CLUSTER_LABEL}="a"`);
    expect([run.result.decision, run.result.toWeight, run.result.failedChecks]).toEqual(['advance', 25, []]);
    expect(run.outcome?.samples.canaryErrors).toBe(0);
  });

  test('cluster b\'s canary fails its own check', async () => {
    const run = await gate('b');
    expect(run.result.decision).toBe('hold');
    expect(run.result.failedChecks.join(' ')).toMatch(/success/i);
    expect(run.outcome?.samples.canaryErrors).toBeGreaterThan(0);
  });

  test('without the cluster label, the two clusters\' traffic is mixed: the reason every query of a central store names it', async () => {
    // one instant for the three: the agents started seconds apart, so their windows hold different spans of traffic;
    // 2 s back, so that no remote-write batch of the window (sent within 200 ms) lands between the three queries
    const back = () => new Date(Date.now() - 2000);
    await samplesIn(back, 4);
    const now = back();
    const [mixed, a, b] = (await Promise.all([gate(undefined, now), gate('a', now), gate('b', now)])).map(r => r.outcome!.samples.canaryRequests!);
    expect([a, b]).toEqual([expect.any(Number), expect.any(Number)]);
    expect(Math.min(a, b)).toBeGreaterThan(0);
    expect(Math.abs(mixed - (a + b))).toBeLessThanOrEqual(1);
  });

  test('the cluster-state queries carry the cluster too, in every selector', () => {
    const observed = observedReleaseQuery({ service: 'gateway', namespace: 'apps', track: 'canary', image: IMAGE, canaryWeight: 10, podHash: 'abc', cluster: 'a' });
    const selectors = observed.match(/\{[^}]*\}/g)!;
    expect(selectors.length).toBeGreaterThan(10);
    for (const selector of selectors) expect(selector).toMatch(/^\{cluster="a",namespace="apps"/);
    expect(clusterSeenQuery({ service: 'gateway', namespace: 'apps', cluster: 'b' })).toContain('{cluster="b",namespace="apps",deployment="gateway-stable"}');
    expect(observedReleaseQuery({ service: 'gateway', namespace: 'apps', track: 'canary', image: IMAGE })).not.toContain(CLUSTER_LABEL);
  });

  test('the release moves only when every cluster lets it: b holds it, with its own counters and its name in the reason', async () => {
    const both = await runGateInClusters({ state, service: GATEWAY, settings, now: new Date(), prometheus: { url: store.url } }, ['a', 'b']);
    expect(both.runs.map(r => [r.cluster, r.run.result.decision])).toEqual([['a', 'advance'], ['b', 'hold']]);
    expect([both.decidedBy, both.result.decision, both.result.toWeight]).toEqual(['b', 'hold', 10]);
    expect(both.result.reason).toMatch(/^cluster b: /);
    expect(both.result.change!.state.canary!.failedChecks).toBe(1);
    expect(both.result.change!.state.history.at(-1)).toEqual(both.result.change!.entry);
    expect(both.result.change!.entry.reason).toBe(both.result.reason);
    const onlyA = await runGateInClusters({ state, service: GATEWAY, settings, now: new Date(), prometheus: { url: store.url } }, ['a']);
    expect([onlyA.result.decision, onlyA.result.toWeight]).toEqual(['advance', 25]);
  });

  test('one failing cluster at the limit of failed checks rolls the release back', async () => {
    const last = { ...state, canary: { ...state.canary!, failedChecks: settings.analysis.maxFailedChecks - 1 } };
    const both = await runGateInClusters({ state: last, service: GATEWAY, settings, now: new Date(), prometheus: { url: store.url } }, ['a', 'b']);
    expect([both.decidedBy, both.result.decision]).toEqual(['b', 'rollback']);
    expect(both.result.change!.state.canary).toMatchObject({ phase: 'rolling-back', weight: 0 });
  });
});

/**
 * While a step, a promotion or a roll back is applied, the clusters catch up one by one (each its own Argo CD sync):
 * a stub answers as the store, with cluster a running the release and b not yet.
 */
describe('applying a release in two clusters', () => {
  /** The clusters observed running what is applied. */
  let running: string[] = [];
  /** The clusters whose series the store holds (kube-state-metrics answers). */
  let seen = ['a', 'b'];
  let store: StubServer;
  beforeAll(async () => {
    store = await StubServer.start(async ({ body }) => {
      const query = new URLSearchParams(body).get('query')!;
      const cluster = /cluster="([^"]+)"/.exec(query)![1];
      if (query.startsWith(clusterSeenQuery({ service: 'gateway', namespace: 'apps', cluster }))) return seen.includes(cluster) ? ONE : NONE;
      return running.includes(cluster) ? ONE : NONE;
    });
  });
  afterEach(() => {
    seen = ['a', 'b'];
  });
  afterAll(() => store.close());

  const stateAt = (canary: Partial<NonNullable<RolloutState['canary']>>): RolloutState => ({
    ...fixtureState('steady'),
    canary: { image: IMAGE, weight: 10, startedAt: changed, weightChangedAt: changed, failedChecks: 0, consecutiveHolds: 0, ...canary },
  });
  const gate = (state: RolloutState) => runGateInClusters({
    state, service: GATEWAY, settings: settingsOf(state, GATEWAY), now: NOW, prometheus: { url: store.url },
  }, ['a', 'b']);

  test('a step applied in a alone is not recorded as applied: b holds it, nothing is written', async () => {
    running = ['a'];
    const both = await gate(stateAt({}));
    expect(both.runs.map(r => [r.cluster, r.run.result.hold, r.run.result.change === null])).toEqual([['a', 'applied', false], ['b', 'applying', true]]);
    expect([both.decidedBy, both.result.decision, both.result.change]).toEqual(['b', 'hold', null]);
    running = ['a', 'b'];
    const applied = await gate(stateAt({}));
    expect(applied.result.change!.state.canary!.appliedAt).toBe(NOW.toISOString());
  });

  test('a roll back ends only once every cluster sends all traffic to stable', async () => {
    running = ['a'];
    const rollingBack = stateAt({ weight: 0, phase: 'rolling-back' });
    const both = await gate(rollingBack);
    expect(both.runs.map(r => r.run.result.decision)).toEqual(['rollback', 'hold']);
    expect([both.decidedBy, both.result.decision, both.result.change]).toEqual(['b', 'hold', null]);
    running = ['a', 'b'];
    const ended = await gate(rollingBack);
    expect([ended.result.decision, ended.result.change!.state.canary]).toEqual(['rollback', null]);
  });

  test('a promotion ends only once every cluster runs the new release on stable', async () => {
    running = ['b'];
    const promoting = stateAt({ weight: 100, phase: 'promoting' });
    const both = await gate(promoting);
    expect([both.decidedBy, both.result.decision, both.result.change]).toEqual(['a', 'hold', null]);
    running = ['a', 'b'];
    expect((await gate(promoting)).result.decision).toBe('promote');
  });

  test('a step recorded applied, measured: a cluster that does not run it (added since) holds the release, counted, measured not at all', async () => {
    running = ['a'];
    const measuring = stateAt({ appliedAt: changed });
    const both = await gate({ ...measuring, canary: { ...measuring.canary!, weightChangedAt: '2026-11-01T11:00:00Z', appliedAt: '2026-11-01T11:01:00Z' } });
    const b = both.runs.find(r => r.cluster === 'b')!.run;
    expect(b.outcome).toEqual({
      ok: false, error: expect.stringMatching(/^this cluster does not run the step yet \(not observed: gateway-canary runs ready/), samples: {},
    });
    expect([both.decidedBy, both.result.decision, both.result.hold]).toEqual(['b', 'hold', 'no-data']);
    expect(both.result.reason).toMatch(/^cluster b: no verdict: this cluster does not run the step yet/);
    expect(both.result.change!.state.canary).toMatchObject({ weight: 10, consecutiveHolds: 1, failedChecks: 0 });
  });

  test('a step measured: a cluster whose series the store lacks (its agent silent) holds the release, and says why', async () => {
    running = ['a', 'b'];
    seen = ['a'];
    const measuring = stateAt({ weightChangedAt: '2026-11-01T11:00:00Z', appliedAt: '2026-11-01T11:01:00Z' });
    const both = await gate(measuring);
    expect([both.decidedBy, both.result.hold]).toEqual(['b', 'no-data']);
    expect(both.result.reason).toMatch(/^cluster b: no verdict: the store holds nothing of this cluster's gateway \(.*\): is its agent writing/);
  });

  test('past the progress deadline, the cluster that never ran the step rolls the release back', async () => {
    running = ['a'];
    const late = stateAt({ weightChangedAt: '2026-11-01T10:00:00Z' });
    const both = await gate(late);
    expect([both.decidedBy, both.result.decision]).toEqual(['b', 'rollback']);
    expect(both.result.change!.state.canary).toMatchObject({ phase: 'rolling-back', weight: 0 });
  });
});

describe('measuring a release in two clusters', () => {
  const started = '2020-01-01T00:00:00Z';
  const state: RolloutState = {
    ...fixtureState('steady'),
    canary: { image: IMAGE, weight: 10, startedAt: started, weightChangedAt: started, appliedAt: started, failedChecks: 1, consecutiveHolds: 0 },
  };
  const settings = withOverrides(settingsOf(state, GATEWAY), { settle: '0s' });
  let store: StubServer;
  beforeAll(async () => {
    // a has too little traffic to judge; b's canary fails half of its requests
    const numbers: Record<string, Partial<Record<QueryName, number>>> = {
      a: { stableRequests: 9, canaryRequests: 1 },
      b: { stableRequests: 900, canaryRequests: 100, canaryErrors: 50 },
      // not observed running the step (below): c's canary crash-loops (every request fails, its callers see it), d's
      // is healthy, f's pods are pending (no endpoint: it gets no traffic at all)
      c: { stableRequests: 900, canaryRequests: 100, canaryErrors: 100 },
      d: { stableRequests: 900, canaryRequests: 100 },
      f: { stableRequests: 900, canaryRequests: 0 },
    };
    const answers = new Map<string, number>();
    for (const [cluster, values] of Object.entries(numbers)) {
      const queries = gateQueries({
        metrics: settings.analysis.metrics, service: 'gateway', namespace: GATEWAY.namespace, window: settings.analysis.window,
        p99: settings.slo.p99LatencyMs !== undefined, baseline: settings.analysis.baseline.enabled, cluster,
      });
      // every canary had a ready pod in the window but f's
      const defaults: Partial<Record<QueryName, number>> = { canaryAvailable: cluster === 'f' ? 0 : 1 };
      for (const [name, promql] of Object.entries(queries)) {
        answers.set(promql, values[name as QueryName] ?? defaults[name as QueryName] ?? (/P9\d$/.test(name) ? 40 : 0));
      }
      // a and b run the step; every cluster is seen
      const release = { service: 'gateway', namespace: GATEWAY.namespace, track: 'canary', image: IMAGE, canaryWeight: 10, cluster } as const;
      if (cluster === 'a' || cluster === 'b') answers.set(observedReleaseQuery(release), 10);
      answers.set(clusterSeenQuery(release), 1);
    }
    store = await StubServer.start(async ({ body }) => {
      const value = answers.get(new URLSearchParams(body).get('query')!);
      return value === undefined ? NONE : { status: 200, body: { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, String(value)] }] } } };
    });
  });
  afterAll(() => store.close());

  test('a cluster whose canary does not run ready (crash-looping): its failures stand, rolled back at once; a healthy one not running the step '
    + 'holds, not measured', async () => {
    const crashing = await runGateInClusters({ state, service: GATEWAY, settings, now: NOW, prometheus: { url: store.url } }, ['a', 'c']);
    expect([crashing.decidedBy, crashing.result.decision]).toEqual(['c', 'rollback']);
    expect(crashing.result.reason).toMatch(/^cluster c: rolling back at once: success ratio 0 < 0\.5/);
    const joining = await runGateInClusters({ state, service: GATEWAY, settings, now: NOW, prometheus: { url: store.url } }, ['d']);
    expect([joining.result.decision, joining.result.hold]).toEqual(['hold', 'no-data']);
    expect(joining.result.reason).toMatch(/^cluster d: no verdict: this cluster does not run the step yet/);
  });

  test('a cluster whose canary had no ready pod all window (pods pending) while its route gave it a share: rolled back at once, naming it (its '
    + 'callers\' failures count for no track); one that does not run the step for another reason holds, and at the fail-safe says why', async () => {
    const pending = await runGateInClusters({ state, service: GATEWAY, settings, now: NOW, prometheus: { url: store.url } }, ['a', 'f']);
    expect([pending.decidedBy, pending.result.decision, pending.result.failedChecks]).toEqual(['f', 'rollback',
      ['canaryPods: no pod of gateway-canary was ready in the 5m window, while the route gives it 10%']]);
    expect(pending.result.reason).toMatch(/^cluster f: rolling back at once: its 10% of the requests fail; failed check 2 of 3: canaryPods: /);
    const atLimit: RolloutState = { ...state, canary: { ...state.canary!, consecutiveHolds: settings.analysis.maxConsecutiveHolds } };
    const safe = await runGateInClusters({ state: atLimit, service: GATEWAY, settings, now: NOW, prometheus: { url: store.url } }, ['d']);
    expect(safe.result.decision).toBe('rollback');
    expect(safe.result.reason).toMatch(/last: no verdict: this cluster does not run the step yet/);
  });

  test('a failed check in one cluster is counted although another holds for too little traffic', async () => {
    const both = await runGateInClusters({ state, service: GATEWAY, settings, now: NOW, prometheus: { url: store.url } }, ['a', 'b']);
    expect(both.runs.map(r => [r.cluster, r.run.result.hold])).toEqual([['a', 'too-little-traffic'], ['b', 'failed-check']]);
    expect([both.decidedBy, both.result.hold, both.result.failedCheckCount]).toEqual(['b', 'failed-check', 2]);
    expect(both.result.change!.state.canary!.failedChecks).toBe(2);
  });
});

describe('smoke checks in two clusters', () => {
  const service = { ...GATEWAY, smoke: [{ path: '/healthz' }] };
  const state: RolloutState = {
    ...fixtureState('steady'),
    canary: { image: IMAGE, weight: 0, startedAt: changed, weightChangedAt: changed, failedChecks: 0, consecutiveHolds: 0 },
  };
  let store: StubServer;
  let canary: StubServer;
  beforeAll(async () => {
    // every cluster runs the canary at weight 0
    store = await StubServer.start(async () => ONE);
    // a's canary answers its checks (through the pin); b's canary fails them; c's URL reaches stable, pin ignored
    const pinned = { [CANARY_PIN_ANSWER.header]: CANARY_PIN_ANSWER.value };
    canary = await StubServer.start(async ({ url }) => (url === '/a/healthz'
      ? { status: 200, body: 'ok', headers: pinned }
      : url === '/b/healthz' ? { status: 500, body: 'broken', headers: pinned } : { status: 200, body: 'stable' }));
  });
  afterAll(async () => {
    await store.close();
    await canary.close();
  });
  const gate = (smokeUrl: string, clusters: readonly string[]) => runGateInClusters({
    state, service, settings: settingsOf(state, service), now: NOW, prometheus: { url: store.url }, smokeUrl,
  }, clusters);

  test('{cluster} in the smoke URL sends each cluster\'s checks to its own canary: b\'s failing check rolls the release back', async () => {
    const both = await gate(`${canary.url}/{cluster}`, ['a', 'b']);
    expect(both.runs.map(r => [r.cluster, r.run.smoke?.ran && r.run.smoke.results.map(c => c.passed)])).toEqual([['a', [true]], ['b', [false]]]);
    expect([both.decidedBy, both.result.decision]).toEqual(['b', 'rollback']);
    expect((await gate(`${canary.url}/{cluster}`, ['a'])).result.decision).toBe('advance');
  });

  test('checks that did not reach c\'s canary (stable answered, the pin ignored on the way) are not run there: a hold, never a roll back', async () => {
    const both = await gate(`${canary.url}/{cluster}`, ['a', 'c']);
    expect(both.runs.find(r => r.cluster === 'c')!.run.smoke).toEqual({ ran: false, reason: expect.stringMatching(/^1 of 1 did not reach the canary: GET \/healthz answered 200 without/) });
    expect(both.result.decision).toBe('hold');
  });

  test('no URL because the in-cluster gate\'s sidecar was not ready: the hold says so, not that a flag is missing', async () => {
    const run = await runGate({ state, service, settings: settingsOf(state, service), now: NOW, prometheus: { url: store.url },
      smokeUnavailable: 'the gate\'s sidecar was not ready within 15s' });
    expect(run.smoke).toEqual({ ran: false, reason: expect.stringMatching(/ smoke checks, but the gate's sidecar was not ready within 15s$/) });
    expect(run.result.decision).toBe('hold');
  });

  test('a URL naming {cluster} where there is one cluster reaches no host: a hold that says so, never a roll back', async () => {
    const run = await runGate({ state, service, settings: settingsOf(state, service), now: NOW, prometheus: { url: store.url }, smokeUrl: `${canary.url}/{cluster}` });
    expect(run.smoke).toEqual({ ran: false, reason: expect.stringContaining('the smoke URL names {cluster}, and this environment has no clusters to put there') });
    expect(run.result.decision).toBe('hold');
  });
});
