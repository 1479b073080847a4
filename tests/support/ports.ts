import * as net from 'node:net';

/**
 * A loopback TCP port nothing listens on (bound once, then released): to listen on (someone may take it first, so
 * retry), or as the address of a server that is down.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>(resolve => server.close(() => resolve()));
  return port;
}
