// Decoding of the API's values into exact types: bigint integers, wrapped reals, rationals and
// datetimes, and the text columns that hold lists.
import { digitCount, isLosslessNumber, ROW_DEPTH_MAX, setOwn, TEXT_INTEGER_DIGITS_MAX, UNREADABLE_KEY } from './json';
import { parseRational } from './rational';

/** `{"__RealLiteral__": 0, "data": "<digits>", "prec": p}`: decimal digits and precision in bits. */
export interface RealValue {
  kind: 'real';
  digits: string;
  prec: number;
}
/** `{"__Rational__": 0, "data": [n, d]}`. */
export interface RationalValue {
  kind: 'rational';
  num: bigint;
  den: bigint;
}
/** `{"__datetime__": 0, "data": "..."}`. */
export interface DatetimeValue {
  kind: 'datetime';
  iso: string;
}

export type LmfdbValue =
  | bigint
  | string
  | boolean
  | null
  | RealValue
  | RationalValue
  | DatetimeValue
  | LmfdbValue[]
  | { [key: string]: LmfdbValue };

/** A row as decoded: every column optional, unknown columns kept. */
export type DecodedRow = Record<string, LmfdbValue>;
/** A row as the API sent it, parsed losslessly (bigint integers, wrappers untouched). */
export type RawRow = Record<string, unknown>;

/**
 * The reals, rationals and datetimes decodeValue made. Data are objects too: a row's (or a
 * claim's) own {"kind": "real", "digits": 5} is a plain object, never taken for one of these.
 */
const decoded = new WeakSet<object>();
function made<T extends RealValue | RationalValue | DatetimeValue>(v: T): T {
  decoded.add(v);
  return v;
}

/** A rational value as decodeValue makes one (den not 0; the sign is kept where it is). */
export const makeRational = (num: bigint, den: bigint): RationalValue => made({ kind: 'rational', num, den });

export function isReal(v: unknown): v is RealValue {
  return typeof v === 'object' && v !== null && decoded.has(v) && (v as RealValue).kind === 'real';
}
export function isRationalValue(v: unknown): v is RationalValue {
  return typeof v === 'object' && v !== null && decoded.has(v) && (v as RationalValue).kind === 'rational';
}
export function isDatetime(v: unknown): v is DatetimeValue {
  return typeof v === 'object' && v !== null && decoded.has(v) && (v as DatetimeValue).kind === 'datetime';
}

function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    if (digitCount(v) > TEXT_INTEGER_DIGITS_MAX) throw new RangeError(`an integer written as text of ${digitCount(v)} digits, above the ${TEXT_INTEGER_DIGITS_MAX} one may have`);
    return BigInt(v);
  }
  throw new TypeError(`not an integer: ${String(v)}`);
}

/**
 * Decodes one raw value (already parsed losslessly) into an exact LmfdbValue. Throws on a value
 * that cannot be one (a rational with denominator 0 or non-integer parts): the row is invalid.
 */
export function decodeValue(raw: unknown): LmfdbValue {
  if (raw === null || typeof raw === 'string' || typeof raw === 'boolean' || typeof raw === 'bigint') return raw;
  if (typeof raw === 'number') {
    // Only reached for rows built in code; the lossless parser never yields numbers.
    return Number.isInteger(raw) ? BigInt(raw) : made({ kind: 'real', digits: String(raw), prec: 0 });
  }
  // A bare non-integer JSON number (a float8 column, say "2.0" or "1e-07"): a real, kept as written.
  if (isLosslessNumber(raw)) return made({ kind: 'real', digits: raw.toString(), prec: 0 });
  if (Array.isArray(raw)) return raw.map(decodeValue);
  if (typeof raw === 'object') {
    const o = raw as Record<string, unknown>;
    if ('__RealLiteral__' in o) {
      const d = o['data'];
      if (typeof d !== 'string' && typeof d !== 'bigint' && !isLosslessNumber(d)) throw new TypeError(`a real literal whose data is not its digits: ${JSON.stringify(String(d))}`);
      return made({ kind: 'real', digits: String(d), prec: Number(o['prec'] ?? 0) });
    }
    if ('__Rational__' in o && Array.isArray(o['data']) && o['data'].length === 2) {
      const den = toBigInt(o['data'][1]);
      if (den === 0n) throw new RangeError(`a rational with denominator 0 (${String(o['data'][0])}/0)`);
      return made({ kind: 'rational', num: toBigInt(o['data'][0]), den });
    }
    if ('__datetime__' in o) return made({ kind: 'datetime', iso: String(o['data']) });
    if (UNREADABLE_KEY in o) throw new TypeError(String(o[UNREADABLE_KEY]));
    const out: Record<string, LmfdbValue> = {};
    for (const [k, v] of Object.entries(o)) setOwn(out, k, decodeValue(v));
    return out;
  }
  return String(raw);
}

/** Text columns that hold lists and need a second parse, per table. */
export const LIST_TEXT_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  g2c_curves: ['eqn', 'g2_inv', 'torsion_subgroup'],
  hgcwa_passports: ['group', 'signature'],
};

/** An integer, as a stored list-holding text column writes its items. */
const INTEGER_ITEM = /[+-]?\d+/y;
/**
 * A claimed number, alone or as an item of a claimed list: an integer, a fraction n/d (spaces
 * around the slash, a sign on either part) or a decimal with an optional exponent. Each part is
 * digits then a fixed character, so the match is linear.
 */
const NUMBER_ITEM = /[+-]?\d+(?:\s*\/\s*[+-]?\d+|(?:\.\d+)?(?:[eE][+-]?\d+)?)/y;
/** The words a claimed value may use, JSON's and Python's. */
const WORD_ITEM = /true|false|null|True|False|None/y;
const WORDS: Readonly<Record<string, LmfdbValue>> = { true: true, false: false, null: null, True: true, False: false, None: null };

/** One number item as a value: a bigint, a rational (denominator not 0, sign moved up) or a real kept as written. */
function numberItem(token: string): LmfdbValue {
  const slash = token.indexOf('/');
  if (slash >= 0) {
    const r = parseRational(token);
    if (r === undefined) throw new RangeError(`${token} has denominator 0`);
    return makeRational(r.num, r.den);
  }
  return /^[+-]?\d+$/.test(token) ? BigInt(token) : made({ kind: 'real', digits: token, prec: 0 });
}

/** The match of a sticky pattern at `at`, or undefined. */
function matchAt(pattern: RegExp, text: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0];
}

/**
 * Most values one literal may hold (lists and their items, at any depth). A claim (16 KiB at most)
 * holds fewer; a list-holding text column (g2c_curves.eqn, a few dozen items) of millions was
 * parsed into that many values at every load of the cache (5 million took 3 s and 270 MB).
 */
export const LITERAL_ITEMS_MAX = 16 * 1024;

/**
 * Parses a Python/JSON literal: lists, integers (bigint) and quoted strings, and with `claim` (a
 * claimed value, never a stored column) also fractions and decimals, read as the numbers they
 * are, and the words true/false/null (True/False/None). Undefined when the text is not one, when
 * it nests deeper than ROW_DEPTH_MAX (every later step, formatting, comparing, recurses) or holds
 * more than LITERAL_ITEMS_MAX values.
 */
function parseLiteral(text: string, opts: { claim: boolean; listOnly: boolean }): LmfdbValue | undefined {
  let i = 0;
  let items = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const value = (depth: number): LmfdbValue => {
    if (++items > LITERAL_ITEMS_MAX) throw new RangeError(`more than ${LITERAL_ITEMS_MAX} items`);
    ws();
    const c = text[i];
    if (c === '[') {
      if (depth >= ROW_DEPTH_MAX) throw new RangeError(`a list nested more than ${ROW_DEPTH_MAX} deep`);
      i++;
      const items: LmfdbValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return items;
        }
        throw new SyntaxError(`unexpected ${text[i] ?? 'end'} at ${i}`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new SyntaxError('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const token = matchAt(opts.claim ? NUMBER_ITEM : INTEGER_ITEM, text, i);
    if (token !== undefined) {
      // A claim is shorter than the bound; a stored text is not: its integer is not converted.
      if (!opts.claim && digitCount(token) > TEXT_INTEGER_DIGITS_MAX) throw new RangeError(`an integer of ${digitCount(token)} digits`);
      i += token.length;
      return opts.claim ? numberItem(token) : BigInt(token);
    }
    const word = opts.claim ? matchAt(WORD_ITEM, text, i) : undefined;
    if (word === undefined) throw new SyntaxError(`unexpected ${c ?? 'end'} at ${i}`);
    i += word.length;
    return WORDS[word] as LmfdbValue;
  };
  try {
    ws();
    if (opts.listOnly && text[i] !== '[') return undefined;
    const v = value(0);
    ws();
    return i === text.length ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses a Python/JSON list literal such as "[[-5,0,7],[0,1]]" or "['28596971960000/81','9']":
 * lists, integers (bigint) and quoted strings (parseLiteral). Undefined when the text is not one.
 *
 * With `numbers` (a claimed value, never a stored column) items may also be fractions, decimals
 * and words, as parseClaimLiteral reads them.
 */
export function parseListLiteral(text: string, opts: { numbers?: boolean } = {}): LmfdbValue[] | undefined {
  return parseLiteral(text, { claim: opts.numbers === true, listOnly: true }) as LmfdbValue[] | undefined;
}

/**
 * A claimed value in Python's literal notation, or JSON's without its escapes: a number (integer,
 * fraction n/d, decimal with an optional exponent), a quoted string, a word (true, None, ...) or
 * a list of these. Undefined when the text is not one.
 */
export function parseClaimLiteral(text: string): LmfdbValue | undefined {
  return parseLiteral(text, { claim: true, listOnly: false });
}

/**
 * Decodes a raw row of `table`: wrapped values to exact types, the list-holding text columns parsed
 * a second time (left as text when they do not parse; the record check reports it), unknown
 * columns kept as they came.
 */
export function decodeRow(table: string, raw: RawRow): DecodedRow {
  const out: DecodedRow = {};
  const listCols = LIST_TEXT_COLUMNS[table] ?? [];
  for (const [k, v] of Object.entries(raw)) {
    const d = decodeValue(v);
    setOwn(out, k, listCols.includes(k) && typeof d === 'string' ? (parseListLiteral(d) ?? d) : d);
  }
  return out;
}
