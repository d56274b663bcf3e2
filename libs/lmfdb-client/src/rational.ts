// Exact rationals over bigint with a positive denominator: rational() reduces; a parsed claim is
// kept as written (reducing a huge one costs a quadratic gcd), and ratEquals cross-multiplies.

export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

export function abs(a: bigint): bigint {
  return a < 0n ? -a : a;
}

export function gcd(a: bigint, b: bigint): bigint {
  a = abs(a);
  b = abs(b);
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function rational(num: bigint, den = 1n): Rational {
  if (den === 0n) throw new RangeError('rational with denominator 0');
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

export function ratEquals(a: Rational, b: Rational): boolean {
  if (a.den === 0n || b.den === 0n) throw new RangeError('rational with denominator 0');
  // a/b = c/d iff a*d = c*b, with both denominators made positive.
  const [an, ad] = a.den < 0n ? [-a.num, -a.den] : [a.num, a.den];
  const [bn, bd] = b.den < 0n ? [-b.num, -b.den] : [b.num, b.den];
  return an * bd === bn * ad;
}

/** "n/d", or "n" when d = 1. */
export function formatRational(r: Rational): string {
  const x = rational(r.num, r.den);
  return x.den === 1n ? `${x.num}` : `${x.num}/${x.den}`;
}

/**
 * Parses "n/d" or "n" (integers, optional sign on n or d), not reduced, with the sign moved to the
 * numerator ("1/-2" is -1/2, as "-2/4" is); undefined when it is not that.
 */
export function parseRational(text: string): Rational | undefined {
  const m = /^\s*([+-]?\d+)\s*(?:\/\s*([+-]?\d+)\s*)?$/.exec(text);
  if (!m) return undefined;
  const den = m[2] === undefined ? 1n : BigInt(m[2]);
  if (den === 0n) return undefined;
  const num = BigInt(m[1]);
  return den < 0n ? { num: -num, den: -den } : { num, den };
}
