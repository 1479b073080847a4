import { ROUTE_WEIGHT } from '../slo/cluster-state';

/**
 * The custom-resource-state (CRS) configuration of kube-state-metrics, typed so that a misspelt key fails `tsc`. Keys
 * keep the exporter's own camelCase spelling: the objects are serialized as they are.
 *
 * @see https://github.com/kubernetes/kube-state-metrics/blob/v2.20.0/docs/metrics/extend/customresourcestate-metrics.md
 *   and pkg/customresourcestate/config.go, config_metrics_types.go at the same tag
 */

/**
 * A path into the object: map keys, array indexes, or `[key=value]` to pick the element of an array whose `key` is
 * `value`. Only the last element a path resolves to is iterated (an array or a map gives one metric per element);
 * there is no wildcard that iterates an array in the middle of a path.
 */
export type CrsPath = readonly string[];

/** A gauge: its value from `valueFrom`, resolved against each element `path` resolves to. */
export interface CrsGauge {
  readonly path: CrsPath;
  readonly valueFrom: CrsPath;
  /** Labels from paths relative to each element. */
  readonly labelsFromPath?: Readonly<Record<string, CrsPath>>;
  /** A missing value counts as 0 rather than producing no metric. */
  readonly nilIsZero?: boolean;
}

/** One metric of a resource (only gauges are rendered here). */
export interface CrsMetric {
  /** Appended to the resource's `metricNamePrefix` with `_`. */
  readonly name: string;
  readonly help: string;
  readonly commonLabels?: Readonly<Record<string, string>>;
  readonly each: { readonly type: 'Gauge'; readonly gauge: CrsGauge };
}

/** A custom resource and the metrics made from it. */
export interface CrsResource {
  readonly groupVersionKind: { readonly group: string; readonly version: string; readonly kind: string };
  /** Set explicitly: the default (`kube_customresource`) is the exporter's to change. */
  readonly metricNamePrefix: string;
  /** Labels of every metric of the resource, from paths into the object. */
  readonly labelsFromPath?: Readonly<Record<string, CrsPath>>;
  readonly metrics: readonly CrsMetric[];
}

/** The file `--custom-resource-state-config-file` reads. */
export interface CustomResourceStateConfig {
  readonly kind: 'CustomResourceStateMetrics';
  readonly spec: { readonly resources: readonly CrsResource[] };
}

/** The Istio VirtualService kind, at the version Istio 1.30 serves and this project renders. */
export const VIRTUAL_SERVICE_GVK = { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' } as const;

/**
 * The CRS configuration exporting the weights of VirtualServices' HTTP routes: for each route name, one
 * {@link ROUTE_WEIGHT} gauge per destination of the route of that name, labelled with the VirtualService's namespace
 * and name, the route, and the destination's subset and host; its value is the destination's `weight`. A destination
 * without a weight (a route of one destination, which gets everything) yields no series rather than a wrong 0.
 *
 * The route is picked by name (`[name=<route>]`) because the exporter cannot iterate `http[*].route[*]`: only the last
 * array of a path is iterated.
 */
export function virtualServiceWeightsConfig(routes: readonly string[]): CustomResourceStateConfig {
  const l = ROUTE_WEIGHT.labels;
  return {
    kind: 'CustomResourceStateMetrics',
    spec: {
      resources: [{
        groupVersionKind: { ...VIRTUAL_SERVICE_GVK },
        metricNamePrefix: ROUTE_WEIGHT.prefix,
        labelsFromPath: { [l.namespace]: ['metadata', 'namespace'], [l.virtualService]: ['metadata', 'name'] },
        metrics: routes.map(route => ({
          name: ROUTE_WEIGHT.name,
          help: 'Weight of each destination of a VirtualService\'s HTTP route, in percent.',
          commonLabels: { [l.route]: route },
          each: {
            type: 'Gauge',
            gauge: {
              path: ['spec', 'http', `[name=${route}]`, 'route'],
              labelsFromPath: { [l.subset]: ['destination', 'subset'], [l.host]: ['destination', 'host'] },
              valueFrom: ['weight'],
            },
          },
        })),
      }],
    },
  };
}
