import {
  UsageError, appendHistory, checkServiceImage, describeStatus, endCanaryByHand, initialState, releaseUngated, serviceNamed, startCanary, statusOf,
  withOverrides,
} from '../../lib/delivery/plan';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { settingsOf } from '../../lib/rollout/settings';
import { CanaryPhase, HistoryEntry, RolloutState, parseRolloutState, renderRolloutState } from '../../lib/rollout/state';
import { GATEWAY, fixturePod, fixtureService, fixtureState } from '../rollout/fixtures';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const POD = fixturePod();
const steady = fixtureState('steady');
const inFlight = fixtureState('canary');

describe('startCanary', () => {
  const image = 'registry.example.com/obs-canary-gateway:2.0.0';

  test('starts the image at 0% (only the pin reaches it), not yet applied, with fresh counters and a start entry', () => {
    const { state, entry } = startCanary(steady, image, NOW, GATEWAY);
    // strict: no phase (progressing) and no appliedAt, so the gate's next run observes the canary before it gets traffic
    expect(state.canary).toStrictEqual({
      image, weight: 0, startedAt: '2026-11-22T12:00:00.000Z', weightChangedAt: '2026-11-22T12:00:00.000Z', failedChecks: 0, consecutiveHolds: 0,
    });
    expect(state.stable).toEqual(steady.stable);
    expect(entry).toEqual({
      at: '2026-11-22T12:00:00.000Z', decision: 'start', by: 'cli', image, fromWeight: 0, toWeight: 0,
      reason: 'canary registry.example.com/obs-canary-gateway:2.0.0 started at 0% (only the pin reaches it); the gate gives it 10% once it runs ready',
    });
    expect(state.history).toEqual([entry]);
  });

  test('an image the gate rolled back before starts again, and says so (where whoever re-ran a deploy reads it)', () => {
    const rollback = {
      at: '2026-11-22T11:00:00.000Z', decision: 'rollback', by: 'gate', image, fromWeight: 25, toWeight: 0, reason: 'rolling back: failed check 3 of 3',
    } as const;
    const byHand = { ...rollback, at: '2026-11-22T11:30:00.000Z', by: 'cli' } as const;
    expect(startCanary({ ...steady, history: [rollback, byHand] }, image, NOW, GATEWAY).entry.reason)
      .toBe(`canary ${image} started at 0% (only the pin reaches it); the gate gives it 10% once it runs ready; note: the gate rolled ${image} back `
        + 'at 2026-11-22T11:00:00.000Z');
    // another image's roll back, or one by hand (whose removal the gate writes), or one before a promotion, is no note
    expect(startCanary({ ...steady, history: [{ ...rollback, image: `${image}-rc1` }, byHand] }, image, NOW, GATEWAY).entry.reason).not.toContain('note:');
    const removedByGate = { ...rollback, at: '2026-11-22T11:35:00.000Z', fromWeight: 0, reason: 'rolled back: stable runs it; the canary is removed' } as const;
    expect(startCanary({ ...steady, history: [{ ...byHand, reason: 'rolling back by hand: …' }, removedByGate] }, image, NOW, GATEWAY).entry.reason)
      .not.toContain('note:');
    const promoted = { ...rollback, at: '2026-11-22T11:40:00.000Z', decision: 'promote', by: 'cli', reason: 'promoted by hand' } as const;
    expect(startCanary({ ...steady, history: [rollback, promoted] }, image, NOW, GATEWAY).entry.reason).not.toContain('note:');
    // a promotion abandoned halfway (rolled back by hand after it) is no promotion
    const abandoned = { ...byHand, at: '2026-11-22T11:45:00.000Z', reason: 'rolling back by hand: …' } as const;
    expect(startCanary({ ...steady, history: [rollback, promoted, abandoned] }, image, NOW, GATEWAY).entry.reason).toContain('note: the gate rolled');
  });

  test('names the first of the state file\'s steps, else the service file\'s, else the defaults\', as the weight to come', () => {
    const withSteps = fixtureService('gateway', ['steps: [1, 50, 100]']);
    const started = [startCanary({ ...steady, steps: [5, 100] }, image, NOW, withSteps), startCanary(steady, image, NOW, withSteps),
      startCanary(steady, image, NOW, GATEWAY)];
    expect(started.map(c => c.state.canary?.weight)).toEqual([0, 0, 0]);
    expect(started.map(c => /gives it (\d+)%/.exec(c.entry.reason)?.[1])).toEqual(['5', '1', '10']);
  });

  test('refuses while a canary is in flight (exit code 2, code in-flight)', () => {
    expect(() => startCanary(inFlight, image, NOW, GATEWAY)).toThrow(new UsageError(
      'a canary of gateway is already in flight (registry.example.com/obs-canary-gateway:1.1.0 at 25%); promote or roll it back before starting another'));
    expect(() => startCanary(inFlight, image, NOW, GATEWAY)).toThrow(expect.objectContaining({ code: 'in-flight' }));
  });

  test('refuses while a canary ends, naming what ends it: start, promote and rollback never point at each other', () => {
    const ending = (phase: CanaryPhase): RolloutState => ({ ...inFlight, canary: { ...inFlight.canary!, phase, weight: 0 } });
    expect(() => startCanary(ending('draining'), image, NOW, GATEWAY)).toThrow(new UsageError('a canary of gateway is already in flight '
      + '(registry.example.com/obs-canary-gateway:1.1.0 at 0%, draining); its promotion is ending: the gate removes it once the cluster runs '
      + 'that (canary advance) before starting another'));
    expect(() => startCanary(ending('rolling-back'), image, NOW, GATEWAY)).toThrow('rolling-back); it is being rolled back: the gate removes '
      + 'it once the cluster runs that (canary advance) before starting another');
    expect(() => endCanaryByHand(ending('draining'), 'local', 'rollback', NOW)).toThrow('is ending: stable already runs it; the gate removes the canary '
      + 'once the cluster runs that (canary advance), then release the previous image with canary start to go back');
    // and what they point at does end it: the gate once it observed the route (appliedAt), by hand with --force
    expect(endCanaryByHand(ending('draining'), 'local', 'promote', NOW, undefined, true).state.canary).toBeNull();
    expect(endCanaryByHand(ending('rolling-back'), 'local', 'rollback', NOW, undefined, true).state.canary).toBeNull();
  });

  test('refuses the stable image and unpinned images', () => {
    expect(() => startCanary(steady, steady.stable.image, NOW, GATEWAY)).toThrow('is what gateway already runs as stable');
    expect(() => startCanary(steady, 'registry.example.com/obs-canary-gateway:latest', NOW, GATEWAY))
      .toThrow('--image must not use the latest tag, got "registry.example.com/obs-canary-gateway:latest"');
  });

  test('refuses an image of another repository than the service file\'s, naming the file and the repository', () => {
    expect(() => startCanary(steady, 'registry.example.com/obs-canary-backend:2.0.0', NOW, GATEWAY)).toThrow(new UsageError(
      '--image must be an image of registry.example.com/obs-canary-gateway, the repository services/gateway.yaml names, got '
      + '"registry.example.com/obs-canary-backend:2.0.0"; push the image there, or change \'image\' in services/gateway.yaml'));
  });
});

describe('startCanary: a configuration is released like an image', () => {
  const image = 'registry.example.com/obs-canary-gateway:2.0.0';
  /** The fixture's gateway, its file with one more variable. */
  const changedFile = fixtureService('gateway', ['env: { FEATURE_X: "on" }']);
  const changed = fixturePod(changedFile);
  const recorded: RolloutState = { ...steady, stable: { ...steady.stable, pod: POD } };

  test('without --image, a changed configuration starts a canary of stable\'s image that records it; stable keeps its own', () => {
    const { state, entry } = startCanary(recorded, undefined, NOW, changedFile, changed);
    expect(state.canary).toMatchObject({ image: steady.stable.image, weight: 0, pod: changed });
    expect(state.stable).toEqual(recorded.stable);
    expect(entry).toMatchObject({ decision: 'start', by: 'cli', image: steady.stable.image });
    expect(entry.reason).toBe(`canary ${steady.stable.image} started at 0% (only the pin reaches it) with the configuration of services/gateway.yaml: `
      + `pod ${POD.hash} → ${changed.hash} (env); the gate gives it 10% once it runs ready`);
  });

  test('a new image with the configuration unchanged: the reason is an image release\'s, and the canary records the configuration', () => {
    const { state, entry } = startCanary(recorded, image, NOW, GATEWAY, POD);
    expect(state.canary?.pod).toEqual(POD);
    expect(entry.reason).toBe(`canary ${image} started at 0% (only the pin reaches it); the gate gives it 10% once it runs ready`);
  });

  test('an environment default that changed (resources) is a change', () => {
    const local = ENVIRONMENTS.local;
    const resources = { ...local.apps.resources, cpuLimitMillis: local.apps.resources.cpuLimitMillis * 2 };
    const bigger = { ...local, apps: { ...local.apps, resources } };
    const { state, entry } = startCanary(recorded, undefined, NOW, GATEWAY, fixturePod(GATEWAY, bigger));
    expect(state.canary?.pod?.resources.cpu.limit).toBe(`${local.apps.resources.cpuLimitMillis * 2}m`);
    expect(entry.reason).toContain('(resources)');
  });

  test('a state without a record of stable records the configuration for stable too: what stable ran until now', () => {
    const { state } = startCanary(steady, image, NOW, GATEWAY, POD);
    expect(state.stable).toEqual({ image: steady.stable.image, pod: POD });
    expect(state.canary?.pod).toEqual(POD);
  });

  test.each<[string, RolloutState, string | undefined, string]>([
    ['neither a new image nor a new configuration', recorded, undefined,
      `nothing to release: stable runs ${steady.stable.image} with the configuration services/gateway.yaml and the environment give now (pod ${POD.hash}); `
        + 'name a new image with --image, or change services/gateway.yaml'],
    ['stable\'s image with stable\'s configuration', recorded, steady.stable.image,
      `${steady.stable.image} is what gateway already runs as stable, with the configuration services/gateway.yaml gives; `
        + 'build and push a new image first, or change services/gateway.yaml'],
    ['no image, and stable has no record to compare the configuration with', steady, undefined,
      'start needs --image: the state of gateway records no configuration of stable yet, so stable runs what services/gateway.yaml says now '
        + 'and only a new image is a release; name one with --image (pinned by tag or digest)'],
  ])('refuses %s (exit code 2, code usage)', (_name, state, requested, message) => {
    expect(() => startCanary(state, requested, NOW, GATEWAY, POD)).toThrow(new UsageError(message));
    expect(() => startCanary(state, requested, NOW, GATEWAY, POD)).toThrow(expect.objectContaining({ code: 'usage' }));
  });
});

describe('releaseUngated', () => {
  const image = 'registry.example.com/obs-canary-gateway:2.0.0';
  const changed = fixturePod(fixtureService('gateway', ['env: { FEATURE_X: "on" }']));
  const recorded: RolloutState = { ...steady, stable: { ...steady.stable, pod: POD } };

  test('stable takes the image and the configuration at once; no canary; the history says ungated, by cli', () => {
    const { state, entry } = releaseUngated(recorded, image, NOW, GATEWAY, changed);
    expect(state.stable).toEqual({ image, pod: changed });
    expect(state.canary).toBeNull();
    expect(entry).toEqual({
      at: NOW.toISOString(), decision: 'promote', by: 'cli', image, fromWeight: 0, toWeight: 0,
      reason: `ungated: stable runs ${image} with the configuration of services/gateway.yaml: pod ${POD.hash} → ${changed.hash} (env) at once, `
        + 'without a canary or the gate',
    });
    expect(state.history).toEqual([entry]);
  });

  test('a configuration alone keeps stable\'s image', () => {
    expect(releaseUngated(recorded, undefined, NOW, GATEWAY, changed).state.stable).toEqual({ image: steady.stable.image, pod: changed });
  });

  test('refuses while a canary is in flight (code in-flight), and when nothing is new (code usage)', () => {
    expect(() => releaseUngated(inFlight, image, NOW, GATEWAY, changed)).toThrow(new UsageError(
      'a canary of gateway is already in flight (registry.example.com/obs-canary-gateway:1.1.0 at 25%); promote or roll it back before changing '
      + 'stable with --ungated', 'in-flight'));
    expect(() => releaseUngated(inFlight, image, NOW, GATEWAY, changed)).toThrow(expect.objectContaining({ code: 'in-flight' }));
    expect(() => releaseUngated(recorded, undefined, NOW, GATEWAY, POD)).toThrow(expect.objectContaining({ code: 'usage', message: expect.stringMatching(/^nothing to release/) }));
  });
});

describe('checkServiceImage', () => {
  test.each([
    'registry.example.com/obs-canary-gateway:2.0.0',
    `registry.example.com/obs-canary-gateway@sha256:${'a'.repeat(64)}`,
    `registry.example.com/obs-canary-gateway:2.0.0@sha256:${'a'.repeat(64)}`,
  ])('accepts %s', image => {
    expect(() => checkServiceImage(GATEWAY, image)).not.toThrow();
  });

  test.each([
    ['registry.example.com/obs-canary-gateway', '--image must be pinned by tag or digest'],
    ['registry.example.com/obs-canary-gateway-v2:1.0.0', '--image must be an image of registry.example.com/obs-canary-gateway'],
    ['other.example.com/obs-canary-gateway:1.0.0', '--image must be an image of registry.example.com/obs-canary-gateway'],
    ['obs-canary-gateway:1.0.0', '--image must be an image of registry.example.com/obs-canary-gateway'],
  ])('refuses %s', (image, message) => {
    expect(() => checkServiceImage(GATEWAY, image)).toThrow(message);
  });
});

describe('initialState', () => {
  test('stable runs the image with the configuration given, no canary, no history, and nothing of its own: the service file\'s settings apply', () => {
    const state = initialState(GATEWAY, 'registry.example.com/obs-canary-gateway:1.0.0', POD);
    expect(state).toEqual({ service: 'gateway', stable: { image: 'registry.example.com/obs-canary-gateway:1.0.0', pod: POD }, canary: null, history: [] });
    expect(parseRolloutState(renderRolloutState(state), 'rollout/local/gateway.yaml', 'gateway')).toEqual(state);
  });

  test('refuses an unpinned image or one of another repository', () => {
    expect(() => initialState(GATEWAY, 'registry.example.com/obs-canary-gateway:latest', POD)).toThrow('--image must not use the latest tag');
    expect(() => initialState(GATEWAY, 'ghcr.io/example/ledger:1.0.0', POD)).toThrow('the repository services/gateway.yaml names');
  });
});

describe('serviceNamed', () => {
  const services = { backend: fixtureService('backend'), gateway: GATEWAY };

  test('the service file of a known service', () => {
    expect(serviceNamed(services, 'gateway')).toBe(GATEWAY);
  });

  test('an unknown one: a usage error listing the services and how to onboard it', () => {
    expect(() => serviceNamed(services, 'ledger')).toThrow(new UsageError('--service must name a service with a file under services/ (backend, gateway), '
      + 'got "ledger"; to onboard it, add services/ledger.yaml (services/schema.json says what it holds), then run '
      + '`npx canary init --service ledger --image <image>@sha256:<digest>`'));
    expect(() => serviceNamed({}, 'ledger')).toThrow('a file under services/ (none yet)');
    // not an inherited property either
    expect(() => serviceNamed(services, 'constructor')).toThrow(UsageError);
  });
});

describe('withOverrides', () => {
  test('one run\'s flags override the effective analysis settings; unset flags change nothing', () => {
    const base = settingsOf(inFlight, GATEWAY);
    expect(withOverrides(base, {})).toEqual(base);
    expect(withOverrides(base, { window: '30s', minRequests: 0, settle: '0s', queryTimeout: '2s' }).analysis)
      .toEqual({ ...base.analysis, window: '30s', minRequests: 0, settle: '0s', queryTimeout: '2s' });
    expect(withOverrides(base, { window: undefined }).analysis.window).toBe('5m');
  });
});

describe('endCanaryByHand', () => {
  const NOW2 = new Date('2026-11-22T13:00:00.000Z');
  const NOW3 = new Date('2026-11-22T13:05:00.000Z');
  const CANARY_IMAGE = 'registry.example.com/obs-canary-gateway:1.1.0';
  // the fixture's canary at 25%, its step observed applied
  const applied: RolloutState = { ...inFlight, canary: { ...inFlight.canary!, appliedAt: '2026-11-01T10:22:00.000Z' } };
  const { appliedAt: _applied, ...progressing } = applied.canary!;

  test('on a clock a minute behind the one that stepped the canary: dated at the step, not before it, so the state stays valid', () => {
    const stepped = applied.canary!.appliedAt!;
    for (const decision of ['promote', 'rollback'] as const) {
      const { state, entry } = endCanaryByHand(applied, 'local', decision, new Date(Date.parse(stepped) - 60_000));
      expect([entry.at, state.canary?.weightChangedAt]).toEqual([stepped, stepped]);
      expect(() => parseRolloutState(renderRolloutState(state), 'rollout/local/gateway.yaml')).not.toThrow();
    }
  });

  test('promote, first half: stable rolls out the canary\'s image (in the chart) while the canary keeps its weight', () => {
    const { state, entry } = endCanaryByHand(applied, 'local', 'promote', NOW2, 'looks good in Grafana');
    expect(state.stable).toEqual(inFlight.stable);
    expect(state.canary).toStrictEqual({ ...progressing, phase: 'promoting', weight: 25, weightChangedAt: NOW2.toISOString() });
    expect(entry).toEqual({
      at: '2026-11-22T13:00:00.000Z', decision: 'promote', by: 'cli', image: CANARY_IMAGE, fromWeight: 25, toWeight: 25,
      reason: `promoting by hand: stable rolls out ${CANARY_IMAGE} while the canary keeps its 25%; the gate moves the traffic to stable once it runs `
        + 'ready (looks good in Grafana)',
    });
    expect(state.history[state.history.length - 1]).toEqual(entry);
  });

  test('promote, second half: stable runs the canary\'s image and gets all the traffic; third: the canary is removed', () => {
    const promoting = endCanaryByHand(applied, 'local', 'promote', NOW2).state;
    const { state, entry } = endCanaryByHand(promoting, 'local', 'promote', NOW3, undefined, true);
    expect(state.stable).toEqual({ image: CANARY_IMAGE });
    expect(state.canary).toMatchObject({ phase: 'draining', weight: 0, image: CANARY_IMAGE });
    expect(entry).toMatchObject({ decision: 'promote', by: 'cli', fromWeight: 25, toWeight: 0,
      reason: `promoting by hand: stable runs ${CANARY_IMAGE}, all traffic to it; the gate removes the canary once that is applied` });
    const done = endCanaryByHand(state, 'local', 'promote', NOW3, undefined, true);
    expect(done.state).toMatchObject({ stable: { image: CANARY_IMAGE }, canary: null });
    expect(done.entry.reason).toBe(`promoted by hand: stable runs ${CANARY_IMAGE}; the canary is removed`);
    // draining has nothing to roll back to
    expect(() => endCanaryByHand(state, 'local', 'rollback', NOW3)).toThrow(/stable already runs it/);
  });

  test('promotion\'s end makes the canary\'s record of the configuration stable\'s; a roll back leaves stable\'s as it was', () => {
    const changed = fixturePod(fixtureService('gateway', ['env: { FEATURE_X: "on" }']));
    const recorded: RolloutState = { ...applied, stable: { ...applied.stable, pod: POD }, canary: { ...applied.canary!, pod: changed } };
    const promoting = endCanaryByHand(recorded, 'local', 'promote', NOW2).state;
    expect(promoting.stable.pod).toEqual(POD);
    expect(promoting.canary?.pod).toEqual(changed);
    expect(endCanaryByHand(promoting, 'local', 'promote', NOW3, undefined, true).state.stable).toEqual({ image: CANARY_IMAGE, pod: changed });
    const draining = endCanaryByHand(promoting, 'local', 'promote', NOW3, undefined, true).state;
    expect(endCanaryByHand(draining, 'local', 'promote', NOW3, undefined, true).state.stable).toEqual({ image: CANARY_IMAGE, pod: changed });
    const rollingBack = endCanaryByHand(recorded, 'local', 'rollback', NOW2).state;
    expect(endCanaryByHand(rollingBack, 'local', 'rollback', NOW3, undefined, true).state.stable).toEqual({ ...applied.stable, pod: POD });
  });

  test('rollback, first half: the route gives stable everything (weight 0), the canary still runs, stable untouched', () => {
    const { state, entry } = endCanaryByHand(applied, 'local', 'rollback', NOW2);
    expect(state.stable).toEqual(inFlight.stable);
    expect(state.canary).toStrictEqual({ ...progressing, phase: 'rolling-back', weight: 0, weightChangedAt: NOW2.toISOString() });
    expect(entry).toMatchObject({ decision: 'rollback', by: 'cli', fromWeight: 25, toWeight: 0,
      reason: 'rolling back by hand: stable registry.example.com/obs-canary-gateway:1.0.0 gets all traffic; the gate removes the canary once that is applied' });
  });

  test('rollback, second half: the canary is removed, stable untouched', () => {
    const rollingBack = endCanaryByHand(applied, 'local', 'rollback', NOW2).state;
    const { state, entry } = endCanaryByHand(rollingBack, 'local', 'rollback', NOW3, 'paged', true);
    expect(state.stable).toEqual(inFlight.stable);
    expect(state.canary).toBeNull();
    expect(entry).toMatchObject({ decision: 'rollback', fromWeight: 0, toWeight: 0, reason: `rolled back by hand: the canary ${CANARY_IMAGE} is removed (paged)` });
  });

  test('the canary\'s removal by hand waits for the route to be seen applied: run twice at once, both halves could reach the cluster in one '
    + 'sync and fail the requests in flight to it', () => {
    const rollingBack = endCanaryByHand(applied, 'local', 'rollback', NOW2).state;
    expect(() => endCanaryByHand(rollingBack, 'prod', 'rollback', NOW3)).toThrow(new UsageError(`the canary ${CANARY_IMAGE} of gateway got its traffic `
      + `moved to stable at ${NOW2.toISOString()}, and nothing observed the cluster running that yet: removed now, both changes could reach the `
      + 'cluster in one sync, failing the requests in flight to it. npx canary advance --service gateway --env prod (or the gate\'s loop) removes it once the '
      + 'cluster runs the route; --force removes it now'));
    const draining = endCanaryByHand(endCanaryByHand(applied, 'local', 'promote', NOW2).state, 'local', 'promote', NOW3, undefined, true).state;
    expect(() => endCanaryByHand(draining, 'local', 'promote', NOW3)).toThrow(/nothing observed the cluster running that yet/);
    // seen applied: removed without --force
    expect(endCanaryByHand({ ...rollingBack, canary: { ...rollingBack.canary!, appliedAt: NOW3.toISOString() } }, 'local', 'rollback', NOW3).state.canary)
      .toBeNull();
  });

  test('a promotion\'s traffic moves to stable by hand only once stable was seen running the release: run twice at once, stable\'s rollout and the '
    + 'traffic could reach the cluster in one sync, and the canary\'s share go to stable\'s old pods', () => {
    const promoting = endCanaryByHand(applied, 'local', 'promote', NOW2).state;
    expect(() => endCanaryByHand(promoting, 'prod', 'promote', NOW3)).toThrow(new UsageError(`stable of gateway was told to roll out ${CANARY_IMAGE} at `
      + `${NOW2.toISOString()}, and nothing observed it running that yet: the canary's 25% moved to stable now could reach the cluster in the same `
      + 'sync, and go to stable\'s pods of the old release while they are replaced. npx canary advance --service gateway --env prod (or the gate\'s loop) moves '
      + 'it once stable runs ready; --force moves it now'));
    expect(endCanaryByHand(promoting, 'local', 'promote', NOW3, undefined, true).state.canary).toMatchObject({ phase: 'draining', weight: 0 });
    // from 0 %, nothing to move: the canary is removed while stable rolls out
    const atZero = endCanaryByHand({ ...applied, canary: { ...applied.canary!, weight: 0 } }, 'local', 'promote', NOW2).state;
    expect(endCanaryByHand(atZero, 'local', 'promote', NOW3).state.canary).toBeNull();
  });

  test('a roll back interrupts a promotion: back to weight 0, stable keeps its own image', () => {
    const promoting = endCanaryByHand(applied, 'local', 'promote', NOW2).state;
    const { state, entry } = endCanaryByHand(promoting, 'local', 'rollback', NOW3);
    expect(state.stable).toEqual(inFlight.stable);
    expect(state.canary).toMatchObject({ phase: 'rolling-back', weight: 0, weightChangedAt: NOW3.toISOString() });
    expect(entry).toMatchObject({ decision: 'rollback', fromWeight: 25, toWeight: 0, reason: expect.stringMatching(/^rolling back by hand: /) });
  });

  test('a promotion cannot interrupt a roll back (exit code 2, code not-in-flight)', () => {
    const rollingBack = endCanaryByHand(applied, 'local', 'rollback', NOW2).state;
    expect(() => endCanaryByHand(rollingBack, 'local', 'promote', NOW3)).toThrow(new UsageError(
      `the canary ${CANARY_IMAGE} of gateway is being rolled back; it cannot be promoted`));
    expect(() => endCanaryByHand(rollingBack, 'local', 'promote', NOW3)).toThrow(expect.objectContaining({ code: 'not-in-flight' }));
  });

  test.each(['promote', 'rollback'] as const)('%s refuses when no canary is in flight (exit code 2, code not-in-flight)', decision => {
    expect(() => endCanaryByHand(steady, 'local', decision, NOW2)).toThrow(expect.objectContaining({
      code: 'not-in-flight', message: `no canary of gateway is in flight; nothing to ${decision === 'promote' ? 'promote' : 'roll back'}`,
    }));
  });
});

describe('appendHistory', () => {
  const hold = (at: string, reason = 'too little traffic'): HistoryEntry => ({
    at, decision: 'hold', by: 'gate', image: 'r/x:2', fromWeight: 10, toWeight: 10, reason,
  });

  test('merges a repeated hold into one entry with a count and the first time', () => {
    const once = appendHistory([], hold('2026-01-01T00:00:00Z'));
    const twice = appendHistory(once, hold('2026-01-01T00:05:00Z'));
    const thrice = appendHistory(twice, hold('2026-01-01T00:10:00Z'));
    expect(thrice).toEqual([{ ...hold('2026-01-01T00:10:00Z'), count: 3, firstAt: '2026-01-01T00:00:00Z' }]);
  });

  test('keeps a different hold, or any other decision, as a new entry', () => {
    const h = appendHistory(appendHistory([], hold('2026-01-01T00:00:00Z')), hold('2026-01-01T00:05:00Z', 'dwelling'));
    expect(h).toHaveLength(2);
  });

  test('never merges failed checks: each keeps its own numbers', () => {
    const failed = (at: string): HistoryEntry => ({ ...hold(at, 'failed check'), failedChecks: ['p95Ms: 400 > 300'] });
    expect(appendHistory(appendHistory([], failed('2026-01-01T00:00:00Z')), failed('2026-01-01T00:05:00Z'))).toHaveLength(2);
  });

  test('keeps at most the limit, dropping the oldest', () => {
    let h: HistoryEntry[] = [];
    for (let i = 0; i < 5; i++) h = appendHistory(h, { ...hold(`2026-01-01T00:0${i}:00Z`), decision: 'advance', reason: `${i}` }, 3);
    expect(h.map(e => e.reason)).toEqual(['2', '3', '4']);
  });
});

describe('statusOf', () => {
  test('a step observed applied says so; once its weight is set by hand, it is not yet observed applied', () => {
    const canary = { ...inFlight.canary!, weight: 25, appliedAt: '2026-11-22T12:30:00.000Z' };
    const applied: HistoryEntry = {
      at: '2026-11-22T12:30:00.000Z', decision: 'hold', by: 'gate', image: canary.image, fromWeight: 25, toWeight: 25, reason: 'applied',
    };
    const atStep: RolloutState = { ...inFlight, canary, history: [...inFlight.history, applied] };
    expect(statusOf('local', atStep, GATEWAY, POD).canary).toMatchObject({ weight: 25, appliedAt: canary.appliedAt });
    const edited = statusOf('local', { ...atStep, canary: { ...canary, weight: 50 } }, GATEWAY, POD);
    expect(edited.canary).toMatchObject({ weight: 50, appliedAt: null });
    expect(describeStatus(edited)).toContain('not yet observed applied');
  });

  test('a service without a canary', () => {
    const s = statusOf('local', steady, GATEWAY, POD);
    expect(s.canary).toBeNull();
    // stable runs no record: what the files say reaches it at once, and the status says so
    expect(describeStatus(s)).toBe('local/gateway: stable registry.example.com/obs-canary-gateway:1.0.0; no canary in flight; stable runs no '
      + 'recorded configuration: a change to services/gateway.yaml reaches it at once, without a canary (canary start records it)');
  });

  test('says when the service file differs from what stable runs, and that canary start releases it', () => {
    const changed = fixturePod(fixtureService('gateway', ['env: { FEATURE_X: "on" }']));
    const recorded: RolloutState = { ...steady, stable: { ...steady.stable, pod: POD } };
    const s = statusOf('local', recorded, GATEWAY, changed);
    expect(s.config).toEqual({ file: 'services/gateway.yaml', stable: POD.hash, canary: null, current: changed.hash, unreleased: ['env'] });
    expect(describeStatus(s)).toBe(`local/gateway: stable registry.example.com/obs-canary-gateway:1.0.0 (pod ${POD.hash}); no canary in flight; `
      + 'services/gateway.yaml differs from what stable runs (env): canary start releases it');
    // the same configuration: nothing to say
    expect(describeStatus(statusOf('local', recorded, GATEWAY, POD))).toBe(`local/gateway: stable registry.example.com/obs-canary-gateway:1.0.0 (pod ${POD.hash}); no canary in flight`);
    // a canary releasing it: what is unreleased is measured against the canary's record
    const releasing = statusOf('local', { ...recorded, canary: { ...inFlight.canary!, pod: changed } }, GATEWAY, changed);
    expect(releasing.config.unreleased).toEqual([]);
    expect(describeStatus(releasing)).toContain(`; canary registry.example.com/obs-canary-gateway:1.1.0 (pod ${changed.hash}) at 25% (step 2 of 4,`);
    const later = statusOf('local', { ...recorded, canary: { ...inFlight.canary!, pod: POD } }, GATEWAY, changed);
    // an image release: the canary's configuration is stable's, not repeated
    expect(describeStatus(later)).toContain('; canary registry.example.com/obs-canary-gateway:1.1.0 at 25%');
    expect(describeStatus(later)).toMatch(
      /; services\/gateway\.yaml has changed since the canary started \(env\): the next canary start releases it$/,
    );
  });

  test('a state without records compares nothing: stable runs what the files say', () => {
    expect(statusOf('local', steady, GATEWAY, POD).config).toEqual({ file: 'services/gateway.yaml', stable: null, canary: null, current: POD.hash, unreleased: [] });
  });

  test('a canary in flight: weights, step, next move, phase, counters against their limits', () => {
    const s = statusOf('prod', inFlight, GATEWAY, POD);
    expect(s.canary).toMatchObject({
      weight: 25, stableWeight: 75, step: 2, nextWeight: 50, phase: 'progressing', appliedAt: null, failedChecks: 1, maxFailedChecks: 3,
    });
    expect(s.lastDecision?.decision).toBe('advance');
    expect(describeStatus(s)).toContain('canary registry.example.com/obs-canary-gateway:1.1.0 at 25% (step 2 of 4, next: 50%; not yet observed applied), since');
    expect(statusOf('prod', { ...inFlight, canary: { ...inFlight.canary!, weight: 100 } }, GATEWAY, POD).canary?.nextWeight).toBeNull();
  });

  test('a step observed applied says when', () => {
    const s = statusOf('prod', { ...inFlight, canary: { ...inFlight.canary!, appliedAt: '2026-11-01T10:22:00.000Z' } }, GATEWAY, POD);
    expect(s.canary?.appliedAt).toBe('2026-11-01T10:22:00.000Z');
    expect(describeStatus(s)).toContain('at 25% (step 2 of 4, next: 50%; applied 2026-11-01T10:22:00.000Z)');
  });

  test('a canary just started: at 0%, before the first step', () => {
    const s = statusOf('prod', { ...inFlight, canary: { ...inFlight.canary!, weight: 0 } }, GATEWAY, POD);
    expect(s.canary).toMatchObject({ weight: 0, stableWeight: 100, step: 0, nextWeight: 10 });
    expect(describeStatus(s)).toContain('at 0% (step 0 of 4, next: 10%; not yet observed applied)');
  });

  test.each<[CanaryPhase, number, string]>([
    ['promoting', 25, 'local/gateway: stable registry.example.com/obs-canary-gateway:1.0.0; promoting: stable rolls out '
      + 'registry.example.com/obs-canary-gateway:1.1.0, the canary keeps 25%, since 2026-11-01T10:00:00Z'],
    ['rolling-back', 0, 'local/gateway: stable registry.example.com/obs-canary-gateway:1.0.0; rolling back registry.example.com/obs-canary-gateway:1.1.0: '
      + 'all traffic to stable, the canary is removed once that is applied, since 2026-11-01T10:00:00Z'],
  ])('a canary %s says so instead of its step', (phase, weight, text) => {
    const s = statusOf('local', { ...inFlight, canary: { ...inFlight.canary!, phase, weight } }, GATEWAY, POD);
    expect(s.canary?.phase).toBe(phase);
    const last = s.lastDecision!;
    expect(describeStatus(s)).toBe(`${text}, failed checks 1/3, holds in a row 0/12; last: ${last.decision} at ${last.at}: ${last.reason}`);
  });

  test('the text says why a canary stands where it stands: the last decision\'s reason, and how many holds it repeats', () => {
    const hold = {
      at: '2026-11-01T10:40:00Z', decision: 'hold', by: 'gate', image: inFlight.canary!.image, fromWeight: 25, toWeight: 25, count: 4,
      firstAt: '2026-11-01T10:25:00Z', reason: 'too little canary traffic: fewer than 20 canary requests in the 5m window',
    } as const;
    const s = statusOf('prod', { ...inFlight, history: [...inFlight.history, hold] }, GATEWAY, POD);
    expect(describeStatus(s)).toContain('holds in a row 0/12; last: hold at 2026-11-01T10:40:00Z (4 in a row): too little canary traffic: fewer '
      + 'than 20 canary requests in the 5m window');
    expect(describeStatus(statusOf('prod', steady, GATEWAY, POD))).not.toContain('last:');
  });

  test('the service file\'s steps, SLO and limits where the state file sets none', () => {
    const service = fixtureService('gateway', ['steps: [25, 100]', 'slo: { p95LatencyMs: 400 }', 'analysis: { maxFailedChecks: 5 }']);
    const { steps, ...state } = inFlight;
    expect(steps).toBeDefined();
    const s = statusOf('prod', state, service, POD);
    expect(s.canary).toMatchObject({ step: 1, steps: [25, 100], nextWeight: 100, maxFailedChecks: 5 });
    // the state file's own SLO wins over the service file's
    expect(s.slo.p95LatencyMs).toBe(250);
    expect(describeStatus(s)).toContain('at 25% (step 1 of 2, next: 100%;');
  });
});
