import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { EnvironmentConfig } from '../config/environment';
import { Grafana } from '../constructs/grafana';
import { lokiDatasource, prometheusDatasource, tempoDatasource } from '../constructs/grafana-datasources';
import { Loki } from '../constructs/loki';
import { CLUSTER_DNS, DNS_PORTS, FlowPeer, NetworkPolicies, pods } from '../constructs/network-policies';
import { OtelCollector } from '../constructs/otel-collector';
import { Prometheus } from '../constructs/prometheus';
import { Promtail } from '../constructs/promtail';
import { Tempo } from '../constructs/tempo';
import { goDuration } from '../private/units';
import { OBSERVABILITY_NAMESPACE } from './namespaces';
import { StackChart } from './stack-chart';

/** Properties of {@link ObservabilityChart}. */
export interface ObservabilityChartProps {
  readonly env: EnvironmentConfig;
}

/**
 * The `observability` namespace: Prometheus, Grafana, Loki, Promtail, Tempo and the OpenTelemetry Collector, wired to
 * each other by reference, behind a default-deny network policy with one allow per flow.
 */
export class ObservabilityChart extends StackChart {
  public readonly prometheus: Prometheus;
  public readonly grafana: Grafana;
  public readonly loki: Loki;
  public readonly promtail: Promtail;
  public readonly tempo: Tempo;
  public readonly collector: OtelCollector;
  /** The namespace's network policies; the flows to and from the services' namespaces are allowed by {@link defineStack}. */
  public readonly network: NetworkPolicies;

  public constructor(scope: Construct, id: string, props: ObservabilityChartProps) {
    super(scope, id, { namespace: OBSERVABILITY_NAMESPACE });
    const { env } = props;

    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: OBSERVABILITY_NAMESPACE,
        labels: {
          // Promtail needs hostPath volumes, which only the privileged level admits; every other pod meets
          // "restricted", which the policy test checks and the warnings would report
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
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

    this.loki = new Loki(this, 'Loki', {
      replicas: env.loki.replicas,
      retention: env.loki.retention,
      volumeSize: env.loki.volumeSize,
      storageClassName: env.storageClassName,
      objectStorage: env.objectStorage,
      resources: env.loki.resources,
    });
    this.promtail = new Promtail(this, 'Promtail', { lokiPushUrl: this.loki.pushUrl, resources: env.promtail.resources });
    this.tempo = new Tempo(this, 'Tempo', {
      retention: env.tempo.retention,
      volumeSize: env.tempo.volumeSize,
      storageClassName: env.storageClassName,
      objectStorage: env.objectStorage,
      remoteWriteUrl: this.prometheus.remoteWriteUrl,
      externalLabels: { cluster: env.clusterName },
      resources: env.tempo.resources,
    });
    this.collector = new OtelCollector(this, 'Collector', {
      tempoOtlpGrpcEndpoint: this.tempo.otlpGrpcEndpoint,
      lokiOtlpUrl: this.loki.otlpUrl,
      prometheusRemoteWriteUrl: this.prometheus.remoteWriteUrl,
      replicas: env.collector.replicas,
      samplingPercent: env.collector.samplingPercent,
      clusterName: env.clusterName,
      resources: env.collector.resources,
    });
    this.grafana = new Grafana(this, 'Grafana', {
      replicas: env.grafana.replicas,
      adminSecretName: env.grafana.adminSecretName,
      databaseUrl: env.grafana.databaseUrl,
      rootUrl: env.grafana.rootUrl,
      resources: env.grafana.resources,
      datasources: [
        prometheusDatasource({ url: this.prometheus.url, scrapeInterval: goDuration(env.prometheus.scrapeInterval) }),
        lokiDatasource({ url: this.loki.url }),
        tempoDatasource({ url: this.tempo.url }),
      ],
    });

    for (const component of [this.grafana, this.loki, this.promtail, this.tempo, this.collector]) {
      this.prometheus.scrape(component.metricsTarget);
    }

    this.network = new NetworkPolicies(this, 'NetworkPolicies');
    this.allowFlows(env);
  }

  private allowFlows(env: EnvironmentConfig): void {
    const { prometheus, grafana, loki, promtail, tempo, collector, network } = this;
    const port = (p: { port: number }) => [{ port: p.port }];
    network.allow({ name: 'dns', from: { kind: 'namespace', namespace: OBSERVABILITY_NAMESPACE }, to: pods(CLUSTER_DNS), ports: DNS_PORTS });
    network.allow({ name: 'promtail-to-loki', from: pods(promtail.peer), to: pods(loki.peer), ports: port(loki.ports.http) });
    network.allow({ name: 'collector-to-tempo', from: pods(collector.peer), to: pods(tempo.peer), ports: port(tempo.ports.otlpGrpc) });
    network.allow({ name: 'collector-to-loki', from: pods(collector.peer), to: pods(loki.peer), ports: port(loki.ports.http) });
    network.allow({ name: 'collector-to-prometheus', from: pods(collector.peer), to: pods(prometheus.peer), ports: port(prometheus.ports.http) });
    network.allow({ name: 'tempo-to-prometheus', from: pods(tempo.peer), to: pods(prometheus.peer), ports: port(prometheus.ports.http) });
    network.allow({ name: 'grafana-to-prometheus', from: pods(grafana.peer), to: pods(prometheus.peer), ports: port(prometheus.ports.http) });
    network.allow({ name: 'grafana-to-loki', from: pods(grafana.peer), to: pods(loki.peer), ports: port(loki.ports.http) });
    network.allow({ name: 'grafana-to-tempo', from: pods(grafana.peer), to: pods(tempo.peer), ports: port(tempo.ports.http) });
    network.allow({ name: 'users-to-grafana', from: { kind: 'anywhere' }, to: pods(grafana.peer), ports: port(grafana.ports.http) });
    const scraped = [
      [grafana, grafana.ports.http], [loki, loki.ports.http], [promtail, promtail.ports.http], [tempo, tempo.ports.http],
      [collector, collector.ports.metrics],
    ] as const;
    for (const [component, p] of scraped) {
      network.allow({ name: `prometheus-to-${component.name}`, from: pods(prometheus.peer), to: pods(component.peer), ports: port(p) });
    }
    const apiServer: FlowPeer = { kind: 'cidr', cidr: env.network.apiServerCidr };
    for (const component of [prometheus, promtail, collector]) {
      network.allow({ name: `${component.name}-to-kube-api`, from: pods(component.peer), to: apiServer, ports: [{ port: 443 }, { port: 6443 }] });
    }
    if (loki.replicas > 1) {
      network.allow({
        name: 'loki-to-loki', from: pods(loki.peer), to: pods(loki.peer),
        ports: [...port(loki.ports.http), ...port(loki.ports.grpc), ...port(loki.ports.memberlist)],
      });
    }
    if (env.objectStorage) {
      const endpointPort = Number(env.objectStorage.endpoint.split(':')[1] ?? (env.objectStorage.insecure ? 80 : 443));
      const storage: FlowPeer = { kind: 'cidr', cidr: env.network.objectStorageCidr };
      for (const component of [loki, tempo]) {
        network.allow({ name: `${component.name}-to-object-storage`, from: pods(component.peer), to: storage, ports: [{ port: endpointPort }] });
      }
    }
  }
}
