import { parseCommand, prometheusUrlOf } from '../../lib/delivery/args';
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

  test('advance with every flag; overrides only for the flags given', () => {
    expect(parseCommand(['advance', '--service', 'backend', '--env', 'prod', '--prometheus-url', 'http://p:9090', '--window', '2m', '--min-requests', '0',
      '--settle', '0s', '--timeout', '1500ms', '--dry-run', '--json', '--commit'])).toEqual({
      verb: 'advance', env: 'prod', json: true, dryRun: true, commit: true, service: 'backend', prometheusUrl: 'http://p:9090',
      overrides: { window: '2m', minRequests: 0, settle: '0s', queryTimeout: '1500ms' },
    });
    expect(parseCommand(['advance', '--service', 'gateway'])).toEqual({ verb: 'advance', env: 'local', json: false, dryRun: false, commit: false, service: 'gateway', overrides: {} });
  });

  test('promote and rollback, with an optional reason', () => {
    expect(parseCommand(['promote', '--service', 'gateway', '--commit'])).toEqual({ verb: 'promote', env: 'local', json: false, dryRun: false, commit: true, service: 'gateway' });
    expect(parseCommand(['rollback', '--service', 'backend', '--reason', 'pager'])).toMatchObject({ verb: 'rollback', service: 'backend', reason: 'pager' });
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
    [['constructor'], 'unknown verb "constructor"'],
    [['advance'], 'advance needs --service (gateway or backend)'],
    [['promote', '--image', 'x:1', '--service', 'gateway'], '--image does not apply to promote'],
    [['start', '--service', 'gateway', '--image', 'x:1', '--window', '5m'], '--window does not apply to start'],
    [['rollback', '--service', 'gateway', '--prometheus-url', 'http://p'], '--prometheus-url does not apply to rollback'],
    [['advance', '--service', 'gateway', '--reason', 'x'], '--reason does not apply to advance'],
    [['advance', '--service', 'gateway', '--window', 'soon'], '--window must be a duration such as 30s, 5m or 1h30m, got "soon"'],
    [['advance', '--service', 'gateway', '--window', '0s'], '--window must be longer than 0, got "0s"'],
    [['advance', '--service', 'gateway', '--timeout', '0m'], '--timeout must be longer than 0, got "0m"'],
    [['advance', '--service', 'gateway', '--settle=-1m'], '--settle must be a duration such as 30s, 5m or 1h30m, got "-1m"'],
    [['advance', '--service', 'gateway', '--min-requests', '1.5'], '--min-requests must be a whole number of requests (0 or more), got "1.5"'],
    [['advance', '--service', 'gateway', '--prometheus-url', 'prometheus:9090'], '--prometheus-url must be an http or https URL such as http://prometheus:9090, got "prometheus:9090"'],
  ])('%j fails: %s', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
    expect(() => parseCommand(argv)).toThrow(message);
  });
});

describe('prometheusUrlOf', () => {
  test('the flag, else PROMETHEUS_URL', () => {
    expect(prometheusUrlOf('http://flag:9090', 'http://env:9090')).toBe('http://flag:9090');
    expect(prometheusUrlOf(undefined, 'https://env/prometheus')).toBe('https://env/prometheus');
  });

  test.each([
    [undefined, undefined, 'advance needs --prometheus-url URL or the PROMETHEUS_URL environment variable'],
    [undefined, 'ftp://x', 'PROMETHEUS_URL must be an http or https URL such as http://prometheus:9090, got "ftp://x"'],
    ['not a url', undefined, '--prometheus-url must be an http or https URL such as http://prometheus:9090, got "not a url"'],
  ])('fails for flag %j and PROMETHEUS_URL %j', (flag, env, message) => {
    expect(() => prometheusUrlOf(flag, env)).toThrow(new UsageError(message));
  });
});
