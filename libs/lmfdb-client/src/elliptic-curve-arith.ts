// Elliptic curves over the integers, computed from first principles in exact arithmetic: the
// number of points of the reduction mod p, a_p, the coefficients a_n of the L-series, and the
// torsion consistency check. Nothing here is floating point; every computation has a bound.
//
// For a model that is minimal at p (LMFDB's ainvs are global minimal models),
// a_p = p + 1 - #E~(F_p), where #E~(F_p) counts the projective points of the reduced Weierstrass
// curve, the singular point included when the reduction is bad: that gives a_p = 1 (split
// multiplicative), -1 (non-split) and 0 (additive) at the bad primes, as LMFDB stores them.

/** Largest prime a_p is computed for (each costs O(p) steps). */
export const AP_PRIME_MAX = 1000;
/** Largest n of an a_n list. */
export const AN_LIST_MAX = 1000;

/** The primes up to n (n at most 10^6), by a sieve. */
export function primesUpTo(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000) throw new RangeError(`primesUpTo(${n}): n must be an integer in 0..1000000`);
  const composite = new Uint8Array(n + 1);
  const primes: number[] = [];
  for (let i = 2; i <= n; i++) {
    if (composite[i]) continue;
    primes.push(i);
    for (let j = i * i; j <= n; j += i) composite[j] = 1;
  }
  return primes;
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** a mod p in 0..p-1 (a any size). */
export function modP(a: bigint, p: number): number {
  const r = Number(a % BigInt(p));
  return r < 0 ? r + p : r;
}

/**
 * #E~(F_p): the projective points of y^2 + a1 xy + a3 y = x^3 + a2 x^2 + a4 x + a6 reduced mod p,
 * the point at infinity included. p must be a prime up to AP_PRIME_MAX.
 */
export function countPointsModP(ainvs: readonly bigint[], p: number): number {
  if (ainvs.length !== 5) throw new RangeError(`ainvs has ${ainvs.length} entries, not 5`);
  if (!isPrime(p) || p > AP_PRIME_MAX) throw new RangeError(`p = ${p} must be a prime up to ${AP_PRIME_MAX}`);
  const a1 = modP(ainvs[0] as bigint, p);
  const a2 = modP(ainvs[1] as bigint, p);
  const a3 = modP(ainvs[2] as bigint, p);
  const a4 = modP(ainvs[3] as bigint, p);
  const a6 = modP(ainvs[4] as bigint, p);
  let count = 1; // the point at infinity
  if (p === 2) {
    for (let x = 0; x < 2; x++) {
      for (let y = 0; y < 2; y++) if ((y * y + a1 * x * y + a3 * y - (x * x * x + a2 * x * x + a4 * x + a6)) % 2 === 0) count++;
    }
    return count;
  }
  // Odd p: y^2 + b y = c has 1 + (D/p) solutions, D = b^2 + 4c with b = a1 x + a3 and
  // c = x^3 + a2 x^2 + a4 x + a6: D(x) = 4x^3 + (a1^2 + 4 a2) x^2 + (2 a1 a3 + 4 a4) x + a3^2 + 4 a6,
  // stepped through x = 0, 1, ... by its finite differences (additions mod p; the third is 24).
  const isSquare = squaresModP(p);
  const c2 = (a1 * a1 + 4 * a2) % p;
  const c1 = (2 * a1 * a3 + 4 * a4) % p;
  const c0 = (a3 * a3 + 4 * a6) % p;
  let d = c0; // D(0)
  let d1 = (4 + c2 + c1) % p; // D(1) - D(0)
  let d2 = (24 + 2 * c2) % p; // D(2) - 2 D(1) + D(0)
  const d3 = 24 % p;
  for (let x = 0; x < p; x++) {
    count += 1 + (isSquare[d] as number);
    d += d1;
    if (d >= p) d -= p;
    d1 += d2;
    if (d1 >= p) d1 -= p;
    d2 += d3;
    if (d2 >= p) d2 -= p;
  }
  return count;
}

/** For each odd prime p up to AP_PRIME_MAX, once: the quadratic character of 0..p-1 (1 a non-zero square, 0 zero, -1 a non-square). */
const squareTables: (Int8Array | undefined)[] = [];
function squaresModP(p: number): Int8Array {
  const known = squareTables[p];
  if (known) return known;
  const table = new Int8Array(p);
  table.fill(-1);
  table[0] = 0;
  for (let y = 1; y < p; y++) table[(y * y) % p] = 1;
  squareTables[p] = table;
  return table;
}

/** a_p = p + 1 - #E~(F_p) for a model minimal at p. */
export function apModP(ainvs: readonly bigint[], p: number): number {
  return p + 1 - countPointsModP(ainvs, p);
}

/**
 * a_1 .. a_n of the curve's L-series (n up to AN_LIST_MAX): a_p by counting, a_{p^k} by the Hecke
 * recursion (a_p a_{p^(k-1)} - p a_{p^(k-2)} at good p, a_p^k at bad p), multiplicative in between.
 * `disc` is the model's discriminant (its prime divisors are the bad primes of a minimal model).
 */
export function anList(ainvs: readonly bigint[], disc: bigint, n: number): bigint[] {
  if (!Number.isInteger(n) || n < 1 || n > AN_LIST_MAX) throw new RangeError(`n = ${n} must be 1..${AN_LIST_MAX}`);
  const a: bigint[] = new Array<bigint>(n + 1).fill(0n);
  a[1] = 1n;
  const done = new Uint8Array(n + 1);
  done[1] = 1;
  for (const p of primesUpTo(n)) {
    const ap = BigInt(apModP(ainvs, p));
    const good = disc % BigInt(p) !== 0n;
    const P = BigInt(p);
    // prime powers
    let prev2 = 1n;
    let prev = ap;
    a[p] = ap;
    done[p] = 1;
    for (let q = p * p; q <= n; q *= p) {
      const next = good ? ap * prev - P * prev2 : ap * prev;
      a[q] = next;
      done[q] = 1;
      prev2 = prev;
      prev = next;
    }
  }
  // multiplicative: a_{m} = a_{p^k} a_{m / p^k} for the largest power of the smallest prime
  for (let m = 2; m <= n; m++) {
    if (done[m]) continue;
    let p = 2;
    while (m % p !== 0) p++;
    let q = p;
    while ((m / q) % p === 0) q *= p;
    a[m] = (a[q] as bigint) * (a[m / q] as bigint);
    done[m] = 1;
  }
  return a.slice(1);
}

/**
 * The torsion consistency check: the torsion subgroup injects into E~(F_p) for every odd prime
 * p of good reduction, so its order divides #E~(F_p) there. Returns the first prime (up to
 * `primeBound`) where it does not, with the count; undefined when it divides every one.
 */
export function torsionMismatch(ainvs: readonly bigint[], disc: bigint, torsion: bigint, primeBound = 200): { p: number; points: number } | undefined {
  if (torsion < 1n) return { p: 0, points: 0 };
  for (const p of primesUpTo(Math.min(primeBound, AP_PRIME_MAX))) {
    if (p === 2 || disc % BigInt(p) === 0n) continue;
    const points = countPointsModP(ainvs, p);
    if (BigInt(points) % torsion !== 0n) return { p, points };
  }
  return undefined;
}

/** The distinct primes of n > 0, by trial division (the caller bounds n). */
export function primeFactors(n: bigint): bigint[] {
  // Up to 2^53 the division runs on doubles, exactly, over 2 and the odd numbers: a prime near
  // 10^12 took 52 ms of bigint divisions (a hostile page of 100 such rows, 5 s of a node's load),
  // about a fifteenth of that this way.
  if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return primeFactorsSafe(Number(n)).map(BigInt);
  const out: bigint[] = [];
  // Bounded by sqrt(n) divisions.
  for (let d = 2n; d * d <= n; d += d === 2n ? 1n : 2n) {
    if (n % d !== 0n) continue;
    out.push(d);
    while (n % d === 0n) n /= d;
  }
  if (n > 1n) out.push(n);
  return out;
}

function primeFactorsSafe(n: number): number[] {
  const out: number[] = [];
  // Bounded by sqrt(n) / 2 divisions: 2, then the odd numbers.
  for (let d = 2; d * d <= n; d += d === 2 ? 1 : 2) {
    if (n % d !== 0) continue;
    out.push(d);
    while (n % d === 0) n /= d;
  }
  if (n > 1) out.push(n);
  return out;
}

/** v_p(n) for a prime p; infinite for n = 0. */
export function valuation(n: bigint, p: bigint): number {
  if (n === 0n) return Number.POSITIVE_INFINITY;
  let m = n < 0n ? -n : n;
  let v = 0;
  // Bounded: m shrinks by a factor p every turn.
  while (m % p === 0n) {
    m /= p;
    v += 1;
  }
  return v;
}

/**
 * A model that is not minimal at a prime p >= 5: p^12 divides its discriminant, p^4 its c4 and p^6
 * its c6 (then a change of variables divides them out). For p = 2, 3 the test is not this simple.
 */
export function notMinimalAt(inv: { readonly disc: bigint; readonly c4: bigint; readonly c6: bigint }, p: bigint): boolean {
  return p >= 5n && valuation(inv.disc, p) >= 12 && valuation(inv.c4, p) >= 4 && valuation(inv.c6, p) >= 6;
}
