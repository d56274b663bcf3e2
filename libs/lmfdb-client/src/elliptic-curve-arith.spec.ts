import { primeFactors } from './elliptic-curve-arith';

/** The distinct primes of n by bigint trial division: the reference. */
function reference(n: bigint): bigint[] {
  const out: bigint[] = [];
  for (let d = 2n; d * d <= n; d++) {
    if (n % d !== 0n) continue;
    out.push(d);
    while (n % d === 0n) n /= d;
  }
  if (n > 1n) out.push(n);
  return out;
}

describe('primeFactors', () => {
  it('gives the distinct primes in increasing order', () => {
    expect(primeFactors(1n)).toEqual([]);
    expect(primeFactors(2n)).toEqual([2n]);
    expect(primeFactors(4n)).toEqual([2n]);
    expect(primeFactors(9n)).toEqual([3n]);
    expect(primeFactors(11n * 11n * 37n)).toEqual([11n, 37n]);
    expect(primeFactors(5077n)).toEqual([5077n]);
    expect(primeFactors(389n * 2n ** 5n)).toEqual([2n, 389n]);
  });

  it('is exact at the edge of the doubles and beyond it', () => {
    // 2^53 - 1 = 6361 * 69431 * 20394401, the largest n factored on doubles.
    expect(primeFactors(2n ** 53n - 1n)).toEqual([6361n, 69431n, 20394401n]);
    expect(primeFactors(2n ** 53n)).toEqual([2n]);
    expect(primeFactors(2n ** 53n + 1n)).toEqual(reference(2n ** 53n + 1n));
    // A prime near 10^12 (the conductors the minimality check factors) and its square's neighbour.
    expect(primeFactors(999_999_999_989n)).toEqual([999_999_999_989n]);
    expect(primeFactors(999_983n * 999_979n)).toEqual([999_979n, 999_983n]);
  });

  it('agrees with bigint division on seeded random n', () => {
    const seed = Number(process.env['FUZZ_SEED'] ?? 20261207);
    let x = seed >>> 0;
    const next = (): number => {
      // xorshift32: reproducible from the printed seed.
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x;
    };
    for (let i = 0; i < 300; i++) {
      const n = (BigInt(next()) * BigInt(next() % 4096)) % 10n ** 10n + 1n;
      expect({ seed, n, primes: primeFactors(n) }).toEqual({ seed, n, primes: reference(n) });
    }
  });
});
