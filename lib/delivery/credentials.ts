import { CREDENTIAL_HEADER } from '../private/names';
import { UsageError } from './plan';

/** What the environment gives the CLI to authenticate to Prometheus. */
export interface PrometheusCredentials {
  /** `PROMETHEUS_TOKEN`: a bearer token. */
  readonly token?: string;
  /** `PROMETHEUS_USERNAME` and `PROMETHEUS_PASSWORD`: basic auth, both or neither. */
  readonly username?: string;
  readonly password?: string;
  /** `PROMETHEUS_HEADERS`: a JSON object of extra headers, such as `{"X-Scope-OrgID": "tenant-1"}`. */
  readonly headers?: string;
}

/** Where and how the gate asks Prometheus. */
export interface PrometheusEndpoint {
  /** The base URL, without credentials: the only form that reaches messages. */
  readonly url: string;
  /** The headers of every query: authorization and extra headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** Takes every secret the run was given out of a text (Prometheus' answers, before they are cut into messages). */
  readonly redact: (text: string) => string;
}

/** The shortest user name that is taken for a token when a URL gives no password (`https://TOKEN@host`). */
const TOKEN_MIN_LENGTH = 16;

/** Headers the extra headers may not set: authorization comes from its own variables, and the CLI sets the rest. */
const RESERVED = ['authorization', 'proxy-authorization', 'cookie', 'content-type', 'content-length', 'host', 'accept'];

/**
 * The Prometheus endpoint from a URL and the credentials of the environment. Credentials in the URL
 * (`https://user:password@host`) are taken out of it and sent as a basic-auth header, so that the URL that reaches
 * messages, the state history and commits has none; they conflict with the variables' token or basic auth.
 *
 * @param url a plain http(s) URL, perhaps with credentials (checked by the argument parser)
 * @param secrets collects every secret value given, for {@link Redactor}
 * @param defaults headers the environment implies (no secrets), such as its Mimir tenant; `PROMETHEUS_HEADERS` wins
 * @throws {@link UsageError} naming the variable at fault, never its value
 */
export function prometheusEndpointOf(url: string, credentials: PrometheusCredentials, secrets: Redactor,
  defaults: Readonly<Record<string, string>> = {}): PrometheusEndpoint {
  const parsed = new URL(url);
  const fromUrl = parsed.username !== '' || parsed.password !== ''
    ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
    : undefined;
  if (fromUrl) {
    secrets.add(parsed.password, fromUrl.password);
    // a token given as the user name alone (https://TOKEN@host) is the credential itself; a short one is a user name,
    // which would otherwise be taken out of image names and messages wherever it occurs
    if (fromUrl.password === '' && fromUrl.username.length >= TOKEN_MIN_LENGTH) secrets.add(parsed.username, fromUrl.username);
    parsed.username = '';
    parsed.password = '';
  }
  const { token, username, password } = credentials;
  secrets.add(token, password);
  if ((username === undefined) !== (password === undefined)) {
    throw new UsageError('PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD go together: set both for basic auth, or neither');
  }
  const given = [fromUrl && 'credentials in the URL', token !== undefined && 'PROMETHEUS_TOKEN', username !== undefined && 'PROMETHEUS_USERNAME/PASSWORD']
    .filter((s): s is string => typeof s === 'string');
  if (given.length > 1) throw new UsageError(`Prometheus takes one kind of credentials, got ${given.join(' and ')}: keep one`);
  const basic = fromUrl ?? (username !== undefined ? { username, password: password! } : undefined);
  const extra = extraHeaders(credentials.headers);
  // an API key is a secret, a tenant id (X-Scope-OrgID) is not: often the project's own name, it would be taken out of
  // every image name and message
  secrets.add(...Object.entries(extra).filter(([name]) => CREDENTIAL_HEADER.test(name)).map(([, value]) => value));
  // the environment's own (a Mimir tenant), unless PROMETHEUS_HEADERS names the same header
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(defaults).map(([name, value]) => [name.toLowerCase(), value])), ...extra,
  };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (basic) {
    const encoded = Buffer.from(`${basic.username}:${basic.password}`).toString('base64');
    secrets.add(encoded);
    headers.authorization = `Basic ${encoded}`;
  }
  // the URL without its credentials, as given otherwise (no trailing slash added)
  const clean = fromUrl ? parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '') : url;
  return { url: clean, headers, redact: text => secrets.redact(text) };
}

/** `PROMETHEUS_HEADERS` parsed: a JSON object of header names to values on one line. */
function extraHeaders(json: string | undefined): Record<string, string> {
  if (json === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new UsageError('PROMETHEUS_HEADERS must be a JSON object of header names and values, such as {"X-Scope-OrgID": "tenant-1"}; it is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError('PROMETHEUS_HEADERS must be a JSON object of header names and values, such as {"X-Scope-OrgID": "tenant-1"}');
  }
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!/^[A-Za-z0-9][-A-Za-z0-9]*$/.test(name) || RESERVED.includes(name.toLowerCase())) {
      throw new UsageError(`PROMETHEUS_HEADERS: ${JSON.stringify(name)} is not a header it may set (letters, digits and "-"; not `
        + `${RESERVED.join(', ')}: credentials go in PROMETHEUS_TOKEN or PROMETHEUS_USERNAME/PASSWORD)`);
    }
    if (typeof v !== 'string' || /[\r\n]/.test(v)) throw new UsageError(`PROMETHEUS_HEADERS: the value of ${name} must be a string on one line`);
    out[name.toLowerCase()] = v;
  }
  return out;
}

/**
 * Replaces every secret value the CLI was given (tokens, passwords, webhook URLs) with `[redacted]` in text that
 * leaves the process: output, the step summary, commit messages and the state history. The CLI keeps secrets out of
 * messages in the first place; this is the net under that.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  /** Adds secret values; empty ones and ones too short to be told from ordinary words (under 4 characters) are skipped. */
  public add(...values: ReadonlyArray<string | undefined>): void {
    for (const value of values) {
      if (value === undefined || value.length < 4) continue;
      // as given, as it would appear in a URL, and inside a JSON string (a quote or backslash in it escaped)
      for (const form of [value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]) this.secrets.add(form);
    }
  }

  /** `text` with every secret replaced, longest first. */
  public redact(text: string): string {
    let out = text;
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** A JSON value with every string in it (keys too) redacted, as the strings are, not as JSON escapes them. */
  public redactJson<T>(value: T): T {
    if (this.secrets.size === 0) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.redact(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.redact(k), walk(x)]));
      return v;
    };
    return walk(value) as T;
  }
}
