/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/services', '<rootDir>/topology', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 30_000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // TEST_CLOCK_SHIFT_MS moves the clock of every test (see the file): tests must hold on any day.
  setupFiles: ['<rootDir>/test/support/clock-shift.js'],
};
