import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ENVIRONMENT_NAMES, ENVIRONMENTS, loadEnvironment } from '../lib/config/environments';
import {
  findRepoRoot, loadStackInput, renderEnvironment, replaceDirectory, synthFailure, synthesizeAll, synthesizeEnvironment, synthesizeRepo,
} from '../lib/synth';
import { fixtureInput } from './support/manifest';
import { readTree, repoCopy } from './support/repo-copy';

const root = path.join(__dirname, '..');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'synth-test-'));
}

/**
 * `cdk8s synth` as a user runs it, into a temporary directory, with its stderr split in two: what the app printed, and
 * the error cdk8s-cli adds when the app fails (a stack of its own child-process handler, which the app cannot avoid).
 */
function cdk8sSynth(cwd: string, deployEnv: string): { status: number | null; app: string; cli: string } {
  const out = tempDir();
  // the bin `npx cdk8s` resolves to, without npx's own start (~0.7 s)
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'cdk8s'), ['synth', '--output', out], {
    cwd, encoding: 'utf8', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false', DEPLOY_ENV: deployEnv },
  });
  fs.rmSync(out, { recursive: true, force: true });
  const cli = result.stderr.indexOf('Error: command "');
  return { status: result.status, app: cli === -1 ? result.stderr : result.stderr.slice(0, cli), cli: cli === -1 ? '' : result.stderr.slice(cli) };
}

/** Fails unless `cli` is cdk8s-cli's report of the app's exit code 1, with no frame of the app's bundled code. */
function expectOnlyCliTrace(cli: string): void {
  expect(cli).toMatch(/^Error: command "node tools\/run-bundled\.cjs main\.ts ?" at \S+ returned a non-zero exit code 1\n/);
  for (const frame of cli.split('\n').filter(line => /^\s+at /.test(line))) expect(frame).toMatch(/node_modules\/cdk8s-cli\/|\(node:/);
}

describe('renderEnvironment', () => {
  const files = renderEnvironment(fixtureInput(ENVIRONMENTS.local));

  test('one directory per chart, holding manifest.yaml', () => {
    expect(files.map(f => f.path)).toEqual(['apps/manifest.yaml', 'argocd/manifest.yaml', 'bootstrap/manifest.yaml', 'observability/manifest.yaml']);
  });

  test('objects in apply order: the namespace first, policies and identities before workloads, then by kind and name', () => {
    const observability = files.find(f => f.path === 'observability/manifest.yaml')!;
    const docs = parseAllDocuments(observability.content).map(d => d.toJS());
    expect(docs).toHaveLength(observability.objects);
    const kinds = docs.map(d => d.kind);
    expect(kinds[0]).toBe('Namespace');
    expect(kinds.lastIndexOf('NetworkPolicy')).toBeLessThan(kinds.indexOf('ServiceAccount'));
    expect(kinds.lastIndexOf('ConfigMap')).toBeLessThan(kinds.indexOf('Deployment'));
    expect(kinds.lastIndexOf('Service')).toBeLessThan(kinds.indexOf('StatefulSet'));
    const configMaps = docs.filter(d => d.kind === 'ConfigMap').map(d => d.metadata.name);
    expect(configMaps).toEqual([...configMaps].sort());
  });

  test('the bootstrap file creates the AppProjects before the Application that names one (kubectl apply -f, in file order)', () => {
    const bootstrap = files.find(f => f.path === 'bootstrap/manifest.yaml')!;
    const kinds = parseAllDocuments(bootstrap.content).map(d => d.toJS().kind);
    expect(kinds.lastIndexOf('AppProject')).toBeLessThan(kinds.indexOf('Application'));
    expect(kinds.indexOf('Application')).toBeGreaterThan(-1);
  });

  test('is deterministic: byte-identical across runs', () => {
    expect(renderEnvironment(fixtureInput(ENVIRONMENTS.local))).toEqual(files);
    expect(renderEnvironment(fixtureInput(ENVIRONMENTS.prod))).toEqual(renderEnvironment(fixtureInput(ENVIRONMENTS.prod)));
  });
});

describe('committed dist/', () => {
  test.each(ENVIRONMENT_NAMES)('dist/%s equals a fresh synth (run `npm run synth` and commit if this fails)', name => {
    const expected = new Map(renderEnvironment(loadStackInput(root, name)).map(f => [f.path, f.content]));
    const actual = readTree(path.join(root, 'dist', name));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [file, content] of expected) expect([file, actual.get(file)]).toEqual([file, content]);
  });

  test('holds exactly the environments', () => {
    expect(fs.readdirSync(path.join(root, 'dist')).sort()).toEqual([...ENVIRONMENT_NAMES].sort());
  });
});

describe('synthesizeAll', () => {
  test('renders every environment into <dist>/<env>/ and leaves no staging directory behind', () => {
    const dir = tempDir();
    const dist = path.join(dir, 'dist');
    const count = synthesizeAll(dist, ENVIRONMENT_NAMES.map(n => () => fixtureInput(loadEnvironment(n))));
    const tree = readTree(dist);
    // what each environment renders to on its own, rendered once
    const expected = ENVIRONMENT_NAMES.flatMap(n => renderEnvironment(fixtureInput(loadEnvironment(n))).map(file => ({ env: n, file })));
    expect(count).toBe(expected.reduce((sum, { file }) => sum + file.objects, 0));
    expect([...tree.keys()].sort()).toEqual(expected.map(({ env, file }) => `${env}/${file.path}`).sort());
    for (const { env, file } of expected) expect(tree.get(`${env}/${file.path}`)).toBe(file.content);
    expect(fs.readdirSync(dir)).toEqual(['dist']);
    fs.rmSync(dir, { recursive: true });
  });

  test('a failing environment leaves the previous dist/ exactly as it was', () => {
    const dir = tempDir();
    const dist = path.join(dir, 'dist');
    synthesizeAll(dist, [() => fixtureInput(ENVIRONMENTS.local)]);
    fs.writeFileSync(path.join(dist, 'marker'), 'previous');
    const before = readTree(dist);
    expect(() => synthesizeAll(dist, [
      () => fixtureInput(ENVIRONMENTS.local),
      () => fixtureInput(loadEnvironment('prod', { prod: { ...ENVIRONMENTS.prod, grafana: { ...ENVIRONMENTS.prod.grafana, replicas: 0 } } })),
    ])).toThrow("'grafana.replicas' must be an integer from 1 to 10, got 0");
    expect(readTree(dist)).toEqual(before);
    expect(fs.readdirSync(dir)).toEqual(['dist']);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('synthesizeEnvironment (the canary CLI\'s synth)', () => {
  /** A repository root with the real rollout state and a dist/ holding a marker per environment. */
  function fakeRoot(): string {
    const dir = tempDir();
    fs.cpSync(path.join(root, 'rollout'), path.join(dir, 'rollout'), { recursive: true });
    fs.cpSync(path.join(root, 'services'), path.join(dir, 'services'), { recursive: true });
    for (const name of ENVIRONMENT_NAMES) {
      fs.mkdirSync(path.join(dir, 'dist', name), { recursive: true });
      fs.writeFileSync(path.join(dir, 'dist', name, 'marker'), name);
    }
    return dir;
  }

  test('replaces dist/<env>/ alone with that environment rendered from the state in hand', () => {
    const dir = fakeRoot();
    const input = loadStackInput(root, 'local');
    const count = synthesizeEnvironment(dir, 'local', input.rollouts);
    const expected = renderEnvironment(input);
    expect(count).toBe(expected.reduce((sum, f) => sum + f.objects, 0));
    expect(readTree(path.join(dir, 'dist', 'local'))).toEqual(new Map(expected.map(f => [f.path, f.content])));
    for (const other of ENVIRONMENT_NAMES.filter(n => n !== 'local')) {
      expect(readTree(path.join(dir, 'dist', other))).toEqual(new Map([['marker', other]]));
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['dist', 'rollout', 'services']);
    fs.rmSync(dir, { recursive: true });
  });

  test('a failure leaves dist/ exactly as it was and no staging directory', () => {
    const dir = fakeRoot();
    fs.rmSync(path.join(dir, 'rollout', 'local'), { recursive: true });
    const before = readTree(path.join(dir, 'dist'));
    expect(() => synthesizeEnvironment(dir, 'local')).toThrow('rollout/local/');
    expect(readTree(path.join(dir, 'dist'))).toEqual(before);
    expect(fs.readdirSync(dir).sort()).toEqual(['dist', 'rollout', 'services']);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('replaceDirectory', () => {
  test('swaps the new tree in', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'old'), '1');
    fs.mkdirSync(path.join(dir, 'new'));
    fs.writeFileSync(path.join(dir, 'new', 'fresh'), '2');
    replaceDirectory(path.join(dir, 'dist'), path.join(dir, 'new'));
    expect([...readTree(path.join(dir, 'dist')).keys()]).toEqual(['fresh']);
    expect(fs.readdirSync(dir)).toEqual(['dist']);
    fs.rmSync(dir, { recursive: true });
  });

  test('puts the old tree back when the new one cannot be moved in', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'old'), '1');
    expect(() => replaceDirectory(path.join(dir, 'dist'), path.join(dir, 'missing'))).toThrow(/ENOENT/);
    expect(readTree(path.join(dir, 'dist'))).toEqual(new Map([['old', '1']]));
    fs.rmSync(dir, { recursive: true });
  });
});

describe('findRepoRoot', () => {
  test('finds the directory holding cdk8s.yaml from below it', () => {
    expect(findRepoRoot(path.join(root, 'lib', 'config'))).toBe(path.resolve(root));
  });

  test('fails outside the repository', () => {
    expect(() => findRepoRoot(os.tmpdir())).toThrow('no cdk8s.yaml at or above');
  });
});

describe('main.ts (what `cdk8s synth` runs)', () => {
  test('renders DEPLOY_ENV into $CDK8S_OUTDIR/<env>/, the same files as dist/<env>/', () => {
    const out = tempDir();
    const result = spawnSync('node', ['tools/run-bundled.cjs', 'main.ts'], {
      cwd: root, encoding: 'utf8', env: { ...process.env, DEPLOY_ENV: 'prod', CDK8S_OUTDIR: out },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readTree(path.join(out, 'prod'))).toEqual(readTree(path.join(root, 'dist', 'prod')));
    fs.rmSync(out, { recursive: true });
  });

  test('`cdk8s synth` with an unknown DEPLOY_ENV fails with the short message, listing the environments, and no stack of the app', () => {
    const result = cdk8sSynth(root, 'nope');
    expect(result.status).toBe(1);
    expect(result.app).toBe('synth failed.\ninvalid environment name:\n'
      + `  - 'DEPLOY_ENV' must be one of ${ENVIRONMENT_NAMES.map(n => `"${n}"`).join(', ')}, got "nope"\n`);
    expectOnlyCliTrace(result.cli);
  });
});

describe('npm run synth (end to end, on a copy of the repository)', () => {
  let copy: string;
  let remove: () => Promise<void>;

  beforeAll(() => {
    ({ dir: copy, remove } = repoCopy());
  });

  afterAll(() => remove());

  const npmSynth = () => spawnSync('npm', ['run', '-s', 'synth'], { cwd: copy, encoding: 'utf8' });
  /** What `npm run synth` runs, without npm's own start (~0.5 s): for the failures, whose messages are the script's. */
  const scriptSynth = () => spawnSync(process.execPath, ['tools/run-bundled.cjs', 'scripts/synth.ts'], { cwd: copy, encoding: 'utf8' });

  test('reproduces the committed dist/ byte for byte', () => {
    const before = readTree(path.join(copy, 'dist'));
    const result = npmSynth();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^synthesized \\d+ objects for ${ENVIRONMENT_NAMES.join(', ')} into dist/\n$`));
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
  });

  test('an invalid state file fails naming the file and the field, and leaves dist/ as it was', () => {
    const file = path.join(copy, 'rollout', 'prod', 'backend.yaml');
    const source = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, source.replace(/- 25\n/, '- 5\n'));
    const before = readTree(path.join(copy, 'dist'));
    const result = scriptSynth();
    fs.writeFileSync(file, source);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("invalid rollout state rollout/prod/backend.yaml:\n  - 'steps' must be strictly increasing, got [10,5,50,100]");
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
  });

  /** `npm run synth`'s transaction in this process (the bundle and npm add seconds, not behaviour): its message, if it failed. */
  const synthInProcess = (): string | undefined => {
    try {
      synthesizeRepo(copy);
      return undefined;
    } catch (error) {
      return synthFailure(error);
    }
  };

  test('state of an environment that is gone fails naming its directory and its canary in flight, and leaves dist/ as it was', () => {
    // central removed from the configuration while its state stayed: here, a copy of prod's under a name no environment has
    const gone = path.join(copy, 'rollout', 'retired');
    fs.cpSync(path.join(copy, 'rollout', 'prod'), gone, { recursive: true });
    const file = path.join(gone, 'backend.yaml');
    const state = fs.readFileSync(file, 'utf8');
    expect(state).toContain('canary: null');
    const image = /image: (\S+)/.exec(state)![1];
    fs.writeFileSync(file, state.replace('canary: null', `canary:\n  image: ${image}\n  weight: 0\n  startedAt: "2026-11-01T10:00:00Z"\n`
      + '  weightChangedAt: "2026-11-01T10:00:00Z"\n  failedChecks: 0\n  consecutiveHolds: 0'));
    const before = readTree(path.join(copy, 'dist'));
    const message = synthInProcess();
    fs.rmSync(gone, { recursive: true });
    expect(message).toBe('invalid rollout state rollout/retired/:\n  - no environment is named "retired" (the environments: '
      + `${ENVIRONMENT_NAMES.join(', ')}; lib/config/): its canaries in flight, backend (${image} at 0%), would be decided by nothing: put the `
      + 'environment back, end them (npx canary rollback --service <service> --env retired --commit --push, or promote), then remove the '
      + 'environment and this directory together');
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
  });

  test('an invalid service file fails naming the file, the field, the value and what is allowed, and leaves dist/ as it was', () => {
    const file = path.join(copy, 'services', 'backend.yaml');
    const source = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, source.replace('port: 8081', 'port: 80810'));
    const before = readTree(path.join(copy, 'dist'));
    const message = synthInProcess();
    fs.writeFileSync(file, source);
    expect(message).toBe('invalid service file services/backend.yaml:\n  - \'port\' must be an integer from 1 to 65535, got 80810');
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
  });

  test('a service file without rollout state fails with the command that fixes it; state without a service file too', () => {
    const service = path.join(copy, 'services', 'ledger.yaml');
    fs.copyFileSync(path.join(root, 'tests', 'fixtures', 'services', 'ledger.yaml'), service);
    const before = readTree(path.join(copy, 'dist'));
    const missingState = synthInProcess();
    fs.rmSync(service);
    const state = path.join(copy, 'rollout', 'local', 'ledger.yaml');
    fs.writeFileSync(state, 'service: ledger\nstable: { image: ghcr.io/example/ledger:1.0.0 }\ncanary: null\nhistory: []\n');
    const missingService = synthInProcess();
    fs.rmSync(state);
    expect(missingState).toBe('invalid rollout state rollout/local/ledger.yaml:\n  - the file is missing: services/ledger.yaml has no rollout state '
      + 'in local; run `npx canary init --service ledger --image <image>@sha256:<digest>`');
    expect(missingService).toBe('invalid rollout state rollout/local/ledger.yaml:\n  - no service file services/ledger.yaml names this service: '
      + 'add one, or delete this state file if the service is gone');
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
  });

  test('an invalid environment value: the synth script and `cdk8s synth` fail with the same message (field, value, what is allowed), '
    + 'without a stack of the app, and dist/ is left as it was', () => {
    const file = path.join(copy, 'lib', 'config', 'environments.ts');
    const source = fs.readFileSync(file, 'utf8');
    const broken = source.replace(/(grafana: {\s*replicas: )2,/, (_match, head: string) => `${head}0,`);
    expect(broken).not.toBe(source);
    fs.writeFileSync(file, broken);
    fs.writeFileSync(path.join(copy, 'dist', 'local', 'observability', 'manifest.yaml'), 'edited by hand\n');
    const before = readTree(path.join(copy, 'dist'));
    const script = scriptSynth();
    const cdk8s = cdk8sSynth(copy, 'prod');
    fs.writeFileSync(file, source);
    expect(script.status).toBe(1);
    expect(script.stderr).toBe('synth failed; dist/ is unchanged.\n'
      + 'invalid environment "prod":\n  - \'grafana.replicas\' must be an integer from 1 to 10, got 0\n');
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
    expect(fs.readdirSync(copy).filter(e => e.startsWith('.dist-'))).toEqual([]);
    expect(cdk8s.status).toBe(1);
    expect(cdk8s.app).toBe(`synth failed.\n${script.stderr.replace(/^synth failed; dist\/ is unchanged\.\n/, '')}`);
    expectOnlyCliTrace(cdk8s.cli);
  });
});

describe('adding an environment (end to end, on a copy of the repository)', () => {
  // what an engineer adds to lib/config/environments.ts: a smaller prod, named staging (or, in a checkout that has a
  // staging already, as the README shows, staging-2)
  const NEW = ENVIRONMENT_NAMES.includes('staging') ? 'staging-2' : 'staging';
  const STAGING_ENTRY = `  '${NEW}': {
    name: '${NEW}',
    extends: 'prod',
    clusterName: '${NEW}',
    objectStorage: { lokiBucket: 'obs-canary-${NEW}-loki', tempoBucket: 'obs-canary-${NEW}-tempo' },
    loki: { replicas: 1, retention: Duration.days(7) },
    collector: { replicas: 1 },
    apps: { stableReplicas: 1 },
    grafana: { rootUrl: 'https://grafana.${NEW}.example.com' },
    kiali: { rootUrl: 'https://kiali.${NEW}.example.com' },
  },
`;
  let copy: string;
  let remove: () => Promise<void>;
  let before: Map<string, string>;

  beforeAll(() => {
    ({ dir: copy, remove } = repoCopy());
    before = readTree(path.join(copy, 'dist'));
    const file = path.join(copy, 'lib', 'config', 'environments.ts');
    const source = fs.readFileSync(file, 'utf8');
    // the registry is the one call to defineEnvironments, closed by the only "});" at the start of a line
    expect(source.split('\n});\n')).toHaveLength(2);
    fs.writeFileSync(file, source.replace('\n});\n', `\n${STAGING_ENTRY}});\n`));
    // and the demo's public host in staging: hosts are per environment in the service file
    const gateway = path.join(copy, 'services', 'gateway.yaml');
    const service = fs.readFileSync(gateway, 'utf8');
    expect(service).toContain('    prod: [flights.example.com]\n');
    fs.writeFileSync(gateway, service.replace('    prod: [flights.example.com]\n', `    prod: [flights.example.com]\n    ${NEW}: [flights.${NEW}.example.com]\n`));
  });

  /** Runs `fn` with the staging entry's own buckets taken out, so that it shares prod's. */
  function sharingProdBuckets<T>(fn: () => T): T {
    const file = path.join(copy, 'lib', 'config', 'environments.ts');
    const source = fs.readFileSync(file, 'utf8');
    const line = `    objectStorage: { lokiBucket: 'obs-canary-${NEW}-loki', tempoBucket: 'obs-canary-${NEW}-tempo' },\n`;
    expect(source).toContain(line);
    fs.writeFileSync(file, source.replace(line, ''));
    try {
      return fn();
    } finally {
      fs.writeFileSync(file, source);
    }
  }

  afterAll(() => remove());

  const synth = () => spawnSync('node', ['tools/run-bundled.cjs', 'scripts/synth.ts'], { cwd: copy, encoding: 'utf8' });
  const objectsOf = (chart: string): any[] =>
    parseAllDocuments(fs.readFileSync(path.join(copy, 'dist', NEW, chart, 'manifest.yaml'), 'utf8')).map(d => d.toJS());
  const named = (objects: any[], kind: string, name: string) => objects.find(o => o.kind === kind && o.metadata.name === name);

  test('without rollout/staging/ synth fails naming the directory, and dist/ is left as it was', () => {
    const result = synth();
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`synth failed; dist/ is unchanged.\ninvalid rollout state rollout/${NEW}/:\n`
      + '  - the directory is missing; every environment needs one, with a state file per service (run `npx canary init --service <service> '
      + `--image <image>@sha256:<digest> --env ${NEW}\` for each service; a copy of another environment's files would carry its pods, its `
      + 'canaries in flight and its history)\n');
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
  });

  test('sharing prod\'s buckets, synth fails naming them (staging\'s retention would delete prod\'s data), and dist/ is left as it was', () => {
    fs.cpSync(path.join(copy, 'rollout', 'prod'), path.join(copy, 'rollout', NEW), { recursive: true });
    const [result, alone] = sharingProdBuckets(() => [synth(), spawnSync('node', ['tools/run-bundled.cjs', 'main.ts'], {
      cwd: copy, encoding: 'utf8', env: { ...process.env, DEPLOY_ENV: NEW, CDK8S_OUTDIR: path.join(copy, 'cdk8s.out') },
    })] as const);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('synth failed; dist/ is unchanged.\ninvalid environments:\n'
      + `  - "${NEW}"'s 'objectStorage.lokiBucket' must be a bucket of its own`);
    expect(readTree(path.join(copy, 'dist'))).toEqual(before);
    // rendering staging alone (cdk8s synth, and the canary CLI, which renders one environment) is refused the same way
    expect([alone.status, alone.stderr]).toEqual([1, expect.stringContaining(`"${NEW}"'s 'objectStorage.lokiBucket' must be a bucket of its own`)]);
    expect(fs.existsSync(path.join(copy, 'cdk8s.out', NEW))).toBe(false);
  });

  test('with its state files, dist/staging/ is rendered from prod merged with its values; local and prod are unchanged', () => {
    const result = synth();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^synthesized \\d+ objects for ${[...ENVIRONMENT_NAMES, NEW].join(', ')} into dist/\n$`));

    const after = readTree(path.join(copy, 'dist'));
    expect([...after.keys()].filter(f => !f.startsWith(`${NEW}/`))).toEqual([...before.keys()]);
    for (const [file, content] of before) expect([file, after.get(file)]).toEqual([file, content]);
    expect([...after.keys()].filter(f => f.startsWith(`${NEW}/`)).sort())
      .toEqual(['apps', 'argocd', 'bootstrap', 'observability'].map(chart => `${NEW}/${chart}/manifest.yaml`));

    const observability = objectsOf('observability');
    expect(named(observability, 'StatefulSet', 'loki').spec.replicas).toBe(1); // prod: 3
    expect(named(observability, 'Deployment', 'otel-collector').spec.replicas).toBe(1); // prod: 2
    expect(named(observability, 'Deployment', 'grafana').spec.replicas).toBe(2); // from prod
    const text = after.get(`${NEW}/observability/manifest.yaml`)!;
    expect(text).toContain(`bucketnames: obs-canary-${NEW}-loki`); // prod's object storage, a bucket of its own
    expect(text).toContain('endpoint: s3.eu-west-1.amazonaws.com');
    expect(text).toContain('retention_period: 168h'); // prod: 744h
    expect(text).toContain(`cluster: ${NEW}`);
    expect(text).not.toContain('cluster: prod');
    // addresses of its own, not prod's
    expect(text).toContain(`root_url = https://grafana.${NEW}.example.com`);
    expect(text).not.toContain('https://grafana.example.com');

    const apps = objectsOf('apps');
    expect(named(apps, 'Deployment', 'gateway-stable').spec.replicas).toBe(1); // prod: 2
    // no certificate named for staging in the service file: plain HTTP
    expect(named(apps, 'Gateway', 'edge').spec.servers).toEqual([{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [`flights.${NEW}.example.com`] }]);
    expect(objectsOf('argocd').filter(o => o.kind === 'Application').map(o => o.spec.source.path).sort())
      .toEqual([`dist/${NEW}/apps`, `dist/${NEW}/observability`]);
  });
});
