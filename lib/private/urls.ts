/**
 * The user information of a URL (`scheme://user:password@`): what may come before the last `@` that follows the
 * scheme, as URL parsers read it (an unencoded `@` or `/` in a password belongs to it; a path's `@` is hidden too).
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s]*@/gi;

/** Whether an http(s) URL carries user information (credentials), which must never reach a manifest or a message. */
export function httpUrlHasCredentials(url: string): boolean {
  return /^https?:\/\/[^\s@]+@/i.test(url);
}

/** `text` with the user information of every URL in it replaced by `[credentials]` (git and fetch quote URLs). */
export function withoutCredentials(text: string): string {
  return text.replace(USERINFO, '$1[credentials]@');
}

/**
 * A URL as a message may show it: its user information hidden ({@link withoutCredentials}), and the whole value hidden
 * when an `@` is left (a URL without a scheme, `user:password@host`, or one a parser would not read).
 */
export function shownUrl(value: string): string {
  const hidden = withoutCredentials(value);
  return hidden.replace(/\[credentials\]@/g, '').includes('@') ? '(a value with an "@", not shown)' : hidden;
}

/** The port a URL reaches: the one it names, else 80 for http and 443 for https. */
export function urlPort(url: string): number {
  const parsed = new URL(url);
  return parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
}
