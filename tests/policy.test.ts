import { ENVIRONMENTS } from '../lib/config/environments';
import { ALL_ENVIRONMENTS, K8sObject, find, synthStack } from './support/manifest';
import {
  imageViolations, policyViolations, probeViolations, resourceViolations, secretViolations, securityViolations,
  serviceAccountViolations,
} from './support/policy';

const RULES = { resourceViolations, probeViolations, securityViolations, imageViolations, secretViolations, serviceAccountViolations };

describe.each(ALL_ENVIRONMENTS)('policy ($name)', env => {
  const objects = Object.values(synthStack(env).charts).flat();

  test.each(Object.entries(RULES))('%s: none', (_name, rule) => {
    expect(rule(objects)).toEqual([]);
  });
});

const LOCAL = Object.values(synthStack(ENVIRONMENTS.local).charts).flat();

/** A copy of the rendered local stack with one workload changed, to show that each rule catches what it should. */
function mutated(change: (grafana: K8sObject) => void): K8sObject[] {
  const objects = structuredClone(LOCAL);
  change(find(objects, 'Deployment', 'grafana'));
  return objects;
}
const container = (d: K8sObject) => d.spec.template.spec.containers[0];

describe('policy rules fail on violations', () => {
  test('an image on :latest, or without tag or digest', () => {
    expect(imageViolations(mutated(d => { container(d).image = 'docker.io/grafana/grafana:latest'; })))
      .toEqual(['Deployment/grafana[grafana]: image docker.io/grafana/grafana:latest must not use the latest tag']);
    expect(imageViolations(mutated(d => { container(d).image = 'grafana/grafana'; })))
      .toEqual(['Deployment/grafana[grafana]: image grafana/grafana must be pinned by tag or digest']);
    expect(imageViolations(mutated(d => { container(d).image = `grafana/grafana@sha256:${'a'.repeat(64)}`; }))).toEqual([]);
  });

  test('a Secret mounted readable by others than owner and group', () => {
    const withSecret = (mode?: number) => mutated(d => {
      d.spec.template.spec.volumes.push({ name: 'key', secret: { secretName: 'grafana-key', ...(mode === undefined ? {} : { defaultMode: mode }) } });
    });
    expect(secretViolations(withSecret())).toEqual(['Deployment/grafana: Secret volume key must be mounted with defaultMode 0440 or stricter, got the default 0644']);
    expect(secretViolations(withSecret(0o444))).toEqual(['Deployment/grafana: Secret volume key must be mounted with defaultMode 0440 or stricter, got 0444']);
    // writable by its owner is not stricter
    expect(secretViolations(withSecret(0o640))).toEqual(['Deployment/grafana: Secret volume key must be mounted with defaultMode 0440 or stricter, got 0640']);
    expect(secretViolations(withSecret(0o440))).toEqual([]);
    expect(secretViolations(withSecret(0o400))).toEqual([]);
    // a key's own mode, and a projected volume's Secret
    expect(secretViolations(mutated(d => {
      d.spec.template.spec.volumes.push({ name: 'key', secret: { secretName: 'grafana-key', defaultMode: 0o440, items: [{ key: 'k', path: 'k', mode: 0o644 }] } });
    }))).toEqual(['Deployment/grafana: Secret volume key must be mounted with the mode of key k 0440 or stricter, got 0644']);
    expect(secretViolations(mutated(d => {
      d.spec.template.spec.volumes.push({ name: 'both', projected: { sources: [{ secret: { name: 'grafana-key' } }] } });
    }))).toEqual(['Deployment/grafana: Secret volume both must be mounted with defaultMode 0440 or stricter, got the default 0644']);
  });

  test('a literal password in an env var, a config file or an argument; a rendered Secret', () => {
    expect(secretViolations(mutated(d => { container(d).env.push({ name: 'GF_SECURITY_ADMIN_PASSWORD', value: 'hunter2' }); })))
      .toEqual(['Deployment/grafana[grafana]: env GF_SECURITY_ADMIN_PASSWORD must come from a Secret reference, not a literal']);
    expect(secretViolations(mutated(d => { container(d).env.push({ name: 'GF_DATABASE_URL', value: 'postgres://grafana:hunter2@db:5432/grafana' }); })))
      .toEqual(['Deployment/grafana[grafana]: env GF_DATABASE_URL has a credential in its value']);
    // the service files' rule: a name with the word inside, a JVM option, a token of a well-known form; a path passes
    expect(secretViolations(mutated(d => {
      container(d).env.push({ name: 'PGPASSWORD', value: 'hunter2' }, { name: 'JAVA_TOOL_OPTIONS', value: '-Dspring.datasource.password=hunter2' },
        { name: 'STRIPE_KEY', value: 'sk_live_51Hhunter2Zs9' }, { name: 'GF_DATABASE_PASSWORD__FILE', value: '/etc/secrets/db/password' });
    }))).toEqual(['Deployment/grafana[grafana]: env PGPASSWORD must come from a Secret reference, not a literal',
      'Deployment/grafana[grafana]: env JAVA_TOOL_OPTIONS has a credential in its value', 'Deployment/grafana[grafana]: env STRIPE_KEY has a credential in its value']);
    const withConfig = mutated(() => undefined);
    find(withConfig, 'ConfigMap', 'grafana-config').data['grafana.ini'] += '\n[database]\npassword = hunter2\n';
    expect(secretViolations(withConfig)).toEqual(['ConfigMap/grafana-config[grafana.ini]: password has a literal value']);
    expect(secretViolations(mutated(d => { container(d).args = ['--admin-password=hunter2']; })))
      .toEqual(['Deployment/grafana[grafana]: argument --admin-password carries a secret']);
    expect(secretViolations(mutated(d => { container(d).args = ['--api-token', 'hunter2', 'postgres://grafana:hunter2@db:5432/grafana']; })))
      .toEqual(['Deployment/grafana[grafana]: argument --api-token carries a secret', 'Deployment/grafana[grafana]: argument args[2] carries a secret']);
    for (const args of [['-Djavax.net.ssl.keyStorePassword=changeit', '-jar', 'app.jar'], ['sh', '-c', 'exec /app --password=hunter2'], ['--jwtSecret=abc123']]) {
      expect([args, secretViolations(mutated(d => { container(d).args = args; })).length]).toEqual([args, 1]);
    }
    // what such a flag should get: a variable from a Secret, expanded by the kubelet, or a file
    expect(secretViolations(mutated(d => { container(d).args = ['--admin-password=$(GF_ADMIN_PASSWORD)', '--token', '/var/run/token']; }))).toEqual([]);
    const withSecret = [...mutated(() => undefined), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { a: 'b' } }];
    expect(secretViolations(withSecret)).toEqual(['Secret/s: Secrets must be referenced, never rendered']);
  });

  test('env references expanded at start-up and file paths are not literals', () => {
    const objects = mutated(() => undefined);
    find(objects, 'ConfigMap', 'grafana-config').data['grafana.ini'] += '\nsecret_access_key: ${S3_SECRET_KEY}\ntoken_file = /var/run/token\n';
    expect(secretViolations(objects)).toEqual([]);
  });

  test('missing requests or limits', () => {
    expect(resourceViolations(mutated(d => { delete container(d).resources.limits; })))
      .toEqual(['Deployment/grafana[grafana]: no limits.cpu', 'Deployment/grafana[grafana]: no limits.memory']);
  });

  test('a missing probe, an exec probe, or a probe on an undeclared port', () => {
    expect(probeViolations(mutated(d => { delete container(d).livenessProbe; }))).toEqual(['Deployment/grafana[grafana]: no livenessProbe']);
    expect(probeViolations(mutated(d => { container(d).readinessProbe = { exec: { command: ['true'] } }; })))
      .toEqual(['Deployment/grafana[grafana]: readinessProbe must call an endpoint (httpGet, grpc or tcpSocket), not exec']);
    expect(probeViolations(mutated(d => { container(d).readinessProbe.httpGet.port = 'metrics'; })))
      .toEqual(['Deployment/grafana[grafana]: readinessProbe targets port metrics, which the container does not declare']);
  });

  test('a writable root file system, privilege escalation, root without a reason', () => {
    expect(securityViolations(mutated(d => { container(d).securityContext.readOnlyRootFilesystem = false; })))
      .toEqual(['Deployment/grafana[grafana]: readOnlyRootFilesystem must be true']);
    expect(securityViolations(mutated(d => { delete container(d).securityContext.allowPrivilegeEscalation; })))
      .toEqual(['Deployment/grafana[grafana]: allowPrivilegeEscalation must be false']);
    const asRoot = (d: K8sObject) => {
      container(d).securityContext.runAsNonRoot = false;
      d.spec.template.spec.securityContext.runAsNonRoot = false;
    };
    expect(securityViolations(mutated(asRoot))).toEqual([expect.stringContaining('Deployment/grafana[grafana]: runAsNonRoot must be true')]);
    expect(securityViolations(mutated(d => {
      asRoot(d);
      d.spec.template.metadata.annotations['policy.obs-canary.io/runs-as-root'] = 'reads root-owned files';
    }))).toEqual([]);
  });

  test('a service-account token where nothing grants API access', () => {
    expect(serviceAccountViolations(mutated(d => { d.spec.template.spec.automountServiceAccountToken = true; })))
      .toEqual(['Deployment/grafana: automountServiceAccountToken must be false (it does not call the API)']);
    expect(serviceAccountViolations(mutated(d => { delete d.spec.template.spec.serviceAccountName; })))
      .toEqual(['Deployment/grafana: must run under its own ServiceAccount, not default']);
  });

  test('policyViolations runs every rule', () => {
    expect(policyViolations(mutated(d => {
      container(d).image = 'grafana/grafana:latest';
      delete container(d).livenessProbe;
    }))).toHaveLength(2);
  });
});
