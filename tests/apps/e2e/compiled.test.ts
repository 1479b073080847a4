// The image's way to run a service: compiled JavaScript started with the contract's command.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVICES } from '../../../apps/contract';
import { OtlpReceiver, SpanKind } from '../support/otlp-receiver';
import { ROOT, ServiceProcess } from '../support/service-process';
import { waitFor } from '../../support/wait';

let dir: string;
let receiver: OtlpReceiver;
let backend: ServiceProcess | undefined;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-canary-build-'));
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'apps/tsconfig.build.json', '--outDir', path.join(dir, 'build')], { cwd: ROOT });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  receiver = await OtlpReceiver.start();
}, 120_000);

afterAll(async () => {
  await backend?.stop();
  receiver?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the compiled backend runs with the image command, preloads tracing and exports spans', async () => {
  const [command, ...args] = SERVICES.backend.command;
  expect(command).toBe('node');
  const child = spawn(process.execPath, args, {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
    // no readiness drain on SIGTERM (5 s by default): afterAll stops it
    env: { ...process.env, PORT: '0', SHUTDOWN_DELAY_MS: '0', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' },
  });
  backend = new ServiceProcess('backend', child);
  await waitFor(() => backend?.port !== 0, { what: 'the compiled backend to listen', timeoutMs: 30_000 });
  const response = await fetch(`${backend.url}/v1/airports`);
  expect(response.status).toBe(200);
  const traceId = response.headers.get('x-trace-id') ?? '';
  await receiver.waitForSpans(spans => spans.some(s => s.traceId === traceId && s.kind === SpanKind.SERVER && s.service === 'backend'));
  expect(backend.stderr).toBe('');
});
