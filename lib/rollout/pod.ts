import { createHash } from 'node:crypto';
import { EnvValue, ProbeCheck, SecretEnvVar, TrackPod } from '../constructs/types';
import { quantity } from '../private/units';

/** CPU and memory as the rollout state records them: Kubernetes quantities, as a service file writes them. */
export interface PodResources {
  readonly cpu: { readonly request: string; readonly limit: string };
  readonly memory: { readonly request: string; readonly limit: string };
}

/**
 * What one track of a service runs, as its rollout state records it (`stable.pod`, `canary.pod`): the configuration a
 * release changes, taken from the service file and the environment's defaults when it was released, in JSON terms
 * (quantities as strings, `serviceUrl`s resolved to URLs). The port, the protocol and the metrics scrape are not in it:
 * both tracks share them through one Service, so a change of those is not canaried.
 */
export interface PodRecord {
  /** {@link podHashOf} the other fields: what status, history and commit messages name the configuration by. */
  readonly hash: string;
  readonly resources: PodResources;
  readonly env: Readonly<Record<string, EnvValue>>;
  readonly secretEnv: readonly SecretEnvVar[];
  /** `startupSeconds` only when the file sets it: a record without it keeps the hash it had before the field existed. */
  readonly probes: { readonly readiness: ProbeCheck; readonly liveness: ProbeCheck; readonly startupSeconds?: number };
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly writablePaths: readonly string[];
  readonly terminationGracePeriodSeconds: number;
}

/** A field of a {@link PodRecord} that a release may change. */
export type PodField = Exclude<keyof PodRecord, 'hash'>;

/** Every {@link PodField}, in the order a record is written. */
export const POD_FIELDS: readonly PodField[] = [
  'resources', 'env', 'secretEnv', 'probes', 'command', 'args', 'runAsUser', 'runAsGroup', 'writablePaths', 'terminationGracePeriodSeconds',
];

/** JSON with the keys of every object sorted: the same text for the same data, however a file ordered it. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

/**
 * The hash of a record's fields (its own `hash` aside): the first 12 hex digits of the SHA-256 of their canonical
 * JSON, so the order of keys in the state file (or of variables in the service file) does not count.
 */
export function podHashOf(record: Omit<PodRecord, 'hash'> & { readonly hash?: string }): string {
  const { hash: _hash, ...fields } = record;
  return createHash('sha256').update(canonicalJson(fields)).digest('hex').slice(0, 12);
}

/** The record of what a track runs: `pod`'s fields as plain JSON, with their hash. */
export function podRecordOf(pod: TrackPod): PodRecord {
  const r = pod.resources;
  const fields: Omit<PodRecord, 'hash'> = {
    resources: {
      cpu: { request: `${r.cpuRequestMillis}m`, limit: `${r.cpuLimitMillis}m` },
      memory: { request: quantity(r.memoryRequest), limit: quantity(r.memoryLimit) },
    },
    env: pod.env,
    secretEnv: pod.secretEnv,
    // startupSeconds left out when unset (the copy below drops undefined), so that records made before it keep their hash
    probes: { readiness: pod.readiness, liveness: pod.liveness, startupSeconds: pod.startupSeconds },
    ...(pod.command ? { command: pod.command } : {}),
    ...(pod.args ? { args: pod.args } : {}),
    runAsUser: pod.runAsUser,
    runAsGroup: pod.runAsGroup,
    writablePaths: pod.writablePaths,
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds,
  };
  // a copy that shares nothing with the service file it came from
  const plain = JSON.parse(JSON.stringify(fields)) as Omit<PodRecord, 'hash'>;
  return { hash: podHashOf(plain), ...plain };
}

/** The fields in which `to` differs from `from`, in {@link POD_FIELDS} order; none when they are the same. */
export function podChanges(from: PodRecord, to: PodRecord): PodField[] {
  return POD_FIELDS.filter(field => canonicalJson(from[field]) !== canonicalJson(to[field]));
}

/** A configuration change in words: `pod 1a2b3c4d5e6f → 7a8b9c0d1e2f (env, resources)`. */
export function describePodChange(from: PodRecord, to: PodRecord): string {
  return `pod ${from.hash} → ${to.hash} (${podChanges(from, to).join(', ')})`;
}
