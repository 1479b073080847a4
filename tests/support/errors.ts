import { ConfigError } from '../../lib/config/checks';

/** The {@link ConfigError} `fn` throws; fails the test when it throws nothing or another error. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, none was thrown');
}

/** The message of the {@link ConfigError} `fn` throws. */
export function errorOf(fn: () => unknown): string {
  return configErrorOf(fn).message;
}
