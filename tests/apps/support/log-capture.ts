import { Writable } from 'node:stream';
import { Logger, createLogger } from '../../../apps/shared/logger';

/** A logger whose JSON lines are kept in memory, parsed. */
export interface CapturedLogger {
  /** The logger. */
  readonly logger: Logger;
  /** Every line written so far. */
  readonly lines: Array<Record<string, any>>;
}

/** A real pino logger as the services create it, writing to memory instead of stdout. */
export function captureLogger(service = 'test', level = 'debug'): CapturedLogger {
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ service, level, destination }), lines };
}
