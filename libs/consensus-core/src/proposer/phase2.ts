import { assert } from '../assert';
import type { Ballot } from '../ballot';
import { QuorumTracker, type Quorum } from '../quorum';
import type { Command, SlotValue } from '../value';

/** A slot this proposer drives toward a decision. */
export interface SlotProposal {
  readonly slot: bigint;
  value: SlotValue;
  /** This proposer built the value from its queue: its commands go back to it if the slot is lost. */
  own: boolean;
  /**
   * Commands of this proposer's queue that an adopted value (not its own) carries, taken out of
   * the queue when it was adopted: they go back to it if the slot is decided otherwise (a later
   * proposer's phase 1 may not see the adopted value and choose something else there).
   */
  carried: Command[];
  /** Sent at `ballot` and waiting for a quorum of accepted. */
  inFlight: boolean;
  ballot: Ballot | null;
  tracker: QuorumTracker | null;
  /** Acceptors sent the accept at `ballot` (a thrifty round starts with fewer than all). */
  asked: Set<number>;
  refusedBy: Set<number>;
  refusalReason: string;
  ticksWaiting: number;
}

/** The commands of this proposer's clients the slot holds: its own value's, or those its adopted value carries. */
export function ownCommands(p: SlotProposal): readonly Command[] {
  if (!p.own) return p.carried;
  return p.value.kind === 'batch' ? p.value.commands : [];
}

/** The client request ids a slot value carries. */
export function commandIds(value: SlotValue): Set<string> {
  return new Set(value.kind === 'batch' ? value.commands.map((c) => c.clientRequestId) : []);
}

/** Phase 2 bookkeeping: the slots being proposed, at most windowSlots of them in flight. */
export class SlotProposals {
  private readonly bySlot = new Map<bigint, SlotProposal>();
  private inFlightCount = 0;

  get size(): number {
    return this.bySlot.size;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  get(slot: bigint): SlotProposal | undefined {
    return this.bySlot.get(slot);
  }

  has(slot: bigint): boolean {
    return this.bySlot.has(slot);
  }

  /** Plan a value for a slot (not yet sent). Replaces any earlier plan for the slot. */
  plan(slot: bigint, value: SlotValue, own: boolean): SlotProposal {
    this.remove(slot);
    const p: SlotProposal = { slot, value, own, carried: [], inFlight: false, ballot: null, tracker: null, asked: new Set(), refusedBy: new Set(), refusalReason: '', ticksWaiting: 0 };
    this.bySlot.set(slot, p);
    return p;
  }

  remove(slot: bigint): SlotProposal | undefined {
    const p = this.bySlot.get(slot);
    if (p === undefined) return undefined;
    if (p.inFlight) this.inFlightCount--;
    this.bySlot.delete(slot);
    return p;
  }

  markSent(p: SlotProposal, ballot: Ballot, quorum: Quorum): void {
    assert(this.bySlot.get(p.slot) === p, 'markSent on a slot that is not planned');
    if (!p.inFlight) this.inFlightCount++;
    p.inFlight = true;
    p.ballot = ballot;
    p.tracker = new QuorumTracker(quorum);
    p.asked = new Set();
    p.refusedBy = new Set();
    p.ticksWaiting = 0;
  }

  /** A new ballot invalidates every outstanding request: all slots go back to planned. */
  recallAll(): void {
    for (const p of this.bySlot.values()) {
      p.inFlight = false;
      p.ballot = null;
      p.tracker = null;
    }
    this.inFlightCount = 0;
  }

  /** Planned (not in flight) slots below `limit` (null = no limit), in slot order. */
  plannedBelow(limit: bigint | null): SlotProposal[] {
    const out: SlotProposal[] = [];
    for (const p of this.bySlot.values()) if (!p.inFlight && (limit === null || p.slot < limit)) out.push(p);
    return out.sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0));
  }

  /** Any slot (planned or in flight) below `limit`. */
  anyBelow(limit: bigint): boolean {
    for (const s of this.bySlot.keys()) if (s < limit) return true;
    return false;
  }

  inFlightProposals(): SlotProposal[] {
    const out: SlotProposal[] = [];
    for (const p of this.bySlot.values()) if (p.inFlight) out.push(p);
    return out;
  }

  all(): SlotProposal[] {
    return [...this.bySlot.values()];
  }
}
