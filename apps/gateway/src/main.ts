import { ENV, ENV_DEFAULTS } from '../../contract';
import { readHttpUrl, readInteger } from '../../shared/config';
import { startService } from '../../shared/start-service';
import { createApp } from './app';
import { createBackendClient } from './backend-client';

startService('gateway', process.env, deps => createApp({
  ...deps,
  backend: createBackendClient({
    baseUrl: readHttpUrl(process.env, ENV.backendUrl, ENV_DEFAULTS.backendUrl),
    timeoutMs: readInteger(process.env, ENV.backendTimeoutMs, ENV_DEFAULTS.backendTimeoutMs, 1, 600_000),
  }),
}));
