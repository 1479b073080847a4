/**
 * A DNS-1123 label, as Kubernetes names most objects (and this project names services, namespaces, Secrets,
 * receivers): lower-case letters, digits and `-`, at most 63 characters, starting and ending alphanumeric. The one
 * pattern every check and JSON Schema uses.
 */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

/** {@link DNS_LABEL_PATTERN} as a regular expression. */
export const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);

/**
 * HTTP header names whose values are credentials: `X-Api-Key`, `X-Auth-Token`, `X-Grafana-Secret`, … A tenant id
 * (`X-Scope-OrgID`) is not one.
 */
export const CREDENTIAL_HEADER = /key|token|secret|auth|passw|credential|signature|session/i;
