import { Size } from 'cdk8s';
import { TrackPod } from '../../lib/constructs/types';
import { describePodChange, podChanges, podHashOf, podRecordOf } from '../../lib/rollout/pod';
import { parseRolloutState, renderRolloutState } from '../../lib/rollout/state';
import { fixtureState } from './fixtures';

const POD: TrackPod = {
  readiness: { http: '/readyz' },
  liveness: { tcp: true },
  runAsUser: 1000,
  runAsGroup: 1000,
  writablePaths: ['/tmp'],
  env: { LOG_LEVEL: 'info', TRACK: { fieldRef: "metadata.labels['version']" } },
  secretEnv: [{ name: 'DB_URL', secret: 'gateway-db', key: 'url' }],
  args: ['--listen=:8080'],
  resources: { cpuRequestMillis: 100, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(1) },
  terminationGracePeriodSeconds: 30,
};

describe('podRecordOf', () => {
  test('quantities become the strings a service file writes; everything else is copied as it is', () => {
    const record = podRecordOf(POD);
    expect(record).toEqual({
      hash: expect.stringMatching(/^[0-9a-f]{12}$/),
      resources: { cpu: { request: '100m', limit: '1000m' }, memory: { request: '256Mi', limit: '1Gi' } },
      env: POD.env, secretEnv: POD.secretEnv, probes: { readiness: { http: '/readyz' }, liveness: { tcp: true } },
      args: ['--listen=:8080'], runAsUser: 1000, runAsGroup: 1000, writablePaths: ['/tmp'], terminationGracePeriodSeconds: 30,
    });
    // plain data: no Size left, nothing shared with the input
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
    expect(record.env).not.toBe(POD.env);
  });

  test('no command or args in the record when the container has none', () => {
    const { args: _args, ...withoutArgs } = POD;
    expect(Object.keys(podRecordOf(withoutArgs))).not.toContain('args');
    expect(Object.keys(podRecordOf(withoutArgs))).not.toContain('command');
  });

  test('the record survives a state file: rendered and read back it is the same, hash included', () => {
    const steady = fixtureState('steady');
    const state = { ...steady, stable: { ...steady.stable, pod: podRecordOf(POD) } };
    expect(parseRolloutState(renderRolloutState(state), 'rollout/local/gateway.yaml', 'gateway')).toEqual(state);
  });
});

describe('podHashOf', () => {
  test('the same for the same data in any key order, and blind to the hash field itself', () => {
    const record = podRecordOf(POD);
    const reordered = podRecordOf({ ...POD, env: { TRACK: POD.env.TRACK, LOG_LEVEL: 'info' } });
    expect(reordered.hash).toBe(record.hash);
    expect(podHashOf({ ...record, hash: '000000000000' })).toBe(record.hash);
  });

  test('another for a changed variable, a resource, a probe', () => {
    const hashes = [
      POD,
      { ...POD, env: { ...POD.env, LOG_LEVEL: 'debug' } },
      { ...POD, resources: { ...POD.resources, cpuLimitMillis: 2000 } },
      { ...POD, liveness: { http: '/healthz' } },
    ].map(p => podRecordOf(p).hash);
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});

describe('podChanges', () => {
  test('names the fields that differ, in record order', () => {
    const from = podRecordOf(POD);
    const to = podRecordOf({ ...POD, env: { ...POD.env, FEATURE: 'on' }, resources: { ...POD.resources, memoryLimit: Size.gibibytes(2) }, command: ['/app'] });
    expect(podChanges(from, to)).toEqual(['resources', 'env', 'command']);
    expect(podChanges(from, podRecordOf(POD))).toEqual([]);
    expect(describePodChange(from, to)).toBe(`pod ${from.hash} → ${to.hash} (resources, env, command)`);
  });
});
