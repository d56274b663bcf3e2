// What "the same value" means when a claim is checked against a record: one notion, used for a
// value alone and for every item of a list or an object.
//
// - A number is its exact value, whatever its notation or its column's type: an integer, a real
//   and a rational are equal when they are the same rational number (15 = 15.0 = 1.5e1 = 30/2,
//   0.5 = 1/2, -3/4 = -0.75; 1/3 is no decimal). A real's precision `prec` is not part of its
//   value. Exact: bigint and digit strings, never floating point; a real's exponent is never
//   written out (a claim of 1e99999999 meets an integer column by its digits and point, and a
//   rational only within a bound that the rational's own size sets).
// - A rational (a stored __Rational__, or a column RATIONAL_COLUMNS names) may also be claimed in
//   the two forms LMFDB stores rationals in: the pair [n, d] and the text "n/d".
// - Text is the same text, a boolean the same boolean, null null, a datetime its ISO text; text
//   is never a number ("15" is not 15) except as a rational's text form above.
// - A list is equal item by item (same length), an object key by key (same keys).
import { decimalParts, type DecimalParts, normalizeNumber } from './decimal';
import { parseLossless } from './json';
import { parseRational, ratEquals, type Rational } from './rational';
import { decodeValue, isDatetime, isRationalValue, isReal, type LmfdbValue, makeRational, parseClaimLiteral } from './values';

/**
 * Columns whose values are rationals however the row writes them: a [numerator, denominator]
 * pair (ec_curvedata.jinv), text "n/d", or a list of such texts (g2c_curves.g2_inv). By column
 * name, as LMFDB names them in every table that has them.
 */
export const RATIONAL_COLUMNS: ReadonlySet<string> = new Set(['jinv', 'g2_inv']);

/** A rational as a column of RATIONAL_COLUMNS writes it (pair or text); undefined when it is not one. */
function storedRational(v: LmfdbValue): Rational | undefined {
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'bigint' && typeof v[1] === 'bigint' && v[1] !== 0n) {
    return v[1] < 0n ? { num: -v[0], den: -v[1] } : { num: v[0], den: v[1] };
  }
  return typeof v === 'string' ? parseRational(v) : undefined;
}

/**
 * The value a column holds, with the rationals of a RATIONAL_COLUMNS column (a pair, a text, the
 * texts of a list) as the rationals they are; any other column's value as it is.
 */
export function columnValue(field: string, v: LmfdbValue): LmfdbValue {
  if (!RATIONAL_COLUMNS.has(field)) return v;
  const r = storedRational(v);
  if (r) return makeRational(r.num, r.den);
  if (Array.isArray(v)) return v.map((item) => (typeof item === 'string' ? asRationalValue(parseRational(item)) ?? item : item));
  return v;
}

const asRationalValue = (r: Rational | undefined): LmfdbValue | undefined => (r === undefined ? undefined : makeRational(r.num, r.den));

/** An exact number: a decimal (digits and point, any exponent) or a fraction. */
type ExactNumber = { dec: DecimalParts } | { rat: Rational };

/** The number a value stands for: an integer, a readable real or a rational; undefined for anything else. */
function exactNumber(v: LmfdbValue): ExactNumber | undefined {
  if (typeof v === 'bigint') return { rat: { num: v, den: 1n } };
  // A decoded rational keeps its parts as stored or claimed ([3, -4] is -3/4): the sign goes up
  // first, since decimalIsRational reads the sign from the numerator (-0.75 of [3, -4] was false).
  if (isRationalValue(v)) return { rat: v.den < 0n ? { num: -v.num, den: -v.den } : { num: v.num, den: v.den } };
  if (isReal(v)) {
    const dec = decimalParts(v.digits.trim());
    return dec && { dec };
  }
  return undefined;
}

/** Bits of |v|, rounded up to a multiple of 4 (an upper bound, linear). */
const bitsOf = (v: bigint): number => (v === 0n ? 0 : (v < 0n ? -v : v).toString(16).length * 4);

/** Whether ±0.<digits> × 10^point is n/d, exactly; d must be > 0 (exactNumber moves the sign up). */
function decimalIsRational(a: DecimalParts, r: Rational): boolean {
  if (a.digits === '' || r.num === 0n) return a.digits === '' && r.num === 0n;
  if (a.neg !== r.num < 0n) return false;
  // The value is m × 10^e with m = <digits> (no trailing 0). If it is n/d: for e >= 0,
  // |n| >= m × 10^e, so len(m) + e <= digits of n; for e < 0, the reduced d keeps 2^-e or 5^-e
  // (m lacks a 2 or a 5), so -e <= bits of d, and m <= |n| × 10^-e. A claim spelled past that is
  // another number: decided without writing 10^e out.
  const len = BigInt(a.digits.length);
  const e = a.point - len;
  const bound = BigInt(bitsOf(r.num) + 2 * bitsOf(r.den) + 8);
  if (len > bound || e > bound || -e > bound) return false;
  const m = BigInt(a.digits) * (a.neg ? -1n : 1n);
  return e >= 0n ? m * 10n ** e * r.den === r.num : m * r.den === r.num * 10n ** -e;
}

/** Whether two exact numbers are the same number. */
function sameNumber(a: ExactNumber, b: ExactNumber): boolean {
  if ('dec' in a && 'dec' in b) return a.dec.neg === b.dec.neg && a.dec.digits === b.dec.digits && a.dec.point === b.dec.point;
  if ('rat' in a && 'rat' in b) return ratEquals(a.rat, b.rat);
  return 'dec' in a ? decimalIsRational(a.dec, (b as { rat: Rational }).rat) : decimalIsRational((b as { dec: DecimalParts }).dec, a.rat);
}

/**
 * A claimed [n, d] (integers, d not 0) or text "n/d" (no whitespace at its ends, as for a value
 * alone): the two forms a stored rational may be claimed in besides a number.
 */
function claimedRationalForm(v: LmfdbValue): ExactNumber | undefined {
  if (typeof v === 'string' && outerSpace(v)) return undefined;
  const r = storedRational(v);
  return r && { rat: r };
}

const isPlainObject = (v: LmfdbValue): v is { [key: string]: LmfdbValue } =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !isReal(v) && !isRationalValue(v) && !isDatetime(v);

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** True when `claimed` (read from the claim's text) is the value `actual` the record holds (after columnValue). */
export function sameNestedValue(actual: LmfdbValue, claimed: LmfdbValue): boolean {
  if (typeof actual === 'bigint' || isReal(actual) || isRationalValue(actual)) {
    const a = exactNumber(actual);
    const c = exactNumber(claimed) ?? (isRationalValue(actual) ? claimedRationalForm(claimed) : undefined);
    return a !== undefined && c !== undefined && sameNumber(a, c);
  }
  if (isDatetime(actual)) return (isDatetime(claimed) ? claimed.iso : claimed) === actual.iso;
  if (Array.isArray(actual)) {
    return Array.isArray(claimed) && claimed.length === actual.length && actual.every((a, i) => sameNestedValue(a, claimed[i] as LmfdbValue));
  }
  if (isPlainObject(actual)) {
    if (!isPlainObject(claimed)) return false;
    const keys = Object.keys(actual);
    return keys.length === Object.keys(claimed).length && keys.every((k) => hasOwn(claimed, k) && sameNestedValue(actual[k] as LmfdbValue, claimed[k] as LmfdbValue));
  }
  // Text, boolean, null: the same value.
  return claimed === actual;
}

/** Whitespace at the start or the end of a text. */
export function outerSpace(text: string): boolean {
  return /\s/.test(text.charAt(0)) || /\s/.test(text.charAt(text.length - 1));
}

/**
 * The claimed value read as JSON (decoded as a row's value is, so a number meets a number; strings
 * with their escapes), else in Python's literal notation (single-quoted strings, fractions,
 * True/None); undefined when it is neither, or has whitespace at its start or end.
 */
export function readClaimedValue(claimed: string): LmfdbValue | undefined {
  if (claimed === '' || outerSpace(claimed)) return undefined;
  return decodedJson(claimed) ?? parseClaimLiteral(claimed);
}

/** The claim read as JSON and decoded as a row's value is; undefined when it is not JSON. */
function decodedJson(claimed: string): LmfdbValue | undefined {
  try {
    return decodeValue(parseLossless(claimed));
  } catch {
    return undefined;
  }
}

/** True when the value holds a real, at any depth, that this code cannot read exactly ("1.5e-1001", NaN). */
export function holdsUnreadableReal(v: LmfdbValue): boolean {
  if (isReal(v)) return normalizeNumber(v.digits.trim()) === undefined;
  if (Array.isArray(v)) return v.some(holdsUnreadableReal);
  return isPlainObject(v) && Object.values(v).some(holdsUnreadableReal);
}
