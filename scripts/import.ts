// `npm run import`: regenerates imports/ from the CRD release files pinned in cdk8s.yaml: the typed classes
// (`cdk8s import`) and, for the kinds the charts render, the CRD's OpenAPI schema for the run-time schema test.
//
//   npm run import                      download the pinned URLs
//   npm run import -- --mirror DIR      read DIR/<file name of each URL> instead (offline)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { findRepoRoot } from '../lib/synth';

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

async function fetchText(url: string, mirror: string | undefined): Promise<string> {
  if (mirror) return fs.readFileSync(path.join(mirror, path.basename(new URL(url).pathname)), 'utf8');
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.text();
}

async function main(): Promise<void> {
  const root = findRepoRoot(process.cwd());
  const args = process.argv.slice(2);
  const mirror = args.includes('--mirror') ? path.resolve(args[args.indexOf('--mirror') + 1]) : undefined;
  const config = parse(fs.readFileSync(path.join(root, 'cdk8s.yaml'), 'utf8')) as { imports: string[] };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-import-'));
  const crds: Crd[] = [];
  try {
    for (const spec of config.imports) {
      const [prefix, url] = spec.includes(':=') ? spec.split(':=') : [undefined, spec];
      const text = await fetchText(url, mirror);
      const file = path.join(work, path.basename(new URL(url).pathname));
      fs.writeFileSync(file, text);
      crds.push(...parseAllDocuments(text).map(d => d.toJS() as Crd).filter(d => d?.kind === 'CustomResourceDefinition'));
      execFileSync(path.join(root, 'node_modules', '.bin', 'cdk8s'),
        ['import', prefix ? `${prefix}:=${file}` : file, '--language', 'typescript', '--output', path.join(root, 'imports')],
        { cwd: root, stdio: 'inherit', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }

  const schemaDir = path.join(root, 'imports', 'schemas');
  fs.rmSync(schemaDir, { recursive: true, force: true });
  fs.mkdirSync(schemaDir, { recursive: true });
  for (const [group, version, kind] of RENDERED_KINDS) {
    const crd = crds.find(c => c.spec.group === group && c.spec.names.kind === kind);
    const schema = crd?.spec.versions.find(v => v.name === version)?.schema?.openAPIV3Schema;
    if (!schema) throw new Error(`no schema for ${group}/${version} ${kind} in the files of cdk8s.yaml`);
    fs.writeFileSync(path.join(schemaDir, `${group}_${version}_${kind}.json`), `${JSON.stringify(schema, undefined, 1)}\n`);
  }
  console.log(`imports/ regenerated; schemas of ${RENDERED_KINDS.length} kinds in imports/schemas/`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
