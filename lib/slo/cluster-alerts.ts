import type { RuleGroup } from '../constructs/prometheus-config';
import { CLUSTER_LABEL } from './vocabulary';

/** The name of the group that watches the application clusters of a central topology. */
export const CLUSTER_RULE_GROUP = 'clusters';

/** The alert of an application cluster whose metrics stopped arriving. */
export const CLUSTER_SILENT_ALERT = 'AppClusterSilent';

/** How long a cluster may send nothing before it pages: a restart of its agent, or of the gateway, is shorter. */
const SILENT_FOR = '10m';

/**
 * One alert per application cluster of a central topology: none of its series arrived for {@link SILENT_FOR}. Its
 * Prometheus agent sends `up` for every target it scrapes, so silence means the cluster's agent is down, its client
 * certificate or token was refused at the gateway, or the network between them is broken. Until it pages, the gate
 * holds that cluster's releases for want of data: without this alert, nobody would be told why.
 *
 * @param clusters the application clusters' names (their `cluster` label)
 */
export function clusterAlertingRules(clusters: readonly string[]): RuleGroup {
  return {
    name: CLUSTER_RULE_GROUP,
    rules: clusters.map(cluster => ({
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
  };
}
