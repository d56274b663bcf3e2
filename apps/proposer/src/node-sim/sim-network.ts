import type { SeededRandom } from '@paxos/consensus-core';

export interface SimNetworkOptions {
  /** Usual one-way delay: uniform in [min, max] ms. */
  readonly delayMsMin: number;
  readonly delayMsMax: number;
  /** Probability that a message takes a long way (uniform up to longDelayMsMax). */
  readonly longDelayProbability: number;
  readonly longDelayMsMax: number;
}

/**
 * The simulated network between proposers and acceptors: messages arrive after seeded delays, in
 * order on each stream (a TCP connection), and are lost while their two ends are partitioned. The
 * clock is the simulator's (timers are faked), so a run is a function of its seed.
 */
export class SimNetwork {
  private readonly cut = new Set<string>();
  /** The time the last message on each stream arrives: a later one never overtakes it. */
  private readonly streamTail = new Map<string, number>();
  messages = 0;
  dropped = 0;

  constructor(
    private readonly rng: SeededRandom,
    private readonly opts: SimNetworkOptions,
  ) {}

  isCut(proposer: number, acceptor: number): boolean {
    return this.cut.has(`${proposer}/${acceptor}`);
  }

  partition(proposer: number, acceptor: number): void {
    this.cut.add(`${proposer}/${acceptor}`);
  }

  heal(): void {
    this.cut.clear();
  }

  healOne(): void {
    const first = this.cut.values().next();
    if (!first.done) this.cut.delete(first.value);
  }

  get partitions(): number {
    return this.cut.size;
  }

  /**
   * Carries one message from one end to the other on a stream: `deliver` runs on arrival unless
   * the two ends were partitioned when it was sent or when it arrives.
   */
  carry(proposer: number, acceptor: number, stream: string, deliver: () => void): void {
    this.messages++;
    if (this.isCut(proposer, acceptor)) {
      this.dropped++;
      return;
    }
    const now = Date.now();
    const long = this.rng.next() < this.opts.longDelayProbability;
    // Whole milliseconds, at least one: the faked timers fire in ms.
    const delay = Math.max(1, Math.round(long ? this.rng.next() * this.opts.longDelayMsMax : this.opts.delayMsMin + this.rng.next() * (this.opts.delayMsMax - this.opts.delayMsMin)));
    const key = `${proposer}/${acceptor}/${stream}`;
    const at = Math.max(now + delay, this.streamTail.get(key) ?? 0);
    this.streamTail.set(key, at);
    setTimeout(() => {
      if (this.isCut(proposer, acceptor)) {
        this.dropped++;
        return;
      }
      deliver();
    }, at - now);
  }
}
