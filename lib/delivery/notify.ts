import { isDuration, parseDuration } from '../rollout/duration';
import { Change } from './plan';
import { GateReport, Outcome, errorRatioOf, measuredRowsOf, movementOf, showValue } from './report';

/**
 * Notifications of canary decisions to a Slack-compatible incoming webhook: which decisions get one
 * ({@link shouldNotify}), the message ({@link notificationOf}) and its delivery ({@link postNotification}). Pure but
 * for the last; the CLI decides, prints and commits first, and a message that cannot be sent changes none of that.
 *
 * @packageDocumentation
 */

/** A decision of the SLO gate: the report of one `canary advance`. */
export interface GateDecided {
  readonly by: 'gate';
  readonly report: GateReport;
}

/** A change a person made: `canary start` (`--ungated` too), `canary promote` or `canary rollback`. */
export interface HandDecided {
  readonly by: 'cli';
  readonly env: string;
  /** The change as planned (`startCanary`, `releaseUngated`, `endCanaryByHand`): the new state and its history entry. */
  readonly change: Change;
  /** What was written: a dry run notifies nobody; the commit is named. */
  readonly outcome: Outcome;
  /**
   * The first of the service's steps, the weight a started canary gets once it runs ready (`settingsOf(...).steps[0]`).
   * @default - a start's message names no first weight
   */
  readonly firstStep?: number;
}

/** A decision that may be notified. */
export type Decided = GateDecided | HandDecided;

/**
 * What a message announces:
 * - `start`: a canary started at 0 % (only the pin reaches it);
 * - `advance`: a step, the first weighted one included;
 * - `hold-limit`: the last hold the run can take: the next one ends it (see {@link shouldNotify});
 * - `promote`: each commit of a promotion (stable rolls out the release; all traffic to stable; the canary removed), and
 *   an ungated release;
 * - `rollback`: each commit of a roll back (all traffic to stable; the canary removed).
 */
export type NotificationKind = 'start' | 'advance' | 'hold-limit' | 'promote' | 'rollback';

/** Holds that count as holds in a row (the gate measured, or tried to, and had no verdict or a failed check). */
const COUNTED_HOLDS: ReadonlySet<string> = new Set(['no-data', 'too-little-traffic', 'inconclusive', 'failed-check']);

/**
 * The limit a gate hold brought its run to, in words, or undefined when it reached none: the hold is the last the run
 * can take when the next counted hold goes beyond `maxConsecutiveHolds` (its holds in a row are now exactly the
 * maximum), or when the next failed check reaches `maxFailedChecks` (this hold is a failed check that made the run's
 * count the maximum less one).
 */
function limitReached(r: GateReport): string | undefined {
  if (r.decision !== 'hold' || r.hold === null || !COUNTED_HOLDS.has(r.hold)) return undefined;
  const t = r.thresholds;
  const limits: string[] = [];
  if (r.hold === 'failed-check' && r.failedCheckCount === t.maxFailedChecks - 1) {
    limits.push(`failed checks ${r.failedCheckCount} of ${t.maxFailedChecks}: the next failed check rolls the canary back`);
  }
  if (r.consecutiveHolds === t.maxConsecutiveHolds) {
    limits.push(`holds in a row ${r.consecutiveHolds} of ${t.maxConsecutiveHolds}: the next hold ends the canary run (fail safe)`);
  }
  return limits.length > 0 ? limits.join('; ') : undefined;
}

/** What a decision is, as its message shows it: a {@link NotificationKind}, or a hold or `none` that is not notified. */
type ShownKind = NotificationKind | 'hold' | 'none';

function shownKindOf(d: Decided): ShownKind {
  if (d.by === 'cli') return d.change.entry.decision;
  const r = d.report;
  return r.decision === 'hold' && limitReached(r) !== undefined ? 'hold-limit' : r.decision;
}

/** What a decision's message announces, or null when it gets none ({@link shouldNotify}). */
export function notificationKindOf(d: Decided): NotificationKind | null {
  const dryRun = d.by === 'gate' ? d.report.dryRun : d.outcome.dryRun;
  const kind = shownKindOf(d);
  return dryRun || kind === 'hold' || kind === 'none' ? null : kind;
}

/**
 * Whether a decision gets a message: exactly one for each decision that commits a move, none for a dry run (it changes
 * nothing), a plain hold or no canary in flight. Notified:
 * - `start`, each `advance`, and each commit of a promotion or roll back (`promote`, `rollback`, by the gate or by
 *   hand): each changes what runs or where traffic goes, and the last one frees the service for the next release;
 * - of the holds, only the last one the run can take, so that a person can look before the gate ends the run on its
 *   own: a counted hold (no data, too little traffic, inconclusive, a failed check; not applying, applied or dwelling,
 *   which do not count) that leaves exactly `maxConsecutiveHolds` holds in a row (the next one rolls back, fail safe),
 *   or a failed check that leaves the run's count at `maxFailedChecks − 1` (the next one rolls back). Each happens once
 *   per streak or run, so one message. The first hold of a step is not notified: every step begins with holds (applied,
 *   dwelling, too little traffic at night) that resolve themselves, and a first failed check is measured again next
 *   window; a channel that reports them would be muted, and the step summary and exit code 3 show them already.
 */
export function shouldNotify(d: Decided): boolean {
  return notificationKindOf(d) !== null;
}

/** Text in Slack's `mrkdwn`. */
export interface MrkdwnText {
  readonly type: 'mrkdwn';
  readonly text: string;
}

/** The blocks a message uses: a section with text, one with fields (two columns), a context line. */
export type MessageBlock =
  | { readonly type: 'section'; readonly text: MrkdwnText }
  | { readonly type: 'section'; readonly fields: readonly MrkdwnText[] }
  | { readonly type: 'context'; readonly elements: readonly MrkdwnText[] };

/**
 * A Slack-compatible incoming-webhook message: `text` for notifications and for clients that show no blocks (it holds
 * the decision and its reason), `blocks` with the numbers. Within Slack's limits: at most 3000 characters a text,
 * 2000 a field, 10 fields.
 */
export interface WebhookMessage {
  readonly text: string;
  readonly blocks: readonly MessageBlock[];
}

const SECTION_LIMIT = 3000;
const FIELD_LIMIT = 2000;
const MAX_FIELDS = 10;

const clip = (text: string, limit: number): string => (text.length <= limit ? text : `${text.slice(0, limit - 1)}…`);
/** Slack's three control characters, escaped as its formatting guide asks (`p95Ms: 260.5 > 250`). */
const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const mrkdwn = (text: string, limit = SECTION_LIMIT): MrkdwnText => ({ type: 'mrkdwn', text: clip(text, limit) });
const field = (name: string, value: string): MrkdwnText => mrkdwn(`*${esc(name)}*\n${value}`, FIELD_LIMIT);
const code = (text: string): string => `\`${esc(text)}\``;

const EMOJI: Record<ShownKind, string> = {
  'start': ':seedling:',
  'advance': ':arrow_up:',
  'hold-limit': ':warning:',
  'hold': ':pause_button:',
  'promote': ':white_check_mark:',
  'rollback': ':rotating_light:',
  'none': ':information_source:',
};

/** What every message is made of, before it is laid out. */
interface Draft {
  readonly kind: ShownKind;
  /** `prod/gateway: advance 10% → 25%`, plain. */
  readonly headline: string;
  readonly reason: string;
  readonly fields: readonly MrkdwnText[];
  /** A list under the fields (the failed checks), or none. */
  readonly list?: { readonly title: string; readonly items: readonly string[] };
  /** The context line's parts, plain. */
  readonly context: readonly string[];
}

/** Requests per second over a window, to 2 decimals, or undefined when the window's length cannot be read. */
function ratePerSecond(requests: number | null, window: string): string | undefined {
  if (requests === null || !isDuration(window, { positive: true })) return undefined;
  return `${Math.round((requests / (parseDuration(window) / 1000)) * 100) / 100}/s`;
}

/** The numbers of a gate run that measured, as fields: requests, success and error ratio, p95, p99. */
function measuredFields(r: GateReport): MrkdwnText[] {
  const window = r.window;
  if (!window) return [];
  const m = r.measurements;
  const t = r.thresholds;
  const rows = new Map(measuredRowsOf(r).map(row => [row.name, row]));
  const pair = (canary: string, stable: string, limit: string): string => esc(`canary ${canary} · stable ${stable}\nlimit ${limit}`);
  const requests = rows.get('requests')!;
  const rate = ratePerSecond(m.requests, window.length);
  const success = rows.get('success ratio')!;
  const errorLimit = `≤ ${errorRatioOf(t.successRatio)}${t.maxErrorRatioIncrease === null ? '' : `; ≤ stable's + ${t.maxErrorRatioIncrease}`}`;
  const latency = (name: 'p95 latency' | 'p99 latency'): MrkdwnText => {
    const row = rows.get(name)!;
    return field(name, pair(row.canary, row.stable, row.limit));
  };
  return [
    field('requests', pair(`${requests.canary} of ${showValue(m.requests)} in ${window.length}${rate ? ` (${rate} in all)` : ''}`, requests.stable, requests.limit)),
    field('success ratio', pair(success.canary, success.stable, success.limit)),
    field('error ratio', pair(showValue(errorRatioOf(m.successRatio)), showValue(errorRatioOf(r.baseline?.successRatio)), errorLimit)),
    latency('p95 latency'),
    latency('p99 latency'),
  ];
}

function gateDraft(r: GateReport): Draft {
  const t = r.thresholds;
  const limit = r.decision === 'hold' ? limitReached(r) : undefined;
  const movement = movementOf(r.decision, r.fromWeight, r.toWeight);
  const fields: MrkdwnText[] = [];
  if (r.image !== null) fields.push(field('image', code(r.image)));
  fields.push(field('weight', esc(`${r.fromWeight}% → ${r.toWeight}%`)), ...measuredFields(r));
  if (r.decision === 'hold' || r.decision === 'rollback') {
    fields.push(field('counters', esc(`failed checks ${r.failedCheckCount} of ${t.maxFailedChecks} · holds in a row ${r.consecutiveHolds} of ${t.maxConsecutiveHolds}`)));
  }
  if (r.commit) fields.push(field('commit', code(r.commit)));
  return {
    kind: limit === undefined ? r.decision : 'hold-limit',
    headline: `${r.env}/${r.service}: ${movement}${limit === undefined ? '' : ', at its limit'}`,
    reason: limit === undefined ? r.reason : `${r.reason} (${limit})`,
    fields,
    ...(r.failedChecks.length > 0 ? { list: { title: 'failed checks', items: r.failedChecks } } : {}),
    context: ['by the gate', ...(r.window ? [`window ${r.window.length}, ${r.window.start} to ${r.window.end}`] : [])],
  };
}

function handDraft(d: HandDecided): Draft {
  const { entry, state } = d.change;
  const where = `${d.env}/${state.service}`;
  const fields: MrkdwnText[] = [field('image', code(entry.image))];
  if (entry.decision === 'start') {
    const first = d.firstStep === undefined ? '' : `; ${d.firstStep}% once the gate sees it run ready`;
    fields.push(field('weight', esc(`0% now (only the pin reaches it)${first}`)), field('stable', code(state.stable.image)));
  } else {
    fields.push(field('weight', esc(`${entry.fromWeight}% → ${entry.toWeight}%`)));
  }
  if (d.outcome.commit) fields.push(field('commit', code(d.outcome.commit)));
  return {
    kind: entry.decision,
    headline: entry.decision === 'start' ? `${where}: canary started` : `${where}: ${movementOf(entry.decision, entry.fromWeight, entry.toWeight)}`,
    reason: entry.reason,
    fields,
    ...(entry.failedChecks?.length ? { list: { title: 'failed checks', items: entry.failedChecks } } : {}),
    context: ['by hand'],
  };
}

/**
 * The message of a decision: a headline with its reason (the fallback `text`, and the first section), the numbers as
 * fields (for the gate: requests and rate, success and error ratio, p95 and p99, each canary · stable with its limit,
 * as the step summary shows them; the counters of a hold or roll back), the failed checks, and who decided. Any
 * decision can be described; {@link shouldNotify} says which are sent.
 */
export function notificationOf(d: Decided): WebhookMessage {
  const draft = d.by === 'gate' ? gateDraft(d.report) : handDraft(d);
  const blocks: MessageBlock[] = [
    { type: 'section', text: mrkdwn(`${EMOJI[draft.kind]} *${esc(draft.headline)}*\n${esc(draft.reason)}`) },
    { type: 'section', fields: draft.fields.slice(0, MAX_FIELDS) },
  ];
  if (draft.list) {
    blocks.push({ type: 'section', text: mrkdwn(`*${esc(draft.list.title)}*\n${draft.list.items.map(item => `• ${esc(item)}`).join('\n')}`) });
  }
  blocks.push({ type: 'context', elements: [mrkdwn(esc(draft.context.join(' · ')))] });
  return { text: clip(esc(`${draft.headline}: ${draft.reason}`), SECTION_LIMIT), blocks };
}

/** How a message is sent. */
export interface PostOptions {
  /** Time budget of the request, connection and answer included, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * The fetch to send with.
   * @default - the global fetch
   */
  readonly fetch?: typeof fetch;
}

/** Whether a message was delivered; the error names the webhook's host at most, never its URL. */
export type PostResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** Every piece of the URL after its host: an incoming webhook's path (and any query) is its credential. */
function secretParts(url: URL): string[] {
  return [url.href, url.pathname, url.search, url.username, url.password, url.hash, ...url.pathname.split('/'), ...url.search.slice(1).split(/[&=]/)]
    .flatMap(part => [part, safeDecode(part)])
    .filter(part => part.length > 0 && part !== '/');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `text` when it is a short word or phrase that holds no piece of the URL (Slack answers `invalid_token`), else undefined. */
function safeDetail(text: string, url: URL): string | undefined {
  const detail = text.trim();
  if (!/^[\w .:-]{1,80}$/.test(detail)) return undefined;
  return secretParts(url).some(part => detail.includes(part) || part.includes(detail)) ? undefined : detail;
}

/**
 * POSTs a message as JSON to an incoming webhook, within `timeoutMs`, without following redirects (they would carry the
 * message elsewhere). Never throws: the result says whether the webhook answered 2xx, and if not why (`HTTP 404:
 * no_service`, `no answer within 5000 ms`, `unreachable (ECONNREFUSED)`). The error names the host at most: the
 * URL's path is the credential of a Slack webhook, so neither it nor any part of it, nor of the query, appears, nor an
 * answer or error text that could echo it.
 */
export async function postNotification(url: string, message: WebhookMessage, options: PostOptions): Promise<PostResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { ok: false, error: 'the webhook URL is not a valid URL; check CANARY_WEBHOOK_URL (the delivery.webhook Secret)' };
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    return { ok: false, error: `the webhook URL must be https:// (or http://), got ${target.protocol}//…; check CANARY_WEBHOOK_URL` };
  }
  const where = `webhook at ${target.host}`;
  try {
    const send = options.fetch ?? fetch;
    const response = await send(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const answer = await response.text();
    if (response.status >= 200 && response.status < 300) return { ok: true };
    const detail = safeDetail(answer, target);
    return { ok: false, error: `${where} answered HTTP ${response.status}${detail === undefined ? '' : `: ${detail}`}` };
  } catch (error) {
    const e = (error ?? {}) as { name?: unknown; code?: unknown; cause?: { code?: unknown } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { ok: false, error: `${where}: no answer within ${options.timeoutMs} ms` };
    // a system error's code (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET) says why without echoing the URL; messages might
    const errorCode = [e.cause?.code, e.code].find((c): c is string => typeof c === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(c)
      && !secretParts(target).some(part => part.includes(c)));
    return { ok: false, error: errorCode === undefined ? `${where}: the request failed` : `${where}: unreachable (${errorCode})` };
  }
}
