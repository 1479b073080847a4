import { parseCommand } from '../../lib/delivery/args';
import { UsageError } from '../../lib/delivery/plan';

describe('parseCommand', () => {
  test('status with defaults', () => {
    expect(parseCommand(['status'])).toEqual({ verb: 'status', env: 'local', json: false });
    expect(parseCommand(['status', '--service', 'backend', '--env', 'prod', '--json'])).toEqual({ verb: 'status', env: 'prod', json: true, service: 'backend' });
  });

  test('start with every flag', () => {
    expect(parseCommand(['start', '--service', 'gateway', '--image', 'r/g:2', '--dry-run', '--commit', '--json']))
      .toEqual({ verb: 'start', env: 'local', json: true, service: 'gateway', image: 'r/g:2', dryRun: true, commit: true });
  });

  test('help', () => {
    expect(parseCommand([])).toEqual({ verb: 'help' });
    expect(parseCommand(['--help'])).toEqual({ verb: 'help' });
  });

  test.each([
    [['frob'], 'unknown verb "frob"'],
    [['status', '--env', 'staging'], '--env must be one of local, prod, got "staging"'],
    [['status', '--service', 'frontend'], '--service must be one of gateway, backend, got "frontend"'],
    [['status', '--image', 'x:1'], '--image does not apply to status'],
    [['start', '--image', 'x:1'], 'start needs --service (gateway or backend)'],
    [['start', '--service', 'gateway'], 'start needs --image'],
    [['start', '--service', 'gateway', '--image', 'x:1', 'extra'], 'unexpected argument "extra"'],
    [['status', '--bogus'], "Unknown option '--bogus'"],
  ])('%j fails: %s', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
    expect(() => parseCommand(argv)).toThrow(message);
  });
});
