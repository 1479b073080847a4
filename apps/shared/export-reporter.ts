import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from './logger';

/**
 * Wraps a span exporter to report export health as log lines: one warning when exports start failing (the
 * collector is unreachable, say) and one info line when they succeed again; nothing per failed batch. The batch
 * processor keeps dropping what does not fit its queue meanwhile, so memory stays bounded.
 */
export class ReportingSpanExporter implements SpanExporter {
  private failing = false;

  /** False from a failed export until the next successful one. */
  get healthy(): boolean {
    return !this.failing;
  }

  /**
   * @param inner the exporter doing the work
   * @param logger where the two kinds of lines go
   * @param endpoint named in the lines, so that an operator sees where spans were going
   */
  constructor(private readonly inner: SpanExporter, private readonly logger: Logger, private readonly endpoint: string) {}

  /** Exports through the inner exporter and logs a change of health. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, result => {
      // the batch timer runs in the context of whichever request started it; these lines belong to no request
      context.with(ROOT_CONTEXT, () => this.report(result, spans.length));
      resultCallback(result);
    });
  }

  private report(result: ExportResult, spanCount: number): void {
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.failing) this.logger.info({ endpoint: this.endpoint }, 'span export recovered');
      this.failing = false;
    } else if (!this.failing) {
      this.failing = true;
      this.logger.warn(
        { endpoint: this.endpoint, error: result.error?.message, dropped_spans: spanCount },
        'span export failed; spans are dropped until the collector answers (logged once, not per batch)',
      );
    }
  }

  /** Shuts the inner exporter down. */
  async shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  /** Flushes the inner exporter. */
  async forceFlush(): Promise<void> {
    return this.inner.forceFlush?.();
  }
}
