// Integer polynomials in exact arithmetic: the discriminant (from the resultant of f and f', a
// Sylvester determinant by fraction-free Bareiss elimination) and integer square roots. Used to
// check a number field's stored discriminant against its defining polynomial.

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
 */
export function polynomialDiscriminant(coeffs: readonly bigint[]): bigint {
  const n = coeffs.length - 1;
  if (n < 1) throw new RangeError('the polynomial has degree 0');
  if (n > POLY_DEGREE_MAX) throw new RangeError(`degree ${n} is above the bound ${POLY_DEGREE_MAX}`);
  const lead = coeffs[n] as bigint;
  if (lead === 0n) throw new RangeError('the leading coefficient is 0');
  if (n === 1) return 1n;
  // Highest degree first for the Sylvester matrix.
  const f = [...coeffs].reverse();
  const df = f.slice(0, n).map((c, i) => c * BigInt(n - i));
  const size = 2 * n - 1;
  const rows: bigint[][] = [];
  for (let i = 0; i < n - 1; i++) rows.push(Array.from({ length: size }, (_, j) => (j >= i && j - i <= n ? (f[j - i] as bigint) : 0n)));
  for (let i = 0; i < n; i++) rows.push(Array.from({ length: size }, (_, j) => (j >= i && j - i <= n - 1 ? (df[j - i] as bigint) : 0n)));
  const res = determinant(rows);
  const sign = ((n * (n - 1)) / 2) % 2 === 0 ? 1n : -1n;
  if (res % lead !== 0n) throw new Error(`assertion: Res(f, f') = ${res} is not divisible by the leading coefficient ${lead}`);
  return (sign * res) / lead;
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
