// `npm run import`: regenerates imports/ from the CRD release files pinned in cdk8s.yaml: the typed classes
// (`cdk8s import`) and, for the kinds the charts render, the CRD's OpenAPI schema for the run-time schema test.
//
//   npm run import                      download the pinned URLs
//   npm run import -- --mirror DIR      read each URL's file from DIR, under the name cdk8s.mirror.json gives it (offline)
//
// Everything is generated in a temporary directory first; imports/ is replaced only when all of it succeeded, so a
// failed run leaves it as it was and a module that upstream dropped does not linger. The checks are in import-plan.ts.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { findRepoRoot, replaceDirectory } from '../lib/synth';
import { IMPORT_USAGE, ImportSpec, ImportUsageError, MIRROR_TABLE_FILE, mirrorFileOf, parseImportArgs, parseImportSpecs, parseMirrorTable } from './import-plan';

/** The CRD versions the charts render; their schemas go to imports/schemas/. */
const RENDERED_KINDS: ReadonlyArray<readonly [group: string, version: string, kind: string]> = [
  ['networking.istio.io', 'v1', 'VirtualService'],
  ['networking.istio.io', 'v1', 'DestinationRule'],
  ['networking.istio.io', 'v1', 'Gateway'],
  ['security.istio.io', 'v1', 'PeerAuthentication'],
  ['security.istio.io', 'v1', 'AuthorizationPolicy'],
  ['telemetry.istio.io', 'v1', 'Telemetry'],
  ['argoproj.io', 'v1alpha1', 'Application'],
  ['argoproj.io', 'v1alpha1', 'AppProject'],
];

interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: Array<{ name: string; schema?: { openAPIV3Schema: unknown } }> };
}

/** Reads the content of an upstream URL. */
type Source = (spec: ImportSpec) => Promise<string>;

async function download(spec: ImportSpec): Promise<string> {
  let response: Response;
  try {
    response = await fetch(spec.url);
  } catch (error) {
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    throw new Error(`GET ${spec.url} failed: ${reason}; offline, run npm run import -- --mirror DIR (a directory holding the upstream files)`);
  }
  if (!response.ok) throw new Error(`GET ${spec.url}: HTTP ${response.status} ${response.statusText}`);
  return response.text();
}

function mirrorSource(root: string, dir: string, specs: readonly ImportSpec[]): Source {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`--mirror directory ${dir} does not exist; give a directory holding the upstream files named in ${MIRROR_TABLE_FILE}`);
  }
  const table = parseMirrorTable(JSON.parse(fs.readFileSync(path.join(root, MIRROR_TABLE_FILE), 'utf8')));
  // every URL is looked up before anything is read, so a missing entry fails first and alone
  const files = new Map(specs.map(s => [s.url, path.join(dir, mirrorFileOf(s.url, table))]));
  return async spec => {
    const file = files.get(spec.url) as string;
    if (!fs.existsSync(file)) throw new Error(`mirror file ${file} (for ${spec.url}) does not exist; the mirror directory must hold every file ${MIRROR_TABLE_FILE} names`);
    return fs.readFileSync(file, 'utf8');
  };
}

/** Runs `cdk8s import` for one spec whose file is already local; returns the directory it generated into. */
async function generate(root: string, work: string, spec: ImportSpec, text: string, index: number): Promise<string> {
  const dir = path.join(work, String(index));
  const file = path.join(dir, path.basename(new URL(spec.url).pathname));
  const output = path.join(dir, 'out');
  fs.mkdirSync(dir);
  fs.writeFileSync(file, text);
  const args = [
    path.join(root, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s'), 'import', spec.prefix === undefined ? file : `${spec.prefix}:=${file}`,
    // without --save false, cdk8s adds each spec it imports (here a temporary path) to cdk8s.yaml
    '--save', 'false', '--language', 'typescript', '--output', output,
  ];
  // CDK8S_* variables are cdk8s options (CDK8S_CLASS_PREFIX would rename every class): only ours apply
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CDK8S_'))), CDK8S_CHECK_UPGRADE: 'false' };
  try {
    // cwd: dir, so that cdk8s reads no cdk8s.yaml of ours
    await promisify(execFile)(process.execPath, args, { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`cdk8s import of ${spec.url} failed: ${stderr || (error as Error).message}`);
  }
  return output;
}

function crdsOf(spec: ImportSpec, text: string): Crd[] {
  const documents = parseAllDocuments(text);
  const broken = documents.find(d => d.errors.length > 0);
  if (broken) throw new Error(`${spec.url} is not valid YAML: ${broken.errors[0].message}`);
  return documents.map(d => d.toJS() as Crd).filter(d => d?.kind === 'CustomResourceDefinition');
}

/** Generates the new imports/ into `staging`; returns the number of generated modules. */
async function regenerate(root: string, specs: readonly ImportSpec[], source: Source, work: string, staging: string): Promise<number> {
  const texts = await Promise.all(specs.map(source));
  const crds = specs.flatMap((spec, i) => crdsOf(spec, texts[i]));
  // one cdk8s process per spec (it imports only the first spec it is given), run side by side
  // allSettled: the caller removes `work` next, so no cdk8s may still be writing into it
  const settled = await Promise.allSettled(specs.map((spec, i) => generate(root, work, spec, texts[i], i)));
  const failed = settled.find(r => r.status === 'rejected');
  if (failed) throw failed.reason;
  const outputs = settled.map(r => (r as PromiseFulfilledResult<string>).value);

  const generatedBy = new Map<string, string>();
  fs.mkdirSync(staging);
  outputs.forEach((output, i) => {
    for (const file of fs.readdirSync(output)) {
      const other = generatedBy.get(file);
      if (other !== undefined) {
        throw new Error(`${other} and ${specs[i].url} both generate imports/${file}; give one of them a module name in cdk8s.yaml (NAME:=URL)`);
      }
      generatedBy.set(file, specs[i].url);
      fs.renameSync(path.join(output, file), path.join(staging, file));
    }
  });

  const schemaDir = path.join(staging, 'schemas');
  fs.mkdirSync(schemaDir);
  for (const [group, version, kind] of RENDERED_KINDS) {
    const crd = crds.find(c => c.spec.group === group && c.spec.names.kind === kind);
    const schema = crd?.spec.versions.find(v => v.name === version)?.schema?.openAPIV3Schema;
    if (!schema) throw new Error(`no schema for ${group}/${version} ${kind} in the files of cdk8s.yaml`);
    fs.writeFileSync(path.join(schemaDir, `${group}_${version}_${kind}.json`), `${JSON.stringify(schema, undefined, 1)}\n`);
  }
  return generatedBy.size;
}

async function main(): Promise<void> {
  const args = parseImportArgs(process.argv.slice(2));
  if (args.help) {
    console.log(IMPORT_USAGE);
    return;
  }
  const root = findRepoRoot(process.cwd());
  const config = parse(fs.readFileSync(path.join(root, 'cdk8s.yaml'), 'utf8')) as { imports?: unknown } | null;
  const specs = parseImportSpecs(config?.imports);
  // npm runs scripts in the package root; INIT_CWD is where the caller typed the relative DIR
  const mirror = args.mirror === undefined ? undefined : path.resolve(process.env.INIT_CWD ?? process.cwd(), args.mirror);
  const source = mirror === undefined ? download : mirrorSource(root, mirror, specs);

  // beside imports/, on its file system: the new tree is swapped in by rename, as synth swaps dist/
  const work = fs.mkdtempSync(path.join(root, '.import-'));
  try {
    const staging = path.join(work, 'imports');
    const modules = await regenerate(root, specs, source, work, staging);
    replaceDirectory(path.join(root, 'imports'), staging);
    console.log(`imports/ regenerated from ${specs.length} files${mirror === undefined ? '' : ` in ${mirror}`}: ${modules} modules, `
      + `schemas of ${RENDERED_KINDS.length} kinds in imports/schemas/`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ImportUsageError) {
    console.error(`${message}\n\n${IMPORT_USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`import failed; imports/ is unchanged.\n${message}`);
    process.exitCode = 1;
  }
});
