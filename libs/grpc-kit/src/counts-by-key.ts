// Places held per key: a client, a host. Every per-client bound of the project counts here. A key
// that holds no place is forgotten at once, so the map never holds more keys than places are held
// (a client that opens and closes a stream a million times leaves nothing behind).

/** Counts the places each key holds, at most `maxPerKey` each. */
export class CountsByKey<K = string> {
  private readonly held = new Map<K, number>();
  constructor(readonly maxPerKey = Infinity) {}

  /** Places `key` holds now (0 when none). */
  of(key: K): number {
    return this.held.get(key) ?? 0;
  }

  /** Takes a place for `key`; false, taking none, when it holds `maxPerKey` already. */
  take(key: K): boolean {
    const own = this.of(key);
    if (own >= this.maxPerKey) return false;
    this.held.set(key, own + 1);
    return true;
  }

  /** Gives one of `key`'s places back (nothing when it holds none). */
  give(key: K): void {
    const left = this.of(key) - 1;
    if (left > 0) this.held.set(key, left);
    else this.held.delete(key);
  }

  /** Keys holding a place (at most the places held). */
  get keys(): number {
    return this.held.size;
  }

  clear(): void {
    this.held.clear();
  }
}
