// Jest's globalSetup (and, as `teardown`, its globalTeardown): the specs run as on a fresh machine,
// whatever the developer's shell and home hold. It runs in Jest's own process before its workers
// start, so the workers, the processes specs spawn (nodes, launch's processes, openssl) and
// os.homedir() all see what it sets.
//
// - HOME is a new empty dir: a default path (~/.openclaw/consensus, where `npm start` keeps a
//   network with its TLS certificates; ~/.lmfdb, its LMFDB cache; ~/.paxos-lmfdb) reaches nothing
//   the developer has. A spec that meant to read one of them gives its own dir instead.
// - The variables the programs read as configuration are removed: a developer's PROPOSER_WINDOW,
//   PAXOS_MAX_CALLS, PAXOS_TLS_DIR or LOG_LEVEL=error (which hides the warnings specs look for)
//   changed what the nodes the specs start do. NODE_OPTIONS (--inspect, a heap size) too. A spec
//   that wants one sets it on its own process or child.
// The knobs of the tests themselves stay: seeds (SEED, FUZZ_SEED, ...), KEEP_TEST_CLUSTER, and
// PAXOS_PORT_RANGE / PAXOS_PORT_RESERVATIONS (the ports a shared host lets tests use).
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const CONFIGURATION = /^(PAXOS|PROPOSER|ACCEPTOR|STATUS_PAGE|LMFDB)_/;
const TEST_KNOBS = new Set(['PAXOS_PORT_RANGE', 'PAXOS_PORT_RESERVATIONS', 'LMFDB_WRITE_SNAPSHOT']);
const ALSO_REMOVED = ['LOG_LEVEL', 'NODE_OPTIONS', 'OPENSSL_CONF'];
const HOME_MARK = 'PAXOS_TEST_HOME';

module.exports = async function isolate() {
  for (const name of Object.keys(process.env)) {
    if ((CONFIGURATION.test(name) && !TEST_KNOBS.has(name)) || ALSO_REMOVED.includes(name)) delete process.env[name];
  }
  const home = mkdtempSync(join(tmpdir(), 'paxos-test-home-'));
  process.env['HOME'] = home;
  // Not a configuration variable (the programs never read it): where teardown finds the dir.
  process.env[HOME_MARK] = home;
};

module.exports.teardown = async function removeHome() {
  const home = process.env[HOME_MARK];
  if (home && home.startsWith(join(tmpdir(), 'paxos-test-home-'))) rmSync(home, { recursive: true, force: true });
};
