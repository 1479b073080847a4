import { GATEWAY_PATHS } from '../../contract';
import { BACKEND_PATHS, BACKEND_RELAYED_CODES } from '../../shared/backend-api';
import { ApiError, ErrorBody } from '../../shared/errors';
import { CLIENT_CLOSED_REQUEST } from '../../shared/observe';

/** Where the backend is and how long one call may take. */
export interface BackendClientOptions {
  /** Base URL without a trailing slash, e.g. `http://backend:8081`. */
  readonly baseUrl: string;
  /** Budget of one call in milliseconds, from request to the last byte of the body. */
  readonly timeoutMs: number;
}

/** Calls the backend's JSON API. */
export interface BackendClient {
  /**
   * `GET path?query` with `headers`; resolves with the parsed JSON of a 2xx answer. Rejects with an {@link ApiError}:
   * the backend's own "not found" ({@link BACKEND_RELAYED_CODES}, its hints in the gateway's paths), 504
   * `backend_timeout` past the budget, or 502 `backend_unavailable` (unreachable) or `backend_error` (5xx, not JSON,
   * or any other 4xx: the two services disagree); with `clientClosed` aborted (the caller's client went away), the call is
   * cancelled and it rejects with 499 `client_closed_request`.
   */
  get(path: string, query: Readonly<Record<string, string>>, headers: Readonly<Record<string, string>>, clientClosed?: AbortSignal): Promise<unknown>;
}

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as Partial<ErrorBody> | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

/** The backend's message as the gateway's clients read it: its hints name the gateway's paths, not the backend's. */
function publicMessage(message: string): string {
  return (Object.keys(BACKEND_PATHS) as Array<keyof typeof BACKEND_PATHS>)
    .reduce((text, name) => text.split(BACKEND_PATHS[name]).join(GATEWAY_PATHS[name]), message);
}

/** A {@link BackendClient} over global fetch, which the undici instrumentation traces and propagates through. */
export function createBackendClient(options: BackendClientOptions): BackendClient {
  return {
    async get(path, query, headers, clientClosed) {
      const search = new URLSearchParams(query).toString();
      const url = `${options.baseUrl}${path}${search === '' ? '' : `?${search}`}`;
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const signal = clientClosed ? AbortSignal.any([timeout, clientClosed]) : timeout;
      let status: number;
      let text: string;
      try {
        const response = await fetch(url, { headers: { ...headers, accept: 'application/json' }, signal });
        status = response.status;
        text = await response.text();
      } catch (error) {
        if (clientClosed?.aborted) throw new ApiError(CLIENT_CLOSED_REQUEST, 'client_closed_request', 'the client closed the request', { cause: error });
        if (timeout.aborted) throw new ApiError(504, 'backend_timeout', `the backend did not answer within ${options.timeoutMs} ms`, { cause: error });
        throw new ApiError(502, 'backend_unavailable', 'the backend is unreachable', { cause: error });
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new ApiError(502, 'backend_error', `the backend answered ${status} without JSON`, { cause: error });
      }
      if (status >= 200 && status < 300) return body;
      if (status >= 400 && status < 500 && isErrorBody(body) && BACKEND_RELAYED_CODES.has(body.error.code)) {
        throw new ApiError(status, body.error.code, publicMessage(body.error.message), { parameter: body.error.parameter });
      }
      throw new ApiError(502, 'backend_error', `the backend answered ${status}`, { cause: body });
    },
  };
}
