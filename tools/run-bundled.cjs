'use strict';
// Runs a TypeScript entry point (`node tools/run-bundled.cjs scripts/synth.ts [args]`) as one esbuild bundle, cached
// in node_modules/.cache/obs-canary-bundles and rebuilt only when one of its input files changed.
//
// Why: `npm run synth` must stay within 2.5x of loading cdk8s-plus-28 (bench/synth). Loading cdk8s, yaml and our
// modules file by file costs ~70 ms of module resolution; one bundle does not. The bundle runs from V8's code cache
// (written after the first run, so it holds the lazily compiled functions too), which saves parsing and compiling
// about a megabyte of JavaScript on every run: ~100 ms here. esbuild only transpiles: type checking is
// `npm run typecheck`. Services do not use this (their OpenTelemetry instrumentation patches modules as they load).
const crypto = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const root = path.resolve(__dirname, '..');
const entry = path.resolve(process.argv[2] ?? '');
if (!process.argv[2] || !fs.existsSync(entry)) {
  console.error(`usage: node tools/run-bundled.cjs <entry.ts> [args...]; no such entry: ${process.argv[2] ?? '(none)'}`);
  process.exit(2);
}
const cacheDir = path.join(root, 'node_modules', '.cache', 'obs-canary-bundles');
const key = crypto.createHash('sha1').update(entry).digest('hex').slice(0, 12);
const bundle = path.join(cacheDir, `${path.basename(path.dirname(entry))}-${path.basename(entry, '.ts')}-${key}.js`);
const manifest = `${bundle}.inputs.json`;
const codeCache = `${bundle}.v8cache`;

/** True when the cached bundle was built by this Node.js from inputs that have not changed since. */
function isFresh() {
  let recorded;
  try {
    recorded = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  } catch {
    return false;
  }
  if (recorded.node !== process.version || !fs.existsSync(bundle)) return false;
  for (const [file, [mtimeMs, size]] of Object.entries(recorded.inputs)) {
    let stat;
    try {
      stat = fs.statSync(path.join(root, file));
    } catch {
      return false;
    }
    if (stat.mtimeMs !== mtimeMs || stat.size !== size) return false;
  }
  return true;
}

function build() {
  const esbuild = require('esbuild');
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${bundle}.${process.pid}.tmp`;
  const result = esbuild.buildSync({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    outfile: tmp,
    metafile: true,
    minify: true,
    logLevel: 'error',
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    const stat = fs.statSync(path.join(root, file));
    inputs[file] = [stat.mtimeMs, stat.size];
  }
  // rename last: a concurrent run sees either the old pair or the new bundle with a manifest that may still be old
  fs.rmSync(codeCache, { force: true });
  fs.renameSync(tmp, bundle);
  fs.writeFileSync(`${manifest}.${process.pid}.tmp`, JSON.stringify({ node: process.version, entry, inputs }));
  fs.renameSync(`${manifest}.${process.pid}.tmp`, manifest);
  pruneCache();
}

/** Drops bundles whose entry point is gone (copies of the repository made by tests, for example). */
function pruneCache() {
  for (const file of fs.readdirSync(cacheDir).filter(f => f.endsWith('.inputs.json'))) {
    const recorded = path.join(cacheDir, file);
    try {
      const { entry: recordedEntry } = JSON.parse(fs.readFileSync(recorded, 'utf8'));
      if (recordedEntry && fs.existsSync(recordedEntry)) continue;
    } catch {
      // unreadable: drop it as well
    }
    const stale = recorded.slice(0, -'.inputs.json'.length);
    for (const file of [recorded, stale, `${stale}.v8cache`]) fs.rmSync(file, { force: true });
  }
}

/** Runs the bundle as a CommonJS module, compiled from V8's code cache when there is a usable one. */
function run() {
  let cachedData;
  try {
    cachedData = fs.readFileSync(codeCache);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // after the run, so that the functions it compiled lazily are in the cache too
    process.once('exit', () => {
      try {
        fs.writeFileSync(`${codeCache}.${process.pid}.tmp`, script.createCachedData());
        fs.renameSync(`${codeCache}.${process.pid}.tmp`, codeCache);
      } catch {
        // a cache is an optimisation: never fail a run over it
      }
    });
  }
  const module = new Module(bundle, null);
  module.filename = bundle;
  module.paths = Module._nodeModulePaths(path.dirname(bundle));
  script.runInThisContext()(module.exports, id => module.require(id), module, bundle, path.dirname(bundle));
}

if (!isFresh()) build();
process.argv.splice(1, 2, entry);
run();
