// eslint-disable-next-line @typescript-eslint/no-require-imports
const { inFlight } = require('../../scripts/canary-in-flight.cjs') as { inFlight(text: string): boolean };

/** The dependency-free reading of a state file's `canary` that lets the promote workflow skip npm ci. */
describe('canary-in-flight: is a canary in flight', () => {
  test.each([
    ['null', 'service: a\ncanary: null\nsteps: [10]\n', false],
    ['~', 'service: a\ncanary: ~\n', false],
    ['null with a comment', 'canary: null # none\n', false],
    ['an empty value before the next key', 'canary:\nsteps: [10]\n', false],
    ['an empty value at the end', 'service: a\ncanary:\n', false],
    ['a block mapping', 'service: a\ncanary:\n  image: x:2\n  weight: 10\n', true],
    ['a block mapping after a comment line', 'canary:\n  # the release\n  image: x:2\n', true],
    ['a flow mapping', 'canary: { image: x:2, weight: 10 }\n', true],
    ['no canary key (unsure: the gate reads it properly)', 'service: a\n', true],
    ['CRLF line ends', 'service: a\r\ncanary: null\r\n', false],
  ])('%s', (_, text, expected) => {
    expect(inFlight(text)).toBe(expected);
  });
});
