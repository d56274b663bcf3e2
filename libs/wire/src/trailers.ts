// Facts an error's message says in words, sent also as trailing metadata so that a program need not
// parse the message (GrpcError's trailers). Keys and values are ASCII.
import type { Metadata } from '@grpc/grpc-js';

/**
 * On a FAILED_PRECONDITION: why this proposer can choose nothing more in this network, so that no
 * retry helps ("ballot-ceiling": DESIGN section 12, "The ballot ceiling").
 */
export const CANNOT_CHOOSE_TRAILER = 'paxos-cannot-choose';

/** The proposer can choose nothing more: the request itself was not at fault. */
export function cannotChooseOf(metadata: Metadata | undefined): string | undefined {
  const [value] = metadata?.get(CANNOT_CHOOSE_TRAILER) ?? [];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * On an UNAVAILABLE: the proposer turned the value away before sending it to any acceptor
 * ("links-not-connected": fewer than a quorum of its links to the acceptors are connected), so
 * this call chose nothing; a retry with the same client_request_id is safe either way.
 */
export const NOT_SENT_TRAILER = 'paxos-not-sent';

/** Why the proposer sent the value to no acceptor, when it says so. */
export function notSentOf(metadata: Metadata | undefined): string | undefined {
  const [value] = metadata?.get(NOT_SENT_TRAILER) ?? [];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// What an OUT_OF_RANGE answer for a slot below a node's kept history says: where this node's
// history goes on, and the state snapshot that covers the slots below it (GetStateSnapshot).

/** The lowest slot above the one asked that the answering node can serve (decimal). */
export const HISTORY_FIRST_SLOT_TRAILER = 'paxos-history-first-slot';
/** The slot of the state snapshot that covers the slot asked (decimal); absent when the node has no whole snapshot to give. */
export const STATE_SNAPSHOT_SLOT_TRAILER = 'paxos-state-snapshot-slot';

export interface BelowHistory {
  readonly historyFirstSlot: bigint;
  readonly stateSnapshotSlot?: bigint;
}

/** The trailers of an OUT_OF_RANGE answer below `below.historyFirstSlot`. */
export function belowHistoryTrailers(below: BelowHistory): Record<string, string> {
  return {
    [HISTORY_FIRST_SLOT_TRAILER]: below.historyFirstSlot.toString(),
    ...(below.stateSnapshotSlot === undefined ? {} : { [STATE_SNAPSHOT_SLOT_TRAILER]: below.stateSnapshotSlot.toString() }),
  };
}

const slotOf = (metadata: Metadata, key: string): bigint | undefined => {
  const [value] = metadata.get(key);
  return typeof value === 'string' && /^\d{1,20}$/.test(value) ? BigInt(value) : undefined;
};

/** The trailers of an OUT_OF_RANGE answer as a client received them; undefined when it carried none (an older node). */
export function belowHistoryOf(metadata: Metadata | undefined): BelowHistory | undefined {
  if (metadata === undefined) return undefined;
  const historyFirstSlot = slotOf(metadata, HISTORY_FIRST_SLOT_TRAILER);
  if (historyFirstSlot === undefined) return undefined;
  const stateSnapshotSlot = slotOf(metadata, STATE_SNAPSHOT_SLOT_TRAILER);
  return stateSnapshotSlot === undefined ? { historyFirstSlot } : { historyFirstSlot, stateSnapshotSlot };
}
