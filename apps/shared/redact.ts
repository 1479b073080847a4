import { isNativeError } from 'node:util/types';

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/** What an e-mail address is replaced with. */
export const REDACTED_EMAIL = '[email]';

/** What a payment card number is replaced with. */
export const REDACTED_CARD = '[card]';

// One rule set for log lines (logger.ts) and spans (span-redaction.ts, tracing.ts). The Collector applies the same
// rules, in RE2 syntax, to every service's spans (lib/constructs/otel-collector-config.ts); a change here belongs
// there too, and tests/support/privacy-fixtures.ts holds the strings both must redact.

/**
 * Keys whose whole value is withheld: credentials, cookies, login-state ids (session, JSESSIONID, PHPSESSID, sid,
 * connect.sid), card verification codes (cvv, cvc, csc) and W3C `baggage` and `tracestate`, which are free-form
 * client data.
 */
const SECRET_KEY = new RegExp(String.raw`authorization|cookie|passw(?:or)?d|secret|token|api[-_]?key|access[-_]?key|session|sessid`
  + String.raw`|signature|credential|private[-_]?key|pwd|cvv|cvc|(?:^|[._-])(?:sid|sig|auth|pass|csc)$|baggage|tracestate`, 'i');

/**
 * Names of `name=value` pairs inside strings whose value is withheld, also nested (`user[password]`) or with
 * percent-encoded characters (`access%5Ftoken`, `api%5Fkey`, `user%5Bpass%5D`, which servers decode): credentials,
 * login-state ids and the signatures and credentials of presigned URLs (S3's `X-Amz-Signature`, `X-Amz-Credential`,
 * GCS's `X-Goog-Signature`, Azure SAS's `sig`, Google API keys' `key`); `sid` also as a suffix (`connect.sid`);
 * `pass`, `auth`, `sig` and `key` only as a whole name or in brackets (`user[pass]`), so that `passenger=`, `author=`,
 * `boarding_pass=`, `require_auth=` and `keyword=` stay.
 */
const NAME_CHAR = String.raw`[\w.%\[\]-]`;
const NAME_SEPARATOR = String.raw`(?:[-_]|%5F|%2D)?`;
const secretName = (nameChar: string): string => String.raw`${nameChar}*(?:passw(?:or)?d|pwd|secret|token|api${NAME_SEPARATOR}key|access${NAME_SEPARATOR}key|authorization|session|sessid`
  + String.raw`|signature|credential|private${NAME_SEPARATOR}key|cvv|cvc)`
  + String.raw`${nameChar}*|(?:${nameChar}*[._-])?sid|(?:${nameChar}*(?:\[|%5B))?(?:pass|auth|sid|sig|key|csc)(?:\]|%5D)?`;
const SECRET_NAME = secretName(NAME_CHAR);
/**
 * A name's character inside a percent-encoded value: never an encoded `&`, `/`, `;`, `=` or `?` (`%26`, `%2F`, `%3B`,
 * `%3D`, `%3F`), which end it or start it. Disjoint from the delimiters, so that each text has one reading: a class
 * that overlapped them backtracked exponentially on a run of `%3B`.
 */
const ENCODED_NAME_CHAR = String.raw`(?:[\w.\[\]-]|%[014-9a-f][0-9a-f]|%2[0-57-9a-e]|%3[0-9ace])`;

/**
 * A credential-named pair in a query string, cookie header, command line, path segment or message: `?access_token=…`,
 * `; sid=…`, `/reset/password=…`. Whitespace is spelled out as RE2's `\s` has it (the Collector's twin), not JavaScript's.
 */
const SECRET_PARAM = new RegExp(String.raw`(^|[?&;,\t\n\f\r /])((?:${SECRET_NAME})=)[^&;,#?\t\n\f\r ]*`, 'gi');

/**
 * The same pair percent-encoded inside another value, as OAuth's `redirect_uri=` and login pages' `next=` carry a
 * whole URL: `%3Faccess_token%3D…`, up to the next encoded `&` (`%26`).
 */
const ENCODED_SECRET_PARAM = new RegExp(String.raw`(^|[?&;,\t\n\f\r /=]|%3F|%26|%3B|%2F)((?:${secretName(ENCODED_NAME_CHAR)})%3D)`
  + String.raw`(?:[^&;,#?%\t\n\f\r ]|%[013-9a-f][0-9a-f]|%2[0-57-9a-f])*`, 'gi');

/** A `Cookie:` or `Set-Cookie:` header written out in a string (a dumped request, an error message). */
const COOKIE_LINE = /\b((?:set-)?cookie:[ \t]*)[^\r\n]*/gi;

/** An `Authorization` value: the scheme stays, the credentials go (at least 8 characters, so prose like "basic auth" stays). */
const AUTH_SCHEME = /\b((?:bearer|basic)[ \t]+)[\w.~+/-]{8,}=*/gi;

/**
 * The authentication schemes an `Authorization` value may start with (IANA's registry and common vendors'); the
 * Collector's twin lists the same.
 */
export const AUTH_SCHEMES = 'bearer|basic|token|digest|apikey|api-key|negotiate|ntlm|hoba|mutual|aws4-hmac-sha256|dpop|gnap|oauth|sso-key|sharedkey|key';

/**
 * An `Authorization:` or `Proxy-Authorization:` header written out in a string, whatever its scheme: a known scheme
 * word stays (`Token`, `Digest`, `ApiKey`), the rest of the line goes; so does the whole value when it starts with no
 * scheme (a bare key).
 */
const AUTHORIZATION_LINE = new RegExp(String.raw`\b((?:proxy-)?authorization:[ \t]*(?:(?:${AUTH_SCHEMES})[ \t]+)?)[^\r\n]+`, 'gi');

/**
 * A URL's user information (`postgres://app:PASSWORD@db:5432`, `https://TOKEN@host`), as drivers and clients put the
 * connection string into their error messages: the whole of it goes, up to the last `@` before what user information
 * cannot hold (the path, a double quote, angle brackets, whitespace spelled out as RE2's `\s` has it, for the
 * Collector's twin). A password may hold `,`, `;` and `'`; so text after a URL up to an `@` may go too.
 */
const URL_USERINFO = /\b([a-z][a-z\d+.-]*:\/\/)[^\t\n\f\r /?#"<>]+@/gi;

/** A JSON Web Token: base64url header (`{"` encodes as `eyJ`), payload and a possibly empty signature. */
const JWT = /eyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*/g;

/** An e-mail address's parts after its local part: `@` (or `%40`), the domain and a top-level domain. */
const EMAIL_DOMAIN = String.raw`(?:@|%40)[\w-]+(?:(?:\.|%2E)[\w-]+)*(?:\.|%2E)[a-z]{2,}`;

/**
 * An e-mail address, also with a URL-encoded `@` and dots (`%40`, `%2E`), starting only where a run of the local
 * part's characters starts: tried from every position inside a run, as a plain leftmost scan does, it took time
 * quadratic in the run's length (a 15 KB header of `a%40…` runs cost ~11 ms per scan, three scans a request:
 * bench/redact.ts). An address right after another one (`a@x.org+b@y.org`) starts inside a run: {@link EMAIL_NEXT}.
 */
const EMAIL = new RegExp(String.raw`(?<![\w.%+-])[\w.%+-]+${EMAIL_DOMAIN}`, 'gi');
/** An address starting exactly where the last one ended (sticky): the leftmost scan's next match in that run, if any. */
const EMAIL_NEXT = new RegExp(String.raw`[\w.%+-]+${EMAIL_DOMAIN}`, 'iy');

/** `text` with every e-mail address replaced: the matches of a leftmost scan of {@link EMAIL_NEXT}'s pattern, in linear time. */
function redactEmails(text: string): string {
  let out = '';
  let done = 0;
  EMAIL.lastIndex = 0;
  for (let match = EMAIL.exec(text); match !== null; match = EMAIL.exec(text)) {
    out += text.slice(done, match.index) + REDACTED_EMAIL;
    done = EMAIL.lastIndex;
    // the rest of this run can hold an address only if one starts right here (the class covers every character up to
    // any later start): one sticky try per address found, not one per position
    for (EMAIL_NEXT.lastIndex = done; EMAIL_NEXT.exec(text) !== null; done = EMAIL_NEXT.lastIndex) out += REDACTED_EMAIL;
    EMAIL.lastIndex = done;
  }
  return out + text.slice(done);
}

/**
 * A payment card number (PAN): 13 to 19 digits, optionally grouped by spaces, hyphens, `+` or `%20` (a URL-encoded
 * space), starting with 2 to 6 as the card schemes' numbers do (Mastercard 2 and 5, American Express, Diners and JCB
 * 3, Visa 4, Discover, UnionPay and Maestro 6), so that epoch timestamps in milliseconds or nanoseconds (1…) never
 * match. Only Luhn-valid candidates are replaced, so most other long numbers survive: a random one passes the check
 * one time in ten.
 */
const CARD_CANDIDATE = /\b[2-6](?:(?:[ +-]|%20)?\d){12,18}\b/g;

/**
 * The longest run without a separator (`&`, `;`, `,`, `#`, `?`, whitespace) that the rules below scan; a longer one is
 * withheld whole. Every secret they find (a pair's name and value, an address, a token) lies inside one such run, and
 * some rules take time quadratic in a run's length (a name of repeated `cvv`, an address of repeated `a.`): a client's
 * 16 KB header must not cost the event loop more than the request itself. The Collector's RE2 rules are linear and keep
 * such runs.
 */
export const MAX_SCANNED_RUN = 512;
const LONG_RUN = new RegExp(String.raw`(?<![^&;,#?\s])[^&;,#?\s]{${MAX_SCANNED_RUN + 1},}`, 'g');

const MAX_DEPTH = 8;

/** Whether a key names a value that is withheld as a whole (see {@link scrub}). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * A copy of `value` safe to log or export: values under keys that name credentials, cookies, login-state ids or
 * `baggage` become `[redacted]`, and strings are scrubbed by {@link scrubText}. Errors become plain objects so their
 * messages are scrubbed too.
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  // isNativeError also catches errors from another realm (Node's bundled undici, jest sandboxes)
  if (value instanceof Error || isNativeError(value)) return scrub(errorFields(value), depth);
  if (Array.isArray(value)) return value.map(item => scrub(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = scrubField(key, item, depth + 1);
  return copy;
}

/** The value of the field `key` as {@link scrub} leaves it in an object. */
export function scrubField(key: string, value: unknown, depth = 1): unknown {
  return isSecretKey(key) && value !== undefined && value !== null ? REDACTED : scrub(value, depth);
}

/**
 * `text` without secrets: the credentials of `Cookie:` and `Authorization:` lines, of `Bearer`/`Basic` values and of
 * URLs (`scheme://user:password@`), the values of
 * credential-named `key=value` pairs (`?access_token=…`, `password=…`, `sessionid=…`, `JSESSIONID=…`), JSON Web
 * Tokens (all `[redacted]`), e-mail addresses (`[email]`) and Luhn-valid card numbers (`[card]`).
 */
export function scrubText(text: string): string {
  // cheap checks first: most strings contain none of the markers, and the regexes are the expensive part
  let out = text.length > MAX_SCANNED_RUN ? text.replace(LONG_RUN, REDACTED) : text;
  if (/cookie/i.test(out)) out = out.replace(COOKIE_LINE, `$1${REDACTED}`);
  if (/authorization:/i.test(out)) out = out.replace(AUTHORIZATION_LINE, `$1${REDACTED}`);
  if (/bearer|basic/i.test(out)) out = out.replace(AUTH_SCHEME, `$1${REDACTED}`);
  if (out.includes('://')) out = out.replace(URL_USERINFO, `$1${REDACTED}@`);
  if (out.includes('=')) out = out.replace(SECRET_PARAM, `$1$2${REDACTED}`);
  if (/%3D/i.test(out)) out = out.replace(ENCODED_SECRET_PARAM, `$1$2${REDACTED}`);
  if (out.includes('eyJ')) out = out.replace(JWT, REDACTED);
  if (out.includes('@') || /%40/i.test(out)) out = redactEmails(out);
  if (out.length >= 13) out = out.replace(CARD_CANDIDATE, candidate => (luhnValid(candidate) ? REDACTED_CARD : candidate));
  return out;
}

/** The Luhn checksum of the digits of `candidate` (separators and `%20` ignored). */
export function luhnValid(candidate: string): boolean {
  const digits = candidate.replace(/%20/g, '').replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function errorFields(error: Error): Record<string, unknown> {
  const { code, status } = error as Error & { code?: unknown; status?: unknown };
  return { type: error.name, message: error.message, stack: error.stack, code, status, cause: error.cause };
}
