import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `condition` every `intervalMs` until it is true; rejects after `timeoutMs` naming `what` was awaited. */
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
