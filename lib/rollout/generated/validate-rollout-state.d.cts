import type { ErrorObject } from 'ajv';

/** Validates a parsed state file against the rollout state schema; the problems are on `errors`. */
declare const validate: {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
};
export default validate;
