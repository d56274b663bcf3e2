import { resolve } from 'node:path';
import { helpText, parseCommand } from '@paxos/grpc-kit';
import { checkNetwork, formatCheck, type Owners } from './check-report';
import { runningProcesses } from './launch-network';
import { clientTransport, defaultNetworkDir, readLayout, STATUS_PAGE_NAME } from './network-dir';

export const checkCommand = {
  program: 'check',
  summary: "poll every node's Status and print the table, the alive count, the quorum and consensus lines, the proposer's and the status page's state; exit 0 only when a quorum is alive and the proposer serves",
  usage: 'npm run check -- [--dir D] [--json] [--settle-ms N]',
  options: {
    dir: { type: 'string', env: 'PAXOS_NETWORK_DIR', description: 'the network dir', defaultText: 'default ~/.openclaw/consensus' },
    json: { type: 'boolean', description: 'print one JSON document instead of the table' },
    'deadline-ms': { type: 'integer', default: 1000, min: 1, max: 600_000, description: 'deadline of each Status call (a node silent at it is asked once more with 3 times as long)' },
    'settle-ms': {
      type: 'integer',
      default: 0,
      min: 0,
      max: 600_000,
      description: 'wait up to this long for every alive acceptor to hold and apply the latest chosen slot before printing (commit notices take tens of ms, applying up to half a second)',
    },
  },
} as const;

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
  const transport = clientTransport(dir);
  const deadlineMs = parsed.options['deadline-ms'] as number;
  const settleUntil = Date.now() + (parsed.options['settle-ms'] as number);
  const owners = (): Owners => {
    const running = new Map(runningProcesses(dir).map((p) => [p.name, p.pid]));
    const proposer = running.get('proposer');
    const statusPage = running.get(STATUS_PAGE_NAME);
    return { ...(proposer !== undefined ? { proposer } : {}), ...(statusPage !== undefined ? { statusPage } : {}) };
  };
  let report = await checkNetwork(layout, deadlineMs, transport, owners());
  while (report.quorumAlive && (report.holdingLatest < report.alive || report.appliedLatest < report.alive) && Date.now() < settleUntil) {
    await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    report = await checkNetwork(layout, deadlineMs, transport, owners());
  }
  if (parsed.options.json) out(JSON.stringify(report, null, 2));
  else for (const l of formatCheck(report)) out(l);
  return report.serving ? 0 : 1;
}
