import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRecord, ellipticInvariants } from './checks';
import { parseLossless } from './json';
import { decodeRow, type RawRow } from './values';

const RECORDS = join(__dirname, '../../../data/lmfdb-snapshot/records');
const rows = (table: string) => parseLossless(readFileSync(join(RECORDS, `${table}.json`), 'utf8')) as RawRow[];
const check = (source: number, table: string, raw: RawRow) => checkRecord(source, decodeRow(table, raw));

describe('elliptic curves (source 0)', () => {
  const curves = rows('ec_curvedata');

  it('all 80 shared curves pass the exact checks', () => {
    expect(curves).toHaveLength(80);
    const failures = curves.map((r) => [r['lmfdb_label'], check(0, 'ec_curvedata', r).reasons]).filter(([, reasons]) => (reasons as string[]).length);
    expect(failures).toEqual([]);
  });

  it('recomputes 11.a2 from its ainvs', () => {
    const { disc, jinv } = ellipticInvariants([0n, -1n, 1n, -10n, -20n]);
    expect(disc).toBe(-161051n);
    expect(jinv).toEqual({ num: -122023936n, den: 161051n });
  });

  it('a label with conductor 0 or leading zeros is no curve\'s label (a claim "conductor 0" was true)', () => {
    const good = curves.find((r) => r['lmfdb_label'] === '11.a2') as RawRow;
    for (const [label, conductor] of [['0.a1', 0n], ['011.a2', 11n], ['11.a02', 11n]] as const) {
      const { lmfdb_iso: _i, lmfdb_number: _n, ...rest } = good;
      const r = check(0, 'ec_curvedata', { ...rest, lmfdb_label: label, conductor });
      expect(r.valid).toBe(false);
      expect(r.reasons.join('; ')).toContain(`lmfdb_label ${label} is not of the form N.cn (N and n positive, without leading zeros)`);
    }
  });

  it('a corrupted row fails with the right reason', () => {
    const good = curves.find((r) => r['lmfdb_label'] === '11.a2') as RawRow;
    expect(check(0, 'ec_curvedata', { ...good, jinv: [1n, 1n] }).reasons).toEqual(['jinv is 1, ainvs give -122023936/161051']);
    expect(check(0, 'ec_curvedata', { ...good, absD: 161050n }).reasons).toEqual(['absD is 161050, ainvs gives 161051']);
    expect(check(0, 'ec_curvedata', { ...good, signD: 1n }).reasons).toEqual(['signD is 1, ainvs gives -1']);
    expect(check(0, 'ec_curvedata', { ...good, torsion: 3n }).reasons).toEqual([
      'torsion is 3, the product of torsion_structure gives 5',
      'torsion is 3, which does not divide #E(F_3) = 5 (counted from ainvs; p = 3 is an odd prime of good reduction, where the torsion injects)',
    ]);
    expect(check(0, 'ec_curvedata', { ...good, conductor: 12n }).reasons).toEqual([
      'conductor is 12, the label 11.a2 gives 11',
      'the conductor 12 has the prime 2, but ainvs have good reduction there (it does not divide the discriminant -161051)',
    ]);
    // y^2 = x^3 + 1 (36.a) written with a6 = 7^6: a model of the same curve, not minimal at 7; the
    // a_p computed from it would be wrong at 7, so the row is refused.
    const scaled = [0n, 0n, 0n, 0n, 117649n];
    const { disc, jinv } = ellipticInvariants(scaled);
    const row36 = { ...good, lmfdb_label: '36.a1', lmfdb_iso: '36.a', lmfdb_number: 1n, iso_nlabel: 0n, conductor: 36n, ainvs: scaled, absD: -disc, signD: -1n, jinv: [jinv?.num, jinv?.den], torsion: 1n, torsion_structure: [] } as RawRow;
    expect(check(0, 'ec_curvedata', row36).reasons).toContainEqual(expect.stringContaining('primes outside the conductor 36'));
    expect(check(0, 'ec_curvedata', { ...good, lmfdb_label: '11.b2' }).reasons).toEqual([
      'lmfdb_iso is 11.a, the label 11.b2 gives 11.b',
      'iso_nlabel is 0, the label 11.b2 gives 1',
    ]);
    expect(check(0, 'ec_curvedata', { ...good, ainvs: [0n, -1n, 1n, -10n] }).reasons).toEqual(['ainvs has 4 entries, not 5']);
    const r = check(0, 'ec_curvedata', { ...good, ainvs: [0n, -1n, 1n, -10n, -21n] });
    expect(r.valid).toBe(false);
    expect(r.reasons[0]).toMatch(/^absD is 161051, ainvs gives /);
  });

  it('a jinv stored with a negative denominator says so, rather than "jinv is X, ainvs give X"', () => {
    const good = curves.find((r) => r['lmfdb_label'] === '11.a2') as RawRow;
    const r = check(0, 'ec_curvedata', { ...good, jinv: [122023936n, -161051n] });
    expect(r.valid).toBe(false);
    expect(r.reasons).toEqual(['jinv is stored as [122023936,-161051], with a negative denominator (LMFDB stores it with denominator > 0: -122023936/161051)']);
  });

  it('a column of the wrong type is one reason, however many checks read it', () => {
    const good = curves.find((r) => r['lmfdb_label'] === '11.a2') as RawRow;
    expect(check(0, 'ec_curvedata', { ...good, conductor: '11' }).reasons).toEqual(['conductor is not an integer']);
  });

  it('a model not minimal at 2 or 3 is invalid, so its wrong discriminant is never "verified" (the test on c4, c6 and the discriminant only decides p >= 5); minimal models at 2 and 3 stay valid', () => {
    /** A row whose every column is consistent with `ainvs` (absD, signD, jinv), the conductor the label's. */
    const row = (label: string, ainvs: bigint[]): RawRow => {
      const m = /^(\d+)\.([a-z]+)(\d+)$/.exec(label) as RegExpExecArray;
      const { disc, jinv } = ellipticInvariants(ainvs);
      return { lmfdb_label: label, lmfdb_iso: `${m[1]}.${m[2]}`, lmfdb_number: BigInt(m[3] as string), iso_nlabel: 0n, conductor: BigInt(m[1] as string), ainvs, absD: disc < 0n ? -disc : disc, signD: disc < 0n ? -1n : 1n, jinv: [jinv?.num, jinv?.den] } as RawRow;
    };
    // y^2 = x^3 + 729 is y^2 = x^3 + 1 (36.a) with x = 9x', y = 27y'; y^2 = x^3 - 16x is
    // y^2 = x^3 - x (32.a) with x = 4x', y = 8y'. Reduced models (a1 = a2 = a3 = 0), their primes
    // those of the conductor: only minimality at 3 (at 2) tells them apart.
    expect(check(0, 'ec_curvedata', row('36.a1', [0n, 0n, 0n, 0n, 729n])).reasons).toEqual(['ainvs are not a minimal model at 3 (a change of variables with u = 3 gives integer coefficients)']);
    expect(check(0, 'ec_curvedata', row('32.a3', [0n, 0n, 0n, -16n, 0n])).reasons).toEqual(['ainvs are not a minimal model at 2 (a change of variables with u = 2 gives integer coefficients)']);
    // Cremona's 64a1 (disc 2^12, c4 = 2^6 * 3: the search runs and finds no change), 32a1, 36a1,
    // 27a1, 11a1 and 14a1: minimal, valid.
    for (const [label, ainvs] of [
      ['64.a1', [0n, 0n, 0n, -4n, 0n]],
      ['32.a1', [0n, 0n, 0n, 4n, 0n]],
      ['36.a1', [0n, 0n, 0n, 0n, 1n]],
      ['27.a1', [0n, 0n, 1n, 0n, -7n]],
      ['11.a2', [0n, -1n, 1n, -10n, -20n]],
      ['14.a1', [1n, 0n, 1n, 4n, -6n]],
    ] as const) {
      expect([label, check(0, 'ec_curvedata', row(label, [...ainvs])).reasons]).toEqual([label, []]);
    }
  });

  it('a missing column is not a failure (NULLs are omitted), a missing label is', () => {
    const { jinv: _j, absD: _a, ...thin } = curves[1];
    expect(check(0, 'ec_curvedata', thin).valid).toBe(true);
    const { lmfdb_label: _l, ...nolabel } = curves[1];
    expect(check(0, 'ec_curvedata', nolabel).reasons).toEqual(['lmfdb_label is missing']);
  });
});

describe('number fields (source 3)', () => {
  it('the shared fields pass', () => {
    for (const r of rows('nf_fields')) expect([r['label'], check(3, 'nf_fields', r).reasons]).toEqual([r['label'], []]);
  });
  it('catches a wrong degree, r2, disc and coeffs', () => {
    const f = rows('nf_fields')[0]; // 2.0.15.1
    expect(check(3, 'nf_fields', { ...f, r2: 0n, disc_abs: 16n, coeffs: [1n, 2n] }).reasons).toEqual([
      'r2 is 0, the label 2.0.15.1 gives 1',
      'disc_abs is 16, the label 2.0.15.1 gives 15',
      'coeffs has 2 entries, degree 2 needs 3',
    ]);
    expect(check(3, 'nf_fields', { ...f, disc_sign: 1n }).reasons).toEqual(['disc_sign is 1, (-1)^r2 from the label 2.0.15.1 gives -1', 'disc_sign is 1, but the discriminant of coeffs is -15']);
    expect(check(3, 'nf_fields', { ...f, coeffs: [5n, -1n, 1n] }).reasons).toEqual(['disc_abs is 15, but the discriminant of coeffs, -19, is not 15 times a square (the index squared)']);
    // x^2 + 15 has discriminant -60 = -15 * 2^2: the index 2 is allowed.
    expect(check(3, 'nf_fields', { ...f, coeffs: [15n, 0n, 1n] }).reasons).toEqual([]);
    expect(check(3, 'nf_fields', { ...f, label: '2.1.15.1' }).reasons[0]).toMatch(/1 real places, impossible in degree 2/);
  });

  it('computes the discriminant of polynomials at the bound (degree 40, 64-bit coefficients), not leaving them unchecked (npm run bench:lmfdb times it)', () => {
    let seed = 12345n;
    const rnd = () => ((seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n)), seed - (1n << 63n));
    const fields = Array.from({ length: 4 }, (_, i) => ({ label: `40.0.7.${i + 1}`, degree: 40n, r2: 20n, disc_abs: 7n, disc_sign: 1n, coeffs: [...Array.from({ length: 40 }, rnd), 1n] }) as RawRow);
    // Computed, not skipped: these random polynomials are no fields of discriminant 7.
    expect(fields.map((f) => check(3, 'nf_fields', f)).every((r) => r.unchecked === undefined && r.reasons.some((x) => x.startsWith('disc_')))).toBe(true);
  });

  it('leaves a polynomial too wide to check in bounded time unchecked, not invalid', () => {
    const f = rows('nf_fields')[0];
    const wide = 10n ** 800n + 1n;
    const r = check(3, 'nf_fields', { ...f, coeffs: [wide, 0n, 1n] });
    expect(r.unchecked).toContainEqual(expect.stringMatching(/^the discriminant of coeffs: degree 2 times a coefficient of about \d+ bits is above the bound 2560$/));
    expect(r.reasons.some((x) => x.includes('discriminant of coeffs'))).toBe(false);
  });
});

describe('number field labels', () => {
  it('a label with a zero or a leading zero in d, D or i is no field\'s label (a second label for 2.0.15.1, or discriminant 0)', () => {
    for (const [label, d, D] of [['2.0.015.1', 2n, 15n], ['02.0.15.1', 2n, 15n], ['2.0.15.01', 2n, 15n], ['2.0.0.1', 2n, 0n], ['0.0.1.1', 0n, 1n]] as const) {
      const r = check(3, 'nf_fields', { label, degree: d, disc_abs: D });
      expect([label, r.valid]).toEqual([label, false]);
      expect(r.reasons.join('; ')).toContain(`label ${label} is not of the form d.r.D.i (d, D and i positive, without leading zeros)`);
    }
    expect(check(3, 'nf_fields', { label: '1.1.1.1', degree: 1n, r2: 0n, disc_abs: 1n, disc_sign: 1n, coeffs: [0n, 1n] }).reasons).toEqual([]);
  });
});

describe('the other sources', () => {
  const cases: Array<[number, string]> = [
    [1, 'mf_newspaces'],
    [1, 'mf_gamma1'],
    [1, 'mf_newforms'],
    [2, 'lfunc_search'],
    [4, 'artin_reps'],
    [5, 'g2c_curves'],
    [6, 'hgcwa_passports'],
    [7, 'lat_lattices'],
    [8, 'maass_rigor'],
    [9, 'smf_families'],
    [9, 'smf_samples'],
  ];
  it.each(cases)('source %d: every %s row passes', (source, table) => {
    for (const r of rows(table)) expect(check(source, table, { _table: table, ...r }).reasons).toEqual([]);
  });
  it('labels that disagree with their columns fail', () => {
    const g2 = rows('g2c_curves')[0];
    expect(check(5, 'g2c_curves', { ...g2, cond: 361n }).reasons).toEqual(['cond is 361, the label 360.a.6480.1 gives 360']);
    expect(check(5, 'g2c_curves', { ...g2, eqn: 'x^5' }).reasons).toEqual(['eqn does not hold a list: x^5']);
    const lf = rows('lfunc_search')[1];
    expect(check(2, 'lfunc_search', { ...lf, conductor: 28n }).reasons).toEqual(['conductor is 28, the label 2-3e3-1.1-c1-0-0 gives 27']);
    const mf = rows('mf_newforms')[0];
    expect(check(1, 'mf_newforms', { ...mf, weight: 2n }).reasons).toEqual(['weight is 2, the label 117.4.a.a gives 4']);
    const hg = rows('hgcwa_passports')[0];
    expect(check(6, 'hgcwa_passports', { ...hg, genus: 5n }).reasons).toEqual(['genus is 5, the label 4.12-5.0.6-6-6.2 gives 4']);
    const lat = rows('lat_lattices')[0];
    expect(check(7, 'lat_lattices', { ...lat, det: 9n }).reasons).toEqual(['det is 9, the label 9.8.16.1.1 gives 8']);
    expect(check(8, 'maass_rigor', { maass_label: '19.0.1.205.1', level: 20n }).reasons).toEqual(['level is 20, the label 19.0.1.205.1 gives 19']);
    expect(check(4, 'artin_reps', { Baselabel: '2.23.3t2.b', Conductor: 24n }).reasons).toEqual(['Conductor is 24, the label 2.23.3t2.b gives 23']);
    expect(check(9, 'smf_families', { name: ' ' }).reasons).toEqual(['name is empty']);
  });

  it('a passport of an unramified action (signature [g0], written 0 in the label) passes; its signature is still checked', () => {
    // LMFDB's own test of hgcwa pages: /HigherGenus/C/Aut/3.2-1.2.0.1 shows the signature [2;-],
    // the group C2 acting on a genus 3 curve with quotient of genus 2 and no branch points.
    const unramified = { genus: 3n, g0: 2n, group: '[2,1]', group_order: 2n, label: '3.2-1.2.0', passport_label: '3.2-1.2.0.1', signature: '[2]' };
    expect(check(6, 'hgcwa_passports', unramified)).toEqual({ valid: true, reasons: [] });
    expect(check(6, 'hgcwa_passports', { ...unramified, signature: '[2,0]' }).reasons).toEqual(['signature is [2,0], the label 3.2-1.2.0.1 gives [2]']);
    expect(check(6, 'hgcwa_passports', { ...unramified, signature: '[1]' }).reasons).toEqual(['signature is [1], the label 3.2-1.2.0.1 gives [2]']);
  });

  it('records an Artin label form it does not understand as not checked, never as invalid', () => {
    // Orbit labels with other group labels (LMFDB's own tests have such orbits) and with a suffix.
    for (const Baselabel of ['4.5525.8T13.a', '2.23.3t2.b.a', '6.3e2_7e5.12t18.1c1', 'not-a-label']) {
      const r = check(4, 'artin_reps', { Baselabel, Dim: 4n, Conductor: 5525n });
      expect(r.reasons.filter((x) => !/Dim is|Conductor is/.test(x))).toEqual([]);
      expect(r.unchecked?.length).toBe(1);
    }
    expect(check(4, 'artin_reps', { Baselabel: '4.5525.8T13.a', Dim: 4n, Conductor: 5525n }).valid).toBe(true);
    // The parts that are understood are still checked.
    expect(check(4, 'artin_reps', { Baselabel: '4.5525.8T13.a', Dim: 2n, Conductor: 5525n }).reasons).toEqual(['Dim is 2, the label 4.5525.8T13.a gives 4']);
    expect(check(4, 'artin_reps', { Baselabel: '2.23.3t2.b', Dim: 2n, Conductor: 23n })).toEqual({ valid: true, reasons: [] });
  });
});
