import { Duration, Size } from 'cdk8s';
import { ConfigError } from '../../lib/config/checks';
import { ENVIRONMENTS, loadEnvironment } from '../../lib/config/environments';
import { DeepPartial, EnvironmentEntry, deepMerge, defineEnvironments } from '../../lib/config/registry';
import { errorOf } from '../support/errors';

const prod = ENVIRONMENTS.prod;
const local = ENVIRONMENTS.local;

/** A smaller copy of prod: the example of the README. */
const STAGING: EnvironmentEntry = {
  name: 'staging',
  extends: 'prod',
  clusterName: 'staging',
  loki: { replicas: 1, retention: Duration.days(7) },
  objectStorage: { lokiBucket: 'obs-canary-staging-loki', tempoBucket: 'obs-canary-staging-tempo' },
  apps: { stableReplicas: 1, ingressGateway: { selector: { app: 'staging-gateway' } } },
};

describe('deepMerge', () => {
  interface Shape {
    readonly a: { readonly b: number; readonly c: string; readonly d: { readonly e: boolean } };
    readonly list: readonly number[];
    readonly ttl: Duration;
    readonly size: Size;
    readonly labels: Readonly<Record<string, string>>;
    readonly extra?: { readonly x: number };
  }
  const base: Shape = {
    a: { b: 1, c: 'one', d: { e: true } }, list: [1, 2, 3], ttl: Duration.hours(2), size: Size.gibibytes(1), labels: { tier: 'web' },
  };
  const shortTtl = Duration.minutes(30);
  const bigSize = Size.gibibytes(8);

  const cases: Array<[string, DeepPartial<Shape>, Shape]> = [
    ['an object is merged field by field', { a: { b: 2 } }, { ...base, a: { ...base.a, b: 2 } }],
    ['an object nested deeper too', { a: { d: { e: false } } }, { ...base, a: { ...base.a, d: { e: false } } }],
    ['a record is merged key by key', { labels: { zone: 'a' } }, { ...base, labels: { tier: 'web', zone: 'a' } }],
    ['an array is replaced, not merged', { list: [9] }, { ...base, list: [9] }],
    ['a scalar is replaced', { a: { c: 'two' } }, { ...base, a: { ...base.a, c: 'two' } }],
    ['a Duration is replaced whole', { ttl: shortTtl }, { ...base, ttl: shortTtl }],
    ['a Size is replaced whole', { size: bigSize }, { ...base, size: bigSize }],
    ['undefined keeps the base value', { a: { b: undefined }, ttl: undefined }, base],
    ['an object the base lacks is taken as given', { extra: { x: 1 } }, { ...base, extra: { x: 1 } }],
  ];

  test.each(cases)('%s', (_what, overrides, expected) => {
    expect(deepMerge(base, overrides)).toEqual(expected);
  });

  test('null removes an optional field (a prod feature staging does without), undefined keeps it', () => {
    const withExtra: Shape = { ...base, extra: { x: 5 } };
    expect(deepMerge(withExtra, { extra: null })).toEqual(base);
    expect(deepMerge(withExtra, { extra: undefined })).toEqual(withExtra);
  });

  test('null removes a field inside an object an override gives whole too (a section the parent lacks, a path given as whole)', () => {
    expect(deepMerge(base, { extra: { x: 1, y: null } } as DeepPartial<Shape>)).toEqual({ ...base, extra: { x: 1 } });
    expect(deepMerge(base, { labels: { zone: 'a', tier: null } } as unknown as DeepPartial<Shape>, ['labels'])).toEqual({ ...base, labels: { zone: 'a' } });
  });

  test('an object at a path given as whole is replaced, not merged (label maps: a selector must match all its labels)', () => {
    expect(deepMerge(base, { labels: { zone: 'a' } }, ['labels'])).toEqual({ ...base, labels: { zone: 'a' } });
    expect(deepMerge(base, { a: { d: { e: false } } }, ['a.d'])).toEqual({ ...base, a: { ...base.a, d: { e: false } } });
  });

  test('a Duration or Size in an override is used as it is, never merged into', () => {
    const merged = deepMerge(base, { ttl: shortTtl, size: bigSize });
    expect(merged.ttl).toBe(shortTtl);
    expect(merged.size).toBe(bigSize);
  });

  test('leaves the base as it was', () => {
    const before = structuredClone(base.a);
    deepMerge(base, { a: { b: 7, d: { e: false } }, list: [] });
    expect(base.a).toEqual(before);
    expect(base.list).toEqual([1, 2, 3]);
  });
});

describe('defineEnvironments', () => {
  test('an extending entry is its parent with its own values laid over it, then validated', () => {
    const staging = loadEnvironment('staging', defineEnvironments({ prod, staging: STAGING }));
    expect(staging.name).toBe('staging');
    expect(staging.clusterName).toBe('staging');
    expect(staging.loki).toEqual({ ...prod.loki, replicas: 1, retention: Duration.days(7) });
    expect(staging.apps.stableReplicas).toBe(1);
    expect(staging.apps.traceSamplingRatio).toBe(prod.apps.traceSamplingRatio);
    // a selector is replaced whole: the parent's `istio: ingressgateway` would otherwise still have to match
    expect(staging.apps.ingressGateway.selector).toEqual({ app: 'staging-gateway' });
    expect(staging.apps.ingressGateway.namespace).toBe(prod.apps.ingressGateway.namespace);
    expect(staging.objectStorage).toEqual({ ...prod.objectStorage, lokiBucket: 'obs-canary-staging-loki', tempoBucket: 'obs-canary-staging-tempo' });
    expect(staging.grafana).toEqual(prod.grafana);
    expect(staging).not.toHaveProperty('extends');
  });

  test('the parent is not changed by what extends it', () => {
    const before = structuredClone(prod.loki);
    loadEnvironment('staging', defineEnvironments({ prod, staging: STAGING }));
    expect(prod.loki).toEqual(before);
  });

  test('an extending entry can drop what it inherits: null removes prod\'s object storage, and the result is validated', () => {
    const withoutStorage = { ...STAGING, objectStorage: null, egress: { dependencies: { objectStorage: null } }, loki: { replicas: 1 } };
    const registry = defineEnvironments({ prod, staging: withoutStorage as EnvironmentEntry });
    const staging = loadEnvironment('staging', registry);
    expect(staging).not.toHaveProperty('objectStorage');
    expect(staging.egress.dependencies).not.toHaveProperty('objectStorage');
    expect(staging.grafana).toEqual(prod.grafana);
    expect(() => loadEnvironment('staging', defineEnvironments({ prod, staging: { ...STAGING, objectStorage: null, loki: { replicas: 3 } } as EnvironmentEntry })))
      .toThrow('\'loki.replicas\' must be 1 unless \'objectStorage\' is set');
  });

  test('an environment may extend one that extends another', () => {
    const registry = defineEnvironments({
      prod,
      staging: STAGING,
      preview: { name: 'preview', extends: 'staging', apps: { meshSamplingPercent: 50 } },
    });
    const preview = loadEnvironment('preview', registry);
    expect(preview.clusterName).toBe('staging');
    expect(preview.loki.replicas).toBe(1);
    expect(preview.apps.meshSamplingPercent).toBe(50);
    expect(preview.apps.stableReplicas).toBe(1);
    expect(preview.objectStorage).toEqual(loadEnvironment('staging', registry).objectStorage);
  });

  test('keeps the order of its entries', () => {
    expect(Object.keys(defineEnvironments({ prod, staging: STAGING, local }))).toEqual(['prod', 'staging', 'local']);
  });

  test('refuses an entry whose key differs from its name, naming the entry', () => {
    const registry = defineEnvironments({ local, prod: { ...prod, name: 'local' } });
    expect(errorOf(() => loadEnvironment('prod', registry))).toBe('invalid environment "prod":\n'
      + '  - \'name\' must equal the entry\'s key "prod" (it names dist/prod/ and rollout/prod/), got "local"');
    expect(loadEnvironment('local', registry)).toBe(local);
  });

  test('refuses an extending entry whose key differs from its name', () => {
    expect(errorOf(() => defineEnvironments({ prod, staging: { ...STAGING, name: 'stage' } }).staging))
      .toBe('invalid environment "staging":\n  - \'name\' must equal the entry\'s key "staging" (it names dist/staging/ and rollout/staging/), got "stage"');
  });

  test('refuses an unknown parent, listing the known ones', () => {
    expect(errorOf(() => defineEnvironments({ local, prod, staging: { ...STAGING, extends: 'prd' } }).staging))
      .toBe('invalid environment "staging":\n  - \'extends\' must be one of "local", "prod", got "prd"');
  });

  test('refuses a parent that is an inherited property rather than an entry', () => {
    expect(errorOf(() => defineEnvironments({ prod, staging: { ...STAGING, extends: 'toString' } }).staging))
      .toBe('invalid environment "staging":\n  - \'extends\' must be one of "prod", got "toString"');
  });

  const cycles: Array<[string, Record<string, EnvironmentEntry>, string, string]> = [
    ['itself', { a: { name: 'a', extends: 'a' } }, 'a', 'invalid environment "a":\n  - \'extends\' must not form a cycle, got "a" (a → a)'],
    ['a pair', { a: { name: 'a', extends: 'b' }, b: { name: 'b', extends: 'a' } }, 'a',
      'invalid environment "b":\n  - \'extends\' must not form a cycle, got "a" (a → b → a)'],
    ['three, entered from a prod child', {
      prod, child: { name: 'child', extends: 'a' }, a: { name: 'a', extends: 'b' }, b: { name: 'b', extends: 'c' }, c: { name: 'c', extends: 'a' },
    }, 'child', 'invalid environment "c":\n  - \'extends\' must not form a cycle, got "a" (a → b → c → a)'],
  ];

  test.each(cycles)('refuses a cycle of %s, naming it', (_what, entries, read, message) => {
    expect(errorOf(() => loadEnvironment(read, defineEnvironments(entries)))).toBe(message);
  });

  test('a broken entry fails where it is read, not where the registry is defined', () => {
    const registry = defineEnvironments({ prod, a: { name: 'a', extends: 'a' } });
    expect(Object.keys(registry)).toEqual(['prod', 'a']);
    expect(loadEnvironment('prod', registry)).toBe(prod);
    expect(() => registry.a).toThrow(ConfigError);
  });

  test('validates the merged result: the error names the environment and the field', () => {
    const registry = defineEnvironments({ local, staging: { name: 'staging', extends: 'local', loki: { replicas: 3 } } });
    expect(errorOf(() => loadEnvironment('staging', registry))).toBe('invalid environment "staging":\n'
      + '  - \'loki.replicas\' must be 1 unless \'objectStorage\' is set (replicas cannot share a filesystem), got 3');
  });

  describe('what the type checker would say, where synth runs without it', () => {
    const invalid = (entry: object): string => errorOf(() => loadEnvironment('staging', defineEnvironments({ prod, staging: entry as EnvironmentEntry })));

    test('a misspelt field, which a merge would otherwise keep and nothing read: named, with the fields known there', () => {
      expect(invalid({ ...STAGING, loki: { replicas: 1, retension: Duration.days(7) } })).toBe('invalid environment "staging":\n'
        + '  - \'loki.retension\' is not a known field of \'loki\' (known: replicas, retention, volumeSize, resources; '
        + 'a field just added to EnvironmentConfig is known once `npm run schemas` has run)');
      expect(invalid({ ...STAGING, lokii: { replicas: 1 } }))
        .toMatch(/^invalid environment "staging":\n {2}- 'lokii' is not a known field \(known: name, clusterName, .*\)$/);
    });

    test('a value of another kind: a string for a Duration, a Size or a boolean, a number as text', () => {
      expect(invalid({ ...STAGING, loki: { retention: '7d', volumeSize: '10Gi' }, objectStorage: { insecure: 'false' }, collector: { replicas: '2' } }))
        .toBe(['invalid environment "staging":',
          '  - \'objectStorage.insecure\' must be a boolean, got "false"',
          '  - \'loki.retention\' must be a Duration, such as Duration.days(15), got "7d"',
          '  - \'loki.volumeSize\' must be a Size, such as Size.gibibytes(10), got "10Gi"',
          '  - \'collector.replicas\' must be a number, got "2"',
        ].join('\n'));
    });

    test('null inside an object the merge takes whole is a field left out, as the type allows: valid', () => {
      const auth = { token: { name: 'prometheus', key: 'token' }, headers: null };
      expect(loadEnvironment('staging', defineEnvironments({ prod, staging: { ...STAGING, delivery: { prometheusAuth: auth } } as EnvironmentEntry }))
        .delivery.prometheusAuth).toEqual({ token: { name: 'prometheus', key: 'token' } });
    });

    test('a whole section removed, which the checks cannot read past: named as required', () => {
      expect(invalid({ ...STAGING, tempo: null })).toBe('invalid environment "staging":\n  - \'tempo\' is required');
    });

    test('a kind no variant has: the kinds there are', () => {
      expect(invalid({ ...STAGING, objectStorage: { kind: 'minio' } })).toContain('\'objectStorage.kind\' must be one of "s3", "gcs", "azure", got "minio"');
    });
  });

  test('an object added where the parent has none must be complete: each missing field is named', () => {
    const registry = defineEnvironments({
      local,
      minio: { name: 'minio', extends: 'local', objectStorage: { endpoint: 'minio.minio:9000', lokiBucket: 'loki' }, grafana: { databaseUrl: { name: 'db' } } },
    });
    expect(errorOf(() => loadEnvironment('minio', registry))).toBe([
      'invalid environment "minio":',
      '  - \'objectStorage.region\' must be a non-empty string without leading or trailing spaces, got undefined',
      '  - \'objectStorage.insecure\' must be true or false, got undefined',
      '  - \'objectStorage.forcePathStyle\' must be true or false, got undefined',
      '  - \'objectStorage.credentials\' must be { kind: \'secret\', accessKeyId, secretAccessKey } or { kind: \'workloadIdentity\', provider, '
        + 'serviceAccountAnnotations?, podLabels? }, got undefined',
      '  - \'objectStorage.tempoBucket\' must be an S3 bucket name (3 to 63 lower-case letters, digits, "." and "-"), got undefined',
      '  - \'grafana.databaseUrl.key\' must be a Secret key (letters, digits, "-", "_" and "."), got undefined',
      '  - \'egress.dependencies.grafanaDatabase\' must be { cidrs, ports } or { via: <proxy> } for Grafana\'s database, because '
        + '\'grafana.databaseUrl\' is set, got undefined',
      '  - \'egress.dependencies.objectStorage\' must be { cidrs, ports } or { via: <proxy> } for object storage, because \'objectStorage\' is set, '
        + 'got undefined',
    ].join('\n'));
  });
});
