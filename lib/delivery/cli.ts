import * as fs from 'node:fs';
import * as path from 'node:path';
import { goDuration } from '../private/units';
import { ConfigError } from '../config/checks';
import { EnvironmentConfig, EnvironmentName } from '../config/environment';
import { ENVIRONMENT_NAMES, loadEnvironment } from '../config/environments';
import { EffectiveSettings, settingsOf } from '../rollout/settings';
import { RolloutState, StateError, parseRolloutState, renderRolloutState } from '../rollout/state';
import { Rollouts, loadRollouts, problemsWithService, rolloutFile } from '../rollout/store';
import { SERVICES_DIR, Services, loadServices, serviceFile } from '../services/catalog';
import { ServiceFileError, ServiceSpec } from '../services/service';
import { currentPod } from '../charts/service-pods';
import { TENANT_HEADER } from '../constructs/grafana-datasources';
import { findRepoRoot } from '../synth';
import { Command, USAGE, helpOf, parseCommand, prometheusUrlOf, smokeUrlOf } from './args';
import { PrometheusEndpoint, Redactor, prometheusEndpointOf } from './credentials';
import { GateDecision } from './decide';
import { GateRun, runGate, runGateInClusters } from './gate';
import { currentBranch, fetchBranch, headCommit, isAncestor, isCommitted, shortHash, uncommittedChanges } from './git';
import { Lock } from './lock';
import {
  Change, UsageError, describeStatus, endCanaryByHand, initialState, releaseUngated, serviceNamed, startCanary, statusOf, withOverrides,
} from './plan';
import { GateReport, Outcome, describeGate, gateReport, gateSummaryMarkdown } from './report';
import { Decided, notificationOf, postNotification, shouldNotify } from './notify';
import { PushTarget, Render, interruptedWrite, lockService, recoverWrites, writeChanges } from './write';

/** What the CLI may touch: tests pass their own. */
export interface CliIo {
  /** Where the command runs; the repository root is found from here. */
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly now: () => Date;
  /**
   * What the process environment says; only `main.ts` reads `process.env`.
   * @default - nothing set
   */
  readonly env?: CliEnvironment;
}

/** The environment variables the CLI honours. */
export interface CliEnvironment {
  /** `PROMETHEUS_URL`: the fallback of `--prometheus-url`. */
  readonly prometheusUrl?: string;
  /** `PROMETHEUS_TOKEN`: sent as a bearer token to Prometheus. */
  readonly prometheusToken?: string;
  /** `PROMETHEUS_USERNAME` and `PROMETHEUS_PASSWORD`: basic auth to Prometheus. */
  readonly prometheusUsername?: string;
  readonly prometheusPassword?: string;
  /** `PROMETHEUS_HEADERS`: a JSON object of extra headers to Prometheus (`{"X-Scope-OrgID": "tenant-1"}`). */
  readonly prometheusHeaders?: string;
  /** `GITHUB_STEP_SUMMARY`: a file `canary advance` appends a Markdown summary of its decision to. */
  readonly stepSummaryFile?: string;
  /** `SMOKE_BASE_URL`: the fallback of `--smoke-url`. */
  readonly smokeUrl?: string;
  /** `SMOKE_URLS`: for `advance --all`, a JSON object of service names and the URLs of their smoke checks. */
  readonly smokeUrls?: string;
  /** `SMOKE_UNAVAILABLE`: why no smoke URL is given this time (the in-cluster gate's sidecar not ready), for the reason. */
  readonly smokeUnavailable?: string;
  /** `CANARY_WEBHOOK_URL`: a Slack-compatible webhook that gets one message per decision. */
  readonly webhookUrl?: string;
  /** `CANARY_PUSH_REMOTE`: the remote `--push` pushes to (default `origin`). */
  readonly pushRemote?: string;
}

/** Exit codes: the contract scripts and workflows rely on. */
export const EXIT = { done: 0, unexpected: 1, usage: 2, held: 3, rolledBack: 4 } as const;

/**
 * The exit code of a gate decision: a hold is 3 and a roll back by the gate 4, so a workflow can tell them apart. A
 * roll back's end (the canary removed once stable has all the traffic) is 0: the roll back was reported when it began.
 */
export function exitCodeOf(decision: GateDecision, removesCanary = false): number {
  return decision === 'hold' ? EXIT.held : decision === 'rollback' && !removesCanary ? EXIT.rolledBack : EXIT.done;
}

/** One run's context: where it runs, what it prints through (secrets redacted), and the secrets it was given. */
interface Run {
  readonly io: CliIo;
  readonly root: string;
  readonly services: Services;
  readonly secrets: Redactor;
  /** Where the run's commit is pushed, with `--push`. */
  readonly push?: PushTarget;
}

/**
 * Runs the `canary` CLI. The only place that touches files, git, Prometheus and the clock; the decisions are in
 * `plan.ts` and `decide.ts`. Every secret it is given (Prometheus credentials, the webhook URL) is redacted from all it
 * prints, commits and writes.
 *
 * @returns the exit code
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  const secrets = new Redactor();
  secrets.add(io.env?.prometheusToken, io.env?.prometheusPassword, io.env?.webhookUrl);
  const safe: CliIo = { ...io, stdout: text => io.stdout(secrets.redact(text)), stderr: text => io.stderr(secrets.redact(text)) };
  try {
    const command = parseCommand(argv);
    return await execute(command, safe, secrets);
  } catch (error) {
    const usage = usageCodeOf(error);
    const message = error instanceof Error ? error.message : String(error);
    if (json) safe.stdout(`${JSON.stringify({ error: { code: usage ?? 'unexpected', message } })}\n`);
    else safe.stderr(`canary: ${message}\n`);
    return usage === undefined ? EXIT.unexpected : EXIT.usage;
  }
}

/**
 * The code of an error that is the user's to fix (usage, configuration, state: exit 2), or undefined for a failure
 * of the CLI's own (exit 1).
 */
function usageCodeOf(error: unknown): string | undefined {
  if (error instanceof UsageError) return error.code;
  return error instanceof StateError || error instanceof ConfigError || error instanceof ServiceFileError ? 'config' : undefined;
}

/** The checkout the command works in. @throws {@link UsageError} outside one: where it runs is the caller's to fix (exit 2) */
function checkoutRoot(cwd: string): string {
  try {
    return findRepoRoot(cwd);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function execute(command: Command, io: CliIo, secrets: Redactor): Promise<number> {
  if (command.verb === 'help') {
    io.stdout(`${command.topic ? helpOf(command.topic) : USAGE}\n`);
    return EXIT.done;
  }
  const root = checkoutRoot(io.cwd);
  // the services are data: the files under services/ say which exist
  const services = loadServices(root, ENVIRONMENT_NAMES);
  const service = command.service === undefined ? undefined : serviceNamed(services, command.service);
  // status and dry runs write nothing, so they do not put back what a killed run left: they say so
  const interrupted = command.verb === 'status' || command.dryRun ? interruptedWrite(root) : undefined;
  if (interrupted !== undefined) io.stderr(`canary: warning: ${interrupted}\n`);
  if (command.verb === 'status') {
    const rollouts = loadRollouts(root, command.env, services);
    const names = service ? [service.name] : Object.keys(services);
    const env = loadEnvironment(command.env);
    const statuses = names.map(name => statusOf(command.env, rollouts[name], services[name], currentPod(services[name], env, services)));
    io.stdout(command.json ? `${JSON.stringify({ env: command.env, services: statuses })}\n` : `${statuses.map(describeStatus).join('\n')}\n`);
    return EXIT.done;
  }
  // a run killed while writing left its journal: put the checkout back first, or its half-written files would block
  if (!command.dryRun) recoverWrites(root);
  // a dry run too: it exits as the real run would
  if (command.commit) refuseUncommittedChanges(root, command.verb === 'init' ? command : undefined);
  // a dry run too (it only fetches): --dry-run --push exits as the real run would, behind the branch or ahead of it
  const push = command.push ? pushTargetOf(root, io) : undefined;
  const run: Run = { io, root, services, secrets, ...(push && !command.dryRun ? { push } : {}) };
  if (command.verb === 'init') return init(command, run);
  if (command.verb === 'advance') {
    if (command.all) return advanceAll(command, run);
    return advance({ ...command, service: command.service! }, run);
  }
  const lock = command.dryRun ? undefined : lockService(root, command.env, command.service, `canary ${command.verb} ${command.env}/${command.service}`);
  try {
    const rollouts = loadRollouts(root, command.env, services);
    const spec = services[command.service];
    if (command.verb === 'start') {
      const env = loadEnvironment(command.env);
      const pod = currentPod(spec, env, services);
      if (command.image !== undefined) refuseUnreleasable(command.image, env);
      const release = command.ungated ? releaseUngated : startCanary;
      return await applyByHand(release(rollouts[command.service], command.image, io.now(), spec, pod), command, run);
    }
    const change = endCanaryByHand(rollouts[command.service], command.env, command.verb, io.now(), command.reason, command.force);
    return await applyByHand(change, command, run);
  } finally {
    lock?.release();
  }
}

/**
 * Where `--push` publishes: the branch checked out, on `CANARY_PUSH_REMOTE` (default `origin`), fetched now. HEAD must
 * be the remote branch's commit: the state files read are then the remote's, which is what makes the remote the lock.
 *
 * @throws {@link UsageError} when HEAD is detached, or not at the remote branch
 */
function pushTargetOf(root: string, io: CliIo): PushTarget {
  const remote = io.env?.pushRemote ?? 'origin';
  let branch: string;
  try {
    branch = currentBranch(root);
  } catch {
    throw new UsageError('--push needs a branch checked out (HEAD is detached): it pushes to that branch of the remote');
  }
  const base = fetchBranch(root, remote, branch);
  const head = headCommit(root);
  if (head !== base && isAncestor(root, head, base)) {
    // a checkout made just before another decision landed (a scheduled job): not an error, the next run decides
    throw new UsageError(`${remote}/${branch} has moved on since this checkout (HEAD ${shortHash(head)} is behind ${shortHash(base)}): nothing `
      + 'was decided; pull (git pull --ff-only) and run again', 'superseded');
  }
  if (head !== base) {
    throw new UsageError(`--push needs HEAD at ${remote}/${branch} (${shortHash(base)}), so that the state read is the remote's, but HEAD is `
      + `${shortHash(head)}: push your commits first (or pull)`);
  }
  return { remote, branch, base };
}

/**
 * An image the environment lets `canary start` release: from one of `delivery.allowedRegistries` (when it names any)
 * and, with `delivery.requireDigest`, pinned by digest, so that what the gate measured is what runs.
 *
 * @throws {@link UsageError} (code `not-releasable`) naming the rule and the allowed values
 */
export function refuseUnreleasable(image: string, env: EnvironmentConfig): void {
  const { allowedRegistries, requireDigest } = env.delivery;
  if (allowedRegistries.length > 0 && !allowedRegistries.some(prefix => image.startsWith(prefix))) {
    throw new UsageError(`${env.name} releases images from ${allowedRegistries.join(', ')} only (delivery.allowedRegistries), got `
      + `${JSON.stringify(image)}`, 'not-releasable');
  }
  if (requireDigest && !/@sha256:[0-9a-f]{64}$/.test(image)) {
    throw new UsageError(`${env.name} releases images by digest only (delivery.requireDigest): give ${image.split('@')[0].replace(/:[^:/]*$/, '')}@sha256:<64 hex>, `
      + `as the images workflow reports it, got ${JSON.stringify(image)}`, 'not-releasable');
  }
}

/**
 * `--commit` commits the state file and dist/ as rendered from the working tree, so anything uncommitted would ride
 * along: edits under lib/ in the rendered dist/, a stray file in dist/, a hand edit of the state file in the decision.
 * Refuses before anything is read from Prometheus or written.
 *
 * @throws {@link UsageError} naming the uncommitted paths
 */
function refuseUncommittedChanges(root: string, onboarding?: Extract<Command, { verb: 'init' }>): void {
  // onboarding: a service file not yet in HEAD (new, staged, or hidden from git status) must land with its state and
  // dist/, in every environment
  const file = onboarding && serviceFile(onboarding.service);
  if (file && !isCommitted(root, file)) {
    const others = ENVIRONMENT_NAMES.filter(env => !onboarding.envs.includes(env));
    const envs = others.length === 0 ? '' : onboarding.envs.map(env => ` --env ${env}`).join('');
    throw new UsageError(`${file} is not committed yet, and a commit of it alone would be a service without state, which synth refuses: `
      + `run \`npx canary init --service ${onboarding.service} --image ${onboarding.image}${envs}\` without --commit (it writes the state files and `
      + `dist/ from the file as it is)${others.length === 0 ? '' : `, and init for ${others.join(', ')} too (every environment needs its state)`}, `
      + `then commit them together: git add ${file} rollout dist && git commit`);
  }
  const changes = uncommittedChanges(root);
  if (changes.length === 0) return;
  throw new UsageError(`--commit needs a clean working tree, but git status lists ${changes.join(', ')}: the canary commit would carry `
    + 'them, and dist/ rendered from them; commit or stash them first (git stash --include-untracked), or run without --commit');
}

/** Writes (and commits) a change a person asked for, `start`, `promote` or `rollback`, and reports it. */
async function applyByHand(change: Change, command: Extract<Command, { verb: 'start' | 'promote' | 'rollback' }>, run: Run): Promise<number> {
  const { io } = run;
  const outcome = applyChange(run, command.env, change, {
    dryRun: command.dryRun, commit: command.commit, message: commitMessage(command.env, change),
  });
  const report = {
    service: command.service, env: command.env, decision: change.entry.decision, image: change.entry.image,
    fromWeight: change.entry.fromWeight, toWeight: change.entry.toWeight, reason: change.entry.reason, ...outcome,
  };
  io.stdout(command.json ? `${JSON.stringify(report)}\n` : `${describeOutcome(report)}\n`);
  const firstStep = change.entry.decision === 'start' ? settingsOf(change.state, run.services[command.service]).steps[0] : undefined;
  await notify(run, { by: 'cli', env: command.env, change, outcome, ...(firstStep !== undefined ? { firstStep } : {}) });
  return EXIT.done;
}

/** What one service's gate decided, before anything is written. */
interface Gated {
  readonly name: string;
  readonly state: RolloutState;
  readonly settings: EffectiveSettings;
  readonly gate: GateRun;
  /** The state file as read, to tell whether another run changed it meanwhile. */
  readonly read: string;
}

/** What every service of one `canary advance` run is gated against, read once for the run. */
interface GateTarget {
  readonly endpoint: PrometheusEndpoint;
  /** A central topology's application clusters: each is judged on its own series. */
  readonly clusters: readonly string[] | undefined;
  /** The environment's scrape interval, as PromQL writes it. */
  readonly scrapeInterval: string;
}

/**
 * Runs the gate of one service (the caller holds its lock): measures and decides, writes nothing. With the target's
 * `clusters`, each cluster is judged on its own series and the gravest decision taken.
 */
async function gateService(command: Extract<Command, { verb: 'advance' }>, run: Run, name: string, state: RolloutState,
  target: GateTarget, smoke: SmokeTarget, now: Date): Promise<Gated> {
  const { endpoint, clusters, scrapeInterval } = target;
  const service = run.services[name];
  const settings: EffectiveSettings = withOverrides(settingsOf(state, service), command.overrides);
  const read = fs.readFileSync(path.join(run.root, rolloutFile(command.env, name)), 'utf8');
  const smokeUrl = smoke.url;
  const smokeUnavailable = run.io.env?.smokeUnavailable ?? smoke.unavailable;
  // the gate reads smokeUnavailable only where there is no URL, and smokeUrlError only where checks are due
  const input = {
    state, service, settings, now, prometheus: endpoint, scrapeInterval,
    ...(smokeUrl !== undefined ? { smokeUrl } : {}), ...(smokeUnavailable !== undefined ? { smokeUnavailable } : {}),
    ...(smoke.error !== undefined ? { smokeUrlError: smoke.error } : {}),
  };
  if (clusters === undefined) return { name, state, settings, gate: await runGate(input), read };
  const { runs, decidedBy, result } = await runGateInClusters(input, clusters);
  // what is reported is the run of the cluster whose decision is taken, with the decision for the release
  const decisive = runs.find(r => r.cluster === decidedBy)!.run;
  return { name, state, settings, gate: { ...decisive, result }, read };
}

/** The report of one service's gate run, once its change is written (or not). */
function reportOf(command: Extract<Command, { verb: 'advance' }>, gated: Gated, now: Date, outcome: Outcome): GateReport {
  const { stage, queries, outcome: measured, observation, smoke, result } = gated.gate;
  const { analysis } = gated.settings;
  return gateReport({
    service: gated.name, env: command.env, image: gated.state.canary?.image ?? null, result, settings: gated.settings, queries,
    window: stage.kind === 'measure' ? { length: analysis.window, start: stage.windowStart.toISOString(), end: now.toISOString() } : null,
    samples: measured?.samples ?? {}, outcome,
    observation: observation ? { query: observation.query, applied: observation.outcome.ok ? observation.outcome.applied : null } : null,
    smoke: smoke?.ran ? smoke.results : null,
  });
}

/** The history of a gated service as its decision leaves it: what the summary charts. */
function historyOf(gated: Gated): RolloutState['history'] {
  return (gated.gate.result.change?.state ?? gated.state).history;
}

/** The Prometheus endpoint of `canary advance`, from the flag and the environment's credentials. */
function endpointOf(command: Extract<Command, { verb: 'advance' }>, run: Run): PrometheusEndpoint {
  const env = run.io.env ?? {};
  // a Mimir store takes the tenant of every query from X-Scope-OrgID: the environment's, as its other readers send it
  const mimir = loadEnvironment(command.env).mimir;
  return prometheusEndpointOf(prometheusUrlOf(command.prometheusUrl, env.prometheusUrl), {
    ...(env.prometheusToken !== undefined ? { token: env.prometheusToken } : {}),
    ...(env.prometheusUsername !== undefined ? { username: env.prometheusUsername } : {}),
    ...(env.prometheusPassword !== undefined ? { password: env.prometheusPassword } : {}),
    ...(env.prometheusHeaders !== undefined ? { headers: env.prometheusHeaders } : {}),
  }, run.secrets, mimir ? { [TENANT_HEADER]: mimir.tenant } : {});
}

/**
 * `canary advance`: measure, decide, write. Nothing is queried without a canary or while it dwells; holds write only
 * the state file (history and counters), every other decision the state file and dist/.
 */
async function advance(command: Extract<Command, { verb: 'advance' }> & { readonly service: string }, run: Run): Promise<number> {
  const { io, root } = run;
  const smokeUrl = smokeUrlOf(command.smokeUrl, io.env?.smokeUrl);
  const lock = command.dryRun ? undefined : lockService(root, command.env, command.service, `canary advance ${command.env}/${command.service}`);
  try {
    const rollouts = loadRollouts(root, command.env, run.services);
    const smoke: SmokeTarget = smokeUrl === undefined ? {} : { url: smokeUrl };
    const { reports, code } = await gateAndWrite(command, run, [command.service], rollouts, () => smoke, { isolate: false });
    io.stdout(command.json ? `${JSON.stringify(reports[0])}\n` : `${describeGate(reports[0])}\n`);
    return code;
  } finally {
    lock?.release();
  }
}

/** A service of an `--all` run whose gate could not run: its state or service file is at fault. */
export interface FailedService {
  readonly service: string;
  readonly error: { readonly code: string; readonly message: string };
}

/**
 * Gates `names` (their locks held) and writes every decision as one change: one synth when any decision moves
 * traffic, one commit, one push. Appends each report to the step summary and notifies each decision. With `isolate`
 * (`--all`), a service whose own configuration stops its gate is reported as failed and the others are still gated
 * and written: one team's mistake must not keep another service's roll back from landing.
 *
 * @returns each service's report, the services that failed, the outcome, and the exit code: 4 when a roll back began,
 *   else 2 when a service failed, else 3 when one held, else 0
 */
async function gateAndWrite(command: Extract<Command, { verb: 'advance' }>, run: Run, names: readonly string[], rollouts: Rollouts,
  smokeTarget: (name: string) => SmokeTarget, options: { isolate: boolean }):
  Promise<{ reports: GateReport[]; failed: FailedService[]; outcome: Outcome; code: number }> {
  const { io } = run;
  // nothing to gate (an --all run with nothing in flight) asks Prometheus nothing, and needs no URL for it
  const endpoint = names.length > 0 ? endpointOf(command, run) : undefined;
  // one time for the whole run: every service's window ends then, as its report and history entry say
  const now = io.now();
  // read once for every service of the run: a central topology's clusters (each runs the release), the scrape interval
  const env = loadEnvironment(command.env);
  const target: GateTarget | undefined = endpoint && {
    endpoint, clusters: env.topology?.appClusters.map(c => c.name), scrapeInterval: goDuration(env.prometheus.scrapeInterval),
  };
  const attempts = await mapLimited(names, GATE_CONCURRENCY, async (name): Promise<Gated | FailedService> => {
    try {
      return await gateService(command, run, name, rollouts[name], target!, smokeTarget(name), now);
    } catch (error) {
      // isolated: one service's own configuration at fault (exit 2), not the run's or a bug
      const code = options.isolate ? usageCodeOf(error) : undefined;
      if (code === undefined) throw error;
      return { service: name, error: { code, message: (error as Error).message } };
    }
  });
  // each in the order of `names`
  const gated = attempts.filter((a): a is Gated => 'gate' in a);
  const failed = attempts.filter((a): a is FailedService => 'error' in a);
  const changed = gated.filter(g => g.gate.result.change !== null);
  const unchanged: Outcome = { dryRun: command.dryRun, changed: [], commit: null };
  const outcome: Outcome = changed.length === 0
    ? unchanged
    : applyChanges(run, command.env, changed.map(g => ({ change: g.gate.result.change!, read: g.read })), {
      dryRun: command.dryRun, commit: command.commit, synth: changed.some(g => g.gate.result.decision !== 'hold'),
      message: changed.length === 1
        ? commitMessage(command.env, changed[0].gate.result.change!, changed[0].settings.analysis)
        : tickMessage(command.env, changed.map(g => ({ change: g.gate.result.change!, settings: g.settings }))),
    });
  const reports = gated.map(g => reportOf(command, g, now, g.gate.result.change ? outcome : unchanged));
  if (io.env?.stepSummaryFile) {
    // after the write: a summary that cannot be written changes no decision (nor what the run reports of it)
    const sections = [
      ...reports.map((r, i) => gateSummaryMarkdown(r, historyOf(gated[i]))),
      ...failed.map(f => `### canary ${command.env}/${f.service}: not gated (${f.error.code})\n\n${f.error.message}\n`),
    ];
    try {
      fs.appendFileSync(io.env.stepSummaryFile, run.secrets.redact(sections.join('\n')));
    } catch (error) {
      io.stderr(`canary: the step summary was not written (${run.secrets.redact((error as Error).message)}); the decision stands\n`);
    }
  }
  for (const report of reports) await notify(run, { by: 'gate', report });
  const codes = gated.map(g => exitCodeOf(g.gate.result.decision, g.gate.result.change !== null && g.gate.result.change.state.canary === null));
  const code = codes.includes(EXIT.rolledBack) ? EXIT.rolledBack
    : failed.length > 0 ? EXIT.usage : codes.includes(EXIT.held) ? EXIT.held : EXIT.done;
  return { reports, failed, outcome, code };
}

/** What `canary advance --all --json` prints. */
export interface AllReport {
  readonly env: string;
  /** The report of each service gated, in the order of the service files. */
  readonly services: readonly GateReport[];
  /** Services another run on this checkout held (busy): not gated this time. */
  readonly busy: readonly string[];
  /** Services whose own state or service file stopped their gate (exit 2 unless a roll back began): nothing of theirs written. */
  readonly failed: readonly FailedService[];
  /** The commit of every decision, or null. */
  readonly commit: string | null;
  /** Set when the environment's loop runs in the cluster and this run was scheduled: nothing was done. */
  readonly skipped?: string;
}

/**
 * `canary advance --all`: gates every service of the environment with a canary in flight, measuring them at once,
 * then writes every decision as one change: one synth, one commit, one push. A service another run holds is left
 * for the next run. The exit code is the gravest decision's: 4 when one rolled back, else 3 when one held, else 0.
 */
async function advanceAll(command: Extract<Command, { verb: 'advance' }>, run: Run): Promise<number> {
  const { io, root } = run;
  const env = loadEnvironment(command.env);
  if (command.scheduled && env.delivery.loop === 'cluster') {
    const skipped = `the gate of ${command.env} runs in the cluster (delivery.loop: cluster); a scheduled run leaves it to that loop`;
    const report: AllReport = { env: command.env, services: [], busy: [], failed: [], commit: null, skipped };
    io.stdout(command.json ? `${JSON.stringify(report)}\n` : `${skipped}\n`);
    return EXIT.done;
  }
  const rollouts = loadRollouts(root, command.env, run.services);
  const inFlight = Object.keys(run.services).filter(name => rollouts[name].canary !== null);
  const smokeTarget = smokeTargetsOf(command, io.env, run.services, rollouts);
  const locks: Lock[] = [];
  const busy: string[] = [];
  try {
    for (const name of inFlight) {
      if (command.dryRun) continue;
      try {
        locks.push(lockService(root, command.env, name, `canary advance --all ${command.env}`));
      } catch (error) {
        if (!(error instanceof UsageError && error.code === 'busy')) throw error;
        busy.push(name);
      }
    }
    // the state as it is now that the locks are held
    const current = loadRollouts(root, command.env, run.services);
    const { reports, failed, outcome, code } = await gateAndWrite(command, run, inFlight.filter(name => !busy.includes(name)), current,
      smokeTarget, { isolate: true });
    const report: AllReport = { env: command.env, services: reports, busy, failed, commit: outcome.commit };
    io.stdout(command.json ? `${JSON.stringify(report)}\n` : `${describeAll(report)}\n`);
    return code;
  } finally {
    for (const lock of locks) lock.release();
  }
}

/**
 * Services a tick measures at once. Each sends its queries together (about ten), so Prometheus sees up to ~160 at a
 * time; fewer left a 50-service tick waiting on round trips (bench:tick), more only queue there.
 */
const GATE_CONCURRENCY = 16;

/** `f` of each item, at most `limit` at a time, in the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Where a service's smoke checks go: a URL, or why there is none (else the gate's own words), or why the one given is unusable. */
interface SmokeTarget {
  readonly url?: string;
  readonly unavailable?: string;
  readonly error?: string;
}

/**
 * Each service's {@link SmokeTarget} in an `--all` run: its `SMOKE_URLS` entry (service name → URL), else `--smoke-url`
 * or `SMOKE_BASE_URL`, which is one URL and so serves only when a single canary whose checks may be due (started, at
 * 0 %) names smoke checks without an entry (sent to one service's host, another's checks would judge the wrong
 * release). An entry that is no URL fails that service alone (exit 2, the others are gated), naming
 * `SMOKE_URLS.<service>`, and only when its checks are due: a roll back or a later step is decided whatever the entry
 * says. An entry naming no service is left out (the CronJob's variables may still be the last commit's) and named where
 * a service has no entry.
 *
 * @throws {@link UsageError} when `SMOKE_URLS` is not a JSON object
 */
function smokeTargetsOf(command: Extract<Command, { verb: 'advance' }>, env: CliEnvironment | undefined, services: Services,
  rollouts: Rollouts): (name: string) => SmokeTarget {
  let entries: Record<string, unknown> = {};
  if (env?.smokeUrls !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(env.smokeUrls);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError('SMOKE_URLS must be a JSON object of service names and URLs, such as {"gateway": "http://gateway.apps:8080"}');
    }
    entries = value as Record<string, unknown>;
  }
  const fallback = smokeUrlOf(command.smokeUrl, env?.smokeUrl);
  const source = command.smokeUrl !== undefined ? '--smoke-url' : 'SMOKE_BASE_URL';
  // the canaries whose checks may be due: started (0 %) and progressing; a canary past them needs no URL
  const checking = Object.keys(services).filter(name => rollouts[name]?.canary?.weight === 0 && (rollouts[name].canary!.phase ?? 'progressing') === 'progressing');
  const withoutEntry = checking.filter(name => (services[name].smoke?.length ?? 0) > 0 && !Object.hasOwn(entries, name));
  const strays = Object.keys(entries).filter(name => !Object.hasOwn(services, name));
  return name => {
    if (Object.hasOwn(entries, name)) {
      const url = entries[name];
      try {
        return { url: smokeUrlOf(undefined, typeof url === 'string' ? url : JSON.stringify(url), `SMOKE_URLS.${name}`)! };
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        return { error: error.message };
      }
    }
    if (fallback !== undefined && withoutEntry.length <= 1) return { url: fallback };
    if (fallback !== undefined) {
      return { unavailable: `${source} is one URL, and ${withoutEntry.length} services in flight name smoke checks without an entry in SMOKE_URLS `
        + `(${withoutEntry.join(', ')}): give each its URL there` };
    }
    if (env?.smokeUrls === undefined) return {};
    const stray = strays.length > 0 ? ` (it names ${strays.map(s => JSON.stringify(s)).join(', ')}, which no service file under ${SERVICES_DIR}/ is)` : '';
    return { unavailable: `SMOKE_URLS has no entry for ${name}${stray}` };
  };
}

/** The commit message of a tick that decided for several services: a subject, then each decision's message. */
function tickMessage(env: string, decisions: ReadonlyArray<{ change: Change; settings: EffectiveSettings }>): string {
  const names = decisions.map(d => `${d.change.state.service} ${d.change.entry.decision}`);
  return `canary(${env}): ${names.join(', ')}\n\n${decisions.map(d => commitMessage(env, d.change, d.settings.analysis)).join('\n')}`;
}

function describeAll(r: AllReport): string {
  const lines = r.services.map(describeGate);
  for (const f of r.failed) lines.push(`${r.env}/${f.service}: not gated (${f.error.code}): ${f.error.message}`);
  if (r.busy.length > 0) lines.push(`busy (another run holds them; the next run gates them): ${r.busy.join(', ')}`);
  if (lines.length === 0) lines.push(`${r.env}: no canary in flight`);
  return lines.join('\n');
}

/**
 * Posts the message of a decision ({@link shouldNotify}) to `CANARY_WEBHOOK_URL`, when set, after the decision is
 * written: a message that cannot be delivered is reported on stderr and changes nothing else.
 */
async function notify(run: Run, decided: Decided): Promise<void> {
  const url = run.io.env?.webhookUrl;
  if (url === undefined || !shouldNotify(decided)) return;
  const posted = await postNotification(url, run.secrets.redactJson(notificationOf(decided)), { timeoutMs: NOTIFY_TIMEOUT_MS });
  if (!posted.ok) run.io.stderr(`canary: the notification was not delivered (${posted.error}); the decision stands\n`);
}

const NOTIFY_TIMEOUT_MS = 5_000;

/** What `canary init` reports: the service, where it was onboarded, and what changed. */
export interface InitReport extends Outcome {
  readonly service: string;
  readonly envs: readonly EnvironmentName[];
  readonly decision: 'init';
  /** The image stable runs. */
  readonly image: string;
  /** The state files written (or, in a dry run, that would be). */
  readonly files: readonly string[];
  /**
   * The environments whose dist/ is not rendered yet, each with the services that still have no state file there (an
   * environment is onboarded one service at a time, and rendered once every service has its state).
   */
  readonly pending: Readonly<Record<EnvironmentName, readonly string[]>>;
}

/**
 * `canary init`: writes the first state file of a service in each environment asked for, re-synthesizes their dist/
 * from the complete rollout state in memory, and with `--commit` commits all of it as one commit. An environment where
 * other services have no state file yet (a new one, onboarded one service at a time) only gets the state file; its
 * dist/ is rendered by the init that completes it. When synth, a write or the commit fails, the state files are
 * removed again and every dist/<env> is put back as it was.
 *
 * @throws {@link UsageError} (code `exists`) when a state file of the service already exists in one of the
 *   environments, (code `not-releasable`) when an environment does not release that image ({@link refuseUnreleasable}),
 *   or (code `usage`) when the image is not pinned or not of the service's repository
 */
function init(command: Extract<Command, { verb: 'init' }>, run: Run): number {
  const { root, services, io } = run;
  const spec = services[command.service];
  const locks: Lock[] = [];
  try {
    // inside the try: a lock taken before another is refused is released too
    for (const env of command.dryRun ? [] : command.envs) locks.push(lockService(root, env, command.service, `canary init ${env}/${command.service}`));
    const files = command.envs.map(env => rolloutFile(env, command.service));
    const existing = files.filter(file => fs.existsSync(path.join(root, file)));
    if (existing.length > 0) {
      const without = ENVIRONMENT_NAMES.filter(env => !fs.existsSync(path.join(root, rolloutFile(env, command.service))));
      throw new UsageError(`${command.service} already has rollout state: ${existing.join(', ')} exists; release a new image with canary start`
        + (without.length > 0 ? `, or name with --env an environment it has none in (${without.join(', ')})` : ''), 'exists');
    }
    // each environment's own: its defaults (resources) are part of what stable runs
    const states = new Map(command.envs.map(env => [env, initialState(spec, command.image, currentPod(spec, loadEnvironment(env), services))]));
    // the rules canary start applies: an image init writes is one the environment can go on releasing from
    for (const env of command.envs) refuseUnreleasable(command.image, loadEnvironment(env));
    for (const [env, state] of states) {
      // the new files must be ones the next run can read
      const file = rolloutFile(env, command.service);
      const problems = problemsWithService(state, spec);
      if (problems.length > 0) throw new StateError(file, problems);
      parseRolloutState(renderRolloutState(state), file, command.service);
    }
    // the other services' state as the files say, then this one's: what synth renders each environment from
    const others: Services = Object.fromEntries(Object.entries(services).filter(([name]) => name !== command.service));
    const missingIn = (env: EnvironmentName): string[] => Object.keys(others).filter(name => !fs.existsSync(path.join(root, rolloutFile(env, name))));
    const pending = Object.fromEntries(command.envs.map(env => [env, missingIn(env)] as const).filter(([, missing]) => missing.length > 0));
    // without other services there may be no rollout/<env>/ yet
    const renders = (): Render[] => command.envs.filter(env => missingIn(env).length === 0).map(env => ({
      env, rollouts: { ...(Object.keys(others).length > 0 ? loadRollouts(root, env, others) : {}), [command.service]: states.get(env)! },
    }));
    // a dry run too: the other services' state files must be ones synth can render
    renders();
    const report = (outcome: Outcome): InitReport => ({
      service: command.service, envs: command.envs, decision: 'init', image: command.image, files, pending, ...outcome,
    });
    if (command.dryRun) {
      io.stdout(describeInit(report({ dryRun: true, changed: [], commit: null }), command.json));
      return EXIT.done;
    }
    const outcome = writeChanges({
      root, services, states: [...states].map(([env, state]) => ({ env, state })),
      read: Object.fromEntries(files.map(file => [file, null])),
      renders,
      commitMessage: command.commit ? run.secrets.redact(initCommitMessage(spec, command.envs, command.image, pending)) : null,
      ...(run.push ? { push: run.push } : {}),
    });
    io.stdout(describeInit(report(outcome), command.json));
    return EXIT.done;
  } finally {
    for (const lock of locks) lock.release();
  }
}

/** The commit message of `canary init`; `pending` as {@link InitReport.pending}. */
export function initCommitMessage(service: ServiceSpec, envs: readonly EnvironmentName[], image: string,
  pending: InitReport['pending'] = {}): string {
  const lines = [
    `canary(${service.name}, ${envs.join(', ')}): init ${image} as stable`,
    '',
    `onboarded ${service.name} (${service.file}) with stable ${image} and no canary; its steps, SLO and analysis `
      + `are those of ${service.file}`,
    ...Object.entries(pending).map(([env, missing]) => `dist/${env} is not rendered yet: no state in ${env} for ${missing.join(', ')}`),
  ];
  return `${lines.join('\n')}\n`;
}

function describeInit(r: InitReport, json: boolean): string {
  if (json) return `${JSON.stringify(r)}\n`;
  const where = `${r.service} in ${r.envs.join(', ')} with stable ${r.image}`;
  const waiting = Object.entries(r.pending).map(([env, missing]) =>
    `; dist/${env} is rendered once every service has state there (canary init --env ${env} for ${missing.join(', ')})`).join('');
  if (r.dryRun) return `dry run: would onboard ${where} (${r.files.join(', ')})${waiting}; nothing changed\n`;
  return `onboarded ${where}; wrote ${r.changed.join(', ')}${waiting}${r.commit ? `; committed ${r.commit}` : ''}\n`;
}

/** Options of {@link applyChange}. */
interface ApplyOptions {
  readonly dryRun: boolean;
  readonly commit: boolean;
  readonly message: string;
  /**
   * Re-synthesize dist/ from the new state. A hold changes only history and counters, which nothing renders.
   * @default true
   */
  readonly synth?: boolean;
  /**
   * The state file as the run read it; another run that changed it meanwhile supersedes this change.
   * @default - the file as it is now
   */
  readonly read?: string;
}

/** Writes one change; see {@link applyChanges}. */
function applyChange(run: Run, env: EnvironmentName, change: Change, options: ApplyOptions): Outcome {
  return applyChanges(run, env, [{ change, ...(options.read !== undefined ? { read: options.read } : {}) }], options);
}

/**
 * Writes changed state files and re-synthesizes dist/<env>/ from them, as one step ({@link writeChanges}): under the
 * checkout's write lock, committed and pushed as asked, and put back as they were when synth, the commit or the push
 * fails. Secrets are redacted from the history entries and the commit message first.
 */
function applyChanges(run: Run, env: EnvironmentName, changes: ReadonlyArray<{ change: Change; read?: string }>, options: Omit<ApplyOptions, 'read'>): Outcome {
  const { root, services } = run;
  const states = changes.map(({ change }) => {
    const file = rolloutFile(env, change.state.service);
    // the history entry may quote an error: no secret in it reaches the file (its free text only: an image or a
    // service name is never rewritten, whatever a secret happens to spell)
    const state: RolloutState = {
      ...change.state,
      history: change.state.history.map(entry => ({
        ...entry,
        reason: run.secrets.redact(entry.reason),
        ...(entry.failedChecks ? { failedChecks: entry.failedChecks.map(c => run.secrets.redact(c)) } : {}),
      })),
    };
    // the new file must be one the next run can read
    parseRolloutState(renderRolloutState(state), file, state.service);
    return { env, state };
  });
  if (options.dryRun) return { dryRun: true, changed: [], commit: null };
  const read = Object.fromEntries(changes.map(({ change, read: content }) => {
    const file = rolloutFile(env, change.state.service);
    return [file, content ?? fs.readFileSync(path.join(root, file), 'utf8')];
  }));
  const byName = Object.fromEntries(states.map(({ state }) => [state.service, state]));
  return writeChanges({
    root, services, states, read,
    renders: () => ((options.synth ?? true) ? [{ env, rollouts: { ...loadRollouts(root, env, services), ...byName } }] : []),
    commitMessage: options.commit ? run.secrets.redact(options.message) : null,
    ...(run.push ? { push: run.push } : {}),
  });
}

/**
 * The commit message of a change: a subject line, then the reason and the numbers behind it (canary, stable, failed
 * checks and, while the canary is in flight, its counters against their limits).
 */
export function commitMessage(env: string, change: Change, limits?: { maxFailedChecks: number; maxConsecutiveHolds: number }): string {
  const { entry } = change;
  const lines = [
    `canary(${change.state.service}, ${env}): ${entry.decision} ${entry.image} ${entry.fromWeight}% → ${entry.toWeight}%`,
    '',
    entry.reason,
  ];
  if (entry.measurements) lines.push('', ...Object.entries(entry.measurements).map(([k, v]) => `${k}: ${v ?? 'unknown'}`));
  if (entry.baseline) lines.push('', ...Object.entries(entry.baseline).map(([k, v]) => `stable ${k}: ${v ?? 'unknown'}`));
  if (entry.failedChecks?.length) lines.push('', 'failed checks:', ...entry.failedChecks.map(c => `- ${c}`));
  const canary = change.state.canary;
  if (limits && canary) {
    lines.push('', `failed checks in this run: ${canary.failedChecks} of ${limits.maxFailedChecks}`,
      `holds in a row: ${canary.consecutiveHolds} (roll back beyond ${limits.maxConsecutiveHolds})`);
  }
  return `${lines.join('\n')}\n`;
}

/** What a decision by hand does, as a verb. */
const BY_HAND_VERBS: Readonly<Record<string, string>> = { start: 'start', promote: 'promote', rollback: 'roll back' };

function describeOutcome(r: { service: string; env: string; decision: string; reason: string } & Outcome): string {
  if (r.dryRun) return `dry run: ${r.env}/${r.service} would ${BY_HAND_VERBS[r.decision] ?? r.decision} (${r.reason}); nothing changed`;
  return `${r.env}/${r.service}: ${r.reason}; wrote ${r.changed.join(', ')}${r.commit ? `; committed ${r.commit}` : ''}`;
}
