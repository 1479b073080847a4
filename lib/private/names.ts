/**
 * A DNS-1123 label, as Kubernetes names most objects (and this project names services, namespaces, Secrets,
 * receivers): lower-case letters, digits and `-`, at most 63 characters, starting and ending alphanumeric. The one
 * pattern every check and JSON Schema uses.
 */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

/** {@link DNS_LABEL_PATTERN} as a regular expression. */
export const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);

/**
 * A DNS-1035 label: a {@link DNS_LABEL_PATTERN} that starts with a letter, as Kubernetes requires of a Service's name
 * (and this project of a service's, which names its Service).
 */
export const DNS_1035_LABEL_PATTERN = '^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$';

/** A Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of up to 63 characters. */
export const LABEL_KEY_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
/** A Kubernetes label value: empty, or up to 63 characters starting and ending alphanumeric. */
export const LABEL_VALUE_PATTERN = '^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$';

/**
 * HTTP header names whose values are credentials: `X-Api-Key`, `X-Auth-Token`, `X-Grafana-Secret`, … A tenant id
 * (`X-Scope-OrgID`) is not one.
 */
export const CREDENTIAL_HEADER = /key|token|secret|auth|passw|credential|signature|session/i;

/**
 * Environment variable names of credentials, by the words people end them with: `DB_PASSWORD`, `PGPASSWORD`,
 * `GITHUB_TOKEN`, `STRIPE_API_KEY`, `AWS_SECRET_ACCESS_KEY`, `SERVICE_CREDENTIALS`, also with a qualifier after it
 * (`DB_PASSWORD_PLAIN`, `API_TOKEN_B64`, `ADMIN_PASSWORD_HASH`). Narrower than {@link CREDENTIAL_HEADER}: `TOKEN_TTL`,
 * `AUTH_URL`, `PASSWORD_MIN_LENGTH`, `SUDO_NOPASSWD` and `CACHE_KEY_PREFIX` name no credential, nor do
 * {@link NOT_CREDENTIAL_VARIABLE}'s.
 */
export const CREDENTIAL_VARIABLE = new RegExp(
  '(?:(?:^|_)(?:PASS(?:WORD|WD)?|PWD|SECRET|TOKEN|(?:API|ACCESS|PRIVATE|SECRET|SIGNING|ENCRYPTION|HMAC|MASTER)_?KEY(?:_BASE)?|CREDENTIALS?)'
  + '|(?<!NO)PASSWORD|(?<!NO)PASSWD)(?:_(?:PLAIN|CLEAR|CLEARTEXT|RAW|VALUE|TEXT|STR|STRING|LITERAL|B64|BASE64|ENCODED|ENC|HASH))?$', 'i');

/** Names whose words read like a credential's but name settings: a prompt's text, a hash algorithm. */
const NOT_CREDENTIAL_VARIABLE = /^(?:PASSWORD|TOKEN|SECRET)_(?:TEXT|HASH)$/i;

/** The values that are switches, not secrets: `true`, `off`, `enabled`, … */
const SWITCHES = 'true|false|yes|no|on|off|enabled?|disabled?';
const SWITCH = new RegExp(`^(?:${SWITCHES})$`, 'i');

/**
 * A credential written into a value: a URL's `user:password@` (or Redis's `:password@`); a `name=value` pair of a
 * connection string, query, command line or JVM option whose name ends in a password or secret (`password=`,
 * `db_password=`, `--password=`, `-Dspring.datasource.password=`, `keyStorePassword=`, `client_secret=`), is an access
 * token's (`token=`, `access_token=`, `refresh_token=`, not `max_token=`) or an API or account key's (`api_key=`, Azure's
 * `AccountKey=`), unless its value is a switch; or a token of a well-known form (Stripe's `sk_live_`, GitHub's `ghp_`
 * and `github_pat_`, GitLab's `glpat-`, Slack's `xoxb-` and webhook URLs, AWS access key ids, Google API keys, PEM
 * private keys).
 */
export const CREDENTIAL_IN_VALUE = new RegExp(':\\/\\/[^/\\s:@]*:[^/\\s@]+@'
  + '|(?:^|[?&;\\s])(?:[\\w.-]*?(?:password|passwd|pwd|secret)|(?:[\\w.-]*?(?:access|refresh|auth|id|bearer|session|client)[_.-]?)?token'
  + `|[\\w.-]*?api[_-]?key|accountkey|sharedaccesskey)=(?=[^\\s;&])(?!(?:${SWITCHES})(?:[\\s;&]|$))`
  + '|\\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{8,}|\\bgh[pousr]_[0-9A-Za-z]{20,}|\\bgithub_pat_\\w{20,}|\\bglpat-[\\w-]{20,}'
  + '|\\bxox[abposr]-[\\w-]{10,}|hooks\\.slack\\.com\\/services\\/|\\bAKIA[0-9A-Z]{16}\\b|\\bAIza[\\w-]{30,}|-----BEGIN [A-Z ]*PRIVATE KEY-----', 'i');

/**
 * A reference that holds no literal: Kubernetes' `$(VAR)`, which the kubelet expands from the container's variables,
 * and a placeholder the program resolves itself (`${DB_PASSWORD}`: Spring, shells), not one with a default written
 * into it (`${DB_PASSWORD:-hunter2}`).
 */
const VARIABLE_REFERENCE = /\$\([A-Za-z_][A-Za-z0-9_]*\)|\$\{[A-Za-z_][\w.]*\}/g;

/**
 * Whether a value given to something named like a credential is a literal secret: not a file's path (a
 * `GOOGLE_APPLICATION_CREDENTIALS` names a key file a Secret mounts), not a switch, not references alone.
 */
function isLiteralSecret(value: string): boolean {
  return !/^\/\S*$/.test(value) && !SWITCH.test(value) && value.replace(VARIABLE_REFERENCE, '') !== '';
}

/** Whether a name (of a variable, or a flag's words) names a credential: {@link CREDENTIAL_VARIABLE}, less the settings alike. */
function namesCredential(name: string): boolean {
  return CREDENTIAL_VARIABLE.test(name) && !NOT_CREDENTIAL_VARIABLE.test(name);
}

/** Whether a literal holds a credential ({@link CREDENTIAL_IN_VALUE}) once its references, which hold none, are left out. */
export function hasCredentialInValue(value: string): boolean {
  return CREDENTIAL_IN_VALUE.test(value.replace(VARIABLE_REFERENCE, ''));
}

/**
 * Why a container variable holds a credential as a literal: its name says it is one (unless its value is a path: a
 * `GOOGLE_APPLICATION_CREDENTIALS` names a key file a Secret mounts), or its value has one ({@link hasCredentialInValue});
 * undefined when neither, or when the value is no literal (a field reference, an empty string).
 */
export function literalCredentialIn(name: string, value: unknown): 'its name says it is one' | 'its value has one' | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (namesCredential(name) && isLiteralSecret(value)) return 'its name says it is one';
  return hasCredentialInValue(value) ? 'its value has one' : undefined;
}

/**
 * The indexes of the arguments of a command line that hold a credential as a literal: the value of a flag named like
 * one (`--password=…`, `--api-token …`: its name read as {@link CREDENTIAL_VARIABLE} reads a variable's), or a value
 * with one in it ({@link hasCredentialInValue}). A `$(VAR)` reference to a variable from a Secret, or a file's path,
 * is what such a flag should be given.
 */
export function credentialArguments(args: readonly string[]): number[] {
  const literal = (value: string | undefined): boolean => value !== undefined && isLiteralSecret(value);
  const found = new Set<number>();
  args.forEach((arg, i) => {
    // a script (`sh -c "exec app --password=…"`): its words, as the shell will pass them
    if (/\s/.test(arg.trim()) && credentialArguments(arg.trim().split(/\s+/)).length > 0) found.add(i);
    const flag = /^--?([A-Za-z][\w.-]*)(?:=([\s\S]*))?$/.exec(arg);
    // `--api-token`, `-Djavax.net.ssl.keyStorePassword`, `--jwtSecret`: words split as a variable's name is
    const named = flag !== null && namesCredential(flag[1].replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[-.]/g, '_'));
    if (named && flag[2] !== undefined && literal(flag[2])) found.add(i);
    if (named && flag[2] === undefined && i + 1 < args.length && !args[i + 1].startsWith('-') && literal(args[i + 1])) found.add(i + 1);
    if (hasCredentialInValue(arg)) found.add(i);
  });
  return [...found].sort((a, b) => a - b);
}
