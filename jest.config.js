/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFiles: ['<rootDir>/tests/setup-env.ts'],
  // Tests assert behaviour, never speed: a timeout only catches a hang. On a busy 2-core machine a
  // PGlite-backed hook or test can take several minutes (2 min failed bounded-memory there, issue #12).
  testTimeout: 600000,
  maxWorkers: 2,
};
