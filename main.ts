// The cdk8s app: `cdk8s synth` (or `DEPLOY_ENV=prod cdk8s synth`) renders one environment into cdk8s.out/<env>/.
// `npm run synth` is the supported way to update dist/: it renders every environment and swaps dist/ atomically.
import * as path from 'node:path';
import { findRepoRoot, loadStackInput, renderEnvironment, synthFailure, writeFiles } from './lib/synth';

try {
  const input = loadStackInput(findRepoRoot(process.cwd()), process.env.DEPLOY_ENV ?? 'local');
  writeFiles(path.join(process.env.CDK8S_OUTDIR ?? 'cdk8s.out', input.env.name), renderEnvironment(input));
} catch (error) {
  // the message is what the reader needs; a stack into the minified bundle would only bury it
  console.error(`synth failed.\n${synthFailure(error)}`);
  process.exitCode = 1;
}
