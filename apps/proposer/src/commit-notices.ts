import { slotValueBytes } from '@paxos/consensus-core';
import type { Commit } from '@paxos/proto';
import { type ChosenSlot, commitsToWire } from '@paxos/wire';
import { chunksOf } from './chunks';

/**
 * How long a commit notice waits for an accept to ride on before it goes out alone. Longer than a
 * round under light load (a lone client's next accept comes ~10 ms later), so notices nearly always
 * ride and an asked acceptor gets one message per slot, not two; an acceptor's committed index
 * lags by at most this much when the load stops.
 */
export const COMMIT_FLUSH_MS = 50;
/** Chosen values held for one acceptor (one a thrifty round did not ask) before they go out without waiting. */
const VALUES_FLUSH_SLOTS = 32;
/** Notices held per acceptor; past it they all go out at once. */
const PENDING_MAX = 1024;
/** Slots and value bytes of one request's notices (the acceptor refuses more than 4096 slots; a single larger value still goes, alone). */
const REQUEST_SLOTS_MAX = 256;
const REQUEST_VALUE_BYTES_MAX = 256 * 1024;

const valueBytes = (c: ChosenSlot): number => (c.value ? slotValueBytes(c.value) : 0);
const bySlot = (a: ChosenSlot, b: ChosenSlot): number => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0);

/**
 * Chosen slots as the commit notices of requests bounded by slots and value bytes, in order; each
 * slot with its value when it has one.
 */
export function commitRequests(chosen: readonly ChosenSlot[]): Commit[][] {
  return chunksOf(chosen, REQUEST_SLOTS_MAX, REQUEST_VALUE_BYTES_MAX, valueBytes).map(commitsToWire);
}

/**
 * Commit notices owed to each acceptor, held briefly so they travel together: the next accept to
 * that acceptor carries those without values (a message per slot spared), and what none picks up
 * goes out alone at the next flush (one timer, COMMIT_FLUSH_MS after the first notice held), in as
 * few requests as the bounds allow. A notice carries the value when the acceptor was not asked to
 * accept it (a thrifty round spared it); such values go out alone, at the flush or once
 * VALUES_FLUSH_SLOTS of them wait, so a spared acceptor costs one message per flush.
 */
export class CommitNotices {
  private readonly pending = new Map<number, { list: ChosenSlot[]; values: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (to: number, commits: Commit[]) => void) {}

  queue(to: number, chosen: ChosenSlot): void {
    const held = this.pending.get(to) ?? { list: [], values: 0 };
    held.list.push(chosen);
    if (chosen.value) held.values += 1;
    this.pending.set(to, held);
    if (held.list.length >= PENDING_MAX || held.values >= VALUES_FLUSH_SLOTS) this.flush(to);
    else this.timer ??= setTimeout(() => this.flushAll(), COMMIT_FLUSH_MS);
  }

  /**
   * Notices held for `to` that ride on an accept: those without values, at most REQUEST_SLOTS_MAX
   * slots (empty when none are held). Values never ride: an accept's own value may already be
   * near the acceptor's message bound, so they go alone when flushed.
   */
  take(to: number): Commit[] {
    const held = this.pending.get(to);
    if (!held || held.values === held.list.length) return [];
    held.list.sort(bySlot);
    const riding: ChosenSlot[] = [];
    const staying: ChosenSlot[] = [];
    for (const c of held.list) (c.value === undefined && riding.length < REQUEST_SLOTS_MAX ? riding : staying).push(c);
    if (staying.length === 0) this.pending.delete(to);
    else this.pending.set(to, { list: staying, values: held.values });
    return commitsToWire(riding);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private flushAll(): void {
    this.timer = undefined;
    for (const to of [...this.pending.keys()]) this.flush(to);
  }

  private flush(to: number): void {
    const held = this.pending.get(to);
    this.pending.delete(to);
    for (const commits of commitRequests((held?.list ?? []).sort(bySlot))) this.send(to, commits);
  }
}
