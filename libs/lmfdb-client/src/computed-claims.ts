// Claims the node computes rather than looks up:
// - an elliptic curve's (source 0) `ap:<p>` and `anlist:<n>`, from its ainvs by counting points
//   of the reduction mod p;
// - a weight-2 rational newform's (source 1: a newform, or a newspace of dimension 1)
//   `modular_curve`: the claimed curve (its ainvs, a minimal model) has bad reduction exactly at
//   the primes of the level, and the newform's stored traces as its a_p at the primes both have
//   (modularity: they must agree).
// Every computation has a bound; a claim beyond it, or one that cannot be read, is unknown with
// the reason (never passed as true).
import type { CachedRecord } from './cache';
import type { ClaimInput, ClaimResult } from './claims';
import { AN_LIST_MAX, AP_PRIME_MAX, apModP, anList, isPrime, primesUpTo } from './elliptic-curve-arith';
import { ellipticInvariants } from './checks';

const INTEGER = /^\s*[+-]?\d{1,40}\s*$/;

const points = (n: number): string => `${n} point${n === 1 ? '' : 's'}`;

function unknown(reason: string): ClaimResult {
  return { verdict: 'unknown', reason, method: 'computed' };
}

function curveAinvs(rec: CachedRecord): bigint[] | undefined {
  const a = rec.row['ainvs'];
  return Array.isArray(a) && a.length === 5 && a.every((x) => typeof x === 'bigint') ? (a as bigint[]) : undefined;
}

/** "[a1,a2,a3,a4,a6]" (spaces allowed) as five integers. */
function parseAinvs(text: string): bigint[] | undefined {
  const m = /^\s*\[\s*([^\]]*)\]\s*$/.exec(text);
  if (!m) return undefined;
  const parts = (m[1] as string).split(',').map((x) => x.trim());
  if (parts.length !== 5 || !parts.every((x) => /^[+-]?\d{1,60}$/.test(x))) return undefined;
  return parts.map((x) => BigInt(x));
}

function apClaim(label: string, ainvs: readonly bigint[], pText: string, claimed: string): ClaimResult {
  const p = Number(pText);
  if (!isPrime(p)) return unknown(`${label}: ap:${pText} names no prime (a_p is claimed for primes p)`);
  if (p > AP_PRIME_MAX) return unknown(`${label}: a_${p} is beyond the bound of point counting (primes up to ${AP_PRIME_MAX})`);
  const ap = apModP(ainvs, p);
  const actual = String(ap);
  const how = `computed by counting ${points(p + 1 - ap)} over F_${p}`;
  if (!INTEGER.test(claimed)) return { verdict: 'false', actual, reason: `${label}: a_${p} = ${actual}, ${how}; the claim ${JSON.stringify(claimed)} is not an integer`, method: 'computed' };
  if (BigInt(claimed.trim()) === BigInt(ap)) return { verdict: 'true', actual, reason: `${label}: a_${p} = ${actual}, ${how}`, method: 'computed' };
  return { verdict: 'false', actual, reason: `${label}: a_${p} = ${actual}, ${how}; the claim says ${claimed.trim()}`, method: 'computed' };
}

function anListClaim(label: string, ainvs: readonly bigint[], nText: string, claimed: string): ClaimResult {
  const n = Number(nText);
  if (!Number.isInteger(n) || n < 1) return unknown(`${label}: anlist:${nText} needs a length n >= 1`);
  if (n > AN_LIST_MAX) return unknown(`${label}: a_1..a_${n} is beyond the bound of the computation (n up to ${AN_LIST_MAX})`);
  const { disc } = ellipticInvariants(ainvs);
  const list = anList(ainvs, disc, n);
  const actual = `[${list.join(',')}]`;
  const how = `computed from a_p by counting points over F_p for the primes up to ${n}`;
  const given = /^\s*\[([^\]]*)\]\s*$/.exec(claimed);
  const items = given ? (given[1] as string).split(',').map((x) => x.trim()).filter((x) => x !== '') : undefined;
  if (!items || !items.every((x) => /^[+-]?\d{1,40}$/.test(x))) {
    return { verdict: 'false', actual, reason: `${label}: a_1..a_${n} = ${actual}, ${how}; the claim is not a list of integers`, method: 'computed' };
  }
  const firstDiff = list.findIndex((a, i) => items[i] === undefined || BigInt(items[i] as string) !== a);
  if (items.length === n && firstDiff < 0) return { verdict: 'true', actual, reason: `${label}: a_1..a_${n} = ${actual}, ${how}`, method: 'computed' };
  const why = items.length !== n ? `the claim lists ${items.length} coefficients` : `a_${firstDiff + 1} is ${list[firstDiff]}, the claim says ${items[firstDiff]}`;
  return { verdict: 'false', actual, reason: `${label}: a_1..a_${n} = ${actual}, ${how}; ${why}`, method: 'computed' };
}

/** Largest level factored (by trial division) for the same-level check. */
const LEVEL_MAX = 10n ** 12n;

function primeFactors(n: bigint): bigint[] {
  const out: bigint[] = [];
  for (let d = 2n; d * d <= n; d++) {
    if (n % d !== 0n) continue;
    out.push(d);
    while (n % d === 0n) n /= d;
  }
  if (n > 1n) out.push(n);
  return out;
}

/** Primes of trace_display: LMFDB shows the traces of a_2, a_3, a_5, a_7. */
const TRACE_DISPLAY_PRIMES = primesUpTo(100);

function modularCurveClaim(rec: CachedRecord, claimed: string): ClaimResult {
  const label = rec.label;
  const weight = rec.row['weight'];
  const dim = rec.row['dim'];
  const traces = rec.row['trace_display'];
  if (weight !== 2n) return unknown(`${label}: weight ${String(weight)}; a curve corresponds only to a newform of weight 2`);
  if (dim !== 1n) return unknown(`${label}: dimension ${String(dim)}; only a rational newform (dimension 1) has the curve's a_p as its traces`);
  if (!Array.isArray(traces) || traces.length === 0 || !traces.every((t) => typeof t === 'bigint')) return unknown(`${label}: no stored traces to compare with`);
  const ainvs = parseAinvs(claimed);
  if (!ainvs) return { verdict: 'false', reason: `${label}: the claimed curve ${JSON.stringify(claimed)} is not [a1,a2,a3,a4,a6]`, method: 'computed' };
  const { disc } = ellipticInvariants(ainvs);
  if (disc === 0n) return { verdict: 'false', reason: `${label}: the claimed curve [${ainvs.join(',')}] is singular (discriminant 0)`, method: 'computed' };
  // Same level: for a minimal model the primes of bad reduction (those of the discriminant) are
  // the primes of the conductor, so the discriminant must be made of the level's primes, each present.
  const level = rec.row['level'];
  if (typeof level === 'bigint' && level > 0n && level <= LEVEL_MAX) {
    const levelPrimes = primeFactors(level);
    let rest = disc < 0n ? -disc : disc;
    const missing = levelPrimes.filter((p) => rest % p !== 0n);
    for (const p of levelPrimes) while (rest % p === 0n) rest /= p;
    if (missing.length > 0 || rest !== 1n) {
      return {
        verdict: 'false',
        reason: `${label}: the curve [${ainvs.join(',')}] has discriminant ${disc}, whose primes are not those of the level ${level} (${levelPrimes.join(', ')}): not the same level (for a minimal model), so they do not correspond`,
        method: 'computed',
      };
    }
  } else return unknown(`${label}: no level up to ${LEVEL_MAX} to compare the curve's bad primes with`);
  const primes = TRACE_DISPLAY_PRIMES.slice(0, traces.length);
  const compared: string[] = [];
  for (const [i, p] of primes.entries()) {
    const ap = apModP(ainvs, p);
    const trace = traces[i] as bigint;
    if (BigInt(ap) !== trace) {
      return {
        verdict: 'false',
        actual: `a_${p} = ${ap}`,
        reason: `${label}: the curve [${ainvs.join(',')}] has a_${p} = ${ap} (computed by counting ${points(p + 1 - ap)} over F_${p}), the newform's stored trace at ${p} is ${trace}: they do not correspond`,
        method: 'computed',
      };
    }
    compared.push(`a_${p} = ${ap}`);
  }
  return {
    verdict: 'true',
    actual: `[${ainvs.join(',')}]`,
    reason: `${label}: the curve [${ainvs.join(',')}] has bad reduction exactly at the primes of the level ${String(level)}, and ${compared.join(', ')} (computed by counting points), as the newform's stored traces at the primes ${primes.join(', ')} (the primes compared)`,
    method: 'computed',
  };
}

/** A computed claim's result, or undefined when the field is not one computed here (it is looked up). */
export function computedClaim(source: number, rec: CachedRecord, claim: ClaimInput): ClaimResult | undefined {
  if (source === 0) {
    const m = /^(ap|anlist):(\d{1,7})$/.exec(claim.field);
    if (!m) return undefined;
    if (!rec.check.valid) return unknown(`source 0 record ${rec.label} is invalid: ${rec.check.reasons.join('; ')}`);
    const ainvs = curveAinvs(rec);
    if (!ainvs) return unknown(`source 0 record ${rec.label} has no ainvs to compute from`);
    return m[1] === 'ap' ? apClaim(rec.label, ainvs, m[2] as string, claim.claimedValue) : anListClaim(rec.label, ainvs, m[2] as string, claim.claimedValue);
  }
  if (source === 1 && claim.field === 'modular_curve') {
    if (!rec.check.valid) return unknown(`source 1 record ${rec.label} is invalid: ${rec.check.reasons.join('; ')}`);
    return modularCurveClaim(rec, claim.claimedValue);
  }
  return undefined;
}
