import { ApiError, exceptionOf } from '../../../apps/shared/errors';

describe('exceptionOf: what a 5xx records on its span', () => {
  test('keeps the type (the code when there is one) and scrubs the message and stack as the logs are', () => {
    const cause = new Error('GET http://backend:8081/v1/routes?departure=ICN&access_token=t0ken-value failed for jane.doe@example.com');
    const error = new ApiError(502, 'backend_unavailable', cause.message, { cause });
    const exception = exceptionOf(error);
    expect(exception).toMatchObject({ name: 'ApiError', code: 'backend_unavailable' });
    expect(exception.message).toBe('GET http://backend:8081/v1/routes?departure=ICN&access_token=[redacted] failed for [email]');
    expect(exception.stack).toContain('access_token=[redacted]');
    expect(JSON.stringify(exception)).not.toMatch(/t0ken-value|jane\.doe/);
  });

  test('an error without a code has none', () => {
    expect(exceptionOf(new TypeError('boom'))).toEqual({ name: 'TypeError', message: 'boom', stack: expect.stringContaining('TypeError: boom') });
  });
});
