import { parseArgs } from 'node:util';
import { EnvironmentName } from '../config/environment';
import { ENVIRONMENT_NAMES } from '../config/environments';
import { DELIVERY_DEFAULTS } from '../rollout/defaults';
import { DurationOptions, durationProblem } from '../rollout/duration';
import { ANALYSIS_DURATIONS } from '../rollout/state-schema';
import { SERVICES_DIR } from '../services/catalog';
import { AnalysisOverrides, UsageError } from './plan';
import { CLUSTER_PLACEHOLDER } from './smoke';
import { DNS_LABEL } from '../private/names';
import { withoutCredentials } from '../private/urls';

/** Flags every verb accepts. */
export interface CommonOptions {
  /** The environment: a directory under rollout/ and dist/. */
  readonly env: EnvironmentName;
  /** Print one JSON object instead of text. */
  readonly json: boolean;
}

/** A parsed command line. */
export type Command =
  | {
    readonly verb: 'help';
    /** The verb to explain; unset: the overview of every verb. */
    readonly topic?: Verb;
  }
  | ({
    readonly verb: 'init';
    /** The service: a file under services/, checked against them by the shell. */
    readonly service: string;
    /** The image stable runs from the start. */
    readonly image: string;
    /** The environments to write a state file for: `--env`, else every one. */
    readonly envs: readonly EnvironmentName[];
  } & Omit<ChangeOptions, 'env'>)
  | ({
    readonly verb: 'status';
    /**
     * The one service to show.
     * @default - every service
     */
    readonly service?: string;
  } & CommonOptions)
  | ({
    readonly verb: 'start';
    readonly service: string;
    /**
     * The image to release.
     * @default - stable's: a release of the configuration alone
     */
    readonly image?: string;
    /**
     * Release to stable at once, without a canary or the gate.
     * @default false
     */
    readonly ungated?: boolean;
  } & ChangeOptions)
  | ({
    readonly verb: 'advance';
    /** The one service to gate; unset with `all`. */
    readonly service?: string;
    /** Gate every service of the environment with a canary in flight, in one run and one commit. */
    readonly all: boolean;
    /**
     * Run by a schedule: an environment whose loop runs in the cluster (`delivery.loop: cluster`) is left to it.
     * @default false
     */
    readonly scheduled: boolean;
    /** `--prometheus-url`; `PROMETHEUS_URL` is the fallback, see {@link prometheusUrlOf}. */
    readonly prometheusUrl?: string;
    /** `--smoke-url`; `SMOKE_BASE_URL` is the fallback, see {@link smokeUrlOf}. */
    readonly smokeUrl?: string;
    /** This run's overrides of the analysis settings. */
    readonly overrides: AnalysisOverrides;
  } & ChangeOptions)
  | ({
    readonly verb: 'promote' | 'rollback';
    readonly service: string;
    readonly reason?: string;
    /**
     * Remove the canary although nothing observed the cluster running the change that moved its traffic to stable.
     * @default false
     */
    readonly force?: boolean;
  } & ChangeOptions);

/** Flags of the verbs that change something. */
export interface ChangeOptions extends CommonOptions {
  /** Print what would change; change nothing. */
  readonly dryRun: boolean;
  /** Commit what changed. */
  readonly commit: boolean;
  /**
   * Push the commit to the branch checked out (on `origin`), only if the remote state files are still the ones read.
   * @default false
   */
  readonly push?: boolean;
}

/** The verbs of the `canary` CLI. */
export type Verb = 'init' | 'status' | 'start' | 'advance' | 'promote' | 'rollback' | 'help';

type Flag = Exclude<keyof typeof OPTIONS, 'help'>;

const ANALYSIS = DELIVERY_DEFAULTS.analysis;

/** The environment of every verb but init when `--env` is not given. */
const DEFAULT_ENV: EnvironmentName = 'local';


/** What each flag takes and means, for the help; a verb may say more in its own entry of {@link VERBS}. */
const FLAGS: Readonly<Record<Flag, { readonly value?: string; readonly meaning: string }>> = {
  service: { value: 'S', meaning: `the service: a service with a file under ${SERVICES_DIR}/ (${SERVICES_DIR}/S.yaml)` },
  image: { value: 'IMAGE', meaning: 'the image to release as canary: of the repository its service file names, pinned by tag or digest' },
  env: { value: 'E', meaning: `environment: one of ${ENVIRONMENT_NAMES.join(', ')} (default ${DEFAULT_ENV})` },
  json: { meaning: 'print one JSON object (errors too)' },
  'dry-run': { meaning: 'print what would change; change nothing' },
  commit: { meaning: 'commit the state file (and dist/ when it changed) as one commit; needs a clean working tree' },
  push: {
    meaning: 'push the commit to the branch checked out, on origin ($CANARY_PUSH_REMOTE), only if its state files are still the ones '
      + 'this run read (exit 2, superseded, otherwise: nothing pushed); needs --commit and HEAD at the remote branch',
  },
  all: { meaning: 'every service of the environment with a canary in flight, in one run: one commit, one push' },
  scheduled: { meaning: 'a scheduled run: do nothing in an environment whose gate loop runs in the cluster (delivery.loop: cluster)' },
  'prometheus-url': {
    value: 'URL',
    meaning: 'Prometheus base URL (default: $PROMETHEUS_URL); credentials from $PROMETHEUS_TOKEN (bearer) or $PROMETHEUS_USERNAME and '
      + '$PROMETHEUS_PASSWORD (basic; user:password@ in the URL is taken out of it and sent the same way), extra headers from '
      + '$PROMETHEUS_HEADERS (a JSON object, such as {"X-Scope-OrgID": "tenant-1"})',
  },
  'smoke-url': {
    value: 'URL',
    meaning: 'where the service answers through the pin, for the smoke checks of its file before the first weighted step (default: $SMOKE_BASE_URL)',
  },
  window: {
    value: 'D',
    meaning: `analysis window, longer than 0 and at most ${ANALYSIS_DURATIONS.window.max} (default: analysis.window of the state file, else of the service file, `
      + `else ${ANALYSIS.window})`,
  },
  'min-requests': {
    value: 'N',
    meaning: `requests (stable and canary) a window needs for a verdict (default: analysis.minRequests of the state file, else of the service file, else ${ANALYSIS.minRequests})`,
  },
  settle: {
    value: 'D',
    meaning: `time after a weight change before a window may start, 0s to ${ANALYSIS_DURATIONS.settle.max} (default: analysis.settle of the state file, else of the `
      + `service file, else ${ANALYSIS.settle})`,
  },
  timeout: {
    value: 'D',
    meaning: `time budget of each Prometheus query, longer than 0 and at most ${ANALYSIS_DURATIONS.queryTimeout.max} (default: analysis.queryTimeout of the state file, else of the service file, else ${ANALYSIS.queryTimeout})`,
  },
  reason: { value: 'TEXT', meaning: 'why, recorded in the history and in the commit message (default: none)' },
  ungated: { meaning: 'release to stable at once, no canary and no gate; the history records a promote "ungated: …"' },
  force: {
    meaning: 'take the next step although nothing observed the cluster running the last one (canary advance waits for that): remove a canary '
      + 'whose traffic just moved to stable (in one sync with it, the requests in flight to the canary fail), or move a promotion\'s traffic '
      + 'to stable before stable runs the release (in one sync, it meets stable\'s old pods)',
  },
};

/** The help of one verb: its synopsis and flags are derived from `flags`, in this order. */
interface VerbHelp {
  /** One line, for the overview. */
  readonly summary: string;
  /**
   * What the verb does, for its own help.
   * @default - the summary
   */
  readonly description?: string;
  /** Operands after the verb, for the synopsis. */
  readonly operands?: string;
  /** The flags the verb takes (`--help` aside); any other flag is refused. */
  readonly flags: readonly Flag[];
  /**
   * The flags it cannot run without.
   * @default - none
   */
  readonly required?: readonly Flag[];
  /** What a flag means for this verb, where that says more than {@link FLAGS}. */
  readonly meanings?: Partial<Record<Flag, string>>;
  /** Each exit code and when. */
  readonly exitCodes: ReadonlyArray<readonly [number, string]>;
}

const OVERRIDES = '--window, --min-requests, --settle and --timeout override the analysis settings (of the state file, else of the '
  + 'service file, else the defaults) for one run only';

const UNEXPECTED: readonly [number, string] = [1, 'unexpected failure (synth or git failed): the state file and dist/ are put back'];
const BY_HAND = ['service', 'env', 'reason', 'force', 'dry-run', 'json', 'commit', 'push'] as const;

const CONCURRENT: readonly [number, string] = [2, 'another run on this checkout holds the service (busy), or with --push the remote state file '
  + 'changed since this run read it (superseded): nothing was written or pushed'];

/** Every verb: the overview, each verb's help and the flags each verb accepts come from here. */
const VERBS: Readonly<Record<Verb, VerbHelp>> = {
  init: {
    summary: 'onboard a service: write its first state file (stable IMAGE, no canary) in each environment, re-synthesize dist/',
    description: `onboard a service that has a file under ${SERVICES_DIR}/: write its first state file, rollout/E/S.yaml, in every `
      + 'environment (or only in E), with IMAGE as stable, no canary and an empty history (steps, SLO and analysis come from '
      + `its service file), then re-synthesize dist/ of each environment written. Add ${SERVICES_DIR}/S.yaml first; release `
      + 'new images afterwards with canary start. A new environment is onboarded one service at a time: its dist/ is rendered by '
      + 'the init that gives the last service its state there.',
    flags: ['service', 'image', 'env', 'dry-run', 'json', 'commit', 'push'],
    required: ['service', 'image'],
    meanings: {
      service: `the service: one with a file under ${SERVICES_DIR}/ (${SERVICES_DIR}/S.yaml) and no state file yet`,
      image: 'the image stable runs from the start: of the repository its service file names, pinned by tag or digest',
      env: `only this environment: one of ${ENVIRONMENT_NAMES.join(', ')} (default: every environment)`,
      commit: 'commit the state files and dist/ of each environment written as one commit; needs a clean working tree',
    },
    exitCodes: [
      [0, 'written (with --dry-run: would write; nothing changed)'],
      [2, `usage or configuration error, a service without a file under ${SERVICES_DIR}/, a state file that already exists, `
        + 'an image that is not pinned or not of the service\'s repository, --commit with uncommitted changes; nothing changed'],
      [1, 'unexpected failure (synth or git failed): the state files and dist/ are put back'],
    ],
  },
  status: {
    summary: 'show stable and canary of each service (or one)',
    flags: ['service', 'env', 'json'],
    meanings: { service: `show only this service, one with a file under ${SERVICES_DIR}/ (default: every service)` },
    exitCodes: [[0, 'shown'], [2, 'usage or configuration error (such as an invalid state file)'], [1, 'unexpected failure']],
  },
  start: {
    summary: 'start a canary of a new IMAGE and/or configuration, re-synthesize dist/, and with --commit make one git commit',
    description: 'start a canary at weight 0 (only the pin reaches it; the gate gives it the first step once it runs ready): IMAGE '
      + `(default: stable's) with the configuration ${SERVICES_DIR}/S.yaml and the environment's defaults give now (variables, `
      + 'resources, probes, command and arguments, user, writable paths, grace period), which the canary records; stable keeps '
      + 'its own until the promotion ends. The port, the protocol and the metrics scrape are shared by both tracks and change '
      + 'at once. With --ungated, stable takes the image and the configuration at once, without a canary.',
    flags: ['service', 'image', 'ungated', 'env', 'dry-run', 'json', 'commit', 'push'],
    required: ['service'],
    meanings: { image: 'the image to release: of the repository its service file names, pinned by tag or digest (default: stable\'s, to release a changed configuration alone)' },
    exitCodes: [
      [0, 'started, or with --ungated released to stable (with --dry-run: would; nothing changed)'],
      [2, 'usage or configuration error, an image that is not pinned or not of the service\'s repository, neither a new image nor a '
        + 'new configuration, a canary already in flight, an image the environment does not allow (delivery.allowedRegistries, '
        + 'delivery.requireDigest), --commit with uncommitted changes; nothing changed'],
      CONCURRENT,
      UNEXPECTED,
    ],
  },
  advance: {
    summary: 'the SLO gate: measure the canary in Prometheus, then advance, promote, hold or roll back',
    description: 'the SLO gate: first wait until the cluster runs the step (kube-state-metrics, through Prometheus: the route at '
      + 'the weight, the Deployment available with the image) and record when; at weight 0, run the smoke checks of the '
      + 'service file through the pin; then measure the canary over the analysis window and advance it to the next step, '
      + 'promote it after the last one, hold, or roll it back. Promotion and roll back each end once the cluster is seen '
      + 'running their first half. Nothing is measured while it dwells (the window would start before the step was applied '
      + `plus the settle time). ${OVERRIDES}.`,
    flags: ['service', 'all', 'scheduled', 'env', 'prometheus-url', 'smoke-url', 'window', 'min-requests', 'settle', 'timeout', 'dry-run', 'json',
      'commit', 'push'],
    meanings: {
      service: `the service: one with a file under ${SERVICES_DIR}/ (${SERVICES_DIR}/S.yaml); or --all`,
      'dry-run': 'print the PromQL, the numbers and the decision; change nothing; exit as the real run would',
      'smoke-url': 'where the service answers through the pin, for the smoke checks of its file before the first weighted step '
        + '(default: $SMOKE_BASE_URL; with --all, each service\'s URL in $SMOKE_URLS, a JSON object of service names and URLs)',
    },
    exitCodes: [
      [0, 'advanced, promoted (either half), a roll back\'s end (the canary removed), or nothing in flight'],
      [3, 'held: applying, applied, dwelling, no data, too little traffic, inconclusive, or a failed check below the limit'],
      [4, 'a roll back by the gate begins (all traffic to stable): failed checks or smoke checks, too many holds in a row, or the progress '
        + 'deadline'],
      [2, 'usage or configuration error, --commit with uncommitted changes; nothing changed. With --all, a service whose gate its own '
        + 'state stops (listed under failed): the others are gated and written all the same (4 still wins)'],
      CONCURRENT,
      UNEXPECTED,
    ],
  },
  promote: {
    summary: 'promote the canary by hand: stable takes its image, then its traffic; the gate removes it (--force: now)',
    flags: BY_HAND,
    required: ['service'],
    exitCodes: [[0, 'promoted'], [2, 'usage or configuration error, no canary in flight, --commit with uncommitted changes; nothing changed'], CONCURRENT,
      UNEXPECTED],
  },
  rollback: {
    summary: 'roll the canary back by hand: all traffic to stable (untouched); then the gate removes it (--force: now)',
    flags: BY_HAND,
    required: ['service'],
    exitCodes: [[0, 'rolled back'], [2, 'usage or configuration error, no canary in flight, --commit with uncommitted changes; nothing changed'],
      CONCURRENT, UNEXPECTED],
  },
  help: {
    summary: 'print this overview, or the help of VERB (the same as canary VERB --help)',
    operands: '[VERB]',
    flags: [],
    exitCodes: [[0, 'printed'], [2, 'unknown verb']],
  },
};

const VERB_LIST = Object.keys(VERBS).join(', ');

const DURATIONS = 'durations (D) are written as Prometheus reads them: whole numbers, each followed by one of the units y, w, d, h, m, s, '
  + 'ms, largest first and each at most once, such as 30s, 5m, 1h30m or 1d12h; 0 alone is allowed too';

const WIDTH = 120;

/** Breaks `text` into lines of at most {@link WIDTH} characters at spaces, every line after the first indented. */
function wrap(text: string, indent: string, first = ''): string {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(' ')) {
    if (line.trim() !== '' && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line === '' || line.endsWith(' ') ? line + word : `${line} ${word}`;
    }
  }
  return [...lines, line].join('\n');
}

/** `--service S` for a required flag, `[--env E]` for an optional one. */
function synopsisOf(verb: Verb): string {
  const { operands, flags, required = [] } = VERBS[verb];
  const words = flags.map(f => {
    const flag = FLAGS[f].value ? `--${f}\u00a0${FLAGS[f].value}` : `--${f}`;
    return required.includes(f) ? flag : `[${flag}]`;
  });
  return [verb, ...(operands ? [operands] : []), ...words].join(' ');
}

/** One line of an options list: the flag, then its meaning from column 25. */
function optionLine(flag: string, meaning: string): string {
  return wrap(meaning, ' '.repeat(25), `  ${flag.padEnd(21)}  `);
}

const nbsp = (text: string): string => text.replace(/\u00a0/g, ' ');

/** How to call the CLI: every verb's synopsis and summary, every flag, the exit codes. */
export const USAGE = nbsp([
  'usage: canary <verb> [options]',
  '       canary <verb> --help       one verb\'s flags, their defaults and its exit codes',
  '',
  'verbs:',
  ...(Object.keys(VERBS) as Verb[]).flatMap(verb => [wrap(synopsisOf(verb), ' '.repeat(3 + verb.length), '  '), `      ${VERBS[verb].summary}`]),
  '',
  'options:',
  ...(Object.keys(FLAGS) as Flag[]).map(f => optionLine(FLAGS[f].value ? `--${f} ${FLAGS[f].value}` : `--${f}`, FLAGS[f].meaning)),
  optionLine('-h, --help', 'print this overview, or with a verb that verb\'s help'),
  '',
  wrap(OVERRIDES, ''),
  wrap(DURATIONS, ''),
  '',
  'exit codes: 0 done (written, advanced, promoted, rolled back by hand, or nothing in flight), 3 held, 4 rolled back by',
  '            the gate, 2 usage or configuration error, an unknown service, --commit with uncommitted changes, a canary',
  '            already in flight (or none to promote or roll back), a state file init would overwrite, 1 unexpected',
  '            failure; nothing changes on 1 or 2',
].join('\n'));

/**
 * The help of one verb: its synopsis, what it does, each of its flags with its meaning and default, and its exit
 * codes.
 */
export function helpOf(verb: Verb): string {
  const { summary, description, flags, required = [], meanings = {}, exitCodes } = VERBS[verb];
  const options = flags.map(f => {
    const meaning = meanings[f] ?? FLAGS[f].meaning;
    return optionLine(FLAGS[f].value ? `--${f} ${FLAGS[f].value}` : `--${f}`, required.includes(f) ? `${meaning} (required)` : meaning);
  });
  const takesDuration = flags.some(f => FLAGS[f].value === 'D');
  return nbsp([
    wrap(synopsisOf(verb), ' '.repeat('usage: canary '.length + verb.length + 1), 'usage: canary '),
    '',
    wrap(description ?? summary, ''),
    '',
    'options:',
    ...options,
    optionLine('-h, --help', 'print this help'),
    ...(takesDuration ? ['', wrap(DURATIONS, '')] : []),
    '',
    'exit codes:',
    ...exitCodes.map(([code, when]) => wrap(when, ' '.repeat(5), `  ${code}  `)),
  ].join('\n'));
}

const OPTIONS = {
  service: { type: 'string' },
  image: { type: 'string' },
  // no default here: init without --env means every environment, the other verbs local
  env: { type: 'string' },
  json: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  commit: { type: 'boolean', default: false },
  'prometheus-url': { type: 'string' },
  'smoke-url': { type: 'string' },
  window: { type: 'string' },
  'min-requests': { type: 'string' },
  settle: { type: 'string' },
  timeout: { type: 'string' },
  reason: { type: 'string' },
  ungated: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  push: { type: 'boolean', default: false },
  all: { type: 'boolean', default: false },
  scheduled: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The flags whose values are URLs, which messages never quote. */
const URL_FLAGS: ReadonlySet<string> = new Set(['prometheus-url', 'smoke-url']);

/**
 * Parses the arguments of the `canary` CLI.
 *
 * @throws {@link UsageError} naming what is wrong and what is allowed
 */
export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    // node's own words name the flag but say more about positionals than about flags: name the verb's help instead
    const unknown = /^Unknown option '([^']+)'/.exec((error as Error).message)?.[1];
    const message = unknown === undefined ? (error as Error).message : `unknown flag ${unknown}`;
    const verb = argv.find(arg => Object.hasOwn(VERBS, arg) && arg !== 'help');
    throw new UsageError(verb === undefined ? `${message}\n\n${USAGE}` : `${message} (see canary ${verb} --help)`);
  }
  const { values, positionals, tokens } = parsed;
  // parseArgs keeps the last of a repeated option: `--service gateway … --service backend` appended by a wrapper
  // would act on backend with exit 0 (a switch given twice says the same thing twice)
  const given = new Map<string, string | undefined>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    if (given.has(token.name)) {
      // a URL may carry credentials or a token in its query: those are never echoed
      const both = URL_FLAGS.has(token.name) ? '' : `: ${JSON.stringify(given.get(token.name))} and ${JSON.stringify(token.value)}`;
      throw new UsageError(`--${token.name} is given twice${both}; give it once`);
    }
    given.set(token.name, token.value);
  }
  const [word, ...extra] = positionals;
  if (word === undefined) {
    if (values.help) return { verb: 'help' };
    throw new UsageError(`missing verb, expected one of ${VERB_LIST}\n\n${USAGE}`);
  }
  const verb = verbNamed(word);
  // help wins over the other flags and their checks: whoever asks for it does not know them yet
  if (verb === 'help') return helpCommand(extra, values.help);
  if (values.help) return { verb: 'help', topic: verb };
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}\n\n${USAGE}`);
  const env = values.env;
  if (env !== undefined && !ENVIRONMENT_NAMES.includes(env)) {
    throw new UsageError(`--env must be one of ${ENVIRONMENT_NAMES.join(', ')}, got ${JSON.stringify(env)}`);
  }
  const common: CommonOptions = { env: env ?? DEFAULT_ENV, json: values.json };
  const service = values.service === undefined ? undefined : serviceName(values.service);
  const allowed = VERBS[verb].flags;
  for (const flag of Object.keys(FLAGS) as Flag[]) {
    const value = values[flag];
    if (value !== undefined && value !== false && !allowed.includes(flag)) {
      throw new UsageError(`--${flag} does not apply to ${verb} (see canary ${verb} --help)`);
    }
  }
  if (verb === 'status') return { verb: 'status', ...common, ...(service ? { service } : {}) };
  if (values.push && !values.commit) throw new UsageError('--push pushes the commit of --commit: give both');
  if (values.scheduled && !values.all) throw new UsageError('--scheduled goes with --all: a schedule gates every service in flight');
  const flags = { json: values.json, dryRun: values['dry-run'], commit: values.commit, ...(values.push ? { push: true } : {}) };
  const change: ChangeOptions = { ...common, ...flags };
  if (verb === 'advance') {
    if (values.all === (service !== undefined)) throw new UsageError(`advance needs --service S (a service with a file under ${SERVICES_DIR}/) or --all, one of them`);
    const overrides: AnalysisOverrides = {
      window: duration('--window', values.window, ANALYSIS_DURATIONS.window),
      settle: duration('--settle', values.settle, ANALYSIS_DURATIONS.settle),
      queryTimeout: duration('--timeout', values.timeout, ANALYSIS_DURATIONS.queryTimeout),
      minRequests: count('--min-requests', values['min-requests']),
    };
    const prometheusUrl = values['prometheus-url'];
    if (prometheusUrl !== undefined) prometheusUrlOf(prometheusUrl, undefined);
    const smokeUrl = values['smoke-url'];
    if (smokeUrl !== undefined) smokeUrlOf(smokeUrl, undefined);
    // flags not given stay undefined here: withOverrides skips them
    return {
      verb: 'advance', ...change, ...(service ? { service } : {}), all: values.all, scheduled: values.scheduled, overrides,
      ...(prometheusUrl !== undefined ? { prometheusUrl } : {}), ...(smokeUrl !== undefined ? { smokeUrl } : {}),
    };
  }
  if (!service) throw new UsageError(`${verb} needs --service S, a service with a file under ${SERVICES_DIR}/ (see canary status)`);
  if (verb === 'init') {
    if (values.image === undefined) throw new UsageError('init needs --image, the image stable runs from the start (pinned by tag or digest)');
    return { verb: 'init', ...flags, service, image: values.image, envs: env === undefined ? ENVIRONMENT_NAMES : [env] };
  }
  if (verb === 'start') {
    // without --image a start releases the configuration: the shell says when there is none to release
    return { verb: 'start', ...change, service, ...(values.image !== undefined ? { image: values.image } : {}), ...(values.ungated ? { ungated: true } : {}) };
  }
  return { verb, ...change, service, ...(values.reason !== undefined ? { reason: values.reason } : {}), ...(values.force ? { force: true } : {}) };
}

function verbNamed(word: string): Verb {
  if (!Object.hasOwn(VERBS, word)) throw new UsageError(`unknown verb ${JSON.stringify(word)}, expected one of ${VERB_LIST}\n\n${USAGE}`);
  return word as Verb;
}

/** `canary help [VERB]`; `canary help --help` explains help itself. */
function helpCommand(operands: readonly string[], help: boolean): Command {
  const [topic, ...extra] = operands;
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}\n\n${USAGE}`);
  if (topic !== undefined) return { verb: 'help', topic: verbNamed(topic) };
  return help ? { verb: 'help', topic: 'help' } : { verb: 'help' };
}

function duration(flag: string, value: string | undefined, options: DurationOptions): string | undefined {
  if (value === undefined) return undefined;
  const problem = durationProblem(value, options);
  if (problem !== undefined) throw new UsageError(`${flag} ${problem}`);
  return value;
}

function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number of requests (0 or more), got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * The Prometheus base URL of `canary advance`: the flag, else the `PROMETHEUS_URL` environment variable. A URL with a
 * query or a fragment is refused without echoing them: the URL is written into hold reasons, the state history and
 * commit messages, which go to git. Credentials (`user:password@`) are allowed: `prometheusEndpointOf` takes them out
 * and sends them as a header.
 *
 * @throws {@link UsageError} when neither is set, or the URL is not a plain http(s) URL
 */
export function prometheusUrlOf(flag: string | undefined, fromEnvironment: string | undefined): string {
  const url = flag ?? fromEnvironment;
  if (url === undefined) throw new UsageError('advance needs --prometheus-url URL or the PROMETHEUS_URL environment variable');
  return plainUrl(url, flag !== undefined ? '--prometheus-url' : 'PROMETHEUS_URL', 'http://prometheus:9090', 'send a bearer token in PROMETHEUS_TOKEN instead',
    true);
}

/**
 * Where `canary advance` sends a service's smoke checks (through the pin): the flag, else `SMOKE_BASE_URL`; undefined
 * when neither is set (the gate then holds a canary whose file names smoke checks). Refused like a Prometheus URL
 * with credentials or a query, for the same reason.
 *
 * @param variable what the message names when the URL came from `fromEnvironment` (`SMOKE_URLS.<service>` for an entry)
 * @throws {@link UsageError} when the URL is not a plain http(s) URL
 */
export function smokeUrlOf(flag: string | undefined, fromEnvironment: string | undefined, variable = 'SMOKE_BASE_URL'): string | undefined {
  const url = flag ?? fromEnvironment;
  if (url === undefined) return undefined;
  // checked with a name in place of the placeholder (braces are no host), kept with it (smokeUrlFor fills it per
  // cluster); a message shows the placeholder again
  const name = 'obs-canary-cluster-name';
  try {
    plainUrl(url.replaceAll(CLUSTER_PLACEHOLDER, name), flag !== undefined ? '--smoke-url' : variable, 'http://gateway.apps:8080',
      'the checks send no credentials');
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message.replaceAll(name, CLUSTER_PLACEHOLDER), error.code);
    throw error;
  }
  return url;
}

/**
 * `url` when it is a plain http(s) URL: no query or fragment and, unless `credentials` are allowed (to be taken out of
 * it), no `user:password@`; neither is ever echoed.
 */
function plainUrl(url: string, source: string, example: string, instead: string, credentials = false): string {
  // everything up to the last @ may be credentials, a "/" in a password included
  const shown = JSON.stringify(withoutCredentials(url).replace(/([?#]).*$/s, '$1[query]'));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${source} must be an http or https URL such as ${example}, got ${shown}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`${source} must be an http or https URL such as ${example}, got ${shown}`);
  }
  if ((!credentials && (parsed.username !== '' || parsed.password !== '')) || parsed.search !== '' || parsed.hash !== '') {
    throw new UsageError(`${source} must not carry ${credentials ? '' : 'credentials, '}a query or a fragment (it is written into the state history and `
      + `commit messages), got ${shown}; ${instead}`);
  }
  return url;
}

/**
 * A `--service` that could name a service file: a DNS label. Which services exist is the shell's to check, against
 * the files under services/, so that parsing stays pure.
 */
function serviceName(value: string): string {
  if (!DNS_LABEL.test(value)) {
    throw new UsageError(`--service must be a service name (lower-case letters, digits and "-", such as payments-api), got ${JSON.stringify(value)}`);
  }
  return value;
}
