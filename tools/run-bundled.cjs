'use strict';
// Runs a TypeScript entry point (`node tools/run-bundled.cjs scripts/synth.ts [args]`) as one esbuild bundle, cached
// in node_modules/.cache/obs-canary-bundles and rebuilt only when one of its input files changed.
//
// Why: `npm run synth` must stay within 2.5x of loading cdk8s-plus-28 (bench/synth). Loading cdk8s, yaml and our
// modules file by file costs ~70 ms of module resolution; one bundle does not. The bundle runs from V8's code cache
// (written after the first run, so it holds the lazily compiled functions too), which saves parsing and compiling
// about a megabyte of JavaScript on every run: ~100 ms here. esbuild only transpiles: type checking is
// `npm run typecheck`. Services do not use this (their OpenTelemetry instrumentation patches modules as they load).
//
// Bundles are named by their content: the hash of every input file's path (relative to the checkout; node_modules
// files by their path under node_modules) and content. A checkout records, per entry point, its inputs with their
// mtime, size and hash, so an unchanged file is not read again; a copy of the repository (the tests make dozens, with
// node_modules linked) hashes its own files once and runs the bundle another checkout built, if their contents agree.
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
/** Bumped when the bundle options below change, so that no bundle of older options is taken for a new one. */
const FORMAT = 2;
/** Unreferenced bundles older than this are removed (one a test copy built may serve the next copy meanwhile). */
const KEEP_UNREFERENCED_MS = 60 * 60 * 1000;
const sha1 = text => crypto.createHash('sha1').update(text).digest('hex');
const relativeEntry = path.relative(root, entry).split(path.sep).join('/');
const entryName = relativeEntry.replace(/\.ts$/, '').replace(/[^A-Za-z0-9]+/g, '-');
/** This checkout's record of the entry's inputs: `{ format, entry, bundle, inputs: { name: [mtimeMs, size, sha1] } }`. */
const recordFile = path.join(cacheDir, `${entryName}-${sha1(entry).slice(0, 12)}.inputs.json`);
const nodeModules = (() => {
  try {
    return fs.realpathSync(path.join(root, 'node_modules'));
  } catch {
    return path.join(root, 'node_modules');
  }
})();

/** An input's name, the same in every checkout: relative to the checkout, or `node_modules/…` for a dependency. */
function inputName(file) {
  const absolute = path.resolve(root, file);
  if (absolute.startsWith(nodeModules + path.sep)) return `node_modules/${path.relative(nodeModules, absolute).split(path.sep).join('/')}`;
  const relative = path.relative(root, absolute);
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative.split(path.sep).join('/');
}

const readJson = file => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
};

/** A record written by this version of the runner, or undefined. */
const current = recorded => (recorded?.format === FORMAT ? recorded : undefined);

/** This checkout's record, or else the newest record of the same entry point from another checkout (for its input list). */
function knownInputs() {
  const own = current(readJson(recordFile));
  if (own) return { own: own.inputs, names: Object.keys(own.inputs) };
  let newest;
  try {
    for (const file of fs.readdirSync(cacheDir)) {
      if (!file.startsWith(`${entryName}-`) || !file.endsWith('.inputs.json')) continue;
      const mtimeMs = fs.statSync(path.join(cacheDir, file)).mtimeMs;
      if (!newest || mtimeMs > newest.mtimeMs) newest = { file, mtimeMs };
    }
  } catch {
    return undefined;
  }
  const other = newest && current(readJson(path.join(cacheDir, newest.file)));
  return other && { own: {}, names: Object.keys(other.inputs) };
}

/** `[mtimeMs, size, sha1]` of each input as this checkout has it, reading only files whose stat changed; undefined if one is gone. */
function hashInputs(names, recorded) {
  const inputs = {};
  for (const name of names) {
    let stat;
    try {
      stat = fs.statSync(path.resolve(root, name));
    } catch {
      return undefined;
    }
    const known = recorded[name];
    const hash = known && known[0] === stat.mtimeMs && known[1] === stat.size
      ? known[2]
      : sha1(fs.readFileSync(path.resolve(root, name)));
    inputs[name] = [stat.mtimeMs, stat.size, hash];
  }
  return inputs;
}

/** The bundle's file name: the entry, the Node.js version and every input's name and content hash. */
function bundleFor(inputs) {
  const key = sha1([FORMAT, process.version, relativeEntry, ...Object.keys(inputs).sort().map(name => `${name}\0${inputs[name][2]}`)].join('\n'));
  return path.join(cacheDir, `${entryName}-${key.slice(0, 16)}.js`);
}

function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function record(inputs, bundle) {
  try {
    writeAtomically(recordFile, JSON.stringify({ format: FORMAT, entry, bundle: path.basename(bundle), inputs }));
  } catch {
    // a record is an optimisation: never fail a run over it
  }
}

/** The cached bundle for the inputs as they are now, or undefined when there is none. */
function cachedBundle() {
  const known = knownInputs();
  if (!known) return undefined;
  const inputs = hashInputs(known.names, known.own);
  if (!inputs) return undefined;
  const bundle = bundleFor(inputs);
  if (!fs.existsSync(bundle)) return undefined;
  const unchanged = known.names.every(name => known.own[name]?.[0] === inputs[name][0] && known.own[name]?.[1] === inputs[name][1]);
  if (!unchanged) record(inputs, bundle);
  return bundle;
}

function build() {
  const esbuild = require('esbuild');
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = path.join(cacheDir, `${entryName}.${process.pid}.tmp`);
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
  const inputs = hashInputs(Object.keys(result.metafile.inputs).map(inputName), current(readJson(recordFile))?.inputs ?? {});
  const bundle = bundleFor(inputs);
  // a bundle's content is its name: a concurrent build of the same inputs renames the same bytes
  fs.renameSync(tmp, bundle);
  record(inputs, bundle);
  pruneCache();
  return bundle;
}

/**
 * Drops the records of checkouts that are gone (the tests' copies of the repository) and the bundles no record names
 * that have not been built for an hour.
 */
function pruneCache() {
  const files = fs.readdirSync(cacheDir);
  const referenced = new Set();
  for (const file of files.filter(f => f.endsWith('.inputs.json'))) {
    const recorded = current(readJson(path.join(cacheDir, file)));
    if (recorded?.entry && fs.existsSync(recorded.entry)) {
      referenced.add(recorded.bundle);
      continue;
    }
    fs.rmSync(path.join(cacheDir, file), { force: true });
  }
  const now = Date.now();
  for (const file of files.filter(f => f.endsWith('.js') && !referenced.has(f))) {
    try {
      if (now - fs.statSync(path.join(cacheDir, file)).mtimeMs < KEEP_UNREFERENCED_MS) continue;
    } catch {
      continue;
    }
    for (const stale of [file, `${file}.v8cache`]) fs.rmSync(path.join(cacheDir, stale), { force: true });
  }
}

/** Runs the bundle as a CommonJS module, compiled from V8's code cache when there is a usable one. */
function run(bundle) {
  const codeCache = `${bundle}.v8cache`;
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
        writeAtomically(codeCache, script.createCachedData());
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

const bundle = cachedBundle() ?? build();
process.argv.splice(1, 2, entry);
run(bundle);
