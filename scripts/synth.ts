// `npm run synth`: renders every environment into dist/<env>/<chart>/ and replaces dist/ only when all succeeded.
import * as path from 'node:path';
import { ENVIRONMENT_NAMES } from '../lib/config/environment';
import { loadEnvironment } from '../lib/config/environments';
import { loadRollouts } from '../lib/delivery/store';
import { findRepoRoot, synthesizeAll } from '../lib/synth';

try {
  const root = findRepoRoot(process.cwd());
  const count = synthesizeAll(path.join(root, 'dist'), ENVIRONMENT_NAMES.map(name => () => ({
    env: loadEnvironment(name),
    rollouts: loadRollouts(root, name),
  })));
  console.log(`synthesized ${count} objects for ${ENVIRONMENT_NAMES.join(', ')} into dist/`);
} catch (error) {
  console.error(`synth failed; dist/ is unchanged.\n${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
