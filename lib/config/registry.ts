import { Duration, Size } from 'cdk8s';
import { show } from '../errors';
import { isPlainObject } from '../private/walk';
import { ConfigError } from './checks';
import { EnvironmentConfig } from './environment';

/** What an override replaces whole: scalars, arrays and cdk8s value objects. */
type Leaf = string | number | boolean | bigint | symbol | null | undefined | Duration | Size | readonly unknown[];

/**
 * `T` with every field optional at every depth, for overrides: plain objects are merged field by field, while
 * scalars, arrays and `Duration`/`Size` are given whole; `null` removes a field that is optional in `T`.
 */
export type DeepPartial<T> = T extends Leaf ? T : {
  readonly [K in keyof T]?: DeepPartial<T[K]> | (undefined extends T[K] ? null : never);
};

/**
 * Fields that an override replaces whole although they are objects (a trailing `.*` stands for every key): label
 * maps, since a selector must match all of its labels and a merged one would keep the parent's, and the unions whose
 * variants have different fields (credentials, how a dependency or DNS is reached, a proxy), where a merge would mix
 * two variants.
 */
export const REPLACED_WHOLE: readonly string[] = [
  'apps.ingressGateway.selector', 'objectStorage.credentials', 'egress.dns', 'egress.proxies.*', 'egress.dependencies.*', 'delivery.prometheusAuth',
  'topology.gateway.exposure',
];

/**
 * Unions told apart by `kind`, by dotted path, with the kind an object without one has: an override that names
 * another kind than its base replaces the base whole, so that a Google Cloud Storage override of an S3 environment
 * keeps none of its endpoint, region and keys; one of the same kind (or none) is merged as usual.
 */
export const DISCRIMINATED: Readonly<Record<string, string>> = { objectStorage: 's3' };

/**
 * An environment that starts from another one and names only what differs.
 *
 * @example
 * staging: { name: 'staging', extends: 'prod', clusterName: 'staging', loki: { replicas: 2 } }
 */
export type ExtendingEnvironment = DeepPartial<Omit<EnvironmentConfig, 'name'>> & {
  /** The entry's key: the directory under `dist/` and `rollout/`. */
  readonly name: string;
  /** The environment this one starts from, by name; it may extend another in turn. */
  readonly extends: string;
};

/** One entry of the environment registry: a complete environment, or one that extends another. */
export type EnvironmentEntry = EnvironmentConfig | ExtendingEnvironment;

/**
 * `overrides` laid over `base`: plain objects are merged field by field, except those at `whole` (dotted paths) and
 * those at a `discriminated` path whose override names another `kind` (see {@link DISCRIMINATED}), and everything else
 * (scalars, arrays, `Duration`, `Size`) is replaced. A field an override leaves `undefined` keeps the base's value; one
 * it sets to `null` is removed.
 */
export function deepMerge<T>(base: T, overrides: DeepPartial<T>, whole: readonly string[] = [],
  discriminated: Readonly<Record<string, string>> = {}): T {
  return mergeValue(base, overrides, '', new Set(whole), discriminated) as T;
}

function mergeValue(
  base: unknown, override: unknown, at: string, whole: ReadonlySet<string>, discriminated: Readonly<Record<string, string>>,
): unknown {
  if (!isPlainObject(base) || !isPlainObject(override) || whole.has(at) || whole.has(at.replace(/\.[^.]+$/, '.*'))) return withoutNulls(override);
  const defaultKind = Object.hasOwn(discriminated, at) ? discriminated[at] : undefined;
  if (defaultKind !== undefined && override.kind !== undefined && override.kind !== (base.kind ?? defaultKind)) return withoutNulls(override);
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else if (value !== undefined) out[key] = mergeValue(base[key], value, at === '' ? key : `${at}.${key}`, whole, discriminated);
  }
  return out;
}

/**
 * `value` with every `null` field of its plain objects removed, at any depth: an override taken whole (a section the
 * parent lacks, a label map, another variant) may say "none" with `null` as a merged one may.
 */
function withoutNulls(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

/**
 * The environments of a registry, by name and in the order of `entries`. An extending entry is merged onto its
 * parent when first read; reading an entry throws a {@link ConfigError} naming it if its key and `name` differ, its
 * parent is unknown, or its `extends` chain is a cycle. The result is not validated: `loadEnvironment` does that.
 *
 * @param entries each environment under its name, which must equal its `name`
 */
export function defineEnvironments(entries: Readonly<Record<string, EnvironmentEntry>>): Readonly<Record<string, EnvironmentConfig>> {
  const resolved = new Map<string, EnvironmentConfig>();
  const resolve = (key: string, chain: readonly string[]): EnvironmentConfig => {
    const done = resolved.get(key);
    if (done) return done;
    const entry = entries[key];
    const refuse = (problem: string): never => {
      throw new ConfigError(`environment ${show(key)}`, [problem]);
    };
    if (entry.name !== key) refuse(`'name' must equal the entry's key ${show(key)} (it names dist/${key}/ and rollout/${key}/), got ${show(entry.name)}`);
    let env: EnvironmentConfig = entry as EnvironmentConfig;
    if ('extends' in entry) {
      const { extends: parent, ...overrides } = entry;
      const others = Object.keys(entries).filter(k => k !== key);
      if (!Object.hasOwn(entries, parent)) refuse(`'extends' must be one of ${others.map(show).join(', ')}, got ${show(parent)}`);
      const path = [...chain, key];
      if (path.includes(parent)) {
        refuse(`'extends' must not form a cycle, got ${show(parent)} (${[...path.slice(path.indexOf(parent)), parent].join(' → ')})`);
      }
      env = deepMerge<EnvironmentConfig>(resolve(parent, path), overrides, REPLACED_WHOLE, DISCRIMINATED);
    }
    resolved.set(key, env);
    return env;
  };
  const registry: Record<string, EnvironmentConfig> = {};
  // getters: a broken entry fails where synth reads it, with the usual message, rather than when a module is imported
  for (const key of Object.keys(entries)) Object.defineProperty(registry, key, { enumerable: true, get: () => resolve(key, []) });
  return Object.freeze(registry);
}
