import { parse, parseAllDocuments } from 'yaml';
import { toYaml, toYamlDocuments } from '../../lib/private/yaml';
import { everyObject } from '../support/manifest';

const TRICKY = [
  'yes', 'No', 'on', 'OFF', 'y', 'n', 'Y', 'null', 'Null', '~', '', '-', '- a', ': ', 'a: b', '#x', 'x #y', '0755', '1e3', '.5', '2024-04-01',
  '1:30', 'true', 'False', '@x', '`x', '%x', '[x]', '{x}', '*a', '&a', '!t', '|', '>', '?', 'x:', '=', '<<', '.inf', 'NaN', '0x1f', '1_000',
  ' lead', 'trail ', 'tab\there', '"q"', "'s'", 'http://loki:3100/otlp', 'ünïcode', '\u0001', 'a\r\nb', '10Gi', '500m', '168h', '1e5', '$x',
  'a\nb', 'a\n', 'a\n\n', '\n', '\n\n', '\nx', '  \nx', 'x\n  \ny', 'x\n\ty', ' x\ny', '#!/bin/sh\necho hi\n', 'k: v\nlist:\n  - a\n',
];

describe('toYaml', () => {
  const doc = {
    list: TRICKY,
    map: Object.fromEntries(TRICKY.map((t, i) => [t === '' ? `empty${i}` : t, t])),
    nested: [[1, 2], [{ x: 1 }], [], {}, { k: [] }, [['deep']]],
    deep: { list: [{ a: 1, b: [{ c: 'x\ny\n' }] }] },
    numbers: [0, -1, 0.95, 1e21],
    other: [true, false, null],
  };

  test.each(['1.1', '1.2'] as const)('every value reads back the same with a YAML %s parser', version => {
    expect(parse(toYaml(doc), { version })).toEqual(doc);
  });

  test('plain where unambiguous, quoted where a parser could read something else, blocks for multi-line text', () => {
    expect(toYaml({ a: 'http://x:1/y', b: 'yes', c: '10Gi', d: '0755', e: 'x: y', f: 'line 1\nline 2\n', g: 3, h: [] }))
      .toBe('a: http://x:1/y\nb: "yes"\nc: 10Gi\nd: "0755"\ne: "x: y"\nf: |\n  line 1\n  line 2\ng: 3\nh: []\n');
  });

  test('lists of objects and lists of lists start on the dash line', () => {
    expect(toYaml({ a: [{ x: 1, y: 2 }, [1, 2]] })).toBe('a:\n  - x: 1\n    "y": 2\n  - - 1\n    - 2\n');
  });

  test('keys whose value is undefined are left out; infinities and functions are refused', () => {
    expect(toYaml({ a: undefined, b: 1 })).toBe('b: 1\n');
    expect(() => toYaml({ a: Infinity })).toThrow('cannot render Infinity as YAML');
    expect(() => toYaml({ a: () => 1 })).toThrow('cannot render a function as YAML');
  });

  test('documents are separated by ---', () => {
    expect(parseAllDocuments(toYamlDocuments([{ a: 1 }, { b: 2 }])).map(d => d.toJS())).toEqual([{ a: 1 }, { b: 2 }]);
  });

  test('every rendered object, and every config file inside a ConfigMap, reads back the same', () => {
    for (const { obj } of everyObject()) {
      expect(parse(toYaml(obj), { version: '1.1' })).toEqual(JSON.parse(JSON.stringify(obj)));
      if (obj.kind === 'ConfigMap') {
        for (const [key, text] of Object.entries<string>(obj.data ?? {})) {
          if (/\.ya?ml$/.test(key)) expect(parse(text, { version: '1.1' })).toEqual(parse(text, { version: '1.2' }));
        }
      }
    }
  });
});
