// Claims about LMFDB objects, verified exactly against the cached records.
//
// Notation of values (claimed and actual): integers as decimal digits; jinv and rationals as
// "n/d" reduced ("n" when d = 1); lists as "[a,b,...]" (no spaces; strings inside double-quoted);
// reals as normalised decimal strings; booleans "true"/"false"; text as is; other JSON objects as
// JSON with sorted keys, the values inside as in lists (so a real inside a list or an object shows
// as its normalised decimal). Lists and objects compare element by element (value-equality.ts).
import type { SourceCache } from './cache';
import { computedClaim } from './computed-claims';
import { normalizeNumber, numberKey } from './decimal';
import { parseLossless } from './json';
import { clipped } from './quoted';
import { formatRational, parseRational, ratEquals, type Rational } from './rational';
import { holdsUnreadableReal, sameNestedValue } from './value-equality';
import { decodeValue, isDatetime, isRationalValue, isReal, parseListLiteral, type LmfdbValue } from './values';

export type ClaimVerdict = 'true' | 'false' | 'unknown';

export interface ClaimInput {
  source: number;
  label: string;
  field: string;
  claimedValue: string;
}

export interface ClaimResult {
  verdict: ClaimVerdict;
  /** The value the record holds, in the claim's notation (absent when unknown). */
  actual?: string;
  reason: string;
  /** How the value was found: computed from first principles, or looked up in the cached record. */
  method?: 'computed' | 'looked up';
}

/** Columns stored as [numerator, denominator] pairs. */
const RATIONAL_PAIR_FIELDS = new Set(['jinv']);

function asRational(field: string, v: LmfdbValue): Rational | undefined {
  if (isRationalValue(v)) return { num: v.num, den: v.den };
  if (RATIONAL_PAIR_FIELDS.has(field) && Array.isArray(v) && v.length === 2 && typeof v[0] === 'bigint' && typeof v[1] === 'bigint' && v[1] !== 0n) {
    return { num: v[0], den: v[1] };
  }
  return undefined;
}

/** A value in claim notation. */
export function formatValue(v: LmfdbValue, field = ''): string {
  const r = asRational(field, v);
  if (r) return formatRational(r);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v;
  if (v === null) return 'null';
  if (isReal(v)) return normalizeNumber(v.digits) ?? v.digits;
  if (isDatetime(v)) return v.iso;
  if (Array.isArray(v)) return `[${v.map(formatInside).join(',')}]`;
  // Keys sorted by UTF-16 code unit, as canonical JSON sorts them.
  const o = v as { [key: string]: LmfdbValue };
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${formatInside(o[k] as LmfdbValue)}`)
    .join(',')}}`;
}

/** A value inside a list or an object: text quoted, everything else as formatValue writes it. */
const formatInside = (v: LmfdbValue): string => (typeof v === 'string' ? JSON.stringify(v) : formatValue(v));

/** The text without whitespace outside double-quoted strings (escapes inside strings kept). */
function withoutSpacesOutsideStrings(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (!/\s/.test(ch)) out += ch;
  }
  return out;
}

/** Compares a claimed value with the actual one; undefined when the claim cannot be read. */
function sameValue(field: string, actual: LmfdbValue, claimed: string): boolean {
  const r = asRational(field, actual);
  if (r) {
    const c = parseRational(claimed);
    return c !== undefined && ratEquals(r, c);
  }
  if (typeof actual === 'bigint') {
    return /^\s*[+-]?\d+\s*$/.test(claimed) && BigInt(claimed.trim()) === actual;
  }
  if (typeof actual === 'boolean') return claimed.trim().toLowerCase() === String(actual);
  if (typeof actual === 'string') return claimed === actual;
  if (actual === null) return claimed.trim() === 'null';
  if (isReal(actual)) {
    const a = numberKey(actual.digits.trim());
    return a !== undefined && a === numberKey(claimed.trim());
  }
  if (isDatetime(actual)) return claimed.trim() === actual.iso;
  if (Array.isArray(actual)) {
    // JSON decides (reals inside, and strings with their escapes read as formatValue writes them:
    // ["a\\b"] is the text a\b), then a list literal (single-quoted strings, Python's notation,
    // and fractions and decimals read as numbers: "[2/4,3]" is [1/2,3], as the single claim "2/4"
    // is 1/2); only text that is neither (a list holding a datetime, say) is compared as written,
    // without the spaces between items (never inside strings).
    const parsed = decodedJson(claimed) ?? parseListLiteral(claimed, { numbers: true });
    if (parsed !== undefined) return sameNestedValue(actual, parsed);
    return withoutSpacesOutsideStrings(claimed) === formatValue(actual, field);
  }
  const parsed = decodedJson(claimed);
  return parsed !== undefined && sameNestedValue(actual, parsed);
}

/** The claim read as JSON and decoded as a row's value is (so a number meets a number); undefined when it is not JSON. */
function decodedJson(claimed: string): LmfdbValue | undefined {
  try {
    return decodeValue(parseLossless(claimed));
  } catch {
    return undefined;
  }
}

/**
 * Verifies a claim against a source's cache: 'true' when the record holds exactly the claimed
 * value, 'false' when it holds another, 'unknown' (not passed as true) when the source, record or
 * field is not held here or the record failed its checks.
 */
export function verifyClaim(cache: SourceCache | undefined, claim: ClaimInput): ClaimResult {
  const { source, label, field } = claim;
  if (!cache) return { verdict: 'unknown', reason: `source ${source} is not loaded here` };
  if (cache.source !== source) return { verdict: 'unknown', reason: `source ${source} is not loaded here (this cache holds source ${cache.source})` };
  const rec = cache.get(label);
  if (!rec) return { verdict: 'unknown', reason: `source ${source} has no record ${label}` };
  const computed = computedClaim(source, rec, claim);
  if (computed) return computed;
  // Invalid first: a row that cannot be read is decoded as no columns, and "has no field" would
  // hide why.
  if (!rec.check.valid) {
    return { verdict: 'unknown', reason: `source ${source} record ${label} is invalid: ${clipped(rec.check.reasons.join('; '))}` };
  }
  if (!Object.prototype.hasOwnProperty.call(rec.row, field) || field.startsWith('_')) {
    return { verdict: 'unknown', reason: `source ${source} record ${label} has no field ${field}` };
  }
  const actualValue = rec.row[field];
  const actual = formatValue(actualValue, field);
  if (holdsUnreadableReal(actualValue)) {
    // A stored real this code cannot read exactly ("1.5e-1001", "NaN"), alone or inside a list or an object, decides nothing.
    return { verdict: 'unknown', reason: `source ${source} record ${label}: ${field} is ${clipped(actual)}, a number this node cannot compare exactly` };
  }
  let same: boolean;
  try {
    same = sameValue(field, actualValue, claim.claimedValue);
  } catch (e) {
    // A value of a shape no comparison expects (data the code has never met) decides nothing.
    return { verdict: 'unknown', reason: `source ${source} record ${label}: ${field} could not be compared with the claim (${clipped((e as Error).message)})` };
  }
  if (same) {
    return { verdict: 'true', actual, reason: `${label}: ${field} is ${clipped(actual)} (looked up in the record)`, method: 'looked up' };
  }
  return { verdict: 'false', actual, reason: `${label}: ${field} is ${clipped(actual)}, the claim says ${clipped(claim.claimedValue)} (looked up in the record)`, method: 'looked up' };
}
