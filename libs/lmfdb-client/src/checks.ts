// Record checks in exact arithmetic (bigint and Rational, no floating point). A failed check marks
// the record invalid with its reasons; nothing is dropped.
import { primeFactors, torsionMismatch } from './elliptic-curve-arith';
import { isMinimalAt, type ModelInvariants } from './minimal-model';
import { exactSqrt, POLY_DEGREE_MAX, polynomialDiscriminant } from './polynomial-arith';
import { rational, ratEquals, formatRational } from './rational';
import { rowTable, sourceSpec } from './sources';
import type { DecodedRow, LmfdbValue } from './values';

export interface CheckResult {
  valid: boolean;
  reasons: string[];
  /**
   * What could not be checked because a value has a form these checks do not understand (recorded,
   * not a reason to call the record invalid: a false "invalid" is worse than "not checked").
   */
  unchecked?: string[];
}

class Checker {
  readonly reasons: string[] = [];
  readonly unchecked: string[] = [];
  constructor(readonly row: DecodedRow) {}

  fail(reason: string): void {
    // A column several checks read ("conductor is not an integer") is one fault, told once.
    const told = reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX)}… (${reason.length} characters)` : reason;
    if (!this.reasons.includes(told)) this.reasons.push(told);
  }
  /** A part that cannot be checked (a form not understood): recorded, the record stays valid. */
  cannotCheck(what: string): void {
    this.unchecked.push(what);
  }
  str(col: string, required = false): string | undefined {
    const v = this.row[col];
    if (v === undefined) {
      if (required) this.fail(`${col} is missing`);
      return undefined;
    }
    if (typeof v !== 'string') {
      this.fail(`${col} is not text`);
      return undefined;
    }
    return v;
  }
  int(col: string): bigint | undefined {
    const v = this.row[col];
    if (v === undefined) return undefined;
    if (typeof v !== 'bigint') {
      this.fail(`${col} is not an integer`);
      return undefined;
    }
    return v;
  }
  ints(col: string): bigint[] | undefined {
    const v = this.row[col];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'bigint')) {
      this.fail(`${col} is not a list of integers`);
      return undefined;
    }
    return v as bigint[];
  }
  /** Compares an integer column with the value the label (or a computation) gives. */
  eqInt(col: string, expected: bigint, why: string): void {
    const v = this.int(col);
    if (v !== undefined && v !== expected) this.fail(`${col} is ${shownInt(v)}, ${why} gives ${shownInt(expected)}`);
  }
  eqStr(col: string, expected: string, why: string): void {
    const v = this.str(col);
    if (v !== undefined && v !== expected) this.fail(`${col} is ${v}, ${why} gives ${expected}`);
  }
  listColumn(col: string): void {
    const v = this.row[col];
    if (v !== undefined && !Array.isArray(v)) this.fail(`${col} does not hold a list: ${String(v)}`);
  }
}

const DIGITS = /^\d+$/;

/** Characters of one reason kept (a reason quotes stored values, which may be long). */
const REASON_MAX = 300;
/**
 * Largest integers computed with: ainvs of more bits, or a conductor a label writes as a power of
 * more, are not checked (LMFDB's are far smaller; the gcds and valuations below grow faster than
 * linearly with the size, so a hostile row could hold a node for minutes).
 */
export const CHECKED_INT_BITS_MAX = 1024;

/** Bits of |v|, in linear time. */
export function bitLength(v: bigint): number {
  return v === 0n ? 0 : (v < 0n ? -v : v).toString(16).length * 4;
}

/** An integer as a reason shows it: written out up to CHECKED_INT_BITS_MAX bits, else by its size. */
function shownInt(v: bigint): string {
  const bits = bitLength(v);
  return bits > CHECKED_INT_BITS_MAX ? `an integer of about ${Math.round(bits * Math.LOG10E * Math.LN2)} digits` : String(v);
}

function gcdAbs(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

function base26(letters: string): bigint {
  let n = 0n;
  for (const ch of letters) n = n * 26n + BigInt(ch.charCodeAt(0) - 97);
  return n;
}

/** Discriminant and j-invariant of y^2 + a1 xy + a3 y = x^3 + a2 x^2 + a4 x + a6. */
export function ellipticInvariants(ainvs: readonly bigint[]): { disc: bigint; c4: bigint; c6: bigint; jinv?: { num: bigint; den: bigint } } {
  const [a1, a2, a3, a4, a6] = ainvs;
  const b2 = a1 * a1 + 4n * a2;
  const b4 = 2n * a4 + a1 * a3;
  const b6 = a3 * a3 + 4n * a6;
  const b8 = a1 * a1 * a6 + 4n * a2 * a6 - a1 * a3 * a4 + a2 * a3 * a3 - a4 * a4;
  const c4 = b2 * b2 - 24n * b4;
  const c6 = -b2 * b2 * b2 + 36n * b2 * b4 - 216n * b6;
  const disc = -b2 * b2 * b8 - 8n * b4 * b4 * b4 - 27n * b6 * b6 + 9n * b2 * b4 * b6;
  return { disc, c4, c6, jinv: disc === 0n ? undefined : rational(c4 * c4 * c4, disc) };
}

function checkEllipticCurve(c: Checker): void {
  const label = c.str('lmfdb_label', true);
  let labelConductor: bigint | undefined;
  if (label !== undefined) {
    const m = /^(\d+)\.([a-z]+)(\d+)$/.exec(label);
    if (!m) c.fail(`lmfdb_label ${label} is not of the form N.cn`);
    // A conductor is a positive integer, and a label writes N and n without leading zeros: "0.a1"
    // (conductor 0) or "011.a2" (a second label for 11.a2) are no curve's label.
    else if (!/^[1-9]/.test(m[1] as string) || !/^[1-9]/.test(m[3] as string)) c.fail(`lmfdb_label ${label} is not of the form N.cn (N and n positive, without leading zeros)`);
    else {
      const why = `the label ${label}`;
      labelConductor = BigInt(m[1]);
      c.eqInt('conductor', BigInt(m[1]), why);
      c.eqStr('lmfdb_iso', `${m[1]}.${m[2]}`, why);
      c.eqInt('lmfdb_number', BigInt(m[3]), why);
      c.eqInt('iso_nlabel', base26(m[2]), why);
    }
  }
  const ainvs = c.ints('ainvs');
  const huge = ainvs?.some((a) => bitLength(a) > CHECKED_INT_BITS_MAX) ?? false;
  if (huge) c.cannotCheck(`ainvs: an entry has more than ${CHECKED_INT_BITS_MAX} bits (the model's invariants are not computed)`);
  if (ainvs !== undefined && !huge) {
    if (ainvs.length !== 5) c.fail(`ainvs has ${ainvs.length} entries, not 5`);
    else {
      const { disc, c4, c6, jinv } = ellipticInvariants(ainvs);
      if (disc === 0n) c.fail('ainvs give a singular curve (discriminant 0)');
      // LMFDB stores the reduced minimal model (a1, a3 in {0, 1}, a2 in {-1, 0, 1}): unique in its
      // class, so an isomorphic model (same discriminant and j) written instead is caught too.
      const [a1, a2, a3] = ainvs as [bigint, bigint, bigint];
      if (a1 < 0n || a1 > 1n || a3 < 0n || a3 > 1n || a2 < -1n || a2 > 1n) c.fail(`ainvs [${ainvs.join(',')}] are not a reduced model (a1, a3 in {0,1}, a2 in {-1,0,1})`);
      const why = 'ainvs';
      c.eqInt('absD', disc < 0n ? -disc : disc, why);
      c.eqInt('signD', disc < 0n ? -1n : disc > 0n ? 1n : 0n, why);
      const j = c.ints('jinv');
      if (j !== undefined && jinv !== undefined) {
        if (j.length !== 2 || j[1] === 0n) c.fail(`jinv is not a pair [numerator, denominator]`);
        else if (!ratEquals({ num: j[0], den: j[1] }, jinv)) {
          c.fail(`jinv is ${formatRational({ num: j[0], den: j[1] })}, ainvs give ${formatRational(jinv)}`);
        } else if (j[1] < 0n) {
          // The same number, stored against the API's form: formatted, both sides would read alike.
          c.fail(`jinv is stored as [${j[0]},${j[1]}], with a negative denominator (LMFDB stores it with denominator > 0: ${formatRational(jinv)})`);
        } else if (gcdAbs(j[0] as bigint, j[1] as bigint) !== 1n) {
          c.fail(`jinv is stored as [${j[0]},${j[1]}], not in lowest terms (${formatRational(jinv)})`);
        }
      }
      if (disc !== 0n) checkMinimalAtConductor(c, c.row['conductor'] === undefined ? labelConductor : c.int('conductor'), ainvs, { disc, c4, c6 });
    }
  }
  const ts = c.ints('torsion_structure');
  // The product's cost is quadratic in its size: thousands of wide entries held a node for minutes.
  // (Over Q the structure has at most two invariants, and the torsion at most 16 points.)
  if (ts !== undefined && ts.reduce((bits, x) => bits + bitLength(x), 0) > CHECKED_INT_BITS_MAX) {
    c.cannotCheck(`torsion against torsion_structure: its ${ts.length} entries have more than ${CHECKED_INT_BITS_MAX} bits together (their product is not computed)`);
  } else if (ts !== undefined) c.eqInt('torsion', ts.reduce((a, b) => a * b, 1n), 'the product of torsion_structure');
  // The torsion injects into E(F_p) at every odd prime of good reduction: its order divides the count.
  const torsion = c.int('torsion');
  if (torsion !== undefined && ainvs !== undefined && ainvs.length === 5 && !huge) {
    const { disc } = ellipticInvariants(ainvs);
    if (disc !== 0n) {
      const bad = torsionMismatch(ainvs, disc, torsion, TORSION_CHECK_PRIME_MAX);
      if (bad && bad.p === 0) c.fail(`torsion is ${torsion}, not a group order`);
      else if (bad) c.fail(`torsion is ${torsion}, which does not divide #E(F_${bad.p}) = ${bad.points} (counted from ainvs; p = ${bad.p} is an odd prime of good reduction, where the torsion injects)`);
    }
  }
}

/** Largest conductor factored (trial division) for the minimality check. */
const CONDUCTOR_FACTOR_MAX = 10n ** 12n;

/**
 * A minimal model has bad reduction exactly at the primes of the conductor: its discriminant is
 * made of those primes, each present, and the model is minimal at each of them (isMinimalAt: the
 * test on c4, c6 and the discriminant at p >= 5, the search of the changes of variables with u = p
 * at 2 and 3, where a model such as y^2 = x^3 + 729, y^2 = x^3 + 1 scaled by 3, passes the test on
 * c4, c6 and the discriminant). Point counts and a_p are computed from the model, and absD, signD
 * are compared with it, so a model that is not minimal would give a wrong a_p and a wrong
 * discriminant "verified". The conductor is the column's, or the label's when the column is
 * missing (the API omits NULL columns).
 */
function checkMinimalAtConductor(c: Checker, conductor: bigint | undefined, ainvs: readonly bigint[], inv: ModelInvariants): void {
  if (conductor === undefined || conductor <= 0n) return;
  if (conductor > CONDUCTOR_FACTOR_MAX) {
    c.cannotCheck(`the bad primes of ainvs against the conductor (beyond ${CONDUCTOR_FACTOR_MAX})`);
    return;
  }
  const { disc } = inv;
  const primes = primeFactors(conductor);
  let rest = disc < 0n ? -disc : disc;
  for (const p of primes) {
    if (rest % p !== 0n) {
      c.fail(`the conductor ${conductor} has the prime ${p}, but ainvs have good reduction there (it does not divide the discriminant ${disc})`);
      return;
    }
    while (rest % p === 0n) rest /= p;
    if (!isMinimalAt(ainvs, inv, p)) {
      const why = p >= 5n ? 'p^12 divides the discriminant, p^4 c4 and p^6 c6' : `a change of variables with u = ${p} gives integer coefficients`;
      c.fail(`ainvs are not a minimal model at ${p} (${why})`);
      return;
    }
  }
  if (rest !== 1n) c.fail(`the discriminant ${disc} of ainvs has primes outside the conductor ${conductor} (a factor ${rest}): not a minimal model of a curve of that conductor`);
}

/** Odd primes of good reduction up to this bound are used by the torsion check. */
export const TORSION_CHECK_PRIME_MAX = 200;

function checkNumberField(c: Checker): void {
  const label = c.str('label', true);
  if (label === undefined) return;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(label);
  if (!m) return c.fail(`label ${label} is not of the form d.r.D.i`);
  // Degree, |discriminant| and index are positive, written without leading zeros: "2.0.015.1" (a
  // second label for 2.0.15.1) or "2.0.0.1" (discriminant 0) are no field's label.
  if (![m[1], m[3], m[4]].every((x) => /^[1-9]/.test(x as string)) || !/^(0|[1-9]\d*)$/.test(m[2] as string)) {
    return c.fail(`label ${label} is not of the form d.r.D.i (d, D and i positive, without leading zeros)`);
  }
  const d = BigInt(m[1]);
  const r = BigInt(m[2]);
  const why = `the label ${label}`;
  if (r > d || (d - r) % 2n !== 0n) c.fail(`label ${label} has ${r} real places, impossible in degree ${d}`);
  else {
    c.eqInt('r2', (d - r) / 2n, why);
    c.eqInt('disc_sign', ((d - r) / 2n) % 2n === 0n ? 1n : -1n, `(-1)^r2 from ${why}`);
  }
  c.eqInt('degree', d, why);
  c.eqInt('disc_abs', BigInt(m[3]), why);
  const coeffs = c.ints('coeffs');
  if (coeffs !== undefined && BigInt(coeffs.length) !== d + 1n) c.fail(`coeffs has ${coeffs.length} entries, degree ${d} needs ${d + 1n}`);
  else if (coeffs !== undefined) checkPolynomialDiscriminant(c, coeffs);
}

/**
 * disc(f) = disc(K) * [O_K : Z[a]]^2 for the defining polynomial f of K = Q(a): the discriminant
 * computed from coeffs has the stored sign and is the stored |disc(K)| times a square.
 */
/**
 * Bound of the discriminant check on degree times the widest coefficient's bits: its cost grows
 * with both (measured on one core with the Sylvester determinant: degree 40 with 128-bit
 * coefficients 1.6 s, 400-digit ones 30 s; degree 20 with 128 bits 0.09 s; the resultant modulo
 * primes now used takes a small fraction of that). LMFDB's fields have coefficients of a few
 * dozen bits.
 */
const POLY_DEGREE_BITS_MAX = 2560;

function checkPolynomialDiscriminant(c: Checker, coeffs: readonly bigint[]): void {
  const degree = coeffs.length - 1;
  if (degree < 1 || coeffs[degree] === 0n) return c.fail(`coeffs [${coeffs.join(',')}] do not define a polynomial of degree ${degree}`);
  if (degree > POLY_DEGREE_MAX) return c.cannotCheck(`the discriminant of coeffs: degree ${degree} is above the bound ${POLY_DEGREE_MAX}`);
  const widest = Math.max(...coeffs.map((x) => (x < 0n ? -x : x).toString(16).length * 4));
  if (degree * widest > POLY_DEGREE_BITS_MAX) return c.cannotCheck(`the discriminant of coeffs: degree ${degree} times a coefficient of about ${widest} bits is above the bound ${POLY_DEGREE_BITS_MAX}`);
  const df = polynomialDiscriminant(coeffs);
  if (df === 0n) return c.fail(`coeffs [${coeffs.join(',')}] give a polynomial with a repeated root (discriminant 0), not a field`);
  const sign = c.int('disc_sign');
  if (sign !== undefined && sign !== (df < 0n ? -1n : 1n)) c.fail(`disc_sign is ${sign}, but the discriminant of coeffs is ${df}`);
  const abs = c.int('disc_abs');
  if (abs === undefined) return;
  const dfAbs = df < 0n ? -df : df;
  if (abs <= 0n || dfAbs % abs !== 0n || exactSqrt(dfAbs / abs) === undefined) {
    c.fail(`disc_abs is ${abs}, but the discriminant of coeffs, ${df}, is not ${abs} times a square (the index squared)`);
  }
}

function checkMf(c: Checker, table: string): void {
  const label = c.str('label', true);
  if (label === undefined) return;
  const parts = label.split('.');
  const shapes: Record<string, number> = { mf_gamma1: 2, mf_newspaces: 3, mf_newforms: 4 };
  const want = shapes[table] ?? parts.length;
  if (parts.length !== want || !DIGITS.test(parts[0]) || !DIGITS.test(parts[1]) || (want >= 3 && !/^[a-z]+$/.test(parts[2]))) {
    return c.fail(`label ${label} is not a ${table} label`);
  }
  const why = `the label ${label}`;
  c.eqInt('level', BigInt(parts[0]), why);
  c.eqInt('weight', BigInt(parts[1]), why);
  if (want >= 3) c.eqStr('char_orbit_label', parts[2], why);
  if (want === 4) c.eqStr('space_label', parts.slice(0, 3).join('.'), why);
  // The columns a computed claim (modular_curve) reads: a dimension is an integer >= 0, the
  // traces are integers. Another form ({"toString": 1} as dim) made the claim throw.
  const dim = c.int('dim');
  if (dim !== undefined && dim < 0n) c.fail(`dim is ${shownInt(dim)}, not a dimension`);
  c.ints('trace_display');
}

/**
 * "3e3" -> 27, "80e2" -> 6400, "379998" -> 379998; factors may be joined by '.'. 'too large' when
 * the value would pass CHECKED_INT_BITS_MAX bits (estimated before it is computed).
 */
function parseLfuncConductor(text: string): bigint | undefined | 'too large' {
  const factors: [string, string][] = [];
  let bits = 0;
  for (const f of text.split('.')) {
    const m = /^(\d+)(?:e(\d+))?$/.exec(f);
    if (!m) return undefined;
    const base = m[1] as string;
    const exponent = m[2] ?? '1';
    bits += base.replace(/^0+/, '').length * Math.log2(10) * Number(exponent);
    if (!(bits <= CHECKED_INT_BITS_MAX)) return 'too large';
    factors.push([base, exponent]);
  }
  return factors.reduce((n, [base, exponent]) => n * BigInt(base) ** BigInt(exponent), 1n);
}

function checkLfunc(c: Checker): void {
  const label = c.str('label', true);
  if (label === undefined) return;
  const parts = label.split('-');
  if (parts.length !== 6 || !DIGITS.test(parts[0])) return c.fail(`label ${label} is not of the form d-N-chi-mu-w-i`);
  const why = `the label ${label}`;
  c.eqInt('degree', BigInt(parts[0]), why);
  const n = parseLfuncConductor(parts[1]);
  if (n === undefined) c.fail(`label ${label} has no readable conductor`);
  else if (n === 'too large') c.cannotCheck(`conductor: the label's is above ${CHECKED_INT_BITS_MAX} bits`);
  else c.eqInt('conductor', n, why);
  c.eqStr('central_character', parts[2], why);
  c.eqStr('prelabel', parts.slice(0, 5).join('-'), why);
  if (DIGITS.test(parts[5])) c.eqInt('index', BigInt(parts[5]), why);
}

/**
 * Artin representation labels are Dim.Conductor.G.c: dimension, conductor, the Galois group's
 * label and an orbit letter code. LMFDB writes G as a transitive group nTt, and its orbit labels
 * also use other group labels (and orbit suffixes), so only Dim and Conductor are checked; a
 * group part or a suffix of another form is recorded as not checked, never as invalid.
 */
function checkArtin(c: Checker): void {
  const label = c.str('Baselabel', true);
  if (label === undefined) return;
  const m = /^(\d+)\.(\d+)\.(.+)$/.exec(label);
  if (!m) return c.cannotCheck(`Baselabel ${label} does not start with Dim.Conductor: dimension and conductor not checked against it`);
  const why = `the label ${label}`;
  c.eqInt('Dim', BigInt(m[1] as string), why);
  c.eqInt('Conductor', BigInt(m[2] as string), why);
  if (!/^\d+t\d+\.[a-z]+$/.test(m[3] as string)) c.cannotCheck(`Baselabel ${label}: the group and orbit part ${m[3]} is not of the form nTt.c`);
}

function checkGenus2(c: Checker): void {
  for (const col of ['eqn', 'g2_inv', 'torsion_subgroup']) c.listColumn(col);
  const label = c.str('label', true);
  if (label === undefined) return;
  const m = /^(\d+)\.([a-z]+)\.(\d+)\.(\d+)$/.exec(label);
  if (!m) return c.fail(`label ${label} is not of the form N.s.D.n`);
  const why = `the label ${label}`;
  c.eqInt('cond', BigInt(m[1]), why);
  c.eqInt('abs_disc', BigInt(m[3]), why);
  c.eqStr('class', `${m[1]}.${m[2]}`, why);
}

function checkHgcwa(c: Checker): void {
  for (const col of ['group', 'signature']) c.listColumn(col);
  const label = c.str('passport_label', true);
  if (label === undefined) return;
  const m = /^(\d+)\.(\d+)-(\d+)\.(\d+)\.([\d-]+)\.(\d+)$/.exec(label);
  if (!m) return c.fail(`passport_label ${label} is not of the form g.n-i.g0.sig.p`);
  const why = `the label ${label}`;
  c.eqInt('genus', BigInt(m[1]), why);
  c.eqInt('g0', BigInt(m[4]), why);
  c.eqStr('label', label.slice(0, label.lastIndexOf('.')), why);
  const group = c.ints('group');
  if (group !== undefined && (group.length !== 2 || group[0] !== BigInt(m[2]) || group[1] !== BigInt(m[3]))) {
    c.fail(`group is [${group.join(',')}], the label ${label} gives [${m[2]},${m[3]}]`);
  }
  if (group !== undefined && group.length === 2) c.eqInt('group_order', group[0], 'group');
  const sig = c.ints('signature');
  // The label writes the branch orders joined by '-', or 0 when there are none (an unramified
  // action: 3.2-1.2.0.1 has signature [2]); an order is at least 2, so 0 is never one.
  const want = [BigInt(m[4]), ...(m[5] === '0' ? [] : m[5].split('-').map((x) => BigInt(x)))];
  if (sig !== undefined && sig.join(',') !== want.join(',')) {
    c.fail(`signature is [${sig.join(',')}], the label ${label} gives [${want.join(',')}]`);
  }
}

function checkLattice(c: Checker): void {
  const label = c.str('label', true);
  if (label === undefined) return;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(label);
  if (!m) return c.fail(`label ${label} is not of the form dim.det.level.class_number.n`);
  const why = `the label ${label}`;
  c.eqInt('dim', BigInt(m[1]), why);
  c.eqInt('det', BigInt(m[2]), why);
  c.eqInt('level', BigInt(m[3]), why);
  c.eqInt('class_number', BigInt(m[4]), why);
}

function checkMaass(c: Checker): void {
  const label = c.str('maass_label', true);
  if (label === undefined) return;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(label);
  if (!m) return c.fail(`maass_label ${label} is not of the form N.k.a.m.d`);
  const why = `the label ${label}`;
  c.eqInt('level', BigInt(m[1]), why);
  c.eqInt('weight', BigInt(m[2]), why);
  c.eqInt('conrey_index', BigInt(m[3]), why);
}

function checkSiegel(c: Checker): void {
  const name = c.str('name', true);
  if (name !== undefined && name.trim() === '') c.fail('name is empty');
}

/** The table of a source-1 row: its `_table`, else the shape of its label. */
function mfTable(spec: ReturnType<typeof sourceSpec>, row: DecodedRow): string {
  if (typeof row['_table'] === 'string') return rowTable(spec, row as Record<string, LmfdbValue>).table;
  const n = typeof row['label'] === 'string' ? row['label'].split('.').length : 3;
  return n === 2 ? 'mf_gamma1' : n === 4 ? 'mf_newforms' : 'mf_newspaces';
}

/**
 * Longest label checked: LMFDB's are a few dozen characters. The checks read numbers out of a
 * label, and the conversions cost more than linear time in its length (an elliptic curve label of
 * 200,000 letters took 13 s to check, at every load of the cache).
 */
export const LABEL_CHARS_MAX = 1000;

/** Checks a decoded row of source `source` (0..9). */
export function checkRecord(source: number, row: DecodedRow): CheckResult {
  const spec = sourceSpec(source);
  const c = new Checker(row);
  const key = rowTable(spec, row as Record<string, LmfdbValue>).key;
  const label = row[key];
  if (typeof label === 'string' && label.length > LABEL_CHARS_MAX) {
    c.fail(`${key} is ${label.length} characters long, above the ${LABEL_CHARS_MAX} a label may have: not read`);
    return { valid: false, reasons: c.reasons };
  }
  switch (source) {
    case 0:
      checkEllipticCurve(c);
      break;
    case 1:
      checkMf(c, mfTable(spec, row));
      break;
    case 2:
      checkLfunc(c);
      break;
    case 3:
      checkNumberField(c);
      break;
    case 4:
      checkArtin(c);
      break;
    case 5:
      checkGenus2(c);
      break;
    case 6:
      checkHgcwa(c);
      break;
    case 7:
      checkLattice(c);
      break;
    case 8:
      checkMaass(c);
      break;
    case 9:
      checkSiegel(c);
      break;
  }
  return { valid: c.reasons.length === 0, reasons: c.reasons, ...(c.unchecked.length > 0 ? { unchecked: c.unchecked } : {}) };
}
