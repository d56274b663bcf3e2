// Integer polynomials in exact arithmetic: the discriminant (from the resultant of f and f',
// computed modulo many primes and put together by the Chinese remainder theorem, within a proven
// bound on its size; or, as a reference, a Sylvester determinant by fraction-free Bareiss
// elimination) and integer square roots. Used to check a number field's stored discriminant
// against its defining polynomial.

/** Largest degree whose discriminant is computed (the Sylvester matrix has 2n - 1 rows). */
export const POLY_DEGREE_MAX = 40;

/** Determinant of a square bigint matrix, exactly (Bareiss: every division is exact). */
export function determinant(matrix: readonly (readonly bigint[])[]): bigint {
  const n = matrix.length;
  if (n === 0) return 1n;
  const m = matrix.map((row) => {
    if (row.length !== n) throw new RangeError('determinant: the matrix is not square');
    return [...row];
  });
  let sign = 1n;
  let prevPivot = 1n;
  for (let k = 0; k < n - 1; k++) {
    if ((m[k] as bigint[])[k] === 0n) {
      let swap = k + 1;
      while (swap < n && (m[swap] as bigint[])[k] === 0n) swap++;
      if (swap === n) return 0n;
      [m[k], m[swap]] = [m[swap] as bigint[], m[k] as bigint[]];
      sign = -sign;
    }
    const rk = m[k] as bigint[];
    const pivot = rk[k] as bigint;
    for (let i = k + 1; i < n; i++) {
      const ri = m[i] as bigint[];
      for (let j = k + 1; j < n; j++) ri[j] = ((ri[j] as bigint) * pivot - (ri[k] as bigint) * (rk[j] as bigint)) / prevPivot;
      ri[k] = 0n;
    }
    prevPivot = pivot;
  }
  return sign * ((m[n - 1] as bigint[])[n - 1] as bigint);
}

/**
 * The discriminant of f = c[0] + c[1] x + ... + c[n] x^n (coefficients constant first, as LMFDB
 * stores them), n >= 1 and c[n] != 0: (-1)^(n(n-1)/2) Res(f, f') / c[n].
 *
 * Res(f, f') is computed modulo primes just below 2^26 (Euclid's algorithm on the reductions, in
 * double arithmetic: every product is below 2^52, exact) until their product passes twice
 * Hadamard's bound ||f||^(n-1) ||f'||^n on |Res|, then put together by the Chinese remainder
 * theorem: the same integer as the Sylvester determinant (polynomialDiscriminantBareiss), which
 * takes about 60 times as long at degree 40 with 64-bit coefficients, the record check's bound
 * (`npm run bench:lmfdb` prints both). A bound past the primes held falls back to the determinant.
 */
export function polynomialDiscriminant(coeffs: readonly bigint[]): bigint {
  const n = checkedDegree(coeffs);
  if (n === 1) return 1n;
  const lead = coeffs[n] as bigint;
  const res = resultantWithDerivative(coeffs);
  if (res === undefined) return polynomialDiscriminantBareiss(coeffs);
  return discriminantFromResultant(n, res, lead);
}

function checkedDegree(coeffs: readonly bigint[]): number {
  const n = coeffs.length - 1;
  if (n < 1) throw new RangeError('the polynomial has degree 0');
  if (n > POLY_DEGREE_MAX) throw new RangeError(`degree ${n} is above the bound ${POLY_DEGREE_MAX}`);
  if (coeffs[n] === 0n) throw new RangeError('the leading coefficient is 0');
  return n;
}

function discriminantFromResultant(n: number, res: bigint, lead: bigint): bigint {
  const sign = ((n * (n - 1)) / 2) % 2 === 0 ? 1n : -1n;
  if (res % lead !== 0n) throw new Error(`assertion: Res(f, f') = ${res} is not divisible by the leading coefficient ${lead}`);
  return (sign * res) / lead;
}

/**
 * The primes of [2^26 - 2^18, 2^26) (each product of two residues is below 2^52), from the top
 * down: about 14,000, a proven bound of about 350,000 bits. Sieved a segment at a time, as far as
 * a discriminant has needed them: a node's start checks small fields, which take a prime or a few,
 * and sieving all of them cost it more than its checks.
 */
const MOD_PRIMES_HI = 2 ** 26;
const MOD_PRIMES_LO = MOD_PRIMES_HI - 2 ** 18;
const MOD_PRIMES_SEGMENT = 2 ** 12;
const modPrimes: number[] = [];
/** modPrimes holds every prime of [modPrimesFrom, MOD_PRIMES_HI). */
let modPrimesFrom = MOD_PRIMES_HI;
/** The primes d with d^2 < 2^26, which sieve the segments. */
let sievingPrimes: number[] | undefined;

/** The i-th prime below 2^26 from the top (i from 0), or undefined past the last one held. */
function modPrime(i: number): number | undefined {
  while (modPrimes.length <= i && modPrimesFrom > MOD_PRIMES_LO) sieveNextSegment();
  return modPrimes[i];
}

function sieveNextSegment(): void {
  if (!sievingPrimes) {
    sievingPrimes = [];
    const bound = Math.ceil(Math.sqrt(MOD_PRIMES_HI)); // 2^13
    const composite = new Uint8Array(bound);
    for (let d = 2; d < bound; d++) {
      if (composite[d]) continue;
      sievingPrimes.push(d);
      for (let m = d * d; m < bound; m += d) composite[m] = 1;
    }
  }
  const hi = modPrimesFrom;
  const lo = Math.max(MOD_PRIMES_LO, hi - MOD_PRIMES_SEGMENT);
  const composite = new Uint8Array(hi - lo);
  for (const d of sievingPrimes) for (let m = Math.ceil(lo / d) * d; m < hi; m += d) composite[m - lo] = 1;
  for (let x = hi - 1; x >= lo; x--) if (!composite[x - lo]) modPrimes.push(x);
  modPrimesFrom = lo;
}

const mulMod = (a: number, b: number, p: number): number => (a * b) % p;

function powMod(a: number, e: number, p: number): number {
  let r = 1;
  let b = a % p;
  while (e > 0) {
    if (e & 1) r = mulMod(r, b, p);
    b = mulMod(b, b, p);
    e = Math.floor(e / 2);
  }
  return r;
}

/** a^-1 mod p (a not 0 mod p), by Euclid's algorithm. */
function invMod(a: number, p: number): number {
  let [r0, r1, s0, s1] = [p, a % p, 0, 1];
  while (r1 !== 0) {
    const q = Math.floor(r0 / r1);
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % p) + p) % p;
}

/** The degree of a (coefficients constant first, values in 0..p-1), -1 for 0. */
function degreeOf(a: number[]): number {
  let d = a.length - 1;
  while (d >= 0 && a[d] === 0) d--;
  return d;
}

/**
 * Res(a, b) mod p of two polynomials of degrees da, db >= 0 (leading coefficients not 0 mod p),
 * by Euclid: Res(A, B) = (-1)^(da db) lc(B)^(da - dr) Res(B, A mod B), Res(A, c) = c^da.
 */
function resultantModP(a0: number[], b0: number[], p: number): number {
  let a = a0.slice();
  let b = b0.slice();
  let da = degreeOf(a);
  let db = degreeOf(b);
  let res = 1;
  for (;;) {
    if (db < 0) return 0;
    if (db === 0) return mulMod(res, powMod(b[0] as number, da, p), p);
    // a mod b, in place in a.
    const lb = b[db] as number;
    const inv = invMod(lb, p);
    for (let i = da; i >= db; i--) {
      const c = a[i] as number;
      if (c === 0) continue;
      const q = mulMod(c, inv, p);
      for (let j = 0; j <= db; j++) {
        const v = (a[i - db + j] as number) - mulMod(q, b[j] as number, p);
        a[i - db + j] = v < 0 ? v + p : v;
      }
    }
    a.length = db;
    const dr = degreeOf(a);
    if (dr < 0) return 0;
    res = mulMod(res, powMod(lb, da - dr, p), p);
    if ((da * db) % 2 === 1) res = (p - res) % p;
    [a, b] = [b, a];
    da = db;
    db = dr;
  }
}

const bitLen = (v: bigint): number => (v === 0n ? 0 : (v < 0n ? -v : v).toString(2).length);

/**
 * Res(f, f') (with the formal degrees n and n - 1, as the Sylvester matrix has them) by the
 * Chinese remainder theorem over primes that divide neither the leading coefficient of f nor
 * that of f' (those keep both degrees, so the resultant of the reductions is the reduction of the
 * resultant); undefined when Hadamard's bound needs more primes than are held.
 */
function resultantWithDerivative(coeffs: readonly bigint[]): bigint | undefined {
  const n = coeffs.length - 1;
  const df = coeffs.slice(1).map((c, i) => c * BigInt(i + 1));
  // |Res|^2 <= ||f||^(2(n-1)) ||f'||^(2n) (Hadamard, on the Sylvester matrix's rows).
  const norm2 = (cs: readonly bigint[]) => cs.reduce((s, c) => s + c * c, 0n);
  const boundSquared = norm2(coeffs) ** BigInt(n - 1) * norm2(df) ** BigInt(n);
  // A modulus M of more than bits(boundSquared)/2 + 2 bits is above twice |Res|: the residue
  // taken in (-M/2, M/2] is Res itself.
  const bitsNeeded = Math.ceil(bitLen(boundSquared) / 2) + 2;
  const lead = coeffs[n] as bigint;
  const leadDf = df[n - 1] as bigint;
  let x = 0n;
  let m = 1n;
  // Every prime is above 2^25: m > 2^(25 k) after k of them.
  let mBits = 0;
  for (let i = 0; mBits <= bitsNeeded; i++) {
    const p = modPrime(i);
    if (p === undefined) break;
    const P = BigInt(p);
    if (lead % P === 0n || leadDf % P === 0n) continue;
    const reduce = (cs: readonly bigint[]) => cs.map((c) => Number(((c % P) + P) % P));
    const r = resultantModP(reduce(coeffs), reduce(df), p);
    // Garner: x + m t = r (mod p).
    const t = mulMod((((r - Number(x % P)) % p) + p) % p, invMod(Number(m % P), p), p);
    x += m * BigInt(t);
    m *= P;
    mBits += 25;
  }
  if (mBits <= bitsNeeded) return undefined;
  return x > m / 2n ? x - m : x;
}

/** polynomialDiscriminant by the Sylvester determinant (Bareiss): the reference, O(n^3) operations on growing integers. */
export function polynomialDiscriminantBareiss(coeffs: readonly bigint[]): bigint {
  const n = checkedDegree(coeffs);
  if (n === 1) return 1n;
  const lead = coeffs[n] as bigint;
  // Highest degree first for the Sylvester matrix.
  const f = [...coeffs].reverse();
  const df = f.slice(0, n).map((c, i) => c * BigInt(n - i));
  const size = 2 * n - 1;
  const rows: bigint[][] = [];
  for (let i = 0; i < n - 1; i++) rows.push(Array.from({ length: size }, (_, j) => (j >= i && j - i <= n ? (f[j - i] as bigint) : 0n)));
  for (let i = 0; i < n; i++) rows.push(Array.from({ length: size }, (_, j) => (j >= i && j - i <= n - 1 ? (df[j - i] as bigint) : 0n)));
  return discriminantFromResultant(n, determinant(rows), lead);
}

/** floor(sqrt(n)) for n >= 0. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt of a negative number');
  if (n < 2n) return n;
  // Newton's iteration from a start at or above the root decreases to it.
  let x = n < 1n << 52n ? BigInt(Math.floor(Math.sqrt(Number(n)))) + 1n : 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

/** The square root of n when n is a perfect square, else undefined. */
export function exactSqrt(n: bigint): bigint | undefined {
  if (n < 0n) return undefined;
  const r = isqrt(n);
  return r * r === n ? r : undefined;
}
