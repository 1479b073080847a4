import { Duration, Size } from 'cdk8s';
import { Shape, shapeProblems as problemsOf } from '../../lib/private/shape';

/** The messages of what is wrong. */
const shapeProblems = (value: unknown, shape: Shape): string[] => problemsOf(value, shape).map(p => p.message);

const SECRET_REF: Shape = { kind: 'object', fields: { name: { shape: { kind: 'string' }, optional: false }, key: { shape: { kind: 'string' }, optional: false } } };
const SHAPE: Shape = {
  kind: 'object',
  fields: {
    ttl: { shape: { kind: 'duration' }, optional: false },
    size: { shape: { kind: 'size' }, optional: true },
    mode: { shape: { kind: 'literal', values: ['a', 'b'] }, optional: true },
    labels: { shape: { kind: 'record', of: { kind: 'string' } }, optional: true },
    ports: { shape: { kind: 'array', of: { kind: 'number' } }, optional: true },
    storage: {
      optional: true,
      shape: {
        kind: 'union',
        of: [
          { kind: 'object', fields: { kind: { shape: { kind: 'literal', values: ['s3'] }, optional: true }, region: { shape: { kind: 'string' }, optional: false } } },
          { kind: 'object', fields: { kind: { shape: { kind: 'literal', values: ['gcs'] }, optional: false }, secret: { shape: SECRET_REF, optional: false } } },
        ],
      },
    },
  },
};

describe('shapeProblems', () => {
  test('a value of the shape has none', () => {
    expect(shapeProblems({
      ttl: Duration.hours(1), size: Size.gibibytes(1), mode: 'b', labels: { app: 'x' }, ports: [1, 2], storage: { region: 'eu' },
    }, SHAPE)).toEqual([]);
    expect(shapeProblems({ ttl: Duration.hours(1), storage: { kind: 'gcs', secret: { name: 'n', key: 'k' } } }, SHAPE)).toEqual([]);
  });

  test('each problem names the field by its path, the value and what is allowed', () => {
    expect(shapeProblems({ ttl: '1h', size: 1024, mode: 'c', labels: { app: 1 }, ports: [80, '443'], extra: true }, SHAPE)).toEqual([
      '\'extra\' is not a known field (known: ttl, size, mode, labels, ports, storage)',
      '\'ttl\' must be a Duration, such as Duration.days(15), got "1h"',
      '\'size\' must be a Size, such as Size.gibibytes(10), got 1024',
      '\'mode\' must be one of "a", "b", got "c"',
      '\'labels.app\' must be a string, got 1',
      '\'ports[1]\' must be a number, got "443"',
    ]);
    expect(shapeProblems({}, SHAPE)).toEqual(['\'ttl\' is required']);
    expect(shapeProblems([], SHAPE)).toEqual([expect.stringMatching(/^'the value' must be an object with the fields ttl, size, .*, got \[\]$/)]);
  });

  test('a union told apart by kind: the variant its kind names, the one without a kind by default, or the kinds there are', () => {
    const base = { ttl: Duration.hours(1) };
    expect(shapeProblems({ ...base, storage: { kind: 'gcs', region: 'eu' } }, SHAPE)).toEqual([
      '\'storage.region\' is not a known field of \'storage\' (known: kind, secret)', '\'storage.secret\' is required',
    ]);
    expect(shapeProblems({ ...base, storage: { secret: { name: 'n', key: 'k' } } }, SHAPE)).toEqual([
      '\'storage.secret\' is not a known field of \'storage\' (known: kind, region)', '\'storage.region\' is required',
    ]);
    expect(shapeProblems({ ...base, storage: { kind: 'azure' } }, SHAPE)).toEqual(['\'storage.kind\' must be one of "s3", "gcs", got "azure"']);
  });

  test('each problem says what it is: a field unknown, one required and missing, a value of another kind, or one not allowed', () => {
    const problems = problemsOf({ ttl: 5, mode: 'c', extra: 1, storage: { kind: 'azure' } }, SHAPE, '', { unknownHint: 'run the generator' });
    expect(problems.map(p => [p.field, p.problem])).toEqual([['extra', 'unknown'], ['ttl', 'kind'], ['mode', 'value'], ['storage.kind', 'value']]);
    expect(problems[0].message).toBe('\'extra\' is not a known field (known: ttl, size, mode, labels, ports, storage; run the generator)');
    expect(problemsOf({}, SHAPE).map(p => [p.field, p.problem])).toEqual([['ttl', 'required']]);
  });

  test('a union whose members are not all told apart by a literal kind: the member it fits best, no list of kinds', () => {
    const loose: Shape = { kind: 'union', of: [
      { kind: 'object', fields: { kind: { shape: { kind: 'literal', values: ['a'] }, optional: false } } },
      { kind: 'object', fields: { kind: { shape: { kind: 'string' }, optional: false }, x: { shape: { kind: 'number' }, optional: false } } },
    ] };
    expect(shapeProblems({ kind: 'b', x: 1 }, loose)).toEqual([]);
    // as near to one as to the other: the first
    expect(shapeProblems({ kind: 'b' }, loose)).toEqual(['\'kind\' must be one of "a", got "b"']);
    expect(shapeProblems({ kind: 'b', x: 'one' }, loose)).toEqual(['\'x\' must be a number, got "one"']);
  });
});
