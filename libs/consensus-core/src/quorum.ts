import { assert } from './assert';

export const DEFAULT_CLUSTER_SIZE = 23;

/**
 * Quorum arithmetic, derived and asserted (DESIGN section 3): any two quorums intersect (2q > n).
 */
export class Quorum {
  readonly n: number;
  readonly q: number;
  readonly crashTolerance: number;
  readonly byzantineTolerance: number;

  constructor(n: number, q?: number, skipIntersectionCheckForTesting = false) {
    const quorumSize = q ?? Math.floor(n / 2) + 1;
    assert(Number.isInteger(n) && n >= 1, `cluster size must be a positive integer (got ${n})`);
    assert(Number.isInteger(quorumSize), `quorum must be an integer (got ${quorumSize})`);
    assert(quorumSize >= 1 && quorumSize <= n, `quorum must satisfy 1 <= q <= n (got q=${quorumSize}, n=${n})`);
    if (!skipIntersectionCheckForTesting) {
      assert(2 * quorumSize > n, `quorums must intersect: 2q > n fails for q=${quorumSize}, n=${n}`);
    }
    this.n = n;
    this.q = quorumSize;
    this.crashTolerance = n - quorumSize;
    this.byzantineTolerance = Math.max(0, Math.min(2 * quorumSize - n - 1, n - quorumSize));
  }

  static majority(n: number): Quorum {
    return new Quorum(n);
  }

  /** True when quorums of this size always intersect (false only for the test-only unsafe path). */
  get intersecting(): boolean {
    return 2 * this.q > this.n;
  }

  isQuorum(count: number): boolean {
    return count >= this.q;
  }

  /**
   * The highest index that at least q of the given indexes (one per acceptor) reach: slots below
   * it are committed at a quorum, by those reports. Undefined for fewer than q reports.
   */
  reachedByQuorum(indexes: Iterable<bigint>): bigint | undefined {
    const sorted = [...indexes].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    return sorted[this.q - 1];
  }
}

/** The one test-only path that skips the 2q > n assertion (negative controls of the simulator). */
export function unsafeQuorumForTesting(n: number, q: number): Quorum {
  return new Quorum(n, q, true);
}

/** Counts distinct node ids answering yes or no; duplicates are ignored. */
export class QuorumTracker {
  private readonly quorum: Quorum;
  private readonly yesIds = new Set<number>();
  private readonly noIds = new Set<number>();

  constructor(quorum: Quorum) {
    this.quorum = quorum;
  }

  recordYes(nodeId: number): void {
    if (this.yesIds.has(nodeId)) return;
    this.noIds.delete(nodeId);
    this.yesIds.add(nodeId);
    assert(this.yesIds.size + this.noIds.size <= this.quorum.n, 'more answers than nodes');
  }

  recordNo(nodeId: number): void {
    if (this.yesIds.has(nodeId) || this.noIds.has(nodeId)) return;
    this.noIds.add(nodeId);
    assert(this.yesIds.size + this.noIds.size <= this.quorum.n, 'more answers than nodes');
  }

  hasYes(nodeId: number): boolean {
    return this.yesIds.has(nodeId);
  }

  /** Forget the "no" answers (a retransmission gives those nodes another chance). */
  clearNo(): void {
    this.noIds.clear();
  }

  get yes(): number {
    return this.yesIds.size;
  }

  get no(): number {
    return this.noIds.size;
  }

  get reached(): boolean {
    return this.yesIds.size >= this.quorum.q;
  }

  get impossible(): boolean {
    return this.quorum.n - this.noIds.size < this.quorum.q;
  }
}
