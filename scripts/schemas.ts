// `npm run schemas`: writes the JSON Schemas of the files people edit, for editors and reviews (rollout/schema.json
// for the state files, services/schema.json for the service files), and the same schemas compiled ahead by ajv
// (lib/*/generated/*.cjs). All are committed; a test fails when one is stale.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SCHEMA_OUTPUTS } from '../lib/schemas';
import { findRepoRoot } from '../lib/synth';

const root = findRepoRoot(process.cwd());
for (const { file, render } of SCHEMA_OUTPUTS) {
  fs.writeFileSync(path.join(root, file), render());
  console.log(`wrote ${file}`);
}
