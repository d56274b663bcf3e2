import { SORTED_BLOCK_NUMBERS, SortedNumbers } from './sorted-numbers';

describe('the registry\'s proposal numbers in sorted blocks', () => {
  it('lists what was inserted in any order, ascending, from any number', () => {
    let x = 11;
    const rnd = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x;
    };
    const s = new SortedNumbers();
    const held = new Set<bigint>();
    for (let i = 0; i < 6000; i++) {
      const n = i % 3 === 0 ? BigInt(10_000 - i) : BigInt(rnd() % 50_000);
      if (held.has(n)) continue;
      held.add(n);
      s.insert(n);
    }
    const sorted = [...held].sort((a, b) => (a < b ? -1 : 1));
    expect(s.size).toBe(held.size);
    expect(s.from(0n, held.size + 1)).toEqual(sorted);
    for (const from of [0n, 1n, 777n, 9_999n, 25_000n, 49_999n, 50_000n]) {
      const at = sorted.findIndex((n) => n >= from);
      expect(s.from(from, 50)).toEqual(at < 0 ? [] : sorted.slice(at, at + 50));
    }
    expect(SortedNumbers.fromAscending(sorted).from(777n, 3000)).toEqual(s.from(777n, 3000));
  });

  it('keeps its blocks bounded whatever order numbers come in, so an insertion moves one block', () => {
    // Proposals with descending numbers: each one went to the front of one array of all of them.
    const down = new SortedNumbers();
    for (let n = 20_000n; n > 0n; n--) down.insert(n);
    const up = new SortedNumbers();
    for (let n = 0n; n < 20_000n; n++) up.insert(n);
    expect([down.largestBlock <= 2 * SORTED_BLOCK_NUMBERS, up.largestBlock <= 2 * SORTED_BLOCK_NUMBERS]).toEqual([true, true]);
    expect(down.from(0n, 3)).toEqual([1n, 2n, 3n]);
    expect(down.from(19_999n, 5)).toEqual([19_999n, 20_000n]);
  });

  it('removes a held number from any block, and drops a block it empties', () => {
    const s = SortedNumbers.fromAscending(Array.from({ length: 3 * SORTED_BLOCK_NUMBERS }, (_, i) => BigInt(i)));
    for (let i = 0; i < SORTED_BLOCK_NUMBERS; i++) s.remove(BigInt(i));
    s.remove(BigInt(2 * SORTED_BLOCK_NUMBERS + 5));
    expect(s.size).toBe(2 * SORTED_BLOCK_NUMBERS - 1);
    expect(s.from(0n, 2)).toEqual([BigInt(SORTED_BLOCK_NUMBERS), BigInt(SORTED_BLOCK_NUMBERS + 1)]);
    expect(s.from(BigInt(2 * SORTED_BLOCK_NUMBERS + 4), 2)).toEqual([BigInt(2 * SORTED_BLOCK_NUMBERS + 4), BigInt(2 * SORTED_BLOCK_NUMBERS + 6)]);
    expect(() => s.remove(5n)).toThrow(/held/);
  });
});
