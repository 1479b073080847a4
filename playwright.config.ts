// Smoke tests of the demo services (tests/smoke): an `api` project through the request fixture and a `browser`
// project in Debian's Chromium. By default the run starts backend and gateway itself (`npm run start:*`);
// SMOKE_BASE_URL points it at a deployed gateway instead, and SMOKE_CANARY=1 pins every request to the canary.
import { defineConfig } from '@playwright/test';
import { CANARY_PIN, ENV, PATHS, SERVICES } from './apps/contract';

const GATEWAY_PORT = 18080;
const BACKEND_PORT = 18081;
const deployed = process.env.SMOKE_BASE_URL;
const local = (port: number) => `http://127.0.0.1:${port}`;
// the services would otherwise wait for endpoint removal after SIGTERM, and no collector runs here
const serviceEnv = { [ENV.shutdownDelayMs]: '0', [ENV.logLevel]: 'warn' };

export default defineConfig({
  testDir: 'tests/smoke',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/smoke',
  timeout: 30_000,
  forbidOnly: process.env.CI !== undefined,
  reporter: process.env.CI === undefined ? 'list' : 'line',
  use: {
    baseURL: deployed ?? local(GATEWAY_PORT),
    extraHTTPHeaders: process.env.SMOKE_CANARY === '1' ? { [CANARY_PIN.header]: CANARY_PIN.value } : {},
  },
  projects: [
    { name: 'api', testMatch: 'api.spec.ts' },
    {
      name: 'browser',
      testMatch: 'browser.spec.ts',
      use: {
        browserName: 'chromium',
        launchOptions: {
          // Debian's package; CHROMIUM_PATH names another build (Ubuntu's is a snap: use Google Chrome or a Debian one)
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          // without these, Chromium's background connections fail on a closed network and the root user needs no sandbox
          args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--no-first-run'],
        },
      },
    },
  ],
  webServer: deployed !== undefined ? undefined : [
    {
      command: `npm run ${SERVICES.backend.npmScript}`,
      url: `${local(BACKEND_PORT)}${PATHS.readiness}`,
      env: { ...serviceEnv, [ENV.port]: String(BACKEND_PORT) },
      timeout: 60_000,
      reuseExistingServer: false,
    },
    {
      command: `npm run ${SERVICES.gateway.npmScript}`,
      url: `${local(GATEWAY_PORT)}${PATHS.readiness}`,
      env: { ...serviceEnv, [ENV.port]: String(GATEWAY_PORT), [ENV.backendUrl]: local(BACKEND_PORT) },
      timeout: 60_000,
      reuseExistingServer: false,
    },
  ],
});
