// The `canary` command: a thin shell that hands the arguments and the environment to runCli and sets the exit code.
// The only place that reads process.env; an empty variable counts as unset (GitHub Actions passes unset ones as '').
import { armCrashPoint } from '../private/crash-points';
import { runCli } from './cli';

const set = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

// fault injection for the crash tests (tests/delivery/cli-crash.test.ts): unset, nothing happens
armCrashPoint(set(process.env.CANARY_CRASH_AT));

runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
  now: () => new Date(),
  env: {
    prometheusUrl: set(process.env.PROMETHEUS_URL),
    prometheusToken: set(process.env.PROMETHEUS_TOKEN),
    prometheusUsername: set(process.env.PROMETHEUS_USERNAME),
    prometheusPassword: set(process.env.PROMETHEUS_PASSWORD),
    prometheusHeaders: set(process.env.PROMETHEUS_HEADERS),
    stepSummaryFile: set(process.env.GITHUB_STEP_SUMMARY),
    smokeUrl: set(process.env.SMOKE_BASE_URL),
    smokeUrls: set(process.env.SMOKE_URLS),
    smokeUnavailable: set(process.env.SMOKE_UNAVAILABLE),
    webhookUrl: set(process.env.CANARY_WEBHOOK_URL),
    pushRemote: set(process.env.CANARY_PUSH_REMOTE),
  },
}).then(code => {
  process.exitCode = code;
}, (error: unknown) => {
  process.stderr.write(`canary: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
