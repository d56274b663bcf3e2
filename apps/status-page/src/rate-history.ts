// Throughput and latency over the last minutes, from successive readings of the proposer's
// counters: commands and slots chosen per second, and propose latency quantiles from the
// histogram's bucket counts in each interval (as Prometheus's histogram_quantile computes them).

/** One reading of the proposer's cumulative figures. */
export interface ProposerReading {
  /** When it was read, wall-clock ms: the chart's time axis. */
  readonly at: number;
  /** When it was read on performance.now()'s clock: the intervals rates are taken over (a step of the wall clock does not make one negative or an hour long). */
  readonly elapsedMs: number;
  readonly chosenCommands: number;
  readonly deliveredSlot: number;
  /** Cumulative bucket counts of propose latency (seconds upper bound -> answers), every API, chosen answers. */
  readonly latencyBuckets: ReadonlyMap<number, number>;
}

export interface RatePoint {
  /** End of the interval (ms since the epoch). */
  readonly at: number;
  readonly commandsPerSecond: number;
  readonly slotsPerSecond: number;
  /** Propose latency in the interval (absent when nothing was answered). */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
}

/**
 * The q-quantile of a histogram given as cumulative counts by upper bound, interpolated linearly
 * within the bucket it falls in; undefined when the histogram is empty. Falling in the +Inf
 * bucket gives the largest finite bound.
 */
export function quantileFromBuckets(buckets: ReadonlyArray<readonly [number, number]>, q: number): number | undefined {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.length > 0 ? (sorted[sorted.length - 1] as readonly [number, number])[1] : 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? bound : lowerBound + (bound - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/** The rate points of the last `maxPoints` intervals; a counter that went back (a restarted proposer) starts afresh. */
export class RateHistory {
  private last: ProposerReading | undefined;
  private readonly points: RatePoint[] = [];
  /**
   * After a restart: the slot its last incarnation had delivered up to. A restarted proposer first
   * delivers the log it learns, which is not throughput; it may read 0 for a few polls first (it
   * connects and runs phase 1), so every interval that starts below this slot is left out.
   */
  private relearnBelowSlot = 0;
  /** A reading was missed since `last`: the next one starts a new interval (but is still compared with `last`, to see a restart). */
  private missed = false;

  constructor(private readonly maxPoints: number) {}

  add(r: ProposerReading): RatePoint | undefined {
    const prev = this.last;
    const missed = this.missed;
    this.last = r;
    this.missed = false;
    const restarted = prev !== undefined && (r.chosenCommands < prev.chosenCommands || r.deliveredSlot < prev.deliveredSlot);
    if (restarted) this.relearnBelowSlot = Math.max(this.relearnBelowSlot, prev.deliveredSlot);
    if (!prev || missed || restarted || r.elapsedMs <= prev.elapsedMs) return undefined;
    if (prev.deliveredSlot < this.relearnBelowSlot) return undefined;
    this.relearnBelowSlot = 0;
    const seconds = (r.elapsedMs - prev.elapsedMs) / 1000;
    const delta: Array<[number, number]> = [];
    for (const [bound, count] of r.latencyBuckets) delta.push([bound, Math.max(0, count - (prev.latencyBuckets.get(bound) ?? 0))]);
    const p50 = quantileFromBuckets(delta, 0.5);
    const p99 = quantileFromBuckets(delta, 0.99);
    const point: RatePoint = {
      at: r.at,
      commandsPerSecond: (r.chosenCommands - prev.chosenCommands) / seconds,
      slotsPerSecond: (r.deliveredSlot - prev.deliveredSlot) / seconds,
      ...(p50 !== undefined ? { p50Ms: p50 * 1000 } : {}),
      ...(p99 !== undefined ? { p99Ms: p99 * 1000 } : {}),
    };
    this.points.push(point);
    if (this.points.length > this.maxPoints) this.points.splice(0, this.points.length - this.maxPoints);
    return point;
  }

  /**
   * A reading was missed (the proposer did not answer): the next interval starts from the next
   * reading. The last reading is kept to compare it with: a proposer killed and restarted is
   * missed for a poll or more, and its counters that went back must still be seen.
   */
  gap(): void {
    this.missed = true;
  }

  all(): readonly RatePoint[] {
    return this.points;
  }
}
