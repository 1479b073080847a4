import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { IMAGES } from '../lib/images';
import { podHashOf } from '../lib/rollout/pod';
import { parseRolloutState } from '../lib/rollout/state';
import { ISTIO_DURATION_BUCKETS_MS } from '../lib/slo/vocabulary';

/** The documentation a user of the repository reads: it describes the project as shipped, with its real pins. */
const ROOT = path.join(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const DOCS = ['README.md', 'apps/README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter(f => f.endsWith('.md')).map(f => `docs/${f}`)];
const pkg = JSON.parse(read('package.json'));
const README = read('README.md');

/** The rows of the first Markdown table after `heading`, as cells without their backticks. */
function tableAfter(text: string, heading: string): string[][] {
  const start = text.indexOf(heading);
  if (start === -1) throw new Error(`no heading ${JSON.stringify(heading)} in README.md`);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex(line => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map(cell => cell.trim().replace(/`/g, '')));
  }
  return rows;
}

describe('documentation', () => {
  test.each(DOCS)('%s refers to nothing outside the repository and nothing about how it was developed', file => {
    const text = read(file);
    expect(text).not.toMatch(/\.\.\/shared/);
    expect(text).not.toMatch(/\b(the|an?|this|of) issues?\b|\bissue #?\d+/i);
    expect(text).not.toMatch(/\bsessions?\b/i);
  });

  test('the image table lists exactly the images the manifests pin', () => {
    const rows = tableAfter(README, '### Images').filter(row => /^(docker\.io|quay\.io|registry\.k8s\.io)\//.test(row[1]));
    expect(rows.map(row => row[1]).sort()).toEqual(Object.values(IMAGES).sort());
  });

  test('every registry image named anywhere in the docs is a pinned one', () => {
    for (const file of DOCS) {
      for (const [image] of read(file).matchAll(/\b(docker\.io|quay\.io|registry\.k8s\.io)\/[\w./-]+:[\w.-]+/g)) {
        expect([file, Object.values(IMAGES)]).toEqual([file, expect.arrayContaining([image])]);
      }
    }
  });

  test('the npm table lists every direct dependency at its pinned version', () => {
    const rows = tableAfter(README, '### npm packages');
    const pinned = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.optionalDependencies };
    // the CLI's bin link is the repository's own directory, not a release
    delete pinned['obs-canary-cli'];
    expect(Object.fromEntries(rows.map(row => [row[0], row[1]]))).toEqual(pinned);
  });

  test('the Node.js the docs name is the one in .nvmrc', () => {
    const nvmrc = read('.nvmrc').trim();
    for (const file of DOCS) {
      for (const [, version] of read(file).matchAll(/\bnode:(\d+\.\d+\.\d+)/g)) expect([file, version]).toEqual([file, nvmrc]);
    }
    expect(README).toContain(`Node.js ${nvmrc}`);
  });

  test('the README\'s rollout state loads as written (its records\' hashes match their fields)', () => {
    const start = README.indexOf('```yaml\nservice: gateway\nstable:');
    expect(start).toBeGreaterThan(-1);
    const example = README.slice(start + '```yaml\n'.length, README.indexOf('```', start + 3));
    // the canary's record is abbreviated (`…`): stable's is whole, and checked on load as any state file's
    const stable = parse(example).stable;
    expect(stable.pod.hash).toBe(podHashOf(stable.pod));
    const withoutCanary = example.replace(/^canary:[\s\S]*?^steps:/m, 'canary: null\nsteps:');
    expect(parseRolloutState(withoutCanary, 'README.md', 'gateway').stable.pod?.hash).toBe(stable.pod.hash);
  });

  test('the sidecars\' duration buckets the README lists are the ones the pods get', () => {
    const listed = /\(`sidecar\.istio\.io\/statsHistogramBuckets`: ([\d,\sand]+) ms, `ISTIO_DURATION_BUCKETS_MS`\)/.exec(README);
    expect(listed).not.toBeNull();
    expect(listed![1].split(/,\s*|\s+and\s+/).map(Number)).toEqual(ISTIO_DURATION_BUCKETS_MS);
  });
});
