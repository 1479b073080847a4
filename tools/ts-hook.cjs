'use strict';
// A transpile-only require hook for `.ts` files with a content-addressed disk cache.
//
// `npm run synth`, `cdk8s synth` and the service start scripts load TypeScript through this hook. It never
// type-checks (that is `npm run typecheck`), and a warm run reads transpiled JavaScript from
// node_modules/.cache/obs-canary-ts instead of loading a compiler: tsx or ts-node add 150-250 ms to every start,
// which is most of the synth budget measured by bench/synth.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const HOOK_VERSION = '1';
const cacheDir = path.join(__dirname, '..', 'node_modules', '.cache', 'obs-canary-ts');
let swc;
let swcVersion;

function transpile(source, filename) {
  swc ??= require('@swc/core');
  return swc.transformSync(source, {
    filename,
    swcrc: false,
    configFile: false,
    sourceMaps: false,
    module: { type: 'commonjs' },
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
  }).code;
}

function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  swcVersion ??= require('@swc/core/package.json').version;
  const key = crypto.createHash('sha1')
    .update(`${HOOK_VERSION}\0${swcVersion}\0${filename}\0`)
    .update(source)
    .digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let code;
  try {
    code = fs.readFileSync(cached, 'utf8');
  } catch {
    code = transpile(source, filename);
    fs.mkdirSync(cacheDir, { recursive: true });
    // write-then-rename so that a concurrent reader never sees half a file; the name is the writer's own (worker
    // threads of one process compile the same file at once, and share its pid)
    const tmp = `${cached}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, cached);
  }
  module._compile(code, filename);
}

require.extensions['.ts'] = compileTs;
