import { Redactor, prometheusEndpointOf } from '../../lib/delivery/credentials';
import { UsageError } from '../../lib/delivery/plan';

describe('prometheusEndpointOf: credentials become headers, never part of the URL', () => {
  test('user:password@ in the URL is taken out of it and sent as basic auth; the password is redacted', () => {
    const secrets = new Redactor();
    const endpoint = prometheusEndpointOf('https://gate:p%40ss-w0rd@prom.example.com/prometheus', {}, secrets);
    expect(endpoint.url).toBe('https://prom.example.com/prometheus');
    expect(endpoint.headers).toEqual({ authorization: `Basic ${Buffer.from('gate:p@ss-w0rd').toString('base64')}` });
    expect(secrets.redact('bad password p@ss-w0rd, p%40ss-w0rd')).toBe('bad password [redacted], [redacted]');
  });

  test('PROMETHEUS_TOKEN is a bearer token, PROMETHEUS_USERNAME/PASSWORD basic auth, PROMETHEUS_HEADERS extra headers', () => {
    expect(prometheusEndpointOf('http://prom:9090', { token: 't0ken-value' }, new Redactor()).headers).toEqual({ authorization: 'Bearer t0ken-value' });
    expect(prometheusEndpointOf('http://prom:9090', { username: 'u', password: 'secret-pw', headers: '{"X-Scope-OrgID": "tenant-1"}' }, new Redactor()))
      .toMatchObject({ url: 'http://prom:9090', headers: { authorization: `Basic ${Buffer.from('u:secret-pw').toString('base64')}`, 'x-scope-orgid': 'tenant-1' } });
  });

  test('an extra header named like a credential and a token given as the URL\'s user name are secrets too', () => {
    const secrets = new Redactor();
    const endpoint = prometheusEndpointOf('https://glc_t0ken-as-user@prom.example.com', { headers: '{"X-Api-Key": "k3y-abcdef0123456789"}' }, secrets);
    expect(endpoint.url).toBe('https://prom.example.com');
    expect(endpoint.redact('401: key k3y-abcdef0123456789 or user glc_t0ken-as-user refused')).toBe('401: key [redacted] or user [redacted] refused');
  });

  test('a tenant id and a short user name are not: they would be taken out of every image name (the tenant is often the project\'s name)', () => {
    const secrets = new Redactor();
    prometheusEndpointOf('https://gate@prom.example.com', { headers: '{"X-Scope-OrgID": "obs-canary"}' }, secrets);
    expect(secrets.redact('ghcr.io/example/obs-canary-gateway:0.2.0 by gate')).toBe('ghcr.io/example/obs-canary-gateway:0.2.0 by gate');
  });

  test.each([
    [{ token: 'a-token', username: 'u', password: 'secret-pw' }, 'one kind of credentials, got PROMETHEUS_TOKEN and PROMETHEUS_USERNAME/PASSWORD'],
    [{ username: 'u' }, 'PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD go together'],
    [{ headers: '{"Authorization": "Bearer leaked-token"}' }, '"Authorization" is not a header it may set'],
    [{ headers: '[1]' }, 'PROMETHEUS_HEADERS must be a JSON object'],
    [{ headers: '{"X-A": "one\\ntwo"}' }, 'must be a string on one line'],
  ])('%j is refused, naming the variable and never the value', (credentials, message) => {
    let error: unknown;
    try {
      prometheusEndpointOf('http://prom:9090', credentials, new Redactor());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toMatch(/leaked-token|secret-pw|a-token/);
  });

  test('credentials in the URL and in a variable conflict', () => {
    expect(() => prometheusEndpointOf('http://a:bbbb@prom:9090', { token: 'a-token' }, new Redactor())).toThrow(/credentials in the URL and PROMETHEUS_TOKEN/);
  });
});

describe('Redactor', () => {
  test('replaces every secret, as given and URL-encoded, in text and in JSON; short values are not secrets', () => {
    const secrets = new Redactor();
    secrets.add('https://hooks.example.com/services/T0/B0/xyz', 'a b/c', undefined, 'abc');
    expect(secrets.redact('posting to https://hooks.example.com/services/T0/B0/xyz failed; a%20b%2Fc; abc')).toBe('posting to [redacted] failed; [redacted]; abc');
    expect(secrets.redactJson({ reason: ['a b/c'] })).toEqual({ reason: ['[redacted]'] });
    // a secret JSON would escape is found as it is, and as escaped inside a JSON string (an answer's excerpt)
    secrets.add('p"ss\\word-1234');
    expect(secrets.redactJson({ reason: 'bad password p"ss\\word-1234' })).toEqual({ reason: 'bad password [redacted]' });
    expect(secrets.redact(`answered ${JSON.stringify('bad password p"ss\\word-1234')}`)).toBe('answered "bad password [redacted]"');
  });
});
