import { ProposerCore } from '../proposer/proposer';
import type { Limits } from '../limits';
import type { Quorum } from '../quorum';
import type { SeededRandom } from '../rng';

/** Rounds a restarted proposer's clock may give (DESIGN: the production proposer starts at the wall clock in milliseconds). */
const CLOCK_ROUNDS = 100;
/** How often a restart's clock gives exactly the round the last incarnation was at (the sharpest reuse). */
const SAME_ROUND_PROBABILITY = 0.5;

/**
 * A simulated proposer process. As the production proposer, it keeps nothing on disk: each
 * incarnation starts at a round its clock gives, and the clock jumps anywhere in
 * 1..CLOCK_ROUNDS, backwards as often as forwards, or to exactly the round the last incarnation
 * was at, so an incarnation often starts at or below a round an earlier one used. That is safe
 * because an acceptor promises only a ballot strictly above its promise: an earlier incarnation's
 * accepts at a ballot need a quorum's promise of it, and no quorum can promise that ballot (or a
 * lower one) again.
 */
export class SimProposer {
  core: ProposerCore | null = null;
  incarnation = 0;
  restartTick = -1;
  crashes = 0;
  /** The round the last incarnation was at when it crashed (the simulator's knowledge, not the node's). */
  private lastRound = 1n;

  constructor(
    readonly index: number,
    readonly proposerId: number,
    private readonly quorum: Quorum,
    private readonly acceptorIds: readonly number[],
    private readonly rng: SeededRandom,
    private readonly limits: Limits,
    private readonly windowSlots: number,
    private readonly batchCommandsMax: number,
    private readonly partialSlotsMax: number,
    private readonly acceptFanout: number,
  ) {
    this.start();
  }

  get up(): boolean {
    return this.core !== null;
  }

  start(): void {
    const random = this.rng.fork(`proposer-${this.proposerId}-${this.incarnation}`);
    this.incarnation++;
    this.core = new ProposerCore({
      proposerId: this.proposerId,
      // Unique per proposer run, as a real node's random origin is.
      origin: (BigInt(this.incarnation) << 32n) | BigInt(this.proposerId),
      quorum: this.quorum,
      acceptorIds: this.acceptorIds,
      initialRound: this.rng.chance(SAME_ROUND_PROBABILITY) ? this.lastRound : BigInt(1 + this.rng.int(0, CLOCK_ROUNDS)),
      windowSlots: this.windowSlots,
      batchCommandsMax: this.batchCommandsMax,
      partialSlotsMax: this.partialSlotsMax,
      ...(this.acceptFanout > 0 ? { acceptFanout: this.acceptFanout, fanoutExpandTicks: 6 } : {}),
      retransmitTicks: 20,
      backoffTicksMin: 2,
      backoffTicksMax: 25,
      random: () => random.next(),
      limits: this.limits,
    });
    this.restartTick = -1;
  }

  crash(restartTick: number): void {
    if (this.core !== null && this.core.ballot.round > 0n) this.lastRound = this.core.ballot.round;
    this.core = null;
    this.restartTick = restartTick;
    this.crashes++;
  }

}
