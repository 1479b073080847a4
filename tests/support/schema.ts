import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import { K8sObject } from './manifest';

/**
 * Run-time schema validation of rendered objects against published schemas:
 * - core kinds with `kubernetes-models` (generated from the Kubernetes OpenAPI: types, enums, required fields);
 * - CRD kinds with the CRD's own OpenAPI schema from imports/schemas/ (written by `npm run import`), made strict:
 *   a field the CRD does not declare is an error here, where the API server would silently prune it.
 *
 * Unknown fields in core kinds are caught at compile time instead: every object is built from a typed class.
 */

const schemaDir = path.join(__dirname, '..', '..', 'imports', 'schemas');
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const crdValidators = new Map<string, ValidateFunction>();

/** Adds `additionalProperties: false` wherever a schema lists properties and does not allow unknown ones. */
export function strictify(schema: any): any {
  if (Array.isArray(schema)) return schema.map(strictify);
  if (!schema || typeof schema !== 'object') return schema;
  const out: any = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === 'properties'
      ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, strictify(v)]))
      : strictify(value);
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

function crdValidator(apiVersion: string, kind: string): ValidateFunction | undefined {
  const [group, version] = apiVersion.split('/');
  const file = path.join(schemaDir, `${group}_${version}_${kind}.json`);
  if (!crdValidators.has(file)) {
    if (!fs.existsSync(file)) return undefined;
    const schema = strictify(JSON.parse(fs.readFileSync(file, 'utf8')));
    // metadata is the API server's business: check it loosely, like the API server's CRD handling does
    schema.properties = { ...schema.properties, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
    crdValidators.set(file, ajv.compile(schema));
  }
  return crdValidators.get(file);
}

function coreModel(apiVersion: string, kind: string): (new (data: unknown) => { validate(): void }) | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`kubernetes-models/${group ? `${group}/` : ''}${version}`);
    return mod[kind];
  } catch {
    return undefined;
  }
}

/**
 * Validates one object.
 *
 * @returns the problems found, empty when it is valid
 */
export function schemaErrors(obj: K8sObject): string[] {
  if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) return ['apiVersion, kind and metadata.name are required'];
  const crd = crdValidator(obj.apiVersion, obj.kind);
  if (crd) {
    return crd(obj) ? [] : (crd.errors ?? []).map(e => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? `: ${e.params.additionalProperty}` : ''}`);
  }
  const Model = coreModel(obj.apiVersion, obj.kind);
  if (!Model) return [`no schema known for ${obj.apiVersion} ${obj.kind}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}
