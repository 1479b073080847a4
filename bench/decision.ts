// bench/decision: the median wall time of one SLO gate decision (runGate(), what `canary advance` runs: every query
// against a local Prometheus, then decide(); no git, no synth) next to one `vector(1)` query round-trip, interleaved
// in one run so that both see the same machine and the same Prometheus.
//
//   npm run bench:decision [-- --runs 51]
import { MeshMetricsTarget } from '../tests/support/mesh-metrics-target';
import { startPrometheus } from '../tests/support/prometheus-server';
import { waitFor } from '../tests/support/wait';
import { runGate } from '../lib/delivery/gate';
import { withOverrides } from '../lib/delivery/plan';
import { settingsOf } from '../lib/rollout/settings';
import { queryValue } from '../lib/delivery/prometheus';
import { RolloutState } from '../lib/rollout/state';
import { ENVIRONMENT_NAMES } from '../lib/config/environments';
import { loadServices } from '../lib/services/catalog';
import { findRepoRoot } from '../lib/synth';
import { median, numberFlag } from './stats';

const runs = numberFlag(process.argv.slice(2), 'runs', 31, true);
const WINDOW = '30s';

const state: RolloutState = {
  service: 'gateway',
  stable: { image: 'ghcr.io/example/obs-canary-gateway:0.1.0' },
  canary: {
    image: 'ghcr.io/example/obs-canary-gateway:0.2.0', weight: 10, startedAt: '2020-01-01T00:00:00Z', weightChangedAt: '2020-01-01T00:00:00Z',
    // observed applied (the gate measures only a step the cluster runs)
    appliedAt: '2020-01-01T00:00:00Z', failedChecks: 0, consecutiveHolds: 0,
  },
  steps: [10, 25, 50, 100],
  slo: { p99LatencyMs: 1000 },
  history: [],
};

async function main(): Promise<void> {
  const target = await MeshMetricsTarget.start();
  const prometheus = await startPrometheus({ scrapeConfigs: [{ job_name: 'mesh', static_configs: [{ targets: [target.address] }] }] });
  try {
    target.setTraffic('gateway', { stable: { rps: 900, errorRatio: 0.001, latencyMs: 40 }, canary: { rps: 100, errorRatio: 0.002, latencyMs: 45 } });
    const options = { url: prometheus.url, timeoutMs: 5000 };
    await waitFor(async () => {
      const samples = await queryValue(options, `count_over_time(test_traffic_epoch{service="gateway"}[${WINDOW}])`, new Date());
      return samples !== null && samples >= 3;
    }, { what: 'three scrapes of the traffic', timeoutMs: 30_000, intervalMs: 200 });

    const service = loadServices(findRepoRoot(process.cwd()), ENVIRONMENT_NAMES).gateway;
    const settings = withOverrides(settingsOf(state, service), { window: WINDOW, settle: '0s', minRequests: 100, queryTimeout: '5s' });
    async function decision(): Promise<string> {
      const { stage, queries, result } = await runGate({ state, service, settings, now: new Date(), prometheus: { url: prometheus.url } });
      if (stage.kind !== 'measure') throw new Error('the benchmark state must be measurable');
      return `${result.decision} ${result.fromWeight}% → ${result.toWeight}% after ${Object.keys(queries).length} queries: ${result.reason}`;
    }
    const roundTrip = () => queryValue(options, 'vector(1)', new Date());
    const time = async (f: () => Promise<unknown>): Promise<number> => {
      const start = process.hrtime.bigint();
      await f();
      return Number(process.hrtime.bigint() - start) / 1e6;
    };

    // warm-up: connections, Prometheus's query caches, the JIT
    let described = '';
    for (let i = 0; i < 5; i++) {
      described = await decision();
      await roundTrip();
    }
    const decisions: number[] = [];
    const trips: number[] = [];
    for (let i = 0; i < runs; i++) {
      decisions.push(await time(decision));
      trips.push(await time(roundTrip));
    }
    const d = median(decisions);
    const v = median(trips);
    console.log(`decision: ${described}`);
    console.log(`runs: ${runs} each, interleaved, against Prometheus at ${prometheus.url}`);
    console.log(`one decision (queries + decide)   median ${d.toFixed(2)} ms`);
    console.log(`one vector(1) round-trip          median ${v.toFixed(2)} ms`);
    console.log(`ratio                             ${(d / v).toFixed(2)}`);
  } finally {
    await prometheus.stop();
    await target.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : String(error));
  process.exitCode = 1;
});
