import type { ChosenEntry } from '@paxos/consensus-core';
import type { ChosenEntry as WireChosenEntry } from '@paxos/proto';
import { WireError, ballotFromWire, slotValueFromWire } from '@paxos/wire';

/**
 * Chosen entries an acceptor served (Learn), checked as network input: each decodes, and they are
 * the consecutive slots from `from`. A WireError otherwise (the caller asks another acceptor).
 */
export function learnedEntries(entries: readonly WireChosenEntry[], from: bigint): ChosenEntry[] {
  return entries.map((c, i) => {
    if (c.slot !== from + BigInt(i)) throw new WireError(`a Learn answer from slot ${from} holds slot ${c.slot} at position ${i}`);
    return { slot: c.slot, ballot: ballotFromWire(c.ballot, `chosen[${i}].ballot`), value: slotValueFromWire(c.value, `chosen[${i}].value`) };
  });
}
