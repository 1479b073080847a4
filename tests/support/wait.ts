import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `condition` every `intervalMs` (default 50) until it is true; rejects after `timeoutMs` (default 15 s) naming
 * `what` was awaited. An error the condition throws fails the wait at once, so an assertion inside it holds on every
 * poll; a probe that may fail while something starts (a refused connection) catches that itself.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; what: string },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs ?? 15_000} ms waiting for ${options.what}`);
    await sleep(options.intervalMs ?? 50);
  }
}
