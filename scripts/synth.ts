// `npm run synth`: renders every environment into dist/<env>/<chart>/ and replaces dist/ only when all succeeded.
import * as path from 'node:path';
import { ENVIRONMENT_NAMES } from '../lib/config/environment';
import { loadEnvironment } from '../lib/config/environments';
import { findRepoRoot, synthesizeAll } from '../lib/synth';

try {
  const distDir = path.join(findRepoRoot(process.cwd()), 'dist');
  const count = synthesizeAll(distDir, ENVIRONMENT_NAMES.map(name => () => loadEnvironment(name)));
  console.log(`synthesized ${count} objects for ${ENVIRONMENT_NAMES.join(', ')} into dist/`);
} catch (error) {
  console.error(`synth failed; dist/ is unchanged.\n${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
