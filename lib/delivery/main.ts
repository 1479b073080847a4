// The `canary` command: a thin shell that hands the arguments to runCli and sets the exit code.
import { runCli } from './cli';

runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
  now: () => new Date(),
}).then(code => {
  process.exitCode = code;
}, (error: unknown) => {
  process.stderr.write(`canary: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
