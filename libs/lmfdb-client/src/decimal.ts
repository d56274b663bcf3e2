// Decimal strings, compared exactly after normalisation (no floating point anywhere).

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/**
 * Normalises a decimal string: no leading '+', no leading zeros in the integer part, no trailing
 * zeros in the fraction (and no '.' when the fraction is empty), "-0" -> "0".
 * Returns undefined for anything that is not `[+-]digits[.digits]`.
 */
export function normalizeDecimal(text: string): string | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const int = m[2].replace(/^0+(?=\d)/, '');
  const frac = withoutTrailingZeros(m[3] ?? '');
  const body = frac ? `${int}.${frac}` : int;
  const zero = /^0(\.0*)?$/.test(body);
  return m[1] === '-' && !zero ? `-${body}` : body;
}

/** The text without its trailing '0's, in linear time (the regex /0+$/ is quadratic on "0000…01"). */
function withoutTrailingZeros(digits: string): string {
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === 48) end--;
  return digits.slice(0, end);
}

const SCIENTIFIC = /^([+-]?)(\d+)(?:\.(\d*))?[eE]([+-]?\d{1,4})$/;
/** Largest exponent written out by normalizeNumber (beyond it the text is not read). */
const EXPONENT_MAX = 1000;

/**
 * Normalises a decimal or scientific string ("1E-7", "1.00000000000000e-7", "2.5e3") to
 * normalizeDecimal's form, exactly (the point is moved, nothing is rounded). Undefined for anything
 * else, or an exponent beyond EXPONENT_MAX.
 */
export function normalizeNumber(text: string): string | undefined {
  const plain = normalizeDecimal(text);
  if (plain !== undefined) return plain;
  const m = SCIENTIFIC.exec(text);
  if (!m) return undefined;
  const exponent = Number(m[4]);
  if (Math.abs(exponent) > EXPONENT_MAX) return undefined;
  const int = m[2] as string;
  const frac = m[3] ?? '';
  const digits = int + frac;
  // The point sits after int.length digits; the exponent moves it.
  const point = int.length + exponent;
  const fixed =
    point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? `${digits}${'0'.repeat(point - digits.length)}` : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return normalizeDecimal(`${m[1]}${fixed}`);
}

/** A number in scientific notation with an exponent of any length (numberKey reads it without writing it out). */
const SCIENTIFIC_ANY = /^([+-]?)(\d+)(?:\.(\d*))?[eE]([+-]?\d+)$/;

/** A number as digits and the point's place: ±0.<digits> × 10^point, digits without a leading or trailing '0' ('' for zero, with point 0 and neg false). */
export interface DecimalParts {
  readonly neg: boolean;
  readonly digits: string;
  readonly point: bigint;
}

/**
 * The digits and point of a decimal or scientific text (the texts normalizeNumber reads, and
 * scientific ones with an exponent of any size); undefined for anything else. Nothing is written
 * out, so a claim may spell a number with as many zeros and as large an exponent as its length
 * allows ("5e-00001", "5000...0e-1004"); linear in the text.
 */
export function decimalParts(text: string): DecimalParts | undefined {
  let m = DECIMAL.exec(text);
  let exponent = 0n;
  if (!m) {
    m = SCIENTIFIC_ANY.exec(text);
    if (!m) return undefined;
    exponent = BigInt(m[4] as string);
  }
  const int = m[2] as string;
  const all = int + (m[3] ?? '');
  let start = 0;
  while (start < all.length && all.charCodeAt(start) === 48) start++;
  if (start === all.length) return { neg: false, digits: '', point: 0n };
  let end = all.length;
  while (end > start && all.charCodeAt(end - 1) === 48) end--;
  // The value is 0.<all> * 10^(int.length + exponent); the leading zeros move the point left.
  return { neg: m[1] === '-', digits: all.slice(start, end), point: BigInt(int.length - start) + exponent };
}

/**
 * A key equal for two texts exactly when they are the same number (decimalParts'): "-0.d1d2...dn"
 * then "e" and the point's position, or "0". Undefined for a text decimalParts does not read.
 */
export function numberKey(text: string): string | undefined {
  const p = decimalParts(text);
  if (p === undefined) return undefined;
  return p.digits === '' ? '0' : `${p.neg ? '-' : ''}0.${p.digits}e${p.point}`;
}
