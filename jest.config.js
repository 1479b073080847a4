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
  // three workers on two cores (jest's default is cores - 1): the slow suites spend much of their time waiting on
  // child processes, Prometheus scrapes and sockets, which another worker fills. Measured on the 2-core machine, the
  // same minutes: 2 workers 152 s, 3 workers 134 and 138 s, 4 workers 174 s (contention costs more than it fills)
  maxWorkers: 3,
};
