import type { Quorum } from '@paxos/consensus-core';
import { clientDeadlinePassed, deadlineNoticedLate, describeGrpcError, isServiceError } from '@paxos/grpc-kit';
import type { ClusterStatusResponse, NodeStatus } from '@paxos/proto';
import { acceptorVotes } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';

/**
 * Asks every acceptor for its Status, each with its own deadline, and sums up; `cannotChoose`
 * says why this proposer can choose nothing more (the ballot ceiling), when it cannot, and
 * `learning` why it takes no client work yet (learning the chosen log at its start).
 */
export async function clusterStatus(
  links: readonly AcceptorLink[],
  quorum: Quorum,
  nodeDeadlineMs: number,
  cannotChoose: () => string | undefined = () => undefined,
  learning: () => string | undefined = () => undefined,
): Promise<ClusterStatusResponse> {
  const nodes: NodeStatus[] = await Promise.all(
    links.map(async (l) => {
      try {
        return { address: l.address, alive: true, error: '', status: await l.status(nodeDeadlineMs) };
      } catch (e) {
        return { address: l.address, alive: false, error: nodeStatusError(e, nodeDeadlineMs) };
      }
    }),
  );
  const alive = nodes.filter((n) => n.alive);
  const voting = alive.filter((n) => n.status === undefined || acceptorVotes(n.status)).length;
  const committedIndex = alive.reduce((m, n) => ((n.status?.committedIndex ?? 0n) > m ? (n.status?.committedIndex ?? 0n) : m), 0n);
  return {
    nodes,
    alive: alive.length,
    clusterSize: quorum.n,
    quorumSize: quorum.q,
    quorumAlive: quorum.isQuorum(voting),
    holdingLatest: alive.filter((n) => n.status?.committedIndex === committedIndex).length,
    committedIndex,
    voting,
    cannotChoose: cannotChoose() ?? '',
    learning: learning() ?? '',
  };
}

/**
 * Why an acceptor's Status failed, for ClusterStatus. A passed deadline names the node deadline the
 * call ran with, not grpc-js's measure of the wait ("no answer within 0.007 s" for a call that
 * asked 1 ms), unless the wait was noticed well past it (this proposer was held, not the node slow).
 */
export function nodeStatusError(e: unknown, nodeDeadlineMs: number): string {
  if (!isServiceError(e) || clientDeadlinePassed(e) === undefined) return describeGrpcError(e);
  const late = deadlineNoticedLate(e, nodeDeadlineMs);
  const noticed = late === undefined ? '' : `, noticed after ${late} s: this proposer did not run meanwhile`;
  return `DEADLINE_EXCEEDED: no answer within the node deadline of ${nodeDeadlineMs} ms (node_deadline_ms, rounded down to one significant digit${noticed}): the node paused or overloaded, or ask with a longer node_deadline_ms`;
}

/**
 * The node deadline a fan-out runs with for a call that asked `askedMs`: rounded down to one
 * significant digit (1,999 ms runs as 1,000; 1,000 and 30,000 as they are), so a call is answered
 * within what it asked, and calls asking nearly the same share a fan-out.
 */
export function fanOutDeadlineMs(askedMs: number): number {
  if (askedMs < 10) return Math.max(1, Math.floor(askedMs));
  const unit = 10 ** Math.floor(Math.log10(askedMs));
  return Math.floor(askedMs / unit) * unit;
}

/**
 * ClusterStatus calls share their fan-outs: a call that arrives while one with its node deadline
 * (fanOutDeadlineMs) runs takes its answer (read after that fan-out began, within one node deadline
 * of the call), so however many calls come at once, each acceptor is asked once per fan-out. Each
 * call asked every acceptor on its own: 256 at once took 5.8 s and pushed a lone client's Propose
 * from 35 ms to 1.3 s. Keyed by the deadline each call asked, a client asking with 4,096 different
 * ones started 4,096 fan-outs; rounded, at most 39 run at once (1-9 ms, 10-90, 100-900, 1,000-9,000,
 * 10,000-30,000).
 */
export class ClusterStatusRounds {
  private readonly running = new Map<number, Promise<ClusterStatusResponse>>();

  constructor(private readonly poll: (nodeDeadlineMs: number) => Promise<ClusterStatusResponse>) {}

  ask(askedMs: number): Promise<ClusterStatusResponse> {
    const nodeDeadlineMs = fanOutDeadlineMs(askedMs);
    const shared = this.running.get(nodeDeadlineMs);
    if (shared) return shared;
    const fanOut = Promise.resolve()
      .then(() => this.poll(nodeDeadlineMs))
      .finally(() => this.running.delete(nodeDeadlineMs));
    this.running.set(nodeDeadlineMs, fanOut);
    return fanOut;
  }
}
