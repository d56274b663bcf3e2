// A token bucket: a budget that refills at a rate up to a burst. Callers check `available` before
// costly work and `spend` what it cost after (so a measured cost may take it below zero, and the
// next caller waits for the refill).

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    /** Tokens added per second. */
    readonly perSecond: number,
    /** Most tokens held. */
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0 && burst > 0)) throw new Error(`token bucket: rate ${perSecond} and burst ${burst} must be positive`);
    this.tokens = burst;
    this.at = now();
  }

  /** Tokens there now (negative after an overspend). */
  get available(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.perSecond) / 1000);
    this.at = t;
    return this.tokens;
  }

  spend(amount: number): void {
    void this.available;
    this.tokens -= amount;
  }

  /** Milliseconds until the bucket holds at least `amount` (0 when it does now; more than the burst counts as the burst). */
  msUntil(amount = 0): number {
    const missing = Math.min(amount, this.burst) - this.available;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.perSecond);
  }
}
