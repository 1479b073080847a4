// `npm run rollout-schema`: writes rollout/schema.json, the JSON Schema of the state files (for editors and reviews).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROLLOUT_STATE_SCHEMA } from '../lib/delivery/state';
import { findRepoRoot } from '../lib/synth';

const file = path.join(findRepoRoot(process.cwd()), 'rollout', 'schema.json');
fs.writeFileSync(file, `${JSON.stringify(ROLLOUT_STATE_SCHEMA, undefined, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
