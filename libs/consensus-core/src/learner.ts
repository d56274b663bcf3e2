import { assert } from './assert';
import type { ChosenEntry } from './proposer/proposer-types';
import { type SlotValue, slotValueBytes, slotValuesEqual } from './value';

const BUFFERED_SLOTS_MAX_DEFAULT = 65_536;
/** Delivered values kept to check late duplicates against: a window, not the history. */
const RECENT_SLOTS_MAX_DEFAULT = 1024;
/**
 * The value bytes that window may hold: by count alone, 1,024 slots of values up to 1 MiB kept up
 * to a GiB reachable (about 270 MB seen in a proposer after a minute of 60 KB values).
 */
const RECENT_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/** Delivers chosen values in slot order from `fromSlot`, with no gaps and no repeats. */
export class Learner {
  private next: bigint;
  private readonly bufferedSlotsMax: number;
  private readonly recentSlotsMax: number;
  private readonly recentBytesMax: number;
  private readonly buffered = new Map<bigint, ChosenEntry>();
  /** Values of recently delivered slots, kept to check agreement on late duplicates (bounded). */
  private readonly delivered = new Map<bigint, SlotValue>();
  /** The value bytes of `delivered`. */
  private deliveredBytes = 0;

  /**
   * `recentSlotsMax` and `recentBytesMax` bound the window of delivered values kept for the
   * agreement check (the oldest leave first; the last delivered always stays).
   */
  constructor(opts: { fromSlot?: bigint; bufferedSlotsMax?: number; recentSlotsMax?: number; recentBytesMax?: number } = {}) {
    this.next = opts.fromSlot ?? 0n;
    this.bufferedSlotsMax = opts.bufferedSlotsMax ?? BUFFERED_SLOTS_MAX_DEFAULT;
    this.recentSlotsMax = opts.recentSlotsMax ?? RECENT_SLOTS_MAX_DEFAULT;
    this.recentBytesMax = opts.recentBytesMax ?? RECENT_BYTES_MAX_DEFAULT;
    assert(Number.isInteger(this.recentSlotsMax) && this.recentSlotsMax >= 1, 'recentSlotsMax must be >= 1');
    assert(Number.isInteger(this.recentBytesMax) && this.recentBytesMax >= 0, 'recentBytesMax must be >= 0');
    assert(this.next >= 0n, 'fromSlot must be >= 0');
    assert(Number.isInteger(this.bufferedSlotsMax) && this.bufferedSlotsMax >= 1, 'bufferedSlotsMax must be >= 1');
  }

  get nextSlot(): bigint {
    return this.next;
  }

  /**
   * Why `entry` contradicts a value this learner holds or delivered recently for its slot, if it
   * does: for values that arrive over the network, checked before learn(), whose agreement
   * assertion is for our own state.
   */
  contradiction(entry: ChosenEntry): string | undefined {
    const known = entry.slot < this.next ? this.delivered.get(entry.slot) : this.buffered.get(entry.slot)?.value;
    return known === undefined || slotValuesEqual(known, entry.value) ? undefined : `slot ${entry.slot} is already known chosen with another value`;
  }

  /**
   * Returns the entries that became deliverable, in order. Entries further ahead than
   * bufferedSlotsMax are ignored (the caller must feed them again later).
   */
  learn(entry: ChosenEntry): ChosenEntry[] {
    assert(entry.slot >= 0n, 'slot must be >= 0');
    // Values are compared byte by byte (no identity strings: a batch can be megabytes).
    if (entry.slot < this.next) {
      const seen = this.delivered.get(entry.slot);
      assert(seen === undefined || slotValuesEqual(seen, entry.value), `agreement: slot ${entry.slot} learned with two different values`);
      return [];
    }
    const held = this.buffered.get(entry.slot);
    if (held !== undefined) {
      assert(slotValuesEqual(held.value, entry.value), `agreement: slot ${entry.slot} learned with two different values`);
      return [];
    }
    if (entry.slot - this.next >= BigInt(this.bufferedSlotsMax)) return [];
    this.buffered.set(entry.slot, entry);
    const out: ChosenEntry[] = [];
    for (let e = this.buffered.get(this.next); e !== undefined; e = this.buffered.get(this.next)) {
      this.buffered.delete(this.next);
      this.remember(e);
      out.push(e);
      this.next += 1n;
    }
    return out;
  }

  private remember(e: ChosenEntry): void {
    this.delivered.set(e.slot, e.value);
    this.deliveredBytes += slotValueBytes(e.value);
    while (this.delivered.size > this.recentSlotsMax || (this.deliveredBytes > this.recentBytesMax && this.delivered.size > 1)) {
      // Delivered in slot order, so the first key is the oldest.
      const [oldest, value] = this.delivered.entries().next().value as [bigint, SlotValue];
      this.delivered.delete(oldest);
      this.deliveredBytes -= slotValueBytes(value);
    }
  }
}
