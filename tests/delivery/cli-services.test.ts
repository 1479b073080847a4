import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENTS, ENVIRONMENT_NAMES } from '../../lib/config/environments';
import { CliEnvironment, runCli } from '../../lib/delivery/cli';
import { renderRolloutState } from '../../lib/rollout/state';
import { StubResponse, StubServer } from '../apps/support/stub-server';
import { readTree } from '../support/repo-copy';
import { CLI_NOW, CliRun, LEDGER_YAML, cliIn } from '../support/cli';

/** A Prometheus answer to every query: 100, so as many errors as requests. */
const ALL_ERRORS: StubResponse = { status: 200, body: { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, '100'] }] } } };

/** A service that is not one of the demo's: in a namespace of its own, called by gateway. */
/** Pinned by digest: init writes every environment, and prod releases by digest only. */
const LEDGER_IMAGE = `ghcr.io/example/ledger@sha256:${'1'.repeat(64)}`;
const ONBOARD = 'to onboard it, add services/ledger.yaml (services/schema.json says what it holds), then run '
  + '`npx canary init --service ledger --image <image>@sha256:<digest>`';

/**
 * The services are data: the CLI, run in this process, learns them from the files under services/ of a directory that
 * holds the repository's service files and state files written here; nothing below synthesizes.
 */
describe('canary CLI: the services are the files under services/', () => {
  let root: string;
  const cli = (...argv: string[]): Promise<CliRun> => cliIn(root, argv);
  const json = async (...argv: string[]): Promise<{ code: number; out: any }> => {
    const r = await cli(...argv, '--json');
    expect(r.stderr).toBe('');
    return { code: r.code, out: JSON.parse(r.stdout) };
  };
  const writeState = (env: string, service: string, image: string): void => {
    fs.mkdirSync(path.join(root, 'rollout', env), { recursive: true });
    fs.writeFileSync(path.join(root, 'rollout', env, `${service}.yaml`), renderRolloutState({ service, stable: { image }, canary: null, history: [] }));
  };
  const addLedger = (): void => fs.writeFileSync(path.join(root, 'services', 'ledger.yaml'), LEDGER_YAML);
  const files = (): Map<string, string> => readTree(root);
  const stateFile = (service: string): string => path.join(root, 'rollout', 'local', `${service}.yaml`);
  /** A canary of `<service>:0.2.0` at 10 % in local, its weight changed at `changed` (applied then, when in the past). */
  const writeCanary = (service: string, { changed = '2026-11-01T10:05:00Z', failedChecks = 0 } = {}): void => {
    fs.writeFileSync(stateFile(service), renderRolloutState({
      service, stable: { image: `ghcr.io/example/obs-canary-${service}:0.1.0` }, history: [],
      canary: {
        image: `ghcr.io/example/obs-canary-${service}:0.2.0`, weight: 10, startedAt: '2026-11-01T10:00:00Z', weightChangedAt: changed,
        ...(changed < CLI_NOW.toISOString() ? { appliedAt: changed } : {}), failedChecks, consecutiveHolds: 0,
      },
    }));
  };
  /** Runs `fn` against a stub Prometheus that answers every query with `respond`, closed after. */
  const withPrometheus = async <T>(respond: StubResponse, fn: (url: string) => Promise<T>): Promise<T> => {
    const prometheus = await StubServer.start(async () => respond);
    try {
      return await fn(prometheus.url);
    } finally {
      await prometheus.close();
    }
  };
  /** The CLI in this process with the environment variables `env`; its stdout and stderr as one text. */
  const runWith = async (env: CliEnvironment, ...argv: string[]): Promise<{ code: number; out: string }> => {
    const { code, stdout, stderr } = await cliIn(root, argv, env);
    return { code, out: stdout + stderr };
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-services-'));
    fs.writeFileSync(path.join(root, 'cdk8s.yaml'), 'language: typescript\n');
    fs.cpSync(path.join(__dirname, '..', '..', 'services'), path.join(root, 'services'), { recursive: true });
    for (const env of ENVIRONMENT_NAMES) {
      writeState(env, 'gateway', 'ghcr.io/example/obs-canary-gateway:0.1.0');
      writeState(env, 'backend', 'ghcr.io/example/obs-canary-backend:0.1.0');
    }
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test.each([
    [['status', '--service', 'ledger']],
    [['start', '--service', 'ledger', '--image', LEDGER_IMAGE]],
    [['advance', '--service', 'ledger', '--prometheus-url', 'http://127.0.0.1:9']],
    [['promote', '--service', 'ledger']],
    [['rollback', '--service', 'ledger', '--dry-run']],
    [['init', '--service', 'ledger', '--image', LEDGER_IMAGE]],
  ])('%j: an unknown service exits 2, listing the services and how to onboard it', async argv => {
    const before = files();
    const text = await cli(...argv);
    expect(text).toEqual({
      code: 2, stdout: '', stderr: `canary: --service must name a service with a file under services/ (backend, gateway), got "ledger"; ${ONBOARD}\n`,
    });
    expect(await json(...argv)).toEqual({
      code: 2, out: { error: { code: 'usage', message: `--service must name a service with a file under services/ (backend, gateway), got "ledger"; ${ONBOARD}` } },
    });
    expect(files()).toEqual(before);
  });

  test('advance --all: a service whose own state stops its gate is reported, the others are gated and written (a roll back: exit 4)', async () => {
    // gateway at its third failed check; backend's weight change an hour ahead of the run (edited by hand)
    writeCanary('gateway', { failedChecks: 2 });
    writeCanary('backend', { changed: '2026-11-01T13:00:00Z' });
    const backendBefore = fs.readFileSync(stateFile('backend'), 'utf8');
    // every query answers 100: as many errors as requests
    await withPrometheus(ALL_ERRORS, async url => {
      const { code, out } = await json('advance', '--all', '--prometheus-url', url);
      expect(code).toBe(4);
      expect(out.services.map((r: any) => [r.service, r.decision])).toEqual([['gateway', 'rollback']]);
      expect(out.failed).toEqual([{ service: 'backend', error: { code: 'config', message: expect.stringContaining('in the future') } }]);
      const text = await cli('advance', '--all', '--prometheus-url', url, '--dry-run');
      expect(text.stdout).toContain('local/backend: not gated (config): ');
    });
    expect(fs.readFileSync(stateFile('gateway'), 'utf8')).toContain('phase: rolling-back');
    expect(fs.readFileSync(stateFile('backend'), 'utf8')).toBe(backendBefore);
  });

  test('advance names the environment\'s Mimir tenant in X-Scope-OrgID, as its other readers do; PROMETHEUS_HEADERS may name another', async () => {
    const tenant = ENVIRONMENTS.central.mimir!.tenant;
    fs.writeFileSync(path.join(root, 'rollout', 'central', 'gateway.yaml'), renderRolloutState({
      service: 'gateway', stable: { image: 'ghcr.io/example/obs-canary-gateway:0.1.0' }, history: [],
      canary: {
        image: 'ghcr.io/example/obs-canary-gateway:0.2.0', weight: 10, startedAt: '2026-11-01T10:00:00Z', weightChangedAt: '2026-11-01T10:05:00Z',
        appliedAt: '2026-11-01T10:05:00Z', failedChecks: 0, consecutiveHolds: 0,
      },
    }));
    const tenants = async (env: string, headers?: string): Promise<string[]> => {
      const prometheus = await StubServer.start(async () => ALL_ERRORS);
      try {
        await cliIn(root, ['advance', '--env', env, '--service', 'gateway', '--prometheus-url', prometheus.url, '--dry-run', '--json'],
          headers ? { prometheusHeaders: headers } : {});
        return [...new Set(prometheus.requests.map(r => String(r.headers['x-scope-orgid'])))];
      } finally {
        await prometheus.close();
      }
    };
    expect(await tenants('central')).toEqual([tenant]);
    expect(await tenants('central', '{"X-Scope-OrgID": "other"}')).toEqual(['other']);
    writeCanary('gateway');
    // no Mimir, no tenant
    expect(await tenants('local')).toEqual(['undefined']);
  });

  describe('advance --all: where each service\'s smoke checks go (SMOKE_URLS, else one --smoke-url or SMOKE_BASE_URL)', () => {
    /** Canaries just started (0 %), which the stub reports running: their smoke checks are due. */
    const writeStarted = (service: string): void => {
      fs.writeFileSync(stateFile(service), renderRolloutState({
        service, stable: { image: `ghcr.io/example/obs-canary-${service}:0.1.0` }, history: [],
        canary: {
          image: `ghcr.io/example/obs-canary-${service}:0.2.0`, weight: 0, startedAt: '2026-11-01T11:55:00Z', weightChangedAt: '2026-11-01T11:55:00Z',
          failedChecks: 0, consecutiveHolds: 0,
        },
      }));
    };
    const gate = (env: CliEnvironment): Promise<{ code: number; out: any }> => withPrometheus(ALL_ERRORS, async url => {
      const r = await runWith({ prometheusUrl: url, ...env }, 'advance', '--all', '--json');
      return { code: r.code, out: JSON.parse(r.out) };
    });
    const reasonOf = (out: any, service: string): string => out.services.find((r: any) => r.service === service)?.reason;

    beforeEach(() => {
      writeStarted('gateway');
      writeStarted('backend');
    });

    test('an entry that is no URL fails that service alone, naming the entry; the others are gated', async () => {
      const { code, out } = await gate({ smokeUrls: '{"gateway": "flights.example.com"}' });
      expect(code).toBe(2);
      expect(out.failed).toEqual([{
        service: 'gateway', error: { code: 'usage', message: expect.stringMatching(/^SMOKE_URLS\.gateway must be an http or https URL .*got "flights\.example\.com"/) },
      }]);
      expect(out.services.map((r: any) => r.service)).toEqual(['backend']);
    });

    test('a bad entry never keeps a decision that needs no smoke check from being made: a roll back at 10 % lands', async () => {
      writeCanary('gateway', { failedChecks: 2 });
      const { code, out } = await gate({ smokeUrls: '{"gateway": "gateway.apps:8080"}' });
      expect([code, out.failed]).toEqual([4, []]);
      expect(out.services.find((r: any) => r.service === 'gateway').decision).toBe('rollback');
    });

    test('no entry for a service: its hold says so, and names an entry that names no service (a typo)', async () => {
      const { code, out } = await gate({ smokeUrls: '{"gatway": "http://gateway.apps:8080"}' });
      expect([code, out.failed]).toEqual([3, []]);
      expect(reasonOf(out, 'gateway')).toBe('smoke checks not run: services/gateway.yaml names 3 smoke checks, but SMOKE_URLS has no entry for '
        + 'gateway (it names "gatway", which no service file under services/ is)');
    });

    test('one SMOKE_BASE_URL for two services with smoke checks and no entry: neither is sent to the other\'s host', async () => {
      fs.appendFileSync(path.join(root, 'services', 'backend.yaml'), 'smoke:\n  - { path: /api/flights }\n');
      const smoke = await StubServer.start(async () => ({ status: 200, body: {} }));
      try {
        const { out } = await gate({ smokeUrl: smoke.url });
        for (const service of ['backend', 'gateway']) {
          expect(reasonOf(out, service))
            .toContain('but SMOKE_BASE_URL is one URL, and 2 services in flight name smoke checks without an entry in SMOKE_URLS (backend, gateway)');
        }
        expect(smoke.requests).toEqual([]);
        // a canary past its checks needs no URL: the one URL serves the other
        writeCanary('backend');
        const { out: onePending } = await gate({ smokeUrl: smoke.url });
        expect(/one URL|no entry/.test(reasonOf(onePending, 'gateway'))).toBe(false);
        expect(smoke.requests.length).toBeGreaterThan(0);
        writeStarted('backend');
        // an entry for one of them: the other may have the one URL, and both are checked
        const { out: withEntry } = await gate({ smokeUrl: smoke.url, smokeUrls: JSON.stringify({ backend: smoke.url }) });
        expect(withEntry.services.map((r: any) => [r.service, /one URL|no entry/.test(r.reason)])).toEqual([['backend', false], ['gateway', false]]);
        expect(new Set(smoke.requests.map(r => r.url.split('?')[0]))).toEqual(new Set(['/api/flights', '/api/flight/airports', '/api/flight/routes']));
      } finally {
        await smoke.close();
      }
    });
  });

  test('advance --all with nothing in flight: exit 0, and no Prometheus URL needed to ask nothing', async () => {
    const { code, out } = await json('advance', '--all');
    expect([code, out.services, out.failed]).toEqual([0, [], []]);
  });

  test('advance --all: each service\'s window is the one reported and recorded, whatever the clock did meanwhile', async () => {
    writeCanary('gateway');
    writeCanary('backend');
    // a clock that moves a second on every read: a run that read it per service would report a window it did not measure
    let ticks = 0;
    const out = await withPrometheus(ALL_ERRORS, async url => {
      let stdout = '';
      const now = (): Date => new Date(CLI_NOW.getTime() + 1000 * ticks++);
      const io = { cwd: root, stdout: (t: string) => (stdout += t), stderr: () => undefined, now, env: { prometheusUrl: url } };
      await runCli(['advance', '--all', '--json'], io);
      return JSON.parse(stdout);
    });
    for (const report of out.services) {
      expect(Date.parse(report.window.end) - Date.parse(report.window.start)).toBe(5 * 60_000);
      const state = fs.readFileSync(stateFile(report.service), 'utf8');
      expect(state).toContain(`at: "${report.window.end}"`);
    }
    expect(out.services.map((r: any) => r.window.end)).toEqual([out.services[0].window.end, out.services[0].window.end]);
  });

  test('a decision written under a tenant that spells part of every image name (the in-cluster loop of central): images and names intact', async () => {
    writeCanary('gateway');
    // as many errors as requests: rolled back at once (analysis.rollbackBelowSuccessRatio), a decision that is written
    const { code, out } = await withPrometheus(ALL_ERRORS,
      url => runWith({ prometheusUrl: url, prometheusHeaders: '{"X-Scope-OrgID": "obs-canary"}' }, 'advance', '--service', 'gateway', '--json'));
    expect([code, JSON.parse(out).decision]).toEqual([4, 'rollback']);
    const state = fs.readFileSync(stateFile('gateway'), 'utf8');
    expect(state).toContain('image: ghcr.io/example/obs-canary-gateway:0.2.0');
    expect(state).not.toContain('[redacted]');
    expect(out).toContain('obs-canary-gateway:0.2.0');
  });

  test('a password that a word of the image name spells: taken out of the reason written, never out of the image recorded', async () => {
    writeCanary('gateway');
    // a weak password, but a real one: the state file must keep the image the cluster runs
    const { code, out } = await withPrometheus({ status: 401, body: 'Unauthorized: bad password example' },
      url => runWith({ prometheusUrl: url, prometheusUsername: 'gate', prometheusPassword: 'example' }, 'advance', '--service', 'gateway', '--json'));
    expect([code, JSON.parse(out).hold]).toEqual([3, 'no-data']);
    const state = fs.readFileSync(stateFile('gateway'), 'utf8');
    expect(state).toContain('image: ghcr.io/example/obs-canary-gateway:0.2.0');
    expect(state).toContain('Unauthorized: bad password [redacted]');
  });

  test('a token Prometheus echoes in a long answer reaches neither the output nor the state file, not even cut short', async () => {
    writeCanary('gateway');
    // longer than the 80 characters of an answer a message quotes, and placed so that the cut falls inside it
    const token = `glc_${'eyJvIjoiMTIzNDU2NyIsIm4iOiJwcm9tZXRoZXVzLXJlYWQi'.repeat(3)}`;
    const { code, out } = await withPrometheus({ status: 401, body: `Unauthorized: invalid token ${token}` },
      url => runWith({ prometheusUrl: url, prometheusToken: token }, 'advance', '--service', 'gateway', '--json'));
    expect([code, JSON.parse(out).hold]).toEqual([3, 'no-data']);
    const state = fs.readFileSync(stateFile('gateway'), 'utf8');
    expect(state).toContain('answered HTTP 401 Unauthorized with something that is not JSON: \\"Unauthorized: invalid token [redacted]\\"');
    for (const text of [out, state]) expect(text).not.toContain(token.slice(0, 12));
  });

  test('status without --service shows every service of the catalog, in name order', async () => {
    expect(await cli('status')).toEqual({
      // the states written here record no configuration: the status says what that means
      code: 0, stderr: '', stdout: ['backend', 'gateway'].map(s => `local/${s}: stable ghcr.io/example/obs-canary-${s}:0.1.0; no canary in flight; stable runs `
        + `no recorded configuration: a change to services/${s}.yaml reaches it at once, without a canary (canary start records it)\n`).join(''),
    });
    addLedger();
    writeState('prod', 'ledger', 'ghcr.io/example/ledger:0.9.0');
    const { code, out } = await json('status', '--env', 'prod');
    expect(code).toBe(0);
    expect(out.services.map((s: any) => [s.service, s.stableImage])).toEqual([
      ['backend', 'ghcr.io/example/obs-canary-backend:0.1.0'], ['gateway', 'ghcr.io/example/obs-canary-gateway:0.1.0'],
      ['ledger', 'ghcr.io/example/ledger:0.9.0'],
    ]);
    // the service file's settings, where its state file sets none
    expect(out.services[2].slo).toEqual({ successRatio: 0.95, p95LatencyMs: 300, period: '30d' });
  });

  test('a service file without a state file in the environment exits 2, naming the canary init command', async () => {
    addLedger();
    expect(await json('status')).toEqual({
      code: 2,
      out: {
        error: {
          code: 'config', message: 'invalid rollout state rollout/local/ledger.yaml:\n  - the file is missing: services/ledger.yaml has no rollout state in '
            + 'local; run `npx canary init --service ledger --image <image>@sha256:<digest>`',
        },
      },
    });
  });

  test('a service file that cannot be used exits 2 (code config), naming the file and the field', async () => {
    fs.writeFileSync(path.join(root, 'services', 'ledger.yaml'), LEDGER_YAML.replace('port: 9090', 'port: 0'));
    const { code, out } = await json('status');
    expect(code).toBe(2);
    expect(out.error).toEqual({ code: 'config', message: expect.stringMatching(/^invalid service file services\/ledger\.yaml:\n {2}- 'port' /) });
  });

  describe('init', () => {
    beforeEach(addLedger);

    test('--dry-run: the state files it would write in every environment, as JSON; nothing written', async () => {
      const before = files();
      expect(await json('init', '--service', 'ledger', '--image', LEDGER_IMAGE, '--dry-run')).toEqual({
        code: 0,
        out: {
          service: 'ledger', envs: ENVIRONMENT_NAMES, decision: 'init', image: LEDGER_IMAGE,
          files: ENVIRONMENT_NAMES.map(env => `rollout/${env}/ledger.yaml`), pending: {}, dryRun: true, changed: [], commit: null,
        },
      });
      expect(files()).toEqual(before);
    });

    test('--dry-run --env: only that environment; as text', async () => {
      const before = files();
      expect(await cli('init', '--service', 'ledger', '--image', LEDGER_IMAGE, '--env', 'prod', '--dry-run')).toEqual({
        code: 0, stderr: '', stdout: `dry run: would onboard ledger in prod with stable ${LEDGER_IMAGE} (rollout/prod/ledger.yaml); nothing changed\n`,
      });
      expect(files()).toEqual(before);
    });

    test('refuses (exit 2, code exists) when a state file of the service exists in an environment it would write', async () => {
      writeState('local', 'ledger', 'ghcr.io/example/ledger:0.9.0');
      const before = files();
      expect(await json('init', '--service', 'ledger', '--image', LEDGER_IMAGE)).toEqual({
        code: 2,
        out: {
          error: {
            code: 'exists', message: 'ledger already has rollout state: rollout/local/ledger.yaml exists; release a new image with canary start, '
              + `or name with --env an environment it has none in (${ENVIRONMENT_NAMES.filter(env => env !== 'local').join(', ')})`,
          },
        },
      });
      // gateway has state everywhere: no environment to name
      expect((await json('init', '--service', 'gateway', '--image', 'ghcr.io/example/obs-canary-gateway:0.2.0', '--env', 'prod')).out.error)
        .toEqual({ code: 'exists', message: 'gateway already has rollout state: rollout/prod/gateway.yaml exists; release a new image with canary start' });
      // the environment it has none in
      expect((await json('init', '--service', 'ledger', '--image', LEDGER_IMAGE, '--env', 'prod', '--dry-run')).out)
        .toMatchObject({ envs: ['prod'], files: ['rollout/prod/ledger.yaml'], dryRun: true });
      expect(files()).toEqual(before);
    });

    test.each([
      ['of another repository', 'ghcr.io/example/obs-canary-gateway:0.2.0', '--image must be an image of ghcr.io/example/ledger, the '
        + 'repository services/ledger.yaml names, got "ghcr.io/example/obs-canary-gateway:0.2.0"; push the image there, or change \'image\' in services/ledger.yaml'],
      ['not pinned', 'ghcr.io/example/ledger', '--image must be pinned by tag or digest, got "ghcr.io/example/ledger"'],
      ['on the latest tag', 'ghcr.io/example/ledger:latest', '--image must not use the latest tag, got "ghcr.io/example/ledger:latest"'],
    ])('refuses an image %s (exit 2), writing nothing', async (_, image, message) => {
      const before = files();
      expect(await json('init', '--service', 'ledger', '--image', image)).toEqual({ code: 2, out: { error: { code: 'usage', message } } });
      expect(files()).toEqual(before);
    });

    test('refuses when another service\'s state file cannot be read: synth would render it', async () => {
      fs.writeFileSync(path.join(root, 'rollout', 'prod', 'backend.yaml'), 'service: backend\ncanary: 10\n');
      const { code, out } = await json('init', '--service', 'ledger', '--image', LEDGER_IMAGE, '--dry-run');
      expect([code, out.error.code]).toEqual([2, 'config']);
      expect(out.error.message).toMatch(/^invalid rollout state rollout\/prod\/backend\.yaml:/);
    });
  });
});
