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

/** A finished raw response: status, content type and the body as text. */
export interface RawAnswer {
  /** HTTP status. */
  readonly status: number;
  /** The `Content-Type` header, `''` when absent. */
  readonly contentType: string;
  /** The body as text. */
  readonly text: string;
}

/**
 * `GET target` on `127.0.0.1:port` with `target` sent on the request line exactly as written: unlike `fetch` or the
 * WHATWG URL parser, node:http neither resolves `.`/`..` segments, collapses slashes nor re-encodes characters. A
 * connection of its own per request (no agent), so no keep-alive socket outlives the test.
 */
export async function rawGet(port: number, target: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method: 'GET', path: target, headers, agent: false }, response => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'] ?? '', text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}
