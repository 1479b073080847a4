import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration, Size } from 'cdk8s';
import { EnvironmentConfig, validateEnvironment } from '../../lib/config/environment';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { Alertmanager } from '../../lib/constructs/alertmanager';
import { AlertReceiver, INHIBIT_RULES, SLACK_TEXT } from '../../lib/constructs/alertmanager-config';
import { IMAGES } from '../../lib/images';
import { alertmanagerViewUrl, dashboardUrl } from '../../lib/constructs/grafana-datasources';
import { StubRequest, StubServer } from '../apps/support/stub-server';
import {
  PLACEHOLDER_URL, amtoolCheckConfig, amtoolRenderTemplate, amtoolRoutesTest, forAlertmanager025, startAlertmanager, structuralDiff,
} from '../support/alertmanager';
import { waitFor } from '../support/wait';
import { testChart, synth } from '../support/chart';
import { errorOf } from '../support/errors';
import { configFile, find, ofKind, synthStack } from '../support/manifest';

const WEBHOOK: AlertReceiver = { name: 'hook', kind: 'webhook', secret: { name: 'receivers', key: 'hook-url' } };
const PAGER: AlertReceiver = { name: 'pager', kind: 'pagerduty', secret: { name: 'receivers', key: 'routing-key' } };
const CHAT: AlertReceiver = { name: 'chat', kind: 'slack', secret: { name: 'slack', key: 'url' } };

function render(props: ConstructorParameters<typeof Alertmanager>[2] = {}) {
  const chart = testChart();
  const alertmanager = new Alertmanager(chart, 'Alertmanager', props);
  const objects = synth(chart);
  const sts = find(objects, 'StatefulSet', 'alertmanager');
  return {
    alertmanager, objects, sts, container: sts.spec.template.spec.containers[0],
    config: configFile(objects, 'alertmanager-config', 'alertmanager.yml'),
  };
}

/** Where each file under a container's mounts comes from: `{ secret, key }` of the Secret volume that holds it. */
function mountedSecretFiles(sts: any): Record<string, { secret: string; key: string }> {
  const spec = sts.spec.template.spec;
  const files: Record<string, { secret: string; key: string }> = {};
  for (const mount of spec.containers[0].volumeMounts) {
    const volume = spec.volumes.find((v: any) => v.name === mount.name);
    for (const item of volume?.secret?.items ?? []) files[`${mount.mountPath}/${item.path}`] = { secret: volume.secret.secretName, key: item.key };
  }
  return files;
}

/** The links of a config's Slack titles and PagerDuty incidents, in receiver order. */
function consoleLinks(config: any): string[] {
  return config.receivers.flatMap((r: any) => [
    ...(r.slack_configs ?? []).map((s: any) => s.title_link), ...(r.pagerduty_configs ?? []).map((p: any) => p.client_url),
  ]);
}

/** Every `*_file` value of a config, by path. */
function fileReferences(config: any): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [i, r] of config.receivers.entries()) {
    for (const kind of ['webhook_configs', 'slack_configs', 'pagerduty_configs']) {
      for (const [j, c] of (r[kind] ?? []).entries()) {
        for (const [k, v] of Object.entries(c)) if (k.endsWith('_file')) found[`receivers[${i}].${kind}[${j}].${k}`] = v as string;
      }
    }
  }
  return found;
}

describe('Alertmanager', () => {
  describe('defaults', () => {
    const { sts, container, config, objects, alertmanager } = render();

    test('one replica of the pinned image, clustering off, an emptyDir for silences and the notification log', () => {
      expect(sts.spec.replicas).toBe(1);
      expect(container.image).toBe(IMAGES.alertmanager);
      expect(IMAGES.alertmanager).toMatch(/^quay\.io\/prometheus\/alertmanager:v\d+\.\d+\.\d+$/);
      expect(container.args).toEqual(expect.arrayContaining(['--cluster.listen-address=', '--storage.path=/alertmanager']));
      expect(container.args.some((a: string) => a.startsWith('--cluster.peer'))).toBe(false);
      expect(sts.spec.volumeClaimTemplates).toBeUndefined();
      expect(sts.spec.template.spec.volumes.find((v: any) => v.name === 'data').emptyDir).toBeDefined();
      expect(ofKind(objects, 'PodDisruptionBudget')).toEqual([]);
    });

    test('the notification counters name their receiver (HeartbeatNotificationsFailing tells the heartbeat by it)', () => {
      expect(container.args).toContain('--enable-feature=receiver-name-in-metrics');
    });

    test('restricted: non-root, read-only root, no capabilities, no API token; probes on /-/healthy and /-/ready', () => {
      expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(sts.spec.template.spec.automountServiceAccountToken).toBe(false);
      expect(container.livenessProbe.httpGet.path).toBe('/-/healthy');
      expect(container.readinessProbe.httpGet.path).toBe('/-/ready');
      expect(container.resources.limits).toEqual({ cpu: '200m', memory: '256Mi' });
    });

    test('a Service on 9093, a headless one for the pods\' names, scraped by its named port', () => {
      expect(find(objects, 'Service', 'alertmanager').spec.ports).toEqual([expect.objectContaining({ name: 'http', port: 9093 })]);
      expect(find(objects, 'Service', 'alertmanager-cluster').spec.clusterIP).toBe('None');
      expect(alertmanager.metricsTarget).toEqual({ job: 'alertmanager', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'alertmanager' }, port: 'http' });
      expect(alertmanager.instances).toEqual(['alertmanager-0.alertmanager-cluster.observability.svc.cluster.local:9093']);
    });

    test('timings 30s / 5m / 4h, grouped by alertname, service and component, to a default receiver that drops', () => {
      expect(config.route).toEqual({
        receiver: 'default', group_by: ['alertname', 'service', 'component'], group_wait: '30s', group_interval: '5m', repeat_interval: '4h', routes: [],
      });
      expect(config.receivers).toEqual([{ name: 'default' }]);
      expect(config.global).toBeUndefined();
    });

    test('inhibitions: the fast burn mutes the slow and steady burns and latency tickets of its service, the slow burn the steady one; '
      + 'a page mutes its ticket; a component down mutes its missing pods and targets', () => {
      expect(config.inhibit_rules).toEqual([
        {
          source_matchers: ['alertname="SloErrorBudgetFastBurn"'],
          target_matchers: ['alertname=~"SloErrorBudgetSlowBurn|SloErrorBudgetSteadyBurn|SloLatencyP95High|SloLatencyP99High"'],
          equal: ['service'],
        },
        { source_matchers: ['alertname="SloErrorBudgetSlowBurn"'], target_matchers: ['alertname="SloErrorBudgetSteadyBurn"'], equal: ['service'] },
        { source_matchers: ['severity="page"'], target_matchers: ['severity="ticket"'], equal: ['alertname', 'service', 'component'] },
        {
          source_matchers: ['alertname="PipelineComponentDown"'], target_matchers: ['alertname=~"PipelineReplicasMissing|PipelineTargetDown"'],
          equal: ['component'],
        },
      ]);
      expect(config.inhibit_rules).toEqual(INHIBIT_RULES);
    });
  });

  describe('receivers', () => {
    const { sts, config } = render({ receivers: [WEBHOOK, PAGER, CHAT] });

    test('each reads its URL or key from a file; pages go to PagerDuty and the webhook, tickets to Slack and the webhook', () => {
      expect(config.receivers).toEqual([
        { name: 'default' },
        { name: 'hook', webhook_configs: [{ send_resolved: true, url_file: '/etc/alertmanager/secrets/receivers/hook-url' }] },
        { name: 'pager', pagerduty_configs: [{ send_resolved: true, routing_key_file: '/etc/alertmanager/secrets/receivers/routing-key', client_url: '' }] },
        { name: 'chat', slack_configs: [{ send_resolved: true, api_url_file: '/etc/alertmanager/secrets/slack/url', text: SLACK_TEXT, title_link: '' }] },
      ]);
      expect(config.route.routes).toEqual([
        { receiver: 'hook', matchers: ['severity="page"'], continue: true },
        { receiver: 'pager', matchers: ['severity="page"'], continue: true },
        { receiver: 'hook', matchers: ['severity="ticket"'], continue: true, group_wait: '90s' },
        { receiver: 'chat', matchers: ['severity="ticket"'], continue: true, group_wait: '90s' },
      ]);
    });

    test('a ticket waits a minute longer than a page, or a rule evaluation when the rules are evaluated less often', () => {
      const ticketWait = (ruleInterval?: Duration) => render({ receivers: [CHAT], ...(ruleInterval ? { ruleInterval } : {}) })
        .config.route.routes.filter((r: any) => r.matchers.includes('severity="ticket"')).map((r: any) => r.group_wait);
      expect(ticketWait()).toEqual(['90s']);
      expect(ticketWait(Duration.seconds(30))).toEqual(['90s']);
      expect(ticketWait(Duration.minutes(2))).toEqual(['150s']);
    });

    test('every *_file is a key of the Secret its receiver names, mounted read-only', () => {
      const mounted = mountedSecretFiles(sts);
      const refs = fileReferences(config);
      expect(Object.keys(refs)).toHaveLength(3);
      const byName = Object.fromEntries([WEBHOOK, PAGER, CHAT].map(r => [r.name, r.secret]));
      for (const [where, file] of Object.entries(refs)) {
        const receiver = config.receivers[Number(/^receivers\[(\d+)\]/.exec(where)![1])].name;
        expect([where, mounted[file]]).toEqual([where, { secret: byName[receiver].name, key: byName[receiver].key }]);
      }
      expect(sts.spec.template.spec.containers[0].volumeMounts.filter((m: any) => m.name.startsWith('secret-')).every((m: any) => m.readOnly)).toBe(true);
    });

    test('a Slack message says what each alert\'s annotations say (amtool renders it as Alertmanager would; its default body is empty)', () => {
      const text = render({ receivers: [CHAT] }).config.receivers[1].slack_configs[0].text;
      expect(amtoolRenderTemplate(text, [
        {
          status: 'firing', labels: { alertname: 'A' },
          annotations: { summary: 'gateway burns', description: '5xx at 20 %', runbook: 'roll it back', dashboard: 'https://grafana.example.com/d/canary-gateway' },
        },
        { status: 'resolved', labels: { alertname: 'B' }, annotations: { summary: 'backend is slow', description: 'p95 at 900 ms' } },
      ])).toBe('*gateway burns*\n5xx at 20 %\nRunbook: roll it back\nDashboard: https://grafana.example.com/d/canary-gateway\n'
        + '[resolved] *backend is slow*\np95 at 900 ms\n');
    });

    test('severities override the kind\'s default', () => {
      const { config: c } = render({ receivers: [{ ...PAGER, severities: ['page', 'ticket'] }] });
      expect(c.route.routes.map((r: any) => r.matchers[0])).toEqual(['severity="page"', 'severity="ticket"']);
    });

    test('amtool 0.25 accepts the config once url_file, which it does not know, is swapped for a url; nothing else differs', () => {
      const copy = forAlertmanager025(config);
      expect(structuralDiff(config, copy).sort()).toEqual(['receivers[1].webhook_configs[0].url', 'receivers[1].webhook_configs[0].url_file']);
      expect(copy.receivers[1].webhook_configs[0].url).toBe(PLACEHOLDER_URL);
      expect(amtoolCheckConfig(copy)).toMatch(/SUCCESS/);
      // the check is real: 0.25 refuses the field itself
      expect(() => amtoolCheckConfig(config)).toThrow(/field url_file not found/);
    });
  });

  test('a real Alertmanager links Slack titles and PagerDuty incidents to the console, or to nothing: never to its own pod', async () => {
    const CONSOLE = 'https://grafana.example.com/alerting/groups?alertmanager=Alertmanager';
    const linked = render({ receivers: [CHAT, PAGER], consoleUrl: CONSOLE }).config;
    const plain = render({ receivers: [{ ...CHAT, name: 'chat-plain' }, { ...PAGER, name: 'pager-plain' }] }).config;
    const received: StubRequest[] = [];
    const stub = await StubServer.start(async request => {
      received.push(request);
      return { status: 200, body: {} };
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertmanager-links-'));
    const server = await (async () => {
      // the rendered receivers and routes of both, each integration sending to the stub; no group waits
      const config = forAlertmanager025({
        ...linked,
        receivers: [...linked.receivers, ...plain.receivers.slice(1)],
        route: { ...linked.route, group_wait: '0s', routes: [...linked.route.routes, ...plain.route.routes].map(({ group_wait: _, ...r }: any) => r) },
      });
      for (const receiver of config.receivers) {
        for (const slack of receiver.slack_configs ?? []) {
          slack.api_url_file = path.join(dir, `${receiver.name}-url`);
          fs.writeFileSync(slack.api_url_file, `${stub.url}/slack/${receiver.name}`);
        }
        for (const pager of receiver.pagerduty_configs ?? []) {
          pager.routing_key_file = path.join(dir, `${receiver.name}-key`);
          fs.writeFileSync(pager.routing_key_file, 'routing-key');
          pager.url = `${stub.url}/pagerduty/${receiver.name}`;
        }
      }
      return startAlertmanager(config);
    })();
    try {
      const alerts = ['ticket', 'page'].map(severity => ({ labels: { alertname: `Burn-${severity}`, severity }, annotations: { summary: 's' } }));
      const posted = await fetch(`${server.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      expect(posted.status).toBe(200);
      await waitFor(() => received.length >= 4, { what: 'a Slack message and a PagerDuty event of each receiver' });
      const sent = Object.fromEntries(received.map(r => [r.url, JSON.parse(r.body)]));
      expect(Object.keys(sent).sort()).toEqual(['/pagerduty/pager', '/pagerduty/pager-plain', '/slack/chat', '/slack/chat-plain']);
      expect(sent['/slack/chat'].attachments[0].title_link).toBe(CONSOLE);
      expect(sent['/pagerduty/pager'].client_url).toBe(CONSOLE);
      // without a console: no link at all, where Alertmanager's default would name its pod (http://alertmanager-0:9093/#/alerts…)
      expect(sent['/slack/chat-plain'].attachments[0]).not.toHaveProperty('title_link');
      expect(sent['/pagerduty/pager-plain']).not.toHaveProperty('client_url');
    } finally {
      await Promise.all([server.stop(), stub.close()]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('two replicas', () => {
    const { sts, container, objects, alertmanager } = render({ replicas: 2, volumeSize: Size.gibibytes(1), storageClassName: 'fast' });

    test('clustered: listen on 9094, advertise the pod IP, every pod a peer through the headless Service', () => {
      expect(container.args).toEqual(expect.arrayContaining([
        '--cluster.listen-address=0.0.0.0:9094',
        '--cluster.advertise-address=$(POD_IP):9094',
        '--cluster.peer=alertmanager-0.alertmanager-cluster.observability.svc.cluster.local:9094',
        '--cluster.peer=alertmanager-1.alertmanager-cluster.observability.svc.cluster.local:9094',
      ]));
      expect(container.env).toEqual([{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]);
      const headless = find(objects, 'Service', 'alertmanager-cluster');
      expect(headless.spec.publishNotReadyAddresses).toBe(true);
      expect(headless.spec.ports.filter((p: any) => p.port === 9094).map((p: any) => p.protocol)).toEqual(['TCP', 'UDP']);
      expect(sts.spec.serviceName).toBe('alertmanager-cluster');
      expect(alertmanager.instances).toHaveLength(2);
    });

    test('a disruption budget and spread, and a PersistentVolume', () => {
      expect(find(objects, 'PodDisruptionBudget', 'alertmanager').spec.maxUnavailable).toBe(1);
      expect(sts.spec.template.spec.topologySpreadConstraints).toHaveLength(2);
      expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } });
      expect(sts.spec.template.spec.volumes.some((v: any) => v.name === 'data')).toBe(false);
    });
  });

  test('a proxy sets the variables and proxy_from_environment, which Alertmanager needs to honour them', () => {
    const { container, config } = render({ receivers: [PAGER], egressProxy: { url: 'http://proxy:3128', noProxy: ['.svc'] } });
    expect(container.env).toEqual([
      { name: 'HTTPS_PROXY', value: 'http://proxy:3128' }, { name: 'HTTP_PROXY', value: 'http://proxy:3128' }, { name: 'NO_PROXY', value: '.svc' },
    ]);
    expect(config.global).toEqual({ http_config: { proxy_from_environment: true } });
  });

  test('timings follow the props', () => {
    const { config } = render({ groupWait: Duration.seconds(10), groupInterval: Duration.minutes(1), repeatInterval: Duration.hours(12) });
    expect(config.route).toMatchObject({ group_wait: '10s', group_interval: '1m', repeat_interval: '12h' });
  });

  test('a ticket\'s group waits a minute longer than a page\'s: the page that inhibits it arrives first, even a rule evaluation later', () => {
    const { config } = render({ receivers: [WEBHOOK], groupWait: Duration.seconds(10) });
    expect(config.route.routes.map((r: any) => [r.matchers[0], r.group_wait])).toEqual([['severity="page"', undefined], ['severity="ticket"', '70s']]);
  });

  test.each([
    ['replicas out of range', { replicas: 6 }, /'replicas' must be an integer from 1 to 5, got 6/],
    ['a receiver named default', { receivers: [{ ...WEBHOOK, name: 'default' }] },
      /'receivers' names must be unique DNS labels other than "default" and "heartbeat", got "default"/],
    ['a receiver named heartbeat', { receivers: [{ ...WEBHOOK, name: 'heartbeat' }] }, /got "heartbeat"/],
    ['a heartbeat every 30 seconds', { heartbeat: { secret: WEBHOOK.secret, interval: Duration.seconds(30) } }, /'heartbeat.interval' must be from 1m to 1h, got 30s/],
    ['two receivers with one name', { receivers: [WEBHOOK, { ...PAGER, name: 'hook' }] }, /got "hook"/],
    ['a repeat shorter than the group interval', { groupInterval: Duration.minutes(10), repeatInterval: Duration.minutes(5) },
      /'repeatInterval' must be at least 'groupInterval' \(10m\), got 5m/],
    ['a tiny volume', { volumeSize: Size.mebibytes(10) }, /'volumeSize'/],
    ['a console URL Alertmanager would read as a template', { consoleUrl: 'https://grafana.example.com/{{ .ExternalURL }}' },
      /'consoleUrl' must be an absolute http\(s\) URL without spaces or braces, got "https:\/\/grafana.example.com\/\{\{ .ExternalURL \}\}"/],
    ['a relative console URL', { consoleUrl: '/alerting/groups' }, /'consoleUrl' must be/],
  ] as const)('fails on %s', (_what, props, message) => {
    expect(() => render(props as never)).toThrow(message);
  });
});

describe('the environments\' alerting', () => {
  const { local, prod } = ENVIRONMENTS;
  const withAlerting = (env: EnvironmentConfig, alerting: Partial<EnvironmentConfig['alerting']>): EnvironmentConfig =>
    ({ ...env, alerting: { ...env.alerting, ...alerting } });

  test.each([
    ['replicas', withAlerting(prod, { replicas: 0 }), '\'alerting.replicas\' must be'],
    ['a receiver\'s name', withAlerting(local, { receivers: [{ ...WEBHOOK, name: 'Hook!' }] }), '\'alerting.receivers[0].name\' must be a DNS label'],
    ['a receiver\'s kind', withAlerting(local, { receivers: [{ ...WEBHOOK, kind: 'email' as never }] }), '\'alerting.receivers[0].kind\' must be one of'],
    ['a receiver\'s Secret', withAlerting(local, { receivers: [{ ...WEBHOOK, secret: { name: 'Bad_Name', key: 'k' } }] }),
      '\'alerting.receivers[0].secret.name\''],
    ['a receiver\'s severities', withAlerting(local, { receivers: [{ ...WEBHOOK, severities: ['info' as never] }] }),
      '\'alerting.receivers[0].severities\' must be left out or a non-empty list of "page" and "ticket"'],
    ['the repeat interval', withAlerting(local, { groupInterval: Duration.hours(2), repeatInterval: Duration.hours(1) }),
      '\'alerting.repeatInterval\' must be at least \'alerting.groupInterval\''],
    ['the volume', withAlerting(prod, { volumeSize: Size.mebibytes(10) }), '\'alerting.volumeSize\''],
    ['receivers without their egress',
      { ...local, egress: { ...local.egress, dependencies: { ...local.egress.dependencies, alertReceivers: undefined } } },
      '\'egress.dependencies.alertReceivers\' must be { cidrs, ports } or { via: <proxy> } for the alert receivers'],
    ['egress for receivers that do not exist', withAlerting(local, { receivers: [] }), '\'egress.dependencies.alertReceivers\' must be left out'],
    // the default for slack is tickets: the pages would fall to the receiver without integrations
    ['the heartbeat\'s interval', withAlerting(prod, { heartbeat: { secret: { name: 'alertmanager-receivers', key: 'heartbeat-url' }, interval: Duration.seconds(30) } }),
      '\'alerting.heartbeat.interval\' must be a duration from 1m to 1h, got 30s'],
    ['the heartbeat\'s Secret', withAlerting(prod, { heartbeat: { secret: { name: 'Bad_Name', key: 'heartbeat-url' } } }), '\'alerting.heartbeat.secret.name\''],
    ['a receiver named heartbeat', withAlerting(local, { receivers: [{ ...WEBHOOK, name: 'heartbeat' }] }),
      '\'alerting.receivers[0].name\' must be a DNS label no other receiver has, other than "default" (the receiver of what no route takes) and "heartbeat"'],
    ['receivers that leave the pages to no one', withAlerting(local, { receivers: [{ ...WEBHOOK, kind: 'slack' }] }),
      '\'alerting.receivers\' must be a receiver for every severity: none takes "page" alerts, which would reach no one'],
    ['receivers that leave the tickets to no one', withAlerting(local, { receivers: [{ ...PAGER, severities: ['page'] }] }),
      'none takes "ticket" alerts'],
  ])('fails on %s, naming the field', (_what, env, message) => {
    expect(errorOf(() => validateEnvironment(env))).toContain(message);
  });

  describe.each([local, prod].map(env => ({ env, name: env.name })))('$name', ({ env }) => {
    const { charts, stack } = synthStack(env);
    const objects = charts.observability;
    const config = configFile(objects, 'alertmanager-config', 'alertmanager.yml');
    const sts = find(objects, 'StatefulSet', 'alertmanager');

    test('replicas and volume follow the environment; Prometheus sends to every replica', () => {
      expect(sts.spec.replicas).toBe(env.alerting.replicas);
      expect(sts.spec.volumeClaimTemplates !== undefined).toBe(env.alerting.volumeSize !== undefined);
      const prometheus = configFile(objects, 'prometheus-config', 'prometheus.yml');
      expect(prometheus.alerting).toEqual({ alertmanagers: [{ api_version: 'v2', static_configs: [{ targets: stack.observability.alertmanager.instances }] }] });
      expect(stack.observability.alertmanager.instances).toHaveLength(env.alerting.replicas);
    });

    test('Grafana has the Alertmanager datasource', () => {
      const ds = configFile(objects, 'grafana-provisioning', 'datasources.yaml').datasources.find((d: any) => d.uid === 'alertmanager');
      expect(ds).toMatchObject({
        type: 'alertmanager', url: stack.observability.alertmanager.url, jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
      });
    });

    test('every *_file points at a mounted key of the receiver\'s Secret; no URL or key is written in the config', () => {
      const mounted = mountedSecretFiles(sts);
      const refs = fileReferences(config);
      // the heartbeat's webhook too, where there is one
      const keyed = [...env.alerting.receivers, ...(env.alerting.heartbeat ? [{ name: 'heartbeat', secret: env.alerting.heartbeat.secret }] : [])];
      expect(Object.keys(refs)).toHaveLength(keyed.length);
      for (const receiver of keyed) {
        const at = config.receivers.findIndex((r: any) => r.name === receiver.name);
        const files = Object.entries(refs).filter(([where]) => where.startsWith(`receivers[${at}].`)).map(([, f]) => f);
        expect(files.map(f => mounted[f])).toEqual([{ secret: receiver.secret.name, key: receiver.secret.key }]);
      }
      // the one URL written is the public console's, as the links of Slack titles and PagerDuty incidents
      const console = env.grafana.rootUrl !== undefined ? alertmanagerViewUrl(env.grafana.rootUrl) : '';
      for (const link of consoleLinks(config)) expect(link).toBe(console);
      const unlinked = {
        ...config,
        receivers: config.receivers.map((r: any) => ({
          ...r,
          slack_configs: r.slack_configs?.map(({ title_link: _, ...s }: any) => s),
          pagerduty_configs: r.pagerduty_configs?.map(({ client_url: _, ...p }: any) => p),
        })),
      };
      expect(JSON.stringify(unlinked)).not.toMatch(/https?:\/\//);
    });

    test('amtool 0.25 accepts it once the keys it does not know are adapted, and they are the only difference', () => {
      const copy = forAlertmanager025(config);
      const expected = [
        ...config.receivers.flatMap((r: any, i: number) => (r.webhook_configs ?? []).flatMap((_: unknown, j: number) => [
          `receivers[${i}].webhook_configs[${j}].url`, `receivers[${i}].webhook_configs[${j}].url_file`,
        ])),
        ...(config.global ? ['global.http_config.proxy_from_environment'] : []),
      ];
      expect(structuralDiff(config, copy).sort()).toEqual(expected.sort());
      expect(amtoolCheckConfig(copy)).toMatch(/SUCCESS/);
    });
  });

  test('prod\'s dead man\'s switch: the always-firing Watchdog reaches the heartbeat alone, every 5 minutes, and no other alert does (amtool)', () => {
    const objects = synthStack(prod).charts.observability;
    const config = forAlertmanager025(configFile(objects, 'alertmanager-config', 'alertmanager.yml'));
    expect(amtoolRoutesTest(config, { alertname: 'Watchdog', severity: 'none', component: 'alertmanager' })).toEqual(['heartbeat']);
    expect(amtoolRoutesTest(config, { alertname: 'SloErrorBudgetFastBurn', severity: 'page', service: 'gateway' })).toEqual(['pagerduty']);
    expect(amtoolRoutesTest(config, { alertname: 'PipelineTargetDown', severity: 'ticket', component: 'loki' })).toEqual(['slack']);
    expect(config.route.routes[0]).toMatchObject({ receiver: 'heartbeat', repeat_interval: '5m', group_interval: '1m' });
    expect(config.receivers.find((r: any) => r.name === 'heartbeat').webhook_configs[0].send_resolved).toBe(false);
    // the rules hold the watchdog where there is a heartbeat, and only there
    const watchdogs = (env: EnvironmentConfig) => configFile(synthStack(env).charts.observability, 'prometheus-config', 'rules.yml')
      .groups.flatMap((g: any) => g.rules).filter((r: any) => r.alert === 'Watchdog').map((r: any) => [r.expr, r.labels.severity]);
    expect(watchdogs(prod)).toEqual([['vector(1)', 'none']]);
    expect(watchdogs(local)).toEqual([]);
  });

  test('prod\'s Slack titles and PagerDuty incidents open Grafana\'s page of the Alertmanager datasource Grafana is given', () => {
    const { observability } = synthStack(prod).charts;
    const receivers = configFile(observability, 'alertmanager-config', 'alertmanager.yml').receivers;
    expect(consoleLinks({ receivers })).toEqual([`${prod.grafana.rootUrl}/alerting/groups?alertmanager=Alertmanager`, `${prod.grafana.rootUrl}/alerting/groups?alertmanager=Alertmanager`]);
    const datasources = configFile(observability, 'grafana-provisioning', 'datasources.yaml').datasources;
    expect(datasources.filter((d: any) => d.type === 'alertmanager').map((d: any) => d.name)).toEqual(['Alertmanager']);
    // Grafana under a sub-path keeps it
    expect(alertmanagerViewUrl('https://example.com/grafana')).toBe('https://example.com/grafana/alerting/groups?alertmanager=Alertmanager');
    expect(alertmanagerViewUrl('https://example.com/grafana/')).toBe('https://example.com/grafana/alerting/groups?alertmanager=Alertmanager');
    // a dashboard's address, the same way
    expect(dashboardUrl('https://example.com/grafana', 'canary-ledger')).toBe('https://example.com/grafana/d/canary-ledger');
    expect(dashboardUrl('https://grafana.example.com/', 'canary-ledger')).toBe('https://grafana.example.com/d/canary-ledger');
  });

  test('prod pages PagerDuty and tickets Slack, through the corporate proxy; local sends both to its webhook', () => {
    const routes = (env: EnvironmentConfig) => configFile(synthStack(env).charts.observability, 'alertmanager-config', 'alertmanager.yml').route.routes
      .map((r: any) => `${r.matchers[0]} → ${r.receiver}`);
    expect(routes(prod)).toEqual(['alertname="Watchdog" → heartbeat', 'severity="page" → pagerduty', 'severity="ticket" → slack']);
    expect(routes(local)).toEqual(['severity="page" → webhook', 'severity="ticket" → webhook']);
    const env = find(synthStack(prod).charts.observability, 'StatefulSet', 'alertmanager').spec.template.spec.containers[0].env;
    expect(env).toEqual(expect.arrayContaining([{ name: 'HTTPS_PROXY', value: prod.egress.proxies!.corporate.url }]));
  });
});
