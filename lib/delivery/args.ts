import { parseArgs } from 'node:util';
import { SERVICES, ServiceName } from '../../apps/contract';
import { ENVIRONMENT_NAMES, EnvironmentName } from '../config/environment';
import { UsageError } from './plan';

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
  | ({ readonly verb: 'start'; readonly service: ServiceName; readonly image: string; readonly dryRun: boolean; readonly commit: boolean } & CommonOptions);

/** How to call the CLI. */
export const USAGE = `usage: canary <verb> [options]

verbs:
  status [--service S] [--env E] [--json]
      show stable and canary of each service (or one)
  start --service S --image IMAGE [--env E] [--dry-run] [--json] [--commit]
      start a canary of IMAGE at the first step, re-synthesize dist/, and with --commit make one git commit

options:
  --env E      environment: ${ENVIRONMENT_NAMES.join(' or ')} (default local)
  --json       print one JSON object (errors too)
  --dry-run    print what would change; change nothing
  --commit     commit the state file and dist/ together

exit codes: 0 done, 2 usage or configuration error or a canary already in flight, 1 unexpected failure`;

const OPTIONS = {
  service: { type: 'string' },
  image: { type: 'string' },
  env: { type: 'string', default: 'local' },
  json: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  commit: { type: 'boolean', default: false },
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
  const only = (verbName: string, allowed: readonly (keyof typeof OPTIONS)[]): void => {
    for (const flag of ['image', 'dry-run', 'commit'] as const) {
      const given = flag === 'image' ? values.image !== undefined : values[flag];
      if (given && !allowed.includes(flag)) throw new UsageError(`--${flag} does not apply to ${verbName}`);
    }
  };
  switch (verb) {
    case 'status':
      only('status', []);
      return { verb: 'status', ...common, ...(service ? { service } : {}) };
    case 'start': {
      if (!service) throw new UsageError('start needs --service (gateway or backend)');
      if (values.image === undefined) throw new UsageError('start needs --image, the image to release as canary (pinned by tag or digest)');
      return { verb: 'start', ...common, service, image: values.image, dryRun: values['dry-run'], commit: values.commit };
    }
    default:
      throw new UsageError(`unknown verb ${JSON.stringify(verb)}\n\n${USAGE}`);
  }
}

function serviceName(value: string): ServiceName {
  if (!(value in SERVICES)) throw new UsageError(`--service must be one of ${Object.keys(SERVICES).join(', ')}, got ${JSON.stringify(value)}`);
  return value as ServiceName;
}
