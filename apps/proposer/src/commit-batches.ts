import { type ChosenEntry, slotValueBytes } from '@paxos/consensus-core';
import type { CommitBatch } from '@paxos/proto';
import { ballotToWire, slotValueToWire } from '@paxos/wire';
import { chunksOf } from './chunks';

/** Value bytes one CommitBatch carries at most (a single larger value still goes, alone). */
const COMMIT_BATCH_BYTES_MAX = 256 * 1024;
/** Commit notices one CommitBatch carries at most (the acceptor refuses more than 4096). */
const COMMIT_BATCH_SLOTS_MAX = 256;

/**
 * Splits chosen values into CommitBatch messages bounded by slots and value bytes, in order;
 * without the values (notices only) when `withValues` is false.
 */
export function commitBatches(values: readonly ChosenEntry[], withValues = true): CommitBatch[] {
  return chunksOf(values, COMMIT_BATCH_SLOTS_MAX, COMMIT_BATCH_BYTES_MAX, (v) => (withValues ? slotValueBytes(v.value) : 0)).map((chunk) => ({
    commits: chunk.map((v) => ({ slot: v.slot, ballot: ballotToWire(v.ballot), ...(withValues ? { value: slotValueToWire(v.value) } : {}) })),
  }));
}

/** How long a spared acceptor's values wait for company before they go out, and how many go at once. */
const SPARED_FLUSH_MS = 50;
const SPARED_FLUSH_SLOTS = 32;
/** Values held per acceptor; past it the oldest are dropped (catch-up brings them later). */
const SPARED_PENDING_MAX = 1024;

/**
 * Chosen values owed to acceptors that a thrifty accept round did not ask: held briefly and sent
 * together as CommitBatch messages, so a spared acceptor costs one message per flush instead of
 * one per slot.
 */
export class SparedValues {
  private readonly pending = new Map<number, ChosenEntry[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (to: number, batch: CommitBatch) => void) {}

  queue(to: number, value: ChosenEntry): void {
    const list = this.pending.get(to) ?? [];
    list.push(value);
    if (list.length > SPARED_PENDING_MAX) list.shift();
    this.pending.set(to, list);
    if (list.length >= SPARED_FLUSH_SLOTS) this.flush(to);
    else this.timer ??= setTimeout(() => this.flushAll(), SPARED_FLUSH_MS);
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
    const list = this.pending.get(to);
    this.pending.delete(to);
    for (const batch of commitBatches(list ?? [])) this.send(to, batch);
  }
}
