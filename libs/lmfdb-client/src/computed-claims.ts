// Claims the node computes rather than looks up:
// - an elliptic curve's (source 0) `ap:<p>` and `anlist:<n>`, from its ainvs by counting points
//   of the reduction mod p, once the model is shown minimal at every prime counted at (from the
//   model alone: the record's conductor may be missing, or too large to have been checked);
// - a weight-2 rational newform's (source 1: a newform, or a newspace of dimension 1)
//   `modular_curve`: true only as a proof. The claimed curve's conductor equals the level
//   (computed prime by prime from the model), and its a_p equal the newform's stored traces at
//   every prime up to the Sturm bound of the level (Sturm: two eigenforms of level N and weight 2
//   whose a_n agree for n <= N * prod(1 + 1/p) / 6 are equal, for the trivial character the
//   newform must have (orbit a, from the row or its label); the a_n follow from the a_p, with
//   the same bad primes). A mismatch is false; what this code cannot decide (additive reduction
//   at 2 or 3, a model perhaps not minimal, a Sturm bound beyond the stored traces) is unknown.
// Every computation has a bound; a claim beyond it, or one that cannot be read, is unknown with
// the reason (never passed as true).
import type { CachedRecord } from './cache';
import type { ClaimInput, ClaimResult } from './claims';
import { AN_LIST_MAX, AP_PRIME_MAX, apModP, anList, isPrime, notMinimalAt, primeFactors, primesUpTo, valuation } from './elliptic-curve-arith';
import { gcd } from './rational';
import { bitLength, CHECKED_INT_BITS_MAX, ellipticInvariants } from './checks';
import { isMinimalAt } from './minimal-model';
import { clipped, quotedClaim } from './quoted';
import { readClaimedValue, sameNestedValue } from './value-equality';
import { isRationalValue, isReal, type LmfdbValue } from './values';

/** An integer, a real or a rational, as a claim is read. */
const isNumber = (v: LmfdbValue | undefined): boolean => v !== undefined && (typeof v === 'bigint' || isReal(v) || isRationalValue(v));

/** A claimed number as it was written (a real's digits) or as n/d. */
const numberText = (v: LmfdbValue): string => (isReal(v) ? v.digits : isRationalValue(v) ? `${v.num}/${v.den}` : String(v));

/**
 * A stored column that should hold an integer, as a reason shows it: never String() of an object
 * (a row's {"toString": 1} made String() throw), never a huge integer written out.
 */
const integerShown = (v: LmfdbValue | undefined): string =>
  typeof v !== 'bigint' ? (v === undefined ? 'not stored' : 'not an integer') : bitLength(v) > CHECKED_INT_BITS_MAX ? `of about ${bitLength(v)} bits` : String(v);

const points = (n: number): string => `${n} point${n === 1 ? '' : 's'}`;

function unknown(reason: string): ClaimResult {
  return { verdict: 'unknown', reason, method: 'computed' };
}

/** The record's ainvs, if five integers within the bound computations take. */
function curveAinvs(rec: CachedRecord): bigint[] | undefined {
  const a = rec.row['ainvs'];
  return Array.isArray(a) && a.length === 5 && a.every((x) => typeof x === 'bigint' && bitLength(x) <= CHECKED_INT_BITS_MAX) ? (a as bigint[]) : undefined;
}

/** "[a1,a2,a3,a4,a6]" (spaces allowed) as five integers. */
function parseAinvs(text: string): bigint[] | undefined {
  const m = /^\s*\[([^\]]*)\]\s*$/.exec(text);
  if (!m) return undefined;
  const parts = (m[1] as string).split(',').map((x) => x.trim());
  if (parts.length !== 5 || !parts.every((x) => /^[+-]?\d{1,60}$/.test(x))) return undefined;
  return parts.map((x) => BigInt(x));
}

/**
 * Why a_p cannot be counted on this model at the primes `primes`: singular, or not minimal at one
 * of them (its reduction there is not the curve's); undefined when it can.
 */
function notCountable(label: string, ainvs: readonly bigint[], primes: readonly number[]): string | undefined {
  const inv = ellipticInvariants(ainvs);
  if (inv.disc === 0n) return `${label}: ainvs give a singular curve (discriminant 0); nothing is computed from them`;
  const p = primes.find((q) => !isMinimalAt(ainvs, inv, BigInt(q)));
  if (p === undefined) return undefined;
  return `${label}: its ainvs are not a minimal model at ${p}, so counting points mod ${p} does not give the curve's a_${p} (the record should hold the minimal model)`;
}

/** The index of ap:<p> or anlist:<n>: its decimal digits without leading zeros (any length, never parsed whole), or undefined. */
const indexDigits = (text: string): string | undefined => (/^\d+$/.test(text) ? text.replace(/^0+(?=\d)/, '') : undefined);

/** Whether an index (indexDigits) is above a bound of at most 15 digits. */
const above = (digits: string, max: number): boolean => digits.length > 15 || Number(digits) > max;

function apClaim(label: string, ainvs: readonly bigint[], pText: string, claimed: string): ClaimResult {
  const index = indexDigits(pText);
  if (index === undefined) return unknown(`${label}: ${quotedClaim(`ap:${pText}`)} names no prime (a_p is claimed for a prime p written in decimal digits, up to ${AP_PRIME_MAX})`);
  // The bound first, whatever p is: ap:18446744073709551615 said "has no field" (its digits were
  // not read as an index), and a p that large is no number to test for primality.
  if (above(index, AP_PRIME_MAX)) return unknown(`${label}: a_${clipped(index)} is beyond the bound of point counting (primes up to ${AP_PRIME_MAX})`);
  const p = Number(index);
  if (!isPrime(p)) return unknown(`${label}: ap:${pText} names no prime (a_p is claimed for primes p)`);
  const notMinimal = notCountable(label, ainvs, [p]);
  if (notMinimal !== undefined) return unknown(notMinimal);
  const ap = apModP(ainvs, p);
  const actual = String(ap);
  const how = `computed by counting ${points(p + 1 - ap)} over F_${p}`;
  // The same value as a looked-up claim means it (value-equality.ts): 2, 2.0 and 4/2 alike.
  const given = readClaimedValue(claimed);
  if (given !== undefined && sameNestedValue(BigInt(ap), given)) return { verdict: 'true', actual, reason: `${label}: a_${p} = ${actual}, ${how}`, method: 'computed' };
  if (!isNumber(given)) return { verdict: 'false', actual, reason: `${label}: a_${p} = ${actual}, ${how}; the claim ${quotedClaim(claimed)} is not a number`, method: 'computed' };
  return { verdict: 'false', actual, reason: `${label}: a_${p} = ${actual}, ${how}; the claim says ${clipped(claimed)}`, method: 'computed' };
}

function anListClaim(label: string, ainvs: readonly bigint[], nText: string, claimed: string): ClaimResult {
  const index = indexDigits(nText);
  if (index === undefined || index === '0') return unknown(`${label}: ${quotedClaim(`anlist:${nText}`)} needs a length n >= 1 written in decimal digits, up to ${AN_LIST_MAX}`);
  if (above(index, AN_LIST_MAX)) return unknown(`${label}: a_1..a_${clipped(index)} is beyond the bound of the computation (n up to ${AN_LIST_MAX})`);
  const n = Number(index);
  const notMinimal = notCountable(label, ainvs, primesUpTo(n));
  if (notMinimal !== undefined) return unknown(notMinimal);
  const { disc } = ellipticInvariants(ainvs);
  const list = anList(ainvs, disc, n);
  const actual = `[${list.join(',')}]`;
  const how = `computed from a_p by counting points over F_p for the primes up to ${n}`;
  // Each item the same value as a looked-up claim means it (value-equality.ts).
  const items = readClaimedValue(claimed);
  if (!Array.isArray(items) || !items.every(isNumber)) {
    return { verdict: 'false', actual, reason: `${label}: a_1..a_${n} = ${actual}, ${how}; the claim is not a list of numbers`, method: 'computed' };
  }
  const firstDiff = list.findIndex((a, i) => items[i] === undefined || !sameNestedValue(a, items[i] as LmfdbValue));
  if (items.length === n && firstDiff < 0) return { verdict: 'true', actual, reason: `${label}: a_1..a_${n} = ${actual}, ${how}`, method: 'computed' };
  const why = items.length !== n ? `the claim lists ${items.length} coefficients` : `a_${firstDiff + 1} is ${list[firstDiff]}, the claim says ${clipped(numberText(items[firstDiff] as LmfdbValue))}`;
  return { verdict: 'false', actual, reason: `${label}: a_1..a_${n} = ${actual}, ${how}; ${why}`, method: 'computed' };
}

/** Largest level factored (by trial division) for the same-level check. */
const LEVEL_MAX = 10n ** 12n;

/** Primes of trace_display: LMFDB shows the traces of a_2, a_3, a_5, a_7. */
const TRACE_DISPLAY_PRIMES = primesUpTo(100);

/**
 * The curve's reduction at p from its model (c4, c6, discriminant): the conductor exponent when
 * this code can tell, 'not minimal' when the model is not minimal at p >= 5, or undefined (additive
 * reduction at 2 or 3, whose exponent needs Tate's algorithm, or a model that may not be minimal
 * at 2 or 3). Multiplicative iff p divides the discriminant and not c4 (for a minimal model).
 */
function reductionAt(inv: { c4: bigint; c6: bigint; disc: bigint }, p: bigint): number | 'not minimal' | undefined {
  const vd = valuation(inv.disc, p);
  if (vd === 0) return 0;
  const vc4 = valuation(inv.c4, p);
  if (vd >= 12) {
    if (p <= 3n) return undefined;
    if (notMinimalAt(inv, p)) return 'not minimal';
  }
  if (vc4 === 0) return 1;
  return p >= 5n ? 2 : undefined;
}

/** Minimal at p as far as this code can tell: always where v_p(disc) < 12, and decided for p >= 5. */
const knownMinimalAt = (r: number | 'not minimal' | undefined, vd: number): boolean => r !== 'not minimal' && (r !== undefined || vd < 12);

/** floor(N * prod over p | N of (1 + 1/p) / 6): the Sturm bound of weight 2 on Gamma0(N). */
function sturmBound(level: bigint, levelPrimes: readonly bigint[]): bigint {
  let index = level;
  for (const p of levelPrimes) index = (index / p) * (p + 1n);
  return index / 6n;
}

function modularCurveClaim(rec: CachedRecord, claimed: string): ClaimResult {
  const label = rec.label;
  const weight = rec.row['weight'];
  const dim = rec.row['dim'];
  const traces = rec.row['trace_display'];
  if (weight !== 2n) return unknown(`${label}: weight ${integerShown(weight)}; a curve corresponds only to a newform of weight 2`);
  if (dim !== 1n) return unknown(`${label}: dimension ${integerShown(dim)}; only a rational newform (dimension 1) has the curve's a_p as its traces`);
  // The row's character orbit, or the label's third part (N.k.c or N.k.c.x): a curve's newform has
  // the trivial character (orbit a), and the Sturm bound below is the one for Gamma0(N).
  const orbit = typeof rec.row['char_orbit_label'] === 'string' ? rec.row['char_orbit_label'] : label.split('.')[2];
  if (orbit !== 'a') {
    return unknown(`${label}: character orbit ${orbit === undefined ? 'not known' : JSON.stringify(orbit)}; only a newform with the trivial character (orbit a) corresponds to an elliptic curve over Q`);
  }
  if (!Array.isArray(traces) || traces.length === 0 || !traces.every((t) => typeof t === 'bigint')) return unknown(`${label}: no stored traces to compare with`);
  const ainvs = parseAinvs(claimed);
  if (!ainvs) return { verdict: 'false', reason: `${label}: the claimed curve ${quotedClaim(claimed)} is not [a1,a2,a3,a4,a6]`, method: 'computed' };
  const inv = ellipticInvariants(ainvs);
  const curve = `the curve [${ainvs.join(',')}]`;
  if (inv.disc === 0n) return { verdict: 'false', reason: `${label}: ${curve} is singular (discriminant 0)`, method: 'computed' };
  const level = rec.row['level'];
  if (typeof level !== 'bigint' || level <= 0n || level > LEVEL_MAX) return unknown(`${label}: no level up to ${LEVEL_MAX} to compare the curve's conductor with`);
  // The traces first: a_p where the model is known minimal at p (always at a good prime).
  const primes = TRACE_DISPLAY_PRIMES.slice(0, traces.length);
  const compared: number[] = [];
  for (const [i, p] of primes.entries()) {
    const P = BigInt(p);
    if (!knownMinimalAt(reductionAt(inv, P), valuation(inv.disc, P))) continue;
    const ap = apModP(ainvs, p);
    const trace = traces[i] as bigint;
    if (BigInt(ap) !== trace) {
      return {
        verdict: 'false',
        actual: `a_${p} = ${ap}`,
        reason: `${label}: ${curve} has a_${p} = ${ap} (computed by counting ${points(p + 1 - ap)} over F_${p}), the newform's stored trace at ${p} is ${trace}: they do not correspond`,
        method: 'computed',
      };
    }
    compared.push(p);
  }
  // The Sturm bound is at least level / 6: past 1000 (beyond every computed prime) nothing more
  // can be proved, and the level is not factored (trial division of a large level took a claim
  // 20 ms of the acceptor's thread, and a command carries up to 64 claims).
  if (level / 6n > 1000n) {
    return unknown(`${label}: ${curve} has a_p as the stored traces at ${compared.join(', ') || 'no prime compared'}, but proving the correspondence needs the primes up to the Sturm bound of level ${level} (beyond 1000)`);
  }
  const levelPrimes = primeFactors(level);
  // The conductor, prime by prime: the level's primes, then any other prime of the discriminant.
  const undecided: string[] = [];
  let rest = inv.disc < 0n ? -inv.disc : inv.disc;
  for (const p of levelPrimes) {
    const want = valuation(level, p);
    while (rest % p === 0n) rest /= p;
    const r = reductionAt(inv, p);
    if (r === 'not minimal') undecided.push(`the model is not minimal at ${p} (give a minimal model)`);
    else if (r === undefined) undecided.push(`the conductor exponent at ${p} (additive reduction, or a model perhaps not minimal there) is not computed here`);
    else if (r !== want) {
      const what = r === 0 ? 'good reduction' : r === 1 ? 'multiplicative reduction (exponent 1)' : 'additive reduction (exponent 2)';
      return { verdict: 'false', reason: `${label}: ${curve} has ${what} at ${p}, the level ${level} has ${p}^${want}: not the same conductor, so they do not correspond`, method: 'computed' };
    }
  }
  if (rest !== 1n) {
    // A prime outside the level divides the discriminant. Where it does not divide c4 the model is
    // minimal there and the reduction multiplicative: bad reduction outside the level.
    if (gcd(rest, inv.c4) === 1n) {
      return { verdict: 'false', reason: `${label}: ${curve} has bad reduction at a prime outside the level ${level} (its discriminant ${inv.disc} has a factor ${rest} prime to c4): not the same conductor, so they do not correspond`, method: 'computed' };
    }
    undecided.push(`its discriminant has primes outside the level ${level} where the model may not be minimal (give a minimal model)`);
  }
  if (undecided.length > 0) return unknown(`${label}: ${curve}: ${undecided.join('; ')}`);
  const bound = sturmBound(level, levelPrimes);
  const needed = primesUpTo(Number(bound > 1000n ? 1000n : bound));
  const missing = needed.filter((p) => !compared.includes(p));
  if (bound > 1000n || missing.length > 0) {
    return unknown(
      `${label}: ${curve} has conductor ${level} and a_p as the stored traces at ${compared.join(', ')}, but proving the correspondence needs the primes up to the Sturm bound ${bound} of level ${level} (missing: ${bound > 1000n ? 'beyond 1000' : missing.join(', ')})`,
    );
  }
  return {
    verdict: 'true',
    actual: `[${ainvs.join(',')}]`,
    reason: `${label}: ${curve} has conductor ${level} (its reduction computed at every prime of the level) and a_p = the newform's stored traces at the primes ${compared.join(', ')}, every prime up to the Sturm bound ${bound} (computed by counting points)`,
    method: 'computed',
  };
}

/** A computed claim's result, or undefined when the field is not one computed here (it is looked up). */
export function computedClaim(source: number, rec: CachedRecord, claim: ClaimInput): ClaimResult | undefined {
  if (source === 0) {
    // Any text after the colon: digits past 7 (ap:18446744073709551615) or none (anlist:1e9) were
    // looked up as a column and said "has no field", where the bound or the notation is why.
    const m = /^(ap|anlist):(.*)$/s.exec(claim.field);
    if (!m) return undefined;
    if (!rec.check.valid) return unknown(`source 0 record ${rec.label} is invalid: ${clipped(rec.check.reasons.join('; '))}`);
    const ainvs = curveAinvs(rec);
    if (!ainvs) return unknown(`source 0 record ${rec.label} has no ainvs to compute from (five integers of at most ${CHECKED_INT_BITS_MAX} bits)`);
    return m[1] === 'ap' ? apClaim(rec.label, ainvs, m[2] as string, claim.claimedValue) : anListClaim(rec.label, ainvs, m[2] as string, claim.claimedValue);
  }
  if (source === 1 && claim.field === 'modular_curve') {
    if (!rec.check.valid) return unknown(`source 1 record ${rec.label} is invalid: ${clipped(rec.check.reasons.join('; '))}`);
    return modularCurveClaim(rec, claim.claimedValue);
  }
  return undefined;
}
