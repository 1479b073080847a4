import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { typeShape } from '../../lib/private/type-shape';

/** A folder with a tsconfig.json and `types.ts` holding `source`. */
function project(source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'type-shape-'));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, types: [], lib: ['ES2022'], noEmit: true } }));
  fs.writeFileSync(path.join(dir, 'types.ts'), source);
  return dir;
}

describe('typeShape', () => {
  const dir = project(`
    export interface Settings {
      readonly name: string;
      readonly replicas?: number;
      readonly maybe: string | undefined;
      readonly mode: 'a' | 'b';
      readonly on: boolean;
      readonly labels: Readonly<Record<string, string>>;
      readonly ports: readonly number[];
      readonly store: { readonly kind: 's3'; readonly bucket: string } | { readonly kind: 'gcs' };
    }
    export interface WithTuple { readonly pair: [string, number] }
    export interface WithDate { readonly at: Date }
    export interface Branded { readonly id: string & { readonly brand: 'id' } }
  `);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('reads fields, optional ones (x?: T and x: T | undefined), literals, records, lists and unions', () => {
    const str = { kind: 'string' };
    expect(typeShape(dir, 'types.ts', 'Settings')).toEqual({
      kind: 'object',
      fields: {
        name: { shape: str, optional: false },
        replicas: { shape: { kind: 'number' }, optional: true },
        maybe: { shape: str, optional: true },
        mode: { shape: { kind: 'literal', values: ['a', 'b'] }, optional: false },
        on: { shape: { kind: 'boolean' }, optional: false },
        labels: { shape: { kind: 'record', of: str }, optional: false },
        ports: { shape: { kind: 'array', of: { kind: 'number' } }, optional: false },
        store: {
          optional: false,
          shape: {
            kind: 'union',
            of: [
              { kind: 'object', fields: { kind: { shape: { kind: 'literal', values: ['s3'] }, optional: false }, bucket: { shape: str, optional: false } } },
              { kind: 'object', fields: { kind: { shape: { kind: 'literal', values: ['gcs'] }, optional: false } } },
            ],
          },
        },
      },
    });
  });

  test.each([
    ['WithTuple', /^WithTuple\.pair: a tuple \(\[string, number\]\) has no shape/],
    ['WithDate', /^WithDate\.at: an object with methods \(Date\) has no shape/],
    ['Branded', /^Branded\.id: an intersection .* has no shape/],
  ])('%s: a type it cannot say exactly is an error, not a looser shape', (name, message) => {
    expect(() => typeShape(dir, 'types.ts', name)).toThrow(message);
  });

  test('a file that does not compile (an import that does not resolve would read as any) is an error', () => {
    const broken = project('import { Missing } from \'./missing\';\nexport interface Settings { readonly x: Missing }\n');
    try {
      expect(() => typeShape(broken, 'types.ts', 'Settings')).toThrow(/^types\.ts does not compile:\n {2}Cannot find module '\.\/missing'/);
    } finally {
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });
});
