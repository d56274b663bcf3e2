import { type Ballot, type ChosenEntry, Learner, slotValueBytes } from '@paxos/consensus-core';
import { Subject } from 'rxjs';

export interface ChosenResult {
  readonly clientRequestId: string;
  readonly slot: bigint;
  readonly ballot: Ballot;
  readonly valueDigest: string;
}

export interface ChosenLogOptions {
  /** Chosen slots kept for WatchChosen and catch-up; older ones are dropped. */
  readonly retainedSlotsMax: number;
  /** Memory those slots may hold together (value bytes plus a per-command allowance for its objects); past it the oldest are dropped (at least one slot stays). */
  readonly retainedBytesMax: number;
  /** Client request ids remembered for exactly-once answers; the oldest are forgotten first. */
  readonly rememberedIdsMax: number;
  readonly digest: (data: Uint8Array) => string;
}

/** What a retained entry costs in memory: its value bytes plus the objects around each command. */
const COMMAND_OBJECT_BYTES = 256;
function retainedCost(e: ChosenEntry): number {
  return slotValueBytes(e.value) + (e.value.kind === 'batch' ? e.value.commands.length * COMMAND_OBJECT_BYTES : 0);
}

/**
 * The proposer's view of the chosen log: delivered in slot order from slot 0 without gaps or
 * repeats (the core's Learner), each client request id answered once (the lowest slot that holds
 * it wins), a bounded history for WatchChosen and for bringing lagging acceptors up to date.
 */
export class ChosenLog {
  private readonly learner = new Learner();
  private readonly retained = new Map<bigint, ChosenEntry>();
  private oldestRetained = 0n;
  private retainedBytes = 0;
  private readonly results = new Map<string, ChosenResult>();
  /** Every delivered entry, in slot order. */
  readonly delivered$ = new Subject<ChosenEntry>();

  constructor(private readonly opts: ChosenLogOptions) {}

  /** Slots below this one are delivered. */
  get nextSlot(): bigint {
    return this.learner.nextSlot;
  }

  get oldestSlot(): bigint {
    return this.oldestRetained;
  }

  result(clientRequestId: string): ChosenResult | undefined {
    return this.results.get(clientRequestId);
  }

  entry(slot: bigint): ChosenEntry | undefined {
    return this.retained.get(slot);
  }

  /** Learns newly chosen entries (any order); returns the results of client ids answered for the first time. */
  learn(entries: readonly ChosenEntry[]): ChosenResult[] {
    const fresh: ChosenResult[] = [];
    for (const e of entries) {
      for (const d of this.learner.learn(e)) {
        this.retain(d);
        if (d.value.kind === 'batch') {
          for (const c of d.value.commands) {
            if (this.results.has(c.clientRequestId)) continue;
            const r = { clientRequestId: c.clientRequestId, slot: d.slot, ballot: d.ballot, valueDigest: this.opts.digest(c.data) };
            this.remember(r);
            fresh.push(r);
          }
        }
        this.delivered$.next(d);
      }
    }
    return fresh;
  }

  private retain(e: ChosenEntry): void {
    this.retained.set(e.slot, e);
    this.retainedBytes += retainedCost(e);
    while (this.retained.size > this.opts.retainedSlotsMax || (this.retainedBytes > this.opts.retainedBytesMax && this.retained.size > 1)) {
      const oldest = this.retained.get(this.oldestRetained);
      if (oldest) this.retainedBytes -= retainedCost(oldest);
      this.retained.delete(this.oldestRetained);
      this.oldestRetained += 1n;
    }
  }

  private remember(r: ChosenResult): void {
    this.results.set(r.clientRequestId, r);
    if (this.results.size > this.opts.rememberedIdsMax) {
      const oldest = this.results.keys().next().value as string;
      this.results.delete(oldest);
    }
  }
}
