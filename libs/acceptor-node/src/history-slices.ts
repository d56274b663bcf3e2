// A read of the chosen history (Learn, ReadLog) answers up to 4 MiB: read from the segments, each
// frame's CRC checked and its record decoded, on the event loop that answers votes. Done in one go
// that held the loop for tens of milliseconds a read, and hundreds of reads back to back (a flood,
// or the pacer's burst passing turns in one microtask chain) held it for seconds: Status and votes
// waited behind them. So a read goes in slices of about READ_SLICE_BYTES, and between two slices
// the loop turns (the caller's pause); a read whose caller left stops at the next slice.
import type { ChosenRecord } from '@paxos/consensus-core';
import type { ChosenHistoryStore } from './node-storage';

/** About the bytes of values one slice reads (one record more when it alone is larger), and its most entries. */
export const READ_SLICE_BYTES = 256 * 1024;
export const READ_SLICE_ENTRIES = 256;

/** How a read goes in slices: what it waits for between two, and when it stops. */
export interface ReadSlicing {
  /** Waits between two slices (the app: until the event loop has turned). */
  readonly pause: () => Promise<void>;
  /** True once the caller left (cancelled, disconnected, past its deadline): no more slices are read. */
  readonly gone: () => boolean;
  /** The error a read whose caller left ends with. */
  readonly stopped: () => Error;
  /** Told the bytes of values each slice read (kept or not): what a read that ends early has cost. */
  readonly slice?: (bytes: number) => void;
}

/** About the bytes a record's value takes: its commands' data and names (the history's own measure of a read). */
export function chosenRecordBytes(r: ChosenRecord): number {
  if (r.value.kind !== 'batch') return 32;
  let n = 32;
  for (const c of r.value.commands) n += c.data.length + c.clientRequestId.length + c.contentType.length + 8;
  return n;
}

/**
 * Chosen records from `from` on, in slot order, as ChosenHistoryStore.read answers them (at most
 * maxEntries, about maxBytes of values, at least one if held), read in slices with a pause between
 * two. Throws `stopped()` when the caller left before a slice. Slots the history no longer holds
 * when a slice comes (retention dropped them, a snapshot install restarted it) end the answer there.
 */
export async function readChosenInSlices(history: ChosenHistoryStore, from: bigint, maxEntries: number, maxBytes: number, slicing: ReadSlicing): Promise<ChosenRecord[]> {
  const out: ChosenRecord[] = [];
  let bytes = 0;
  let slot = from;
  // Bounded: every turn takes at least one record or returns.
  for (let first = true; out.length < maxEntries; first = false) {
    if (!first) await slicing.pause();
    if (slicing.gone()) throw slicing.stopped();
    if (slot < history.firstSlot || slot >= history.endSlot) return out;
    const slice = history.read(slot, Math.min(maxEntries - out.length, READ_SLICE_ENTRIES), Math.min(READ_SLICE_BYTES, maxBytes));
    if (slice.length === 0) return out;
    slicing.slice?.(slice.reduce((n, r) => n + chosenRecordBytes(r), 0));
    for (const r of slice) {
      const size = chosenRecordBytes(r);
      if (out.length > 0 && bytes + size > maxBytes) return out;
      out.push(r);
      bytes += size;
    }
    slot = (slice[slice.length - 1] as ChosenRecord).slot + 1n;
    if (slot >= history.endSlot) return out;
  }
  return out;
}
