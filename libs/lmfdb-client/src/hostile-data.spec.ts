// Data the code has never met: each input below once held a node for seconds to minutes (work
// quadratic in its size, or a number too large to compute with) or decided a claim wrongly. Each
// must be answered at once, and "cannot tell" must be unknown, never false or true.
import { buildCacheFile, sourceCacheFromFile } from './cache';
import { CHECKED_INT_BITS_MAX, LABEL_CHARS_MAX } from './checks';
import { verifyClaim } from './claims';
import { normalizeDecimal, normalizeNumber } from './decimal';
import { extractHtmlMessage } from './http-client';
import { clampDepth, nonFiniteAsRealLiterals, parseLossless, ROW_DEPTH_MAX, TEXT_INTEGER_DIGITS_MAX } from './json';
import { LITERAL_ITEMS_MAX, type RawRow } from './values';

const meta = { baseUrl: 'test', fetchedAt: '2026-12-05T00:00:00Z' };
const cacheOf = (source: number, rows: RawRow[]) => sourceCacheFromFile(buildCacheFile(source, rows, meta));
const curve = { lmfdb_label: '11.a2', lmfdb_iso: '11.a', lmfdb_number: 2n, iso_nlabel: 0n, conductor: 11n, ainvs: [0n, -1n, 1n, -10n, -20n], absD: 161051n, signD: -1n, torsion: 5n, jinv: [-122023936n, 161051n] };

describe('numbers written at length', () => {
  it('a decimal with a million zeros before its last digit normalises in one pass', () => {
    const long = `0.${'0'.repeat(1_000_000)}1`;
    expect(normalizeDecimal(long)).toBe(long);
    expect(normalizeDecimal(`1.5${'0'.repeat(1_000_000)}`)).toBe('1.5');
    expect(normalizeNumber(`2.${'0'.repeat(1_000_000)}e1`)).toBe('20');
  });

  it('a stored real this node cannot read exactly (an exponent beyond its bound, NaN) makes a claim unknown, not false', () => {
    const cache = cacheOf(7, [
      { label: '1.1.1.1.1', dim: 1n, hermite: { __RealLiteral__: 0, data: '1.5e-1001', prec: 53 } },
      { label: '1.1.1.1.2', dim: 1n, hermite: { __RealLiteral__: 0, data: 'NaN', prec: 53 } },
    ] as RawRow[]);
    for (const label of ['1.1.1.1.1', '1.1.1.1.2']) {
      const r = verifyClaim(cache, { source: 7, label, field: 'hermite', claimedValue: '1.5e-1001' });
      expect(r).toMatchObject({ verdict: 'unknown', reason: expect.stringMatching(/cannot compare exactly/) });
    }
  });
});

describe('integers too large to compute with', () => {
  it('an L-function label whose conductor is a power of millions of digits is not computed', () => {
    const cache = cacheOf(2, [{ label: '2-7e100000000-1.1-c1-0-0', degree: 2n, conductor: 7n, central_character: '1.1', prelabel: '2-7e100000000-1.1-c1-0', index: 0n }] as RawRow[]);
    const rec = cache.get('2-7e100000000-1.1-c1-0-0');
    expect(rec?.check.unchecked?.join()).toMatch(/conductor/);
  });

  it('a curve whose ainvs have thousands of digits is not computed with, and reasons never quote such numbers whole', () => {
    const big = 1n << 80_000n;
    const cache = cacheOf(0, [{ ...curve, lmfdb_label: '2.a1', lmfdb_iso: '2.a', lmfdb_number: 1n, conductor: 2n, ainvs: [0n, 0n, 0n, big, 0n], absD: big }] as RawRow[]);
    const rec = cache.get('2.a1');
    expect(rec?.check.unchecked?.join()).toMatch(new RegExp(`more than ${CHECKED_INT_BITS_MAX} bits`));
    const ap = verifyClaim(cache, { source: 0, label: '2.a1', field: 'ap:5', claimedValue: '0' });
    expect(ap.verdict).toBe('unknown');
    for (const reason of rec?.check.reasons ?? []) expect(reason.length).toBeLessThan(400);
  });
});

describe('rows the code cannot read', () => {
  it('a claim on a row that cannot be read says why, not that the field is missing', () => {
    const cache = cacheOf(2, [{ label: '2-11-1.1-c1-0-0', degree: 2n, odd: { __Rational__: 0, data: [1n, 0n] } }] as RawRow[]);
    const r = verifyClaim(cache, { source: 2, label: '2-11-1.1-c1-0-0', field: 'degree', claimedValue: '2' });
    expect(r.verdict).toBe('unknown');
    expect(r.reason).toMatch(/is invalid: the row cannot be read: a rational with denominator 0/);
  });
});

describe('integers written as text, past the bound on JSON numbers', () => {
  // Converting digits to bigint costs more than linear time: two million digits in a rational's
  // text, a text column's list or a label took a second or more each, at every load of the cache
  // (and at every claim on the column), a label of 200,000 letters 13 s.
  const digits = '9'.repeat(TEXT_INTEGER_DIGITS_MAX + 1);

  it("a __Rational__ whose data are text of more digits than the bound makes its row invalid", () => {
    const cache = cacheOf(2, [{ label: '2-11-1.1-c1-0-0', degree: 2n, r: { __Rational__: 0, data: [digits, '1'] } }] as RawRow[]);
    expect(cache.get('2-11-1.1-c1-0-0')?.check.reasons.join()).toMatch(new RegExp(`an integer written as text of ${TEXT_INTEGER_DIGITS_MAX + 1} digits, above the ${TEXT_INTEGER_DIGITS_MAX}`));
    expect(verifyClaim(cache, { source: 2, label: '2-11-1.1-c1-0-0', field: 'degree', claimedValue: '2' }).verdict).toBe('unknown');
  });

  it('a list-holding text column with such an integer is left as text (the row invalid), and a rational text item of it is text', () => {
    const cache = cacheOf(5, [
      { label: '249.a.249.1', class: '249.a', cond: 249n, abs_disc: 249n, eqn: `[[${digits}],[1]]` },
      { label: '249.a.249.2', class: '249.a', cond: 249n, abs_disc: 249n, g2_inv: `['${digits}/1','1','1']` },
    ] as RawRow[]);
    expect(cache.get('249.a.249.1')?.check.reasons.join()).toMatch(/^eqn does not hold a list/);
    const rec = cache.get('249.a.249.2');
    expect(rec?.check.valid).toBe(true);
    expect(rec?.row['g2_inv']).toEqual([`${digits}/1`, '1', '1']);
    const claim = (claimedValue: string) => verifyClaim(cache, { source: 5, label: '249.a.249.2', field: 'g2_inv', claimedValue });
    expect(claim('[1,1,1]')).toMatchObject({ verdict: 'false', actual: `["${digits}/1","1","1"]` });
  });

  it(`a list-holding text column of more than ${LITERAL_ITEMS_MAX} values is left as text (5 million took 3 s and 270 MB at every load)`, () => {
    const list = (n: number) => `[[${'1,'.repeat(n - 5)}1],[1]]`; // n values: three lists, n - 3 integers
    const cache = cacheOf(5, [
      { label: '249.a.249.1', class: '249.a', cond: 249n, abs_disc: 249n, eqn: list(LITERAL_ITEMS_MAX + 1) },
      { label: '249.a.249.2', class: '249.a', cond: 249n, abs_disc: 249n, eqn: list(LITERAL_ITEMS_MAX) },
    ] as RawRow[]);
    expect(cache.get('249.a.249.1')?.check.reasons.join()).toMatch(/^eqn does not hold a list/);
    expect(cache.get('249.a.249.2')?.check.reasons).toEqual([]);
    expect((cache.get('249.a.249.2')?.row['eqn'] as bigint[][])[0]).toHaveLength(LITERAL_ITEMS_MAX - 4);
  });

  it(`a label longer than ${LABEL_CHARS_MAX} characters makes its row invalid without reading numbers out of it`, () => {
    const rows = [
      { ...curve, lmfdb_label: `11.${'z'.repeat(20_000)}2` },
      { ...curve, lmfdb_label: `${'1'.repeat(LABEL_CHARS_MAX)}.a2`, conductor: undefined },
    ];
    const cache = cacheOf(0, rows.map(({ conductor: _c, ...r }) => r) as RawRow[]);
    for (const r of rows) {
      const rec = cache.get(r.lmfdb_label);
      expect(rec?.check.reasons).toEqual([`lmfdb_label is ${r.lmfdb_label.length} characters long, above the ${LABEL_CHARS_MAX} a label may have: not read`]);
      expect(verifyClaim(cache, { source: 0, label: r.lmfdb_label, field: 'ap:5', claimedValue: '1' }).verdict).toBe('unknown');
    }
    // At the bound a label is read as before.
    expect(cacheOf(0, [{ ...curve, lmfdb_label: `11.${'a'.repeat(LABEL_CHARS_MAX - 4)}2` }] as RawRow[]).records[0]?.check.reasons.join()).toMatch(/lmfdb_iso is 11\.a, the label/);
  });
});

describe('rationals too large to reduce', () => {
  it('a stored rational whose parts both pass the bound is written as stored, and still compared exactly (reducing took 120 ms a rational of 10,000 digits)', () => {
    const big = 10n ** 9_999n + 7n;
    const rat = (n: bigint, d: bigint) => ({ __Rational__: 0n, data: [n, d] });
    const cache = cacheOf(2, [{ label: '2-11-1.1-c1-0-0', huge: rat(6n * big, -4n * big), small: rat(6n, -4n), list: [rat(6n * big, 4n * big), rat(1n, 3n)] }] as RawRow[]);
    const claim = (field: string, claimedValue: string) => verifyClaim(cache, { source: 2, label: '2-11-1.1-c1-0-0', field, claimedValue });
    expect(claim('huge', '-3/2')).toMatchObject({ verdict: 'true', actual: `${-6n * big}/${4n * big}` });
    expect(claim('huge', '3/-2').verdict).toBe('true');
    // Written out, the stored fraction is longer than a claim is read at: unknown, not read.
    expect(claim('huge', `${6n * big}/-${4n * big}`)).toMatchObject({ verdict: 'unknown', reason: expect.stringMatching(/20002 characters long, above the 16384/) });
    expect(claim('huge', '3/2').verdict).toBe('false');
    expect(claim('small', '-3/2')).toMatchObject({ verdict: 'true', actual: '-3/2' });
    expect(claim('list', '[3/2,1/3]')).toMatchObject({ verdict: 'true', actual: `[${6n * big}/${4n * big},1/3]` });
  });
});

describe('claims written to make a parser backtrack', () => {
  it('a torsion_structure of thousands of wide entries is not multiplied out (that took minutes)', () => {
    const wide = (1n << 1000n) + 1n;
    const t0 = performance.now();
    const cache = cacheOf(0, [{ ...curve, torsion_structure: Array<bigint>(6_000).fill(wide) }]);
    expect(performance.now() - t0).toBeLessThan(2000);
    const rec = cache.get('11.a2');
    expect(rec?.check.valid).toBe(true);
    expect(rec?.check.unchecked?.join()).toMatch(new RegExp(`more than ${CHECKED_INT_BITS_MAX} bits together`));
    expect(cacheOf(0, [{ ...curve, torsion_structure: [5n] }]).get('11.a2')?.check.valid).toBe(true);
    expect(cacheOf(0, [{ ...curve, torsion_structure: [2n, 2n] }]).get('11.a2')?.check.reasons.join()).toMatch(/torsion is 5, the product of torsion_structure gives 4/);
  });

  it('a modular_curve claim of "[" and sixteen thousand spaces is false at once', () => {
    const cache = cacheOf(1, [{ label: '11.2.a.a', level: 11n, weight: 2n, dim: 1n, char_orbit_label: 'a', space_label: '11.2.a', trace_display: [-2n, -1n, 1n, -2n] }] as RawRow[]);
    const r = verifyClaim(cache, { source: 1, label: '11.2.a.a', field: 'modular_curve', claimedValue: `[${' '.repeat(16_383)}` });
    expect(r.verdict).toBe('false');
  });

  it('an error page of 65,000 "<" or repeated "<body" is read at once', () => {
    expect(typeof extractHtmlMessage('<'.repeat(65_000))).toBe('string');
    expect(typeof extractHtmlMessage('<body'.repeat(13_000))).toBe('string');
  });
});

describe('pages the API may send', () => {
  it('NaN and Infinity outside strings become unreadable reals; inside strings they stay text', () => {
    const page = '{"data":[{"label":"a","x":NaN,"y":-Infinity,"z":"NaN and Infinity","w":[Infinity]}]}';
    const parsed = parseLossless(nonFiniteAsRealLiterals(page)) as { data: Record<string, unknown>[] };
    const row = parsed.data[0] as Record<string, unknown>;
    expect(row['x']).toEqual({ __RealLiteral__: 0n, data: 'NaN', prec: 0n });
    expect(row['y']).toEqual({ __RealLiteral__: 0n, data: '-Infinity', prec: 0n });
    expect(row['z']).toBe('NaN and Infinity');
    expect(row['w']).toEqual([{ __RealLiteral__: 0n, data: 'Infinity', prec: 0n }]);
    expect(nonFiniteAsRealLiterals('{"a":"\\"NaN"}')).toBe('{"a":"\\"NaN"}');
  });

  it('a row nested thousands deep is that row invalid, not its source unreadable', () => {
    let deep: unknown = 1n;
    for (let i = 0; i < 5000; i++) deep = [deep];
    const rows = [clampDepth({ ...curve, lmfdb_label: '11.a1', lmfdb_number: 1n, ainvs: [0n, -1n, 1n, -7820n, -263580n], extra: deep } as RawRow), curve as RawRow];
    const cache = cacheOf(0, rows);
    expect(cache.get('11.a1')?.check.valid).toBe(false);
    expect(cache.get('11.a1')?.check.reasons.join()).toMatch(new RegExp(`nested more than ${ROW_DEPTH_MAX} deep`));
    expect(cache.get('11.a2')?.check.valid).toBe(true);
    const shallow = { a: [[1n]] };
    expect(clampDepth(shallow)).toBe(shallow);
  });

  it('a list-holding text column nested thousands deep makes a claim on it unknown, not a stack overflow', () => {
    // The text is one string (the row's depth clamp lets it through); its second parse nested it.
    const eqn = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const cache = cacheOf(5, [{ label: '249.a.249.1', cond: 249n, abs_disc: 249n, class: '249.a', eqn }]);
    expect(cache.get('249.a.249.1')?.check.valid).toBe(false);
    const r = verifyClaim(cache, { source: 5, label: '249.a.249.1', field: 'eqn', claimedValue: '[]' });
    expect(r.verdict).toBe('unknown');
    expect(r.reason).toMatch(/eqn does not hold a list/);
    const deepest = `${'['.repeat(ROW_DEPTH_MAX)}${']'.repeat(ROW_DEPTH_MAX)}`;
    expect(cacheOf(5, [{ label: '249.a.249.1', cond: 249n, abs_disc: 249n, class: '249.a', eqn: deepest }]).get('249.a.249.1')?.check.valid).toBe(true);
  });
});
