// bench/long-windows: what one evaluation of a service's 3-day error ratio costs a real Prometheus (Debian's 2.42), as
// the rules render it (summing the 5-minute records) against rating the raw counters over the 3 days, as the 1h ratio
// does. Three days of history at a 30 s scrape are written as OpenMetrics, turned into blocks by promtool, and both
// expressions are queried at its last instant, interleaved. Each ratio is evaluated for every service at every rule
// evaluation (30 s in prod).
//
//   npm run bench:long-windows [-- --series 200 --runs 15]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecordingRule } from '../lib/constructs/prometheus-config';
import { ENVIRONMENT_NAMES } from '../lib/config/environments';
import { loadServices } from '../lib/services/catalog';
import { SLO_BURN_RECORDS, SLO_CALLER_RECORDS, sloRecordingRules } from '../lib/slo/recording-rules';
import { findRepoRoot } from '../lib/synth';
import { startPrometheus } from '../tests/support/prometheus-server';
import { median, numberFlag } from './stats';

const args = process.argv.slice(2);
const SERIES = numberFlag(args, 'series', 200, true);
const runs = numberFlag(args, 'runs', 15, true);
const SCRAPE_S = 30;
const SPAN_S = 3 * 86_400 + 600;
const SERVICE = 'gateway';

/** The series of istio_requests_total the destination sidecars of gateway's two tracks report: pods × callers × codes. */
function rawSeries(): string[] {
  const series: string[] = [];
  for (let i = 0; series.length < SERIES; i++) {
    for (const track of ['stable', 'canary']) {
      for (const code of ['200', '503']) {
        series.push(`reporter="destination",destination_workload_namespace="apps",destination_workload="${SERVICE}-${track}",`
          + `destination_app="${SERVICE}",destination_version="${track}",pod="${SERVICE}-${track}-${i % 10}",source_workload="caller-${Math.floor(i / 10)}",`
          + `response_code="${code}"`);
      }
    }
  }
  return series.slice(0, SERIES);
}

/** Writes the history as OpenMetrics: the raw counters, and the records the rules would have written every 30 s. */
async function writeHistory(file: string, end: number): Promise<void> {
  const out = fs.createWriteStream(file);
  const write = (text: string) => (out.write(text) ? Promise.resolve() : new Promise<void>(resolve => out.once('drain', () => resolve())));
  const raw = rawSeries();
  const counts = raw.map(() => 0);
  const trackLabels = (track: string) =>
    `destination_workload_namespace="apps",destination_workload="${SERVICE}-${track}",destination_app="${SERVICE}",destination_version="${track}"`;
  const callers = `destination_service_namespace="apps",destination_service_name="${SERVICE}",destination_app="${SERVICE}"`;
  await write('# TYPE istio_requests counter\n');
  const records: string[] = [];
  for (const track of ['stable', 'canary']) {
    records.push(`${SLO_BURN_RECORDS.istio.trackRequestRate}{${trackLabels(track)}} 100`, `${SLO_BURN_RECORDS.istio.trackErrorRate}{${trackLabels(track)}} 1`);
  }
  // the callers see half the own ratio: the answer (the larger) is the own view's, so a wrong own record shows
  records.push(`${SLO_CALLER_RECORDS.requestRate}{${callers}} 200`, `${SLO_CALLER_RECORDS.errorRate}{${callers}} 1`);
  for (let t = end - SPAN_S; t <= end; t += SCRAPE_S) {
    let lines = '';
    raw.forEach((labels, i) => {
      counts[i] += labels.endsWith('"503"') ? SCRAPE_S : 100 * SCRAPE_S;
      lines += `istio_requests_total{${labels}} ${counts[i]} ${t}\n`;
    });
    await write(lines);
  }
  // OpenMetrics wants each metric family's samples together: the records after the counters
  for (const record of records) {
    const [name] = record.split('{');
    await write(`# TYPE ${name.replace(/:/g, '_')} gauge\n`);
    let lines = '';
    for (let t = end - SPAN_S; t <= end; t += SCRAPE_S) lines += `${record} ${t}\n`;
    await write(lines);
  }
  await write('# EOF\n');
  await new Promise<void>(resolve => out.end(() => resolve()));
}

/** Times one query; fails unless it answers one series of about 1 % (the history's error ratio in every view). */
async function timeQuery(url: string, query: string, time: number): Promise<number> {
  const start = process.hrtime.bigint();
  const response = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query, time: String(time) }) });
  const body = await response.json() as { status: string; data?: { result: Array<{ value: [number, string] }> }; error?: string };
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const result = body.data?.result ?? [];
  if (body.status !== 'success' || result.length !== 1 || Math.abs(Number(result[0].value[1]) - 0.01) > 0.0005) {
    throw new Error(`${query}\nanswered ${JSON.stringify(body).slice(0, 300)}, not one series of ~0.01`);
  }
  return ms;
}

async function main(): Promise<void> {
  const root = findRepoRoot(process.cwd());
  const services = loadServices(root, ENVIRONMENT_NAMES);
  const rules = sloRecordingRules({ [SERVICE]: services[SERVICE] })[0].rules as RecordingRule[];
  const exprOf = (record: string) => rules.find(r => r.record === record)!.expr;
  const summed = exprOf(SLO_BURN_RECORDS.istio.serviceErrorRatio['3d']);
  // the 1h ratio's expression over 3 days: the counters rated over the window, as every window was before
  const raw = exprOf(SLO_BURN_RECORDS.istio.serviceErrorRatio['1h']).replaceAll('[1h]', '[3d]');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-bench-long-'));
  const end = Math.floor(Date.now() / 1000) - 60;
  const started = Date.now();
  try {
    await writeHistory(path.join(dir, 'history.om'), end);
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', path.join(dir, 'history.om'), path.join(dir, 'blocks')], { stdio: 'ignore' });
    fs.rmSync(path.join(dir, 'history.om'));
    console.log(`history: ${SERIES} raw series and 6 records, 3 days at ${SCRAPE_S} s, written in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const prometheus = await startPrometheus({ scrapeConfigs: [], blocksFrom: path.join(dir, 'blocks') });
    try {
      // one warm-up each: the blocks' chunks into the page cache
      await timeQuery(prometheus.url, raw, end);
      await timeQuery(prometheus.url, summed, end);
      const rawMs: number[] = [];
      const summedMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        rawMs.push(await timeQuery(prometheus.url, raw, end));
        summedMs.push(await timeQuery(prometheus.url, summed, end));
      }
      const r = median(rawMs);
      const s = median(summedMs);
      console.log(`runs: ${runs} each, interleaved; one evaluation of ${SERVICE}'s 3d service error ratio`);
      console.log(`counters rated over 3d        median ${r.toFixed(1)} ms`);
      console.log(`5-minute records summed (ours) median ${s.toFixed(1)} ms`);
      console.log(`ratio                          ${(r / s).toFixed(1)}× less time per evaluation`);
    } finally {
      await prometheus.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
