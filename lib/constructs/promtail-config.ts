import { SAMPLED_TRACE_FLAGS, sampledOnlyTemplate } from './log-streams';
import { RelabelConfig } from './prometheus-config';

/**
 * The part of Promtail's configuration this project renders (Promtail 3.6), typed so that a misspelt key fails `tsc`.
 *
 * @see https://grafana.com/docs/loki/v3.6.x/send-data/promtail/configuration/
 */
export interface PromtailConfig {
  readonly server: { readonly http_listen_port: number; readonly grpc_listen_port: number; readonly log_level: string; readonly log_format: 'json' | 'logfmt' };
  readonly positions: { readonly filename: string };
  readonly clients: ReadonlyArray<{
    readonly url: string;
    readonly backoff_config: PromtailBackoff;
    /** Labels of every stream the client sends. */
    readonly external_labels?: Readonly<Record<string, string>>;
  }>;
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
  /** Sets extracted value `source` to the Go template's output (sprig functions included); an empty output removes it. */
  | { readonly template: { readonly source: string; readonly template: string } }
  | { readonly structured_metadata: Readonly<Record<string, string>> }
  | { readonly labelallow: readonly string[] }
  /** Drops the line when extracted value `source` matches `expression`, counted under `drop_counter_reason`. */
  | { readonly drop: { readonly source: string; readonly expression: string; readonly drop_counter_reason: string } };

/** The sampled bit of W3C trace flags; see {@link sampledOnlyTemplate}. */
export { SAMPLED_TRACE_FLAGS };

/**
 * A `template` stage keeping the extracted value `source` only when the extracted trace flags `flags` have the sampled
 * bit, and removing it otherwise (also when either is missing): Promtail's template stage deletes a value whose
 * template renders empty (grafana/loki@v3.6.15: clients/pkg/logentry/stages/template.go), so a later
 * `structured_metadata` stage skips it. The template is the shared {@link sampledOnlyTemplate}, which Alloy's
 * configuration uses too.
 */
export function keepWhenSampled(source: string, flags: string): PipelineStage {
  return { template: { source, template: sampledOnlyTemplate(flags) } };
}
