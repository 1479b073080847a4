// bench/redact: what scrubbing a client's header costs (apps/shared/redact.ts, run on the access line, the span and the
// export of every request). A 15 KB User-Agent of runs a scanning rule could backtrack on (`a%40…@`, `a.a.…@`, `cvv…`)
// against one of ordinary text of the same size, measured in one run: the ratio is what a crafted header costs over
// an ordinary one. The runs stay within MAX_SCANNED_RUN, which the rules scan in full.
//
//   node --require ./tools/ts-hook.cjs bench/redact.ts [--runs 200]
import { MAX_SCANNED_RUN, scrubText } from '../apps/shared/redact';
import { median, numberFlag } from './stats';

const runs = numberFlag(process.argv.slice(2), 'runs', 200, true);
const SIZE = 15 * 1024;

/** `unit` repeated into runs of at most MAX_SCANNED_RUN characters, `end` closing each, joined by spaces up to SIZE. */
function header(unit: string, end = ''): string {
  const run = unit.repeat(Math.floor((MAX_SCANNED_RUN - end.length) / unit.length)) + end;
  return Array.from({ length: Math.ceil(SIZE / (run.length + 1)) }, () => run).join(' ').slice(0, SIZE);
}

const cases: ReadonlyArray<readonly [string, string]> = [
  ['ordinary text', header('Mozilla/5.0 (X11; Linux x86_64) ')],
  ['encoded @ runs', header('a%40', '@')],
  ['dotted runs before an @', header('a.', '@example.com')],
  ['credential-named runs', header('cvv', '=1')],
  ['addresses back to back', header('a@b.cc+')],
];

/** Median µs per scrub of `text`. */
function cost(text: string): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    scrubText(text);
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  return median(times);
}

// warm-up: the regexes compiled and optimized before anything is timed
for (const [, text] of cases) for (let i = 0; i < 20; i++) scrubText(text);
const baseline = cost(cases[0][1]);
console.log(`runs: ${runs} each; ${SIZE} characters per header`);
for (const [name, text] of cases) {
  const us = name === cases[0][0] ? baseline : cost(text);
  console.log(`${name.padEnd(26)} median ${us.toFixed(0).padStart(7)} µs   ${(us / baseline).toFixed(1).padStart(6)} × ordinary text`);
}
