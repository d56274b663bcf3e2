import type { AcceptedEntry } from '../acceptor-types';
import { assert } from '../assert';
import { ballotEquals, ballotGreater, type Ballot } from '../ballot';
import { QuorumTracker, type Quorum } from '../quorum';
import type { SlotValue } from '../value';
import type { ProposerEvent } from './proposer-types';

type PromiseEvent = Extract<ProposerEvent, { type: 'promise' }>;

/** What a quorum of promises says: the values the proposer must re-propose, and how far it may go. */
export interface Phase1Outcome {
  /** Slots below this are chosen (some acceptor's committed prefix): never propose there. */
  readonly decidedBelow: bigint;
  /** Slot -> value with the highest accepted ballot among the promises (only slots < knownBelow). */
  readonly adopted: ReadonlyMap<bigint, SlotValue>;
  /** Highest slot with an adopted value, or -1. */
  readonly highestReportedSlot: bigint;
  /** The proposer knows the promises fully only below this slot (null: no promise was truncated). */
  readonly knownBelow: bigint | null;
}

/** One Phase 1 attempt: Prepare(ballot, fromSlot) to all, collecting promises toward a quorum. */
export class Phase1Round {
  readonly ballot: Ballot;
  readonly fromSlot: bigint;
  readonly tracker: QuorumTracker;
  ticksWaiting = 0;
  private readonly highest = new Map<bigint, AcceptedEntry>();
  private truncatedAt: bigint | null = null;
  private committedIndexMax = 0n;

  constructor(ballot: Ballot, fromSlot: bigint, quorum: Quorum) {
    assert(fromSlot >= 0n, 'fromSlot must be >= 0');
    this.ballot = ballot;
    this.fromSlot = fromSlot;
    this.tracker = new QuorumTracker(quorum);
  }

  /** Record one promise for this round's ballot; duplicates from the same acceptor are ignored. */
  record(ev: PromiseEvent): void {
    assert(ballotEquals(ev.ballot, this.ballot), 'a promise is recorded only for its own round');
    if (this.tracker.hasYes(ev.from)) return;
    this.tracker.recordYes(ev.from);
    if (ev.committedIndex > this.committedIndexMax) this.committedIndexMax = ev.committedIndex;
    let lastSlot = this.fromSlot - 1n;
    for (const e of ev.accepted) {
      if (e.slot < this.fromSlot) continue;
      if (e.slot > lastSlot) lastSlot = e.slot;
      const held = this.highest.get(e.slot);
      if (held === undefined || ballotGreater(e.ballot, held.ballot)) this.highest.set(e.slot, e);
    }
    if (ev.truncated) {
      const cut = lastSlot + 1n;
      if (this.truncatedAt === null || cut < this.truncatedAt) this.truncatedAt = cut;
    }
  }

  outcome(): Phase1Outcome {
    assert(this.tracker.reached, 'phase 1 outcome needs a quorum of promises');
    const adopted = new Map<bigint, SlotValue>();
    let highestReportedSlot = -1n;
    for (const [slot, e] of this.highest) {
      if (this.truncatedAt !== null && slot >= this.truncatedAt) continue;
      if (slot < this.committedIndexMax) continue;
      adopted.set(slot, e.value);
      if (slot > highestReportedSlot) highestReportedSlot = slot;
    }
    return {
      decidedBelow: this.committedIndexMax,
      adopted,
      highestReportedSlot,
      knownBelow: this.truncatedAt,
    };
  }
}
