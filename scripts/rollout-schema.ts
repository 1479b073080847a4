// `npm run rollout-schema`: writes rollout/schema.json, the JSON Schema of the state files (for editors and reviews),
// and lib/delivery/generated/validate-rollout-state.cjs, the same schema compiled ahead by ajv: compiling it at run time
// costs every synth and every CLI call about 35 ms. Both are committed; a test fails when either is stale.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderRolloutStateValidator } from '../lib/delivery/generated/render-validator';
import { ROLLOUT_STATE_SCHEMA } from '../lib/delivery/state-schema';
import { findRepoRoot } from '../lib/synth';

const root = findRepoRoot(process.cwd());
const outputs: Array<[string, string]> = [
  [path.join(root, 'rollout', 'schema.json'), `${JSON.stringify(ROLLOUT_STATE_SCHEMA, undefined, 2)}\n`],
  [path.join(root, 'lib', 'delivery', 'generated', 'validate-rollout-state.cjs'), renderRolloutStateValidator()],
];
for (const [file, content] of outputs) {
  fs.writeFileSync(file, content);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
