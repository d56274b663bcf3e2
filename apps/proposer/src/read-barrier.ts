import { status } from '@grpc/grpc-js';
import { type Ballot, type Quorum, ballotEquals, ballotGreater, formatBallot } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import { ballotFromWire } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';

/** Deadline of the Status calls that confirm leadership. */
const STATUS_DEADLINE_MS = 1000;
const WAIT_POLL_MS = 2;

export interface ReadBarrierDeps {
  readonly links: readonly AcceptorLink[];
  readonly quorum: Quorum;
  /** The proposer has learned the chosen log. */
  readonly ready: () => boolean;
  readonly isLeader: () => boolean;
  /** Runs phase 1 now if the proposer neither leads nor prepares. */
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

  constructor(private readonly deps: ReadBarrierDeps) {}

  async wait(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    const { deps } = this;
    await waitFor(deps, deps.ready, until, 'the proposer is still learning the chosen log');
    if (!deps.isLeader()) {
      deps.lead();
      await waitFor(deps, deps.isLeader, until, 'this proposer could not become the leader (phase 1 did not reach a quorum)');
    }
    const { target } = await this.joinRound(until);
    await waitFor(deps, () => deps.deliveredSlots() >= target, until, `slots below ${target} are not all chosen yet (delivered up to ${deps.deliveredSlots()})`);
  }

  /** The next confirmation round to start (rounds run one at a time). */
  private joinRound(until: number): Promise<Confirmed> {
    if (this.inFlight === undefined) return this.startRound(until);
    this.nextRound ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.nextRound = undefined;
        return this.startRound(until);
      });
    return this.nextRound;
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

  private async confirm(until: number): Promise<Confirmed> {
    const { deps } = this;
    const ballot = deps.ballot();
    const target = deps.openedSlots();
    const answers = await Promise.allSettled(deps.links.map((l) => l.status(Math.max(1, Math.min(STATUS_DEADLINE_MS, until - Date.now())))));
    let confirmed = 0;
    for (const [i, a] of answers.entries()) {
      if (a.status !== 'fulfilled') continue;
      const promised = ballotFromWire(a.value.promised ?? { round: 0n, proposerId: 0 });
      if (ballotEquals(promised, ballot)) confirmed += 1;
      else if (ballotGreater(promised, ballot)) {
        deps.outbid((deps.links[i] as AcceptorLink).nodeId, promised, ballot);
        throw new GrpcError(status.UNAVAILABLE, `another proposer leads now (an acceptor promised ballot ${formatBallot(promised)}, above ours ${formatBallot(ballot)}); retry the read`);
      }
    }
    const { quorum } = deps;
    if (!quorum.isQuorum(confirmed)) {
      deps.stepDown();
      throw new GrpcError(
        status.UNAVAILABLE,
        `could not confirm leadership with a quorum: ${confirmed} of ${quorum.n} acceptors hold our ballot, ${quorum.q} needed; the next read runs phase 1 again: retry the read`,
      );
    }
    return { target };
  }
}

/** Resolves once `done()` holds (checked every few ms), or rejects with DEADLINE_EXCEEDED at `until`. */
function waitFor(deps: ReadBarrierDeps, done: () => boolean, until: number, what: string): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (done()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() >= until || deps.stopped()) {
        clearInterval(timer);
        reject(new GrpcError(status.DEADLINE_EXCEEDED, `read not answered in time: ${what}`));
      }
    }, WAIT_POLL_MS);
  });
}
