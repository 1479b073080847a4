// The `canary` command: a thin shell that hands the arguments and the environment to runCli and sets the exit code.
// The only place that reads process.env; an empty variable counts as unset (GitHub Actions passes unset ones as '').
import { runCli } from './cli';

const set = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
  now: () => new Date(),
  env: {
    prometheusUrl: set(process.env.PROMETHEUS_URL),
    prometheusToken: set(process.env.PROMETHEUS_TOKEN),
    stepSummaryFile: set(process.env.GITHUB_STEP_SUMMARY),
    smokeUrl: set(process.env.SMOKE_BASE_URL),
  },
}).then(code => {
  process.exitCode = code;
}, (error: unknown) => {
  process.stderr.write(`canary: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
