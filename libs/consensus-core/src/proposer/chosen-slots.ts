import { assert } from '../assert';

/** Which slots this proposer knows to be decided: a contiguous prefix plus a sparse set above it. */
export class ChosenSlots {
  private prefix = 0n;
  private readonly above = new Set<bigint>();

  /** Every slot below this is known decided. */
  get prefixEnd(): bigint {
    return this.prefix;
  }

  has(slot: bigint): boolean {
    return slot < this.prefix || this.above.has(slot);
  }

  mark(slot: bigint): void {
    assert(slot >= 0n, 'slot must be >= 0');
    if (slot < this.prefix) return;
    this.above.add(slot);
    this.advance();
  }

  /** Everything below `slot` is decided (learned from an acceptor's committed index). */
  markBelow(slot: bigint): void {
    if (slot <= this.prefix) return;
    this.prefix = slot;
    for (const s of [...this.above]) if (s < slot) this.above.delete(s);
    this.advance();
  }

  private advance(): void {
    for (let guard = this.above.size; this.above.delete(this.prefix); guard--) {
      assert(guard > 0, 'prefix advance is bounded by the sparse set');
      this.prefix += 1n;
    }
  }
}
