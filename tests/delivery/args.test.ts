import { ENVIRONMENT_NAMES } from '../../lib/config/environments';
import { parseCommand, prometheusUrlOf, smokeUrlOf } from '../../lib/delivery/args';
import { UsageError } from '../../lib/delivery/plan';

describe('parseCommand', () => {
  test('a value that starts with - is taken in the --name=value form (the workflows pass inputs so); after a space it is refused', () => {
    expect(parseCommand(['rollback', '--service=gateway', '--reason=- 5xx spike after the step'])).toMatchObject({ service: 'gateway', reason: '- 5xx spike after the step' });
    expect(() => parseCommand(['rollback', '--service', 'gateway', '--reason', '- 5xx spike'])).toThrow(UsageError);
  });

  test('status with defaults', () => {
    expect(parseCommand(['status'])).toEqual({ verb: 'status', env: 'local', json: false });
    expect(parseCommand(['status', '--service', 'backend', '--env', 'prod', '--json'])).toEqual({ verb: 'status', env: 'prod', json: true, service: 'backend' });
  });

  test('any service a file could name: which exist is the shell\'s to check', () => {
    expect(parseCommand(['status', '--service', 'ledger'])).toEqual({ verb: 'status', env: 'local', json: false, service: 'ledger' });
    expect(parseCommand(['promote', '--service', 'payments-api-2'])).toMatchObject({ verb: 'promote', service: 'payments-api-2' });
  });

  test('init: every environment unless --env names one', () => {
    expect(parseCommand(['init', '--service', 'ledger', '--image', 'r/ledger:1'])).toEqual({
      verb: 'init', service: 'ledger', image: 'r/ledger:1', envs: ENVIRONMENT_NAMES, json: false, dryRun: false, commit: false,
    });
    expect(parseCommand(['init', '--service', 'ledger', '--image', 'r/ledger:1', '--env', 'prod', '--dry-run', '--json', '--commit'])).toEqual({
      verb: 'init', service: 'ledger', image: 'r/ledger:1', envs: ['prod'], json: true, dryRun: true, commit: true,
    });
  });

  test('start with every flag', () => {
    expect(parseCommand(['start', '--service', 'gateway', '--image', 'r/g:2', '--dry-run', '--commit', '--json']))
      .toEqual({ verb: 'start', env: 'local', json: true, service: 'gateway', image: 'r/g:2', dryRun: true, commit: true });
  });

  test('start without --image (a configuration release), and --ungated', () => {
    expect(parseCommand(['start', '--service', 'gateway'])).toEqual({ verb: 'start', env: 'local', json: false, service: 'gateway', dryRun: false, commit: false });
    expect(parseCommand(['start', '--service', 'gateway', '--ungated'])).toMatchObject({ verb: 'start', service: 'gateway', ungated: true });
    expect(() => parseCommand(['promote', '--service', 'gateway', '--ungated'])).toThrow('--ungated does not apply to promote');
  });

  test('advance with every flag; overrides only for the flags given', () => {
    expect(parseCommand(['advance', '--service', 'backend', '--env', 'prod', '--prometheus-url', 'http://p:9090', '--window', '2m', '--min-requests', '0',
      '--settle', '0s', '--timeout', '1500ms', '--dry-run', '--json', '--commit'])).toEqual({
      verb: 'advance', env: 'prod', json: true, dryRun: true, commit: true, service: 'backend', prometheusUrl: 'http://p:9090', all: false, scheduled: false,
      overrides: { window: '2m', minRequests: 0, settle: '0s', queryTimeout: '1500ms' },
    });
    expect(parseCommand(['advance', '--service', 'gateway'])).toEqual({
      verb: 'advance', env: 'local', json: false, dryRun: false, commit: false, service: 'gateway', overrides: {}, all: false, scheduled: false,
    });
    expect(parseCommand(['advance', '--all', '--scheduled', '--commit', '--push'])).toMatchObject({ verb: 'advance', all: true, scheduled: true, push: true });
  });

  test.each([
    [['advance'], 'advance needs --service S (a service with a file under services/) or --all, one of them'],
    [['advance', '--all', '--service', 'gateway'], 'advance needs --service S (a service with a file under services/) or --all, one of them'],
    [['advance', '--service', 'gateway', '--push'], '--push pushes the commit of --commit: give both'],
    [['advance', '--service', 'gateway', '--scheduled'], '--scheduled goes with --all'],
    [['status', '--push'], '--push does not apply to status'],
  ])('%j is refused', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(message);
  });

  test('promote and rollback, with an optional reason', () => {
    expect(parseCommand(['promote', '--service', 'gateway', '--commit'])).toEqual({ verb: 'promote', env: 'local', json: false, dryRun: false, commit: true, service: 'gateway' });
    expect(parseCommand(['rollback', '--service', 'backend', '--reason', 'pager'])).toMatchObject({ verb: 'rollback', service: 'backend', reason: 'pager' });
  });

  test('help: the overview, or one verb\'s help, whatever else is on the line', () => {
    expect(parseCommand(['--help'])).toEqual({ verb: 'help' });
    expect(parseCommand(['-h'])).toEqual({ verb: 'help' });
    expect(parseCommand(['help'])).toEqual({ verb: 'help' });
    expect(parseCommand(['help', 'advance'])).toEqual({ verb: 'help', topic: 'advance' });
    expect(parseCommand(['advance', '--help'])).toEqual({ verb: 'help', topic: 'advance' });
    expect(parseCommand(['start', '-h'])).toEqual({ verb: 'help', topic: 'start' });
    expect(parseCommand(['--help', 'promote'])).toEqual({ verb: 'help', topic: 'promote' });
    expect(parseCommand(['status', '--image', 'x:1', '--env', 'staging', '--help'])).toEqual({ verb: 'help', topic: 'status' });
    expect(parseCommand(['help', '--help'])).toEqual({ verb: 'help', topic: 'help' });
    expect(parseCommand(['help', 'help'])).toEqual({ verb: 'help', topic: 'help' });
  });

  test('durations Prometheus reads, zero where a duration may be zero', () => {
    expect(parseCommand(['advance', '--service', 'gateway', '--window', '5h59m1ms', '--settle', '0', '--timeout', '500ms'])).toMatchObject({
      overrides: { window: '5h59m1ms', settle: '0', queryTimeout: '500ms' },
    });
    expect(parseCommand(['advance', '--service', 'gateway', '--window', '6h', '--settle', '1h'])).toMatchObject({ overrides: { window: '6h', settle: '1h' } });
  });

  test.each([
    [[], 'missing verb, expected one of init, status, start, advance, promote, rollback, help'],
    [['--env', 'prod'], 'missing verb, expected one of init, status, start, advance, promote, rollback, help'],
    [['frob'], 'unknown verb "frob", expected one of init, status, start, advance, promote, rollback, help'],
    [['frob', '--help'], 'unknown verb "frob", expected one of init, status, start, advance, promote, rollback, help'],
    [['help', 'frob'], 'unknown verb "frob", expected one of init, status, start, advance, promote, rollback, help'],
    [['help', 'status', 'extra'], 'unexpected argument "extra"'],
    [['status', '--env', 'staging'], `--env must be one of ${ENVIRONMENT_NAMES.join(', ')}, got "staging"`],
    [['status', '--service', 'Front_End'], '--service must be a service name (lower-case letters, digits and "-", such as payments-api), got "Front_End"'],
    [['start', '--service', '../gateway', '--image', 'x:1'], '--service must be a service name'],
    [['start', '--service', '', '--image', 'x:1'], '--service must be a service name'],
    [['init', '--service', 'ledger'], 'init needs --image, the image stable runs from the start (pinned by tag or digest)'],
    [['init', '--image', 'x:1'], 'init needs --service S, a service with a file under services/ (see canary status)'],
    [['init', '--service', 'ledger', '--image', 'x:1', '--env', 'staging'], `--env must be one of ${ENVIRONMENT_NAMES.join(', ')}, got "staging"`],
    [['init', '--service', 'ledger', '--image', 'x:1', '--reason', 'x'], '--reason does not apply to init (see canary init --help)'],
    [['init', '--service', 'ledger', '--image', 'x:1', '--window', '5m'], '--window does not apply to init'],
    [['status', '--image', 'x:1'], '--image does not apply to status (see canary status --help)'],
    [['start', '--image', 'x:1'], 'start needs --service S, a service with a file under services/ (see canary status)'],
    [['start', '--service', 'gateway', '--image', 'x:1', 'extra'], 'unexpected argument "extra"'],
    [['status', '--bogus'], 'unknown flag --bogus (see canary status --help)'],
    [['constructor'], 'unknown verb "constructor"'],
    [['promote', '--image', 'x:1', '--service', 'gateway'], '--image does not apply to promote'],
    [['start', '--service', 'gateway', '--image', 'x:1', '--window', '5m'], '--window does not apply to start'],
    [['rollback', '--service', 'gateway', '--prometheus-url', 'http://p'], '--prometheus-url does not apply to rollback'],
    [['advance', '--service', 'gateway', '--reason', 'x'], '--reason does not apply to advance'],
    [['advance', '--service', 'gateway', '--window', 'soon'], '--window must be a duration such as 30s, 5m or 1h30m, got "soon": whole numbers'],
    [['advance', '--service', 'gateway', '--window', '30m1h'], '--window must be a duration such as 30s, 5m or 1h30m, got "30m1h": whole numbers'],
    [['advance', '--service', 'gateway', '--window', '5m5m'], '--window must be a duration such as 30s, 5m or 1h30m, got "5m5m"'],
    [['advance', '--service', 'gateway', '--window', '1.5h'], '--window must be a duration such as 30s, 5m or 1h30m, got "1.5h"'],
    [['advance', '--service', 'gateway', '--window', '5'], '--window must be a duration such as 30s, 5m or 1h30m, got "5"'],
    [['advance', '--service', 'gateway', '--window', '0s'], '--window must be longer than 0, got "0s"'],
    [['advance', '--service', 'gateway', '--window', '0'], '--window must be longer than 0, got "0"'],
    [['advance', '--service', 'gateway', '--timeout', '0m'], '--timeout must be longer than 0, got "0m"'],
    [['advance', '--service', 'gateway', '--timeout', '1H'], '--timeout must be a duration such as 30s, 5m or 1h30m, got "1H"'],
    [['advance', '--service', 'gateway', '--timeout', '294y'], '--timeout must be at most 292y24w3d23h47m16s854ms, the longest duration Prometheus reads, got "294y"'],
    [['advance', '--service', 'gateway', '--settle', '30d'], '--settle must be at most 1h, got "30d"'],
    [['advance', '--service', 'gateway', '--window', '1d'], '--window must be at most 6h, got "1d"'],
    [['advance', '--service', 'gateway', '--settle=-1m'], '--settle must be a duration such as 30s, 5m or 1h30m, got "-1m"'],
    [['advance', '--service', 'gateway', '--settle='], '--settle must be a duration such as 30s, 5m or 1h30m, got ""'],
    [['advance', '--service', 'gateway', '--min-requests', '1.5'], '--min-requests must be a whole number of requests (0 or more), got "1.5"'],
    [['advance', '--service', 'gateway', '--prometheus-url', 'prometheus:9090'], '--prometheus-url must be an http or https URL such as http://prometheus:9090, got "prometheus:9090"'],
    // the last would win: a wrapper that appends a flag would act elsewhere with exit 0
    [['rollback', '--service', 'gateway', '--service', 'backend'], '--service is given twice: "gateway" and "backend"; give it once'],
    [['rollback', '--service', 'gateway', '--env', 'prod', '--env=local'], '--env is given twice: "prod" and "local"; give it once'],
    [['advance', '--all', '--window', '5m', '--window=10m'], '--window is given twice: "5m" and "10m"; give it once'],
    // a URL is never quoted: it may hold credentials or a token
    [['advance', '--all', '--prometheus-url', 'https://alice:s3cr3t@p', '--prometheus-url', 'https://bob:hunter2@p'], '--prometheus-url is given twice; give it once'],
  ])('%j fails: %s', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
    expect(() => parseCommand(argv)).toThrow(message);
  });
});

describe('prometheusUrlOf', () => {
  test('the flag, else PROMETHEUS_URL', () => {
    expect(prometheusUrlOf('http://flag:9090', 'http://env:9090')).toBe('http://flag:9090');
    expect(prometheusUrlOf(undefined, 'https://env/prometheus')).toBe('https://env/prometheus');
    // credentials are allowed here: prometheusEndpointOf takes them out and sends them as a header
    expect(prometheusUrlOf(undefined, 'https://admin:hunter2@prom.example.com')).toBe('https://admin:hunter2@prom.example.com');
  });

  test.each([
    [undefined, undefined, 'advance needs --prometheus-url URL or the PROMETHEUS_URL environment variable'],
    [undefined, 'ftp://x', 'PROMETHEUS_URL must be an http or https URL such as http://prometheus:9090, got "ftp://x"'],
    ['not a url', undefined, '--prometheus-url must be an http or https URL such as http://prometheus:9090, got "not a url"'],
    ['https://prom.example.com/api?token=hunter2', undefined, '--prometheus-url must not carry a query or a fragment (it is written '
      + 'into the state history and commit messages), got "https://prom.example.com/api?[query]"; send a bearer token in PROMETHEUS_TOKEN instead'],
    ['ftp://user:hunter2@x', undefined, '--prometheus-url must be an http or https URL such as http://prometheus:9090, got "ftp://[credentials]@x"'],
  ])('fails for flag %j and PROMETHEUS_URL %j', (flag, env, message) => {
    expect(() => prometheusUrlOf(flag, env)).toThrow(new UsageError(message));
  });

  test('a secret in the URL is never echoed', () => {
    for (const url of ['https://admin:hunter2@prom/?q=1', 'http://prom:9090/?access_token=hunter2', 'http://prom:9090/#hunter2', 'http://a:hunter2@b:c:d',
      'https://gate:Xy/hunter2==@prom.example.com:x']) {
      expect(() => prometheusUrlOf(url, undefined)).toThrow(UsageError);
      expect(() => prometheusUrlOf(url, undefined)).not.toThrow(/hunter2/);
    }
  });
});

describe('smokeUrlOf', () => {
  test('the flag wins over SMOKE_BASE_URL; neither: no URL', () => {
    expect(smokeUrlOf('http://flag:8080', 'http://env:8080')).toBe('http://flag:8080');
    expect(smokeUrlOf(undefined, 'https://env/prefix')).toBe('https://env/prefix');
    expect(smokeUrlOf(undefined, undefined)).toBeUndefined();
  });

  test('a {cluster} placeholder is kept, for each cluster\'s own URL, and the rest is checked as a URL', () => {
    expect(smokeUrlOf('https://{cluster}.flights.example.com', undefined)).toBe('https://{cluster}.flights.example.com');
    expect(() => smokeUrlOf('https://{cluster}.flights.example.com/?token=x', undefined))
      .toThrow(/^--smoke-url must not carry credentials, a query or a fragment .*got "https:\/\/\{cluster\}\.flights\.example\.com\/\?\[query\]"/);
    expect(() => smokeUrlOf(undefined, 'ftp://{cluster}.example.com')).toThrow(/SMOKE_BASE_URL must be an http or https URL/);
  });
});
