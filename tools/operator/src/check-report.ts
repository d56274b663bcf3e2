import { Quorum, formatBallot } from '@paxos/consensus-core';
import { describeGrpcError, type Transport } from '@paxos/grpc-kit';
import type { StatusResponse } from '@paxos/proto';
import type { NetworkLayout } from './network-dir';
import { acceptorStatus } from './probe';

export interface NodeRow {
  readonly node: number;
  readonly address: string;
  readonly alive: boolean;
  readonly error?: string;
  readonly source?: string;
  readonly promised?: string;
  readonly lastAccepted?: string;
  readonly committedIndex?: string;
  /** Slots below this are applied to the node's state machine. */
  readonly appliedSlot?: string;
  readonly valueDigest?: string;
  /** What the node says of itself that differs from the network's layout (empty when nothing does). */
  readonly misconfigured?: string;
}

export interface CheckReport {
  readonly nodes: readonly NodeRow[];
  readonly alive: number;
  readonly clusterSize: number;
  readonly quorumSize: number;
  readonly crashTolerance: number;
  readonly byzantineTolerance: number;
  readonly quorumAlive: boolean;
  /** The highest committed index among alive acceptors, and how many hold it. */
  readonly committedIndex: string;
  readonly holdingLatest: number;
}

/**
 * How an acceptor's own view differs from the network's layout: its id, the network size it was
 * started with (its claim-certificate check and quorum figures depend on it) and the LMFDB source
 * it holds (id mod 10, whose claims it verifies). Undefined when they agree.
 */
export function configurationProblem(id: number, clusterSize: number, s: Pick<StatusResponse, 'nodeId' | 'clusterSize' | 'dataSource'>): string | undefined {
  const problems: string[] = [];
  if (s.nodeId !== id) problems.push(`answers as acceptor ${s.nodeId}, the layout has acceptor ${id} here`);
  if (s.clusterSize !== clusterSize) problems.push(`was started for ${s.clusterSize} acceptors, the network has ${clusterSize} (restart it with --cluster-size ${clusterSize})`);
  if (s.dataSource && s.dataSource.source !== id % 10) problems.push(`holds LMFDB source ${s.dataSource.source}, acceptor ${id} holds source ${id % 10}: proposers do not count its claim verdicts`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

function row(id: number, address: string, clusterSize: number, s: StatusResponse): NodeRow {
  const ds = s.dataSource;
  const misconfigured = configurationProblem(id, clusterSize, s);
  return {
    ...(misconfigured ? { misconfigured } : {}),
    node: id,
    address,
    alive: true,
    source: ds ? `${ds.source} ${ds.table}${ds.loaded ? ` (${ds.rowCount} rows)` : ' (not loaded)'}` : '',
    promised: s.promised ? formatBallot(s.promised) : '-',
    lastAccepted: s.lastAccepted ? `slot ${s.lastAccepted.slot} @ ${formatBallot(s.lastAccepted.ballot ?? { round: 0n, proposerId: 0 })}` : '-',
    committedIndex: s.committedIndex.toString(),
    appliedSlot: s.appliedSlot.toString(),
    valueDigest: s.lastAccepted ? s.lastAccepted.valueDigest.slice(0, 12) : '-',
  };
}

/** Polls every acceptor's Status (each with its own deadline). */
export async function checkNetwork(layout: NetworkLayout, deadlineMs: number, transport: Transport): Promise<CheckReport> {
  const acceptors = layout.nodes.filter((n) => n.role === 'acceptor');
  const quorum = Quorum.majority(acceptors.length);
  const rows = await Promise.all(
    acceptors.map(async (n): Promise<NodeRow> => {
      try {
        return row(n.id, n.address, quorum.n, await acceptorStatus(n.address, deadlineMs, transport));
      } catch (e) {
        return { node: n.id, address: n.address, alive: false, error: describeGrpcError(e) };
      }
    }),
  );
  const alive = rows.filter((r) => r.alive);
  const latest = alive.reduce((m, r) => (BigInt(r.committedIndex ?? '0') > m ? BigInt(r.committedIndex ?? '0') : m), 0n);
  return {
    nodes: rows,
    alive: alive.length,
    clusterSize: quorum.n,
    quorumSize: quorum.q,
    crashTolerance: quorum.crashTolerance,
    byzantineTolerance: quorum.byzantineTolerance,
    quorumAlive: quorum.isQuorum(alive.length),
    committedIndex: latest.toString(),
    holdingLatest: alive.filter((r) => BigInt(r.committedIndex ?? '0') === latest).length,
  };
}

export function formatCheck(r: CheckReport): string[] {
  const head = ['node', 'alive', 'source', 'promised', 'last accepted', 'committed', 'applied', 'value digest'];
  const body = r.nodes.map((n) =>
    n.alive
      ? [String(n.node), 'yes', n.source ?? '', n.promised ?? '', n.lastAccepted ?? '', n.committedIndex ?? '', n.appliedSlot ?? '', n.valueDigest ?? '']
      : [String(n.node), 'NO', n.error ?? '', '', '', '', '', ''],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.filter((b) => b[1] !== 'NO' || i < 3).map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(Math.min(widths[i] ?? 0, 48)))).join('  ').trimEnd();
  return [
    line(head),
    ...body.map(line),
    `alive: ${r.alive}/${r.clusterSize}; quorum ${r.quorumSize} ${r.quorumAlive ? 'is alive' : 'is NOT alive'} (crash tolerance ${r.crashTolerance}, Byzantine tolerance ${r.byzantineTolerance})`,
    `consensus: ${r.holdingLatest} of ${r.alive} alive acceptors hold the latest chosen slot (committed index ${r.committedIndex})`,
    ...r.nodes.flatMap((n) => (n.misconfigured ? [`configuration: acceptor ${n.node} (${n.address}) ${n.misconfigured}`] : [])),
  ];
}
