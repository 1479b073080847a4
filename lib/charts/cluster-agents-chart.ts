import { Construct } from 'constructs';
import { dnsPeer } from '../config/egress-plan';
import { AppClusterSettings, EnvironmentConfig, TelemetryGatewaySettings } from '../config/environment';
import { Alloy } from '../constructs/alloy';
import {
  ISTIOD_METRICS_PORT, GATEWAY_METRICS, ingressGatewayScrapeConfig, istiodPeer, istiodScrapeConfig, serviceScrapeConfigs,
} from '../constructs/istio-scrape';
import { KubeStateMetrics } from '../constructs/kube-state-metrics';
import { FlowPeer, NetworkPolicies, pods } from '../constructs/network-policies';
import { NodeAgentPriority } from '../constructs/node-agent-priority';
import { OtelAgent } from '../constructs/otel-agent';
import { Prometheus } from '../constructs/prometheus';
import { CLUSTER_LABEL } from '../slo/vocabulary';
import { OBSERVABILITY_NAMESPACE, namespaceObject, podSecurityLabels } from './namespaces';
import { StackChart } from './stack-chart';

/** Where an application cluster's agents send: the observability cluster's telemetry gateway. */
export interface GatewayEndpoints {
  /** `host:443`, for OTLP gRPC. */
  readonly otlp: string;
  /** Loki's push API through the gateway. */
  readonly lokiPushUrl: string;
  /** The metrics store's remote write through the gateway. */
  readonly remoteWriteUrl: string;
  /** Headers of those writes: Mimir's tenant. */
  readonly remoteWriteHeaders: Readonly<Record<string, string>>;
}

/** Properties of {@link ClusterAgentsChart}. */
export interface ClusterAgentsChartProps {
  readonly env: EnvironmentConfig;
  readonly cluster: AppClusterSettings;
  readonly gateway: TelemetryGatewaySettings;
  readonly endpoints: GatewayEndpoints;
  /** The services' namespaces in this cluster: scraped, and exported by kube-state-metrics. */
  readonly serviceNamespaces: readonly string[];
  /** The chart's directory (`clusters/<name>/observability`). */
  readonly directory: string;
}

/**
 * The `observability` namespace of an application cluster in a central topology: agents that ship the cluster's
 * telemetry to the observability cluster's gateway, each over mutual TLS with the cluster's client certificate, and
 * nothing that stores or queries.
 *
 * - an OpenTelemetry Collector agent per node (OTLP from the pods of its node, Kubernetes metadata and
 *   `k8s.cluster.name` added here, a bearer token to the gateway Collector);
 * - Grafana Alloy, the log shipper (streams labelled with the cluster);
 * - Prometheus in agent mode (the cluster's mesh, services, istiod, ingress gateway and kube-state-metrics, every
 *   series labelled `cluster`), remote-writing to the central store, with kube-state-metrics for what the gate asks.
 *
 * Pod Security `restricted` (no shipper needs host access); default-deny network policies; the only traffic that
 * leaves the cluster goes to its API server and to the gateway's addresses, both named in the environment.
 */
export class ClusterAgentsChart extends StackChart {
  public readonly agent: OtelAgent;
  public readonly alloy: Alloy;
  public readonly prometheus: Prometheus;
  public readonly kubeStateMetrics: KubeStateMetrics;
  public readonly network: NetworkPolicies;

  public constructor(scope: Construct, id: string, props: ClusterAgentsChartProps) {
    super(scope, id, { namespace: OBSERVABILITY_NAMESPACE, directory: props.directory });
    const { env, cluster, gateway, endpoints } = props;

    namespaceObject(this, OBSERVABILITY_NAMESPACE, podSecurityLabels('restricted'));
    // the agents run on every node, a full one too: the services' OTLP goes to their own node's agent
    const { name: priorityClassName } = new NodeAgentPriority(this, 'NodeAgentPriority');
    this.agent = new OtelAgent(this, 'Agent', {
      priorityClassName,
      gatewayEndpoint: endpoints.otlp,
      clientCertificateSecret: gateway.clientCertificateSecret,
      token: gateway.clientToken,
      clusterName: cluster.name,
      resources: env.collector.resources,
    });
    this.alloy = new Alloy(this, 'Alloy', {
      lokiPushUrl: endpoints.lokiPushUrl,
      clusterName: cluster.name,
      priorityClassName,
      remote: { clientCertificateSecret: gateway.clientCertificateSecret },
      resources: env.alloy.resources,
    });
    this.prometheus = new Prometheus(this, 'Prometheus', {
      scrapeInterval: env.prometheus.scrapeInterval,
      externalLabels: { [CLUSTER_LABEL]: cluster.name },
      storageClassName: env.storageClassName,
      agent: {
        remoteWriteUrl: endpoints.remoteWriteUrl, headers: endpoints.remoteWriteHeaders, clientCertificateSecret: gateway.clientCertificateSecret,
      },
      resources: env.prometheus.resources,
    });
    this.kubeStateMetrics = new KubeStateMetrics(this, 'KubeStateMetrics', { namespaces: props.serviceNamespaces });

    const { agent, alloy, prometheus, kubeStateMetrics } = this;
    for (const component of [agent, alloy]) prometheus.scrape(component.metricsTarget);
    prometheus.addScrapeConfig(kubeStateMetrics.scrapeConfig);
    for (const job of serviceScrapeConfigs(props.serviceNamespaces)) prometheus.addScrapeConfig(job);
    const istiod = istiodPeer(env.apps.istiod.namespace);
    prometheus.addScrapeConfig(istiodScrapeConfig(istiod));
    const ingress = { name: 'ingress-gateway', ...env.apps.ingressGateway };
    prometheus.addScrapeConfig(ingressGatewayScrapeConfig(ingress));

    const network = this.network = new NetworkPolicies(this, 'NetworkPolicies');
    const port = (p: { port: number }) => [{ port: p.port }];
    const cidrs = (blocks: readonly string[]): FlowPeer => (blocks.length === 1 ? { kind: 'cidr', cidr: blocks[0] }
      : { kind: 'anyOf', peers: blocks.map((cidr): FlowPeer => ({ kind: 'cidr', cidr })) });
    network.allow({ name: 'dns', from: { kind: 'namespace', namespace: OBSERVABILITY_NAMESPACE }, to: dnsPeer(env.egress.dns), ports: env.egress.dns.ports });
    const scraped = [[agent, agent.ports.metrics], [alloy, alloy.ports.http], [kubeStateMetrics, kubeStateMetrics.ports.metrics]] as const;
    for (const [component, p] of scraped) {
      network.allow({ name: `prometheus-to-${component.name}`, from: pods(prometheus.peer), to: pods(component.peer), ports: port(p) });
    }
    network.allow({ name: 'prometheus-to-istiod', from: pods(prometheus.peer), to: pods(istiod), ports: port(ISTIOD_METRICS_PORT) });
    network.allow({ name: 'prometheus-to-ingress-gateway', from: pods(prometheus.peer), to: pods(ingress), ports: port(GATEWAY_METRICS) });
    // outside the cluster: the API server (discovery, pod metadata, logs, object state) and the gateway, nothing else
    for (const component of [prometheus, agent, alloy, kubeStateMetrics]) {
      network.allow({
        name: `${component.name}-to-kube-api`, from: pods(component.peer), to: cidrs(cluster.egress.kubernetesApi.cidrs), ports: cluster.egress.kubernetesApi.ports,
      });
    }
    for (const component of [prometheus, agent, alloy]) {
      network.allow({
        name: `${component.name}-to-telemetry-gateway`, from: pods(component.peer), to: cidrs(cluster.egress.gateway.cidrs), ports: cluster.egress.gateway.ports,
      });
    }
  }
}
