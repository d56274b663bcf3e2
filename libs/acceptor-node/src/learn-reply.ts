import type { LearnRequest, LearnResponse } from '@paxos/proto';
import { ballotToWire, slotValueToWire } from '@paxos/wire';
import type { AcceptorNode } from './acceptor-node';

/** Most chosen entries, and about how many bytes of them, one Learn answer carries (at least one). */
export const LEARN_ENTRIES_MAX = 1024;
export const LEARN_BYTES_MAX = 4 * 1024 * 1024;

/**
 * The answer to Learn: chosen entries from the history, the committed index, the retained range and
 * the state snapshot that covers the slots below it. Below the retained history: no entries; the
 * answer names the range and the snapshot. Throws when the history cannot be read.
 */
export function learnReply(node: AcceptorNode, request: LearnRequest, snapshotSlot: bigint | undefined): LearnResponse {
  const history = node.storage.history;
  const from = request.fromSlot;
  const max = Math.min(request.maxEntries || LEARN_ENTRIES_MAX, LEARN_ENTRIES_MAX);
  const chosen = from < history.firstSlot ? [] : history.read(from, max, LEARN_BYTES_MAX);
  return {
    chosen: chosen.map((c) => ({ slot: c.slot, ballot: ballotToWire(c.ballot), value: slotValueToWire(c.value) })),
    committedIndex: node.core.committedIndex,
    oldestKeptSlot: history.firstSlot,
    snapshotSlot: snapshotSlot ?? 0n,
  };
}
