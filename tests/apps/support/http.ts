import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import type Koa from 'koa';

/** An app served on a loopback port for the duration of a test. */
export interface Served {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Serves `app.callback()` on a free loopback port. */
export async function serve(app: Koa): Promise<Served> {
  const server = http.createServer(app.callback());
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
    },
  };
}

/** A finished response: status, headers and the parsed JSON (or text) body. */
export interface Answer {
  /** HTTP status. */
  readonly status: number;
  /** Response headers. */
  readonly headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON. */
  readonly body: any;
}

/** `GET url` with `headers`; never throws on an HTTP error status. */
export async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}
