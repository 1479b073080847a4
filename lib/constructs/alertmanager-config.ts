import { CLUSTER_LABEL } from '../slo/vocabulary';
import { SLO_ALERTS, Severity } from '../slo/alerting-rules';
import { HEARTBEAT_RECEIVER, PIPELINE_ALERTS, REPLICA_ALERTS, WATCHDOG_ALERT } from '../slo/pipeline-alerts';
import { SecretKeyRef } from './types';

/**
 * The part of the Alertmanager configuration file this project renders, typed so that a misspelt key fails `tsc`.
 * Keys keep Alertmanager's own snake_case spelling: the objects are serialized as they are. Every URL and key is read
 * from a file (a mounted Secret key), never written into the file itself.
 *
 * Checked against `docs/configuration.md` and `notify/{webhook,pagerduty}/config.go` of prometheus/alertmanager
 * v0.34.0 (the pinned v0.35.1 changes no key used here). Alertmanager 0.25 (Debian's, which the tests run) lacks
 * `webhook_configs[].url_file` (added in 0.26) and `http_config.proxy_from_environment` (prometheus/common 0.44+).
 *
 * @see https://prometheus.io/docs/alerting/latest/configuration/
 */

/** The HTTP client of the notifiers. */
export interface AlertmanagerHttpConfig {
  /** Send through the proxy of `HTTPS_PROXY`/`HTTP_PROXY`, except for `NO_PROXY`. */
  readonly proxy_from_environment?: boolean;
}

/** A generic webhook: a JSON POST of the alert group. */
export interface WebhookConfig {
  readonly send_resolved: boolean;
  /** File holding the URL (0.26+). */
  readonly url_file: string;
}

/** A Slack incoming webhook. */
export interface SlackConfig {
  readonly send_resolved: boolean;
  /** File holding the incoming-webhook URL. */
  readonly api_url_file: string;
  /** The message body (a template): Alertmanager's default is empty. */
  readonly text: string;
  /** Where the title links to; empty for no link. Alertmanager's default is its own UI at `--web.external-url`. */
  readonly title_link: string;
}

/**
 * A Slack message's body: each alert's summary, description and runbook, the annotations every rule carries
 * (Alertmanager's default body is empty, and its default title names only the alert and the group's labels).
 */
export const SLACK_TEXT = '{{ range .Alerts }}{{ if eq .Status "resolved" }}[resolved] {{ end }}*{{ .Annotations.summary }}*\n'
  + '{{ .Annotations.description }}{{ with .Annotations.runbook }}\nRunbook: {{ . }}{{ end }}'
  + '{{ with .Annotations.dashboard }}\nDashboard: {{ . }}{{ end }}\n{{ end }}';

/** PagerDuty, Events API v2. */
export interface PagerdutyConfig {
  readonly send_resolved: boolean;
  /** File holding the integration's routing key. */
  readonly routing_key_file: string;
  /** The incident's "view in" link; empty for none. Alertmanager's default is its own UI at `--web.external-url`. */
  readonly client_url: string;
}

/** A named receiver; one without integrations drops what it is sent. */
export interface AlertmanagerReceiverConfig {
  readonly name: string;
  readonly webhook_configs?: readonly WebhookConfig[];
  readonly slack_configs?: readonly SlackConfig[];
  readonly pagerduty_configs?: readonly PagerdutyConfig[];
}

/** A node of the routing tree. */
export interface AlertmanagerRoute {
  readonly receiver: string;
  /** `label="value"` matchers (Alertmanager's own matcher syntax). */
  readonly matchers?: readonly string[];
  readonly group_by?: readonly string[];
  readonly group_wait?: string;
  readonly group_interval?: string;
  readonly repeat_interval?: string;
  readonly continue?: boolean;
  readonly routes?: readonly AlertmanagerRoute[];
}

/** Mutes the alerts matching `target_matchers` while an alert matching `source_matchers` fires with the same `equal` labels. */
export interface InhibitRule {
  readonly source_matchers: readonly string[];
  readonly target_matchers: readonly string[];
  readonly equal: readonly string[];
}

/** The configuration file. */
export interface AlertmanagerConfig {
  readonly global?: { readonly http_config?: AlertmanagerHttpConfig };
  readonly route: AlertmanagerRoute;
  readonly receivers: readonly AlertmanagerReceiverConfig[];
  readonly inhibit_rules: readonly InhibitRule[];
}

/** The kinds of receivers an environment can name. */
export type ReceiverKind = 'webhook' | 'slack' | 'pagerduty';

/** A receiver of an environment: where its URL or key is, and which severities it gets. */
export interface AlertReceiver {
  /** A DNS label, unique; `default` is taken. */
  readonly name: string;
  readonly kind: ReceiverKind;
  /** The Secret key holding the webhook URL (webhook, Slack) or the Events v2 routing key (PagerDuty). */
  readonly secret: SecretKeyRef;
  /**
   * The severities it is sent.
   * @default - PagerDuty: page; Slack: ticket; webhook: page and ticket
   */
  readonly severities?: readonly Severity[];
}

/** The severities a receiver gets when it names none: pagers page, chat gets tickets, a webhook gets both. */
export function severitiesOf(receiver: AlertReceiver): readonly Severity[] {
  if (receiver.severities !== undefined) return receiver.severities;
  switch (receiver.kind) {
    case 'pagerduty':
      return ['page'];
    case 'slack':
      return ['ticket'];
    default:
      return ['page', 'ticket'];
  }
}

/** The name of the receiver that gets what no route takes: it has no integrations, so such alerts show only in the UI. */
export const DEFAULT_RECEIVER = 'default';

/**
 * The dead man's switch: an alert that always fires ({@link WATCHDOG_ALERT}), sent on its own route to a webhook outside
 * the cluster (a heartbeat service such as healthchecks.io or Dead Man's Snitch) at every repeat interval, so that
 * the service raises the alarm when the pings stop: rules not evaluated, Alertmanager down, notifications not leaving.
 */
export const HEARTBEAT = { receiver: HEARTBEAT_RECEIVER, alert: WATCHDOG_ALERT } as const;

/** The labels an alert group is made of: one notification per alert, service and pipeline component. */
export const GROUP_BY = ['alertname', 'service', 'component'] as const;

/**
 * The inhibitions:
 * - a fast burn of a service mutes its slow and steady burns and its latency tickets: a burning SLO pages once;
 * - a slow burn mutes the steady burn of the same service;
 * - a page mutes a ticket of the same alert, service and component;
 * - a component none of whose pods runs mutes its missing pods and its targets down.
 */
export const INHIBIT_RULES: readonly InhibitRule[] = [
  {
    source_matchers: [`alertname="${SLO_ALERTS.fastBurn}"`],
    target_matchers: [`alertname=~"${[SLO_ALERTS.slowBurn, SLO_ALERTS.steadyBurn, SLO_ALERTS.latencyP95, SLO_ALERTS.latencyP99].join('|')}"`],
    equal: ['service'],
  },
  // the steady burn says less than the slow burn of the same service
  { source_matchers: [`alertname="${SLO_ALERTS.slowBurn}"`], target_matchers: [`alertname="${SLO_ALERTS.steadyBurn}"`], equal: ['service'] },
  { source_matchers: ['severity="page"'], target_matchers: ['severity="ticket"'], equal: ['alertname', 'service', 'component'] },
  // a component none of whose pods runs says it all: not each missing pod, nor each target that does not answer
  {
    source_matchers: [`alertname="${REPLICA_ALERTS.none}"`],
    target_matchers: [`alertname=~"${REPLICA_ALERTS.missing}|${PIPELINE_ALERTS.targetDown}"`],
    equal: ['component'],
  },
];

/** What {@link alertmanagerConfig} renders from. */
export interface AlertmanagerConfigOptions {
  readonly receivers: readonly AlertReceiver[];
  /** The file each receiver's Secret key is mounted at, by receiver name. */
  readonly secretFile: (receiver: AlertReceiver) => string;
  /** How long a new group of pages waits for more alerts before its first notification. */
  readonly groupWait: string;
  /**
   * The same for tickets, longer than {@link groupWait}: the page that inhibits a ticket (a fast burn over a slow
   * burn) must reach Alertmanager before the ticket's group is sent, even when Prometheus evaluates it later.
   */
  readonly ticketGroupWait: string;
  readonly groupInterval: string;
  readonly repeatInterval: string;
  /** Send notifications through the proxy of the environment variables. */
  readonly proxyFromEnvironment: boolean;
  /**
   * Alerts of several clusters (a central topology): groups and inhibitions are per cluster too, so that one cluster's
   * fast burn never mutes another cluster's alerts.
   * @default false
   */
  readonly perCluster?: boolean;
  /**
   * The heartbeat's webhook ({@link HEARTBEAT}): the file its URL is mounted at, and how often it is pinged.
   * @default - none
   */
  readonly heartbeat?: { readonly file: string; readonly interval: string };
  /**
   * Where people see the alerts (Grafana's view of this Alertmanager): the link of a Slack message's title and of a
   * PagerDuty incident. Alertmanager's own default, its UI at `--web.external-url`, is the pod's host name here,
   * which no one outside the cluster resolves.
   * @default - no link
   */
  readonly consoleUrl?: string;
}

/**
 * The configuration: a root route grouping by {@link GROUP_BY} to {@link DEFAULT_RECEIVER}, one child route per
 * receiver and severity (each with `continue`, so that every receiver of a severity gets it), the receivers with their
 * URLs and keys read from files, and {@link INHIBIT_RULES}.
 */
export function alertmanagerConfig(options: AlertmanagerConfigOptions): AlertmanagerConfig {
  const severities: readonly Severity[] = ['page', 'ticket'];
  const routes = severities.flatMap(severity => options.receivers.filter(r => severitiesOf(r).includes(severity))
    .map((r): AlertmanagerRoute => ({
      receiver: r.name, matchers: [`severity="${severity}"`], continue: true, ...(severity === 'ticket' ? { group_wait: options.ticketGroupWait } : {}),
    })));
  const heartbeat = options.heartbeat;
  // first, and without `continue`: the watchdog reaches the heartbeat alone, every interval
  const heartbeatRoute: AlertmanagerRoute[] = heartbeat ? [{
    receiver: HEARTBEAT.receiver, matchers: [`alertname="${HEARTBEAT.alert}"`], group_wait: '0s', group_interval: '1m', repeat_interval: heartbeat.interval,
  }] : [];
  return {
    ...(options.proxyFromEnvironment ? { global: { http_config: { proxy_from_environment: true } } } : {}),
    route: {
      receiver: DEFAULT_RECEIVER,
      group_by: options.perCluster ? [...GROUP_BY, CLUSTER_LABEL] : [...GROUP_BY],
      group_wait: options.groupWait,
      group_interval: options.groupInterval,
      repeat_interval: options.repeatInterval,
      routes: [...heartbeatRoute, ...routes],
    },
    receivers: [
      { name: DEFAULT_RECEIVER },
      ...options.receivers.map(r => receiverConfig(r, options.secretFile(r), options.consoleUrl ?? '')),
      ...(heartbeat ? [{ name: HEARTBEAT.receiver, webhook_configs: [{ send_resolved: false, url_file: heartbeat.file }] }] : []),
    ],
    inhibit_rules: options.perCluster ? INHIBIT_RULES.map(rule => ({ ...rule, equal: [...rule.equal, CLUSTER_LABEL] })) : INHIBIT_RULES,
  };
}

function receiverConfig(receiver: AlertReceiver, file: string, consoleUrl: string): AlertmanagerReceiverConfig {
  switch (receiver.kind) {
    case 'webhook':
      return { name: receiver.name, webhook_configs: [{ send_resolved: true, url_file: file }] };
    case 'slack':
      return { name: receiver.name, slack_configs: [{ send_resolved: true, api_url_file: file, text: SLACK_TEXT, title_link: consoleUrl }] };
    case 'pagerduty':
      return { name: receiver.name, pagerduty_configs: [{ send_resolved: true, routing_key_file: file, client_url: consoleUrl }] };
  }
}
