/**
 * Kiali's server configuration (`config.yaml`), typed with the keys this project sets, so that a misspelt key fails
 * `tsc`. Keys keep Kiali's own snake_case spelling (`matchLabels` too, as Kubernetes spells a label selector): the
 * object is serialized as it is. Everything else keeps Kiali's defaults.
 *
 * Kiali 2.x has no `istio_namespace` and no `deployment.accessible_namespaces` any more: it discovers the control
 * planes itself (istiod's pods and its injection webhooks), and the namespaces it shows are chosen by
 * `deployment.discovery_selectors`, with `deployment.cluster_wide_access` deciding whether its RBAC is a ClusterRole.
 * `external_services.istio` has no `url_service_version` or istiod deployment name either in this version.
 *
 * @see https://github.com/kiali/kiali/blob/v2.30.0/config/config.go (the `yaml` tags of `Config` and its structs, and
 *   the defaults of `NewConfig`: server port 20001, metrics port 9090, the signing key read from a file path)
 */

/** A Kubernetes label selector, as Kiali's discovery selectors take it. */
export interface KialiLabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
}

/** The `tempo_config` of the tracing service: how Kiali builds its "View in tracing" links. */
export interface KialiTempoConfig {
  /** `grafana`: links open Grafana's Explore on the Tempo datasource (`datasource_uid`), under `external_url`. */
  readonly url_format: 'grafana';
  readonly datasource_uid: string;
  readonly org_id: string;
}

/** Kiali's `config.yaml`, as far as this project sets it. */
export interface KialiConfig {
  readonly auth: {
    /** `anonymous`: no sign-in; `token`: the viewer's Kubernetes token, which Kiali uses for the API calls made for them. */
    readonly strategy: 'anonymous' | 'token';
  };
  readonly deployment: {
    /** The ServiceAccount is bound to a ClusterRole (true) rather than Roles per namespace. */
    readonly cluster_wide_access: boolean;
    /** The namespaces Kiali shows; none: every namespace. */
    readonly discovery_selectors?: { readonly default: readonly KialiLabelSelector[] };
    /** Names Kiali's own objects it looks for (its ConfigMap and Service). */
    readonly instance_name: string;
    /** The namespace Kiali runs in (its default is istio-system). */
    readonly namespace: string;
    /** No create, update or delete anywhere in the UI. */
    readonly view_only_mode: boolean;
  };
  readonly external_services: {
    readonly grafana: {
      readonly enabled: boolean;
      /** Where Kiali's backend reaches Grafana. */
      readonly internal_url: string;
      /** Where browsers reach Grafana, for links; empty: no links. */
      readonly external_url: string;
      readonly health_check_url: string;
      /** Grafana dashboards Kiali links to, by title (it searches Grafana's API for them). */
      readonly dashboards: readonly { readonly name: string }[];
    };
    readonly istio: {
      /**
       * istiod's debug interface (proxy sync status, registry): Kiali reaches it through port-forwards, which read-only
       * RBAC does not grant.
       */
      readonly istio_api_enabled: boolean;
    };
    readonly prometheus: {
      readonly url: string;
      /** Probed (without `custom_headers`) until it answers below 400; only then does Kiali query `url`. */
      readonly health_check_url: string;
      readonly custom_headers?: Readonly<Record<string, string>>;
      /** A store that serves no `/api/v1/status/config` (Thanos, Mimir): its scrape interval and retention, given. */
      readonly thanos_proxy?: { readonly enabled: boolean; readonly retention_period: string; readonly scrape_interval: string };
    };
    readonly tracing: {
      readonly enabled: boolean;
      readonly provider: 'tempo';
      /** Where Kiali's backend queries traces (Tempo's HTTP API with `use_grpc: false`). */
      readonly internal_url: string;
      readonly use_grpc: boolean;
      /** Whether Kiali queries a service's spans as `<app>.<namespace>` (its default) or as `<app>` (false). */
      readonly namespace_selector: boolean;
      /** Where browsers open traces: Grafana's root URL with `tempo_config.url_format: grafana`; empty: no links. */
      readonly external_url: string;
      readonly tempo_config: KialiTempoConfig;
    };
  };
  /** Only with token sign-in: the key that signs login cookies, as a file path (never the key itself). */
  readonly login_token?: { readonly signing_key: string };
  readonly server: {
    readonly port: number;
    /** The path prefix of the UI and API (`/kiali`: the console is under `/kiali/console/`). */
    readonly web_root: string;
    readonly observability: { readonly metrics: { readonly enabled: boolean; readonly port: number } };
  };
}
