import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import {
  ImportUsageError, MIRROR_TABLE_FILE, mirrorFileOf, parseImportArgs, parseImportSpecs, parseMirrorTable,
} from '../../scripts/import-plan';
import { readTree, repoCopy } from '../support/repo-copy';

const root = path.join(__dirname, '..', '..');
const imports = (parse(fs.readFileSync(path.join(root, 'cdk8s.yaml'), 'utf8')) as { imports: unknown[] }).imports;
const table = parseMirrorTable(JSON.parse(fs.readFileSync(path.join(root, MIRROR_TABLE_FILE), 'utf8')));

describe('cdk8s.yaml imports and the mirror table', () => {
  test('every entry is [NAME:=]https://URL (no local path, no http://)', () => {
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter(entry => typeof entry !== 'string' || !/^([a-z0-9-]+:=)?https:\/\/[^/]+\/./.test(entry))).toEqual([]);
    expect(() => parseImportSpecs(imports)).not.toThrow();
  });

  test('every URL has a mirror file, and the table has no other URLs', () => {
    const urls = parseImportSpecs(imports).map(s => s.url);
    expect(urls.filter(url => !table.has(url))).toEqual([]);
    expect([...table.keys()].filter(url => !urls.includes(url))).toEqual([]);
  });
});

describe('parseImportSpecs', () => {
  test('splits the module name from the URL', () => {
    expect(parseImportSpecs(['https://example.com/crds.yaml', 'argocd-application:=https://example.com/app.yaml'])).toEqual([
      { url: 'https://example.com/crds.yaml' },
      { prefix: 'argocd-application', url: 'https://example.com/app.yaml' },
    ]);
  });

  test.each([
    [['/tmp/obs-canary-import-wyGrwW/crd-all.gen.yaml'], /'imports\[0\]' must be an https:\/\/ URL .*got "\/tmp\/obs-canary-import-wyGrwW\/crd-all.gen.yaml"/],
    [['https://example.com/a.yaml', 'argocd-application:=/tmp/x/application-crd.yaml'], /'imports\[1\]' must be an https:\/\/ URL/],
    [['http://example.com/crds.yaml'], /'imports\[0\]' must be an https:\/\/ URL .*got "http:\/\/example.com\/crds.yaml"/],
    [['Argo CD:=https://example.com/a.yaml'], /'imports\[0\]' has module name "Argo CD"; allowed: lower-case letters, digits and '-'/],
    [[42], /'imports\[0\]' must be a string \[NAME:=\]https:\/\/URL, got 42/],
    [['https://example.com/a.yaml', 'x:=https://example.com/a.yaml'], /lists https:\/\/example.com\/a.yaml more than once/],
  ])('fails on %j', (entries, message) => {
    expect(() => parseImportSpecs(entries)).toThrow(message);
  });

  test.each([[undefined], [[]], ['https://example.com/a.yaml']])('fails if imports is %j', value => {
    expect(() => parseImportSpecs(value)).toThrow(/cdk8s.yaml 'imports' must be a non-empty list of \[NAME:=\]https:\/\/URL, got /);
  });
});

describe('the mirror table', () => {
  test('maps a URL to its file name', () => {
    expect(mirrorFileOf('https://example.com/a.yaml', parseMirrorTable({ 'https://example.com/a.yaml': 'a-1.0.yaml' }))).toBe('a-1.0.yaml');
  });

  test('fails if a URL has no entry, naming the URL and the table', () => {
    expect(() => mirrorFileOf('https://example.com/b.yaml', parseMirrorTable({ 'https://example.com/a.yaml': 'a.yaml' })))
      .toThrow('https://example.com/b.yaml (in cdk8s.yaml) has no entry in cdk8s.mirror.json; add "https://example.com/b.yaml": "<its file name in the mirror directory>"');
  });

  test.each([
    [[], 'cdk8s.mirror.json must be an object from upstream URL to mirror file name, got []'],
    [{ '/tmp/a.yaml': 'a.yaml' }, 'cdk8s.mirror.json keys must be https:// URLs, got "/tmp/a.yaml"'],
    [{ 'https://example.com/a.yaml': '../a.yaml' }, 'cdk8s.mirror.json maps https://example.com/a.yaml to "../a.yaml"; allowed: a file name without a directory'],
    [{ 'https://example.com/a.yaml': 1 }, 'cdk8s.mirror.json maps https://example.com/a.yaml to 1; allowed: a file name without a directory'],
  ])('fails on %j', (value, message) => {
    expect(() => parseMirrorTable(value)).toThrow(message);
  });
});

describe('parseImportArgs', () => {
  test.each([
    [[], { help: false }],
    [['--mirror', 'crds'], { help: false, mirror: 'crds' }],
    [['--mirror=/srv/crds'], { help: false, mirror: '/srv/crds' }],
    [['--help'], { help: true }],
  ])('%j', (argv, expected) => {
    expect(parseImportArgs(argv)).toEqual(expected);
  });

  test.each([
    [['--mirror'], '--mirror needs a directory holding the upstream files, got nothing'],
    [['--mirror='], '--mirror needs a directory holding the upstream files, got ""'],
    [['--mirror', '--help'], '--mirror needs a directory holding the upstream files, got "--help"'],
    [['--mirror', 'a', '--mirror', 'b'], '--mirror given more than once (first "a"); give one directory'],
    [['crds'], 'unknown argument "crds"; allowed: --mirror DIR, --help'],
    [['--save', 'false'], 'unknown argument "--save"; allowed: --mirror DIR, --help'],
  ])('fails on %j', (argv, message) => {
    expect(() => parseImportArgs(argv)).toThrow(new ImportUsageError(message));
  });
});

/**
 * The directory holding the upstream files: `$OBS_CANARY_CRD_MIRROR` (.ci/run sets it where the machine keeps a copy;
 * when it is set, the test always runs, and fails if the directory is missing). GitHub's CI downloads the files
 * instead (`npm run import` and a diff, in ci.yml).
 */
function crdMirror(): string | undefined {
  const fromEnv = process.env.OBS_CANARY_CRD_MIRROR;
  return fromEnv ? path.resolve(fromEnv) : undefined;
}

const mirror = crdMirror();
const SKIP_HINT = 'set OBS_CANARY_CRD_MIRROR to a directory holding the upstream files of cdk8s.yaml (names in cdk8s.mirror.json) to run it';
if (mirror === undefined) console.warn(`skipped: npm run import end to end; ${SKIP_HINT}`);

(mirror ? describe : describe.skip)(`npm run import -- --mirror DIR (end to end, on a copy of the repository)${mirror ? '' : `: skipped, ${SKIP_HINT}`}`, () => {
  const mirrorDir = mirror ?? '';
  let copy: string;
  let remove: (() => Promise<void>) | undefined;

  beforeAll(() => {
    if (!fs.statSync(mirrorDir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`OBS_CANARY_CRD_MIRROR=${mirrorDir} is not a directory; point it at a directory holding the upstream files`);
    }
    ({ dir: copy, remove } = repoCopy());
  });

  afterAll(() => remove?.());

  const npmImport = (dir: string) => spawnSync('npm', ['run', '-s', 'import', '--', '--mirror', dir], { cwd: copy, encoding: 'utf8' });
  const generated = () => ({ imports: readTree(path.join(copy, 'imports')), config: fs.readFileSync(path.join(copy, 'cdk8s.yaml'), 'utf8') });

  test('regenerates imports/ byte for byte, drops modules no longer generated and leaves cdk8s.yaml as it was', () => {
    const before = generated();
    expect(before.imports.size).toBeGreaterThan(8);
    fs.writeFileSync(path.join(copy, 'imports', 'dropped-upstream.istio.io.ts'), '// generated by cdk8s from an older release\n');
    const result = npmImport(mirrorDir);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^imports\/ regenerated from 3 files in .+: 6 modules, schemas of 8 kinds in imports\/schemas\/\n$/);
    expect(generated()).toEqual(before);
  }, 120_000);

  test('fails naming a mirror file that is missing, and leaves imports/ as it was', () => {
    const partial = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-mirror-'));
    const [missing, ...present] = [...table.values()];
    for (const file of present) fs.symlinkSync(path.join(mirrorDir, file), path.join(partial, file));
    const before = generated();
    const result = npmImport(partial);
    fs.rmSync(partial, { recursive: true });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('import failed; imports/ is unchanged.');
    expect(result.stderr).toContain(`mirror file ${path.join(partial, missing)} (for `);
    expect(generated()).toEqual(before);
  }, 60_000);
});
