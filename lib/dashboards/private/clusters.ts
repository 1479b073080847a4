import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { CLUSTER_LABEL } from '../../slo/vocabulary';
import { customVariable } from './panels';
import { eq } from './promql';

/** The variable that picks a central topology's application cluster. */
export const CLUSTER_VARIABLE = 'cluster';

/** `cluster="$cluster"` where there are clusters to pick from; nothing with one cluster. */
export function clusterMatchers(clusters: readonly string[] | undefined): string[] {
  return clusters && clusters.length > 0 ? [eq(CLUSTER_LABEL, `$${CLUSTER_VARIABLE}`)] : [];
}

/** The `cluster` variable (one cluster at a time, the first selected) where there are clusters; none with one cluster. */
export function clusterVariables(clusters: readonly string[] | undefined): { variables?: Array<cog.Builder<dashboard.VariableModel>> } {
  if (!clusters || clusters.length === 0) return {};
  return { variables: [customVariable({ name: CLUSTER_VARIABLE, label: 'Cluster', values: clusters })] };
}
