// Lossless JSON: integers of any size become bigint, other numbers keep their exact text.
import { createHash } from 'node:crypto';
import { isLosslessNumber, LosslessNumber, parse, stringify } from 'lossless-json';

const INTEGER = /^-?\d+$/;

const parseNumber = (value: string): unknown => (INTEGER.test(value) ? BigInt(value) : new LosslessNumber(value));

/**
 * Most digits an integer from the API may have (LMFDB's widest columns, discriminants and group
 * orders, have a few hundred). Conversion to and from bigint costs more than linear time: one
 * integer of sixteen million digits took seconds to fetch and 13 s at every load of its cache.
 */
export const INTEGER_DIGITS_MAX = 10_000;

/**
 * Most digits of an integer written inside text that is converted to bigint: a rational's part
 * ("n/d", or a __Rational__ whose data are strings) and an integer of a list-holding text column
 * (g2c_curves.eqn, "['n/d', ...]" of g2_inv). The conversion costs more than linear time, and the
 * bound on JSON numbers does not reach text: two million digits took 1.2 s at every load of the
 * cache, or at every claim on the column. Above a claim's length (16 KiB), so no claimed number is
 * refused by it.
 */
export const TEXT_INTEGER_DIGITS_MAX = 16 * 1024;

/** Digits of an integer's text (its sign aside). */
export const digitCount = (text: string): number => (text.startsWith('-') || text.startsWith('+') ? text.length - 1 : text.length);

/** parseNumber, with an integer of more than INTEGER_DIGITS_MAX digits an unreadable marker (its row invalid). */
function parseBoundedNumber(value: string): unknown {
  const digits = value.startsWith('-') ? value.length - 1 : value.length;
  if (digits > INTEGER_DIGITS_MAX && INTEGER.test(value)) {
    return { [UNREADABLE_KEY]: `an integer of ${digits} digits, above the ${INTEGER_DIGITS_MAX} a value may have` };
  }
  return parseNumber(value);
}

/** An integer of more than INTEGER_DIGITS_MAX digits in text parsed with `refuseLongIntegers`. */
export class IntegerTooLongError extends Error {
  constructor(readonly digits: number) {
    super(`an integer of ${digits} digits, above the ${INTEGER_DIGITS_MAX} a number may have`);
    this.name = 'IntegerTooLongError';
  }
}

function parseNumberOrRefuse(value: string): unknown {
  const digits = value.startsWith('-') ? value.length - 1 : value.length;
  if (digits > INTEGER_DIGITS_MAX && INTEGER.test(value)) throw new IntegerTooLongError(digits);
  return parseNumber(value);
}

/**
 * Parses JSON text: integers -> bigint; non-integers -> LosslessNumber (their text kept exactly).
 * An object with one key twice, with different values, is a SyntaxError; with `markUnreadable` (an answer of the API)
 * that key's value becomes an unreadable marker instead, and so does an integer of more than
 * INTEGER_DIGITS_MAX digits (so one such row is invalid, not the whole answer it came in); with
 * `refuseLongIntegers` (a file a person wrote) such an integer throws IntegerTooLongError.
 */
export function parseLossless(text: string, opts: { markUnreadable?: boolean; refuseLongIntegers?: boolean } = {}): unknown {
  if (opts.refuseLongIntegers && !opts.markUnreadable) return parse(text, null, parseNumberOrRefuse);
  if (!opts.markUnreadable) return parse(text, null, parseNumber);
  return parse(text, null, {
    parseNumber: parseBoundedNumber,
    onDuplicateKey: ({ key }) => ({ [UNREADABLE_KEY]: `the key ${JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key)} appears twice, with different values` }),
  });
}

const NON_FINITE = ['-Infinity', 'Infinity', 'NaN'] as const;

/**
 * The text with the bare tokens NaN, Infinity and -Infinity outside strings (which Python's json
 * module writes for such floats, and JSON has no word for) written as real literals, so that one
 * such value makes its own field unreadable as a number instead of the whole page unparseable.
 * Linear; text without them is returned as it is.
 */
export function nonFiniteAsRealLiterals(text: string): string {
  if (!text.includes('NaN') && !text.includes('Infinity')) return text;
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      i = stringEnd(text, i);
      continue;
    }
    if (c !== 45 && c !== 73 && c !== 78) continue; // '-', 'I', 'N'
    const token = NON_FINITE.find((t) => text.startsWith(t, i));
    if (token === undefined) continue;
    out += `${text.slice(last, i)}{"__RealLiteral__":0,"data":"${token}","prec":0}`;
    i += token.length - 1;
    last = i + 1;
  }
  return out + text.slice(last);
}

/** Deepest nesting kept in a row: a list or object deeper is replaced by an unreadable marker. */
export const ROW_DEPTH_MAX = 64;
/** The key of the marker that stands for a value nested too deep (decoding it fails: the row is invalid). */
export const UNREADABLE_KEY = '__Unreadable__';

/**
 * The row with every list or object nested deeper than ROW_DEPTH_MAX replaced by
 * { __Unreadable__: reason }: every later step (decoding, comparing, hashing) recurses, and a
 * row thousands deep would overflow the stack there and fail its whole source. Iterative; the
 * row itself is returned when nothing is that deep.
 */
export function clampDepth<T>(row: T, depthMax = ROW_DEPTH_MAX): T {
  const stack: { value: unknown; depth: number }[] = [{ value: row, depth: 0 }];
  let deep = false;
  while (stack.length > 0 && !deep) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (value === null || typeof value !== 'object' || isLosslessNumber(value)) continue;
    if (depth >= depthMax) deep = true;
    else for (const v of Object.values(value as object)) stack.push({ value: v, depth: depth + 1 });
  }
  if (!deep) return row;
  const clamp = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== 'object' || isLosslessNumber(value)) return value;
    if (depth >= depthMax) return { [UNREADABLE_KEY]: `a value nested more than ${depthMax} deep` };
    if (Array.isArray(value)) return value.map((v) => clamp(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as object)) setOwn(out, k, clamp(v, depth + 1));
    return out;
  };
  return clamp(row, 0) as T;
}

/**
 * The text with every list or object that opens deeper than `depthMax` (counting from the
 * outermost value) written as { __Unreadable__: reason }. The parser recurses once per level and
 * overflows the stack a few thousand deep, which failed the whole page a row came in; clampDepth
 * replaces such a value after the parse anyway, so a depthMax past the rows' own bound keeps the
 * parsed rows as they were. Linear; brackets inside strings are text; a value whose brackets do
 * not close (or close with the other kind) is left as it is, for the parser to refuse.
 */
export function deepValuesAsUnreadable(text: string, depthMax: number): string {
  const marker = `{"${UNREADABLE_KEY}":"a value nested more than ${ROW_DEPTH_MAX} deep"}`;
  let out = '';
  let last = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) i = stringEnd(text, i);
    else if (c === 93 || c === 125) depth--;
    else if (c === 91 || c === 123) {
      if (depth < depthMax) {
        depth++;
        continue;
      }
      const end = closingBracket(text, i);
      if (end < 0) return text;
      out += `${text.slice(last, i)}${marker}`;
      last = end + 1;
      i = end;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * Whether the JSON text holds more than `max` items, counted as the characters '[', '{', ',' and
 * ':' outside strings (every value but the outermost, and every key, follows one of them; an
 * empty list or object counts once). Linear; stops as soon as the count passes `max`.
 */
export function jsonItemsAbove(text: string, max: number): boolean {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) i = stringEnd(text, i);
    else if ((c === 44 || c === 58 || c === 91 || c === 123) && ++n > max) return true;
  }
  return false;
}

/** Where the list or object opening at `start` closes, or -1 when it does not (or with the other kind). Linear. */
function closingBracket(text: string, start: number): number {
  const open: number[] = [];
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) i = stringEnd(text, i);
    else if (c === 91 || c === 123) open.push(c);
    else if (c === 93 || c === 125) {
      if (open.pop() !== c - 2) return -1; // ']' is '[' + 2, '}' is '{' + 2
      if (open.length === 0) return i;
    }
  }
  return -1;
}

/** Where the JSON string whose opening quote is at `start` ends: its closing quote, or the text's last index. Escapes are skipped. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92) i++; // backslash: skip the escaped character
    else if (c === 34) return i;
  }
  return text.length - 1;
}

/** Serializes with bigint written as plain JSON integers, LosslessNumber written as its text. */
export function stringifyLossless(value: unknown, space?: number): string {
  const out = stringify(value, null, space);
  if (out === undefined) throw new TypeError('value cannot be serialized as JSON');
  return out;
}

/** Sets a key as the object's own property: a key named "__proto__" stays a key, never the prototype. */
export function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !isLosslessNumber(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) setOwn(out, key, sortKeys(v));
    }
    return out;
  }
  return value;
}

/**
 * The canonical serialization used for hashes: JSON with object keys sorted by UTF-16 code unit
 * order (recursively), no whitespace, integers as plain digits (bigint, any size), strings escaped
 * as JSON.stringify escapes them, other numbers as their exact source text. Array order is kept.
 */
export function canonicalJson(value: unknown): string {
  return stringifyLossless(sortKeys(value));
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export { isLosslessNumber, LosslessNumber };
