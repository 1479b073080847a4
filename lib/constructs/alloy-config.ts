import { AlloyExpression, AlloyStatement, attr, attrs, block, renderAlloy } from '../private/alloy-syntax';
import {
  JSON_FIELDS, LEVEL_FIELD, POD_STREAM_RELABELING, PROBE_LINES, STREAM_LABELS, STRUCTURED_METADATA, TIME_FIELD, TRACE_FLAGS_FIELD,
  probeRouteRegex, sampledOnlyTemplate,
} from './log-streams';

/** What {@link alloyConfig} needs. */
export interface AlloyConfigOptions {
  /** Loki's push URL: {@link Loki.pushUrl}. */
  readonly lokiPushUrl: string;
  /** The environment variable holding this pod's node name (the downward API's `spec.nodeName`). */
  readonly nodeNameEnv: string;
  /**
   * Labels of every stream, such as the cluster's name.
   * @default - none
   */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /**
   * An application cluster's shipper, sending to the observability cluster's gateway: the directory of `ca.crt`,
   * `tls.crt` and `tls.key` (mutual TLS).
   * @default - this cluster's Loki, in-cluster
   */
  readonly remote?: { readonly tlsDir: string };
}

/** The labels of the components, which their references name: `discovery.relabel.pods.output`, … */
export const ALLOY_COMPONENTS = {
  discovery: 'pods',
  relabel: 'pods',
  source: 'pods',
  process: 'pods',
  write: 'loki',
} as const;

/**
 * The component graph of Alloy as a log shipper (Alloy v1.21, generally-available components only):
 *
 * `discovery.kubernetes` (this node's pods) → `discovery.relabel` (the stream labels of {@link POD_STREAM_RELABELING})
 * → `loki.source.kubernetes` (tails the containers through the API server) → `loki.process` (JSON, level label,
 * sampled trace ids as structured metadata, probe lines dropped) → `loki.write` (Loki's push endpoint).
 *
 * The same pod gives the same streams as Promtail's configuration: both render from `log-streams.ts`.
 */
export function alloyConfig(options: AlloyConfigOptions): AlloyStatement[] {
  const c = ALLOY_COMPONENTS;
  return [
    // https://grafana.com/docs/alloy/v1.21/reference/config-blocks/logging/
    block('logging', undefined, attrs({ level: 'info', format: 'json' })),

    // https://grafana.com/docs/alloy/v1.21/reference/components/discovery/discovery.kubernetes/ ("Limit to only Pods on
    // the same node"): a field selector on spec.nodeName, from the env var the DaemonSet sets with the downward API;
    // each pod tails its own node's pods, so no clustering is needed
    block('discovery.kubernetes', c.discovery, [
      attr('role', 'pod'),
      block('selectors', undefined, [
        attr('role', 'pod'),
        attr('field', AlloyExpression.concat('spec.nodeName=', AlloyExpression.call('sys.env', options.nodeNameEnv))),
      ]),
    ]),

    // https://grafana.com/docs/alloy/v1.21/reference/components/discovery/discovery.relabel/ (rule blocks take
    // Prometheus's relabel_config arguments); labels starting with __ stay internal: loki.source.kubernetes keeps
    // only the others as the stream's labels
    block('discovery.relabel', c.relabel, [
      attr('targets', AlloyExpression.ref(`discovery.kubernetes.${c.discovery}.targets`)),
      ...POD_STREAM_RELABELING.map(rule => block('rule', undefined, attrs({ ...rule }))),
    ]),

    // https://grafana.com/docs/alloy/v1.21/reference/components/loki/loki.source.kubernetes/: no `client` block (the
    // pod's ServiceAccount), no `clustering` block (each pod discovers only its node's pods). The API returns the
    // container's output without the CRI prefix and splits off the timestamp itself, so no stage.cri follows
    block('loki.source.kubernetes', c.source, [
      attr('targets', AlloyExpression.ref(`discovery.relabel.${c.relabel}.output`)),
      attr('forward_to', [AlloyExpression.ref(`loki.process.${c.process}.receiver`)]),
    ]),

    // https://grafana.com/docs/alloy/v1.21/reference/components/loki/loki.process/ (stage.json, stage.drop,
    // stage.timestamp, stage.labels, stage.template, stage.structured_metadata, stage.label_keep)
    block('loki.process', c.process, [
      attr('forward_to', [AlloyExpression.ref(`loki.write.${c.write}.receiver`)]),
      block('stage.json', undefined, [attr('expressions', { ...JSON_FIELDS, [PROBE_LINES.field]: PROBE_LINES.field })]),
      // kubelet probes and Prometheus scrapes of the services, logged at debug level
      block('stage.drop', undefined, attrs({ source: PROBE_LINES.field, expression: probeRouteRegex(), drop_counter_reason: PROBE_LINES.reason })),
      block('stage.timestamp', undefined, attrs({ source: TIME_FIELD, format: 'RFC3339Nano', action_on_failure: 'skip' })),
      block('stage.labels', undefined, [attr('values', { level: LEVEL_FIELD })]),
      // only a sampled trace is in Tempo: the ids of the others are removed (the template renders empty), never labels
      ...STRUCTURED_METADATA.map(k => block('stage.template', undefined, attrs({ source: k, template: sampledOnlyTemplate(TRACE_FLAGS_FIELD) }))),
      block('stage.structured_metadata', undefined, [attr('values', Object.fromEntries(STRUCTURED_METADATA.map(k => [k, k])))]),
      block('stage.label_keep', undefined, [attr('values', [...STREAM_LABELS])]),
    ]),

    // https://grafana.com/docs/alloy/v1.21/reference/components/loki/loki.write/ (endpoint block; the backoff as
    // Promtail's client retries)
    block('loki.write', c.write, [
      block('endpoint', undefined, [
        ...attrs({ url: options.lokiPushUrl, min_backoff_period: '500ms', max_backoff_period: '5m', max_backoff_retries: 10 }),
        // the endpoint's tls_config block: the gateway's CA and this cluster's client certificate
        ...(options.remote ? [block('tls_config', undefined, attrs({
          ca_file: `${options.remote.tlsDir}/ca.crt`, cert_file: `${options.remote.tlsDir}/tls.crt`, key_file: `${options.remote.tlsDir}/tls.key`,
        }))] : []),
      ]),
      // every stream carries its cluster's name, as its metrics do
      ...(options.externalLabels ? [attr('external_labels', { ...options.externalLabels })] : []),
    ]),
  ];
}

/** The configuration file's text. */
export function renderAlloyConfig(options: AlloyConfigOptions): string {
  return renderAlloy(alloyConfig(options));
}
