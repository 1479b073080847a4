// `npm run synth`: renders every environment into dist/<env>/<chart>/ and replaces dist/ only when all succeeded.
import { ENVIRONMENT_NAMES } from '../lib/config/environments';
import { findRepoRoot, synthFailure, synthesizeRepo } from '../lib/synth';

try {
  const count = synthesizeRepo(findRepoRoot(process.cwd()));
  console.log(`synthesized ${count} objects for ${ENVIRONMENT_NAMES.join(', ')} into dist/`);
} catch (error) {
  console.error(`synth failed; dist/ is unchanged.\n${synthFailure(error)}`);
  process.exitCode = 1;
}
