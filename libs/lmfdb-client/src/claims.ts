// Claims about LMFDB objects, verified exactly against the cached records.
//
// Notation of values (claimed and actual): integers as decimal digits; jinv and rationals as
// "n/d" reduced ("n" when d = 1); lists as "[a,b,...]" (no spaces; strings inside double-quoted);
// reals as normalised decimal strings; booleans "true"/"false"; text as is; other JSON objects as
// JSON with sorted keys, the values inside as in lists (so a real inside a list or an object shows
// as its normalised decimal). That is how the node writes a value; a claim is true when it is the
// same value however written, in value-equality.ts's one sense (used by computed claims too).
import type { SourceCache } from './cache';
import { computedClaim } from './computed-claims';
import { normalizeNumber } from './decimal';
import { clipped } from './quoted';
import { formatRational } from './rational';
import { columnValue, holdsUnreadableReal, outerSpace, readClaimedValue, sameNestedValue } from './value-equality';
import { isDatetime, isRationalValue, isReal, type LmfdbValue, type RationalValue } from './values';

export type ClaimVerdict = 'true' | 'false' | 'unknown';

export interface ClaimInput {
  source: number;
  label: string;
  field: string;
  claimedValue: string;
}

export interface ClaimResult {
  verdict: ClaimVerdict;
  /** The value the record holds, in the claim's notation (absent when unknown, or when it holds more items than a claim can write). */
  actual?: string;
  reason: string;
  /** How the value was found: computed from first principles, or looked up in the cached record. */
  method?: 'computed' | 'looked up';
}

/** The rational a value is when its column holds rationals (RATIONAL_COLUMNS: a pair, or text "n/d"), or a stored __Rational__. */
function asRational(field: string, v: LmfdbValue): RationalValue | undefined {
  const c = columnValue(field, v);
  return isRationalValue(c) ? c : undefined;
}

/**
 * Longest claimed value read. A proposal's is at most 16 KiB (CLAIM_VALUE_MAX in libs/proposal),
 * but the record service is asked directly: a value of a million digits cost 180 ms to read as one
 * bigint and more to compare, on the event loop. Beyond it a claim is unknown without being read.
 */
export const CLAIMED_VALUE_MAX = 16 * 1024;

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

/**
 * Whether the claim's text is the value the record holds (value-equality.ts says what "the same
 * value" is): true, false, or why the claim was not read (then it is false). Text is compared as
 * written; anything else is read from the claim (JSON, then Python's literal notation with
 * fractions) and compared as values. A value with whitespace at its start or end is not read
 * (" 15" is no notation of 15: it is refused, as "0x10" and "NaN" are).
 */
function sameValue(field: string, stored: LmfdbValue, claimed: string): boolean | string {
  const actual = columnValue(field, stored);
  if (typeof actual === 'string') return claimed === actual;
  if (isDatetime(actual) && claimed === actual.iso) return true;
  const parsed = readClaimedValue(claimed);
  if (parsed !== undefined) return sameNestedValue(actual, parsed);
  // A list the readers do not take (one holding a datetime, say) is compared as written, without
  // the spaces between items (never inside strings).
  if (Array.isArray(actual) && withoutSpacesOutsideStrings(claimed) === formatValue(stored, field)) return true;
  if (claimed === '') return 'it is empty';
  return outerSpace(claimed) ? 'it has whitespace at its start or end' : 'it is not a value this node reads (JSON, or a number, a fraction n/d with d not 0, a quoted string or a list of these)';
}

/**
 * Verifies a claim against a source's cache: 'true' when the record holds exactly the claimed
 * value, 'false' when it holds another, 'unknown' (not passed as true) when the source, record or
 * field is not held here or the record failed its checks.
 */
export function verifyClaim(cache: SourceCache | undefined, claim: ClaimInput): ClaimResult {
  try {
    return verifyClaimOrThrow(cache, claim);
  } catch (e) {
    // A row of a shape no check foresaw must not turn a verdict into an exception: a gRPC handler
    // (the acceptors' VerifyClaims, the record service) answered it with a status error, and the
    // proposer's claim check failed. What cannot be decided is unknown, never true.
    let why: string;
    try {
      why = e instanceof Error ? `${e.name}: ${e.message}` : `a thrown ${typeof e}`;
    } catch {
      why = 'an error that cannot be shown';
    }
    return { verdict: 'unknown', reason: `source ${claim.source} record ${shownText(claim.label)}: the claim on ${shownText(claim.field)} could not be checked (${clipped(why)})` };
  }
}

/** Whether the value holds more than `max` items (list items and object entries, at any depth); it stops as soon as it does. */
function itemsAbove(v: LmfdbValue, max: number): boolean {
  let n = 0;
  const stack: LmfdbValue[] = [v];
  // Bounded: every turn takes one value, and at most `max` are ever pushed.
  while (stack.length > 0) {
    const x = stack.pop() as LmfdbValue;
    if (x === null || typeof x !== 'object' || isReal(x) || isRationalValue(x) || isDatetime(x)) continue;
    const items = Array.isArray(x) ? x : Object.values(x);
    n += items.length;
    if (n > max) return true;
    for (const item of items) stack.push(item);
  }
  return false;
}

/** A claim's label or field in a reason (clipped; never String() of something that is not text). */
const shownText = (v: unknown): string => (typeof v === 'string' ? clipped(v) : `(not text: ${typeof v})`);

function verifyClaimOrThrow(cache: SourceCache | undefined, claim: ClaimInput): ClaimResult {
  const { source, label, field } = claim;
  if (!cache) return { verdict: 'unknown', reason: `source ${source} is not loaded here` };
  if (cache.source !== source) return { verdict: 'unknown', reason: `source ${source} is not loaded here (this cache holds source ${cache.source})` };
  const rec = cache.get(label);
  if (!rec) return { verdict: 'unknown', reason: `source ${source} has no record ${label}` };
  if (claim.claimedValue.length > CLAIMED_VALUE_MAX) {
    // Not read: its length alone refuses it (a million digits took 180 ms to parse).
    return { verdict: 'unknown', reason: `${label}: the claimed value is ${claim.claimedValue.length} characters long, above the ${CLAIMED_VALUE_MAX} a claim is read at` };
  }
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
  if (itemsAbove(actualValue, CLAIMED_VALUE_MAX)) {
    // Every item takes a character at least, so no claim that is read is this value. Written out
    // (and scanned, and compared) at every claim, a list of two million items took 2 s a claim,
    // 64 claims a proposal, on the event loop of the acceptor holding the source.
    return {
      verdict: 'false',
      reason: `${label}: ${field} holds more than ${CLAIMED_VALUE_MAX} items, more than a claim of at most ${CLAIMED_VALUE_MAX} characters can write, so the claim is not it (looked up in the record; the value is not written out)`,
      method: 'looked up',
    };
  }
  const actual = formatValue(actualValue, field);
  if (holdsUnreadableReal(actualValue)) {
    // A stored real this code cannot read exactly ("1.5e-1001", "NaN"), alone or inside a list or an object, decides nothing.
    return { verdict: 'unknown', reason: `source ${source} record ${label}: ${field} is ${clipped(actual)}, a number this node cannot compare exactly` };
  }
  let same: boolean | string;
  try {
    same = sameValue(field, actualValue, claim.claimedValue);
  } catch (e) {
    // A value of a shape no comparison expects (data the code has never met) decides nothing.
    return { verdict: 'unknown', reason: `source ${source} record ${label}: ${field} could not be compared with the claim (${clipped((e as Error).message)})` };
  }
  if (same === true) {
    return { verdict: 'true', actual, reason: `${label}: ${field} is ${clipped(actual)} (looked up in the record)`, method: 'looked up' };
  }
  const unread = typeof same === 'string' ? `, which is no value: ${same}` : '';
  return { verdict: 'false', actual, reason: `${label}: ${field} is ${clipped(actual)}, the claim says ${clipped(claim.claimedValue)}${unread} (looked up in the record)`, method: 'looked up' };
}
