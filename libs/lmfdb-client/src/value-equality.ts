// Whether a claimed value equals a stored one when either is a list or an object: element by
// element, by the rules a single value is compared with. A real equals a real or an integer that
// is the same number however written (0.250, 2.5e-1 and 0.25 alike; its precision `prec` is not
// part of the value), an integer only an integer, a rational the same fraction, text the same
// text. Exact: no floating point, no locale.
import { normalizeNumber, numberKey } from './decimal';
import { parseRational, ratEquals, type Rational } from './rational';
import { isDatetime, isRationalValue, isReal, type LmfdbValue } from './values';

/** The number an integer or a real stands for, as numberKey writes it; undefined for anything else. (A stored real this node cannot read exactly never gets here: holdsUnreadableReal.) */
function numberText(v: LmfdbValue): string | undefined {
  if (typeof v === 'bigint') return numberKey(v.toString());
  return isReal(v) ? numberKey(v.digits.trim()) : undefined;
}

function asRational(v: LmfdbValue): Rational | undefined {
  if (isRationalValue(v)) return v;
  if (typeof v === 'bigint') return { num: v, den: 1n };
  return typeof v === 'string' ? parseRational(v) : undefined;
}

const isPlainObject = (v: LmfdbValue): v is { [key: string]: LmfdbValue } =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !isReal(v) && !isRationalValue(v) && !isDatetime(v);

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** True when `claimed` (decoded from the claim's text) is the value `actual` the record holds. */
export function sameNestedValue(actual: LmfdbValue, claimed: LmfdbValue): boolean {
  if (isReal(actual)) {
    const a = numberText(actual);
    return a !== undefined && a === numberText(claimed);
  }
  if (isRationalValue(actual)) {
    const c = asRational(claimed);
    return c !== undefined && ratEquals(actual, c);
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
  // bigint, text, boolean, null: the same value.
  return claimed === actual;
}

/** True when the value holds a real, at any depth, that this code cannot read exactly ("1.5e-1001", NaN). */
export function holdsUnreadableReal(v: LmfdbValue): boolean {
  if (isReal(v)) return normalizeNumber(v.digits.trim()) === undefined;
  if (Array.isArray(v)) return v.some(holdsUnreadableReal);
  return isPlainObject(v) && Object.values(v).some(holdsUnreadableReal);
}
