// The proposal numbers the registry holds, ascending, in sorted blocks: a number that goes in
// below the largest moves the numbers of one block, not of the whole list. (One sorted array made
// a log of proposals with descending numbers quadratic to apply: every insertion moved every
// number above it, on every node.)

/** A block is split in two once it holds more than twice this many numbers. */
export const SORTED_BLOCK_NUMBERS = 1024;

export class SortedNumbers {
  /** Sorted blocks, none empty; every number of a block is below every number of the next. */
  private readonly blocks: bigint[][] = [];
  private count = 0;

  /** Numbers already ascending (a snapshot's), in blocks of SORTED_BLOCK_NUMBERS. */
  static fromAscending(sorted: readonly bigint[]): SortedNumbers {
    const s = new SortedNumbers();
    for (let i = 0; i < sorted.length; i += SORTED_BLOCK_NUMBERS) s.blocks.push(sorted.slice(i, i + SORTED_BLOCK_NUMBERS));
    s.count = sorted.length;
    return s;
  }

  get size(): number {
    return this.count;
  }

  /** The most numbers one block holds (at most twice SORTED_BLOCK_NUMBERS). */
  get largestBlock(): number {
    return this.blocks.reduce((m, b) => Math.max(m, b.length), 0);
  }

  /** Inserts n, which is not held yet. */
  insert(n: bigint): void {
    if (this.blocks.length === 0) {
      this.blocks.push([n]);
      this.count = 1;
      return;
    }
    // The block n falls in; past the largest number, the last block.
    const b = Math.min(this.blockFor(n), this.blocks.length - 1);
    const block = this.blocks[b] as bigint[];
    const at = lowerBound(block, n);
    if (at === block.length) block.push(n);
    else block.splice(at, 0, n);
    this.count += 1;
    if (block.length > 2 * SORTED_BLOCK_NUMBERS) this.blocks.splice(b + 1, 0, block.splice(SORTED_BLOCK_NUMBERS));
  }

  /** Removes n, which is held. */
  remove(n: bigint): void {
    const b = this.blockFor(n);
    const block = this.blocks[b];
    const at = block === undefined ? -1 : lowerBound(block, n);
    if (block === undefined || block[at] !== n) throw new Error(`assertion: ${n} is held to be removed`);
    block.splice(at, 1);
    this.count -= 1;
    if (block.length === 0) this.blocks.splice(b, 1);
  }

  /** The numbers >= from, ascending, at most max. */
  from(from: bigint, max: number): bigint[] {
    const out: bigint[] = [];
    const first = this.blockFor(from);
    for (let b = first; b < this.blocks.length && out.length < max; b++) {
      const block = this.blocks[b] as bigint[];
      for (let i = b === first ? lowerBound(block, from) : 0; i < block.length && out.length < max; i++) out.push(block[i] as bigint);
    }
    return out;
  }

  /** The first block whose largest number is >= n (the number of blocks when none is). */
  private blockFor(n: bigint): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (((this.blocks[mid] as bigint[]).at(-1) as bigint) < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The first index of the ascending `sorted` whose number is >= n. */
function lowerBound(sorted: readonly bigint[], n: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as bigint) < n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
