import { Duration, Size } from 'cdk8s';
import { show } from '../errors';
import { ipv4CidrPrefix } from '../private/cidr';
import { goDuration } from '../private/units';
import { DNS_LABEL } from '../private/names';
import { shownUrl } from '../private/urls';

/**
 * Collects every problem found in a configuration object, each naming the field, the value received and what is
 * allowed, so that one run reports them all.
 */
export class Checks {
  private readonly problems: string[] = [];

  /** The problems found so far, in the order they were found. */
  public get errors(): readonly string[] {
    return [...this.problems];
  }

  /** Records a problem with `field` unless `ok`. */
  public expect(ok: boolean, field: string, value: unknown, allowed: string): void {
    if (!ok) this.problems.push(`'${field}' must be ${allowed}, got ${show(value)}`);
  }

  /** An integer in `[min, max]`. */
  public integer(field: string, value: number, min: number, max: number): void {
    this.expect(Number.isInteger(value) && value >= min && value <= max, field, value, `an integer from ${min} to ${max}`);
  }

  /** A number in `[min, max]`. */
  public number(field: string, value: number, min: number, max: number): void {
    this.expect(Number.isFinite(value) && value >= min && value <= max, field, value, `a number from ${min} to ${max}`);
  }

  /** A duration in `[min, max]`. */
  public duration(field: string, value: Duration, min: Duration, max: Duration): void {
    // a value of another kind is the shape check's to name (validateEnvironment); here it must not stop the checks
    if (!(value instanceof Duration)) return this.expect(false, field, value, 'a Duration');
    const ms = value.toMilliseconds();
    this.expect(ms >= min.toMilliseconds() && ms <= max.toMilliseconds(), field, value,
      `a duration from ${goDuration(min)} to ${goDuration(max)}`);
  }

  /** A size in `[min, max]` that is a whole number of mebibytes. */
  public size(field: string, value: Size, min: Size, max: Size): void {
    if (!(value instanceof Size)) return this.expect(false, field, value, 'a Size');
    let mebibytes = Number.NaN;
    try {
      mebibytes = value.toMebibytes();
    } catch {
      // a fraction of a mebibyte: reported below
    }
    // the bound may be another field (a request up to its limit), reported on its own when it is no Size
    const most = max instanceof Size ? max.toMebibytes() : Number.POSITIVE_INFINITY;
    this.expect(Number.isInteger(mebibytes) && mebibytes >= min.toMebibytes() && mebibytes <= most, field,
      Number.isNaN(mebibytes) ? 'a fraction of a MiB' : `${mebibytes}Mi`,
      `a whole number of MiB from ${min.toMebibytes()}Mi to ${most}Mi`);
  }

  /** A duration of whole hours, as Loki's and Tempo's retention must be (a `Duration` of another kind is left to {@link duration}). */
  public wholeHours(field: string, value: Duration): void {
    if (value instanceof Duration) this.expect(Number.isInteger(value.toHours({ integral: false })), field, value, 'whole hours');
  }

  /** A DNS-1123 label: lower-case alphanumerics and '-', at most 63 characters. */
  public dnsLabel(field: string, value: string): void {
    this.expect(typeof value === 'string' && DNS_LABEL.test(value), field, value,
      'a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters)');
  }

  /** A DNS-1123 subdomain, such as a host name or a Kubernetes object name. */
  public dnsSubdomain(field: string, value: string): void {
    this.expect(typeof value === 'string' && value.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value), field, value,
      'a DNS-1123 subdomain (lower-case letters, digits, "-" and ".")');
  }

  /** An absolute http(s) URL. */
  public url(field: string, value: string, protocols: readonly string[] = ['http:', 'https:']): void {
    let ok = false;
    try {
      const url = new URL(value);
      // a user or password would be rendered into ConfigMaps, links and dashboards, where anyone who reads them sees it
      ok = protocols.includes(url.protocol) && url.username === '' && url.password === '';
    } catch {
      ok = false;
    }
    this.expect(ok, field, shownUrl(value), `an absolute URL with scheme ${protocols.map(p => p.slice(0, -1)).join(' or ')} and no credentials`);
  }

  /**
   * An IPv4 CIDR block such as `10.0.0.0/8`; with `widest`, one no wider than that prefix, `why` following the limit in
   * the message (what the block should hold instead).
   */
  public cidr(field: string, value: string, widest?: { readonly prefix: number; readonly why: string }): void {
    const prefix = ipv4CidrPrefix(value);
    this.expect(prefix !== undefined, field, value, 'an IPv4 CIDR block such as "10.0.0.0/8"');
    if (prefix !== undefined && widest) this.expect(prefix >= widest.prefix, field, value, `a block of /${widest.prefix} or narrower ${widest.why}`);
  }

  /** One of a fixed set of values. */
  public oneOf<T>(field: string, value: T, allowed: readonly T[]): void {
    this.expect(allowed.includes(value), field, value, `one of ${allowed.map(show).join(', ')}`);
  }

  /** A non-empty string without surrounding white space. */
  public text(field: string, value: string): void {
    this.expect(typeof value === 'string' && value.length > 0 && value.trim() === value, field, value,
      'a non-empty string without leading or trailing spaces');
  }
}

/** A configuration that failed validation; the message lists every problem. */
export class ConfigError extends Error {
  public constructor(public readonly subject: string, public readonly problems: readonly string[]) {
    super(`invalid ${subject}:\n${problems.map(p => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

