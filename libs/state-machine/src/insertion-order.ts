// The keys of a Map in the order they went in, so that the oldest is found in O(1). A Map's own
// iterator, asked for its first key after the oldest were deleted, walks past every entry deleted
// at its front since the table was last rebuilt (up to its size): evicting the oldest entry that
// way costs O(n) per eviction once a bounded map is full.

/** Keys in insertion order, a queue; keys deleted from the map are skipped when met. */
export class InsertionOrder<K> {
  private keys: K[] = [];
  private head = 0;

  /** Records a key new to the map (a key set again keeps its first place, as in a Map). */
  added(key: K): void {
    this.keys.push(key);
  }

  /** The oldest key `held` still holds, taken out of the order (undefined when none is). */
  takeOldest(held: (key: K) => boolean): K | undefined {
    while (this.head < this.keys.length) {
      const key = this.keys[this.head] as K;
      this.head += 1;
      this.compact();
      if (held(key)) return key;
    }
    return undefined;
  }

  /** Drops the keys at the front that `held` no longer holds (deleted from the map by other paths). */
  prune(held: (key: K) => boolean): void {
    while (this.head < this.keys.length && !held(this.keys[this.head] as K)) {
      this.head += 1;
      this.compact();
    }
  }

  /** Keys in the queue, taken ones excluded (at most the map's size plus those it deleted). */
  get length(): number {
    return this.keys.length - this.head;
  }

  /** Drops the taken keys once they are half the array: O(1) amortized per key. */
  private compact(): void {
    if (this.head >= 1024 && this.head * 2 >= this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.head = 0;
    }
  }
}
