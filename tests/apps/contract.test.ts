import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ENV_DEFAULTS, IMAGE, METRICS, SERVICES, ServiceName, minTerminationGracePeriodSeconds, otelResourceAttributes,
} from '../../apps/contract';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const NAMES: ServiceName[] = ['gateway', 'backend'];

describe.each(NAMES)('%s', name => {
  const service = SERVICES[name];

  test('the entry and the OpenTelemetry bootstrap are compiled from sources that exist', () => {
    // apps/tsconfig.build.json compiles the repository-relative apps/ tree into build/
    const build = JSON.parse(read('apps/tsconfig.build.json')).compilerOptions;
    expect([build.rootDir, build.outDir]).toEqual(['..', '../build']);
    for (const compiled of [service.entry, service.otelBootstrap]) {
      const source = compiled.replace(/^\.\//, '').replace(/^build\//, '').replace(/\.js$/, '.ts');
      expect(fs.existsSync(path.join(ROOT, source))).toBe(true);
    }
  });

  test('the Dockerfile runs the contract command from the contract working directory as uid 1000 on the pinned Node.js, without dev or optional packages', () => {
    const dockerfile = read(`apps/${name}/Dockerfile`);
    expect(dockerfile).toContain(`CMD ${JSON.stringify(service.command).replace(/","/g, '", "')}`);
    expect(dockerfile).toContain(`WORKDIR ${IMAGE.workingDir}`);
    expect(dockerfile).toContain(`EXPOSE ${service.defaultPort}`);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev --omit=optional/);
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map(m => m[1]);
    expect(bases.length).toBeGreaterThanOrEqual(2);
    for (const base of bases) expect(base).toBe(`node:${read('.nvmrc').trim()}-bookworm-slim`);
  });

  test('the npm start script preloads the bootstrap before the entry', () => {
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    expect(scripts[service.npmScript]).toBe(`node --require ./tools/ts-hook.cjs --require ./apps/${name}/src/otel.ts apps/${name}/src/main.ts`);
  });
});

test('default ports: gateway 8080, backend 8081', () => {
  expect([SERVICES.gateway.defaultPort, SERVICES.backend.defaultPort]).toEqual([8080, 8081]);
  expect(ENV_DEFAULTS.backendUrl).toBe(`http://localhost:${SERVICES.backend.defaultPort}`);
});

test('the histogram buckets ascend and include the SLO latency threshold', () => {
  expect([...METRICS.buckets].sort((a, b) => a - b)).toEqual([...METRICS.buckets]);
  expect(METRICS.buckets).toContain(METRICS.sloLatencySeconds);
});

test('the shutdown budget fits the Kubernetes default grace period', () => {
  expect(minTerminationGracePeriodSeconds()).toBe(22);
  expect(minTerminationGracePeriodSeconds(0)).toBe(17);
  expect(minTerminationGracePeriodSeconds()).toBeLessThanOrEqual(30);
});

test('otelResourceAttributes references the downward-API variables', () => {
  expect(otelResourceAttributes({ serviceVersion: '1.4.2', environment: 'prod' })).toBe(
    'service.version=1.4.2,deployment.environment=prod,k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),k8s.node.name=$(NODE_NAME)');
});

test('otelResourceAttributes fails on a value that would break the list', () => {
  expect(() => otelResourceAttributes({ serviceVersion: '1.0,evil=1', environment: 'prod' }))
    .toThrow('serviceVersion must be a non-empty value without spaces, commas or \'=\', got "1.0,evil=1"');
});

test('the contract module has no imports, so that synth stays cheap', () => {
  expect(read('apps/contract.ts')).not.toMatch(/^\s*import\s/m);
});
