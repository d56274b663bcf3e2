import { ProposerCore } from '../proposer/proposer';
import type { ProposerOutput } from '../proposer/proposer-types';
import type { Limits } from '../limits';
import type { Quorum } from '../quorum';
import type { SeededRandom } from '../rng';

/** A simulated proposer process; the highest round it used survives crashes ("on disk"). */
export class SimProposer {
  core: ProposerCore | null = null;
  incarnation = 0;
  roundOnDisk = 0n;
  restartTick = -1;
  crashes = 0;

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
      quorum: this.quorum,
      acceptorIds: this.acceptorIds,
      initialRound: this.roundOnDisk + 1n,
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
    this.core = null;
    this.restartTick = restartTick;
    this.crashes++;
  }

  /** Persist the round before anything leaves (a ballot is never reused across restarts). */
  persistRound(out: ProposerOutput): ProposerOutput {
    if (this.core !== null && this.core.highestRoundUsed > this.roundOnDisk) this.roundOnDisk = this.core.highestRoundUsed;
    return out;
  }
}
