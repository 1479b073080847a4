/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  // transpile only: `npm run typecheck` type-checks, jest just runs
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true }, module: { type: 'commonjs' } }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 30000,
  // two workers even on two cores (jest's default is cores - 1): the slow suites mostly wait on child processes,
  // Prometheus scrapes and sockets, so a second worker fills that time
  maxWorkers: 2,
};
