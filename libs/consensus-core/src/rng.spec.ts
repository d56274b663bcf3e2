import { SeededRandom } from './rng';

describe('the seeded generator', () => {
  it('is deterministic per seed and stays in range', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42n);
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      expect(x).toBe(b.next());
      expect(x >= 0 && x < 1).toBe(true);
      const k = a.int(3, 7);
      b.int(3, 7);
      expect(k >= 3 && k < 7).toBe(true);
    }
    expect(new SeededRandom(1).next()).not.toBe(new SeededRandom(2).next());
    expect(new SeededRandom(7).fork('x').next()).toBe(new SeededRandom(7).fork('x').next());
  });
});
