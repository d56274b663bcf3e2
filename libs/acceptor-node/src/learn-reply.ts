import type { ChosenRecord } from '@paxos/consensus-core';
import type { LearnRequest, LearnResponse } from '@paxos/proto';
import { ballotToWire, slotValueToWire } from '@paxos/wire';
import type { AcceptorNode } from './acceptor-node';
import { readChosenInSlices, type ReadSlicing } from './history-slices';

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
  const oldestKeptSlot = history.firstSlot;
  const chosen = request.fromSlot < oldestKeptSlot ? [] : history.read(request.fromSlot, learnEntries(request), LEARN_BYTES_MAX);
  return learnAnswer(node, chosen, oldestKeptSlot, snapshotSlot);
}

/**
 * learnReply with the history read in slices (readChosenInSlices): the acceptor's event loop turns
 * between two, and the read stops once its caller left (throws slicing.stopped()). `maxBytes`
 * (at most LEARN_BYTES_MAX) bounds the answer's values, which are encoded in one go.
 */
export async function learnReplyInSlices(node: AcceptorNode, request: LearnRequest, snapshotSlot: bigint | undefined, slicing: ReadSlicing, maxBytes = LEARN_BYTES_MAX): Promise<LearnResponse> {
  const history = node.storage.history;
  // The range and the snapshot as they were when the read began: the entries were kept then.
  const oldestKeptSlot = history.firstSlot;
  const chosen = request.fromSlot < oldestKeptSlot ? [] : await readChosenInSlices(history, request.fromSlot, learnEntries(request), Math.min(maxBytes, LEARN_BYTES_MAX), slicing);
  return learnAnswer(node, chosen, oldestKeptSlot, snapshotSlot);
}

function learnEntries(request: LearnRequest): number {
  return Math.min(request.maxEntries || LEARN_ENTRIES_MAX, LEARN_ENTRIES_MAX);
}

function learnAnswer(node: AcceptorNode, chosen: readonly ChosenRecord[], oldestKeptSlot: bigint, snapshotSlot: bigint | undefined): LearnResponse {
  return {
    chosen: chosen.map((c) => ({ slot: c.slot, ballot: ballotToWire(c.ballot), value: slotValueToWire(c.value) })),
    committedIndex: node.core.committedIndex,
    oldestKeptSlot,
    snapshotSlot: snapshotSlot ?? 0n,
  };
}
