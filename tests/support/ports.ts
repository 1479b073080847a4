import * as net from 'node:net';

/**
 * A loopback TCP port nothing listens on (bound once, then released), to listen on: someone may take it first, so
 * retry. Not for a server that must stay down: another test may listen on it by then (use {@link DOWN_PORT}).
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>(resolve => server.close(() => resolve()));
  return port;
}

/**
 * A loopback port nothing listens on and no test can take: below 1024, where unprivileged processes cannot listen, and
 * outside the range the kernel hands out; not one of the ports fetch refuses to dial (1, 7, 9, …). The address of a
 * server that is down: connection refused.
 */
export const DOWN_PORT = 2;
