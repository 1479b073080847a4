import type { RuleGroup } from '../constructs/prometheus-config';
import { CLUSTER_LABEL } from './vocabulary';

/** The name of the group that watches the application clusters of a central topology. */
export const CLUSTER_RULE_GROUP = 'clusters';

/** The alert of an application cluster whose metrics stopped arriving. */
export const CLUSTER_SILENT_ALERT = 'AppClusterSilent';
/**
 * The alert of the observability cluster's own Prometheus agent whose samples stopped arriving in Mimir: the only
 * scraper of the platform's components there, so without it every pipeline alert reads nothing and stays silent.
 */
export const OBSERVABILITY_AGENT_SILENT_ALERT = 'ObservabilityAgentSilent';
/** The alert of a Prometheus agent whose writes the store refuses or never gets. */
export const REMOTE_WRITE_FAILING_ALERT = 'AgentRemoteWriteFailing';
/** The alert of Mimir refusing samples (a limit, a label, a late sample). */
export const MIMIR_DISCARDING_ALERT = 'MimirDiscardingSamples';

/** How long a cluster may send nothing before it pages: a restart of its agent, or of the gateway, is shorter. */
export const SILENT_FOR = '10m';

/**
 * One alert per application cluster of a central topology: none of its series arrived for {@link SILENT_FOR}. Its
 * Prometheus agent sends `up` for every target it scrapes, so silence means the cluster's agent is down, its client
 * certificate or token was refused at the gateway, or the network between them is broken. Until it pages, the gate
 * holds that cluster's releases for want of data: without this alert, nobody would be told why.
 *
 * Beside them: a Prometheus agent whose samples fail to reach the store (it retries, then drops), and, with Mimir,
 * samples Mimir refuses (`cortex_discarded_samples_total`, by reason: a per-tenant limit, too many labels, too late):
 * both lose data while the cluster still looks alive.
 *
 * With Mimir, the observability cluster's own Prometheus is an agent too, and Mimir's ruler evaluates every rule: when
 * that agent stops writing (down, unschedulable, refused), the pipeline's alerts, the rule-failure and notification
 * alerts read nothing, while the heartbeat (the ruler's Watchdog) still beats. It pages like a silent application
 * cluster.
 *
 * @param clusters the application clusters' names (their `cluster` label); none without a central topology
 * @param options `mimir`: the store is Mimir, written to by the agent of `observabilityCluster` (the `cluster` label
 *   of the observability cluster's own series)
 */
export function clusterAlertingRules(
  clusters: readonly string[], options: { readonly mimir?: boolean; readonly observabilityCluster?: string } = {},
): RuleGroup {
  const own = options.mimir ? options.observabilityCluster : undefined;
  return {
    name: CLUSTER_RULE_GROUP,
    rules: [...(own === undefined ? [] : [{
      alert: OBSERVABILITY_AGENT_SILENT_ALERT,
      expr: `absent_over_time(up{${CLUSTER_LABEL}="${own}"}[${SILENT_FOR}])`,
      labels: { severity: 'page', component: 'prometheus', [CLUSTER_LABEL]: own },
      annotations: {
        summary: `The observability cluster's Prometheus agent sends no metrics (${own})`,
        description: `No series of the observability cluster ${own} has arrived in Mimir for ${SILENT_FOR}: the alerts on the telemetry pipeline, `
          + 'on failed rule evaluations and on failed notifications read nothing and stay silent, and the heartbeat does not notice.',
        runbook: 'Is the prometheus pod of observability running and ready, and do its logs show remote-write errors (Mimir\'s Service, the '
          + 'network policy from Prometheus to Mimir, the tenant)? Then Mimir\'s pods: while they refuse writes, the ruler still evaluates.',
      },
    }]), ...clusters.map(cluster => ({
      alert: CLUSTER_SILENT_ALERT,
      expr: `absent_over_time(up{${CLUSTER_LABEL}="${cluster}"}[${SILENT_FOR}])`,
      labels: { severity: 'page', component: 'telemetry-gateway', [CLUSTER_LABEL]: cluster },
      annotations: {
        summary: `Application cluster ${cluster} sends no metrics`,
        description: `No series of cluster ${cluster} has arrived for ${SILENT_FOR}: its releases hold for want of data, and its traces and logs are probably missing too.`,
        runbook: `In ${cluster}: are the otel-agent, alloy and prometheus pods of observability running, and do their logs show TLS or 401 errors `
          + '(an expired client certificate, a rotated token)? Then the gateway\'s address from that cluster (egress.gateway) and the gateway pods here.',
      },
    })),
    {
      alert: REMOTE_WRITE_FAILING_ALERT,
      expr: `sum by (${CLUSTER_LABEL}, namespace, pod) (rate(prometheus_remote_storage_samples_failed_total[5m])) > 0`,
      for: '15m',
      labels: { severity: 'ticket', component: 'prometheus' },
      annotations: {
        summary: 'Prometheus agent {{ $labels.namespace }}/{{ $labels.pod }} of {{ $labels.cluster }} fails to write to the store',
        description: 'For 15 minutes some of its samples were refused or could not be sent; it drops what its retries do not deliver.',
        runbook: 'Its logs name the store\'s answer (400: a refused sample; 401 or TLS: credentials; 429: a rate limit) and the gateway.',
      },
    },
    ...(options.mimir ? [{
      alert: MIMIR_DISCARDING_ALERT,
      expr: 'sum by (reason, user) (rate(cortex_discarded_samples_total[5m])) > 0',
      for: '15m',
      labels: { severity: 'ticket', component: 'mimir' },
      annotations: {
        summary: 'Mimir discards samples of tenant {{ $labels.user }}: {{ $labels.reason }}',
        description: 'For 15 minutes Mimir has refused samples for {{ $labels.reason }}: those series have gaps, and a gate reading them may hold.',
        runbook: 'The reason names the limit (rate_limited, per_user_series_limit, max_label_names_per_series, sample_out_of_order, …): '
          + 'raise it in lib/constructs/mimir.ts or the environment\'s mimir settings, or drop the labels or series at the agents.',
      },
    }] : []),
    ],
  };
}
