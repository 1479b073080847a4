import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { USAGE, Verb, helpOf } from '../../lib/delivery/args';
import { CliRun, cliIn } from '../support/cli';
import { ENVIRONMENT_NAMES } from '../../lib/config/environments';

const VERBS = 'init, status, start, advance, promote, rollback, help';
const SYNTAX_RULE = 'whole numbers, each with one of the units y, w, d, h, m, s, ms, largest first and each at most once (or 0 alone)';

/** Runs the CLI in this process, capturing what it prints; `cwd` only matters past the argument parsing. */
function cli(argv: readonly string[], cwd = os.tmpdir()): Promise<CliRun> {
  return cliIn(cwd, argv);
}

describe('canary without a verb, and the overview', () => {
  test('no verb exits 2 and prints the overview to stderr', async () => {
    const result = await cli([]);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `canary: missing verb, expected one of ${VERBS}\n\n${USAGE}\n` });
  });

  test('flags without a verb exit 2 too', async () => {
    expect((await cli(['--env', 'prod'])).code).toBe(2);
    expect(JSON.parse((await cli(['--json'])).stdout).error).toEqual({ code: 'usage', message: `missing verb, expected one of ${VERBS}\n\n${USAGE}` });
  });

  test('run outside a checkout: exit 2 (where it runs is the caller\'s to fix), saying so, not an unexpected failure', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'not-a-checkout-'));
    try {
      const result = await cli(['status', '--json'], outside);
      expect([result.code, JSON.parse(result.stdout).error]).toEqual([2, { code: 'usage', message: `no cdk8s.yaml at or above ${outside}; run this from the repository` }]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test.each([[['help']], [['--help']], [['-h']]])('%j prints the overview and exits 0', async argv => {
    expect(await cli(argv)).toEqual({ code: 0, stdout: `${USAGE}\n`, stderr: '' });
  });

  test('the overview has every verb\'s synopsis and summary, every flag, the duration rule and the exit codes', () => {
    for (const line of [
      '  init --service S --image IMAGE [--env E] [--dry-run] [--json] [--commit] [--push]\n      onboard a service: ',
      '  status [--service S] [--env E] [--json]',
      '  start --service S [--image IMAGE] [--ungated] [--env E] [--dry-run] [--json] [--commit] [--push]',
      '  --ungated              release to stable at once, no canary and no gate; the history records a promote "ungated: …"',
      '  advance [--service S] [--all] [--scheduled] [--env E] [--prometheus-url URL] [--smoke-url URL] [--window D]\n'
        + '          [--min-requests N] [--settle D] [--timeout D] [--dry-run] [--json] [--commit] [--push]\n',
      '  --push                 push the commit to the branch checked out, on origin ($CANARY_PUSH_REMOTE), only if its state\n',
      '  --all                  every service of the environment with a canary in flight, in one run: one commit, one push',
      '  promote --service S [--env E] [--reason TEXT] [--force] [--dry-run] [--json] [--commit] [--push]',
      '  rollback --service S [--env E] [--reason TEXT] [--force] [--dry-run] [--json] [--commit] [--push]',
      '  help [VERB]\n      print this overview, or the help of VERB',
      '  --timeout D            time budget of each Prometheus query, longer than 0',
      '  -h, --help             print this overview, or with a verb that verb\'s help',
      'durations (D) are written as Prometheus reads them',
      'exit codes: 0 done',
    ]) expect(USAGE).toContain(line);
    expect(USAGE.split('\n').filter(line => line.length > 120)).toEqual([]);
  });

  test('names no service: the services are the files under services/', () => {
    expect(USAGE).toContain('--service S            the service: a service with a file under services/ (services/S.yaml)');
    expect(USAGE).not.toMatch(/gateway|backend/);
  });

  test.each([[['frob']], [['frob', '--help']], [['help', 'frob']], [['constructor', '--service', 'gateway']]])('%j exits 2 listing the verbs', async argv => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`canary: unknown verb ${JSON.stringify(argv.find(a => a !== 'help'))}, expected one of ${VERBS}\n\n${USAGE}\n`);
  });
});

describe('the help of each verb', () => {
  /** What each verb's help must say, and what belongs to other verbs only. */
  const CASES: ReadonlyArray<readonly [Verb, readonly string[], readonly string[]]> = [
    ['init', [
      'usage: canary init --service S --image IMAGE [--env E] [--dry-run] [--json] [--commit] [--push]\n\nonboard a service that has a file under '
        + 'services/: write its first state file, rollout/E/S.yaml, in every environment\n(or only in E), with IMAGE as stable,',
      'Add services/S.yaml first; release new images afterwards\nwith canary start.',
      '  --service S            the service: one with a file under services/ (services/S.yaml) and no state file yet (required)',
      '  --image IMAGE          the image stable runs from the start: of the repository its service file names, pinned by tag\n'
        + '                         or digest (required)',
      `  --env E                only this environment: one of ${ENVIRONMENT_NAMES.join(', ')} (default: every environment)`,
      '  --commit               commit the state files and dist/ of each environment written as one commit; needs a clean\n'
        + '                         working tree',
      '  0  written (with --dry-run: would write; nothing changed)',
      '  2  usage or configuration error, a service without a file under services/, a state file that already exists, an image',
      '  1  unexpected failure (synth or git failed): the state files and dist/ are put back',
    ], ['--window', '--reason', '  3  ', 'durations (D)']],
    ['status', [
      'usage: canary status [--service S] [--env E] [--json]\n\nshow stable and canary of each service (or one)\n',
      '  --service S            show only this service, one with a file under services/ (default: every service)',
      `  --env E                environment: one of ${ENVIRONMENT_NAMES.join(', ')} (default local)`,
      '  --json                 print one JSON object (errors too)',
      'exit codes:\n  0  shown\n  2  usage or configuration error',
    ], ['--commit', '--image', 'durations (D)']],
    ['start', [
      'usage: canary start --service S [--image IMAGE] [--ungated] [--env E] [--dry-run] [--json] [--commit] [--push]\n',
      'an image the environment does not allow\n     (delivery.allowedRegistries, delivery.requireDigest)',
      '  2  another run on this checkout holds the service (busy), or with --push the remote state file changed since this run',
      '\nstart a canary at weight 0 (only the pin reaches it; ',
      'The port, the protocol and the metrics scrape are shared by both tracks and change at\nonce.',
      '  --service S            the service: a service with a file under services/ (services/S.yaml) (required)',
      '  --image IMAGE          the image to release: of the repository its service file names, pinned by tag or digest\n'
        + '                         (default: stable\'s, to release a changed configuration alone)\n',
      '  --ungated              release to stable at once, no canary and no gate; the history records a promote "ungated: …"',
      '  --dry-run              print what would change; change nothing',
      '  --commit               commit the state file (and dist/ when it changed) as one commit; needs a clean working tree',
      '  2  usage or configuration error, an image that is not pinned or not of the service\'s repository, neither a new image\n'
        + '     nor a new configuration, a canary already in flight,',
      '  1  unexpected failure',
    ], ['--window', '--reason', '  3  ']],
    ['advance', [
      'usage: canary advance [--service S] [--all] [--scheduled] [--env E] [--prometheus-url URL] [--smoke-url URL]\n'
        + '                      [--window D] [--min-requests N] [--settle D] [--timeout D] [--dry-run] [--json] [--commit]\n'
        + '                      [--push]\n\nthe SLO gate: ',
      '  --service S            the service: one with a file under services/ (services/S.yaml); or --all',
      '  --scheduled            a scheduled run: do nothing in an environment whose gate loop runs in the cluster',
      'PROMETHEUS_USERNAME and $PROMETHEUS_PASSWORD (basic;',
      '  --prometheus-url URL   Prometheus base URL (default: $PROMETHEUS_URL)',
      '  --smoke-url URL        where the service answers through the pin, for the smoke checks of its file before the first\n'
        + '                         weighted step (default: $SMOKE_BASE_URL; with --all, each service\'s URL in $SMOKE_URLS, a JSON',
      '  --window D             analysis window, longer than 0 and at most 6h (default: analysis.window of the state file, else\n'
        + '                         of the service file, else 5m)',
      'a window needs for a verdict (default: analysis.minRequests of the\n                         state file, else of the service file, else 100)',
      '  --settle D             time after a weight change before a window may start, 0s to 1h',
      '0s to 1h (default: analysis.settle of the\n                         state file, else of the service file, else 1m)',
      'analysis.queryTimeout of the state file, else of the service file, else 10s)',
      '  --dry-run              print the PromQL, the numbers and the decision; change nothing; exit as the real run would',
      'durations (D) are written as Prometheus reads them',
      '  0  advanced, promoted (either half), a roll back\'s end (the canary removed), or nothing in flight\n  3  held: applying, applied, dwelling,',
      '  4  a roll back by the gate begins (all traffic to stable)',
    ], ['--image', '--reason']],
    ['promote', [
      'usage: canary promote --service S [--env E] [--reason TEXT] [--force] [--dry-run] [--json] [--commit] [--push]\n\npromote the canary by hand',
      '  --reason TEXT          why, recorded in the history and in the commit message (default: none)',
      '  0  promoted\n  2  usage or configuration error, no canary in flight',
    ], ['--image', '--window']],
    ['rollback', [
      'usage: canary rollback --service S [--env E] [--reason TEXT] [--force] [--dry-run] [--json] [--commit] [--push]\n\nroll the canary back by hand',
      '  --reason TEXT',
      '  0  rolled back\n  2  usage or configuration error, no canary in flight',
    ], ['--image', '--window']],
    ['help', ['usage: canary help [VERB]\n', '  0  printed\n  2  unknown verb'], ['--service', '--env']],
  ];

  test.each(CASES)('%s: its synopsis, what it does, its flags with meaning and default, its exit codes', (verb, says, saysNot) => {
    const help = helpOf(verb);
    for (const text of says) expect(help).toContain(text);
    for (const text of saysNot) expect(help).not.toContain(text);
    expect(help).toContain('\n  -h, --help             print this help\n');
    expect(help.split('\n').filter(line => line.length > 120)).toEqual([]);
    expect(help).not.toMatch(/gateway|backend/);
  });

  test.each(CASES.map(([verb]) => verb))('canary %s --help, -h and canary help %s print it and exit 0, required flags missing or not', async verb => {
    for (const argv of [[verb, '--help'], [verb, '-h'], ['help', verb], ['--help', verb]]) {
      expect([argv, await cli(argv)]).toEqual([argv, { code: 0, stdout: `${helpOf(verb)}\n`, stderr: '' }]);
    }
  });

  test('help wins over flags that would be refused: the reader is asking how to call it', async () => {
    expect(await cli(['advance', '--service', 'gateway', '--window', '30m1h', '--help'])).toEqual({ code: 0, stdout: `${helpOf('advance')}\n`, stderr: '' });
    expect((await cli(['status', '--image', 'x:1', '-h'])).code).toBe(0);
  });

  test('a flag that does not apply points to the verb\'s help', async () => {
    expect((await cli(['status', '--commit'])).stderr).toBe('canary: --commit does not apply to status (see canary status --help)\n');
  });

  test('an unknown flag, or a flag without its value, points to the verb\'s help, or without a verb to the overview', async () => {
    expect(await cli(['start', '--service', 'gateway', '--bogus'])).toEqual({ code: 2, stdout: '', stderr: 'canary: unknown flag --bogus (see canary start --help)\n' });
    expect((await cli(['start', '--service'])).stderr).toBe('canary: Option \'--service <value>\' argument missing (see canary start --help)\n');
    expect((await cli(['--bogus'])).stderr).toBe(`canary: unknown flag --bogus\n\n${USAGE}\n`);
  });
});

describe('durations given as flags', () => {
  test.each([
    ['--window', '30m1h', SYNTAX_RULE],
    ['--window', '5m5m', SYNTAX_RULE],
    ['--settle', '1.5h', SYNTAX_RULE],
    ['--settle', '5', SYNTAX_RULE],
    ['--timeout', '1H', SYNTAX_RULE],
    ['--timeout', '', SYNTAX_RULE],
  ])('%s %j exits 2, naming the flag, the value and the rule', async (flag, value, rule) => {
    const result = await cli(['advance', '--service', 'gateway', `${flag}=${value}`, '--prometheus-url', 'http://127.0.0.1:9']);
    expect(result).toEqual({
      code: 2, stdout: '', stderr: `canary: ${flag} must be a duration such as 30s, 5m or 1h30m, got ${JSON.stringify(value)}: ${rule}\n`,
    });
  });

  test.each([['--window', '0s'], ['--window', '0'], ['--timeout', '0ms']])('%s %j exits 2: it must be longer than 0', async (flag, value) => {
    const result = await cli(['advance', '--service', 'gateway', flag, value, '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'usage', message: `${flag} must be longer than 0, got ${JSON.stringify(value)}` } });
  });

  test('a duration Prometheus cannot hold exits 2', async () => {
    expect((await cli(['advance', '--service', 'gateway', '--timeout', '300y'])).stderr)
      .toBe('canary: --timeout must be at most 292y24w3d23h47m16s854ms, the longest duration Prometheus reads, got "300y"\n');
  });
});

describe('durations in a state file', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-durations-'));
    fs.writeFileSync(path.join(root, 'cdk8s.yaml'), 'language: typescript\n');
    for (const dir of ['services', path.join('rollout', 'local')]) {
      fs.cpSync(path.join(__dirname, '..', '..', dir), path.join(root, dir), { recursive: true });
    }
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test.each([
    ['window', '30m1h', `must be a duration such as 30s, 5m or 1h30m, got "30m1h": ${SYNTAX_RULE}`],
    ['settle', '1.5h', `must be a duration such as 30s, 5m or 1h30m, got "1.5h": ${SYNTAX_RULE}`],
    ['queryTimeout', '0s', 'must be longer than 0, got "0s"'],
    ['window', '300y', 'must be at most 292y24w3d23h47m16s854ms, the longest duration Prometheus reads, got "300y"'],
  ])('analysis.%s %j exits 2, naming the file and the field', async (field, value, problem) => {
    const file = path.join(root, 'rollout', 'local', 'gateway.yaml');
    const source = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${source}analysis:\n  ${field}: ${JSON.stringify(value)}\n`);
    const result = await cli(['status'], root);
    fs.writeFileSync(file, source);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `canary: invalid rollout state rollout/local/gateway.yaml:\n  - 'analysis.${field}' ${problem}\n` });
  });

  test('a settle of 0s is read', async () => {
    const file = path.join(root, 'rollout', 'local', 'gateway.yaml');
    const source = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${source}analysis:\n  settle: 0s\n`);
    const result = await cli(['status', '--service', 'gateway'], root);
    fs.writeFileSync(file, source);
    expect(result.code).toBe(0);
  });
});
