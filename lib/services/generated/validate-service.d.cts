import type { ErrorObject } from 'ajv';

/** Validates a parsed service file against the service schema; the problems are on `errors`. */
declare const validate: {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
};
export default validate;
