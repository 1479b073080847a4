import { parseArgs } from 'node:util';
import { SERVICES, ServiceName } from '../../apps/contract';
import { ENVIRONMENT_NAMES, EnvironmentName } from '../config/environment';
import { isDuration, parseDuration } from './duration';
import { AnalysisOverrides, UsageError } from './plan';

/** Flags every verb accepts. */
export interface CommonOptions {
  /** The environment: a directory under rollout/ and dist/. */
  readonly env: EnvironmentName;
  /** Print one JSON object instead of text. */
  readonly json: boolean;
}

/** A parsed command line. */
export type Command =
  | { readonly verb: 'help' }
  | ({ readonly verb: 'status'; readonly service?: ServiceName } & CommonOptions)
  | ({ readonly verb: 'start'; readonly service: ServiceName; readonly image: string } & ChangeOptions)
  | ({
    readonly verb: 'advance';
    readonly service: ServiceName;
    /** `--prometheus-url`; `PROMETHEUS_URL` is the fallback, see {@link prometheusUrlOf}. */
    readonly prometheusUrl?: string;
    /** This run's overrides of the analysis settings. */
    readonly overrides: AnalysisOverrides;
  } & ChangeOptions)
  | ({ readonly verb: 'promote' | 'rollback'; readonly service: ServiceName; readonly reason?: string } & ChangeOptions);

/** Flags of the verbs that change something. */
export interface ChangeOptions extends CommonOptions {
  /** Print what would change; change nothing. */
  readonly dryRun: boolean;
  /** Commit what changed. */
  readonly commit: boolean;
}

/** How to call the CLI. */
export const USAGE = `usage: canary <verb> [options]

verbs:
  status [--service S] [--env E] [--json]
      show stable and canary of each service (or one)
  start --service S --image IMAGE [--env E] [--dry-run] [--json] [--commit]
      start a canary of IMAGE at the first step, re-synthesize dist/, and with --commit make one git commit
  advance --service S [--env E] --prometheus-url URL [--window D] [--min-requests N] [--settle D] [--timeout D]
          [--dry-run] [--json] [--commit]
      the SLO gate: measure the canary in Prometheus, then advance, promote, hold or roll back
  promote --service S [--env E] [--reason TEXT] [--dry-run] [--json] [--commit]
      promote the canary by hand: stable runs its image, the canary is removed
  rollback --service S [--env E] [--reason TEXT] [--dry-run] [--json] [--commit]
      roll the canary back by hand: the canary is removed, stable is untouched

options:
  --env E                environment: ${ENVIRONMENT_NAMES.join(' or ')} (default local)
  --json                 print one JSON object (errors too)
  --dry-run              print what would change (advance: the PromQL, the numbers and the decision); change nothing
  --commit               commit the state file (and dist/ when it changed) as one commit; needs a clean working tree
  --prometheus-url URL   Prometheus base URL (default: $PROMETHEUS_URL); a bearer token is read from $PROMETHEUS_TOKEN
  --window D             analysis window for this run, such as 5m (default: the state file's, else 5m)
  --min-requests N       requests (stable and canary) a window needs for a verdict, for this run
  --settle D             time after a weight change before a window may start, for this run
  --timeout D            time budget of each Prometheus query, for this run

exit codes: 0 done (advanced, promoted, rolled back by hand, or nothing in flight), 3 held, 4 rolled back by the gate,
            2 usage or configuration error, --commit with uncommitted changes, a canary already in flight
            (or none to promote or roll back), 1 unexpected failure; nothing changes on 1 or 2`;

const OPTIONS = {
  service: { type: 'string' },
  image: { type: 'string' },
  env: { type: 'string', default: 'local' },
  json: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  commit: { type: 'boolean', default: false },
  'prometheus-url': { type: 'string' },
  window: { type: 'string' },
  'min-requests': { type: 'string' },
  settle: { type: 'string' },
  timeout: { type: 'string' },
  reason: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * Parses the arguments of the `canary` CLI.
 *
 * @throws {@link UsageError} naming what is wrong and what is allowed
 */
export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [verb, ...extra] = positionals;
  if (values.help || verb === undefined || verb === 'help') return { verb: 'help' };
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}\n\n${USAGE}`);
  const env = values.env as string;
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(env)) {
    throw new UsageError(`--env must be one of ${ENVIRONMENT_NAMES.join(', ')}, got ${JSON.stringify(env)}`);
  }
  const common: CommonOptions = { env: env as EnvironmentName, json: values.json };
  const service = values.service === undefined ? undefined : serviceName(values.service);
  if (!Object.hasOwn(VERB_FLAGS, verb)) throw new UsageError(`unknown verb ${JSON.stringify(verb)}\n\n${USAGE}`);
  const allowed: readonly VerbFlag[] = VERB_FLAGS[verb as keyof typeof VERB_FLAGS];
  for (const flag of Object.values(VERB_FLAGS).flat()) {
    const value = values[flag];
    if (value !== undefined && value !== false && !allowed.includes(flag)) throw new UsageError(`--${flag} does not apply to ${verb}`);
  }
  if (verb === 'status') return { verb: 'status', ...common, ...(service ? { service } : {}) };
  if (!service) throw new UsageError(`${verb} needs --service (${Object.keys(SERVICES).join(' or ')})`);
  const change: ChangeOptions = { ...common, dryRun: values['dry-run'], commit: values.commit };
  switch (verb) {
    case 'start':
      if (values.image === undefined) throw new UsageError('start needs --image, the image to release as canary (pinned by tag or digest)');
      return { verb: 'start', ...change, service, image: values.image };
    case 'advance': {
      const overrides: AnalysisOverrides = {
        window: duration('--window', values.window, { positive: true }),
        settle: duration('--settle', values.settle, { positive: false }),
        queryTimeout: duration('--timeout', values.timeout, { positive: true }),
        minRequests: count('--min-requests', values['min-requests']),
      };
      const prometheusUrl = values['prometheus-url'];
      if (prometheusUrl !== undefined) prometheusUrlOf(prometheusUrl, undefined);
      // flags not given stay undefined here: withOverrides skips them
      return { verb: 'advance', ...change, service, overrides, ...(prometheusUrl !== undefined ? { prometheusUrl } : {}) };
    }
    default:
      return { verb: verb as 'promote' | 'rollback', ...change, service, ...(values.reason !== undefined ? { reason: values.reason } : {}) };
  }
}

type VerbFlag = 'image' | 'dry-run' | 'commit' | 'prometheus-url' | 'window' | 'min-requests' | 'settle' | 'timeout' | 'reason';

/** The verb-specific flags each verb accepts (`--env`, `--json` and `--service` go everywhere). */
const VERB_FLAGS: Readonly<Record<Exclude<Command['verb'], 'help'>, readonly VerbFlag[]>> = {
  status: [],
  start: ['image', 'dry-run', 'commit'],
  advance: ['dry-run', 'commit', 'prometheus-url', 'window', 'min-requests', 'settle', 'timeout'],
  promote: ['dry-run', 'commit', 'reason'],
  rollback: ['dry-run', 'commit', 'reason'],
};

function duration(flag: string, value: string | undefined, options: { positive: boolean }): string | undefined {
  if (value === undefined) return undefined;
  if (!isDuration(value)) throw new UsageError(`${flag} must be a duration such as 30s, 5m or 1h30m, got ${JSON.stringify(value)}`);
  if (options.positive && parseDuration(value) === 0) throw new UsageError(`${flag} must be longer than 0, got ${JSON.stringify(value)}`);
  return value;
}

function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number of requests (0 or more), got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * The Prometheus base URL of `canary advance`: the flag, else the `PROMETHEUS_URL` environment variable.
 *
 * @throws {@link UsageError} when neither is set, or the URL is not http(s)
 */
export function prometheusUrlOf(flag: string | undefined, fromEnvironment: string | undefined): string {
  const url = flag ?? fromEnvironment;
  const source = flag !== undefined ? '--prometheus-url' : 'PROMETHEUS_URL';
  if (url === undefined) throw new UsageError('advance needs --prometheus-url URL or the PROMETHEUS_URL environment variable');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${source} must be an http or https URL such as http://prometheus:9090, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`${source} must be an http or https URL such as http://prometheus:9090, got ${JSON.stringify(url)}`);
  }
  return url;
}

function serviceName(value: string): ServiceName {
  if (!(value in SERVICES)) throw new UsageError(`--service must be one of ${Object.keys(SERVICES).join(', ')}, got ${JSON.stringify(value)}`);
  return value as ServiceName;
}
