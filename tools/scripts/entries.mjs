// Every runnable entry point of the workspace: project -> { output name: source file }.
// Bundles land in dist/<project root>/<name>.js with workspace libraries inlined and npm
// packages left external (they resolve from node_modules at run time), except for the projects
// with `inlinePackages`: the nodes a launch starts 24 of at once, whose npm packages are inlined
// too, all but the native ones and those loaded on demand (NATIVE_PACKAGES and ON_DEMAND_PACKAGES
// in bundle.mjs). Resolving and loading some 200 files of node_modules one by one took about an
// eighth of an acceptor's CPU from exec to ready.
export const entries = {
  acceptor: { root: 'apps/acceptor', files: { main: 'src/main.ts' }, inlinePackages: true },
  proposer: { root: 'apps/proposer', files: { main: 'src/main.ts', 'simulate-nodes': 'src/node-sim/main.ts' }, inlinePackages: true },
  'lmfdb-ingest': { root: 'apps/lmfdb-ingest', files: { main: 'src/main.ts' } },
  'status-page': { root: 'apps/status-page', files: { main: 'src/main.ts' } },
  operator: {
    root: 'tools/operator',
    files: { start: 'src/bin/start.ts', launch: 'src/bin/launch.ts', check: 'src/bin/check.ts', submit: 'src/bin/submit.ts', stop: 'src/bin/stop.ts', read: 'src/bin/read.ts', rejoin: 'src/bin/rejoin.ts' },
  },
  chaos: { root: 'tools/chaos', files: { chaos: 'src/main.ts' } },
  bench: { root: 'tools/bench', files: { simulate: 'src/simulate.ts', bench: 'src/bench.ts', 'acceptor-steps': 'src/acceptor-steps.ts', 'lmfdb-compute': 'src/lmfdb-compute.ts' } },
};

// npm script name -> [project, entry]
export const commands = {
  acceptor: ['acceptor', 'main'],
  proposer: ['proposer', 'main'],
  ingest: ['lmfdb-ingest', 'main'],
  'status-page': ['status-page', 'main'],
  start: ['operator', 'start'],
  launch: ['operator', 'launch'],
  check: ['operator', 'check'],
  submit: ['operator', 'submit'],
  read: ['operator', 'read'],
  stop: ['operator', 'stop'],
  rejoin: ['operator', 'rejoin'],
  simulate: ['bench', 'simulate'],
  'simulate:nodes': ['proposer', 'simulate-nodes'],
  bench: ['bench', 'bench'],
  'bench:lmfdb': ['bench', 'lmfdb-compute'],
  chaos: ['chaos', 'chaos'],
};
