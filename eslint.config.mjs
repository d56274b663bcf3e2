// Lint rules that keep the architecture honest:
// - @nx/enforce-module-boundaries: the core depends only on core code, libraries never on apps,
//   apps and tools never on each other (see the tags in each project.json);
// - in libs/consensus-core: no I/O, no clock, no randomness of its own, no generated code.
import nx from '@nx/eslint-plugin';

export const coreRestrictions = {
  'no-restricted-imports': [
    'error',
    {
      paths: [
        ...['fs', 'fs/promises', 'net', 'http', 'http2', 'https', 'dgram', 'child_process', 'worker_threads', 'os', 'crypto', 'tls', 'dns']
          .flatMap((m) => [m, `node:${m}`])
          .map((name) => ({ name, message: 'The consensus core does no I/O: the caller does it.' })),
        { name: '@paxos/proto', message: 'The core does not know the wire format: map in the apps.' },
      ],
      patterns: [
        { group: ['@grpc/*'], message: 'The consensus core does no I/O: gRPC lives in the apps.' },
        { group: ['**/libs/proto/**', '**/gen/**'], message: 'The core does not import generated code.' },
      ],
    },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'Time enters the core as ticks.' },
    { object: 'Math', property: 'random', message: 'Randomness enters the core as a seeded generator.' },
    { object: 'performance', property: 'now', message: 'Time enters the core as ticks.' },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Time enters the core as ticks.' },
    { name: 'setInterval', message: 'Time enters the core as ticks.' },
    { name: 'setImmediate', message: 'Time enters the core as ticks.' },
    { name: 'process', message: 'The core does not read the environment.' },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: "NewExpression[callee.name='Date']", message: 'Time enters the core as ticks.' },
  ],
};

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/src/gen/**', '**/*.mjs', '**/jest.config.js', 'jest.preset.js', 'tmp/**'],
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:core'] },
            { sourceTag: 'type:proto', onlyDependOnLibsWithTags: ['type:proto'] },
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:core', 'type:proto', 'type:adapter'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:proto', 'type:adapter'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:core', 'type:proto', 'type:adapter'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Outside the core, time is read from two clocks kept apart (libs/grpc-kit/src/clock.ts).
    // The node simulator runs every node on one fake clock, where the two move together.
    files: ['apps/**/*.ts', 'libs/**/*.ts', 'tools/**/*.ts'],
    ignores: ['**/*.spec.ts', 'apps/proposer/src/node-sim/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message:
            "The wall clock steps (NTP, an operator): measure durations, timeouts and retry times with performance.now(); a gRPC client's deadline is deadlineAfter(ms), what is left of a server call's deadlineLeft(call) (@paxos/grpc-kit). Where the wall clock is meant (a moment a person reads), say why in an eslint-disable comment.",
        },
      ],
    },
  },
  {
    files: ['libs/consensus-core/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: coreRestrictions,
  },
];
