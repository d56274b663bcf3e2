// What an OUT_OF_RANGE answer for a slot below a node's kept history says, as trailing metadata a
// program reads without parsing the message: where this node's history goes on, and the state
// snapshot that covers the slots below it (ReadService.GetStateSnapshot).
import type { Metadata } from '@grpc/grpc-js';

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
