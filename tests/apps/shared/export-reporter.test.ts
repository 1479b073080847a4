import { ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { ReportingSpanExporter } from '../../../apps/shared/export-reporter';
import { captureLogger } from '../support/log-capture';

/** An exporter whose next results the test decides. */
class ScriptedExporter implements SpanExporter {
  constructor(private readonly results: ExportResult[]) {}
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    setImmediate(() => done(this.results.shift() ?? { code: ExportResultCode.SUCCESS }));
  }
  async shutdown(): Promise<void> {}
}

const failed = (message: string): ExportResult => ({ code: ExportResultCode.FAILED, error: new Error(message) });

async function exportOnce(exporter: SpanExporter): Promise<ExportResult> {
  return new Promise(resolve => exporter.export([], resolve));
}

test('logs one warning when exports start failing, one info line when they recover, and passes results through', async () => {
  const { logger, lines } = captureLogger('gateway');
  const inner = new ScriptedExporter([failed('14 UNAVAILABLE'), failed('14 UNAVAILABLE'), failed('4 DEADLINE_EXCEEDED'), { code: ExportResultCode.SUCCESS }, failed('x')]);
  const exporter = new ReportingSpanExporter(inner, logger, 'http://collector:4317');
  const results: ExportResult[] = [];
  for (let i = 0; i < 3; i++) results.push(await exportOnce(exporter));
  expect(exporter.healthy).toBe(false);
  expect(lines).toEqual([expect.objectContaining({ level: 'warn', endpoint: 'http://collector:4317', error: '14 UNAVAILABLE', msg: expect.stringMatching(/span export failed/) })]);
  results.push(await exportOnce(exporter));
  expect(exporter.healthy).toBe(true);
  expect(lines.slice(1)).toEqual([expect.objectContaining({ level: 'info', msg: 'span export recovered' })]);
  results.push(await exportOnce(exporter));
  expect(lines.map(l => l.level)).toEqual(['warn', 'info', 'warn']);
  expect(results.map(r => r.code)).toEqual([1, 1, 1, 0, 1]);
});

test('stays quiet while exports succeed', async () => {
  const { logger, lines } = captureLogger();
  const exporter = new ReportingSpanExporter(new ScriptedExporter([]), logger, 'e');
  await exportOnce(exporter);
  await exportOnce(exporter);
  expect(lines).toEqual([]);
});
