import { SCHEMA_OUTPUTS } from '../../lib/schemas';
import { PodRecord, podHashOf } from '../../lib/rollout/pod';
import { RolloutState, StateError, imageProblem, parseRolloutState, renderRolloutState } from '../../lib/rollout/state';
import { endCanaryByHand } from '../../lib/delivery/plan';
import { CANARY_YAML, fixturePod, fixtureState } from './fixtures';

const FILE = 'rollout/local/gateway.yaml';
const valid = CANARY_YAML;

function problemsOf(text: string, service = 'gateway'): readonly string[] {
  try {
    parseRolloutState(text, FILE, service);
  } catch (error) {
    expect(error).toBeInstanceOf(StateError);
    expect((error as StateError).message.startsWith(`invalid rollout state ${FILE}:\n  - `)).toBe(true);
    return (error as StateError).problems;
  }
  throw new Error('expected the state to be rejected');
}

describe('parseRolloutState', () => {
  test('a file without steps, SLO or analysis of its own is valid: its service file\'s apply', () => {
    const state = parseRolloutState('service: ledger\nstable:\n  image: ghcr.io/example/ledger:1.0.0\ncanary: null\nhistory: []\n',
      'rollout/local/ledger.yaml', 'ledger');
    expect(state).toEqual({ service: 'ledger', stable: { image: 'ghcr.io/example/ledger:1.0.0' }, canary: null, history: [] });
  });

  test('reads a valid file', () => {
    const state = parseRolloutState(valid, FILE, 'gateway');
    expect(state.canary?.weight).toBe(25);
    expect(state.slo).toEqual({ p95LatencyMs: 250 });
    expect(state.history.map(h => h.decision)).toEqual(['start', 'advance']);
  });

  test.each<[string, (s: string) => string, string]>([
    ['YAML syntax', () => 'service: [gateway', 'not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 18'],
    ['an unknown field', s => `${s}\nbogus: 1`, "'bogus' is not a known field (known: service, stable, canary, "],
    ['an unknown field of a mapping', s => s.replace('weight: 25', 'weight: 25\n  wieght: 25'), "'canary.wieght' is not a known field of 'canary' (known: image, weight, "],
    ['a missing field', s => s.replace(/^history:[\s\S]*/m, ''), "'history' is required"],
    ['a service that is no name', s => s.replace('service: gateway', 'service: Front_End'), "'service' must match pattern"],
    ['a weight above 100', s => s.replace('weight: 25', 'weight: 250'), "'canary.weight' must be <= 100, got 250"],
    ['a negative weight', s => s.replace('weight: 25', 'weight: -1'), "'canary.weight' must be >= 0, got -1"],
    ['an unknown phase', s => s.replace('weight: 25', 'weight: 25\n  phase: paused'),
      '\'canary.phase\' must be equal to one of the allowed values ("progressing", "promoting", "draining", "rolling-back"), got "paused"'],
    ['a time of application that is no timestamp', s => s.replace('weight: 25', 'weight: 25\n  appliedAt: "soon"'), "'canary.appliedAt' must match pattern"],
    ['a bad timestamp', s => s.replace('startedAt: "2026-11-01T10:00:00Z"', 'startedAt: "yesterday"'), "'canary.startedAt' must match pattern"],
    ['a negative counter', s => s.replace('failedChecks: 1', 'failedChecks: -1'), "'canary.failedChecks' must be >= 0, got -1"],
    ['an SLO ratio above 1', s => s.replace('p95LatencyMs: 250', 'successRatio: 1.5'), "'slo.successRatio' must be <= 1, got 1.5"],
    ['a fail safe that never fails', s => s.replace('slo:', 'analysis:\n  maxConsecutiveHolds: 1000000\nslo:'), "'analysis.maxConsecutiveHolds' must be <= 1000"],
    ['failed checks that never roll back', s => s.replace('slo:', 'analysis:\n  maxFailedChecks: 101\nslo:'), "'analysis.maxFailedChecks' must be <= 100"],
    ['an unknown history decision', s => s.replace('decision: advance', 'decision: yolo'), "'history[1].decision' must be equal to one of the allowed values"],
    // what an image must be, in words, not the pattern
    ['an upper-case registry', s => s.replace(/image: (\S+):1\.1\.0/, 'image: Registry.example.com/x:1.1.0'),
      "'canary.image' must be an image reference such as registry/name:tag or registry/name@sha256:<64 hex digits>, in lower case up to the tag, "
      + 'got "Registry.example.com/x:1.1.0"'],
    ['a short digest', s => s.replace(/image: (\S+):1\.1\.0/, 'image: $1@sha256:abc'), "'canary.image' must be an image reference such as"],
  ])('rejects %s, naming the field', (_name, mutate, message) => {
    expect(problemsOf(mutate(valid)).join('\n')).toContain(message);
  });

  test('a YAML syntax error says where, and ends there: no code frame cut after a colon', () => {
    expect(problemsOf('service: [gateway')).toEqual(['not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 18']);
  });

  test.each<[string, (s: string) => string, string]>([
    ['a file about another service', s => s, "'service' must match the file name (\"backend\"), got \"gateway\""],
    ['steps that do not increase', s => s.replace('steps: [10, 25, 50, 100]', 'steps: [10, 50, 25, 100]'), "'steps' must be strictly increasing, got [10,50,25,100]"],
    ['a roll back that still gives the canary traffic', s => s.replace('weight: 25', 'weight: 25\n  phase: rolling-back'),
      "'canary.weight' must be 0 while the canary is rolling-back (all traffic to stable), got 25"],
    ['a canary of what stable runs (edited by hand)', s => s.replace('obs-canary-gateway:1.1.0\n  weight', 'obs-canary-gateway:1.0.0\n  weight'),
      "'canary' must release something stable does not run: its image and configuration are stable's (registry.example.com/obs-canary-gateway:1.0.0); "
        + 'give it another image (canary start --image) or remove it (canary: null, and the history entries since its start)'],
    ['a step applied before it was committed', s => s.replace('weight: 25', 'weight: 25\n  appliedAt: "2026-11-01T10:19:59.999Z"'),
      "'canary.appliedAt' must not be before 'canary.weightChangedAt', got 2026-11-01T10:19:59.999Z"],
    ['an unpinned image', s => s.replace('obs-canary-gateway:1.0.0', 'obs-canary-gateway'), '\'stable.image\' must be pinned by tag or digest, got "registry.example.com/obs-canary-gateway"'],
    ['a latest image', s => s.replace('obs-canary-gateway:1.1.0\n  weight', 'obs-canary-gateway:latest\n  weight'), "'canary.image' must not use the latest tag"],
    ['a weight change before the start', s => s.replace('weightChangedAt: "2026-11-01T10:20:00Z"', 'weightChangedAt: "2026-10-01T10:20:00Z"'),
      "'canary.weightChangedAt' must not be before 'canary.startedAt'"],
    ['an analysis window that is not a duration', s => s.replace('slo:', 'analysis:\n  window: five minutes\nslo:'),
      "'analysis.window' must be a duration such as 30s, 5m or 1h30m, got \"five minutes\""],
    ['a progress deadline over 24h', s => s.replace('slo:', 'analysis:\n  progressDeadline: 1d1s\nslo:'),
      "'analysis.progressDeadline' must be at most 24h, got \"1d1s\""],
    ['a progress deadline of 0', s => s.replace('slo:', 'analysis:\n  progressDeadline: 0m\nslo:'),
      "'analysis.progressDeadline' must be longer than 0, got \"0m\""],
    ['a month 13 (the pattern lets it through)', s => s.replace('weight: 25', 'weight: 25\n  appliedAt: "2026-13-01T10:30:00Z"'),
      '\'canary.appliedAt\' must be a real UTC time such as 2026-11-01T12:00:00Z, got "2026-13-01T10:30:00Z"'],
    ['a minute 60', s => s.replace('weightChangedAt: "2026-11-01T10:20:00Z"', 'weightChangedAt: "2026-11-01T23:60:00Z"'),
      '\'canary.weightChangedAt\' must be a real UTC time such as 2026-11-01T12:00:00Z, got "2026-11-01T23:60:00Z"'],
    ['31 November in the history', s => s.replace('at: "2026-11-01T10:20:00Z"', 'at: "2026-11-31T10:20:00Z"'),
      '\'history[1].at\' must be a real UTC time such as 2026-11-01T12:00:00Z, got "2026-11-31T10:20:00Z"'],
    ['a settle of a month (30d for 30s)', s => s.replace('slo:', 'analysis:\n  settle: 30d\nslo:'), "'analysis.settle' must be at most 1h, got \"30d\""],
    ['a window over 6h', s => s.replace('slo:', 'analysis:\n  window: 6h1s\nslo:'), "'analysis.window' must be at most 6h, got \"6h1s\""],
    ['an SLO period that is not a duration', s => s.replace('p95LatencyMs: 250', 'p95LatencyMs: 250\n  period: a month'),
      "'slo.period' must be a duration such as 30s, 5m or 1h30m, got \"a month\""],
    ['an SLO period shorter than 7d', s => s.replace('p95LatencyMs: 250', 'p95LatencyMs: 250\n  period: 1d'), "'slo.period' must be at least 7d, got \"1d\""],
    ['an SLO period longer than 90d', s => s.replace('p95LatencyMs: 250', 'p95LatencyMs: 250\n  period: 1y'), "'slo.period' must be at most 90d, got \"1y\""],
  ])('rejects %s', (_name, mutate, message) => {
    const service = _name.startsWith('a file about') ? 'backend' : 'gateway';
    expect(problemsOf(mutate(valid), service)).toContainEqual(expect.stringContaining(message));
  });

  test('takes a canary at 0% (started, only the pin reaches it), and one rolling back at 0%', () => {
    const started = parseRolloutState(valid.replace('weight: 25', 'weight: 0'), FILE, 'gateway');
    expect(started.canary).toMatchObject({ weight: 0 });
    expect(started.canary?.phase).toBeUndefined();
    expect(parseRolloutState(valid.replace('weight: 25', 'weight: 0\n  phase: rolling-back'), FILE, 'gateway').canary)
      .toMatchObject({ weight: 0, phase: 'rolling-back' });
  });

  test('takes a promotion at its weight, and a step applied at the moment of its commit', () => {
    const promoting = parseRolloutState(valid.replace('weight: 25', 'weight: 25\n  phase: promoting'), FILE, 'gateway');
    expect(promoting.canary).toMatchObject({ weight: 25, phase: 'promoting' });
    const applied = parseRolloutState(valid.replace('weight: 25', 'weight: 25\n  appliedAt: "2026-11-01T10:20:00Z"'), FILE, 'gateway');
    expect(applied.canary?.appliedAt).toBe('2026-11-01T10:20:00Z');
    // draining: stable runs the promoted release already, the canary's Deployment waits to be removed
    const draining = valid.replace('obs-canary-gateway:1.1.0\n  weight: 25', 'obs-canary-gateway:1.0.0\n  weight: 0\n  phase: draining');
    expect(parseRolloutState(draining, FILE, 'gateway').canary).toMatchObject({ weight: 0, phase: 'draining' });
  });

  test('takes a progress deadline up to 24h', () => {
    expect(parseRolloutState(valid.replace('slo:', 'analysis:\n  progressDeadline: 24h\nslo:'), FILE, 'gateway').analysis)
      .toEqual({ progressDeadline: '24h' });
  });

  test('takes an SLO period from 7d to 90d', () => {
    for (const period of ['7d', '30d', '4w', '90d']) {
      expect(parseRolloutState(valid.replace('p95LatencyMs: 250', `p95LatencyMs: 250\n  period: ${period}`), 'rollout/local/gateway.yaml', 'gateway').slo)
        .toEqual({ p95LatencyMs: 250, period });
    }
  });

  test('reports every semantic problem at once', () => {
    const broken = valid.replace('steps: [10, 25, 50, 100]', 'steps: [10, 5]').replace('obs-canary-gateway:1.0.0', 'obs-canary-gateway')
      .replace('weight: 25', 'weight: 25\n  phase: rolling-back');
    expect(problemsOf(broken)).toHaveLength(3);
  });

  test('a weight that is not a step is read as it is: steps changed while the canary is in flight are its plan from there on', () => {
    expect(parseRolloutState(valid.replace('steps: [10, 25, 50, 100]', 'steps: [20, 50, 100]'), FILE, 'gateway')).toMatchObject({
      steps: [20, 50, 100], canary: { weight: 25 },
    });
  });
});

describe('parseRolloutState: the pod records', () => {
  const pod = fixturePod();
  /** The fixture with records on both tracks, the stable one changed by `edit` as a person might. */
  const withRecords = (edit: (record: Record<string, any>) => Record<string, any> = r => r): string => {
    const state = fixtureState('canary');
    const stable = { ...state.stable, pod: edit(structuredClone(pod)) as PodRecord };
    return renderRolloutState({ ...state, stable, canary: { ...state.canary!, pod } });
  };

  test('reads records on both tracks', () => {
    const state = parseRolloutState(withRecords(), FILE, 'gateway');
    expect(state.stable.pod).toEqual(pod);
    expect(state.canary?.pod).toEqual(pod);
  });

  test.each<[string, (r: Record<string, any>) => Record<string, any>, string]>([
    ['a record edited by hand (its hash no longer its fields\')', r => ({ ...r, env: { ...r.env, LOG_LEVEL: 'debug' } }),
      `'stable.pod.hash' must be the hash of the record's fields, ${podHashOf({ ...pod, env: { ...pod.env, LOG_LEVEL: 'debug' } })}, got "${pod.hash}"`],
    ['a hash that is no hash', r => ({ ...r, hash: 'abc' }), "'stable.pod.hash' must match pattern"],
    ['a missing field', ({ probes: _probes, ...r }) => r, "'stable.pod.probes' is required"],
    ['an unknown field (the port is not a track\'s)', r => ({ ...r, port: 8080 }), "'stable.pod.port' is not a known field"],
    ['CPU that is not in millicores', r => ({ ...r, resources: { ...r.resources, cpu: { request: '0.5', limit: '1000m' } } }),
      "'stable.pod.resources.cpu.request' must match pattern"],
    ['a uid of 0', r => ({ ...r, runAsUser: 0 }), "'stable.pod.runAsUser' must be >= 1, got 0"],
    ['a probe of two kinds', r => ({ ...r, probes: { ...r.probes, liveness: { tcp: true, grpc: true } } }), "'stable.pod.probes.liveness' must NOT have more than 1 properties"],
  ])('rejects %s, naming the field', (_name, edit, message) => {
    expect(problemsOf(withRecords(edit)).join('\n')).toContain(message);
  });
});

describe('parseRolloutState: a canary block removed by hand', () => {
  const NOW = new Date('2026-11-01T11:00:00Z');
  /** The fixture's canary (at 25 %, its last entry the gate's step) as a state file whose `canary` block was deleted. */
  const removedByHand = (state: RolloutState): string => renderRolloutState({ ...state, canary: null });

  test('is refused while the history leaves it in flight: a step, a start, a hold, a promotion\'s first half', () => {
    const state = fixtureState('canary');
    const problems = problemsOf(removedByHand(state));
    expect(problems).toEqual([expect.stringContaining(`'canary' is null, but the last history entry (advance of ${state.canary!.image} at 25%, `
      + '2026-11-01T10:20:00Z) leaves that canary in flight')]);
    expect(problems[0]).toContain('canary rollback --service gateway');
    // with the environment of the file: the CLI's own default is local
    expect(problems[0]).toContain('end the canary with npx canary rollback --service gateway --env local or npx canary promote --service gateway --env local;');
    expect(() => parseRolloutState(removedByHand(state), 'rollout/prod/gateway.yaml', 'gateway')).toThrow('npx canary rollback --service gateway --env prod');
    const last = state.history[state.history.length - 1];
    for (const entry of [{ decision: 'start', toWeight: 0 }, { decision: 'hold', toWeight: 25 }, { decision: 'promote', toWeight: 25 }] as const) {
      expect(problemsOf(removedByHand({ ...state, history: [...state.history, { ...last, ...entry }] })).join('\n')).toContain(`(${entry.decision} of `);
    }
  });

  test('is taken after the entry that removed the canary, as the CLI and the gate write it, and with no history', () => {
    const state = fixtureState('canary');
    // all traffic to stable, then (once that is applied, or with --force) the canary removed
    const rollingBack = endCanaryByHand(state, 'local', 'rollback', NOW).state;
    const rolledBack = endCanaryByHand(rollingBack, 'local', 'rollback', NOW, undefined, true).state;
    expect(rolledBack.canary).toBeNull();
    expect(parseRolloutState(renderRolloutState(rolledBack), FILE, 'gateway')).toEqual(rolledBack);
    let promoted = state;
    for (let i = 0; i < 3 && promoted.canary; i++) promoted = endCanaryByHand(promoted, 'local', 'promote', NOW, undefined, true).state;
    expect(promoted.canary).toBeNull();
    expect(parseRolloutState(renderRolloutState(promoted), FILE, 'gateway').stable.image).toBe(state.canary!.image);
    expect(parseRolloutState(removedByHand({ ...state, history: [] }), FILE, 'gateway').canary).toBeNull();
  });
});

describe('renderRolloutState', () => {
  test('round-trips, with a schema hint for editors and a fixed key order', () => {
    const state = fixtureState('canary');
    const text = renderRolloutState(state);
    expect(text.startsWith('# yaml-language-server: $schema=../schema.json\n')).toBe(true);
    expect(parseRolloutState(text, FILE, 'gateway')).toEqual(state);
    expect(text.indexOf('service:')).toBeLessThan(text.indexOf('stable:'));
    expect(text.indexOf('steps:')).toBeLessThan(text.indexOf('history:'));
  });

  test('a gate decision with the canary\'s and stable\'s numbers round-trips', () => {
    const state = fixtureState('canary');
    const numbers = { requests: 400, successRatio: 0.998, p95Ms: 48.8, p99Ms: null };
    const withGate: RolloutState = {
      ...state,
      history: [...state.history, {
        at: '2026-11-01T10:30:00.000Z', decision: 'hold', by: 'gate', image: state.canary!.image, fromWeight: 25, toWeight: 25,
        reason: 'failed check 2 of 3: p95Ms: 975 > 300', measurements: { ...numbers, canaryRequests: 40, p95Ms: 975 }, baseline: numbers,
        failedChecks: ['p95Ms: 975 > 300'],
      }],
    };
    expect(parseRolloutState(renderRolloutState(withGate), FILE, 'gateway')).toEqual(withGate);
  });

  test('a canary\'s phase and the time its step was applied round-trip', () => {
    const state = fixtureState('canary');
    const promoting: RolloutState = { ...state, canary: { ...state.canary!, phase: 'promoting' } };
    const text = renderRolloutState(promoting);
    expect(text).toContain('phase: promoting');
    expect(parseRolloutState(text, FILE, 'gateway')).toEqual(promoting);
    const applied: RolloutState = { ...state, canary: { ...state.canary!, appliedAt: '2026-11-01T10:22:00.000Z' } };
    expect(parseRolloutState(renderRolloutState(applied), FILE, 'gateway')).toEqual(applied);
    // appliedAt belongs to a step: not to a canary at 0 %, nor to a promotion or a roll back
    for (const wrong of [{ weight: 0 }, { phase: 'promoting' as const }, { phase: 'draining' as const, weight: 0 }]) {
      const wrongText = renderRolloutState({ ...applied, canary: { ...applied.canary!, ...wrong } });
      expect(() => parseRolloutState(wrongText, FILE, 'gateway')).toThrow(/'canary\.appliedAt' is only for a step/);
    }
  });

  test('a state without overrides renders no steps, slo or analysis block', () => {
    const state: RolloutState = fixtureState('steady', 'backend');
    expect(renderRolloutState(state)).not.toMatch(/^(steps|slo|analysis):/m);
    expect(parseRolloutState(renderRolloutState(state), 'rollout/local/backend.yaml', 'backend')).toEqual(state);
  });
});

describe('imageProblem', () => {
  test.each([
    ['ghcr.io/acme/gateway:1.2.3', undefined],
    ['localhost:5000/gateway:1.2.3', undefined],
    [`ghcr.io/acme/gateway@sha256:${'a'.repeat(64)}`, undefined],
    [`ghcr.io/acme/gateway:latest@sha256:${'a'.repeat(64)}`, undefined],
    ['localhost:5000/gateway', 'must be pinned by tag or digest, got "localhost:5000/gateway"'],
    ['ghcr.io/acme/gateway:latest', 'must not use the latest tag, got "ghcr.io/acme/gateway:latest"'],
    ['Not An Image', 'must be an image reference such as registry/name:tag, got "Not An Image"'],
  ])('%s', (image, problem) => {
    expect(imageProblem(image)).toBe(problem);
  });
});

describe('the generated files of the state schema', () => {
  const outputs = SCHEMA_OUTPUTS.filter(o => o.file.startsWith('rollout/') || o.file.startsWith('lib/rollout/'));

  test('are rollout/schema.json and the compiled validator', () => {
    expect(outputs.map(o => o.file).sort()).toEqual(['lib/rollout/generated/validate-rollout-state.cjs', 'rollout/schema.json']);
  });

  // tests/schemas.test.ts checks that each is what `npm run schemas` writes today
});
