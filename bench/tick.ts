// bench/tick: the wall time of one gate tick over every service in flight (`canary advance --all --commit`, what the
// in-cluster CronJob runs: the catalog and state files read, every service measured against a local Prometheus at
// once, every decision written with one synth and one commit) for 50 services, next to the same tick over one service
// of the same repository, interleaved in one run so that both see the same machine and the same Prometheus. The
// repository is a git copy of this one with 50 generated services, reset to its first commit between runs.
//
//   npm run bench:tick [-- --runs 7 --services 50]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MeshMetricsTarget } from '../tests/support/mesh-metrics-target';
import { startPrometheus } from '../tests/support/prometheus-server';
import { repoSnapshot } from '../tests/support/repo-copy';
import { waitFor } from '../tests/support/wait';
import { runCli } from '../lib/delivery/cli';
import { queryValue } from '../lib/delivery/prometheus';
import { median, numberFlag } from './stats';

const argv = process.argv.slice(2);
const runs = numberFlag(argv, 'runs', 7, true);
const count = numberFlag(argv, 'services', 50, true);
const WINDOW = '30s';
const names = Array.from({ length: count }, (_, i) => `svc-${String(i + 1).padStart(2, '0')}`);

/** A canary at 10 %, applied long ago: the tick measures it. */
function stateOf(name: string): string {
  const image = `ghcr.io/example/${name}`;
  return [
    `service: ${name}`,
    'stable:',
    `  image: ${image}:1.0.0`,
    'canary:',
    `  image: ${image}:1.1.0`,
    '  weight: 10',
    '  phase: progressing',
    '  startedAt: "2026-01-01T00:00:00Z"',
    '  weightChangedAt: "2026-01-01T00:00:00Z"',
    '  appliedAt: "2026-01-01T00:00:00Z"',
    '  failedChecks: 0',
    '  consecutiveHolds: 0',
    'steps: [10, 25, 50, 100]',
    'history: []',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const repo = repoSnapshot();
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo.dir, encoding: 'utf8' }).trim();
  for (const name of names) {
    fs.writeFileSync(path.join(repo.dir, 'services', `${name}.yaml`), [`name: ${name}`, `image: ghcr.io/example/${name}`, 'port: 8080', ''].join('\n'));
    for (const env of ['local', 'prod']) fs.writeFileSync(path.join(repo.dir, 'rollout', env, `${name}.yaml`), stateOf(name));
  }
  git('add', '--all');
  git('commit', '--quiet', '--message', `${count} services in flight`);
  const base = git('rev-parse', 'HEAD');

  const target = await MeshMetricsTarget.start();
  const prometheus = await startPrometheus({ scrapeConfigs: [{ job_name: 'mesh', static_configs: [{ targets: [target.address] }] }] });
  try {
    for (const name of names) {
      target.setTraffic(name, { stable: { rps: 900, errorRatio: 0.001, latencyMs: 40 }, canary: { rps: 100, errorRatio: 0.002, latencyMs: 45 } });
    }
    await waitFor(async () => {
      const samples = await queryValue({ url: prometheus.url, timeoutMs: 5000 }, `count_over_time(test_traffic_epoch{service="${names.at(-1)}"}[${WINDOW}])`, new Date());
      return samples !== null && samples >= 3;
    }, { what: 'three scrapes of the traffic', timeoutMs: 60_000, intervalMs: 200 });

    let last = '';
    const tick = async (args: readonly string[]): Promise<number> => {
      git('reset', '--quiet', '--hard', base);
      let out = '';
      const start = process.hrtime.bigint();
      const code = await runCli(['advance', ...args, '--env', 'local', '--commit', '--json', '--window', WINDOW, '--settle', '0s'], {
        cwd: repo.dir, stdout: text => (out += text), stderr: text => (out += text), now: () => new Date(), env: { prometheusUrl: prometheus.url },
      });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0 && code !== 3) throw new Error(`the tick exited ${code}: ${out}`);
      last = out;
      return ms;
    };
    const all = ['--all'];
    const one = ['--service', names[0]];
    // warm-up: bundles, connections, Prometheus's caches, the JIT
    for (let i = 0; i < 2; i++) {
      await tick(all);
      await tick(one);
    }
    const report = JSON.parse((await tick(all), last)) as { services: Array<{ decision: string }> };
    const decisions = report.services.map(s => s.decision);
    const alls: number[] = [];
    const ones: number[] = [];
    for (let i = 0; i < runs; i++) {
      alls.push(await tick(all));
      ones.push(await tick(one));
    }
    const a = median(alls);
    const o = median(ones);
    console.log(`tick: ${decisions.length} services gated (${[...new Set(decisions)].map(d => `${decisions.filter(x => x === d).length} ${d}`).join(', ')}), `
      + `one commit, against Prometheus at ${prometheus.url}`);
    console.log(`runs: ${runs} each, interleaved`);
    console.log(`one tick over ${count} services (advance --all)   median ${a.toFixed(0)} ms   (target ≤ 1000 ms)`);
    console.log(`one tick over 1 service (advance --service)  median ${o.toFixed(0)} ms`);
    console.log(`ratio                                        ${(a / o).toFixed(2)}`);
  } finally {
    await prometheus.stop();
    await target.close();
    await repo.remove();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : String(error));
  process.exitCode = 1;
});
