import { SeededRandom } from '@paxos/consensus-core';
import { join } from 'node:path';
import { loadSource, type SourceCache } from './cache';
import { checkRecord } from './checks';
import { verifyClaim } from './claims';
import { computedClaim } from './computed-claims';
import type { CachedRecord } from './cache';
import { AN_LIST_MAX, AP_PRIME_MAX, apModP, countPointsModP, primesUpTo } from './elliptic-curve-arith';
import { determinant, exactSqrt, isqrt, polynomialDiscriminant, polynomialDiscriminantBareiss } from './polynomial-arith';
import type { DecodedRow } from './values';

const SNAPSHOT = join(__dirname, '../../../data/lmfdb-snapshot');

/** The second, naive routine: every (x, y) in F_p x F_p tried in the general Weierstrass equation. */
function naiveCount(ainvs: readonly bigint[], p: number): number {
  const P = BigInt(p);
  const [a1, a2, a3, a4, a6] = ainvs.map((a) => ((a % P) + P) % P) as [bigint, bigint, bigint, bigint, bigint];
  let n = 1;
  for (let x = 0n; x < P; x++) {
    for (let y = 0n; y < P; y++) if ((y * y + a1 * x * y + a3 * y - x * x * x - a2 * x * x - a4 * x - a6) % P === 0n) n++;
  }
  return n;
}

/** The project's seeded generator (consensus-core), as a function. */
function seeded(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

describe('computed claims and checks', () => {
  const caches: SourceCache[] = [];
  beforeAll(async () => {
    for (let n = 0; n < 10; n++) caches.push(await loadSource(SNAPSHOT, n));
  });
  const v = (source: number, label: string, field: string, claimedValue: string) => verifyClaim(caches[source], { source, label, field, claimedValue });
  const curves = () => [...(caches[0] as SourceCache).records.values()].map((r) => ({ label: r.label, ainvs: r.row['ainvs'] as bigint[], row: r.row }));

  it('counts points as the naive routine does, for every shipped curve and every p < 100', () => {
    let compared = 0;
    for (const { label, ainvs } of curves()) {
      for (const p of primesUpTo(99)) {
        expect([label, p, countPointsModP(ainvs, p)]).toEqual([label, p, naiveCount(ainvs, p)]);
        compared++;
      }
    }
    expect(compared).toBe(80 * 25);
  });

  it('counts points as the naive routine does on seeded random curves (coefficients of any sign and size, singular ones too) and primes up to AP_PRIME_MAX', () => {
    const random = seeded(20261207);
    const coefficient = () => {
      const size = [2, 1000, 2 ** 40, 2 ** 52][Math.floor(random() * 4)] as number;
      const v = BigInt(Math.floor(random() * size)) * (size > 2 ** 40 ? 12345678901n : 1n);
      return random() < 0.5 ? -v : v;
    };
    const primes = primesUpTo(AP_PRIME_MAX);
    let compared = 0;
    for (let k = 0; k < 40; k++) {
      const ainvs = [coefficient(), coefficient(), coefficient(), coefficient(), coefficient()];
      // Every small prime, and a few large ones (the naive count is quadratic in p).
      const ps = [...primes.filter((p) => p < 60), ...Array.from({ length: 2 }, () => primes[Math.floor(random() * primes.length)] as number)];
      for (const p of ps) {
        expect([ainvs, p, countPointsModP(ainvs, p)]).toEqual([ainvs, p, naiveCount(ainvs, p)]);
        compared++;
      }
    }
    // y^2 = x^3 (a cusp everywhere) and y^2 + y = x^3 - x^2 (11.a3) at the largest prime held.
    for (const ainvs of [[0n, 0n, 0n, 0n, 0n], [0n, -1n, 1n, 0n, 0n]]) expect(countPointsModP(ainvs, 997)).toBe(naiveCount(ainvs, 997));
    expect(compared).toBe(40 * 19);
  });

  it('gives the known a_p and a_n of 11.a (the q-expansion of eta(q)^2 eta(q^11)^2)', () => {
    expect(v(0, '11.a2', 'ap:5', '1')).toEqual({ verdict: 'true', actual: '1', reason: '11.a2: a_5 = 1, computed by counting 5 points over F_5', method: 'computed' });
    expect(v(0, '11.a2', 'ap:2', '-2').verdict).toBe('true');
    // a_11 at the bad prime 11 (split multiplicative): 1.
    expect(v(0, '11.a1', 'ap:11', '1').verdict).toBe('true');
    expect(v(0, '11.a2', 'ap:7', '2')).toMatchObject({ verdict: 'false', actual: '-2', reason: '11.a2: a_7 = -2, computed by counting 10 points over F_7; the claim says 2' });
    expect(v(0, '11.a3', 'anlist:10', '[1,-2,-1,2,1,2,-2,0,-2,-2]').verdict).toBe('true');
    expect(v(0, '11.a3', 'anlist:10', '[1,-2,-1,2,1,2,-2,0,-2,-3]').reason).toContain('a_10 is -2, the claim says -3');
    // Bounds and malformed claims are unknown with the reason, never true.
    expect(v(0, '11.a2', 'ap:1009', '0')).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining(`beyond the bound of point counting (primes up to ${AP_PRIME_MAX})`) });
    expect(v(0, '11.a2', 'ap:9', '0')).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('names no prime') });
    expect(v(0, '11.a2', 'anlist:5000', '[]').verdict).toBe('unknown');
    // Past 7 digits, or not digits at all, the claim is still computed's: its bound or its notation
    // is the reason (it said "record 11.a2 has no field ap:18446744073709551615"), the same words as ap:1009.
    expect(v(0, '11.a2', 'ap:18446744073709551615', '0')).toEqual({ verdict: 'unknown', reason: `11.a2: a_18446744073709551615 is beyond the bound of point counting (primes up to ${AP_PRIME_MAX})`, method: 'computed' });
    expect(v(0, '11.a2', 'ap:1009', '0').reason).toBe(`11.a2: a_1009 is beyond the bound of point counting (primes up to ${AP_PRIME_MAX})`);
    expect(v(0, '11.a2', 'ap:00000000000000000005', '1').verdict).toBe('true');
    expect(v(0, '11.a2', 'anlist:18446744073709551615', '[]').reason).toBe(`11.a2: a_1..a_18446744073709551615 is beyond the bound of the computation (n up to ${AN_LIST_MAX})`);
    expect(v(0, '11.a2', `ap:${'9'.repeat(10_000)}`, '0').reason).toMatch(/^11\.a2: a_9{200}… \(10000 characters\) is beyond the bound of point counting/);
    expect(v(0, '11.a2', 'anlist:1e9', '[]')).toEqual({ verdict: 'unknown', reason: `11.a2: "anlist:1e9" needs a length n >= 1 written in decimal digits, up to ${AN_LIST_MAX}`, method: 'computed' });
    expect(v(0, '11.a2', 'anlist:0', '[]').reason).toBe(`11.a2: "anlist:0" needs a length n >= 1 written in decimal digits, up to ${AN_LIST_MAX}`);
    expect(v(0, '11.a2', 'ap:-5', '0').reason).toBe(`11.a2: "ap:-5" names no prime (a_p is claimed for a prime p written in decimal digits, up to ${AP_PRIME_MAX})`);
    expect(v(0, '11.a2', 'ap:', '0').reason).toBe(`11.a2: "ap:" names no prime (a_p is claimed for a prime p written in decimal digits, up to ${AP_PRIME_MAX})`);
    expect(v(0, '11.a2', 'ap:5', 'one').verdict).toBe('false');
    // Looked-up claims say so.
    expect(v(0, '11.a2', 'jinv', '-122023936/161051').reason).toBe('11.a2: jinv is -122023936/161051 (looked up in the record)');
  });

  it('a computed a_p or a_n is compared as a looked-up value is: the same number in any exact notation (2.0 of a_p = 2 was false), nothing else', () => {
    // 11.a2 (Cremona's tables, data/lmfdb-snapshot): a_5 = 1, a_7 = -2; 11.a3: a_1..a_3 = 1, -2, -1.
    for (const spelling of ['1', '1.0', '2/2', '1e0', '+1']) expect([spelling, v(0, '11.a2', 'ap:5', spelling).verdict]).toEqual([spelling, 'true']);
    for (const spelling of ['1.5', '1/2', ' 1', '1 ', '"1"', '[1]', 'NaN', '0x1']) expect([spelling, v(0, '11.a2', 'ap:5', spelling).verdict]).toEqual([spelling, 'false']);
    expect(v(0, '11.a2', 'ap:5', 'one').reason).toBe('11.a2: a_5 = 1, computed by counting 5 points over F_5; the claim "one" is not a number');
    expect(v(0, '11.a2', 'ap:7', '-2.0').verdict).toBe('true');
    expect(v(0, '11.a3', 'anlist:3', '[1.0, -4/2, -1e0]').verdict).toBe('true');
    expect(v(0, '11.a3', 'anlist:3', '[1,-2.5,-1]').reason).toContain('a_2 is -2, the claim says -2.5');
    expect(v(0, '11.a3', 'anlist:3', '[1,"-2",-1]').reason).toContain('the claim is not a list of numbers');
    expect(v(0, '11.a3', 'anlist:3', ' [1,-2,-1]').verdict).toBe('false');
  });

  it('a_p is isogeny invariant: the same for every curve of a class', () => {
    const byClass = new Map<string, Array<{ label: string; ainvs: bigint[] }>>();
    for (const c of curves()) byClass.set(c.label.replace(/\d+$/, ''), [...(byClass.get(c.label.replace(/\d+$/, '')) ?? []), c]);
    for (const members of byClass.values()) {
      for (const p of primesUpTo(200)) expect(new Set(members.map((m) => apModP(m.ainvs, p))).size).toBe(1);
    }
  });

  it('checks the correspondence of a curve and a weight-2 rational newform, and refuses a mismatched pair', () => {
    const curve21 = curves().find((c) => c.label === '21.a1') as { ainvs: bigint[] };
    const curve11 = curves().find((c) => c.label === '11.a1') as { ainvs: bigint[] };
    const ok = v(1, '21.2.a', 'modular_curve', `[${curve21.ainvs.join(',')}]`);
    expect(ok).toMatchObject({ verdict: 'true', method: 'computed' });
    // README's example (21.a3, another curve of the class): proved the same way.
    expect(v(1, '21.2.a', 'modular_curve', '[1,0,0,-4,-1]')).toMatchObject({ verdict: 'true' });
    expect(ok.reason).toContain('has conductor 21 (its reduction computed at every prime of the level) and a_p = the newform\'s stored traces at the primes 2, 3, 5, 7, every prime up to the Sturm bound 5');
    const wrong = v(1, '21.2.a', 'modular_curve', `[${curve11.ainvs.join(',')}]`);
    expect(wrong).toMatchObject({ verdict: 'false', reason: expect.stringContaining('they do not correspond') });
    // Bad reduction at exactly 3 and 7 (discriminant -147 = -3 * 7^2) but other a_p (found by a
    // search over small ainvs): the level check passes, the traces refuse it.
    expect(v(1, '21.2.a', 'modular_curve', '[0,-1,1,-2,-1]')).toMatchObject({
      verdict: 'false',
      reason: expect.stringContaining('has a_2 = 2 (computed by counting 1 point over F_2), the newform\'s stored trace at 2 is -1: they do not correspond'),
    });
    // Not a rational weight-2 newform: nothing to compare, so not verified.
    expect(v(1, '109.2.a', 'modular_curve', `[${curve11.ainvs.join(',')}]`)).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('dimension 8') });
    expect(v(1, '117.4.a.a', 'modular_curve', `[${curve11.ainvs.join(',')}]`)).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('weight 4') });
    // The same curve by a model that is not minimal at 5 (a_i * 5^i): the same curve, but not computed from this model.
    const scaled = curve21.ainvs.map((a, i) => a * 5n ** BigInt([1, 2, 3, 4, 6][i] as number));
    expect(v(1, '21.2.a', 'modular_curve', `[${scaled.join(',')}]`)).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('where the model may not be minimal') });
    expect(v(1, '21.2.a', 'modular_curve', '[0,0,0,0,0]').verdict).toBe('false');
    expect(v(1, '21.2.a', 'modular_curve', 'banana').verdict).toBe('false');
  });

  it('judges a curve true only as a proof: the conductor equals the level and the a_p agree up to the Sturm bound', () => {
    const newform = (label: string, level: bigint, traces: bigint[]): CachedRecord => ({
      label,
      table: 'mf_newforms',
      raw: {},
      row: { label, level, weight: 2n, dim: 1n, trace_display: traces },
      check: { valid: true, reasons: [] },
    });
    const claim = (rec: CachedRecord, curve: string) => computedClaim(1, rec, { source: 1, label: rec.label, field: 'modular_curve', claimedValue: curve });
    // 36.2.a.a (traces at 2, 3, 5, 7: 0, 0, 0, -4). y^2 = x^3 + 8 agrees at all four but is another
    // curve (a_13 = -2 against 2): additive at 2 and 3, and a Sturm bound of 12, so never true.
    const f36 = newform('36.2.a.a', 36n, [0n, 0n, 0n, -4n]);
    expect(claim(f36, '[0,0,0,0,8]')).toMatchObject({ verdict: 'unknown' });
    expect(claim(f36, '[0,0,0,0,1]')).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('conductor exponent at 2') });
    // 11.2.a.a: 11.a1 is proved (Sturm bound 2); 37.a1 has other traces; a curve with good
    // reduction at 11 and the right a_p at 2 would be refused for its conductor.
    const f11 = newform('11.2.a.a', 11n, [-2n, -1n, 1n, -2n]);
    expect(claim(f11, '[0,-1,1,-10,-20]')).toMatchObject({ verdict: 'true', reason: expect.stringContaining('Sturm bound 2') });
    expect(claim(f11, '[0,0,1,-1,0]')).toMatchObject({ verdict: 'false' });
    // A newform with another character (the same traces, say): a curve's newform has the trivial
    // character, and the Sturm bound used is Gamma0(N)'s, so never true.
    const twisted = { ...f11, row: { ...f11.row, char_orbit_label: 'b' } };
    expect(claim(twisted, '[0,-1,1,-10,-20]')).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('character orbit "b"') });
    expect(claim(newform('11.2.b.a', 11n, [-2n, -1n, 1n, -2n]), '[0,-1,1,-10,-20]')).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('only a newform with the trivial character') });
    // A level whose Sturm bound is past every computed prime is not factored (a large prime level
    // cost 20 ms of trial division a claim): unknown, unless the traces already disagree.
    const huge = newform('999999999989.2.a.a', 999_999_999_989n, [-2n, -1n, 1n, -2n]);
    expect(claim(huge, '[0,-1,1,-10,-20]')).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('beyond 1000') });
    expect(claim(huge, '[0,0,1,-1,0]')).toMatchObject({ verdict: 'false' });
  });

  it('a reason quotes a long claimed value cut, as a looked-up claim does (a 16 KiB value quoted whole made a status message past 64 KiB, which never reached the client)', () => {
    for (const text of ['\u0001'.repeat(16_384), '\u00e9'.repeat(16_384)]) {
      for (const [source, label, field] of [[0, '11.a2', 'ap:997'], [1, '21.2.a', 'modular_curve']] as const) {
        const r = v(source, label, field, text);
        expect(r.verdict).toBe('false');
        expect(r.reason).toContain('(16384 characters)');
        expect(r.reason.length).toBeLessThan(2_000);
      }
    }
  });

  it('computes polynomial discriminants exactly', () => {
    expect(determinant([[2n, 0n], [0n, 3n]])).toBe(6n);
    expect(determinant([[0n, 1n], [1n, 0n]])).toBe(-1n);
    expect(polynomialDiscriminant([4n, -1n, 1n])).toBe(-15n); // x^2 - x + 4
    // b^2 c^2 - 4 a c^3 - 4 b^3 d - 27 a^2 d^2 + 18 abcd for a x^3 + b x^2 + c x + d
    const cubic = (a: bigint, b: bigint, c: bigint, d: bigint) => b * b * c * c - 4n * a * c * c * c - 4n * b * b * b * d - 27n * a * a * d * d + 18n * a * b * c * d;
    expect(polynomialDiscriminant([1n, 0n, -1n, 1n])).toBe(cubic(1n, -1n, 0n, 1n)); // -23
    expect(polynomialDiscriminant([-8n, -14n, -1n, 1n])).toBe(cubic(1n, -1n, -14n, -8n));
    expect(polynomialDiscriminant([5n, 7n, -3n, 2n])).toBe(cubic(2n, -3n, 7n, 5n)); // not monic
    expect(polynomialDiscriminant([1n, -1n, 1n, -1n, 1n])).toBe(125n); // the 10th cyclotomic polynomial
    expect(isqrt(10n ** 40n + 1n)).toBe(10n ** 20n);
    expect(exactSqrt(144n)).toBe(12n);
    expect(exactSqrt(145n)).toBeUndefined();
  });

  it('the discriminant by resultants modulo primes is the Sylvester determinant\'s when it takes many primes, or more than are held', () => {
    const random = new SeededRandom(20261209);
    const big = (bits: number) => {
      let v = 1n;
      for (let b = 0; b < bits; b += 16) v = (v << 16n) | BigInt(Math.floor(random.next() * 65536));
      return random.next() < 0.5 ? -v : v;
    };
    // Thousands of bits: a bound of tens of thousands, hundreds of primes (sieved a segment at a time).
    for (const degree of [2, 3, 5]) {
      const coeffs = Array.from({ length: degree + 1 }, () => big(3000));
      expect(polynomialDiscriminant(coeffs)).toBe(polynomialDiscriminantBareiss(coeffs));
    }
    // A bound past every prime held (about 350,000 bits): the determinant.
    const huge = [big(130_000), big(130_000), big(130_000)];
    expect(polynomialDiscriminant(huge)).toBe(polynomialDiscriminantBareiss(huge));
  });

  it('the discriminant by resultants modulo primes is the Sylvester determinant\'s, for every degree, size and leading coefficient (leads divisible by the primes used, repeated roots, 0)', () => {
    const random = new SeededRandom(20261208);
    const big = (bits: number) => {
      let v = 0n;
      for (let b = 0; b < bits; b += 16) v = (v << 16n) | BigInt(Math.floor(random.next() * 65536));
      return (random.next() < 0.5 ? -v : v) >> BigInt(Math.max(0, Math.ceil(bits / 16) * 16 - bits));
    };
    // 67108859 and 67108837 are the two largest primes below 2^26, the first the modulus uses.
    const leads = [1n, -1n, 2n, 67108859n, 67108859n * 67108837n, -(2n ** 64n) - 1n];
    let tried = 0;
    for (const degree of [1, 2, 3, 5, 8, 13, 21, 40]) {
      for (const bits of [1, 8, 64, degree <= 8 ? 300 : 64]) {
        for (const lead of leads) {
          const coeffs = [...Array.from({ length: degree }, () => big(bits)), lead];
          expect([degree, bits, polynomialDiscriminant(coeffs)]).toEqual([degree, bits, polynomialDiscriminantBareiss(coeffs)]);
          tried++;
        }
      }
    }
    // A square factor (x^2 - 3x + 7)^2 (x^3 + 5) and the zero coefficients of x^n + 1.
    const sq = [49n, -42n, 23n, -6n, 1n];
    const withCube = [0n, 0n, 0n, ...sq].map((c, i) => c + 5n * (sq[i] ?? 0n));
    expect(polynomialDiscriminant(withCube)).toBe(0n);
    expect(polynomialDiscriminantBareiss(withCube)).toBe(0n);
    for (const n of [2, 7, 40]) expect(polynomialDiscriminant([1n, ...Array<bigint>(n - 1).fill(0n), 1n])).toBe(polynomialDiscriminantBareiss([1n, ...Array<bigint>(n - 1).fill(0n), 1n]));
    expect(tried).toBe(8 * 4 * 6);
  });

  it('every shipped curve and number field passes the computed checks', () => {
    for (const source of [0, 3]) {
      for (const r of (caches[source] as SourceCache).records.values()) expect([r.label, r.check.reasons]).toEqual([r.label, []]);
    }
  });

  it('property: a row with a column changed at random is never valid when a check covers that column', () => {
    const seed = Number(process.env['CHECK_SEED'] ?? 20261204);
    const random = seeded(seed);
    const nonzero = () => BigInt(1 + Math.floor(random() * 50)) * (random() < 0.5 ? -1n : 1n);
    const mutations = (row: DecodedRow, col: string): DecodedRow => {
      const v = row[col];
      if (typeof v === 'bigint') return { ...row, [col]: v + nonzero() };
      if (typeof v === 'string') return { ...row, [col]: `${v}${String.fromCharCode(97 + Math.floor(random() * 26))}` };
      if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'bigint')) {
        const i = Math.floor(random() * v.length);
        const copy = [...(v as bigint[])];
        copy[i] = (copy[i] as bigint) + nonzero();
        return { ...row, [col]: copy };
      }
      throw new Error(`no mutation for ${col}`);
    };
    let tried = 0;
    // Columns each check recomputes exactly (from the label, ainvs or coeffs).
    const exact: Record<number, string[]> = {
      0: ['lmfdb_label', 'conductor', 'lmfdb_iso', 'lmfdb_number', 'iso_nlabel', 'absD', 'signD', 'jinv', 'ainvs'],
      3: ['label', 'degree', 'disc_abs', 'r2', 'disc_sign'],
    };
    for (const source of [0, 3]) {
      for (const r of (caches[source] as SourceCache).records.values()) {
        for (const col of exact[source] as string[]) {
          if (r.row[col] === undefined) continue;
          for (let k = 0; k < 3; k++) {
            const mutated = mutations(r.row, col);
            tried++;
            expect([seed, r.label, col, checkRecord(source, mutated).valid]).toEqual([seed, r.label, col, false]);
          }
        }
      }
    }
    // The torsion check is a divisibility: it catches every order that does not divide the
    // points of each reduction, which the test works out with the naive counter.
    for (const { label, ainvs, row } of curves()) {
      const disc = BigInt(row['signD'] as bigint) * BigInt(row['absD'] as bigint);
      let g = 0n;
      for (const p of primesUpTo(200)) if (p > 2 && disc % BigInt(p) !== 0n) g = gcd(g, BigInt(naiveCount(ainvs, p)));
      for (let k = 0; k < 3; k++) {
        const t = BigInt(1 + Math.floor(random() * 30));
        if (g % t === 0n) continue; // an order the check cannot tell from the true one
        tried++;
        expect([seed, label, 'torsion', t, checkRecord(0, withoutStructure(row, t)).valid]).toEqual([seed, label, 'torsion', t, false]);
      }
    }
    // coeffs: a changed constant term changes the discriminant, which must then not be disc_abs times a square.
    for (const r of (caches[3] as SourceCache).records.values()) {
      const coeffs = r.row['coeffs'] as bigint[];
      for (let k = 0; k < 3; k++) {
        const changed = [(coeffs[0] as bigint) + nonzero(), ...coeffs.slice(1)];
        const d = polynomialDiscriminant(changed);
        const abs = r.row['disc_abs'] as bigint;
        const compatible = d !== 0n && (d < 0n ? -1n : 1n) === (r.row['disc_sign'] as bigint) && (d < 0n ? -d : d) % abs === 0n && exactSqrt((d < 0n ? -d : d) / abs) !== undefined;
        if (compatible) continue; // another polynomial of a field with this discriminant: not a mistake the check can see
        tried++;
        expect([seed, r.label, changed, checkRecord(3, { ...r.row, coeffs: changed }).valid]).toEqual([seed, r.label, changed, false]);
      }
    }
    expect(tried).toBeGreaterThan(1500);
  });
});

/** The row with another torsion order and no torsion_structure (whose product would give it away). */
function withoutStructure(row: DecodedRow, torsion: bigint): DecodedRow {
  const { torsion_structure: _dropped, ...rest } = row;
  return { ...rest, torsion };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}
