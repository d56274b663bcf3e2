// Exact rationals over bigint with a positive denominator: rational() reduces; a parsed claim is
// kept as written (reducing a huge one costs a quadratic gcd), and ratEquals cross-multiplies.
import { digitCount, TEXT_INTEGER_DIGITS_MAX } from './json';

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

/**
 * Bits up to which a written rational is reduced: the gcd (Euclid on bigint) costs about the
 * square of the smaller part's size, and every claim on a stored rational writes it (its reason,
 * its `actual`). Two parts of 10,000 digits, which a row may hold, took 120 ms a rational, on the
 * event loop that answers votes; at 1,024 bits (the bound the record checks compute with) a
 * fraction of a millisecond. LMFDB's j-invariants are far smaller.
 */
export const REDUCED_BITS_MAX = 1024;

const bits = (v: bigint): number => (v === 0n ? 0 : abs(v).toString(16).length * 4);

/**
 * "n/d", or "n" when d = 1: reduced, with the sign on n. When both parts pass REDUCED_BITS_MAX
 * it is written as stored (sign moved up), not reduced. Equality never depends on this writing:
 * ratEquals cross-multiplies.
 */
export function formatRational(r: Rational): string {
  if (r.den === 0n) throw new RangeError('rational with denominator 0');
  const [num, den] = r.den < 0n ? [-r.num, -r.den] : [r.num, r.den];
  const x = Math.min(bits(num), bits(den)) > REDUCED_BITS_MAX ? { num, den } : rational(num, den);
  return x.den === 1n ? `${x.num}` : `${x.num}/${x.den}`;
}

/**
 * Parses "n/d" or "n" (integers, optional sign on n or d), not reduced, with the sign moved to the
 * numerator ("1/-2" is -1/2, as "-2/4" is); undefined when it is not that, or when a part has more
 * than TEXT_INTEGER_DIGITS_MAX digits.
 */
export function parseRational(text: string): Rational | undefined {
  const m = /^\s*([+-]?\d+)\s*(?:\/\s*([+-]?\d+)\s*)?$/.exec(text);
  if (!m) return undefined;
  if (digitCount(m[1] as string) > TEXT_INTEGER_DIGITS_MAX || (m[2] !== undefined && digitCount(m[2]) > TEXT_INTEGER_DIGITS_MAX)) return undefined;
  const den = m[2] === undefined ? 1n : BigInt(m[2]);
  if (den === 0n) return undefined;
  const num = BigInt(m[1]);
  return den < 0n ? { num: -num, den: -den } : { num, den };
}
