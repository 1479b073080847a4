import { AlloyExpression, AlloyValue, attr, attrs, block, quote, renderAlloy } from '../../lib/private/alloy-syntax';

const ref = AlloyExpression.ref;
const call = AlloyExpression.call;

describe('quote', () => {
  test.each([
    ['plain', 'hello', '"hello"'],
    ['empty', '', '""'],
    ['a double quote', 'say "hi"', '"say \\"hi\\""'],
    ['a backslash', 'C:\\dir', '"C:\\\\dir"'],
    ['a regex with escapes', '^\\d+\\.\\d+$', '"^\\\\d+\\\\.\\\\d+$"'],
    ['a newline', 'a\nb', '"a\\nb"'],
    ['a carriage return', 'a\rb', '"a\\rb"'],
    ['a tab', 'a\tb', '"a\\tb"'],
    ['another control character', 'a\u0007b\u001bc', '"a\\u0007b\\u001bc"'],
    ['DEL and C1 controls', '\u007f\u0085', '"\\u007f\\u0085"'],
    ['unicode, kept as is', 'café ☕ 𝄞 日本', '"café ☕ 𝄞 日本"'],
    ['a Go template', '{{ if .Value }}{{ .Value }}{{ end }}', '"{{ if .Value }}{{ .Value }}{{ end }}"'],
  ])('%s', (_name, input, expected) => {
    expect(quote(input)).toBe(expected);
  });

  test('fails on a lone surrogate, which is no Unicode character', () => {
    expect(() => quote('a\ud800b')).toThrow('a string must be valid Unicode, got a lone surrogate in "a\\ud800b"');
  });
});

describe('values', () => {
  const one = (value: AlloyValue) => renderAlloy([attr('x', value)]);

  test.each<[string, AlloyValue, string]>([
    ['a string', 'v', 'x = "v"\n'],
    ['an integer', 10, 'x = 10\n'],
    ['a fraction', 0.25, 'x = 0.25\n'],
    ['a negative number', -3, 'x = -3\n'],
    ['true', true, 'x = true\n'],
    ['false', false, 'x = false\n'],
    ['null', null, 'x = null\n'],
    ['an empty array', [], 'x = []\n'],
    ['an array of scalars, on one line', ['a', 1, true, null], 'x = ["a", 1, true, null]\n'],
    ['an empty object', {}, 'x = {}\n'],
    ['an object, one entry a line, in insertion order', { b: 'b', a: 1 }, 'x = {\n  b = "b",\n  a = 1,\n}\n'],
    ['an object key that is no identifier, quoted', { 'app.kubernetes.io/name': 'x' }, 'x = {\n  "app.kubernetes.io/name" = "x",\n}\n'],
    ['an array of objects', [{ a: 'b' }, {}], 'x = [\n  {\n    a = "b",\n  },\n  {},\n]\n'],
    ['nested objects', { outer: { inner: [1, 2] } }, 'x = {\n  outer = {\n    inner = [1, 2],\n  },\n}\n'],
    ['a reference, unquoted', ref('discovery.relabel.pods.output'), 'x = discovery.relabel.pods.output\n'],
    ['an array of references', [ref('loki.write.default.receiver')], 'x = [loki.write.default.receiver]\n'],
    ['a function call', call('sys.env', 'HOSTNAME'), 'x = sys.env("HOSTNAME")\n'],
    ['a call of no arguments', call('constants.hostname'), 'x = constants.hostname()\n'],
    ['a concatenation', AlloyExpression.concat('spec.nodeName=', call('sys.env', 'HOSTNAME')), 'x = "spec.nodeName=" + sys.env("HOSTNAME")\n'],
  ])('%s', (_name, value, expected) => {
    expect(one(value)).toBe(expected);
  });

  test.each([NaN, Infinity, -Infinity])('fails on the number %s', n => {
    expect(() => one(n)).toThrow(`a number must be finite, got ${n}`);
  });

  test('fails on a reference or a function whose part is no identifier', () => {
    expect(() => ref('loki.write.my-writer.receiver')).toThrow('each part of a reference must be an identifier (letters, digits and underscores, not starting with a digit), got "my-writer"');
    expect(() => ref('loki..write')).toThrow('got ""');
    expect(() => call('sys env')).toThrow('each part of a function must be an identifier');
  });

  test('fails on a concatenation of fewer than two parts, or of an array', () => {
    expect(() => AlloyExpression.concat('a')).toThrow('a concatenation needs at least two parts, got 1');
    expect(() => call('f', ['a'] as unknown as string)).toThrow('an argument must be a scalar or an expression, got ["a"]');
  });
});

describe('blocks', () => {
  test('a labelled component with attributes and a nested block', () => {
    expect(renderAlloy([block('loki.write', 'default', [block('endpoint', undefined, [attr('url', 'http://loki:3100/loki/api/v1/push')])])])).toBe([
      'loki.write "default" {',
      '  endpoint {',
      '    url = "http://loki:3100/loki/api/v1/push"',
      '  }',
      '}',
      '',
    ].join('\n'));
  });

  test('repeated blocks keep their order, attributes keep theirs; top-level blocks are separated by a blank line', () => {
    const text = renderAlloy([
      block('discovery.relabel', 'pods', [
        attr('targets', ref('discovery.kubernetes.pods.targets')),
        block('rule', undefined, attrs({ source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' })),
        block('rule', undefined, attrs({ source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod', regex: undefined })),
      ]),
      block('logging', undefined, attrs({ level: 'info' })),
    ]);
    expect(text).toBe([
      'discovery.relabel "pods" {',
      '  targets = discovery.kubernetes.pods.targets',
      '  rule {',
      '    source_labels = ["__meta_kubernetes_namespace"]',
      '    target_label = "namespace"',
      '  }',
      '  rule {',
      '    source_labels = ["__meta_kubernetes_pod_name"]',
      '    target_label = "pod"',
      '  }',
      '}',
      '',
      'logging {',
      '  level = "info"',
      '}',
      '',
    ].join('\n'));
  });

  test('an empty block', () => {
    expect(renderAlloy([block('loki.process', 'x', [block('stage.cri', undefined)])])).toBe('loki.process "x" {\n  stage.cri {}\n}\n');
  });

  test('objects inside blocks indent with the block', () => {
    expect(renderAlloy([block('stage.labels', undefined, [attr('values', { level: 'level' })])])).toBe('stage.labels {\n  values = {\n    level = "level",\n  }\n}\n');
  });

  test.each([
    ['an attribute name with a hyphen', () => attr('max-streams', 1), 'attribute name must be an identifier (letters, digits and underscores, not starting with a digit), got "max-streams"'],
    ['an attribute name starting with a digit', () => attr('1st', 1), 'got "1st"'],
    ['a dotted attribute name', () => attr('a.b', 1), 'got "a.b"'],
    ['an empty attribute name', () => attr('', 1), 'got ""'],
    ['a block name with a space', () => block('loki write', 'x'), 'each part of a block name must be an identifier'],
    ['a block name ending in a dot', () => block('loki.', 'x'), 'each part of a block name must be an identifier'],
    ['a label with a hyphen', () => block('loki.write', 'my-loki'), 'block label must be an identifier (letters, digits and underscores, not starting with a digit), got "my-loki"'],
    ['an attribute of attrs()', () => attrs({ 'a b': 1 }), 'got "a b"'],
  ])('fails on %s', (_name, build, message) => {
    expect(build).toThrow(message);
  });

  test('accepts unicode letters and underscores in identifiers', () => {
    expect(renderAlloy([block('_comp.métrica_2', 'café', [attr('_x1', 1)])])).toBe('_comp.métrica_2 "café" {\n  _x1 = 1\n}\n');
  });
});
