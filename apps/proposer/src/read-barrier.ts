import { status } from '@grpc/grpc-js';
import type { Ballot, Quorum } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import type { AcceptorLink } from './acceptor-link';
import { ConfirmationRounds, OutbidError } from './confirmation-round';
import { callerGone, WaitList } from './wait-list';

/** Confirmation rounds a read runs when each finds another proposer leading. */
const OUTBID_ROUNDS_MAX = 3;

export interface ReadBarrierDeps {
  readonly links: readonly AcceptorLink[];
  readonly quorum: Quorum;
  /** The proposer has learned the chosen log. */
  readonly ready: () => boolean;
  /**
   * The proposer leads, and its phase 1 at this ballot left nothing cut off (every value chosen
   * under an earlier ballot is below openedSlots()).
   */
  readonly leadsCompletely: () => boolean;
  /** Runs phase 1 now if the proposer neither leads nor is preparing; a leader cut off goes on from where it stopped. */
  readonly lead: () => void;
  /**
   * An acceptor's Status showed a promise above our ballot: the core learns it as a reject, so a
   * proposer that still believes it leads (its rival crashed, no write has come since) runs
   * phase 1 for the next read instead of failing every read.
   */
  readonly outbid: (from: number, promised: Ballot, ballot: Ballot) => void;
  /** Fewer than a quorum hold our ballot (none higher): stop leading, so the next read runs phase 1 again. */
  readonly stepDown: () => void;
  readonly ballot: () => Ballot;
  /** Every slot below this one is delivered, in flight or planned by this proposer. */
  readonly openedSlots: () => bigint;
  /** Slots below this one are delivered (and applied). */
  readonly deliveredSlots: () => bigint;
  readonly stopped: () => boolean;
  /** Acceptors whose channel is connected now. */
  readonly reachable: () => number;
  /** Phase 1 rounds that could not reach a quorum so far, and why the last did not. */
  readonly phase1Failures: () => { readonly count: number; readonly reason: string };
  /** Set once the proposer can choose nothing more (the ballot ceiling): it will never lead again. */
  readonly cannotChoose?: () => GrpcError | undefined;
  /** An acceptor's committed index, seen in its Status answer. */
  readonly noteCommitted?: (nodeId: number, committedIndex: bigint) => void;
  /** Learns chosen slots from the acceptors now (a read waits for slots another proposer chose). */
  readonly learnNow?: () => void;
}

/** What one confirmation round established: this ballot led, and every slot below `target` was opened by then. */
interface Confirmed {
  readonly target: bigint;
}

/**
 * The barrier of a linearizable read (raft's ReadIndex): once wait() resolves, the applied state
 * reflects every write acknowledged before the call, by any proposer. The proposer leads (it runs
 * phase 1 if it does not), confirms with a quorum of acceptors that none has promised a higher
 * ballot since, and waits until every slot it had opened (adopted values included) is delivered.
 * A write chosen under another ballot before that is in those slots (phase 1 adopted it); one
 * chosen under a higher ballot would have shown in the confirmation.
 *
 * Reads share confirmation rounds: a read joins the next round to start (never one already in
 * flight, which may have begun before the read), so many concurrent reads cost one round.
 */
export class ReadBarrier {
  private inFlight: Promise<Confirmed> | undefined;
  private nextRound: Promise<Confirmed> | undefined;
  /** The latest deadline of the reads that joined nextRound (-Infinity when none waits). */
  private nextRoundUntil = -Infinity;

  /** Reads waiting for a stage (ready, leading, their round, delivery). */
  private readonly waits: WaitList;

  /** The Status rounds that confirm leadership. */
  private readonly rounds: ConfirmationRounds;

  constructor(private readonly deps: ReadBarrierDeps) {
    this.waits = new WaitList(deps.stopped);
    this.rounds = new ConfirmationRounds(deps);
  }

  /** The proposer's state moved (a core output, a delivery, ready, stopped): waiting reads look again. */
  progress(): void {
    this.waits.poke();
  }

  /**
   * `gone` says the caller left (its call was cancelled): the read then stops polling at once with
   * CANCELLED, not at its deadline (a cancelled call no longer counts against the call bounds).
   */
  async wait(deadlineMs: number, gone: () => boolean = () => false): Promise<void> {
    const until = performance.now() + deadlineMs;
    const { deps } = this;
    // As a Propose is: no quorum to ask is UNAVAILABLE now, not a deadline later.
    const up = deps.reachable();
    if (!deps.quorum.isQuorum(up)) {
      throw new GrpcError(status.UNAVAILABLE, `a linearizable read needs a quorum: ${up} of ${deps.quorum.n} acceptors are reachable, ${deps.quorum.q} needed; retry the read, or read stale (CONSISTENCY_STALE)`);
    }
    await this.waits.wait(deps.ready, until, 'the proposer is still learning the chosen log', gone);
    let target: bigint | undefined;
    // Bounded: a few rounds; each outbid one runs phase 1 again at a higher ballot first.
    for (let attempt = 1; target === undefined; attempt++) {
      try {
        await this.leadCompletely(until, gone);
        if (gone()) throw callerGone();
        ({ target } = await this.awaitRound(this.joinRound(until), until, gone));
      } catch (e) {
        // Another proposer led since: lead again and confirm, while the read has time (the
        // reads that duel with writes elsewhere still end, UNAVAILABLE, after a few rounds).
        if (!(e instanceof OutbidError) || attempt >= OUTBID_ROUNDS_MAX || performance.now() >= until) throw e;
      }
    }
    const delivered = () => {
      if (deps.deliveredSlots() >= target) return true;
      deps.learnNow?.();
      return false;
    };
    await this.waits.wait(delivered, until, `slots below ${target} are not all chosen yet (delivered up to ${deps.deliveredSlots()})`, gone);
  }

  /**
   * The next confirmation round to start (rounds run one at a time). A queued round may have to
   * wait for a phase 1 when it starts (the leadership lost meanwhile): it waits as long as the
   * latest deadline of the reads that joined it, not the first joiner's (which may be nearly spent
   * and would fail every other read with it).
   */
  private joinRound(until: number): Promise<Confirmed> {
    if (this.inFlight === undefined) return this.startRound(until);
    if (until > this.nextRoundUntil) this.nextRoundUntil = until;
    this.nextRound ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        const latest = this.nextRoundUntil;
        this.nextRound = undefined;
        this.nextRoundUntil = -Infinity;
        return this.startRound(latest);
      });
    return this.nextRound;
  }

  /**
   * The round's answer, as long as this read may wait: the round itself may wait longer (as long
   * as its latest-deadline read), and a read past its own deadline, or whose caller is gone, ends.
   */
  private async awaitRound(round: Promise<Confirmed>, until: number, gone: () => boolean): Promise<Confirmed> {
    let out: { readonly ok: Confirmed } | { readonly err: unknown } | undefined;
    round.then(
      (ok) => {
        out = { ok };
        this.waits.poke();
      },
      (err: unknown) => {
        out = { err };
        this.waits.poke();
      },
    );
    await this.waits.wait(() => out !== undefined, until, 'the confirmation round it joined is still under way', gone);
    const settled = out as { readonly ok: Confirmed } | { readonly err: unknown };
    if ('err' in settled) throw settled.err;
    return settled.ok;
  }

  private startRound(until: number): Promise<Confirmed> {
    const round = this.confirm(until);
    this.inFlight = round;
    const clear = () => {
      if (this.inFlight === round) this.inFlight = undefined;
    };
    round.then(clear, clear);
    return round;
  }

  /**
   * Waits until the proposer leads completely (lead() asked again at every look: a phase 1 that
   * ended in a back-off, or was cut off by a truncated promise, goes on).
   */
  private leadCompletely(until: number, gone: () => boolean = () => false): Promise<void> {
    const { deps } = this;
    const failedBefore = deps.phase1Failures().count;
    const led = () => {
      const blocked = deps.cannotChoose?.();
      if (blocked !== undefined) throw new GrpcError(blocked.code, `a linearizable read needs a leader, and ${blocked.message}; a stale read (CONSISTENCY_STALE, or npm run read -- --node N) still answers`, blocked.trailers);
      if (deps.leadsCompletely()) return true;
      // A phase 1 that could not reach a quorum since the read began: UNAVAILABLE now, with why.
      const failures = deps.phase1Failures();
      if (failures.count > failedBefore) throw new GrpcError(status.UNAVAILABLE, `this proposer could not become the leader for a linearizable read: ${failures.reason}; retry the read, or read stale (CONSISTENCY_STALE)`);
      deps.lead();
      return deps.leadsCompletely();
    };
    return this.waits.wait(led, until, 'this proposer could not become the leader in time (phase 1 is still under way)', gone);
  }

  private async confirm(until: number): Promise<Confirmed> {
    const { deps } = this;
    // The ballot and the slots it opened are taken only once phase 1 at that ballot is complete
    // (a round queued behind another may start while a new phase 1 is under way: the acceptors
    // already show its ballot, but its adopted values are not in openedSlots() yet).
    await this.leadCompletely(until);
    const ballot = deps.ballot();
    const target = deps.openedSlots();
    // Each round has its own deadline (not the first joiner's, which may be nearly spent). It
    // settles as soon as a quorum holds our ballot (any acceptor that promised higher before the
    // read began shares an acceptor with that quorum), or one answer shows a higher promise, or
    // a quorum can no longer confirm: a paused acceptor costs nothing while a quorum answers.
    await this.rounds.run(ballot);
    return { target };
  }
}
