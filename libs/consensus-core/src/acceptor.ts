import { assert } from './assert';
import { ballotEquals, ballotGreater, compareBallots, maxBallot, ZERO_BALLOT, type Ballot } from './ballot';
import { DEFAULT_LIMITS, type Limits } from './limits';
import { requestProblem } from './acceptor-validation';
import type { RejoinReport } from './rejoin';
import type {
  AcceptedEntry,
  AcceptorReply,
  AcceptorRequest,
  AcceptorSnapshot,
  AcceptorStep,
  ChosenRecord,
  DurableChange,
} from './acceptor-types';
import { slotValueBytes, slotValuesEqual, type SlotValue } from './value';

export interface AcceptorOptions {
  limits?: Limits;
  /** The acceptor's own check of a value (e.g. its LMFDB claim check): a string is the refusal reason. */
  validate?: (value: SlotValue) => string | undefined;
  restored?: AcceptorSnapshot;
  /** An acceptor that lost its data and rejoined (see RejoinFloor); absent for every other acceptor. */
  rejoin?: RejoinFloor;
}

/**
 * What a rejoining acceptor (one whose durable state was lost) must not undercut, read from a
 * quorum of the other acceptors while no proposer ran (DESIGN, "An acceptor that lost its data").
 * It promises nothing and votes for nothing until its committed index reaches `catchUpTo`: every
 * slot where a vote it forgot could still count lies below it, and it learns the chosen values
 * there instead. Its promise starts at `promised`, the highest promise of those acceptors, so an
 * accept left over from a proposer that ran before is never taken.
 */
export interface RejoinFloor {
  readonly promised: Ballot;
  readonly catchUpTo: bigint;
}

/**
 * The Paxos acceptor as a pure state machine: one promised ballot for the whole log, per slot an
 * accepted (ballot, value), and the chosen slots it has heard of. It never does I/O.
 */
export class AcceptorCore {
  private promisedBallot: Ballot = ZERO_BALLOT;
  private readonly acceptedBySlot = new Map<bigint, AcceptedEntry>();
  private readonly chosenBySlot = new Map<bigint, ChosenRecord>();
  private committed = 0n;
  /** Chosen values of slots below this were folded away (see foldChosenBelow). */
  private keptFrom = 0n;
  private highestAcceptedSlot = -1n;
  /** Value bytes of the chosen records held at or above the committed index (notices after a gap). */
  private chosenAheadBytes = 0;
  private readonly limits: Limits;
  private readonly validate: ((value: SlotValue) => string | undefined) | undefined;
  private readonly catchUpTo: bigint | undefined;

  constructor(opts: AcceptorOptions = {}) {
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.validate = opts.validate;
    this.catchUpTo = opts.rejoin?.catchUpTo;
    if (opts.rejoin !== undefined) this.promisedBallot = opts.rejoin.promised;
    const r = opts.restored;
    if (r !== undefined) {
      this.promisedBallot = maxBallot(this.promisedBallot, r.promised);
      for (const e of r.accepted) this.storeAccepted(e);
      for (const c of r.chosen) this.chosenBySlot.set(c.slot, c);
      this.committed = r.committedIndex;
      let lowest: bigint | undefined;
      for (const c of r.chosen) if (lowest === undefined || c.slot < lowest) lowest = c.slot;
      this.keptFrom = lowest !== undefined && lowest < this.committed ? lowest : this.committed;
      this.advanceCommitted();
      this.recountChosenAhead();
    }
  }

  /** The lowest slot whose chosen value this acceptor may still hold; values below it were folded. */
  get oldestKeptSlot(): bigint {
    return this.keptFrom;
  }

  get promised(): Ballot {
    return this.promisedBallot;
  }

  get committedIndex(): bigint {
    return this.committed;
  }

  /** While true this acceptor neither promises nor votes (a rejoin whose committed index is below its floor). */
  get rejoining(): boolean {
    return this.catchUpTo !== undefined && this.committed < this.catchUpTo;
  }

  /** The committed index a rejoined acceptor must reach before it votes (undefined: not a rejoin). */
  get rejoinCatchUpTo(): bigint | undefined {
    return this.catchUpTo;
  }

  handle(req: AcceptorRequest): AcceptorStep {
    const problem = requestProblem(req, this.limits);
    if (problem !== undefined) return { reply: { type: 'invalid', reason: problem }, persist: null };
    switch (req.type) {
      case 'prepare':
        return this.onPrepare(req.ballot, req.fromSlot);
      case 'accept':
        return this.onAccept(req.ballot, req.slot, req.value);
      case 'commit':
        return this.onCommit(req.slot, req.ballot, req.value);
    }
  }

  private onPrepare(ballot: Ballot, fromSlot: bigint): AcceptorStep {
    // A rejoining acceptor's reject names its own (lower) promise: a proposer takes it as no
    // promise, not as a rival's ballot to move above.
    if (!ballotGreater(ballot, this.promisedBallot) || this.rejoining) return this.reject();
    this.promisedBallot = ballot;
    const { entries, truncated } = this.entriesFrom(fromSlot);
    const reply: AcceptorReply = { type: 'promise', ballot, accepted: entries, truncated, committedIndex: this.committed };
    return { reply, persist: { promised: ballot } };
  }

  private onAccept(ballot: Ballot, slot: bigint, value: SlotValue): AcceptorStep {
    if (compareBallots(ballot, this.promisedBallot) < 0) return this.reject();
    if (this.rejoining) {
      return {
        reply: { type: 'refused', reason: `this acceptor lost its data and rejoined: it votes again once it has learned the chosen log up to slot ${this.catchUpTo} (it holds ${this.committed})`, refusal: 'rejoining' },
        persist: null,
      };
    }
    if (slot >= this.committed + this.limits.slotsAheadMax) {
      return {
        reply: { type: 'refused', reason: `slot ${slot} is more than ${this.limits.slotsAheadMax} slots above this acceptor's committed index ${this.committed}`, refusal: 'slot-window' },
        persist: null,
      };
    }
    const previous = this.acceptedBySlot.get(slot);
    if (previous !== undefined && ballotEquals(previous.ballot, ballot) && !slotValuesEqual(previous.value, value)) {
      // One ballot proposes one value per slot: a second value under the same ballot is not from an honest proposer.
      return { reply: { type: 'invalid', reason: `slot ${slot} already holds another value accepted under ballot ${ballot.round}.${ballot.proposerId}` }, persist: null };
    }
    if (this.validate !== undefined) {
      const reason = this.validate(value);
      if (reason !== undefined) return { reply: { type: 'refused', reason, refusal: 'value-check' }, persist: null };
    }
    const raised = ballotGreater(ballot, this.promisedBallot);
    this.promisedBallot = ballot;
    const entry: AcceptedEntry =
      previous !== undefined && ballotEquals(previous.ballot, ballot) && slotValuesEqual(previous.value, value)
        ? previous
        : { slot, ballot, value };
    this.storeAccepted(entry);
    // A duplicate accept persists the same entry again, so its reply cannot overtake the first
    // write's fsync even in a caller that only orders replies behind their own persist.
    const persist: DurableChange = raised ? { promised: ballot, accepted: entry } : { accepted: entry };
    return { reply: { type: 'accepted', ballot, slot }, persist };
  }

  private onCommit(slot: bigint, ballot: Ballot, value: SlotValue | undefined): AcceptorStep {
    const known = this.chosenBySlot.get(slot);
    const accepted = this.acceptedBySlot.get(slot);
    if (accepted !== undefined && value !== undefined && ballotGreater(accepted.ballot, ballot) && !slotValuesEqual(accepted.value, value)) {
      // A value chosen under a ballot is the value of every proposal accepted under a higher one.
      return { reply: { type: 'invalid', reason: `a commit of slot ${slot} under ballot ${ballot.round}.${ballot.proposerId} contradicts the value accepted there under a higher ballot` }, persist: null };
    }
    let chosenValue: SlotValue | undefined;
    if (accepted !== undefined && ballotEquals(accepted.ballot, ballot)) chosenValue = accepted.value;
    else if (value !== undefined) chosenValue = value;
    if (chosenValue === undefined || (slot < this.committed && known === undefined)) {
      return { reply: { type: 'committed', committedIndex: this.committed }, persist: null };
    }
    // A value taught only by a notice for a slot far ahead, or past the bytes held ahead of the
    // committed index, is not kept: memory stays bounded whatever notices arrive.
    const fromNotice = chosenValue === value;
    const size = slotValueBytes(chosenValue);
    if (known === undefined && slot > this.committed && (slot >= this.committed + this.limits.slotsAheadMax || (fromNotice && this.chosenAheadBytes + size > this.limits.chosenAheadBytesMax))) {
      return { reply: { type: 'committed', committedIndex: this.committed }, persist: null };
    }
    if (known !== undefined) {
      if (!slotValuesEqual(known.value, chosenValue)) {
        return { reply: { type: 'invalid', reason: `slot ${slot} is already chosen with another value` }, persist: null };
      }
      return { reply: { type: 'committed', committedIndex: this.committed }, persist: null };
    }
    const record: ChosenRecord = { slot, ballot, value: chosenValue };
    this.chosenBySlot.set(slot, record);
    if (slot >= this.committed) this.chosenAheadBytes += size;
    this.advanceCommitted();
    return { reply: { type: 'committed', committedIndex: this.committed }, persist: { chosen: record } };
  }

  private reject(): AcceptorStep {
    return { reply: { type: 'reject', promised: this.promisedBallot }, persist: null };
  }

  /**
   * Accepted entries of slots >= fromSlot in slot order (a chosen slot reports its chosen value).
   * Slots below the committed index are left out: they are decided, the promise's committedIndex
   * says so, and a proposer learns their values elsewhere (a restarted proposer's promises would
   * otherwise carry every kept chosen value).
   */
  private entriesFrom(requestedFrom: bigint): { entries: AcceptedEntry[]; truncated: boolean } {
    const fromSlot = requestedFrom > this.committed ? requestedFrom : this.committed;
    const slots: bigint[] = [];
    for (const s of this.acceptedBySlot.keys()) if (s >= fromSlot) slots.push(s);
    for (const s of this.chosenBySlot.keys()) if (s >= fromSlot && !this.acceptedBySlot.has(s)) slots.push(s);
    slots.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const max = this.limits.entriesPerPromiseMax;
    const entries: AcceptedEntry[] = [];
    let bytes = 0;
    for (let i = 0; i < slots.length && i < max; i++) {
      const e = this.reportedEntry(slots[i]);
      bytes += slotValueBytes(e.value);
      if (entries.length > 0 && bytes > this.limits.promiseBytesMax) break;
      entries.push(e);
    }
    return { entries, truncated: entries.length < slots.length };
  }

  private reportedEntry(slot: bigint): AcceptedEntry {
    const accepted = this.acceptedBySlot.get(slot);
    const chosen = this.chosenBySlot.get(slot);
    if (accepted === undefined) {
      assert(chosen !== undefined, 'a reported slot is accepted or chosen');
      return chosen;
    }
    if (chosen !== undefined && ballotGreater(chosen.ballot, accepted.ballot)) return chosen;
    return accepted;
  }

  private storeAccepted(entry: AcceptedEntry): void {
    const previous = this.acceptedBySlot.get(entry.slot);
    if (previous !== undefined && ballotGreater(previous.ballot, entry.ballot)) return;
    this.acceptedBySlot.set(entry.slot, entry);
    if (entry.slot > this.highestAcceptedSlot) this.highestAcceptedSlot = entry.slot;
  }

  private advanceCommitted(): void {
    for (let guard = 0; ; guard++) {
      const c = this.chosenBySlot.get(this.committed);
      if (c === undefined) break;
      assert(guard <= this.chosenBySlot.size, 'committed index loop is bounded by the chosen slots');
      this.chosenAheadBytes -= slotValueBytes(c.value);
      this.committed += 1n;
    }
  }

  private recountChosenAhead(): void {
    this.chosenAheadBytes = 0;
    for (const c of this.chosenBySlot.values()) if (c.slot >= this.committed) this.chosenAheadBytes += slotValueBytes(c.value);
  }

  /** Replay one durable change (storage recovery). Idempotent. */
  apply(change: DurableChange): void {
    if (change.promised !== undefined) this.promisedBallot = maxBallot(this.promisedBallot, change.promised);
    if (change.accepted !== undefined) {
      this.promisedBallot = maxBallot(this.promisedBallot, change.accepted.ballot);
      this.storeAccepted(change.accepted);
    }
    if (change.chosen !== undefined) {
      const c = change.chosen;
      if (!this.chosenBySlot.has(c.slot) && c.slot >= this.committed) {
        this.chosenBySlot.set(c.slot, c);
        this.chosenAheadBytes += slotValueBytes(c.value);
      }
      this.advanceCommitted();
    }
  }

  /** Chosen slots from fromSlot on, in slot order, stopping at the first slot not known chosen. */
  chosenFrom(fromSlot: bigint, max: number): ChosenRecord[] {
    assert(max >= 0, 'chosenFrom: max must be >= 0');
    const out: ChosenRecord[] = [];
    for (let slot = fromSlot; out.length < max; slot++) {
      const c = this.chosenBySlot.get(slot);
      if (c === undefined) break;
      out.push(c);
    }
    return out;
  }

  snapshot(): AcceptorSnapshot {
    const bySlot = (a: { slot: bigint }, b: { slot: bigint }) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0);
    return {
      promised: this.promisedBallot,
      accepted: [...this.acceptedBySlot.values()].sort(bySlot),
      chosen: [...this.chosenBySlot.values()].sort(bySlot),
      committedIndex: this.committed,
    };
  }

  /**
   * Every slot below `slot` is chosen and its value is held elsewhere (the node's durable chosen
   * history, on restart). The committed index moves to `slot` (and on through chosen slots held
   * above it); what is held below is folded, as foldChosenBelow folds old chosen values. Returns
   * false (no change) when the index is already that far. Only our own storage may say this: no
   * message may move an acceptor past slots whose values it cannot serve.
   */
  learnChosenBelow(slot: bigint): boolean {
    if (slot <= this.committed) return false;
    this.committed = slot;
    this.foldChosenBelow(slot);
    this.recountChosenAhead();
    this.advanceCommitted();
    this.foldAcceptedBelowCommitted();
    return true;
  }

  /** Drop entries of chosen slots below `slot` (and below the committed index; the highest accepted entry stays for Status); committedIndex stays. */
  foldChosenBelow(slot: bigint): void {
    const limit = slot < this.committed ? slot : this.committed;
    if (limit > this.keptFrom) this.keptFrom = limit;
    for (const s of [...this.acceptedBySlot.keys()]) if (s < limit && s !== this.highestAcceptedSlot) this.acceptedBySlot.delete(s);
    for (const s of [...this.chosenBySlot.keys()]) if (s < limit) this.chosenBySlot.delete(s);
  }

  /**
   * Drops accepted entries below the committed index (their chosen records hold the same value,
   * and promises never need them: a proposer treats slots below a reported committed index as
   * decided). The highest accepted entry stays for Status. Keeps memory and snapshots to one copy.
   */
  foldAcceptedBelowCommitted(): void {
    for (const s of [...this.acceptedBySlot.keys()]) if (s < this.committed && s !== this.highestAcceptedSlot) this.acceptedBySlot.delete(s);
  }

  /** The accepted entry of the highest slot, if any. */
  lastAccepted(): AcceptedEntry | undefined {
    if (this.highestAcceptedSlot < 0n) return undefined;
    const e = this.acceptedBySlot.get(this.highestAcceptedSlot);
    if (e !== undefined) return e;
    let best: AcceptedEntry | undefined;
    for (const x of this.acceptedBySlot.values()) if (best === undefined || x.slot > best.slot) best = x;
    return best;
  }

  /** What this acceptor reports toward another acceptor's rejoin floor (rejoinFloorFrom); its Status says the same over the wire. */
  rejoinReport(): RejoinReport {
    const last = this.lastAccepted();
    return { promised: this.promisedBallot, committedIndex: this.committed, rejoining: this.rejoining, ...(last !== undefined ? { lastAcceptedSlot: last.slot } : {}) };
  }

  /** The accepted entry of one slot (tests, status pages). */
  acceptedAt(slot: bigint): AcceptedEntry | undefined {
    return this.acceptedBySlot.get(slot);
  }

  /** The chosen record of one slot, if this acceptor has heard of it. */
  chosenAt(slot: bigint): ChosenRecord | undefined {
    return this.chosenBySlot.get(slot);
  }
}
