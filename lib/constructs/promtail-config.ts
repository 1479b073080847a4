import { RelabelConfig } from './prometheus-config';

/**
 * The part of Promtail's configuration this project renders (Promtail 3.6), typed so that a misspelt key fails `tsc`.
 *
 * @see https://grafana.com/docs/loki/v3.6.x/send-data/promtail/configuration/
 */
export interface PromtailConfig {
  readonly server: { readonly http_listen_port: number; readonly grpc_listen_port: number; readonly log_level: string; readonly log_format: 'json' | 'logfmt' };
  readonly positions: { readonly filename: string };
  readonly clients: ReadonlyArray<{ readonly url: string; readonly backoff_config: PromtailBackoff }>;
  readonly scrape_configs: readonly PromtailScrapeConfig[];
}

/** How Promtail retries pushes that failed. */
export interface PromtailBackoff {
  readonly min_period: string;
  readonly max_period: string;
  readonly max_retries: number;
}

/** A scrape job: where to find files, how to label them, how to parse each line. */
export interface PromtailScrapeConfig {
  readonly job_name: string;
  readonly kubernetes_sd_configs: ReadonlyArray<{ readonly role: 'pod' }>;
  readonly relabel_configs: readonly RelabelConfig[];
  readonly pipeline_stages: readonly PipelineStage[];
}

/** One pipeline stage; each object has exactly one key, the stage name. */
export type PipelineStage =
  | { readonly cri: Record<string, never> }
  | { readonly json: { readonly expressions: Readonly<Record<string, string>> } }
  | { readonly timestamp: { readonly source: string; readonly format: string; readonly action_on_failure: 'skip' | 'fudge' } }
  | { readonly labels: Readonly<Record<string, string>> }
  | { readonly structured_metadata: Readonly<Record<string, string>> }
  | { readonly labelallow: readonly string[] };
