import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** A stub's answer: its status, a body (sent as JSON, strings as they are) and any headers to add. */
export interface StubResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A request the stub received. */
export interface StubRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  /** Lower-case header names. */
  readonly headers: http.IncomingHttpHeaders;
  /** The request body as text (empty for a GET). */
  readonly body: string;
}

/**
 * A plain HTTP server on loopback standing in for an upstream whose behaviour a test needs to control: slow, down
 * or misbehaving. `respond` decides each answer; it may wait.
 */
export class StubServer {
  /** Requests received so far. */
  readonly requests: StubRequest[] = [];

  private constructor(private readonly server: http.Server) {}

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * Starts a stub; `respond` returns the status, a body (sent as JSON, strings as they are) and any headers to add, or
   * never resolves to hang.
   */
  static async start(respond: (request: StubRequest) => Promise<StubResponse>): Promise<StubServer> {
    const server = http.createServer();
    const stub = new StubServer(server);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text };
        stub.requests.push(request);
        void respond(request).then(({ status, body, headers }) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
        });
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    return stub;
  }

  /** Stops listening and cuts open connections. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
  }
}
