/**
 * The user information of a URL (`scheme://user:password@`): what may come before the first `@` that follows the
 * scheme, a password's `/` included (an unencoded one makes the rest of the URL look like a path).
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s@]+@/gi;

/** Whether an http(s) URL carries user information (credentials), which must never reach a manifest or a message. */
export function httpUrlHasCredentials(url: string): boolean {
  return /^https?:\/\/[^\s@]+@/i.test(url);
}

/** `text` with the user information of every URL in it replaced by `[credentials]` (git and fetch quote URLs). */
export function withoutCredentials(text: string): string {
  return text.replace(USERINFO, '$1[credentials]@');
}

/** The port a URL reaches: the one it names, else 80 for http and 443 for https. */
export function urlPort(url: string): number {
  const parsed = new URL(url);
  return parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
}
