import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { EnvironmentConfig } from '../config/environment';
import { Grafana } from '../constructs/grafana';
import { lokiDatasource, prometheusDatasource, tempoDatasource } from '../constructs/grafana-datasources';
import { Prometheus } from '../constructs/prometheus';
import { goDuration } from '../private/units';
import { sloRecordingRules } from '../slo/recording-rules';
import { StackChart } from './stack-chart';

/** Namespace of the observability stack. */
export const OBSERVABILITY_NAMESPACE = 'observability';

/** Properties of {@link ObservabilityChart}. */
export interface ObservabilityChartProps {
  readonly env: EnvironmentConfig;
}

/**
 * The `observability` namespace: Prometheus and Grafana, wired to each other by reference.
 */
export class ObservabilityChart extends StackChart {
  public readonly prometheus: Prometheus;
  public readonly grafana: Grafana;

  public constructor(scope: Construct, id: string, props: ObservabilityChartProps) {
    super(scope, id, { namespace: OBSERVABILITY_NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'obs-canary' } });
    const { env } = props;

    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: OBSERVABILITY_NAMESPACE,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'v1.28',
        },
      },
    });

    this.prometheus = new Prometheus(this, 'Prometheus', {
      retention: env.prometheus.retention,
      volumeSize: env.prometheus.volumeSize,
      storageClassName: env.storageClassName,
      scrapeInterval: env.prometheus.scrapeInterval,
      externalLabels: { cluster: env.clusterName },
      resources: env.prometheus.resources,
    });
    for (const group of sloRecordingRules()) this.prometheus.addRuleGroup(group);

    this.grafana = new Grafana(this, 'Grafana', {
      replicas: env.grafana.replicas,
      adminSecretName: env.grafana.adminSecretName,
      databaseUrl: env.grafana.databaseUrl,
      rootUrl: env.grafana.rootUrl,
      resources: env.grafana.resources,
      datasources: [
        prometheusDatasource({ url: this.prometheus.url, scrapeInterval: goDuration(env.prometheus.scrapeInterval) }),
        lokiDatasource({ url: `http://loki.${OBSERVABILITY_NAMESPACE}.svc.cluster.local:3100` }),
        tempoDatasource({ url: `http://tempo.${OBSERVABILITY_NAMESPACE}.svc.cluster.local:3200` }),
      ],
    });
    this.prometheus.scrape(this.grafana.metricsTarget);
  }
}
