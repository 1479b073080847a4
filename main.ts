// The cdk8s app: `cdk8s synth` (or `DEPLOY_ENV=prod cdk8s synth`) renders one environment into cdk8s.out/<env>/.
// `npm run synth` is the supported way to update dist/: it renders every environment and swaps dist/ atomically.
import * as path from 'node:path';
import { loadEnvironment } from './lib/config/environments';
import { loadRollouts } from './lib/delivery/store';
import { findRepoRoot, renderEnvironment, writeFiles } from './lib/synth';

const env = loadEnvironment(process.env.DEPLOY_ENV ?? 'local');
const rollouts = loadRollouts(findRepoRoot(process.cwd()), env.name);
writeFiles(path.join(process.env.CDK8S_OUTDIR ?? 'cdk8s.out', env.name), renderEnvironment({ env, rollouts }));
