import { AcceptorCore, type RejoinFloor } from '../acceptor';
import type { AcceptorReply, AcceptorRequest, AcceptorSnapshot, DurableChange } from '../acceptor-types';
import { maxBallot, ZERO_BALLOT, type Ballot } from '../ballot';
import type { Limits } from '../limits';
import type { SeededRandom } from '../rng';

const DURABLE_LOG_COMPACT_ENTRIES = 256;

interface PipelineEntry {
  readonly change: DurableChange | null;
  readonly send: (() => void) | null;
}

/**
 * A simulated acceptor process with a durable store: a change is durable only once its (group)
 * fsync completes a few ticks later, and the reply leaves only then. A crash loses the rest.
 */
export class SimAcceptor {
  core: AcceptorCore | null;
  private base: AcceptorSnapshot | undefined;
  private log: DurableChange[] = [];
  private pipeline: PipelineEntry[] = [];
  private fsync: { count: number; doneTick: number } | null = null;
  restartTick = -1;
  crashes = 0;
  dataLosses = 0;
  /** Set when this acceptor lost its data and rejoined (its node.json keeps it across restarts). */
  private rejoinFloor: RejoinFloor | undefined;
  /** The highest promise its disk holds (synced changes only, and the rejoin floor after a data loss). */
  private durablePromised: Ballot = ZERO_BALLOT;

  constructor(
    readonly index: number,
    private readonly limits: Limits,
    private readonly rng: SeededRandom,
    private readonly fsyncTicksMin: number,
    private readonly fsyncTicksMax: number,
    private readonly unsafeReplies: boolean,
    private readonly onDurable: (acceptor: number, change: DurableChange) => void,
    /** Sees every reply as it leaves, with the promise the disk holds at that moment. */
    private readonly onReply: (acceptor: number, reply: AcceptorReply, durablePromised: Ballot) => void,
  ) {
    this.core = new AcceptorCore({ limits });
  }

  get up(): boolean {
    return this.core !== null;
  }

  /** The committed index a rejoin must reach before it votes (undefined: it never lost its data). */
  get catchUpTo(): bigint | undefined {
    return this.rejoinFloor?.catchUpTo;
  }

  /** Whether it is a rejoin not yet caught up (as its durable state says while it is down). */
  get rejoining(): boolean {
    if (this.rejoinFloor === undefined) return false;
    return (this.core ?? this.recover()).rejoining;
  }

  receive(req: AcceptorRequest, sendReply: (reply: AcceptorReply) => void): void {
    if (this.core === null) return;
    const send = (reply: AcceptorReply) => {
      this.onReply(this.index, reply, this.durablePromised);
      sendReply(reply);
    };
    const step = this.core.handle(req);
    if (this.unsafeReplies) {
      send(step.reply);
      if (step.persist !== null) this.pipeline.push({ change: step.persist, send: null });
      return;
    }
    const reply = step.reply;
    if (step.persist === null && this.pipeline.length === 0) send(reply);
    else this.pipeline.push({ change: step.persist, send: () => send(reply) });
  }

  tick(now: number): void {
    if (this.core === null) return;
    if (this.fsync !== null && now >= this.fsync.doneTick) {
      const done = this.pipeline.splice(0, this.fsync.count);
      this.fsync = null;
      for (const e of done) {
        if (e.change !== null) {
          this.log.push(e.change);
          if (e.change.promised !== undefined) this.durablePromised = maxBallot(this.durablePromised, e.change.promised);
          if (e.change.accepted !== undefined) this.durablePromised = maxBallot(this.durablePromised, e.change.accepted.ballot);
          this.onDurable(this.index, e.change);
        }
      }
      for (const e of done) if (e.send !== null) e.send();
      if (this.log.length > DURABLE_LOG_COMPACT_ENTRIES) this.compact();
    }
    if (this.fsync === null && this.pipeline.length > 0) {
      this.fsync = { count: this.pipeline.length, doneTick: now + this.rng.int(this.fsyncTicksMin, this.fsyncTicksMax + 1) };
    }
  }

  crash(restartTick: number): void {
    this.core = null;
    this.pipeline = [];
    this.fsync = null;
    this.restartTick = restartTick;
    this.crashes++;
  }

  /**
   * The disk is lost: the acceptor is down, and restarts with nothing but `floor` (the rejoin
   * procedure's floor; undefined for the negative control that rejoins as a new acceptor).
   */
  loseData(restartTick: number, floor: RejoinFloor | undefined): void {
    this.crash(restartTick);
    this.crashes--;
    this.dataLosses++;
    this.base = undefined;
    this.log = [];
    this.rejoinFloor = floor;
    this.durablePromised = floor?.promised ?? ZERO_BALLOT;
  }

  /** Restart from the durable store: checkpoint, then replay of the durable changes via apply(). */
  restart(): void {
    this.core = this.recover();
    this.restartTick = -1;
  }

  /** The durable state, as a restart would see it. */
  durableState(): AcceptorSnapshot {
    return this.recover().snapshot();
  }

  private recover(): AcceptorCore {
    const core = new AcceptorCore({ limits: this.limits, restored: this.base, ...(this.rejoinFloor !== undefined ? { rejoin: this.rejoinFloor } : {}) });
    for (const change of this.log) core.apply(change);
    return core;
  }

  private compact(): void {
    this.base = this.recover().snapshot();
    this.log = [];
  }
}
