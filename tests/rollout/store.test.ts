import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RolloutState, StateError, renderRolloutState } from '../../lib/rollout/state';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { parseCommand } from '../../lib/delivery/args';
import { currentPod } from '../../lib/charts/service-pods';
import { PodRecord, podHashOf } from '../../lib/rollout/pod';
import {
  checkRolloutDirectories, loadRollouts, problemsWithService, recordedCallProblems, repositoryOf, rolloutFile, runningServices, writeRolloutState,
} from '../../lib/rollout/store';
import { Services } from '../../lib/services/catalog';
import { repoServices } from '../support/manifest';
import { GATEWAY, fixtureService, fixtureState } from './fixtures';

describe('loadRollouts', () => {
  let root: string;
  const services = { backend: fixtureService('backend'), gateway: GATEWAY };
  const write = (env: string, service: string, text: string): void => {
    fs.mkdirSync(path.join(root, 'rollout', env), { recursive: true });
    fs.writeFileSync(path.join(root, rolloutFile(env, service)), text);
  };
  const load = (env = 'local', s: Parameters<typeof loadRollouts>[2] = services) => loadRollouts(root, env, s);

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'store-test-'));
    for (const name of Object.keys(services)) write('local', name, renderRolloutState(fixtureState('steady', name)));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('reads the state file of every service, each against its service file', () => {
    expect(load()).toEqual({ backend: fixtureState('steady', 'backend'), gateway: fixtureState('steady', 'gateway') });
  });

  test('a state file without a service file fails, naming both files and what to do', () => {
    write('local', 'ledger', renderRolloutState({ ...fixtureState('steady', 'backend'), service: 'ledger' }));
    expect(() => load()).toThrow(new StateError('rollout/local/ledger.yaml', [
      'no service file services/ledger.yaml names this service: add one, or delete this state file if the service is gone',
    ]));
  });

  test('a service file without a state file fails, naming both and the canary init command that writes it', () => {
    const withLedger = { ...services, ledger: fixtureService('ledger') };
    expect(() => load('local', withLedger)).toThrow(StateError);
    // a new service, state nowhere: one init for every environment, without --commit (its service file is not committed yet)
    expect(() => load('local', withLedger)).toThrow('invalid rollout state rollout/local/ledger.yaml:\n  - the file is missing: services/ledger.yaml has '
      + 'no rollout state in local; run `npx canary init --service ledger --image <image>@sha256:<digest>`');
    // state in another environment: this one alone lacks it
    write('prod', 'ledger', renderRolloutState({ ...fixtureState('steady', 'backend'), service: 'ledger' }));
    expect(() => load('local', withLedger)).toThrow('no rollout state in local; run `npx canary init --service ledger --image <image>@sha256:<digest> --env local`');
  });

  test('an environment without rollout/<env>/ fails, naming the directory and what to do', () => {
    expect(() => load('staging')).toThrow(/^invalid rollout state rollout\/staging\/:\n {2}- the directory is missing; every environment needs one/);
  });

  test('an image of another repository than the service file\'s fails, naming the field, the file and the repository', () => {
    write('local', 'gateway', renderRolloutState({ ...fixtureState('steady'), stable: { image: 'registry.example.com/obs-canary-backend:1.0.0' } }));
    expect(() => load()).toThrow(new StateError('rollout/local/gateway.yaml', [
      '\'stable.image\' must be an image of registry.example.com/obs-canary-gateway (services/gateway.yaml), got "registry.example.com/obs-canary-backend:1.0.0"; '
      + 'after a registry move, name the old repository as \'previousImage\' in services/gateway.yaml until a release replaces what runs from it',
    ]));
  });

  test('a canary weight that is not one of the service file\'s steps loads: a plan changed in flight must not stop every gate of the '
    + 'environment, a roll back included', () => {
    const steps = { ...services, gateway: fixtureService('gateway', ['steps: [20, 100]']) };
    const { steps: own, ...inFlight } = fixtureState('canary');
    expect(own).toBeDefined();
    write('local', 'gateway', renderRolloutState(inFlight));
    expect(load('local', steps).gateway.canary?.weight).toBe(25);
    expect(load().gateway.canary?.weight).toBe(25);
  });
});

describe('what dist/<env>/ runs', () => {
  let root: string;
  const services = { backend: fixtureService('backend'), gateway: GATEWAY };
  /** A chart directory of dist/local/ with one Deployment per `[service, track, namespace]`. */
  const rendered = (dir: string, workloads: ReadonlyArray<readonly [string, string, string]>): void => {
    fs.mkdirSync(path.join(root, 'dist', 'local', dir), { recursive: true });
    const docs = workloads.map(([app, track, namespace]) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app: ${app}\n`
      + `    app.kubernetes.io/part-of: obs-canary\n    version: ${track}\n  name: ${app}-${track}\n  namespace: ${namespace}\nspec:\n  replicas: 1\n`);
    // objects named like a workload that are none (a ConfigMap of the canary dashboards) do not count
    docs.push('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: grafana-dashboards-canary\n  namespace: observability\n');
    fs.writeFileSync(path.join(root, 'dist', 'local', dir, 'manifest.yaml'), docs.join('---\n'));
  };
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'store-running-'));
    fs.mkdirSync(path.join(root, 'rollout', 'local'), { recursive: true });
    for (const name of Object.keys(services)) fs.writeFileSync(path.join(root, rolloutFile('local', name)), renderRolloutState(fixtureState('steady', name)));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('runningServices: the Deployments of each service and track, in every chart, an application cluster\'s too', () => {
    rendered('apps', [['gateway', 'stable', 'apps'], ['backend', 'stable', 'apps']]);
    rendered('clusters/eu/billing', [['payments', 'stable', 'billing'], ['payments', 'canary', 'billing']]);
    expect(Object.fromEntries(runningServices(root, 'local'))).toEqual({
      gateway: { namespace: 'apps', canary: false }, backend: { namespace: 'apps', canary: false }, payments: { namespace: 'billing', canary: true },
    });
    expect(runningServices(root, 'prod').size).toBe(0);
  });

  test('a service removed while dist/ runs a canary of it is refused: the sync would delete the canary with its traffic on it', () => {
    rendered('apps', [['gateway', 'stable', 'apps'], ['backend', 'stable', 'apps']]);
    rendered('billing', [['payments', 'stable', 'billing'], ['payments', 'canary', 'billing']]);
    expect(() => loadRollouts(root, 'local', services)).toThrow(new StateError('rollout/local/', [
      'dist/local/ runs a canary of payments (payments-canary in namespace billing), but no service file names payments any more: the sync '
      + 'would delete the canary with its traffic on it, failing the requests in flight. Put back services/payments.yaml and '
      + 'rollout/local/payments.yaml, end the canary (npx canary rollback --service payments --env local --commit --push, and again once the '
      + 'cluster runs the route), then remove the service',
    ]));
    // without its canary, its removal goes on
    rendered('billing', [['payments', 'stable', 'billing']]);
    expect(Object.keys(loadRollouts(root, 'local', services))).toEqual(['backend', 'gateway']);
  });
});

describe('problemsWithService', () => {
  const state: RolloutState = fixtureState('canary');

  test('a floor for the roll back at once above the SLO\'s success ratio: named, with where it came from', () => {
    expect(problemsWithService({ ...state, analysis: { rollbackBelowSuccessRatio: 0.99 } }, GATEWAY)).toEqual([
      '\'analysis.rollbackBelowSuccessRatio\' must be at most the SLO\'s successRatio, 0.95 (a ratio that passes the SLO cannot roll back at once), '
      + 'got 0.99',
    ]);
    expect(problemsWithService({ ...state, analysis: { rollbackBelowSuccessRatio: 0.95 } }, GATEWAY)).toEqual([]);
    // the default is taken at most at the SLO's ratio: an SLO below 0.5 needs nothing written
    expect(problemsWithService({ ...state, slo: { successRatio: 0.4 } }, GATEWAY)).toEqual([]);
  });

  test('none for a state that fits its service file', () => {
    expect(problemsWithService(state, GATEWAY)).toEqual([]);
  });

  test('the canary\'s image too', () => {
    const other = { ...state, canary: { ...state.canary!, image: 'ghcr.io/acme/gateway:2' } };
    expect(problemsWithService(other, GATEWAY)).toEqual([
      '\'canary.image\' must be an image of registry.example.com/obs-canary-gateway (services/gateway.yaml), got "ghcr.io/acme/gateway:2"; after a '
      + 'registry move, name the old repository as \'previousImage\' in services/gateway.yaml until a release replaces what runs from it',
    ]);
  });

  test('a registry move: the service file names its new registry and the old one as previousImage, and what runs from the old one keeps '
    + 'running until a release replaces it', () => {
    const moved = { ...GATEWAY, image: 'ghcr.io/acme/platform/obs-canary-gateway' };
    // without previousImage, an image of the old registry is another repository's, like any other
    expect(problemsWithService(state, moved)).toEqual([
      expect.stringMatching(/^'stable.image' must be an image of ghcr.io\/acme\/platform\/obs-canary-gateway/),
      expect.stringMatching(/^'canary.image' must be an image of/),
    ]);
    const declared = { ...moved, previousImage: GATEWAY.image };
    expect(problemsWithService(state, declared)).toEqual([]);
    // only that repository: an image of the same name anywhere else is still refused
    const elsewhere = { ...state, stable: { image: 'docker.io/someone/obs-canary-gateway:1.0.0' } };
    expect(problemsWithService(elsewhere, declared)).toEqual([
      '\'stable.image\' must be an image of ghcr.io/acme/platform/obs-canary-gateway (services/gateway.yaml, or of its previousImage '
      + 'registry.example.com/obs-canary-gateway), got "docker.io/someone/obs-canary-gateway:1.0.0"',
    ]);
  });

  test('metrics: http needs the service\'s own metrics', () => {
    const { metrics } = GATEWAY;
    const withoutHttp = { ...GATEWAY, metrics: { source: metrics.source } };
    expect(problemsWithService({ ...state, analysis: { metrics: 'http' } }, withoutHttp)).toEqual([
      '\'analysis.metrics\' is "http" but services/gateway.yaml names no \'metrics.http\': add them there, or use "istio"',
    ]);
    expect(problemsWithService({ ...state, analysis: { metrics: 'http' } }, GATEWAY)).toEqual([]);
  });

  test('latency limits the gate reads from the sidecars\' histogram are its bucket boundaries, wherever they are written', () => {
    const buckets = '1, 5, 10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 2500, 5000, 10000, 30000, 60000 ms';
    expect(problemsWithService({ ...state, slo: { p95LatencyMs: 260 } }, GATEWAY)).toEqual([
      `'slo.p95LatencyMs' must be a bucket boundary of the sidecars' request-duration histogram, which the gate reads (${buckets}), got 260`,
    ]);
    const withP99 = { ...GATEWAY, slo: { ...GATEWAY.slo, p99LatencyMs: 700 } };
    expect(problemsWithService({ ...state, slo: { p95LatencyMs: 250 } }, withP99)).toEqual([
      `'slo.p99LatencyMs' (from services/gateway.yaml) must be a bucket boundary of the sidecars' request-duration histogram, which the gate reads (${buckets}), got 700`,
    ]);
    expect(problemsWithService({ ...state, slo: { p95LatencyMs: 250, p99LatencyMs: 750 } }, withP99)).toEqual([]);
    // null is not set: the service file's value is the one judged, and named
    expect(problemsWithService({ ...state, slo: { p95LatencyMs: null as never } }, { ...GATEWAY, slo: { p95LatencyMs: 260 } })).toEqual([
      expect.stringMatching(/^'slo.p95LatencyMs' \(from services\/gateway.yaml\) must be a bucket boundary/),
    ]);
    // a gate on the service's own metrics still has its SLO alerts on the sidecars' histogram
    expect(problemsWithService({ ...state, slo: { p95LatencyMs: 260 }, analysis: { metrics: 'http' } }, GATEWAY)).toEqual([
      expect.stringMatching(/^'slo.p95LatencyMs' must be a bucket boundary/),
    ]);
    // a service whose file reads its own metrics: its own buckets, which only it knows
    const ownMetrics = { ...GATEWAY, metrics: { ...GATEWAY.metrics, source: 'http' as const } };
    expect(problemsWithService({ ...state, slo: { p95LatencyMs: 260 }, analysis: { metrics: 'http' } }, ownMetrics)).toEqual([]);
  });
});

describe('recordedCallProblems', () => {
  const services = repoServices();
  // what gateway's pods run, recorded by a release: its BACKEND_URL resolved to backend's address
  const pod = currentPod(services.gateway, ENVIRONMENTS.local, services);
  const URL = 'http://backend.apps.svc.cluster.local:8081';
  /** A service's state without a canary, of its repository's image. */
  const steady = (name: string): RolloutState => ({ service: name, stable: { image: `${services[name].image}:1.0.0` }, canary: null, history: [] });
  const state: RolloutState = { ...steady('gateway'), stable: { ...steady('gateway').stable, pod } };
  const withBackend = (edit: Record<string, unknown> | null): Services => {
    const { backend, ...others } = services;
    return edit === null ? others : { ...others, backend: { ...backend, ...edit } };
  };
  const tail = ': stable\'s pods run this record until a release replaces it, and every call would fail once the sync removes the route and '
    + 'the network flows. Keep backend as it was until gateway is released without the call (npx canary start --service gateway --env local, '
    + 'then its promotion), then change it';

  test('the command the message quotes is one the CLI takes, in the state\'s environment', () => {
    const [message] = recordedCallProblems(state, withBackend({ callers: [] }), 'prod');
    const command = /npx canary start [^,)]*/.exec(message)![0];
    expect(parseCommand(command.split(' ').slice(2))).toMatchObject({ verb: 'start', service: 'gateway', env: 'prod' });
  });

  test('none while the service the record calls is there, on its port, with the caller among its callers', () => {
    expect(pod.env.BACKEND_URL).toBe(URL);
    expect(recordedCallProblems(state, services, 'local')).toEqual([]);
  });

  test.each<[string, Record<string, unknown> | null, string]>([
    ['the caller dropped from its callers', { callers: [] }, 'the \'callers\' of backend (services/backend.yaml) do not list gateway'],
    ['the service removed', null, 'no service file names backend in namespace apps'],
  ])('the record still calls it with %s: named with the field, the address and the order to change it in', (_name, edit, why) => {
    expect(recordedCallProblems(state, withBackend(edit), 'local')).toEqual([`'stable.pod.env.BACKEND_URL' calls backend.apps.svc.cluster.local:8081, but ${why}${tail}`]);
  });

  test('not the port nor a move to another namespace: a caller\'s record takes the new address only from a release after the change, '
    + 'which the check would refuse', () => {
    expect(recordedCallProblems(state, withBackend({ port: 9090 }), 'local')).toEqual([]);
    expect(recordedCallProblems(state, withBackend({ namespace: 'payments' }), 'local')).toEqual([]);
  });

  test('the canary\'s record, arguments and other spellings of the address count too, never echoing a URL\'s credential; another namespace\'s services do not', () => {
    const edited: PodRecord = {
      ...pod, args: ['--upstream=dns:///backend.apps.svc:8081', '--cache=redis.data.svc.cluster.local:6379'],
      // a credential in the URL stays out of the message (printed in CI and the gate's logs)
      env: { ...pod.env, BACKEND_URL: 'http://app:hunter2@backend.apps.svc.cluster.local.:8081/api' },
    };
    const canaryPod = { ...edited, hash: podHashOf(edited) };
    const inFlight: RolloutState = { ...state, canary: { ...fixtureState('canary').canary!, pod: canaryPod } };
    const problems = recordedCallProblems(inFlight, withBackend({ callers: [] }), 'local');
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems.map(p => p.split(', but ')[0])).toEqual([
      '\'stable.pod.env.BACKEND_URL\' calls backend.apps.svc.cluster.local:8081',
      '\'canary.pod.env.BACKEND_URL\' calls backend.apps.svc.cluster.local.:8081',
      '\'canary.pod.args[0]\' calls backend.apps.svc:8081',
    ]);
  });

  test('a service gone with the last service of its namespace: the namespace still runs in dist/ until the sync, so the call is refused', () => {
    // the caller's record calls backend in apps; no service file is left in apps, but dist/local/apps/ runs backend
    const onlyGateway = { gateway: { ...services.gateway, namespace: 'edge' } };
    expect(recordedCallProblems(state, onlyGateway, 'local')).toEqual([]);
    expect(recordedCallProblems(state, onlyGateway, 'local', new Set(['edge', 'apps'])).map(p => p.split(': ')[0]))
      .toEqual(['\'stable.pod.env.BACKEND_URL\' calls backend.apps.svc.cluster.local:8081, but no service file names backend in namespace apps']);
  });

  test('synth refuses such a state file, naming it', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'store-calls-'));
    try {
      fs.mkdirSync(path.join(root, 'rollout', 'local'), { recursive: true });
      for (const name of Object.keys(services)) {
        fs.writeFileSync(path.join(root, rolloutFile('local', name)), renderRolloutState(name === 'gateway' ? state : steady(name)));
      }
      expect(() => loadRollouts(root, 'local', withBackend({ callers: [] }))).toThrow(/^invalid rollout state rollout\/local\/gateway\.yaml:\n {2}- 'stable\.pod\.env\.BACKEND_URL' calls /);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('repositoryOf', () => {
  test.each([
    ['ghcr.io/acme/gateway:1.2.3', 'ghcr.io/acme/gateway'],
    ['registry:5000/a/b:1.2', 'registry:5000/a/b'],
    ['registry:5000/a/b', 'registry:5000/a/b'],
    [`ghcr.io/acme/gateway:1.2@sha256:${'a'.repeat(64)}`, 'ghcr.io/acme/gateway'],
    [`ghcr.io/acme/gateway@sha256:${'a'.repeat(64)}`, 'ghcr.io/acme/gateway'],
  ])('%s → %s', (image, repository) => {
    expect(repositoryOf(image)).toBe(repository);
  });
});


describe('writeRolloutState', () => {
  test('writes rollout/<env>/<service>.yaml, creating the directory, and returns its path', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'store-test-'));
    try {
      const state = fixtureState('steady', 'ledger');
      expect(writeRolloutState(root, 'staging', state)).toBe('rollout/staging/ledger.yaml');
      expect(fs.readFileSync(path.join(root, 'rollout', 'staging', 'ledger.yaml'), 'utf8')).toBe(renderRolloutState(state));
      expect(fs.readdirSync(path.join(root, 'rollout', 'staging'))).toEqual(['ledger.yaml']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('checkRolloutDirectories', () => {
  let root: string;
  const write = (env: string, service: string, state: RolloutState): void => {
    fs.mkdirSync(path.join(root, 'rollout', env), { recursive: true });
    fs.writeFileSync(path.join(root, rolloutFile(env, service)), renderRolloutState(state));
  };
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'store-test-'));
    write('local', 'gateway', fixtureState('steady'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('every directory names an environment: passes; hidden directories are nobody\'s, and no rollout/ is left to each environment\'s check', () => {
    fs.mkdirSync(path.join(root, 'rollout', '.trash'));
    expect(() => checkRolloutDirectories(root, ['local', 'prod'])).not.toThrow();
    fs.rmSync(path.join(root, 'rollout'), { recursive: true });
    expect(() => checkRolloutDirectories(root, ['local', 'prod'])).not.toThrow();
    expect(() => loadRollouts(root, 'local', { gateway: GATEWAY })).toThrow(/^invalid rollout state rollout\/local\/:\n {2}- the directory is missing/);
  });

  test('an environment removed with its canaries in flight: refused, naming them and how to end them first', () => {
    write('staging', 'backend', fixtureState('steady', 'backend'));
    write('staging', 'gateway', fixtureState('canary'));
    expect(() => checkRolloutDirectories(root, ['local', 'prod'])).toThrow(new StateError('rollout/staging/', [
      'no environment is named "staging" (the environments: local, prod; lib/config/): its canaries in flight, gateway '
      + '(registry.example.com/obs-canary-gateway:1.1.0 at 25%), would be decided by nothing: put the environment back, end them '
      + '(npx canary rollback --service <service> --env staging --commit --push, or promote), then remove the environment and this directory together',
    ]));
  });

  test('an environment removed with nothing in flight: refused, saying to remove the directory too', () => {
    write('staging', 'gateway', fixtureState('steady'));
    expect(() => checkRolloutDirectories(root, ['local', 'prod'])).toThrow(new StateError('rollout/staging/', [
      'no environment is named "staging" (the environments: local, prod; lib/config/): remove this directory with the environment, or put the '
      + 'environment back',
    ]));
  });
});
