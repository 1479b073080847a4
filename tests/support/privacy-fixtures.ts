/**
 * Secrets a client can put into a request, shared by the tests of the services' redaction (tests/apps) and of the
 * Collector's (tests/constructs/otel-collector.test.ts), so that both rule sets are held to the same strings.
 */
export const SECRETS = {
  /** `?access_token=` value. */
  accessToken: 'at-7Qx9Zr2Lm4Kp8Vw1',
  /** `Authorization: Bearer` value. */
  bearerToken: 'bt-Hn3Yd6Fs0Jc5Tg2E',
  /** An e-mail address in the query. */
  email: 'jane.doe@example.com',
  /** An e-mail address in the user agent (crawlers put a contact there). */
  userAgentEmail: 'crawler-ops@example.org',
  /** A Luhn-valid test card number as people type it. */
  cardSpaced: '4111 1111 1111 1111',
  /** The same without separators. */
  cardPlain: '4111111111111111',
  /** Another Luhn-valid test card number, with hyphens. */
  cardDashed: '5555-5555-5555-4444',
  /** A JSON Web Token (`{"alg":"HS256","typ":"JWT"}`, `{"sub":"jane"}`, a signature), under a name that is not secret. */
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqYW5lIn0.c2lnLTlmM2ItcHJpdmFjeS1maXh0dXJl',
  /** `Cookie: sessionid=` value. */
  cookieSession: 'cs-Pv2Ld8Wq5Xn0',
  /** `?PHPSESSID=` value. */
  phpSession: 'php-Mz4Rb7Kt1Yc9',
  /** A value in the client's W3C `baggage` header. */
  baggageUser: 'bg-user-48213',
  /** `?user[password]=` value, its name percent-encoded as browsers send it. */
  nestedPassword: 'np-Hq3Lm8Zs5Vb1',
  /** `?pwd=` value. */
  shortPassword: 'pw-Rt6Yu1Io4Pa7',
  /** `?access%5Ftoken=` value: a name servers decode to `access_token`. */
  encodedToken: 'et-Kj2Hg5Fd8Sa3',
  /** `?api%5Fkey=` value. */
  encodedApiKey: 'ak-Zx4Cv7Bn0Ml2',
  /** `?user%5Bpass%5D=` value. */
  nestedPass: 'ps-Lk9Jh6Gf3Ds0',
  /** A vendor entry's value in the client's W3C `tracestate` header. */
  traceStateToken: 'ts-Qw8Er5Ty2Ui7',
  /** A presigned S3 URL's `X-Amz-Signature`. */
  amzSignature: 'a3f9c27e51d04b8899e6',
  /** A presigned S3 URL's `X-Amz-Credential` (access key id and scope). */
  amzCredential: 'AKIAEXAMPLE7Q2%2F20261205%2Fus-east-1%2Fs3%2Faws4_request',
  /** A presigned GCS URL's `X-Goog-Signature`. */
  googSignature: 'g00gs1g-7d2e9f41',
  /** An Azure SAS token's `sig`. */
  sasSignature: 'sasSig-Ny5Ub8Wc3Ve6',
  /** A Google API key (`?key=`). */
  googleApiKey: 'AIzaSyFixture-Kq4Mv9Lx2',
  /** A webhook's signature header (`X-Hub-Signature-256`). */
  hubSignature: 'sha256=hs-Bn7Vc4Xz1Lk8',
  /** An `access_token` inside a percent-encoded URL in another parameter (`next=%2Fcb%3Faccess_token%3D…`). */
  wrappedToken: 'wt-Dc6Vf9Gb2Nh5',
  /** A `password` inside an OAuth `redirect_uri`, followed by an encoded `&`. */
  wrappedPassword: 'wp-Mj4Ki7Lo0Pq3',
  /** An e-mail address with its dots percent-encoded too. */
  dotEncodedEmail: 'ops%2Eteam%40example%2Eorg',
} as const;

/** A secret's name. */
export type SecretName = keyof typeof SECRETS;

/** The spellings in which a secret could show up: as sent, URL-encoded (`%20`, `%40`, `+`), and digits only. */
export function spellings(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), new URLSearchParams({ x: secret }).toString().slice(2)]);
  const digits = secret.replace(/\D/g, '');
  if (/^[\d -]+$/.test(secret)) forms.add(digits);
  // a JWT's signature alone is enough to replay it
  if (secret.startsWith('eyJ')) forms.add(secret.split('.')[2]);
  return [...forms];
}

/** The secrets (by name) of which some spelling occurs in `text`. */
export function leakedIn(text: string, secrets: Readonly<Record<string, string>> = SECRETS): string[] {
  return Object.entries(secrets).filter(([, secret]) => spellings(secret).some(form => text.includes(form))).map(([name]) => name);
}

/** A Luhn-invalid 16-digit number: a long id, not a card. */
export const NOT_A_CARD = '4111111111111112';

/**
 * The query of the fixture request: two IATA codes the gateway reads, then secrets under credential names
 * (`access_token`, `PHPSESSID`) and under plain ones (`contact`, `card*`, `ref`), percent-encoded as a browser would.
 */
export const FIXTURE_QUERY = [
  'dep=ICN', 'arr=GMP',
  `access_token=${SECRETS.accessToken}`,
  `contact=${encodeURIComponent(SECRETS.email)}`,
  `card=${encodeURIComponent(SECRETS.cardSpaced)}`,
  `card2=${SECRETS.cardPlain}`,
  `card3=${SECRETS.cardDashed}`,
  `ref=${SECRETS.jwt}`,
  `PHPSESSID=${SECRETS.phpSession}`,
  `user%5Bpassword%5D=${SECRETS.nestedPassword}`,
  `pwd=${SECRETS.shortPassword}`,
  `access%5Ftoken=${SECRETS.encodedToken}`,
  `api%5Fkey=${SECRETS.encodedApiKey}`,
  `user%5Bpass%5D=${SECRETS.nestedPass}`,
  `X-Amz-Credential=${SECRETS.amzCredential}`,
  `X-Amz-Signature=${SECRETS.amzSignature}`,
  `X-Goog-Signature=${SECRETS.googSignature}`,
  `sig=${SECRETS.sasSignature}`,
  `key=${SECRETS.googleApiKey}`,
  `next=%2Fcb%3Faccess_token%3D${SECRETS.wrappedToken}`,
  `redirect_uri=https%3A%2F%2Fx.example%2Fcb%3Fpassword%3D${SECRETS.wrappedPassword}%26state%3Dok`,
  `contact2=${SECRETS.dotEncodedEmail}`,
  'passengers=2',
  'boarding_pass=ABC123',
  'keyword=paris',
  `order=${NOT_A_CARD}`,
].join('&');

/** {@link FIXTURE_QUERY} as the services' rules leave it: names and plain values kept, secrets replaced. */
export const FIXTURE_QUERY_REDACTED = [
  'dep=ICN', 'arr=GMP', 'access_token=[redacted]', 'contact=[email]', 'card=[card]', 'card2=[card]', 'card3=[card]',
  'ref=[redacted]', 'PHPSESSID=[redacted]', 'user%5Bpassword%5D=[redacted]', 'pwd=[redacted]', 'access%5Ftoken=[redacted]',
  'api%5Fkey=[redacted]', 'user%5Bpass%5D=[redacted]', 'X-Amz-Credential=[redacted]', 'X-Amz-Signature=[redacted]',
  'X-Goog-Signature=[redacted]', 'sig=[redacted]', 'key=[redacted]', 'next=%2Fcb%3Faccess_token%3D[redacted]',
  'redirect_uri=https%3A%2F%2Fx.example%2Fcb%3Fpassword%3D[redacted]%26state%3Dok', 'contact2=[email]', 'passengers=2', 'boarding_pass=ABC123', 'keyword=paris',
  `order=${NOT_A_CARD}`,
].join('&');

/** The request headers of the fixture, every one carrying a secret. */
export const FIXTURE_HEADERS: Readonly<Record<string, string>> = {
  authorization: `Bearer ${SECRETS.bearerToken}`,
  cookie: `sessionid=${SECRETS.cookieSession}; theme=dark`,
  'user-agent': `fixture-crawler/1.0 (+mailto:${SECRETS.userAgentEmail})`,
  baggage: `user.id=${SECRETS.baggageUser},tenant=acme`,
  // a trace the client started, with a vendor entry of its own: the trace goes on, the entry does not
  traceparent: '00-5cf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-01',
  tracestate: `acme=${SECRETS.traceStateToken}`,
  'x-hub-signature-256': SECRETS.hubSignature,
};
