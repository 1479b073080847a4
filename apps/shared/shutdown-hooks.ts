/**
 * Work to finish before the process exits, registered by code that loads before the app (the OpenTelemetry
 * bootstrap) and run by the server's graceful shutdown. It has no imports so that a run without the bootstrap loads
 * nothing extra.
 */
type Hook = { readonly name: string; readonly run: () => Promise<void> };

const hooks: Hook[] = [];

/** Registers `run` to be awaited, after the server closed, before the process exits. */
export function onShutdown(name: string, run: () => Promise<void>): void {
  hooks.push({ name, run });
}

/** Runs every hook; resolves with the names and errors of those that failed, never rejects. */
export async function runShutdownHooks(): Promise<Array<{ name: string; error: unknown }>> {
  const results = await Promise.allSettled(hooks.map(async hook => hook.run()));
  return results.flatMap((result, i) => (result.status === 'rejected' ? [{ name: hooks[i].name, error: result.reason }] : []));
}
