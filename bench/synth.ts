// bench/synth: median wall time of `npm run synth` against `node -e "require('cdk8s-plus-28')"`, interleaved in one
// run so that both see the same machine. Target: ratio ≤ 2.5.
//
//   npm run bench:synth [-- --runs 21]
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { median, numberFlag } from './stats';

const root = path.join(__dirname, '..');
const runs = numberFlag(process.argv.slice(2), 'runs', 15, true);

function wallMs(command: string, args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr.toString()}`);
  return ms;
}

const synth: number[] = [];
const baseline: number[] = [];
// one warm-up of each fills the transpile cache and the page cache
wallMs('npm', ['run', '-s', 'synth']);
wallMs('node', ['-e', 'require("cdk8s-plus-28")']);
for (let i = 0; i < runs; i++) {
  synth.push(wallMs('npm', ['run', '-s', 'synth']));
  baseline.push(wallMs('node', ['-e', 'require("cdk8s-plus-28")']));
}
const s = median(synth);
const b = median(baseline);
console.log(`runs: ${runs} each, interleaved`);
console.log(`npm run synth                        median ${s.toFixed(0)} ms`);
console.log(`node -e "require('cdk8s-plus-28')"   median ${b.toFixed(0)} ms`);
console.log(`ratio                                ${(s / b).toFixed(2)} (target ≤ 2.5)`);
