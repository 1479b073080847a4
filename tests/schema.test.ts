import * as fs from 'node:fs';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { VirtualService } from '../imports/networking.istio.io';
import { testChart } from './support/chart';
import { K8sObject, everyObject, find } from './support/manifest';
import { schemaErrors, strictify } from './support/schema';

const all = everyObject();

describe('every rendered object validates against its published schema', () => {
  test('there is something to validate', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  test.each(all.map(({ env, chart, obj }) => [`${env}/${chart}/${obj.kind}/${obj.metadata.name}`, obj] as const))('%s', (_name, obj) => {
    expect(schemaErrors(obj)).toEqual([]);
  });
});

describe('the run-time schema check fails on invalid objects', () => {
  const rendered = find(all.filter(o => o.env === 'local/steady' && o.chart === 'observability').map(o => o.obj), 'Deployment', 'grafana');
  const grafana = (): K8sObject => structuredClone(rendered);

  test('a wrong type in a core kind', () => {
    const d = grafana();
    d.spec.replicas = 'two';
    expect(schemaErrors(d)).toEqual([expect.stringContaining('data/spec/replicas must be integer')]);
  });

  test('a missing required field in a core kind', () => {
    const d = grafana();
    delete d.spec.template.spec.containers[0].name;
    expect(schemaErrors(d)).toEqual(['data/spec/template/spec/containers/0 must have required property name']);
  });

  test('an unknown kind', () => {
    expect(schemaErrors({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toEqual(['no schema known for example.com/v1 Widget']);
  });

  test('an unknown field and a wrong type in a CRD kind (Istio VirtualService)', () => {
    const chart = testChart('apps');
    new VirtualService(chart, 'vs', { metadata: { name: 'gateway' }, spec: { hosts: ['gateway'], http: [{ route: [{ destination: { host: 'gateway' } }] }] } });
    const [vs] = Testing.synth(chart) as K8sObject[];
    expect(schemaErrors(vs)).toEqual([]);
    vs.spec.http[0].retries = { attemps: 3 };
    expect(schemaErrors(vs)).toEqual(['/spec/http/0/retries must NOT have additional properties: attemps']);
    vs.spec.http[0].retries = { attempts: 'three' };
    expect(schemaErrors(vs)).toEqual(['/spec/http/0/retries/attempts must be integer']);
  });

});

describe('strictify', () => {
  test('closes objects with properties, keeps open maps and preserve-unknown-fields blocks', () => {
    expect(strictify({ type: 'object', properties: { a: { type: 'object', properties: { b: {} } }, m: { type: 'object', additionalProperties: { type: 'string' } }, p: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { c: {} } } } }))
      .toEqual({
        type: 'object', additionalProperties: false, properties: {
          a: { type: 'object', additionalProperties: false, properties: { b: {} } },
          m: { type: 'object', additionalProperties: { type: 'string' } },
          p: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { c: {} } },
        },
      });
  });
});

describe('objects come only from typed classes', () => {
  const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
    .flatMap(e => e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
  const sources = files(path.join(__dirname, '..', 'lib')).map(f => ({ file: path.relative(path.join(__dirname, '..'), f), text: fs.readFileSync(f, 'utf8') }));

  test('lib/ never builds an untyped ApiObject or patches JSON (unknown fields would bypass tsc)', () => {
    const offenders = sources.filter(s => /new ApiObject\(|\bJsonPatch\b|addJsonPatch|Include\(/.test(s.text)).map(s => s.file);
    expect(offenders).toEqual([]);
  });

  test('there are sources to check', () => {
    expect(sources.map(s => s.file)).toContain('lib/constructs/prometheus.ts');
  });
});
