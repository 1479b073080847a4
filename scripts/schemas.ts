// `npm run schemas`: writes the JSON Schemas of the files people edit, for editors and reviews (rollout/schema.json
// for the state files, services/schema.json for the service files), and the same schemas compiled ahead by ajv
// (lib/*/generated/*.cjs). All are committed; a test fails when one is stale.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SCHEMA_OUTPUTS } from '../lib/schemas';

// not lib/synth's findRepoRoot: that loads the environments, and with them a generated file this may have to repair
const root = path.join(__dirname, '..');
for (const { file, render } of SCHEMA_OUTPUTS) {
  fs.writeFileSync(path.join(root, file), render());
  console.log(`wrote ${file}`);
}
