import * as path from 'node:path';
import { renderValidator } from './private/render-validator';
import { typeShape } from './private/type-shape';
import { ROLLOUT_STATE_SCHEMA } from './rollout/state-schema';
import { SERVICE_SCHEMA } from './services/schema';

/** A generated file: its path relative to the repository root and how to render it. */
export interface SchemaOutput {
  readonly file: string;
  readonly render: () => string;
}

const json = (schema: object | (() => object)) => (): string =>
  `${JSON.stringify(typeof schema === 'function' ? schema() : schema, undefined, 2)}\n`;

/** What `npm run schemas` writes; a test compares each with the committed file. */
export const SCHEMA_OUTPUTS: readonly SchemaOutput[] = [
  { file: 'rollout/schema.json', render: json(ROLLOUT_STATE_SCHEMA) },
  { file: 'lib/rollout/generated/validate-rollout-state.cjs', render: () => renderValidator(ROLLOUT_STATE_SCHEMA, 'lib/rollout/state-schema.ts') },
  { file: 'services/schema.json', render: json(SERVICE_SCHEMA) },
  { file: 'lib/services/generated/validate-service.cjs', render: () => renderValidator(SERVICE_SCHEMA, 'lib/services/schema.ts') },
  {
    file: 'lib/config/generated/environment-shape.json',
    render: json(() => typeShape(path.join(__dirname, '..'), 'lib/config/environment.ts', 'EnvironmentConfig')),
  },
];
