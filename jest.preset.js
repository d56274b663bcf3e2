// Shared jest settings: SWC transpiles TypeScript (no type-check in tests; `nx run-many -t typecheck`
// does that), and Nx's resolver maps the `@paxos/*` aliases of tsconfig.base.json.
const nxPreset = require('@nx/jest/preset').default;

module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  // Many specs do real I/O, start servers or spawn processes; CI is a slow 2-core machine.
  testTimeout: 30_000,
  // A fresh HOME and none of the developer's configuration variables (see the file).
  globalSetup: require.resolve('./tools/scripts/jest-isolated-env.js'),
  globalTeardown: require.resolve('./tools/scripts/jest-isolated-env-teardown.js'),
  transform: {
    '^.+\\.[tj]s$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  coverageReporters: ['text-summary'],
  reporters: ['default', require.resolve('./tools/scripts/jest-summary-reporter.js')],
};
