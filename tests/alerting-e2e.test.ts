// From burning history to a webhook, with the real binaries: two hours of gateway requests, half of them 503s, loaded
// into a Prometheus data directory by promtool; Debian's Prometheus 2.42 evaluating the RENDERED rule file and sending
// to Debian's Alertmanager 0.25 running the RENDERED config, in which only the receiver's URL (a loopback webhook, `url`
// for 0.25's sake) and the group timings are replaced. The fast burn must arrive once; the slow burn, which fires too,
// must be inhibited by it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENTS } from '../lib/config/environments';
import { SLO_ALERTS } from '../lib/slo/alerting-rules';
import { AlertmanagerServer, forAlertmanager025, startAlertmanager } from './support/alertmanager';
import { configFile, synthStack } from './support/manifest';
import { PrometheusServer, startPrometheus } from './support/prometheus-server';
import { waitFor } from './support/wait';

const SERVICE = 'gateway';
const LABELS = 'reporter="destination",destination_workload_namespace="apps",destination_workload="gateway-stable",destination_app="gateway",destination_version="stable"';

/**
 * Two hours of counters every 15 s up to 30 s ago: 2 requests a second, 90 % of them 503s (above the fast burn's
 * 14.4 × (1 − 0.95) = 0.72 of gateway's SLO, and so above the slow burn's 0.3).
 */
function burningHistory(nowSeconds: number): string {
  const step = 15;
  const end = Math.floor(nowSeconds) - 30;
  const start = end - 2 * 3600;
  const lines: string[] = [];
  for (const [code, perStep] of [['200', 3], ['503', 27]] as const) {
    for (let t = start, n = 0; t <= end; t += step, n++) lines.push(`istio_requests_total{${LABELS},response_code="${code}"} ${n * perStep} ${t}`);
  }
  return `${lines.join('\n')}\n# EOF\n`;
}

interface Notification {
  readonly status: string;
  readonly alerts: ReadonlyArray<{ readonly status: string; readonly labels: Record<string, string>; readonly annotations: Record<string, string> }>;
}

describe('alerting end to end (Prometheus 2.42, Alertmanager 0.25)', () => {
  /** A ticket's group wait here: longer than a page's 1 s by more than the rules' 1 s evaluation interval. */
  const TICKET_WAIT_MS = 3000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-alerting-'));
  const received: Notification[] = [];
  const webhook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      received.push(JSON.parse(body) as Notification);
      res.writeHead(200).end();
    });
  });
  let alertmanager: AlertmanagerServer | undefined;
  let prometheus: PrometheusServer | undefined;

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await new Promise<void>(resolve => webhook.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the fast burn of a service reaches the webhook once, with its labels and annotations; the slow burn is inhibited', async () => {
    const objects = synthStack(ENVIRONMENTS.local).charts.observability;
    const rules: string = objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'prometheus-config')!.data['rules.yml'];
    const rendered = configFile(objects, 'alertmanager-config', 'alertmanager.yml');

    await new Promise<void>(resolve => webhook.listen(0, '127.0.0.1', resolve));
    const { port } = webhook.address() as { port: number };
    const config = forAlertmanager025(rendered, () => `http://127.0.0.1:${port}/`);
    // rendered: a ticket's group waits a minute longer than a page's, so that the fast burn arrives and inhibits the
    // slow burn before the slow burn's group is sent; here the same order, scaled to rules evaluated every second
    const tickets = config.route.routes.filter((r: any) => r.matchers.includes('severity="ticket"'));
    expect(tickets.map((r: any) => r.group_wait)).toEqual(['90s']);
    for (const route of tickets) route.group_wait = `${TICKET_WAIT_MS / 1000}s`;
    config.route = { ...config.route, group_wait: '1s', group_interval: '1s', repeat_interval: '1h' };
    alertmanager = await startAlertmanager(config);

    fs.writeFileSync(path.join(dir, 'history.om'), burningHistory(Date.now() / 1000));
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', path.join(dir, 'history.om'), path.join(dir, 'blocks')], { stdio: 'pipe' });
    prometheus = await startPrometheus({
      scrapeConfigs: [], ruleFiles: { 'rules.yml': rules }, alertmanagers: [alertmanager.address], blocksFrom: path.join(dir, 'blocks'),
    });

    // both burn, so both fire; Alertmanager holds the slow one as inhibited
    const am = alertmanager.url;
    await waitFor(async () => {
      const alerts = await (await fetch(`${am}/api/v2/alerts`)).json() as Array<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }>;
      const slow = alerts.find(a => a.labels.alertname === SLO_ALERTS.slowBurn && a.labels.service === SERVICE);
      return slow?.status.state === 'suppressed' && slow.status.inhibitedBy.length > 0
        && received.some(n => n.alerts.some(a => a.labels.alertname === SLO_ALERTS.fastBurn));
      // ~8 s here: Prometheus finds the Alertmanager some 5 s after it starts; a loaded machine needs more
    }, { what: 'the fast burn at the webhook and the slow burn inhibited', timeoutMs: 45_000, intervalMs: 200 }).catch(async (error: Error) => {
      // what each end saw, in the failure message
      const promAlerts = await (await fetch(`${prometheus!.url}/api/v1/alerts`)).text();
      const ruleHealth = await (await fetch(`${prometheus!.url}/api/v1/rules`)).text();
      const amAlerts = await (await fetch(`${am}/api/v2/alerts`)).text();
      throw new Error(`${error.message}\nprometheus alerts: ${promAlerts}\nalertmanager alerts: ${amAlerts}\nwebhook: ${JSON.stringify(received)}`
        + `\nrule errors: ${ruleHealth.match(/"lastError":"[^"]+"/g)?.join(', ') ?? 'none'}`);
    });

    // past the ticket's wait: an uninhibited slow burn would have been sent by now (absence needs the deadline to pass)
    await new Promise(resolve => setTimeout(resolve, TICKET_WAIT_MS + 2000));
    const fast = received.flatMap(n => n.alerts).filter(a => a.labels.alertname === SLO_ALERTS.fastBurn && a.status === 'firing');
    expect(fast).toHaveLength(1);
    expect(fast[0].labels).toMatchObject({ alertname: SLO_ALERTS.fastBurn, severity: 'page', service: SERVICE });
    expect(fast[0].annotations).toEqual({
      summary: expect.stringContaining(`${SERVICE} is spending its error budget`),
      description: expect.stringContaining('5xx ratio over the last 1h and 5m'),
      runbook: expect.stringContaining(`npx canary status --service ${SERVICE} --env ${ENVIRONMENTS.local.name}`),
    });
    expect(received.flatMap(n => n.alerts).filter(a => a.labels.alertname === SLO_ALERTS.slowBurn)).toEqual([]);
    if (process.env.ALERT_SAMPLE_OUT) {
      fs.writeFileSync(process.env.ALERT_SAMPLE_OUT, `${JSON.stringify(received.find(n => n.alerts.some(a => a.labels.alertname === SLO_ALERTS.fastBurn)), null, 2)}\n`);
    }
    // a synth and two daemons to start before the wait: each has its own bound, which this one covers
  }, 120_000);
});
