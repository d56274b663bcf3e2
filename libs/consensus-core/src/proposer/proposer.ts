import { assert } from '../assert';
import { ballotEquals, ballotGreater, ballotProblem, maxBallot, nextBallotAbove, ZERO_BALLOT, type Ballot } from '../ballot';
import { batchOf, commandBytes, NOOP, slotValuesEqual, type Command, type SlotValue } from '../value';
import { valueProblem } from '../acceptor-validation';
import { ChosenSlots } from './chosen-slots';
import { CommandQueue } from './command-queue';
import { OutputBuilder } from './output-builder';
import { Phase1Round } from './phase1';
import { commandIds, ownCommands, SlotProposals, type SlotProposal } from './phase2';
import { resolveProposerConfig, type ResolvedProposerConfig } from './proposer-config';
import type { BallotCeiling, ChosenEntry, ProposerConfig, ProposerEvent, ProposerOutput, RoundEnd } from './proposer-types';
import type { QuorumTracker } from '../quorum';

/** Bound on the slots one Phase 1 round may plan (holes included). */
const PLANNED_SLOTS_PER_ROUND_MAX = 4096;
/** A thrifty accept goes to the same acceptors for this many consecutive slots, then the set moves on. */
const FANOUT_EPOCH_SLOTS = 64n;

/** blocked: no ballot of this proposer can be promised by a quorum any more (the round ceiling; see `ceiling`). */
type Mode = 'idle' | 'preparing' | 'leading' | 'backoff' | 'blocked';

/**
 * Multi-Paxos proposer as a pure state machine (DESIGN section 4). Every call returns what the
 * caller must send; time arrives through tick(), randomness through config.random.
 */
export class ProposerCore {
  private readonly cfg: ResolvedProposerConfig;
  private currentBallot: Ballot = ZERO_BALLOT;
  private highestSeen: Ballot = ZERO_BALLOT;
  private mode: Mode = 'idle';
  private backoffTicksLeft = 0;
  /** A read asked this leader to finish a phase 1 that was cut off (lead()), work or not. */
  private completeAsked = false;
  private phase1: Phase1Round | null = null;
  /** While leading after a truncated promise: only slots below this are known. */
  private slotLimit: bigint | null = null;
  private freeSlot = 0n;
  private readonly queue = new CommandQueue();
  private readonly proposals = new SlotProposals();
  private readonly chosenSlots = new ChosenSlots();
  /** Acceptors whose last answer was a failure: a thrifty accept asks them last. */
  private readonly suspected = new Set<number>();
  /**
   * Acceptors that answered with a promise no ballot of this proposer can pass (at the round
   * ceiling, or above it), and that promise. Not taken as a rival's ballot to move above: such an
   * acceptor counts as a no in every round, and once they are more than n - q this proposer is
   * blocked (see `ceiling`).
   */
  private readonly unpassable = new Map<number, Ballot>();
  /** Why this proposer stopped for good (mode 'blocked'). */
  private blockedBy: BallotCeiling | undefined;

  constructor(config: ProposerConfig) {
    this.cfg = resolveProposerConfig(config);
  }

  get ballot(): Ballot {
    return this.currentBallot;
  }
  get isLeader(): boolean {
    return this.mode === 'leading';
  }
  /**
   * Leading, and phase 1 at this ballot left nothing cut off (no truncated promise): every value
   * chosen under an earlier ballot is in a slot below nextSlot. What a linearizable read needs.
   */
  /**
   * Set once this proposer can choose nothing more: acceptors beyond n - q promised ballots it has
   * no ballot above, or it used the highest ballot it may and needs another. Nothing brings it
   * back (promises are durable and never go down): it sends no prepare or accept again, and its
   * queued commands stay unchosen. Undefined while it can still choose.
   */
  get ceiling(): BallotCeiling | undefined {
    return this.blockedBy;
  }
  get leadsCompletely(): boolean {
    return this.mode === 'leading' && this.slotLimit === null;
  }
  get nextSlot(): bigint {
    return this.freeSlot;
  }
  get inFlightSlots(): number {
    return this.proposals.inFlight;
  }
  /** True unless a phase 1 or a back-off is under way (either needs ticks to finish, work or not); a blocked proposer needs none. */
  get quiescent(): boolean {
    return this.mode === 'idle' || this.mode === 'leading' || this.mode === 'blocked';
  }
  get pendingCommands(): number {
    return this.queue.length;
  }
  /** Every slot below this is known decided. */
  get chosenPrefix(): bigint {
    return this.chosenSlots.prefixEnd;
  }

  /**
   * Starts phase 1 now if this proposer neither leads nor is preparing, even with nothing queued
   * (a linearizable read needs a leader that leads completely); a leader whose promises were cut
   * off prepares again from where they stopped once the slots below are done (at once when
   * nothing is in flight there). One preparing or backing off is left as it is.
   */
  lead(): ProposerOutput {
    const out = new OutputBuilder();
    if (this.mode === 'idle') this.startPhase1(this.chosenSlots.prefixEnd, out);
    else if (this.mode === 'leading' && this.slotLimit !== null) {
      this.completeAsked = true;
      if (!this.proposals.anyBelow(this.slotLimit)) this.startPhase1(this.slotLimit, out);
    }
    return out.build();
  }

  /**
   * Stops leading (a read could not confirm the ballot with a quorum: acceptors that promised it
   * are gone, the others hold a lower promise that only a phase 1 or an accept raises). Slots in
   * flight go back to planned; queued work starts a phase 1 at once, and lead() does otherwise.
   */
  stepDown(): ProposerOutput {
    const out = new OutputBuilder();
    if (this.mode === 'leading') {
      this.endInFlightRounds(out);
      this.loseLeadership(out, false);
    }
    return out.build();
  }

  submit(command: Command): ProposerOutput | { rejected: string } {
    const problem = this.enqueue(command);
    if (problem !== undefined) return { rejected: problem };
    const out = new OutputBuilder();
    this.drive(out);
    return out.build();
  }

  /**
   * Queues several commands, then proposes once: commands that arrive together share a batch
   * instead of the first one opening a slot alone. Each refused command comes back with its reason.
   */
  submitAll(commands: readonly Command[]): { output: ProposerOutput; rejected: Array<{ command: Command; reason: string }> } {
    const rejected: Array<{ command: Command; reason: string }> = [];
    for (const command of commands) {
      const reason = this.enqueue(command);
      if (reason !== undefined) rejected.push({ command, reason });
    }
    const out = new OutputBuilder();
    this.drive(out);
    return { output: out.build(), rejected };
  }

  /** Validates and queues one command; returns why it was refused, if it was. */
  private enqueue(command: Command): string | undefined {
    const problem = valueProblem(batchOf([command]), this.cfg.limits);
    if (problem !== undefined) return problem;
    if (commandBytes(command) > this.cfg.batchBytesMax) return `command of ${commandBytes(command)} bytes is above batchBytesMax ${this.cfg.batchBytesMax}`;
    if (this.queue.length >= this.cfg.pendingCommandsMax) return `queue full (${this.cfg.pendingCommandsMax} commands pending)`;
    this.queue.push(command);
    return undefined;
  }

  handle(event: ProposerEvent): ProposerOutput {
    const out = new OutputBuilder();
    switch (event.type) {
      case 'promise':
        this.suspected.delete(event.from);
        this.unpassable.delete(event.from);
        this.highestSeen = maxBallot(this.highestSeen, event.ballot);
        if (this.mode === 'preparing' && this.phase1 !== null && ballotEquals(event.ballot, this.phase1.ballot)) {
          this.phase1.record(event);
          if (this.phase1.tracker.reached) this.completePhase1(out);
        }
        break;
      case 'reject':
        this.onReject(event.from, event.promised, event.ballot, event.slot, out);
        break;
      case 'accepted':
        this.suspected.delete(event.from);
        this.unpassable.delete(event.from);
        this.onAccepted(event.from, event.ballot, event.slot, out);
        break;
      case 'refused':
        this.suspected.delete(event.from);
        this.onRefused(event.from, event.ballot, event.slot, event.reason, out);
        break;
      case 'unreachable':
        this.suspected.add(event.from);
        this.onUnreachable(event.from, event.ballot, event.slot, out);
        break;
      case 'committed':
        // Any answer shows the acceptor is back: thrifty rounds ask it first again.
        this.suspected.delete(event.from);
        break;
    }
    return out.build();
  }

  tick(): ProposerOutput {
    const out = new OutputBuilder();
    if (this.mode === 'backoff') {
      this.backoffTicksLeft--;
      if (this.backoffTicksLeft <= 0) {
        this.mode = 'idle';
        this.drive(out);
      }
    } else if (this.mode === 'preparing') {
      assert(this.phase1 !== null, 'preparing has a phase 1 round');
      // A lost promise cannot be asked for again at the same ballot (the acceptor would reject
      // a prepare that is not above its promise), so a retry uses a new ballot.
      if (++this.phase1.ticksWaiting >= this.cfg.retransmitTicks) this.startPhase1(this.phase1.fromSlot, out);
    } else if (this.mode === 'leading') {
      for (const p of this.proposals.inFlightProposals()) {
        p.ticksWaiting += 1;
        if (p.ticksWaiting < this.cfg.retransmitTicks) {
          if (p.ticksWaiting === this.cfg.fanoutExpandTicks) this.askMore(p, this.cfg.quorum.n, out);
          continue;
        }
        p.ticksWaiting = 0;
        assert(p.tracker !== null && p.ballot !== null, 'an in-flight slot has a ballot and a tracker');
        p.tracker.clearNo();
        for (const to of this.cfg.acceptorIds) if (!p.tracker.hasYes(to)) this.ask(p, to, out);
      }
    }
    // Commands queued again by learnChosen or learnDecidedBelow (their slot was decided with
    // another value) have no event of their own to send them: the tick does, so a retry that
    // finds its id already queued is never left waiting for an unrelated command.
    if (this.quiescent) this.drive(out);
    return out.build();
  }

  /**
   * A slot chosen (through another proposer, or learned from an acceptor). Returns whether its
   * value is the one this proposer built for that slot from its own queue.
   */
  learnChosen(entry: ChosenEntry): boolean {
    const chosenIds = commandIds(entry.value);
    const p = this.proposals.get(entry.slot);
    const own = this.builtHere(entry.value) || (p !== undefined && p.own && slotValuesEqual(p.value, entry.value));
    if (p !== undefined) {
      if (!slotValuesEqual(p.value, entry.value)) this.queue.requeueFront(ownCommands(p).filter((c) => !chosenIds.has(c.clientRequestId)), false);
      this.proposals.remove(entry.slot);
    }
    // A command chosen in this slot is not proposed again (a retry queued here, or one of ours,
    // or one another slot's adopted value carries).
    this.queue.dropIds(chosenIds);
    this.forgetCarried(chosenIds);
    this.chosenSlots.mark(entry.slot);
    if (this.freeSlot < this.chosenSlots.prefixEnd) this.freeSlot = this.chosenSlots.prefixEnd;
    return own;
  }

  /**
   * Every slot below `slot` is decided and its effect known from elsewhere (a state snapshot this
   * proposer installed, because no acceptor still holds those slots' values): proposals below it
   * are given up, their own commands queued again (the caller answers the ids that took effect).
   */
  learnDecidedBelow(slot: bigint): void {
    for (const p of this.proposals.all()) {
      if (p.slot >= slot) continue;
      this.queue.requeueFront(ownCommands(p), false);
      this.proposals.remove(p.slot);
    }
    this.chosenSlots.markBelow(slot);
    if (this.freeSlot < this.chosenSlots.prefixEnd) this.freeSlot = this.chosenSlots.prefixEnd;
  }

  /** A batch this proposer run built (its origin), whoever's plan or ballot got it chosen. */
  private builtHere(v: SlotValue): boolean {
    return this.cfg.origin !== undefined && v.kind === 'batch' && v.origin === this.cfg.origin;
  }

  /** Commands that took effect no longer go back to the queue from the slots whose adopted values carry them. */
  private forgetCarried(ids: ReadonlySet<string>): void {
    if (ids.size === 0) return;
    for (const q of this.proposals.all()) if (q.carried.length > 0) q.carried = q.carried.filter((c) => !ids.has(c.clientRequestId));
  }

  private hasWork(): boolean {
    return this.queue.length > 0 || this.proposals.size > 0;
  }

  private drive(out: OutputBuilder): void {
    if (this.mode === 'leading') this.fillWindow(out);
    else if (this.mode === 'idle' && this.hasWork()) this.startPhase1(this.chosenSlots.prefixEnd, out);
  }

  private startPhase1(fromSlot: bigint, out: OutputBuilder): void {
    const floor: Ballot = { round: this.cfg.initialRound - 1n, proposerId: this.cfg.proposerId };
    const next = nextBallotAbove(maxBallot(maxBallot(this.highestSeen, this.currentBallot), floor), this.cfg.proposerId);
    if (next === undefined) {
      // Its own ballot (or the one it must pass) is at the round ceiling: a new phase 1 needs a
      // ballot no acceptor takes. It stops instead of sending one (each would be refused).
      this.block(out, this.currentBallot.round > 0n ? this.currentBallot : undefined);
      return;
    }
    this.currentBallot = next;
    this.mode = 'preparing';
    this.slotLimit = null;
    this.completeAsked = false;
    this.proposals.recallAll();
    const from = fromSlot > this.chosenSlots.prefixEnd ? fromSlot : this.chosenSlots.prefixEnd;
    this.phase1 = new Phase1Round(this.currentBallot, from, this.cfg.quorum);
    for (const to of this.cfg.acceptorIds) out.messages.push({ type: 'prepare', to, ballot: this.currentBallot, fromSlot: from });
  }

  private completePhase1(out: OutputBuilder): void {
    assert(this.phase1 !== null, 'completing a phase 1 round that exists');
    out.ended.push(roundEnd('prepare', this.phase1.ballot, this.phase1.tracker, 'quorum'));
    const outcome = this.phase1.outcome();
    const from = this.phase1.fromSlot;
    this.phase1 = null;
    // Slots under an acceptor's committed prefix are decided; their values come from elsewhere.
    for (const p of this.proposals.all()) {
      if (p.slot < outcome.decidedBelow) {
        this.queue.requeueFront(ownCommands(p), false);
        this.proposals.remove(p.slot);
      }
    }
    this.chosenSlots.markBelow(outcome.decidedBelow);
    const start = from > this.chosenSlots.prefixEnd ? from : this.chosenSlots.prefixEnd;
    // Bound the slots planned per round: a far-away report is handled by later rounds.
    let knownBelow = outcome.knownBelow;
    const planEnd = start + BigInt(PLANNED_SLOTS_PER_ROUND_MAX);
    if (outcome.highestReportedSlot >= planEnd && (knownBelow === null || knownBelow > planEnd)) knownBelow = planEnd;
    const last = knownBelow !== null && outcome.highestReportedSlot >= knownBelow ? knownBelow - 1n : outcome.highestReportedSlot;
    for (let s = start; s <= last; s++) {
      if (this.chosenSlots.has(s)) continue;
      const adopted = outcome.adopted.get(s);
      const mine = this.proposals.get(s);
      if (adopted === undefined) {
        // A hole: no value can have been chosen here, so any value is safe.
        if (mine === undefined) this.proposals.plan(s, NOOP, false);
      } else if (mine === undefined || !slotValuesEqual(mine.value, adopted)) {
        if (mine !== undefined) this.queue.requeueFront(ownCommands(mine), false); // dropped below if the adopted values carry them
        this.proposals.plan(s, adopted, false);
      }
    }
    // Commands the adopted values carry are in the log already (or will be, in these slots): a
    // queued copy (a client's retry after a proposer crash) is not chosen a second time. It stays
    // with the slot that carries it, and goes back to the queue if that slot is decided otherwise.
    for (const [s, v] of outcome.adopted) {
      // A slot beyond this round's plan carries its commands nowhere yet: they stay queued (a
      // second copy in the log is harmless, a command that waits on no slot is not).
      if (s > last && !this.chosenSlots.has(s)) continue;
      const carried = this.queue.dropIds(commandIds(v));
      const p = this.proposals.get(s);
      if (p !== undefined && !p.own) for (const c of carried) p.carried.push(c);
    }
    const afterReported = last + 1n;
    if (this.freeSlot < afterReported) this.freeSlot = afterReported;
    if (this.freeSlot < this.chosenSlots.prefixEnd) this.freeSlot = this.chosenSlots.prefixEnd;
    this.slotLimit = knownBelow;
    this.mode = 'leading';
    this.fillWindow(out);
  }

  private fillWindow(out: OutputBuilder): void {
    assert(this.mode === 'leading', 'only the leader proposes');
    const window = this.cfg.windowSlots;
    for (const p of this.proposals.plannedBelow(this.slotLimit)) {
      if (this.proposals.inFlight >= window) break;
      this.sendAccept(p, out);
    }
    for (let guard = 0; this.proposals.inFlight < window && this.queue.length > 0; guard++) {
      assert(guard <= window, 'window fill is bounded by the window');
      if (this.slotLimit !== null && this.freeSlot >= this.slotLimit) break;
      if (this.proposals.inFlight >= this.cfg.partialSlotsMax && !this.queue.hasFullBatch(this.cfg.batchCommandsMax, this.cfg.batchBytesMax)) break;
      const slot = this.freeSlot;
      // The free slot follows what acceptors report (their promises' slots and committed
      // indexes): network input, so the end of the log is a condition here, not an assertion.
      // The commands wait (their clients' deadlines answer them).
      if (slot > this.cfg.limits.slotMax) break;
      this.freeSlot += 1n;
      if (this.chosenSlots.has(slot) || this.proposals.has(slot)) continue;
      const commands = this.queue.takeBatch(this.cfg.batchCommandsMax, this.cfg.batchBytesMax);
      this.sendAccept(this.proposals.plan(slot, batchOf(commands, this.cfg.origin), true), out);
    }
    // After a truncated promise: once the known range is done, prepare again from its end (for
    // queued work, or for a read that asked for a complete leader).
    if (this.slotLimit !== null && !this.proposals.anyBelow(this.slotLimit) && (this.hasWork() || this.completeAsked)) {
      this.startPhase1(this.slotLimit, out);
    }
  }

  private sendAccept(p: SlotProposal, out: OutputBuilder): void {
    this.proposals.markSent(p, this.currentBallot, this.cfg.quorum);
    this.askMore(p, this.cfg.acceptFanout, out);
  }

  /**
   * Sends the slot's accept to `count` acceptors not asked yet. All of them, in id order, when
   * that many are left; otherwise the next ones of a rotation that moves every FANOUT_EPOCH_SLOTS
   * slots (so the spared acceptors' catch-up comes in runs), the suspected ones last.
   */
  private askMore(p: SlotProposal, count: number, out: OutputBuilder): void {
    assert(p.inFlight && p.ballot !== null, 'only an in-flight slot asks acceptors');
    const ids = this.cfg.acceptorIds;
    const n = ids.length;
    const all = count >= n - p.asked.size;
    const start = all ? 0 : Number(((p.slot / FANOUT_EPOCH_SLOTS) * BigInt(this.cfg.acceptFanout)) % BigInt(n));
    for (const suspects of all ? [undefined] : [false, true]) {
      for (let i = 0; i < n && count > 0; i++) {
        const to = ids[(start + i) % n] as number;
        if (p.asked.has(to) || (suspects !== undefined && this.suspected.has(to) !== suspects)) continue;
        count -= 1;
        this.ask(p, to, out);
      }
    }
  }

  private ask(p: SlotProposal, to: number, out: OutputBuilder): void {
    assert(p.ballot !== null, 'an accept is sent at a ballot');
    p.asked.add(to);
    out.messages.push({ type: 'accept', to, ballot: p.ballot, slot: p.slot, value: p.value });
  }

  private onAccepted(from: number, ballot: Ballot, slot: bigint, out: OutputBuilder): void {
    const p = this.proposals.get(slot);
    if (p === undefined || !p.inFlight || p.ballot === null || !ballotEquals(p.ballot, ballot)) return;
    assert(p.tracker !== null, 'an in-flight slot has a tracker');
    p.tracker.recordYes(from);
    if (!p.tracker.reached) return;
    const entry: ChosenEntry = { slot, ballot, value: p.value };
    out.chosen.push(entry);
    if (p.own || this.builtHere(p.value)) out.ownChosen.push(slot);
    out.ended.push(roundEnd('accept', ballot, p.tracker, 'quorum', p));
    for (const to of this.cfg.acceptorIds) {
      if (p.tracker.hasYes(to)) out.messages.push({ type: 'commit', to, slot, ballot });
      else out.messages.push({ type: 'commit', to, slot, ballot, value: p.value, asked: p.asked.has(to) });
    }
    this.proposals.remove(slot);
    this.forgetCarried(commandIds(p.value));
    this.chosenSlots.mark(slot);
    if (this.mode === 'leading') this.fillWindow(out);
  }

  private onReject(from: number, promised: Ballot, ballot: Ballot, slot: bigint | undefined, out: OutputBuilder): void {
    // No promise (a rejoining acceptor's reject names its own, maybe ZERO_BALLOT): not a rival's ballot.
    if (typeof promised.round !== 'bigint' || promised.round <= 0n) return;
    // A promise at the round ceiling that this proposer's id does not pass, or above the ceiling
    // (written before acceptors refused such rounds): no ballot of ours is above it.
    if (nextBallotAbove(promised, this.cfg.proposerId) === undefined) {
      // Our own ballot at the ceiling (a late answer to an accept of an earlier ballot of ours,
      // from an acceptor that has since promised this one) is no rival's: it blocks nothing.
      if (ballotGreater(promised, this.currentBallot)) this.onUnpassable(from, promised, ballot, slot, out);
      return;
    }
    if (ballotProblem(promised) !== undefined) return;
    this.highestSeen = maxBallot(this.highestSeen, promised);
    if (!ballotEquals(ballot, this.currentBallot) || !ballotGreater(promised, this.currentBallot)) return;
    if (this.mode === 'preparing' && this.phase1 !== null) out.ended.push(roundEnd('prepare', this.phase1.ballot, this.phase1.tracker, 'rejected'));
    else if (this.mode === 'leading') this.endInFlightRounds(out);
    else return;
    this.loseLeadership(out, true);
  }

  /**
   * An acceptor holds a promise no ballot of ours passes. It keeps rejecting every request of
   * ours, so it counts as a no in the round it rejected (the others may still make a quorum, at a
   * ballot above the highest rival we can pass); once such acceptors are more than n - q, no
   * ballot of ours can be promised by a quorum again, and this proposer stops.
   */
  private onUnpassable(from: number, promised: Ballot, ballot: Ballot, slot: bigint | undefined, out: OutputBuilder): void {
    // Only the configured acceptors count toward n - q (an answer names its sender's link).
    if (!this.cfg.acceptorIds.includes(from)) return;
    this.unpassable.set(from, promised);
    this.suspected.add(from);
    if (this.mode === 'blocked') return;
    if (this.unpassable.size > this.cfg.quorum.n - this.cfg.quorum.q) {
      this.block(out, undefined);
      return;
    }
    if (slot === undefined) {
      if (this.mode === 'preparing' && this.phase1 !== null && ballotEquals(ballot, this.phase1.ballot) && recordFailure(this.phase1.tracker, from)) {
        out.ended.push(roundEnd('prepare', ballot, this.phase1.tracker, 'unreachable'));
      }
      return;
    }
    const p = this.proposals.get(slot);
    if (p === undefined || !p.inFlight || p.tracker === null || p.ballot === null || !ballotEquals(p.ballot, ballot)) return;
    if (recordFailure(p.tracker, from)) out.ended.push(roundEnd('accept', ballot, p.tracker, 'unreachable', p));
    this.askMore(p, 1, out);
  }

  /**
   * Stops for good: the round in progress ends rejected, slots in flight go back to planned,
   * queued commands stay queued (nothing of ours can be chosen; a value of ours already accepted
   * somewhere may still be chosen by the holder of the ballot above, and is then learned).
   */
  private block(out: OutputBuilder, exhausted: Ballot | undefined): void {
    if (this.mode === 'preparing' && this.phase1 !== null) out.ended.push(roundEnd('prepare', this.phase1.ballot, this.phase1.tracker, 'rejected'));
    else if (this.mode === 'leading') this.endInFlightRounds(out);
    this.phase1 = null;
    this.slotLimit = null;
    this.completeAsked = false;
    this.proposals.recallAll();
    this.mode = 'blocked';
    const promises = [...this.unpassable].sort((a, b) => a[0] - b[0]).map(([acceptor, promised]) => ({ acceptor, promised }));
    this.blockedBy = { proposerId: this.cfg.proposerId, promises, ...(exhausted === undefined ? {} : { exhausted }) };
  }

  /** Every accept round in flight ends rejected (its ballot is given up; its slot goes back to planned). */
  private endInFlightRounds(out: OutputBuilder): void {
    for (const p of this.proposals.inFlightProposals()) if (p.ballot !== null && p.tracker !== null) out.ended.push(roundEnd('accept', p.ballot, p.tracker, 'rejected', p));
  }

  private loseLeadership(out: OutputBuilder, backoff: boolean): void {
    this.phase1 = null;
    this.slotLimit = null;
    this.proposals.recallAll();
    if (!backoff) {
      this.mode = 'idle';
      this.drive(out);
      return;
    }
    const span = this.cfg.backoffTicksMax - this.cfg.backoffTicksMin + 1;
    this.backoffTicksLeft = this.cfg.backoffTicksMin + Math.min(span - 1, Math.floor(this.cfg.random() * span));
    this.mode = 'backoff';
    if (this.backoffTicksLeft <= 0) {
      this.mode = 'idle';
      this.drive(out);
    }
  }

  private onRefused(from: number, ballot: Ballot, slot: bigint, reason: string, out: OutputBuilder): void {
    const p = this.proposals.get(slot);
    if (p === undefined || !p.inFlight || p.ballot === null || !ballotEquals(p.ballot, ballot)) return;
    assert(p.tracker !== null, 'an in-flight slot has a tracker');
    p.tracker.recordNo(from);
    p.refusedBy.add(from);
    p.refusalReason = reason;
    if (p.refusedBy.size <= this.cfg.quorum.n - this.cfg.quorum.q) {
      this.askMore(p, 1, out);
      return;
    }
    out.ended.push(roundEnd('accept', ballot, p.tracker, 'rejected', p));
    // The value can no longer be chosen at this ballot. Its commands fail (alone) or are retried
    // one by one (in a batch, or carried by another proposer's value that may hold the culprit);
    // the slot needs a new ballot before it may hold anything else.
    const commands = ownCommands(p);
    if (p.own && commands.length === 1) out.failed.push({ clientRequestId: commands[0].clientRequestId, reason: p.refusalReason });
    else this.queue.requeueFront(commands, true);
    this.proposals.plan(slot, NOOP, false);
    if (this.mode === 'leading') this.loseLeadership(out, false);
  }

  private onUnreachable(from: number, ballot: Ballot, slot: bigint | undefined, out: OutputBuilder): void {
    if (slot === undefined) {
      if (this.phase1 === null || !ballotEquals(ballot, this.phase1.ballot)) return;
      if (recordFailure(this.phase1.tracker, from)) out.ended.push(roundEnd('prepare', ballot, this.phase1.tracker, 'unreachable'));
      return;
    }
    const p = this.proposals.get(slot);
    if (p === undefined || !p.inFlight || p.tracker === null || p.ballot === null || !ballotEquals(p.ballot, ballot)) return;
    if (recordFailure(p.tracker, from)) out.ended.push(roundEnd('accept', ballot, p.tracker, 'unreachable', p));
    this.askMore(p, 1, out);
  }
}

function roundEnd(phase: RoundEnd['phase'], ballot: Ballot, tracker: QuorumTracker, outcome: RoundEnd['outcome'], proposal?: SlotProposal): RoundEnd {
  return { phase, ballot, outcome, yes: tracker.yes, no: tracker.no, refused: proposal?.refusedBy.size ?? 0, ...(proposal === undefined ? {} : { slot: proposal.slot }) };
}

/** Counts a failed acceptor as no; true when that made the round unreachable (it was not before). */
function recordFailure(tracker: QuorumTracker, from: number): boolean {
  const before = tracker.impossible;
  tracker.recordNo(from);
  return !before && tracker.impossible;
}
