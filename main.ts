// The cdk8s app: `cdk8s synth` (or `DEPLOY_ENV=prod cdk8s synth`) renders one environment into cdk8s.out/<env>/.
// `npm run synth` is the supported way to update dist/: it renders every environment and swaps dist/ atomically.
import * as path from 'node:path';
import { loadEnvironment } from './lib/config/environments';
import { loadRollouts } from './lib/delivery/store';
import { findRepoRoot, renderEnvironment, synthFailure, writeFiles } from './lib/synth';

try {
  const env = loadEnvironment(process.env.DEPLOY_ENV ?? 'local');
  const rollouts = loadRollouts(findRepoRoot(process.cwd()), env.name);
  writeFiles(path.join(process.env.CDK8S_OUTDIR ?? 'cdk8s.out', env.name), renderEnvironment({ env, rollouts }));
} catch (error) {
  // the message is what the reader needs; a stack into the minified bundle would only bury it
  console.error(`synth failed.\n${synthFailure(error)}`);
  process.exitCode = 1;
}
