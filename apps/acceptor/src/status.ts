import type { AcceptorStorage } from './storage';
import type { SourceStatus, StatusResponse } from '@paxos/proto';
import { ballotToWire, slotValueDigest } from '@paxos/wire';
import type { AcceptorNode } from '@paxos/acceptor-node';
import type { SlotValue } from '@paxos/consensus-core';

export interface StatusContext {
  readonly node: AcceptorNode<AcceptorStorage>;
  /** Slots below this are applied to the node's state machine. */
  readonly appliedSlot: () => bigint;
  /** Why the state machine stopped or has none, if it did. */
  readonly stateError?: () => string | undefined;
  /** The slot of the state snapshot this node gives (undefined while it has none). */
  readonly stateSnapshotSlot?: () => bigint | undefined;
  /** When the process started, on performance.now()'s clock (uptime is not moved by a step of the wall clock). */
  readonly startedAtMs: number;
  readonly version: string;
  readonly dataSource: () => SourceStatus;
}

/**
 * The digest of each last accepted value, computed once: every Status (each linearizable read's
 * confirmation round asks a quorum for one) named it by hashing the whole value again, up to the
 * largest batch an acceptor takes.
 */
const digests = new WeakMap<SlotValue, string>();

function digestOf(value: SlotValue): string {
  let d = digests.get(value);
  if (d === undefined) digests.set(value, (d = slotValueDigest(value)));
  return d;
}

/**
 * Why the node's storage does not let it vote, if it does not: while storage is unhealthy its
 * latest error (a full disk may turn into a permission error; a quiet node's history write on its
 * idle timer fails before any request sees it); once it healed, the node's, until the checkpoint
 * that lets it vote again is written. Status and the metrics both say this.
 */
export function storageFailure(node: Pick<AcceptorNode<AcceptorStorage>, 'storage' | 'failure'>): string | undefined {
  return (node.storage.healthy ? undefined : (node.storage.lastError ?? 'unhealthy')) ?? node.failure;
}

export function buildStatus(ctx: StatusContext): StatusResponse {
  const { node } = ctx;
  const last = node.core.lastAccepted();
  const stats = node.storage.stats();
  const history = node.storage.history.stats();
  const failure = storageFailure(node);
  return {
    nodeId: node.nodeId,
    promised: ballotToWire(node.core.promised),
    ...(last ? { lastAccepted: { slot: last.slot, ballot: ballotToWire(last.ballot), valueDigest: digestOf(last.value) } } : {}),
    committedIndex: node.core.committedIndex,
    clusterSize: node.quorum.n,
    quorumSize: node.quorum.q,
    crashTolerance: node.quorum.crashTolerance,
    byzantineTolerance: node.quorum.byzantineTolerance,
    dataSource: ctx.dataSource(),
    uptimeMs: BigInt(Math.max(0, Math.round(performance.now() - ctx.startedAtMs))),
    version: ctx.version,
    counters: { ...node.counters },
    storage: {
      healthy: failure === undefined,
      error: failure ?? '',
      dataDir: stats.dataDir,
      logBytes: BigInt(stats.logBytes),
      snapshotSlot: stats.snapshotSlot,
      fsyncs: BigInt(stats.fsyncs),
      historyFirstSlot: history.firstSlot,
      historyBytes: BigInt(history.bytes),
    },
    appliedSlot: ctx.appliedSlot(),
    stateError: ctx.stateError?.() ?? '',
    rejoining: node.core.rejoining,
    rejoinCatchUpTo: node.core.rejoinCatchUpTo ?? 0n,
    stateSnapshotSlot: ctx.stateSnapshotSlot?.() ?? 0n,
  };
}
