import { resolve } from 'node:path';
import { ConfigError, helpText, parseCommand } from '@paxos/grpc-kit';
import { defaultCacheDir } from '@paxos/lmfdb-client';
import { launchNetwork, type LaunchResult, restartMissing } from './launch-network';
import { defaultNetworkDir, type NetworkLayout, portOf, refuseNonDirectory } from './network-dir';
import { shellWord } from './shell-word';

export const launchCommand = {
  program: 'launch',
  refuseRepeats: true,
  summary: 'start a local network: N acceptors and a proposer in the background, on the shipped LMFDB snapshot by default',
  usage: 'npm run launch -- [--nodes 23] [--base-port 7100] [--proposer-port P] [--status-port P] [--metrics-port P] [--dir D] [--lmfdb-cache D] [--offline|--base-url URL] [--ready-timeout-ms 60000] [--restart-missing] [--insecure]',
  options: {
    nodes: { type: 'integer', default: 23, min: 1, max: 100, description: 'number of acceptors' },
    'base-port': { type: 'integer', default: 7100, min: 1, max: 63_335, description: 'port of node 0 (node i listens on base + i)' },
    'proposer-port': { type: 'integer', min: 1, max: 65_535, description: 'client API port of the proposer', defaultText: 'default base port + 100, so 7200' },
    'status-port': { type: 'integer', min: 1, max: 65_535, description: 'HTTP port of the live status page', defaultText: 'default base port + 2200, so 9300' },
    'metrics-port': { type: 'integer', min: 1, max: 65_535, description: 'Prometheus port of acceptor 0 (acceptor i on metrics + i, the proposer on metrics + 101)', defaultText: 'default base port + 2000, so 9100' },
    dir: { type: 'string', env: 'PAXOS_NETWORK_DIR', description: 'pid files, logs, data', defaultText: 'default ~/.openclaw/consensus' },
    'lmfdb-cache': { type: 'string', env: 'LMFDB_CACHE_DIR', description: 'LMFDB cache', defaultText: 'default ~/.lmfdb' },
    offline: { type: 'boolean', description: 'fill a missing cache from the shipped snapshot (the default)' },
    'base-url': { type: 'string', description: 'fill a missing cache from this LMFDB API instead (e.g. https://www.lmfdb.org)' },
    'ready-timeout-ms': { type: 'integer', default: 60_000, min: 1000, max: 3_600_000, description: 'how long to wait for every node to answer health' },
    'restart-missing': { type: 'boolean', description: 'restart only the nodes of the running network whose process is gone, on their data' },
    insecure: { type: 'boolean', description: 'plaintext gRPC, no certificates (local experiments only); by default mutual TLS with certificates in <dir>/tls' },
  },
} as const;

/** Flags the layout of a launched network fixes (refused with --restart-missing). */
const RESTART_FIXED = ['nodes', 'base-port', 'proposer-port', 'status-port', 'metrics-port', 'lmfdb-cache', 'offline', 'base-url', 'insecure'] as const;

/**
 * The launch command that starts the network of `layout` again as it was (its size, ports, LMFDB
 * cache and transport), for a network that was stopped: a launch with other flags would be
 * refused (another --nodes) or move it to other ports.
 */
export function relaunchCommand(layout: NetworkLayout, dir: string): string {
  const acceptors = layout.nodes.filter((n) => n.role === 'acceptor');
  const base = portOf(acceptors[0]?.address ?? ':7100');
  const flags = ['--dir', dir, '--nodes', String(acceptors.length), '--base-port', String(base)];
  if (portOf(layout.proposer) !== base + 100) flags.push('--proposer-port', String(portOf(layout.proposer)));
  if (layout.statusPage && portOf(layout.statusPage) !== base + 2200) flags.push('--status-port', String(portOf(layout.statusPage)));
  const metrics = acceptors[0]?.metricsAddress;
  if (metrics && portOf(metrics) !== base + 2000) flags.push('--metrics-port', String(portOf(metrics)));
  if (resolve(layout.lmfdbCacheDir) !== resolve(defaultCacheDir())) flags.push('--lmfdb-cache', layout.lmfdbCacheDir);
  if (layout.tls !== true) flags.push('--insecure');
  return `npm run launch -- ${flags.map(shellWord).join(' ')}`;
}


export function printLaunch(r: LaunchResult, out: (line: string) => void): void {
  for (const n of r.nodes) {
    const what = n.role === 'acceptor' ? `source ${n.source}` : 'client API';
    const ready = n.readyAfterMs !== undefined ? `ready after ${(n.readyAfterMs / 1000).toFixed(2)} s` : `NOT READY${n.problem ? `: ${n.problem}` : ''}`;
    out(`${n.name.padEnd(9)} pid ${String(n.pid ?? '-').padEnd(7)} ${n.address.padEnd(16)} ${what.padEnd(10)} ${ready}`);
  }
  out(`launched ${r.healthy}/${r.quorum.n}, quorum ${r.quorum.q}, crash tolerance ${r.quorum.crashTolerance}, Byzantine tolerance ${r.quorum.byzantineTolerance}`);
  out(r.quorumReadyMs !== undefined ? `quorum-ready after ${(r.quorumReadyMs / 1000).toFixed(2)} s` : 'a quorum never became ready: see the node logs');
  if (r.allReadyMs !== undefined) out(`all ${r.nodes.length} processes ready after ${(r.allReadyMs / 1000).toFixed(2)} s`);
  if (r.certificatesMs !== undefined) out(`mutual TLS: the network's CA and certificates are in tls/ beside the logs (made or checked in ${(r.certificatesMs / 1000).toFixed(2)} s)`);
  else if (r.layout.tls === false) out('plaintext gRPC (--insecure): every port answers anyone');
  if (r.statusPageUrl) out(`status page: ${r.statusPageUrl}`);
  else if (r.layout.statusPage) out(`the status page did not answer at http://${r.layout.statusPage}/${r.statusPageProblem ? `: ${r.statusPageProblem}` : ''} (see status-page.log)`);
}

export async function runLaunch(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const parsed = parseCommand(launchCommand, argv);
  if (parsed.help) {
    out(helpText(launchCommand));
    return 0;
  }
  const o = parsed.options;
  if (o.offline && o['base-url']) throw new ConfigError('--offline and --base-url exclude each other');
  const nodes = o.nodes as number;
  const dir = resolve(o.dir ?? defaultNetworkDir());
  if (o['restart-missing']) {
    // The network's layout decides these: a flag that would be ignored is refused instead.
    const ignored = RESTART_FIXED.filter((f) => parsed.given.has(f));
    if (ignored.length > 0) throw new ConfigError(`--restart-missing restarts the network as it was launched (see ${dir}/network.json): ${ignored.map((f) => `--${f}`).join(', ')} cannot change it; stop it and launch again to change them`);
    const r = await restartMissing(dir, o['ready-timeout-ms'] as number, (layout) => relaunchCommand(layout, dir));
    printLaunch(r, out);
    return r.healthy === r.quorum.n && r.allReadyMs !== undefined ? 0 : 1;
  }
  const lmfdbCacheDir = resolve(o['lmfdb-cache'] ?? defaultCacheDir());
  // Before anything is bundled or made: the ingest would say only EEXIST from mkdir.
  refuseNonDirectory(lmfdbCacheDir, 'the LMFDB cache', '--lmfdb-cache (or LMFDB_CACHE_DIR)');
  const r = await launchNetwork({
    nodes,
    basePort: o['base-port'] as number,
    // Above every acceptor's port (at most 100 nodes), so two networks on other base ports never collide.
    proposerPort: (o['proposer-port'] as number | undefined) ?? (o['base-port'] as number) + 100,
    // Beside the metrics ports (acceptors 9100 + id, proposer 9200 + id), moved with the base port.
    statusPort: (o['status-port'] as number | undefined) ?? (o['base-port'] as number) + 2200,
    // Acceptor i's metrics on metricsPort + i, the proposer's on metricsPort + 101 (9100 + i and 9201 by default).
    metricsPort: (o['metrics-port'] as number | undefined) ?? (o['base-port'] as number) + 2000,
    dir,
    lmfdbCacheDir,
    ...(o['base-url'] ? { baseUrl: o['base-url'] } : {}),
    readyTimeoutMs: o['ready-timeout-ms'] as number,
    ...(o.insecure ? { insecure: true } : {}),
    out,
  });
  printLaunch(r, out);
  out(`logs and pid files: ${dir}; stop with: npm run stop${o.dir ? ` -- --dir ${shellWord(dir)}` : ''}`);
  return r.healthy === nodes && r.allReadyMs !== undefined ? 0 : 1;
}
