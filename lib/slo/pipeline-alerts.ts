import type { AlertingRule, RuleGroup } from '../constructs/prometheus-config';
import { canaryCommand } from '../rollout/commands';
import type { Severity } from './alerting-rules';
import { SILENT_FOR } from './cluster-alerts';
import { CLUSTER_LABEL, ERROR_CODES, NAMESPACE_LABEL, PIPELINE, metricsNamed } from './vocabulary';

/** The name of the pipeline-health group. */
export const PIPELINE_RULE_GROUP = 'pipeline';

/** Names of the pipeline-health alerts: routes, silences and the README refer to these, so they are a contract. */
export const PIPELINE_ALERTS = {
  targetDown: 'PipelineTargetDown',
  collectorRefusing: 'CollectorRefusingData',
  collectorExportFailing: 'CollectorExportFailing',
  collectorQueueFull: 'CollectorQueueFull',
  lokiIngestionErrors: 'LokiIngestionErrors',
  lokiDiscarding: 'LokiDiscardingSamples',
  tempoIngestionErrors: 'TempoIngestionErrors',
  tempoDiscarding: 'TempoDiscardingSpans',
  promtailDropping: 'PromtailDroppingEntries',
  promtailPushErrors: 'PromtailPushErrors',
  alloyDropping: 'AlloyDroppingEntries',
  alloyPushErrors: 'AlloyPushErrors',
  ruleEvaluationFailures: 'PrometheusRuleEvaluationFailures',
  retentionBySize: 'PrometheusDeletingBySize',
  volumeFillingUp: 'VolumeFillingUp',
  volumeFull: 'VolumeFull',
  notificationsFailing: 'AlertNotificationsFailing',
  pagerNotificationsFailing: 'PagerNotificationsFailing',
  heartbeatNotificationsFailing: 'HeartbeatNotificationsFailing',
  canaryGateStalled: 'CanaryGateStalled',
} as const;

/** The alerts on a component's pods that do not run ({@link replicaAlerts}): one rule of each per component. */
export const REPLICA_ALERTS = {
  missing: 'PipelineReplicasMissing',
  none: 'PipelineComponentDown',
} as const;

/** A component of the stack that runs a known number of pods, by the scrape job that finds them. */
export interface ExpectedReplicas {
  /** The `job` of its scrape target. */
  readonly job: string;
  /** The namespace of its pods. */
  readonly namespace: string;
  readonly replicas: number;
  /**
   * What is lost while none of its pods runs (`logs`, `traces`, `alerts`): then that pages; a component that carries
   * nothing (a UI, the cluster-state exporter) is a ticket.
   */
  readonly carries?: string;
}

/** The always-firing alert of the dead man's switch ({@link watchdogRule}). */
export const WATCHDOG_ALERT = 'Watchdog';
/** The Alertmanager receiver the {@link WATCHDOG_ALERT} goes to: the heartbeat service's webhook. */
export const HEARTBEAT_RECEIVER = 'heartbeat';

/** The CronJob of the SLO gate's loop in the cluster, as {@link pipelineAlertingRules} watches it. */
export interface GateCronJob {
  /** The namespace and name of its CronJob. */
  readonly namespace: string;
  readonly cronJob: string;
  /** Minutes between two ticks. */
  readonly intervalMinutes: number;
  /** The environment whose releases it decides (`canary advance --all --env`). */
  readonly environment: string;
}

/**
 * How long the gate's loop may go without a tick that decided before {@link PIPELINE_ALERTS.canaryGateStalled} fires:
 * five ticks, and at least half an hour (a git host or Prometheus that is away for minutes only delays a release).
 */
export function gateStalledAfterMinutes(loop: Pick<GateCronJob, 'intervalMinutes'>): number {
  return Math.max(5 * loop.intervalMinutes, 30);
}

/** `sum by (labels) (rate(selector[5m]))`. */
function rate5m(selector: string, by: readonly string[]): string {
  return `sum by (${by.join(', ')}) (rate(${selector}[5m]))`;
}

interface Alert {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly severity: Severity;
  /** The component, a name or a `{{ $labels.x }}` template. */
  readonly component: string;
  readonly summary: string;
  readonly description: string;
  readonly runbook: string;
}

/**
 * What every pipeline alert keeps when it aggregates: the pod, and the cluster it runs in (a label only the series that a
 * central store receives from the app clusters carry; elsewhere it is absent and changes nothing), so that a central
 * Alertmanager groups and inhibits them per cluster and the notification says which cluster's pod it is.
 */
const POD = [CLUSTER_LABEL, NAMESPACE_LABEL, PIPELINE.pod];
const NAMESPACE = [CLUSTER_LABEL, NAMESPACE_LABEL];

/**
 * The alerts on the health of the telemetry pipeline itself (group {@link PIPELINE_RULE_GROUP}): scrape targets down,
 * the Collector refusing, failing to export or queueing to the brim, Loki and Tempo refusing or discarding what they
 * are sent, the log shipper (Promtail or Alloy, each on its own metrics) dropping log entries, Prometheus failing
 * to evaluate rules (the SLO alerts among them) or deleting data by size before its retention time, and a
 * PersistentVolume about to fill up. Each carries `severity` and `component`, and `summary`, `description` and
 * `runbook` annotations.
 *
 * The volume alert reads the kubelet's `kubelet_volume_stats_*`, which only a scrape of the kubelets provides: the
 * `kubelet` job of `Prometheus.scrapeKubelets`, which keeps those series and no others of the kubelet's.
 *
 * @param shipper the log shipper the environment runs: only its alerts are rendered (those of the other could never
 *   fire, and would only be read as coverage)
 * @default - the alerts of both shippers
 * @param heartbeat with the watchdog of the dead man's switch ({@link watchdogRule}), last
 * @param store where the rules run: Prometheus, or Mimir's ruler (whose rule-evaluation counter is its own, and
 *   where no Prometheus keeps a TSDB that could delete by size: the agents only forward)
 */
export function pipelineAlertingRules(shipper?: 'alloy' | 'promtail', store: 'prometheus' | 'mimir' = 'prometheus', gate?: GateCronJob,
  heartbeat = false, expected: { readonly components: readonly ExpectedReplicas[]; readonly cluster?: string } = { components: [] }): RuleGroup {
  const ruleFailures = store === 'mimir' ? PIPELINE.mimirRuleEvaluationFailures : PIPELINE.ruleEvaluationFailures;
  const evaluator = store === 'mimir' ? { name: 'Mimir\'s ruler', component: 'mimir', file: 'rules.yaml (mimir-rules)' }
    : { name: 'Prometheus', component: 'prometheus', file: 'rules.yml' };
  const alerts: Alert[] = [
    {
      alert: PIPELINE_ALERTS.targetDown, expr: `${PIPELINE.up} == 0`, for: '5m', severity: 'ticket', component: `{{ $labels.${PIPELINE.job} }}`,
      summary: 'Prometheus cannot scrape {{ $labels.job }}',
      // a pod's target, a node's (the kubelet's), or one whose job adds neither label (kube-state-metrics honours the
      // labels it exports and adds none of its own): each gets a description and a command that name what is there
      description: 'The target {{ $labels.instance }} of job {{ $labels.job }}'
        + '{{ if $labels.pod }} (pod {{ $labels.namespace }}/{{ $labels.pod }}){{ else if $labels.node }} (node {{ $labels.node }}){{ end }} '
        + 'has not answered a scrape for 5 minutes: its metrics, and the alerts on them, are missing.',
      runbook: '{{ if $labels.pod }}kubectl -n {{ $labels.namespace }} describe pod {{ $labels.pod }}'
        + '{{ else if $labels.node }}kubectl describe node {{ $labels.node }}'
        + '{{ else }}kubectl get pods --all-namespaces -o wide --field-selector status.podIP={{ reReplaceAll "^\\\\[?(.*?)\\\\]?:[0-9]+$" "$1" $labels.instance }}'
        + '{{ end }}; check its logs, readiness and the network policy from Prometheus to its metrics port.',
    },
    {
      alert: PIPELINE_ALERTS.collectorRefusing, expr: `${rate5m(metricsNamed(PIPELINE.collectorRefused), [...POD, PIPELINE.receiver])} > 0`, for: '5m',
      severity: 'ticket', component: 'otel-collector',
      summary: 'The OpenTelemetry Collector refuses telemetry',
      description: 'Receiver {{ $labels.receiver }} of {{ $labels.namespace }}/{{ $labels.pod }} has refused spans, metric points or log records for 5 minutes: senders are losing data or retrying.',
      runbook: 'Refusals usually come from the memory_limiter: check the Collector\'s memory against its limit and its exporters\' queues; scale the Collector or raise its memory.',
    },
    {
      alert: PIPELINE_ALERTS.collectorExportFailing,
      expr: `${rate5m(metricsNamed(`${PIPELINE.collectorSendFailed}|${PIPELINE.collectorEnqueueFailed}`), [...POD, PIPELINE.exporter])} > 0`, for: '5m',
      severity: 'ticket', component: 'otel-collector',
      summary: 'The OpenTelemetry Collector fails to export to {{ $labels.exporter }}',
      description: 'Exporter {{ $labels.exporter }} of {{ $labels.namespace }}/{{ $labels.pod }} has failed to send or enqueue telemetry for 5 minutes: what it could not send is lost.',
      runbook: 'Check the Collector\'s logs for the exporter\'s errors, then the health of its destination (Tempo, Loki or Prometheus\'s remote-write receiver).',
    },
    {
      alert: PIPELINE_ALERTS.collectorQueueFull,
      expr: `max by (${[...POD, PIPELINE.exporter].join(', ')}) (${PIPELINE.collectorQueueSize})\n>=\nmin by (${[...POD, PIPELINE.exporter].join(', ')}) (${PIPELINE.collectorQueueCapacity}) > 0`,
      for: '5m', severity: 'ticket', component: 'otel-collector',
      summary: 'The sending queue of the Collector\'s exporter {{ $labels.exporter }} is full',
      description: 'The queue of exporter {{ $labels.exporter }} in {{ $labels.namespace }}/{{ $labels.pod }} has been at its capacity for 5 minutes: new telemetry is refused.',
      runbook: 'The destination is slower than the input or down: check its health and latency, then the Collector\'s export errors.',
    },
    {
      alert: PIPELINE_ALERTS.lokiIngestionErrors,
      expr: `${rate5m(`${PIPELINE.lokiRequests}{${PIPELINE.route}=~${JSON.stringify(PIPELINE.lokiPushRoutes)},${PIPELINE.statusCode}=~"${ERROR_CODES}"}`, POD)} > 0\nor\n`
        + `${rate5m(PIPELINE.lokiAppendTimeouts, POD)} > 0`,
      for: '10m', severity: 'ticket', component: 'loki',
      summary: 'Loki fails to ingest logs',
      description: 'Loki {{ $labels.namespace }}/{{ $labels.pod }} has answered pushes with 5xx, or timed out appending to its ingester, for 10 minutes: the log shipper and the Collector retry, then drop.',
      runbook: 'Check Loki\'s logs and its object storage; see LokiDiscardingSamples and the log shipper\'s DroppingEntries alert for what is lost.',
    },
    {
      alert: PIPELINE_ALERTS.lokiDiscarding, expr: `${rate5m(PIPELINE.lokiDiscarded, [...NAMESPACE, PIPELINE.reason])} > 0`, for: '10m',
      severity: 'ticket', component: 'loki',
      summary: 'Loki discards log lines: {{ $labels.reason }}',
      description: 'Loki in {{ $labels.namespace }} has discarded log lines for 10 minutes for the reason {{ $labels.reason }}: they are not stored.',
      runbook: 'The reason names the limit (rate_limited, line_too_long, too_far_behind, …): raise that limit in Loki\'s limits_config, or fix the sender.',
    },
    {
      alert: PIPELINE_ALERTS.tempoIngestionErrors, expr: `${rate5m(metricsNamed(PIPELINE.tempoRefused), POD)} > 0`, for: '10m',
      severity: 'ticket', component: 'tempo',
      summary: 'Tempo refuses spans',
      description: 'Tempo {{ $labels.namespace }}/{{ $labels.pod }} has refused spans at its receiver for 10 minutes: the Collector retries, then drops them.',
      runbook: 'Check Tempo\'s logs for the refusal (rate limits, overload) and its resources; see CollectorExportFailing.',
    },
    {
      alert: PIPELINE_ALERTS.tempoDiscarding, expr: `${rate5m(PIPELINE.tempoDiscarded, [...NAMESPACE, PIPELINE.reason])} > 0`, for: '10m',
      severity: 'ticket', component: 'tempo',
      summary: 'Tempo discards spans: {{ $labels.reason }}',
      description: 'Tempo in {{ $labels.namespace }} has discarded spans for 10 minutes for the reason {{ $labels.reason }}: traces are incomplete.',
      runbook: 'The reason names the limit (rate_limited, trace_too_large, live_traces_exceeded): raise it in Tempo\'s overrides, or find the service sending the huge traces.',
    },
    {
      alert: PIPELINE_ALERTS.promtailDropping,
      expr: `sum by (${[...POD, PIPELINE.reason].join(', ')}) (increase(${PIPELINE.promtailDropped}[15m])) > 0`,
      severity: 'ticket', component: 'promtail',
      summary: 'Promtail dropped log entries',
      description: 'Promtail {{ $labels.namespace }}/{{ $labels.pod }} dropped log entries in the last 15 minutes ({{ $labels.reason }}): its retries to Loki ran out, the entries are lost.',
      runbook: 'See LokiIngestionErrors; check Promtail\'s logs for the push errors and the network policy from Promtail to Loki.',
    },
    {
      alert: PIPELINE_ALERTS.promtailPushErrors,
      expr: `${rate5m(`${PIPELINE.promtailRequests}{${PIPELINE.statusCode}=~"${PIPELINE.pushFailureCodes}"}`, POD)} > 0`, for: '15m',
      severity: 'ticket', component: 'promtail',
      summary: 'Promtail\'s pushes to Loki fail',
      description: 'Promtail {{ $labels.namespace }}/{{ $labels.pod }} has had pushes to Loki fail for 15 minutes (a 5xx, a 429 rate limit, or no answer at all); it retries, and drops once the retries run out.',
      runbook: 'The Telemetry pipeline dashboard\'s "Promtail: failed pushes" panel shows the status codes: a 5xx is Loki failing (see LokiIngestionErrors), a 429 its '
        + 'ingestion rate limit (see LokiDiscardingSamples), -1 no answer at all: is Loki running and ready, and does the network policy let Promtail reach it?',
    },
    {
      alert: PIPELINE_ALERTS.alloyDropping,
      expr: `sum by (${[...POD, PIPELINE.reason].join(', ')}) (increase(${PIPELINE.alloyDropped}[15m])) > 0`,
      severity: 'ticket', component: 'alloy',
      summary: 'Alloy dropped log entries',
      description: 'Alloy {{ $labels.namespace }}/{{ $labels.pod }} dropped log entries in the last 15 minutes ({{ $labels.reason }}): its retries to Loki ran out, the entries are lost.',
      runbook: 'Right after Alloy\'s pods were replaced (a rollout, a drained node) this is most likely the replay of logs Loki already has: a new '
        + 'pod reads each container\'s log from its start, and Loki refuses lines more than an hour behind (too_far_behind in Loki\'s discarded '
        + 'samples). Otherwise see LokiIngestionErrors; check Alloy\'s logs for the push errors of loki.write and the network policy from Alloy to Loki.',
    },
    {
      alert: PIPELINE_ALERTS.alloyPushErrors,
      expr: `${rate5m(`${PIPELINE.alloyRequests}{${PIPELINE.statusCode}=~"${PIPELINE.pushFailureCodes}"}`, POD)} > 0`, for: '15m',
      severity: 'ticket', component: 'alloy',
      summary: 'Alloy\'s pushes to Loki fail',
      description: 'Alloy {{ $labels.namespace }}/{{ $labels.pod }} has had pushes to Loki fail for 15 minutes (a 5xx, a 429 rate limit, or no answer at all); it retries, and drops once the retries run out.',
      runbook: 'The Telemetry pipeline dashboard\'s "Alloy: failed pushes" panel shows the status codes: a 5xx is Loki failing (see LokiIngestionErrors), a 429 its '
        + 'ingestion rate limit (see LokiDiscardingSamples), -1 no answer at all: is Loki running and ready, and does the network policy let Alloy reach it?',
    },
    {
      alert: PIPELINE_ALERTS.ruleEvaluationFailures,
      expr: `${rate5m(ruleFailures, [CLUSTER_LABEL, PIPELINE.ruleGroup])} > 0`, for: '5m',
      // the SLO alerts are rules too: while rules fail, a burning service may page no one
      severity: 'page', component: evaluator.component,
      summary: `${evaluator.name} fails to evaluate rule group {{ $labels.rule_group }}`,
      description: 'Rules of {{ $labels.rule_group }} have failed to evaluate for 5 minutes: their records are missing and their alerts cannot fire.',
      runbook: `${evaluator.name} logs each failing rule with its error; a query that hits many series or a many-to-many match is the usual cause. `
        + `Check promtool check rules on the rendered ${evaluator.file}.`,
    },
    {
      alert: PIPELINE_ALERTS.retentionBySize, expr: `increase(${PIPELINE.sizeRetentions}[1h]) > 0`,
      severity: 'ticket', component: 'prometheus',
      summary: 'Prometheus deletes data before its retention time: its volume is too small',
      description: 'Prometheus {{ $labels.namespace }}/{{ $labels.pod }} deleted blocks in the last hour because the TSDB reached its size limit (85 % of the volume): history is shorter than the retention time.',
      runbook: 'Raise the environment\'s prometheus.volumeSize (the PVC can grow if its StorageClass allows expansion), or lower the retention.',
    },
    {
      alert: PIPELINE_ALERTS.volumeFillingUp,
      expr: `${PIPELINE.volumeAvailable} / ${PIPELINE.volumeCapacity} < 0.10\nand\npredict_linear(${PIPELINE.volumeAvailable}[6h], 24 * 3600) < 0`,
      for: '1h', severity: 'ticket', component: `{{ $labels.${PIPELINE.persistentVolumeClaim} }}`,
      summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} fills up within a day',
      description: 'The volume of claim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has less than 10 % free and, at the rate of the last 6 hours, is full within 24 hours.',
      runbook: 'Expand the claim (if its StorageClass allows) or shorten the retention of what writes to it (Loki, Tempo, Prometheus).',
    },
    {
      // the prediction above is an early warning: a volume that fills within its hour of `for` never gets it, and once
      // full its free bytes stop falling, so the prediction clears while it stays full
      alert: PIPELINE_ALERTS.volumeFull,
      expr: `${PIPELINE.volumeAvailable} / ${PIPELINE.volumeCapacity} < 0.03`,
      // what writes there (a WAL, the TSDB) stops: logs, traces or the metrics every alert reads are being lost
      for: '5m', severity: 'page', component: `{{ $labels.${PIPELINE.persistentVolumeClaim} }}`,
      summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is full',
      description: 'The volume of claim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has had less than 3 % free for 5 minutes: '
        + 'what writes to it fails or drops data now.',
      runbook: 'Expand the claim now (if its StorageClass allows: edit its size, and the environment\'s volume size so that the next sync keeps '
        + 'it), or shorten the retention of what writes to it (Loki, Tempo, Prometheus) and restart it so that it frees the space.',
    },
    ...notificationsFailing(),
    ...(gate ? [gateStalled(gate)] : []),
  ];
  const otherShipper: readonly string[] = shipper === 'alloy' ? [PIPELINE_ALERTS.promtailDropping, PIPELINE_ALERTS.promtailPushErrors]
    : shipper === 'promtail' ? [PIPELINE_ALERTS.alloyDropping, PIPELINE_ALERTS.alloyPushErrors] : [];
  const absent = store === 'mimir' ? [...otherShipper, PIPELINE_ALERTS.retentionBySize] : otherShipper;
  return {
    name: PIPELINE_RULE_GROUP,
    rules: alerts.filter(a => !absent.includes(a.alert)).map((a): AlertingRule => ({
      alert: a.alert,
      expr: a.expr,
      ...(a.for ? { for: a.for } : {}),
      labels: { severity: a.severity, component: a.component },
      annotations: { summary: a.summary, description: a.description, runbook: a.runbook },
    })).concat(expected.components.flatMap(c => replicaAlerts(c, expected.cluster)), heartbeat ? [watchdogRule(store)] : []),
  };
}

/**
 * A component whose pods do not all run: a pod that never starts (unschedulable, an image that cannot be pulled, a
 * volume that cannot attach) stays Pending, and Prometheus never scrapes a Pending pod, so no `up` series says so and
 * PipelineTargetDown cannot fire. Counted by the targets of its job that answer: fewer than its replicas for 15
 * minutes is a ticket (a rollout stuck on one pod, a quorum one failure from breaking); none for 10 minutes pages when
 * what the component carries (logs, traces, metrics, alerts) is being lost, and is a ticket for one that carries none.
 *
 * @param cluster the cluster its series carry (a store of several clusters), else none
 */
function replicaAlerts(component: ExpectedReplicas, cluster?: string): AlertingRule[] {
  const { job, namespace, replicas, carries } = component;
  const selector = `${PIPELINE.job}=${JSON.stringify(job)}${cluster !== undefined ? `,${CLUSTER_LABEL}=${JSON.stringify(cluster)}` : ''}`;
  // in a store of several clusters, only while the cluster's series arrive at all, over the time ObservabilityAgentSilent
  // waits: a silent agent is that alert's, not every component's, and a firing page stands until that one fires
  const arriving = cluster !== undefined
    ? `\nand on ()\ncount(last_over_time(${PIPELINE.up}{${CLUSTER_LABEL}=${JSON.stringify(cluster)}}[${SILENT_FOR}])) > 0` : '';
  const answering = `(count(${PIPELINE.up}{${selector}} == 1) or vector(0))`;
  // the cluster, as the inhibitions of a central Alertmanager match it (count() keeps no label)
  const clusterLabel: Record<string, string> = cluster !== undefined ? { [CLUSTER_LABEL]: cluster } : {};
  const where = cluster !== undefined ? ` in cluster ${cluster}` : '';
  const runbook = `kubectl -n ${namespace} get pods -o wide | grep ${job}, then kubectl describe pod on each that is not Running and ready: `
    + 'its events say why (Insufficient cpu or memory, a taint, ImagePullBackOff, a volume that does not attach, a failing probe).';
  return [
    ...(replicas > 1 ? [{
      alert: REPLICA_ALERTS.missing,
      expr: `${answering} < ${replicas}${arriving}`,
      for: '15m',
      labels: { severity: 'ticket', component: job, ...clusterLabel },
      annotations: {
        summary: `${job} runs {{ $value }} of its ${replicas} pods${where}`,
        description: `Only {{ $value }} of the ${replicas} pods of ${job}${where} have answered a scrape for 15 minutes: the others are not `
          + 'running (Pending, crashing) or not ready, and one more failure may take the component down.',
        runbook,
      },
    }] : []),
    {
      alert: REPLICA_ALERTS.none,
      expr: `${answering} == 0${arriving}`,
      for: '10m',
      labels: { severity: carries !== undefined ? 'page' : 'ticket', component: job, ...clusterLabel },
      annotations: {
        summary: `No pod of ${job} runs${where}`,
        description: `None of the ${replicas} pod${replicas > 1 ? 's' : ''} of ${job}${where} has answered a scrape for 10 minutes: `
          + `${carries !== undefined ? `${carries} sent to it are being lost` : 'it serves nothing until one runs'}.`,
        runbook,
      },
    },
  ];
}

/**
 * The watchdog of the dead man's switch (`HEARTBEAT` of the Alertmanager config): always firing, so that its absence at
 * the heartbeat service means the chain broke somewhere (rules not evaluated, Alertmanager down, notifications not
 * leaving). Severity `none`: it goes to the heartbeat alone, never to a person.
 *
 * Prometheus evaluates its rules on its own TSDB: `vector(1)` is enough. Mimir's ruler reads through Mimir's read path
 * (ingesters, store-gateways), which can fail on its own, and then every other rule's evaluation fails and fires
 * nothing while `vector(1)`, which reads no data, keeps beating: there the watchdog fires only while the store answers
 * with recent samples (any scrape target's `up`), so that a store that cannot be read stops the heartbeat too.
 */
function watchdogRule(store: 'prometheus' | 'mimir'): AlertingRule {
  return {
    alert: WATCHDOG_ALERT,
    expr: store === 'mimir' ? `count(${PIPELINE.up}) > 0` : 'vector(1)',
    labels: { severity: 'none', component: 'alertmanager' },
    annotations: {
      summary: 'Always firing: the heartbeat of the alerting pipeline',
      description: 'Sent to the heartbeat service at every interval; when it stops arriving, the service raises the alarm outside the cluster.',
      runbook: 'When the heartbeat service reports silence: are the rules evaluated (Prometheus up, or Mimir\'s ruler up and Mimir answering '
        + 'queries: its queriers, ingesters and store-gateways), does Alertmanager run, and does its log show failed notifications to the '
        + 'heartbeat receiver?',
    },
  };
}

/**
 * Alertmanager could not deliver a notification (after its retries): a revoked Slack webhook or a wrong PagerDuty key
 * would otherwise silence every alert sent there. A failing chat or webhook pages (the pager still works); a failing
 * pager is a ticket (the pages cannot reach it, the tickets' receivers can), and so is the heartbeat's webhook (its
 * service alarms by itself when the pings stop, and no alert is lost: a page for it woke someone for the provider's
 * outage). The receiver is told by its name ({@link HEARTBEAT_RECEIVER}), which Alertmanager counts with
 * `receiver-name-in-metrics` (lib/constructs/alertmanager.ts). Each failure counts for 15 minutes.
 */
function notificationsFailing(): Alert[] {
  const failed = (...matchers: string[]) => `sum by (${[...POD, PIPELINE.integration].join(', ')}) `
    + `(increase(${PIPELINE.notificationsFailed}{${matchers.join(',')}}[15m])) > 0`;
  const heartbeat = `${PIPELINE.receiverName}="${HEARTBEAT_RECEIVER}"`;
  const runbook = 'Alertmanager logs each failed attempt with the receiver and the answer (401 or 403: the key or URL in the Secret is revoked or '
    + 'wrong; 404: the webhook was removed; a timeout: the egress to the receiver). Fix the Secret the receiver names, or its egress.';
  return [
    {
      alert: PIPELINE_ALERTS.notificationsFailing, expr: failed(`${PIPELINE.integration}!="pagerduty"`, `${PIPELINE.receiverName}!="${HEARTBEAT_RECEIVER}"`),
      severity: 'page', component: 'alertmanager',
      summary: 'Alertmanager cannot deliver notifications to {{ $labels.integration }}',
      description: 'Notifications of Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} to {{ $labels.integration }} failed after their retries in '
        + 'the last 15 minutes: the alerts sent there reach no one.',
      runbook,
    },
    {
      alert: PIPELINE_ALERTS.pagerNotificationsFailing, expr: failed(`${PIPELINE.integration}="pagerduty"`), severity: 'ticket', component: 'alertmanager',
      summary: 'Alertmanager cannot page through PagerDuty',
      description: 'Pages of Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} to PagerDuty failed after their retries in the last 15 minutes: '
        + 'no one is paged.',
      runbook,
    },
    {
      alert: PIPELINE_ALERTS.heartbeatNotificationsFailing, expr: failed(heartbeat), severity: 'ticket', component: 'alertmanager',
      summary: 'Alertmanager cannot ping the heartbeat service',
      description: 'Heartbeats of Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} failed after their retries in the last 15 minutes: the '
        + 'heartbeat service will raise its own alarm when the pings stop. No alert is lost.',
      runbook,
    },
  ];
}

/**
 * The gate's loop has not decided for {@link gateStalledAfterMinutes}: its CronJob's last successful Job is older, or
 * there was none since it was created, and it has not been suspended on purpose within that time (a loop just resumed
 * gets the whole time to succeed again); or kube-state-metrics has not reported the CronJob at all for that long (not
 * running, no RBAC, the CronJob deleted), so that a broken metric path is no silence either. kube-state-metrics exports
 * the CronJob (`KubeStateMetricsProps.cronJobNamespaces`). A tick succeeds whenever it decided, held or found nothing in
 * flight (delivery/gate-tick.sh), so this reads the loop, not the canaries.
 */
function gateStalled(gate: GateCronJob): Alert {
  const by = [CLUSTER_LABEL, NAMESPACE_LABEL, PIPELINE.cronJob].join(', ');
  const selector = `{${NAMESPACE_LABEL}="${gate.namespace}", ${PIPELINE.cronJob}="${gate.cronJob}"}`;
  const minutes = gateStalledAfterMinutes(gate);
  const seconds = minutes * 60;
  const lastSuccess = `max by (${by}) (${PIPELINE.cronJobLastSuccess}${selector})`;
  return {
    alert: PIPELINE_ALERTS.canaryGateStalled,
    expr: [
      '(',
      `  time() - ${lastSuccess} > ${seconds}`,
      '  or',
      `  time() - max by (${by}) (${PIPELINE.cronJobCreated}${selector}) > ${seconds} unless on (${by}) ${lastSuccess}`,
      ')',
      `unless on (${by}) max by (${by}) (max_over_time(${PIPELINE.cronJobSuspended}${selector}[${minutes}m])) == 1`,
      'or',
      // kube-state-metrics emits the suspension of every CronJob it sees
      `absent_over_time(${PIPELINE.cronJobSuspended}${selector}[${minutes}m])`,
    ].join('\n'),
    // a Prometheus that just started has no samples in the window yet: the absence must outlast its first scrapes
    for: '5m',
    severity: 'ticket', component: 'canary-gate',
    summary: `The canary gate has not decided for more than ${minutes} minutes`,
    description: `No tick of CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} has succeeded for more than ${minutes} minutes, or kube-state-metrics `
      + 'has not reported it for as long: some or all canaries in flight are neither advanced nor rolled back, whatever their SLO.',
    runbook: 'kubectl -n {{ $labels.namespace }} logs job/<the last canary-gate Job>: gate-tick says why (a clone or push the git host refused, a '
      + 'lockfile the gate image was not built for, services listed under "failed", which fail every tick while the others are still decided). '
      + `Read that list before deciding by hand (${canaryCommand('rollback', gate.environment)} --commit --push, or promote): the gate may `
      + 'still be deciding the others. '
      + 'No Job at all: kubectl -n {{ $labels.namespace }} get cronjob {{ $labels.cronjob }}, and whether kube-state-metrics runs.',
  };
}
