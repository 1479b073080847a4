import * as fs from 'node:fs';
import * as path from 'node:path';
import { SCHEMA_OUTPUTS } from '../lib/schemas';

describe('the generated files of `npm run schemas`', () => {
  test('are the state and service schemas, their compiled validators and the environments\' shape', () => {
    expect(SCHEMA_OUTPUTS.map(o => o.file)).toEqual([
      'rollout/schema.json', 'lib/rollout/generated/validate-rollout-state.cjs', 'services/schema.json', 'lib/services/generated/validate-service.cjs',
      'lib/config/generated/environment-shape.json',
    ]);
  });

  test.each(SCHEMA_OUTPUTS.map(o => [o.file, o] as const))('%s is what `npm run schemas` writes today (run it after changing its source)', (file, output) => {
    expect(fs.readFileSync(path.join(__dirname, '..', file), 'utf8')).toBe(output.render());
  });
});
