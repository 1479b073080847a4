import { isNativeError } from 'node:util/types';

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/** What an e-mail address is replaced with. */
export const REDACTED_EMAIL = '[email]';

const SECRET_KEY = /authorization|cookie|passw(or)?d|secret|token|api[-_]?key/i;
const EMAIL = /[\w.%+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/gi;
const SECRET_PARAM = /(^|[?&;,\s])([\w-]*(?:passw(?:or)?d|secret|token|api[-_]?key)[\w-]*=)[^&;,#\s]*/gi;
const MAX_DEPTH = 8;

/**
 * A copy of `value` safe to log: values under keys that name credentials (authorization, cookie, password, token,
 * secret, api key) become `[redacted]`, e-mail addresses in strings become `[email]`, and credential-named
 * `key=value` pairs inside strings (`?token=…`, `password=…`) lose their values. Errors become plain objects so
 * their messages are scrubbed too.
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  // isNativeError also catches errors from another realm (Node's bundled undici, jest sandboxes)
  if (value instanceof Error || isNativeError(value)) return scrub(errorFields(value), depth);
  if (Array.isArray(value)) return value.map(item => scrub(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = SECRET_KEY.test(key) && item !== undefined && item !== null ? REDACTED : scrub(item, depth + 1);
  }
  return copy;
}

function scrubString(text: string): string {
  // most strings contain neither, and the regexes are the expensive part
  const mayHaveEmail = text.includes('@') || text.includes('%40');
  const mayHaveParam = text.includes('=');
  if (!mayHaveEmail && !mayHaveParam) return text;
  let out = text;
  if (mayHaveEmail) out = out.replace(EMAIL, REDACTED_EMAIL);
  if (mayHaveParam) out = out.replace(SECRET_PARAM, `$1$2${REDACTED}`);
  return out;
}

function errorFields(error: Error): Record<string, unknown> {
  const { code, status } = error as Error & { code?: unknown; status?: unknown };
  return { type: error.name, message: error.message, stack: error.stack, code, status, cause: error.cause };
}
