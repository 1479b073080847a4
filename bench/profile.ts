// bench/profile: where the CPU goes when the gateway → backend pair serves GET /api/flight/timetable, with tracing off
// and with ours at 100 %. Each pair runs under V8's sampling profiler (--cpu-prof) while autocannon drives it; the
// profiles are summed by package (self time: the frames a sample was in, attributed to their node_modules package,
// Node.js internals, or our code) and printed side by side with the CPU µs per request each package costs. The
// profiler slows everything down, so read the shares and the differences, not the throughput.
//
//   npm run bench:profile [-- --duration 10 --connections 50 --keep DIR]
import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { ENV, GATEWAY_PATHS, PATHS, ServiceName } from '../apps/contract';
import { OtlpReceiver } from '../tests/apps/support/otlp-receiver';
import { TracingMode, spawnService } from '../tests/apps/support/service-process';
import { freePort } from '../tests/support/ports';
import { waitFor } from '../tests/support/wait';
import { numberFlag } from './stats';

const args = process.argv.slice(2);
const duration = numberFlag(args, 'duration', 10);
const connections = numberFlag(args, 'connections', 50, true);
const keepArg = args.includes('--keep') ? args[args.indexOf('--keep') + 1] : undefined;
if (args.includes('--keep') && (keepArg === undefined || keepArg.startsWith('--'))) throw new Error('--keep needs a directory for the profiles');
const keep = keepArg === undefined ? undefined : path.resolve(keepArg);
const PATH = `${GATEWAY_PATHS.timetable}?dep=ICN&arr=GMP`;

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's time goes: its npm package, a Node.js internal module, our code, or V8 (GC, idle, native). */
function ownerOf(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const { url, functionName } = frame;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return url.startsWith('node:internal/deps/undici') ? 'node: undici (fetch)' : 'node: other internals';
  if (url !== '') return `ours: ${path.relative(path.join(__dirname, '..'), url.replace(/^file:\/\//, '')).split(path.sep).slice(0, 2).join('/')}`;
  return functionName === '(idle)' ? '(idle)' : functionName === '(garbage collector)' ? '(garbage collector)' : 'v8: native and builtins';
}

/** Microseconds of self time per owner in one profile. */
function selfTime(profile: CpuProfile): Map<string, number> {
  const owners = new Map(profile.nodes.map(n => [n.id, ownerOf(n.callFrame)]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const owner = owners.get(id) ?? 'unknown';
    out.set(owner, (out.get(owner) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return out;
}

async function run(tracing: TracingMode, sink: OtlpReceiver, dir: string): Promise<{ requests: number; rps: number; time: Map<string, number> }> {
  fs.mkdirSync(dir, { recursive: true });
  const [backendPort, gatewayPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}`, OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
    OTEL_TRACES_SAMPLER: 'parentbased_always_on', [ENV.logLevel]: 'info', [ENV.shutdownDelayMs]: '0',
  };
  const start = (service: ServiceName, extra: Record<string, string>): ChildProcess =>
    spawnService(service, tracing, { env: { ...env, ...extra, OTEL_SERVICE_NAME: service }, stdio: ['ignore', 'ignore', 'inherit'] });
  const children = [
    start('backend', { [ENV.port]: String(backendPort) }),
    start('gateway', { [ENV.port]: String(gatewayPort), [ENV.backendUrl]: `http://127.0.0.1:${backendPort}` }),
  ];
  const url = `http://127.0.0.1:${gatewayPort}`;
  let result: Awaited<ReturnType<typeof autocannon>>;
  try {
    for (const port of [backendPort, gatewayPort]) {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}${PATHS.readiness}`).catch(() => undefined))?.ok === true,
        { what: `port ${port} to be ready`, timeoutMs: 60_000 });
    }
    // the profiles cover the whole process (start-up and warm-up too), the same for both set-ups; the measured run dominates
    await autocannon({ url: `${url}${PATH}`, connections, duration: 2 });
    result = await autocannon({ url: `${url}${PATH}`, connections, duration });
  } finally {
    // SIGTERM, not SIGKILL: V8 writes the profile as the process exits
    await Promise.all(children.map(async child => new Promise(resolve => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
      child.once('exit', resolve);
      child.kill('SIGTERM');
    })));
  }
  const time = new Map<string, number>();
  for (const file of fs.readdirSync(dir).filter(f => f.endsWith('.cpuprofile'))) {
    for (const [owner, us] of selfTime(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')))) time.set(owner, (time.get(owner) ?? 0) + us);
  }
  return { requests: result.requests.total, rps: result.requests.average, time };
}

async function main(): Promise<void> {
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-profile-'));
  const sink = await OtlpReceiver.start({ decode: false });
  try {
    const off = await run('off', sink, path.join(dir, 'off'));
    const ours = await run('ours', sink, path.join(dir, 'ours'));
    const busy = (t: Map<string, number>) => [...t].filter(([k]) => k !== '(idle)').reduce((sum, [, us]) => sum + us, 0);
    console.log(`GET ${PATH}, ${connections} connections, ${duration} s under the profiler (slowed down; compare shares)`);
    console.log(`tracing off: ${off.rps.toFixed(0)} req/s, ${(busy(off.time) / off.requests).toFixed(0)} µs CPU/req (both processes, start-up included)`);
    console.log(`ours 100 %:  ${ours.rps.toFixed(0)} req/s, ${(busy(ours.time) / ours.requests).toFixed(0)} µs CPU/req\n`);
    const owners = [...new Set([...off.time.keys(), ...ours.time.keys()])].filter(k => k !== '(idle)');
    const perRequest = (t: Map<string, number>, requests: number, k: string) => (t.get(k) ?? 0) / requests;
    const rows = owners.map(k => ({ k, off: perRequest(off.time, off.requests, k), ours: perRequest(ours.time, ours.requests, k) }))
      .sort((a, b) => b.ours - b.off - (a.ours - a.off));
    console.log(`${'self time by owner'.padEnd(48)} off µs/req  ours µs/req   difference`);
    for (const row of rows.filter(r => Math.max(r.off, r.ours) >= 2)) {
      console.log(`  ${row.k.padEnd(46)} ${row.off.toFixed(1).padStart(10)} ${row.ours.toFixed(1).padStart(12)} ${(row.ours - row.off).toFixed(1).padStart(12)}`);
    }
    console.log(keep ? `\nprofiles kept in ${dir} (open them in Chrome DevTools)` : '');
  } finally {
    sink.close();
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
