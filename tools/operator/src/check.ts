import { resolve } from 'node:path';
import { helpText, parseCommand } from '@paxos/grpc-kit';
import type { Transport } from '@paxos/grpc-kit';
import { attemptDeadlines, type CheckReport, checkNetwork, formatCheck, NO_ACCEPTOR_ANSWERED, type Owners } from './check-report';
import { certificateExpiry } from './certificate-expiry';
import { compareLogs, type LogAgreement } from './log-agreement';
import { hasPidFiles, lostData, runningProcesses } from './launch-network';
import { relaunchCommand } from './launch';
import { clientTransport, dataDir, defaultNetworkDir, logFile, type NetworkLayout, readLayout, STATUS_PAGE_NAME } from './network-dir';
import { endingCause, shutdownSignal } from './processes';
import { listeningPlaces, portTaken } from './port-check';

export const checkCommand = {
  program: 'check',
  refuseRepeats: true,
  summary: "poll every node's Status and print the table, the alive count, the quorum and consensus lines, the proposer's and the status page's state; exit 0 only when a quorum is alive and the proposer serves, 2 when two acceptors hold different values for one slot (or a flag is bad), 1 otherwise (a stopped network among them)",
  usage: 'npm run check -- [--dir D] [--json] [--settle-ms N] [--compare-slots N] [--deadline-ms N]',
  options: {
    dir: { type: 'string', env: 'PAXOS_NETWORK_DIR', description: 'the network dir', defaultText: 'default ~/.openclaw/consensus' },
    json: { type: 'boolean', description: 'print one JSON document instead of the table' },
    'deadline-ms': { type: 'integer', default: 1000, min: 1, max: 600_000, description: 'deadline of each Status call (a node silent at it is asked once more with 3 times as long)' },
    'compare-slots': {
      type: 'integer',
      default: 64,
      min: 0,
      max: 10_000_000,
      description: 'compare the chosen values the alive acceptors hold in this many latest slots (read a page of 1,024 at a time; 0: do not compare); two values for one slot exit 2',
    },
    'settle-ms': {
      type: 'integer',
      default: 0,
      min: 0,
      max: 600_000,
      description: 'wait up to this long for every alive acceptor to hold and apply the latest chosen slot before printing (commit notices take tens of ms, applying up to half a second)',
    },
  },
} as const;

/** The alive acceptors' chosen values in the `slots` latest slots any of them applied. */
function compareLatestSlots(report: CheckReport, slots: bigint, deadlineMs: number, transport: Transport): Promise<LogAgreement> {
  if (report.nodes.length === 1) return Promise.resolve({ fromSlot: '0', toSlot: '0', compared: [], skipped: [], oneAcceptor: true });
  const alive = report.nodes.filter((n) => n.alive);
  // No one to read: nothing is known of the chosen slots (not "none chosen yet").
  if (alive.length === 0) return Promise.resolve({ fromSlot: '0', toSlot: '0', compared: [], skipped: [NO_ACCEPTOR_ANSWERED] });
  const toSlot = alive.reduce((m, n) => (BigInt(n.appliedSlot ?? '0') > m ? BigInt(n.appliedSlot ?? '0') : m), 0n);
  const fromSlot = toSlot > slots ? toSlot - slots : 0n;
  const committed = alive.reduce((m, n) => (BigInt(n.committedIndex ?? '0') > m ? BigInt(n.committedIndex ?? '0') : m), 0n);
  if (toSlot === 0n && committed > 0n) return Promise.resolve({ fromSlot: '0', toSlot: '0', compared: [], skipped: [], chosenNotApplied: committed.toString() });
  const sources = alive.map((n) => ({ name: `acceptor ${n.node}`, address: n.address, firstSlot: BigInt(n.historyFirstSlot ?? '0'), node: n.node }));
  return compareLogs(sources, fromSlot, toSlot, attemptDeadlines(deadlineMs).at(-1) ?? deadlineMs, transport);
}

/**
 * Whether the command line asks for --json, read from argv itself: a check that fails (no network
 * in the dir, a flag it cannot parse) still answers a script with one JSON document.
 */
export function asksForJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** What check prints on stdout when it fails with --json: one document naming the error. */
export const failureJson = (err: unknown): string => JSON.stringify({ error: err instanceof Error ? err.message : String(err) }, null, 2);

/** No process of the network runs, no pid file is left, no acceptor lost its data and nothing listens on its ports. */
async function isStopped(dir: string, layout: NetworkLayout): Promise<boolean> {
  if (hasPidFiles(dir) || runningProcesses(dir).length > 0 || lostData(dir, layout).size > 0) return false;
  const taken = await Promise.all(listeningPlaces(layout).map((p) => portTaken(p.address)));
  return !taken.includes(true);
}

/** How often --settle-ms asks the nodes again. */
const SETTLE_POLL_MS = 100;

export async function runCheck(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const parsed = parseCommand(checkCommand, argv);
  if (parsed.help) {
    out(helpText(checkCommand));
    return 0;
  }
  const dir = resolve(parsed.options.dir ?? defaultNetworkDir());
  const layout = readLayout(dir);
  // npm run stop ended every process and removed their pid files: a stopped network, said in one
  // line with the launch that starts it again, not a table of nodes that do not answer. (A network
  // whose processes were killed keeps its pid files: its table names each, with how to restart it;
  // so does one with an acceptor that lost its data, which a launch leaves down, and one whose ports
  // something else answers on, which the table names.)
  if (await isStopped(dir, layout)) {
    const start = relaunchCommand(layout, dir);
    const acceptors = layout.nodes.filter((n) => n.role === 'acceptor').length;
    if (parsed.options.json) out(JSON.stringify({ stopped: true, serving: false, alive: 0, clusterSize: acceptors, start }, null, 2));
    else out(`stopped: the network in ${dir} is stopped (none of its processes runs, and no pid file is left); start it again with ${start}`);
    return 1;
  }
  const transport = clientTransport(dir);
  const deadlineMs = parsed.options['deadline-ms'] as number;
  const settleUntil = performance.now() + (parsed.options['settle-ms'] as number);
  const owners = (): Owners => {
    const running = new Map(runningProcesses(dir).map((p) => [p.name, p.pid]));
    const proposer = running.get('proposer');
    const statusPage = running.get(STATUS_PAGE_NAME);
    const acceptors = new Map(layout.nodes.flatMap((n) => (n.role === 'acceptor' && running.has(n.name) ? [[n.id, running.get(n.name) as number] as const] : [])));
    const lost = lostData(dir, layout);
    const lostOf = (name: string) => {
      const n = lost.has(name) ? layout.nodes.find((x) => x.name === name) : undefined;
      return n ? { id: n.id, dataDir: dataDir(dir, n.name) } : undefined;
    };
    return {
      ...(proposer !== undefined ? { proposer } : {}),
      ...(statusPage !== undefined ? { statusPage } : {}),
      acceptors,
      lastWords: (name) => endingCause(logFile(dir, name)),
      lostData: lostOf,
      shutdownSignal: (name, pid) => shutdownSignal(logFile(dir, name), pid),
    };
  };
  let report = await checkNetwork(layout, deadlineMs, transport, owners());
  while (report.quorumAlive && (report.holdingLatest < report.alive || report.appliedLatest < report.alive) && performance.now() < settleUntil) {
    await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    report = await checkNetwork(layout, deadlineMs, transport, owners());
  }
  const compareSlots = BigInt(parsed.options['compare-slots'] as number);
  if (compareSlots > 0n) report = { ...report, agreement: await compareLatestSlots(report, compareSlots, deadlineMs, transport) };
  // eslint-disable-next-line no-restricted-properties -- a certificate's validity names moments
  const certificates = await certificateExpiry(layout, transport, deadlineMs, Date.now());
  if (certificates) report = { ...report, certificates };
  if (parsed.options.json) out(JSON.stringify(report, null, 2));
  else for (const l of formatCheck(report, dir)) out(l);
  return report.agreement?.divergence ? 2 : report.serving ? 0 : 1;
}
