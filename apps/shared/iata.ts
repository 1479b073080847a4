import type { Context } from 'koa';

const IATA = /^[A-Z]{3}$/;

/**
 * The IATA airport code in query parameter `name`; answers 400 `missing_parameter` when it is absent or empty and
 * 400 `invalid_parameter` when it is not three upper-case letters (or given twice).
 */
export function iataParam(ctx: Context, name: string): string {
  const value = ctx.query[name];
  ctx.assert(value !== undefined && value !== '', 400, `query parameter "${name}" is required: an IATA airport code such as ICN`,
    { code: 'missing_parameter', parameter: name });
  ctx.assert(typeof value === 'string' && IATA.test(value), 400,
    `query parameter "${name}" must be an IATA airport code of three upper-case letters such as ICN, got "${String(value).slice(0, 32)}"`,
    { code: 'invalid_parameter', parameter: name });
  return value;
}
