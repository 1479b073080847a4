// bench/overhead: what tracing costs the gateway → backend pair. autocannon drives GET /api/flight/timetable through
// four set-ups, interleaved round-robin in one run so that all see the same machine: tracing off; ours at 100 % and
// at 10 % (parentbased_traceidratio); the zero-code @opentelemetry/auto-instrumentations-node/register set-up at
// 100 % with the same instrumentations and exporter. Every traced set-up exports over OTLP gRPC to a local sink.
// Prints medians of req/s, p99 latency and server CPU µs per request (both servers' utime + stime), and the ratios.
// Target: ours at 100 % ≥ 1.4 × the zero-code throughput.
//
// This VM's speed drifts by ±25 % within seconds (see the OTel reference), so the run uses many short rounds and
// also reports the median of per-round ratios, which pairs set-ups measured moments apart.
//
//   npm run bench:overhead [-- --rounds 5 --duration 5 --warmup 1 --connections 50]
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import autocannon from 'autocannon';
import { GATEWAY_PATHS } from '../apps/contract';
import type { TracingMode } from '../tests/apps/support/service-process';
import { OtlpReceiver } from '../tests/apps/support/otlp-receiver';
import { ServerPair, cpuMicros, startPair } from './overhead/servers';
import { median, numberFlag } from './stats';

interface SetUp {
  readonly name: string;
  readonly tracing: TracingMode;
  readonly env: Record<string, string>;
}

interface Sample {
  readonly rps: number;
  readonly p99: number;
  readonly cpuPerRequest: number;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return os.availableParallelism() >= 2;
  } catch {
    return false;
  }
}

const args = process.argv.slice(2);
const rounds = numberFlag(args, 'rounds', 5, true);
const duration = numberFlag(args, 'duration', 5);
const warmup = numberFlag(args, 'warmup', 1);
const connections = numberFlag(args, 'connections', 50, true);
const PATH = `${GATEWAY_PATHS.timetable}?dep=ICN&arr=GMP`;

async function measure(pair: ServerPair, warmupSeconds = warmup): Promise<Sample> {
  await autocannon({ url: `${pair.url}${PATH}`, connections, duration: warmupSeconds });
  const cpuBefore = pair.pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  const result = await autocannon({ url: `${pair.url}${PATH}`, connections, duration });
  const cpu = pair.pids.reduce((sum, pid) => sum + cpuMicros(pid), 0) - cpuBefore;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx answers and ${result.errors} errors under load`);
  return { rps: result.requests.total / result.duration, p99: result.latency.p99, cpuPerRequest: cpu / result.requests.total };
}

async function main(): Promise<void> {
  const pin = hasTaskset();
  // servers on CPU 0; this process (autocannon and the OTLP sink) on CPU 1
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const sink = await OtlpReceiver.start({ decode: false });
  const exporting = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint };
  const zeroCode = {
    ...exporting, OTEL_TRACES_SAMPLER: 'parentbased_always_on', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none',
  };
  const setUps: SetUp[] = [
    { name: 'tracing off', tracing: 'off', env: {} },
    { name: 'ours 100 %', tracing: 'ours', env: { ...exporting, OTEL_TRACES_SAMPLER: 'parentbased_always_on' } },
    { name: 'ours 10 %', tracing: 'ours', env: { ...exporting, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' } },
    // the documented zero-code set-up: default instrumentations, traces over OTLP gRPC, no metrics or logs export;
    // cloud resource detectors off (they probe metadata endpoints at start-up, which fails here; no per-request cost)
    { name: 'zero-code 100 %', tracing: 'zero-code', env: { ...zeroCode, OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance' } },
    // the same, trimmed to our three instrumentations and resource detectors
    { name: 'zero-code trimmed', tracing: 'zero-code', env: { ...zeroCode, OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,koa,undici', OTEL_NODE_RESOURCE_DETECTORS: 'env,host,process' } },
  ];
  console.log(`${rounds} rounds × ${setUps.length} set-ups, ${warmup} s warm-up + ${duration} s measured each, ${connections} connections, `
    + `GET ${PATH}; ${pin ? 'servers on CPU 0, load and sink on CPU 1' : 'no CPU pinning (taskset or a second CPU missing)'}`);
  const pairs = await Promise.all(setUps.map(async s => startPair(s.tracing, s.env, pin ? '0' : undefined)));
  const samples = setUps.map((): Sample[] => []);
  try {
    // JIT and connection pools warm up once per set-up before the first round
    for (const pair of pairs) await measure(pair, 3);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < setUps.length; k++) {
        // rotate the order so that no set-up always runs first or last in a round
        const i = (round + k) % setUps.length;
        const sample = await measure(pairs[i]);
        samples[i].push(sample);
        console.log(`  round ${round + 1}  ${setUps[i].name.padEnd(16)} ${sample.rps.toFixed(0).padStart(6)} req/s  p99 ${sample.p99} ms  `
          + `${sample.cpuPerRequest.toFixed(1)} µs CPU/req`);
      }
    }
  } finally {
    await Promise.all(pairs.map(async p => p.stop()));
    sink.close();
  }
  report(setUps, samples, sink);
}

function report(setUps: readonly SetUp[], samples: readonly Sample[][], sink: OtlpReceiver): void {
  const medians = samples.map(list => ({
    rps: median(list.map(s => s.rps)), p99: median(list.map(s => s.p99)), cpu: median(list.map(s => s.cpuPerRequest)),
  }));
  const [off, ours100, , zeroCode] = medians;
  console.log('\nmedians                    req/s   p99 ms   CPU µs/req   req/s vs off   CPU/req vs off');
  setUps.forEach((s, i) => {
    const m = medians[i];
    console.log(`  ${s.name.padEnd(22)} ${m.rps.toFixed(0).padStart(7)} ${String(m.p99).padStart(8)} ${m.cpu.toFixed(1).padStart(12)} `
      + `${(m.rps / off.rps).toFixed(2).padStart(14)} ${(m.cpu / off.cpu).toFixed(2).padStart(16)}`);
  });
  const paired = (i: number, j: number) => median(samples[i].map((s, round) => s.rps / samples[j][round].rps));
  console.log('\nours 100 % vs           req/s (ratio of medians)   req/s (median of per-round ratios)   CPU/req (ratio of medians)');
  for (const j of [0, 3, 4]) {
    console.log(`  ${setUps[j].name.padEnd(22)} ${(ours100.rps / medians[j].rps).toFixed(2).padStart(25)}× ${paired(1, j).toFixed(2).padStart(35)}× `
      + `${(ours100.cpu / medians[j].cpu).toFixed(2).padStart(28)}×`);
  }
  const ratio = ours100.rps / zeroCode.rps;
  console.log(`target ours 100 % ≥ 1.4 × zero-code 100 % req/s: ${ratio.toFixed(2)}× (${ratio >= 1.4 ? 'met' : 'NOT met'}); `
    + `per-round pairing: ${paired(1, 3).toFixed(2)}×`);
  console.log(`OTLP sink: ${sink.exports} exports, ${(sink.bytes / 1e6).toFixed(1)} MB`);
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
