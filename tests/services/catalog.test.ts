import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENT_NAMES } from '../../lib/config/environments';
import { cpuMillis, exposedHosts, loadServices, memorySize, serviceNamespaces } from '../../lib/services/catalog';
import { SERVICE_SCHEMA } from '../../lib/services/schema';
import { DEFAULT_RUN_AS_USER, ServiceFileError, parseServiceFile } from '../../lib/services/service';
import { REPO_ROOT } from '../support/manifest';

const MINIMAL = 'name: ledger\nimage: ghcr.io/example/ledger\nport: 9090\n';

/** The problems of a service file, as its error lists them. */
function problemsOf(text: string, file = 'services/ledger.yaml'): readonly string[] {
  try {
    parseServiceFile(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceFileError);
    expect((error as Error).message).toContain(`invalid service file ${file}:`);
    return (error as ServiceFileError).problems;
  }
  throw new Error('expected the file to be refused');
}

/** A directory with `services/` holding the given files, loaded as synth loads it. */
function loadDir(files: Readonly<Record<string, string>>): ReturnType<typeof loadServices> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'services-'));
  try {
    fs.mkdirSync(path.join(root, 'services'));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(root, 'services', name), text);
    return loadServices(root, ENVIRONMENT_NAMES);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function loadProblems(files: Readonly<Record<string, string>>): { file: string; problems: readonly string[] } {
  try {
    loadDir(files);
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceFileError);
    return { file: (error as ServiceFileError).file, problems: (error as ServiceFileError).problems };
  }
  throw new Error('expected the files to be refused');
}

describe('a service file on its own', () => {
  test('the minimal file gets the documented defaults', () => {
    const spec = parseServiceFile(MINIMAL, 'services/ledger.yaml');
    expect(spec).toMatchObject({
      name: 'ledger', namespace: 'apps', protocol: 'http', runAsUser: DEFAULT_RUN_AS_USER, telemetry: true,
      probes: { readiness: { tcp: true }, liveness: { tcp: true } }, metrics: { source: 'istio' },
    });
    expect(DEFAULT_RUN_AS_USER).toBe(65532);
  });

  test.each([
    ['a port out of range', 'port: 99999', '\'port\' must be an integer from 1 to 65535, got 99999'],
    ['a port of 0', 'port: 0', '\'port\' must be an integer from 1 to 65535, got 0'],
    ['a probe path without /', 'probes: { readiness: { http: healthz } }',
      '\'probes.readiness.http\' must be a path starting with "/", without spaces, query or fragment, got "healthz"'],
    ['a probe of two kinds', 'probes: { liveness: { http: /healthz, tcp: true } }',
      '\'probes.liveness\' must be one of { http: /path } (an HTTP GET), { tcp: true } (a TCP connect) or { grpc: true } (a gRPC health check) on the service port, got {"http":"/healthz","tcp":true}'],
    ['an image with a tag', 'image: ghcr.io/example/ledger:1.0',
      '\'image\' must be the image repository without tag or digest; those live in the rollout state, got "ghcr.io/example/ledger:1.0"'],
    ['a Gateway of its own without its pods', 'expose: { hosts: [ledger.example.com], paths: [/api/*], gateway: edge/partner }',
      '\'expose.gatewayPods\' is required with \'expose.gateway\' ("edge/partner"): the namespace, ServiceAccount and labels of the pods that serve it, '
        + 'which the service\'s policies let in (the environment\'s ingress gateway is let in otherwise)'],
    ['pods of a Gateway it does not name', 'expose: { hosts: [ledger.example.com], paths: [/api/*], gatewayPods: { namespace: edge, serviceAccount: gw, labels: { app: gw } } }',
      '\'expose.gatewayPods\' names the pods of \'expose.gateway\', which is not set: the environment\'s ingress gateway serves this service'],
    ['an unknown field', 'replica: 3', expect.stringMatching(/^'replica' is not a known field \(known: name, namespace, image, port, .*, replicas, /)],
    ['an unknown field of a mapping', 'probes: { http: /healthz }', '\'probes.http\' is not a known field of \'probes\' (known: readiness, liveness, startupSeconds)'],
    ['a name that is not a DNS label', 'name: Ledger', expect.stringMatching(/^'name' must be a DNS label of at most 33 characters that starts with a letter.*, got "Ledger"$/)],
    // a Service's name is a DNS-1035 label: the API server would refuse the Service of 2fa
    ['a name that starts with a digit', 'name: 2fa', expect.stringMatching(/^'name' must be a DNS label of at most 33 characters that starts with a letter.*, got "2fa"$/)],
    // the API server accepts only these pod fields: a typo would render, and the Deployment would never apply
    ['a pod field Kubernetes does not set variables from', 'env: { TRACK: { fieldRef: metadata.label.version } }',
      '\'env.TRACK.fieldRef\' must be a pod field Kubernetes sets a variable from: metadata.name, metadata.namespace, metadata.uid, '
        + 'metadata.labels[\'<key>\'], metadata.annotations[\'<key>\'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.podIP or '
        + 'status.podIPs, got "metadata.label.version"'],
    ['a pod field in the wrong case', 'env: { IP: { fieldRef: status.podIp } }', expect.stringMatching(/^'env\.IP\.fieldRef' must be a pod field .*, got "status\.podIp"$/)],
    ['a label key Kubernetes refuses', 'env: { T: { fieldRef: "metadata.labels[\'a/b/c\']" } }',
      expect.stringMatching(/^'env\.T\.fieldRef' must be a pod field .*, got "metadata\.labels\['a\/b\/c'\]"$/)],
    // the edge never serves probes and scrapes: listed, the path would be refused without a word
    ['a probe path listed to expose', 'probes: { readiness: { http: /ready } }\nexpose: { hosts: [ledger.example.com], paths: [/api/*, /ready] }',
      '\'expose.paths[1]\' must not be a probe or metrics path (/ready): the edge never serves those, got "/ready"'],
    ['a protocol nobody speaks', 'protocol: tcp', '\'protocol\' must be one of "http", "grpc", got "tcp"'],
    ['uid 0', 'runAsUser: 0', '\'runAsUser\' must be an integer from 1 to 2147483647, got 0'],
    ['a relative writable path', 'writablePaths: [tmp]', expect.stringMatching(/^'writablePaths\[0\]' .*got "tmp"$/)],
    ['an exposed path without /', 'expose: { hosts: [ledger.example.com], paths: [api] }',
      '\'expose.paths[0]\' must be an exact path (/api/orders) or a prefix ending in * (/api/*), starting with "/", without spaces, query or fragment, got "api"'],
    ['a resources key that is not a quantity', 'resources: { prod: { cpu: { request: lots, limit: "1" }, memory: { request: 1Mi, limit: 1Gi } } }',
      '\'resources.prod.cpu.request\' must be CPU as a Kubernetes quantity: 250m, 0.5 or 2, got "lots"'],
    ['a variable that is neither a string, a pod field nor a service URL', 'env: { X: 3 }',
      '\'env.X\' must be a string, a pod field ({ fieldRef: metadata.labels[\'version\'] }) or a service\'s in-cluster URL ({ serviceUrl: <a service name> }), got (a value not shown)'],
    ['a timeout of 0', 'timeout: 0s', '\'timeout\' must be a route timeout longer than 0 in ms, s or m, such as 500ms, 5s or 1m (default 5s; none for gRPC, whose streams it would cut), got "0s"'],
    ['a timeout written twice', 'timeout: 5m5m', expect.stringMatching(/^'timeout' must be a duration such as 30s, 5m or 1h30m, got "5m5m": .*largest first and each at most once/)],
    ['a keep-alive of 0', 'keepAliveTimeout: 0s', expect.stringMatching(/^'keepAliveTimeout' must be the idle \(keep-alive\) timeout of the service's own server, longer than 0 .*got "0s"$/)],
    ['a host that is no host name', 'expose: { hosts: [NotAHost], paths: [/a] }', expect.stringMatching(/^'expose\.hosts' must be external host names .*got \["NotAHost"\]$/)],
  ])('%s is refused, naming the file, the field, the value and what is allowed', (_what, line, problem) => {
    const key = line.split(':')[0];
    const text = `${MINIMAL.split('\n').filter(l => !l.startsWith(`${key}:`)).join('\n')}\n${line}\n`;
    expect(problemsOf(text)).toContainEqual(problem);
  });

  test.each([15006, 15020, 15090])('port %i, one Istio\'s sidecar takes, is refused for the service and for its metrics', port => {
    const allowed = '(15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090)';
    expect(loadProblems({ 'ledger.yaml': MINIMAL.replace('port: 9090', `port: ${port}`) }).problems)
      .toEqual([`'port' must not be one of the ports Istio's sidecar takes in every pod ${allowed}, got ${port}`]);
    const metrics = `${MINIMAL}metrics: { source: http, http: { requests: r_total, duration: d_seconds, codeLabel: code, scrape: { port: ${port}, path: /metrics } } }\n`;
    expect(loadProblems({ 'ledger.yaml': metrics }).problems)
      .toEqual([`'metrics.http.scrape.port' must not be one of the ports Istio's sidecar takes in every pod ${allowed}, got ${port}`]);
  });

  test.each([
    ['requests', 'envoy_http_downstream_rq_total'], ['requests', 'istio_requests_total'], ['requests', 'http:requests_total'], ['requests', 'up'],
    ['duration', 'kube_request_duration_seconds'], ['duration', 'app:duration_seconds'],
  ])('metrics.http.%s %s, a name only the platform\'s observers write, is refused: Prometheus drops it from the service\'s scrape', (field, name) => {
    const names = { requests: 'r_total', duration: 'd_seconds', [field]: name };
    const metrics = `${MINIMAL}metrics: { source: http, http: { requests: "${names.requests}", duration: "${names.duration}", codeLabel: code, `
      + 'scrape: { port: 9102, path: /metrics } } }\n';
    expect(loadProblems({ 'ledger.yaml': metrics }).problems).toEqual([`'metrics.http.${field}' must not be a name only the platform's observers write `
      + `(istio_*, envoy_*, kube_*, up, or with ':'): Prometheus drops those from a service's own scrape, got ${JSON.stringify(name)}`]);
  });

  test('metrics.http names that only begin like an observer\'s are the service\'s own', () => {
    const metrics = `${MINIMAL}metrics: { source: http, http: { requests: uptime_requests_total, duration: kubelike_duration_seconds, codeLabel: code, `
      + 'scrape: { port: 9102, path: /metrics } } }\n';
    expect(loadDir({ 'ledger.yaml': metrics }).ledger.metrics.http?.requests).toBe('uptime_requests_total');
  });

  test('metrics.http.errorCodes: values separated by |, nothing a Prometheus rule could not parse', () => {
    const metrics = (codes: string) => `${MINIMAL}metrics: { source: http, http: { requests: r_total, duration: d_seconds, codeLabel: code, `
      + `errorCodes: "${codes}", scrape: { port: 9102, path: /metrics } } }\n`;
    expect(loadDir({ 'ledger.yaml': metrics('Unavailable|Internal') }).ledger.metrics.http?.errorCodes).toBe('Unavailable|Internal');
    for (const codes of ['5..|(', '5..|[]', '(?!4)5..', '5..|']) {
      expect(loadProblems({ 'ledger.yaml': metrics(codes) }).problems).toEqual([expect.stringMatching(
        new RegExp(`^'metrics\\.http\\.errorCodes' must be the values of codeLabel that count against the SLO, separated by \\|.*, got ${JSON.stringify(codes).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`))]);
    }
  });

  test('a host two services are exposed on, in any namespace, is refused in each file, per environment', () => {
    const ledger = `${MINIMAL.replace('name: ledger', 'name: ledger\nnamespace: payments')}expose: { hosts: { prod: [shop.example.com] }, paths: [/ledger/*] }\n`;
    const orders = `${MINIMAL.replace('name: ledger', 'name: orders')}expose: { hosts: [shop.example.com, orders.example.com], paths: [/orders/*] }\n`;
    expect(loadProblems({ 'ledger.yaml': ledger, 'orders.yaml': orders })).toEqual({
      file: 'services/ledger.yaml',
      problems: ['\'expose.hosts.prod\' must name hosts no other service is exposed on in prod; "shop.example.com" is also in services/orders.yaml: '
        + 'one service per host, or one service\'s paths'],
    });
    // another environment's host, or another host, is no conflict
    const elsewhere = ledger.replace('prod: [shop.example.com]', 'local: [shop.example.com], prod: [ledger.example.com]');
    expect(() => loadDir({ 'ledger.yaml': elsewhere, 'orders.yaml': orders.replace('[shop.example.com, ', '[') })).not.toThrow();
  });

  test.each([
    ['a CPU request above its limit', 'cpu: { request: "2", limit: 500m }, memory: { request: 128Mi, limit: 1Gi }',
      '\'resources.prod.cpu.request\' must be at most the limit (resources.prod.cpu.limit: 500m), got "2"'],
    ['a memory request above its limit', 'cpu: { request: 250m, limit: "1" }, memory: { request: 2Gi, limit: 1Gi }',
      '\'resources.prod.memory.request\' must be at most the limit (resources.prod.memory.limit: 1Gi), got "2Gi"'],
    ['a CPU limit beyond 64 CPUs', 'cpu: { request: 250m, limit: "65" }, memory: { request: 128Mi, limit: 1Gi }',
      '\'resources.prod.cpu.limit\' must be from 10m to 64 CPUs, got "65"'],
  ])('%s is refused in the file\'s own terms', (_what, resources, problem) => {
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}resources: { prod: { ${resources} } }\n` }).problems).toEqual([problem]);
  });

  test('the name must match the file name', () => {
    expect(problemsOf(MINIMAL, 'services/ledgers.yaml')).toEqual(['\'name\' must match the file name ("ledgers"), got "ledger"']);
  });

  test('http metrics are required for an http gate, and a route label for ignored routes', () => {
    expect(problemsOf(`${MINIMAL}metrics: { source: http }\n`)).toEqual([expect.stringContaining('\'metrics.http\' is required when \'metrics.source\' is "http"')]);
    expect(problemsOf(`${MINIMAL}analysis: { metrics: http }\n`)).toEqual([expect.stringContaining('\'analysis.metrics\' is "http" but \'metrics.http\' names no metrics')]);
  });

  test('a variable set twice, a caller that is the service itself', () => {
    expect(problemsOf(`${MINIMAL}env: { A: x }\nsecretEnv: [{ name: A, secret: ledger-s, key: k }]\ncallers: [ledger]\n`)).toEqual([
      '\'callers\' must not name the service itself, got "ledger"',
      '\'A\' is set twice in \'env\' and \'secretEnv\': each variable must be set once',
    ]);
  });

  test('egress: cidrs or pods, not both nor neither; IPv4 blocks; each name once', () => {
    expect(problemsOf(`${MINIMAL}egress:\n`
      + '  - { name: db, cidrs: [10.0.0.0/33], ports: [5432] }\n'
      + '  - { name: db, cidrs: [10.0.0.0/24], namespace: data, podLabels: { app: pg }, ports: [5432] }\n'
      + '  - { name: cache, namespace: data, ports: [6379] }\n')).toEqual([
      '\'egress[0].cidrs[0]\' must be an IPv4 CIDR block such as "10.20.4.0/24", got "10.0.0.0/33"',
      '\'egress[1].name\' must differ from the other entries\' names, got "db" twice',
      '\'egress[1]\' must name either cidrs, or namespace and podLabels, got ["cidrs","namespace","podLabels"]',
      '\'egress[2]\' must name either cidrs, or namespace and podLabels, got ["namespace"]',
    ]);
    expect(problemsOf(`${MINIMAL}egress: [{ name: db, cidrs: [10.0.0.0/24] }]\n`)).toEqual(['\'egress[0].ports\' is required']);
  });

  test('secretEnv reads the service\'s own Secrets: its name, or its name and a dash first', () => {
    const own = 'or begin with "ledger-" (a service reads its own Secrets: its namespace may hold other services\' too)';
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}secretEnv:\n  - { name: A, secret: reports-db, key: url }\n  - { name: B, secret: ledgerdb, key: url }\n`
      + '  - { name: C, secret: ledger, key: url }\n  - { name: D, secret: ledger-db, key: url }\n' }).problems).toEqual([
      `'secretEnv[0].secret' must be "ledger" ${own}, got "reports-db"`,
      `'secretEnv[1].secret' must be "ledger" ${own}, got "ledgerdb"`,
    ]);
  });

  test('a credential as a literal in env: refused by name or by value, never echoed; names that only look alike pass', () => {
    const problems = problemsOf(`${MINIMAL}env:\n  DB_PASSWORD: hunter2-s3cret\n  STRIPE_API_KEY: sk_live_x\n`
      + '  SPRING_DATASOURCE_URL: "jdbc:postgresql://db:5432/inv?user=app&password=hunter2"\n  CACHE_URL: "redis://app:hunter2@cache:6379"\n'
      + '  DJANGO_SECRET_KEY: hunter2-django\n  SESSION_URL: "redis://:hunter2@redis:6379"\n  OAUTH_TOKEN_URL: "https://idp/token?client_secret=hunter2"\n'
      + '  TOKEN_TTL: 10m\n  AUTH_URL: "https://auth.example.com"\n  CACHE_KEY_PREFIX: ledger\n  JWT_ISSUER: https://idp\n  PASSWORD_MIN_LENGTH: "12"\n'
      + '  GOOGLE_APPLICATION_CREDENTIALS: /var/run/secrets/gcp/key.json\n  KEY_ID: k1\n');
    const secretEnv = 'it would be in dist/, in git and in the Deployment): put it in a Secret of the namespace and name it in \'secretEnv\'';
    expect(problems).toEqual([
      `'env.DB_PASSWORD' must not hold a credential as a literal (its name says it is one; ${secretEnv}`,
      `'env.STRIPE_API_KEY' must not hold a credential as a literal (its name says it is one; ${secretEnv}`,
      `'env.SPRING_DATASOURCE_URL' must not hold a credential as a literal (its value has one; ${secretEnv}`,
      `'env.CACHE_URL' must not hold a credential as a literal (its value has one; ${secretEnv}`,
      `'env.DJANGO_SECRET_KEY' must not hold a credential as a literal (its name says it is one; ${secretEnv}`,
      `'env.SESSION_URL' must not hold a credential as a literal (its value has one; ${secretEnv}`,
      `'env.OAUTH_TOKEN_URL' must not hold a credential as a literal (its value has one; ${secretEnv}`,
    ]);
    // a number is no string: the schema refuses it, without the value
    expect(problemsOf(`${MINIMAL}env: { DB_PASSWORD: 84629173 }\n`).join('\n')).not.toContain('84629173');
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  test('a credential as a literal: names with the word inside or a qualifier after it, JVM options and tokens of well-known forms', () => {
    const problems = problemsOf(`${MINIMAL}env:\n  PGPASSWORD: hunter2-pg\n  DB_PASSWORD_PLAIN: hunter2-plain\n  API_TOKEN_B64: aHVudGVyMg==\n`
      + '  JAVA_TOOL_OPTIONS: "-Xmx1g -Dspring.datasource.password=hunter2-jvm"\n  JVM_OPTS: "-Djavax.net.ssl.keyStorePassword=hunter2-ks"\n'
      + '  STRIPE_KEY: sk_live_51Hhunter2Zs9\n  GH_AUTH: ghp_hunter2hunter2hunter2hunter2x\n  SLACK_URL: "https://hooks.slack.com/services/T0/B0/hunter2"\n'
      + '  PASSWORD_POLICY_URL: "https://idp/policy"\n  OPENAI_OPTS: "max_tokens=100"\n  LOGIN_MODE: "passwordless=true"\n');
    expect(problems.map(p => /^'([^']+)'.*\((its \w+)/.exec(p)!.slice(1).join(' '))).toEqual([
      'env.PGPASSWORD its name', 'env.DB_PASSWORD_PLAIN its name', 'env.API_TOKEN_B64 its name', 'env.JAVA_TOOL_OPTIONS its value',
      'env.JVM_OPTS its value', 'env.STRIPE_KEY its value', 'env.GH_AUTH its value', 'env.SLACK_URL its value',
    ]);
    // a name or a flag before the word, a refresh token, a default written into a placeholder, a hash or a text under a name
    const more = problemsOf(`${MINIMAL}env:\n  LEDGER_ARGS: "--password=hunter2"\n  DB_OPTS: "user=app db_password=hunter2"\n`
      + '  SPRING_OPTS: "-Dspring.datasource.password=${DB_PASSWORD:hunter2}"\n  OAUTH_OPTS: "refresh_token=1//0gHq2hunter2"\n'
      + '  PG_OPTS: "sslpassword=hunter2"\n  ADMIN_PASSWORD_HASH: $2b$12$hunter2hunter2\n  DB_PASSWORD_TEXT: hunter2\n'
      + 'command: [sh, -c, "exec /app/ledger --password=${DB_PASSWORD:-hunter2}"]\n');
    expect(more.map(p => /^'([^']+)'/.exec(p)![1])).toEqual([
      'env.LEDGER_ARGS', 'env.DB_OPTS', 'env.SPRING_OPTS', 'env.OAUTH_OPTS', 'env.PG_OPTS', 'env.ADMIN_PASSWORD_HASH', 'env.DB_PASSWORD_TEXT',
      'command[2]',
    ]);
    expect(more.join('\n')).not.toContain('hunter2');
    expect(problems.join('\n')).not.toContain('hunter2');
    // what only looks alike: switches, counts, UI text, placeholders the program resolves, options of no credential
    expect(() => parseServiceFile(`${MINIMAL}env:\n  SUDO_NOPASSWD: "true"\n  ENABLE_NOPASSWORD: "false"\n  PASSWORD_TEXT: Enter your password\n`
      + '  TOKEN_HASH: sha256\n  SECRET_ENCODED: "false"\n  LLM_OPTS: max_token=4096\n  FEATURES: csrf.token=header\n'
      + '  KAFKA_OPTS: -Dkafka.sasl.token=enabled -Dssl.password.enabled=true\n  SPRING_OPTS: "-Dspring.datasource.password=${DB_PASSWORD}"\n'
      + '  DB_PASSWORD: "$(LEDGER_DB_PASSWORD)"\n', 'services/ledger.yaml')).not.toThrow();
  });

  test('a credential as a literal in command or args: refused by flag name or by value, never echoed; $(VAR) and file paths pass', () => {
    const problems = problemsOf(`${MINIMAL}command: [/app/ledger, "--db-url=postgres://app:hunter2@db:5432/ledger"]\n`
      + 'args: ["--api-token=hunter2-token", --password, hunter2-s3cret, "--password=$(DB_PASSWORD)", --token-file, /var/run/token, '
      + '--use-token, --token-ttl=10m, "postgres://app:$(DB_PASSWORD)@db:5432/ledger", --token-hash, sha256, --secret-encoded, "false"]\n');
    const where = 'it would be in dist/, in git, in the Deployment and in the process list): put it in a Secret of the namespace, name the '
      + 'variable in \'secretEnv\' and write $(VARIABLE) in its place';
    expect(problems).toEqual([
      `'command[1]' must not hold a credential as a literal (${where}`,
      `'args[0]' must not hold a credential as a literal (${where}`,
      `'args[2]' must not hold a credential as a literal (${where}`,
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
    // a JVM's system property, a Node or Go flag in camel case, a shell script's words; a number is not echoed either
    expect(problemsOf(`${MINIMAL}args: ["-Djavax.net.ssl.keyStorePassword=hunter2", --jwtSecret, hunter2-jwt, "-dbPassword=hunter2", `
      + '"--dsn=host=db password=hunter2"]\ncommand: [sh, -c, "exec /app --password=hunter2"]\n').map(p => p.split(' ')[0]))
      .toEqual(['\'command[2]\'', '\'args[0]\'', '\'args[2]\'', '\'args[3]\'', '\'args[4]\'']);
    expect(problemsOf(`${MINIMAL}args: [--db-password, 80417263]\n`).join('\n')).not.toContain('80417263');
    // a reference in an env value is what it should be, too
    const referenced = parseServiceFile(`${MINIMAL}env: { CACHE_URL: "redis://app:$(CACHE_PASSWORD)@cache:6379", `
      + 'DATABASE_DSN: "host=db user=app password=$(DB_PASSWORD) dbname=ledger" }\n'
      + 'args: ["--db=jdbc:sqlserver://db:1433;user=app;password=$(DB_PASSWORD)", "-Djavax.net.ssl.keyStorePassword=$(KEYSTORE_PASSWORD)"]\n',
    'services/ledger.yaml');
    expect(referenced.env).toEqual({ CACHE_URL: 'redis://app:$(CACHE_PASSWORD)@cache:6379', DATABASE_DSN: 'host=db user=app password=$(DB_PASSWORD) dbname=ledger' });
  });

  test.each([
    ['probes: { readiness: { grpc: 9090 } }', '\'probes.readiness.grpc\' must be true, got 9090'],
    ['writablePaths: [/var/cache/ledger/]',
      '\'writablePaths[0]\' must be an absolute path without spaces or a trailing "/", such as /var/cache/ledger, got "/var/cache/ledger/"'],
    ['replicas: 3', '\'replicas\' must be a mapping: stable replicas per environment (default: the environment\'s), got 3'],
    ['expose: { hosts: [Ledger.example.com], paths: [/] }', '\'expose.hosts\' must be external host names in lower case'],
  ])('%s: the message says what is allowed', (line, message) => {
    expect(problemsOf(`${MINIMAL}${line}\n`)).toEqual([expect.stringContaining(message)]);
  });

  test('not YAML', () => {
    // where, and nothing after: no code frame cut after a colon
    expect(problemsOf('name: [')).toEqual(['not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 8']);
  });
});

describe('the service files together', () => {
  test('the repository\'s demo services load, in name order', () => {
    const services = loadServices(REPO_ROOT, ENVIRONMENT_NAMES);
    expect(Object.keys(services)).toEqual(['backend', 'gateway']);
    expect(serviceNamespaces(services)).toEqual(['apps']);
    expect(exposedHosts(services.gateway, 'local')).toEqual(['flights.localtest.me']);
    expect(exposedHosts(services.backend, 'local')).toEqual([]);
  });

  test('a namespace and a Secret written the way a user might: the message says the rule, not what the field is for', () => {
    expect(problemsOf(`${MINIMAL}namespace: Payments\nsecretEnv:\n  - { name: DB, secret: apps/ledger-db, key: url }\n`)).toEqual([
      '\'namespace\' must be a DNS label (lower-case letters, digits and "-") such as payments, the namespace (default apps); created with the same '
        + 'mesh, Pod Security and default-deny policies, got "Payments"',
      '\'secretEnv[0].secret\' must be the name of a Secret in the service\'s own namespace (a DNS label, no namespace/), got "apps/ledger-db"',
    ]);
  });

  test('a .yml file (which nothing else would find: the state files, the CLI and the workflows name <service>.yaml)', () => {
    expect(loadProblems({ 'ledger.yml': MINIMAL })).toEqual({
      file: 'services/ledger.yml', problems: ['a service file is named <service>.yaml: rename it to services/ledger.yaml'],
    });
  });

  test('a caller that names no service', () => {
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}callers: [payments]\n` })).toEqual({
      file: 'services/ledger.yaml',
      problems: ['\'callers[0]\' must name a service with a file under services/ ("ledger"), got "payments"'],
    });
  });

  test('a serviceUrl that names no service', () => {
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}env: { PAYMENTS_URL: { serviceUrl: payments } }\n` }).problems)
      .toEqual(['\'env.PAYMENTS_URL.serviceUrl\' must name a service ("ledger"), got "payments"']);
  });

  test('a previousImage that is another service\'s repository, or its own image (a registry move names the old one)', () => {
    const other = 'name: quotes\nimage: ghcr.io/example/quotes\nport: 9091\n';
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}previousImage: ghcr.io/example/quotes\n`, 'quotes.yaml': other })).toEqual({
      file: 'services/ledger.yaml',
      problems: ['\'previousImage\' must not be the repository of another service (services/quotes.yaml names it as its \'image\'), got "ghcr.io/example/quotes"'],
    });
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}previousImage: ghcr.io/example/ledger\n` }).problems)
      .toEqual(['\'previousImage\' must differ from \'image\' (it names the repository before a registry move), got "ghcr.io/example/ledger"']);
    expect(() => loadDir({ 'ledger.yaml': `${MINIMAL}previousImage: registry.old.example/ledger\n` })).not.toThrow();
  });

  test('a Secret named after a longer name of a service in the same namespace is that service\'s, not this one\'s', () => {
    const admin = 'name: ledger-admin\nimage: ghcr.io/example/ledger-admin\nport: 9091\n';
    const reading = (secret: string) => `${MINIMAL}secretEnv: [{ name: A, secret: ${secret}, key: k }]\n`;
    expect(loadProblems({ 'ledger.yaml': reading('ledger-admin-token'), 'ledger-admin.yaml': admin })).toEqual({
      file: 'services/ledger.yaml',
      problems: ['\'secretEnv[0].secret\' names a Secret of ledger-admin (services/ledger-admin.yaml), which shares the namespace apps: '
        + 'a service reads its own Secrets, got "ledger-admin-token"'],
    });
    // its own, and the longer name's in another namespace
    expect(() => loadDir({ 'ledger.yaml': reading('ledger-adminx'), 'ledger-admin.yaml': admin })).not.toThrow();
    expect(() => loadDir({ 'ledger.yaml': reading('ledger-admin-token'), 'ledger-admin.yaml': `${admin}namespace: back-office\n` })).not.toThrow();
  });

  test('a serviceUrl of the service itself (no service may list itself as a caller)', () => {
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}env: { SELF_URL: { serviceUrl: ledger } }\n` }).problems)
      .toEqual(['\'env.SELF_URL.serviceUrl\' names the service itself, which the mesh lets no service call: reach it on localhost']);
  });

  test('a serviceUrl of a service whose callers do not list this one (the mesh would refuse every call)', () => {
    const quotes = 'name: quotes\nimage: ghcr.io/example/quotes\nport: 8080\n';
    const ledger = `${MINIMAL}env: { QUOTES_URL: { serviceUrl: quotes } }\n`;
    expect(loadProblems({ 'ledger.yaml': ledger, 'quotes.yaml': quotes })).toEqual({
      file: 'services/ledger.yaml',
      problems: ['\'env.QUOTES_URL.serviceUrl\' names "quotes", whose \'callers\' (services/quotes.yaml) do not list "ledger": the mesh would '
        + 'refuse every call; add ledger to them'],
    });
    expect(Object.keys(loadDir({ 'ledger.yaml': ledger, 'quotes.yaml': `${quotes}callers: [ledger]\n` }))).toEqual(['ledger', 'quotes']);
  });

  test('a per-environment key that names no environment', () => {
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}replicas: { staging: 2, prod: 3 }\n` }).problems)
      .toEqual([`'replicas.staging' names no environment: the keys must be among ${ENVIRONMENT_NAMES.map(n => JSON.stringify(n)).join(', ')}`]);
  });

  test('egress: a service\'s name is no egress name (its flow would be a caller\'s)', () => {
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}egress: [{ name: ledger, cidrs: [10.0.0.0/24], ports: [443] }]\n` }).problems)
      .toEqual([expect.stringMatching(/^'egress\[0\]\.name' must not be a service's name \("ledger" has a file under services\/\)/)]);
  });

  test('egress: a per-environment key that names no environment; pods in a namespace this project renders (callers reach those)', () => {
    const { problems } = loadProblems({
      'ledger.yaml': `${MINIMAL}egress:\n  - { name: db, cidrs: { staging: [10.0.0.0/24] }, ports: [5432] }\n`
        + '  - { name: metrics, namespace: observability, podLabels: { app: x }, ports: [9090] }\n',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^'egress\[1\]\.namespace' must be a namespace this project does not render \("apps", "observability" .*"observability"/),
      expect.stringMatching(/^'egress\[0\]\.cidrs\.staging' names no environment/),
    ]);
  });

  test('a reserved namespace', () => {
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}namespace: kube-system\n` }).problems)
      .toEqual([expect.stringMatching(/^'namespace' must be a namespace of its own, not one of .*"kube-system".*, got "kube-system"$/)]);
  });

  test('a variable the platform sets while telemetry is on; allowed with telemetry off', () => {
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}env: { OTEL_SERVICE_NAME: x }\n` }).problems)
      .toEqual([expect.stringMatching(/^'OTEL_SERVICE_NAME' is set by the platform while 'telemetry' is on/)]);
    expect(Object.keys(loadDir({ 'ledger.yaml': `${MINIMAL}env: { OTEL_SERVICE_NAME: x }\ntelemetry: false\n` }))).toEqual(['ledger']);
  });

  test('unordered steps and a bad duration in the release defaults', () => {
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}steps: [50, 10]\nanalysis: { queryTimeout: 11m }\n` }).problems).toEqual([
      '\'steps\' must be strictly increasing, got [50,10]',
      expect.stringMatching(/^'analysis\.queryTimeout' must be at most 10m/),
    ]);
    expect(problemsOf(`${MINIMAL}analysis: { window: 5x }\n`)).toEqual([expect.stringMatching(/^'analysis\.window' must be a duration .*got "5x"$/)]);
  });

  test('an SLO period: a duration (the schema), from 7d to 90d (the load)', () => {
    expect(problemsOf(`${MINIMAL}slo: { period: a month }\n`))
      .toEqual(['\'slo.period\' must be a duration from 7d to 90d such as 30d: the period the objective (successRatio) is measured over, got "a month"']);
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}slo: { period: 1d }\n` }).problems).toEqual(['\'slo.period\' must be at least 7d, got "1d"']);
    expect(loadProblems({ 'ledger.yaml': `${MINIMAL}slo: { period: 91d }\n` }).problems).toEqual(['\'slo.period\' must be at most 90d, got "91d"']);
    expect(() => loadDir({ 'ledger.yaml': `${MINIMAL}slo: { period: 4w, successRatio: 0.999 }\n` })).not.toThrow();
  });
});

describe('quantities', () => {
  test.each([['250m', 250], ['0.5', 500], ['2', 2000], ['1.25', 1250]])('CPU %s is %d millicores', (q, millis) => {
    expect(cpuMillis(q)).toBe(millis);
  });

  test.each([['128Mi', 128], ['1Gi', 1024]])('memory %s is %d MiB', (q, mib) => {
    expect(memorySize(q).toMebibytes()).toBe(mib);
  });
});

describe('services/schema.json', () => {
  test('is the schema the loader validates with (run `npm run schemas` after changing it)', () => {
    expect(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'services', 'schema.json'), 'utf8'))).toEqual(SERVICE_SCHEMA);
  });

  test('every service file points editors at it', () => {
    for (const file of fs.readdirSync(path.join(REPO_ROOT, 'services')).filter(f => f.endsWith('.yaml'))) {
      expect([file, fs.readFileSync(path.join(REPO_ROOT, 'services', file), 'utf8').split('\n')[0]]).toEqual([file, '# yaml-language-server: $schema=./schema.json']);
    }
  });
});
