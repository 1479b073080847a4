import { httpUrlHasCredentials, shownUrl, withoutCredentials } from '../../lib/private/urls';

describe('credentials in URLs', () => {
  test.each([
    ['https://bot:ghp_0123@github.com/a/b.git', 'https://[credentials]@github.com/a/b.git'],
    // an unencoded "/" in the password makes the rest look like a path: the credentials still go
    ['https://bot:se/cret@github.com/a/b.git', 'https://[credentials]@github.com/a/b.git'],
    ["fatal: unable to access 'https://x:tok@example.com/r/': 403", "fatal: unable to access 'https://[credentials]@example.com/r/': 403"],
    ['https://github.com/a/b.git', 'https://github.com/a/b.git'],
    // an unencoded "@" too: a parser reads the user information up to the last one
    ['https://admin:p@ss@grafana.example.com/', 'https://[credentials]@grafana.example.com/'],
  ])('%s → %s', (text, redacted) => {
    expect(withoutCredentials(text)).toBe(redacted);
    expect(withoutCredentials(text)).not.toMatch(/ghp_0123|se\/cret|tok@|ss@/);
  });

  test('a URL as a message shows it: its user information hidden, the whole value when an "@" is left', () => {
    expect(shownUrl('https://admin:s3cret@grafana.example.com')).toBe('https://[credentials]@grafana.example.com');
    expect(shownUrl('admin:s3cret@grafana.example.com')).toBe('(a value with an "@", not shown)');
    expect(shownUrl('https://grafana.example.com')).toBe('https://grafana.example.com');
  });

  test('an http(s) URL with user information has credentials; scp-like and plain URLs have none', () => {
    expect(httpUrlHasCredentials('https://bot:se/cret@github.com/a/b.git')).toBe(true);
    expect(httpUrlHasCredentials('http://user@host/')).toBe(true);
    expect(httpUrlHasCredentials('https://github.com/a/b.git')).toBe(false);
    expect(httpUrlHasCredentials('git@github.com:a/b.git')).toBe(false);
  });
});
