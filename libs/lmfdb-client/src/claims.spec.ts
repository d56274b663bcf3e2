import { join } from 'node:path';
import { buildCacheFile, loadSource, type SourceCache, sourceCacheFromFile } from './cache';
import { CLAIMED_VALUE_MAX, verifyClaim } from './claims';
import { LosslessNumber } from './json';

const SNAPSHOT = join(__dirname, '../../../data/lmfdb-snapshot');

describe('claim verification', () => {
  const caches: SourceCache[] = [];
  beforeAll(async () => {
    for (let n = 0; n < 10; n++) caches.push(await loadSource(SNAPSHOT, n));
  });
  const v = (source: number, label: string, field: string, claimedValue: string) => verifyClaim(caches[source], { source, label, field, claimedValue });

  it('true claims', () => {
    expect(v(0, '11.a2', 'jinv', '-122023936/161051')).toEqual({ verdict: 'true', actual: '-122023936/161051', reason: '11.a2: jinv is -122023936/161051 (looked up in the record)', method: 'looked up' });
    expect(v(0, '11.a2', 'jinv', '-244047872/322102').verdict).toBe('true');
    expect(v(0, '11.a1', 'jinv', '-52893159101157376/11').verdict).toBe('true');
    expect(v(0, '11.a2', 'ainvs', '[0, -1, 1, -10, -20]').verdict).toBe('true');
    expect(v(0, '11.a2', 'conductor', '11').verdict).toBe('true');
    expect(v(0, '11.a2', 'lmfdb_iso', '11.a').verdict).toBe('true');
    expect(v(0, '11.a2', 'semistable', 'true').verdict).toBe('true');
    expect(v(0, '11.a2', 'faltings_height', '-0.308009841118403064689014261460').verdict).toBe('true');
    expect(v(3, '2.0.15.1', 'coeffs', '[4,-1,1]').verdict).toBe('true');
    expect(v(5, '360.a.6480.1', 'eqn', '[[-5,0,7,0,-3],[0,1,0,1]]').verdict).toBe('true');
    expect(v(5, '360.a.6480.1', 'g2_inv', "['28596971960000/81','1150492082200/81','6677950400/9']").verdict).toBe('true');
    expect(v(1, '116.1', 'mf_dim', '78').verdict).toBe('true');
    expect(v(9, 'Gamma0_2', 'dim_args_default', '{"j":"2","k":"4..24"}').verdict).toBe('true');
  });

  it('false claims say what the record holds', () => {
    expect(v(0, '11.a2', 'jinv', '1/1')).toEqual({
      verdict: 'false',
      actual: '-122023936/161051',
      reason: '11.a2: jinv is -122023936/161051, the claim says 1/1 (looked up in the record)',
      method: 'looked up',
    });
    expect(v(0, '11.a2', 'torsion', '3').reason).toBe('11.a2: torsion is 5, the claim says 3 (looked up in the record)');
    expect(v(0, '11.a2', 'faltings_height', '-0.308').verdict).toBe('false');
    expect(v(0, '11.a2', 'ainvs', '[0,-1,1,-10,-21]').verdict).toBe('false');
    expect(v(0, '11.a2', 'jinv', 'banana').verdict).toBe('false');
    expect(v(7, '9.8.16.1.1', 'aut', '11612161').verdict).toBe('false');
  });

  it('a long claimed value is quoted cut, never through half of a UTF-16 pair', () => {
    // 'x' then emoji (two UTF-16 units each): the cut at 200 units falls inside a pair.
    const reason = v(0, '11.a2', 'lmfdb_iso', `x${'\u{1F600}'.repeat(150)}`).reason;
    expect(reason).toContain('(301 characters)');
    expect(reason).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  it('a fraction written with its sign on the denominator is the same number (it was refused as false)', () => {
    expect(v(0, '11.a2', 'jinv', '122023936/-161051')).toMatchObject({ verdict: 'true', actual: '-122023936/161051' });
    expect(v(0, '11.a2', 'jinv', '-122023936/-161051').verdict).toBe('false');
    expect(v(0, '11.a2', 'jinv', '122023936/-0').verdict).toBe('false');
  });

  it('a stored or claimed rational with its sign on the denominator is the decimal it is (-0.75 of [3, -4] was refused as false); another sign stays false', () => {
    const cache = sourceCacheFromFile(buildCacheFile(2, [{ label: '2-11-1.1-c1-0-0', q: { __Rational__: 0n, data: [3n, -4n] }, r: { __Rational__: 0n, data: [-3n, -4n] }, x: { __RealLiteral__: 0n, data: '-0.75', prec: 30n } }], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (field: string, claimedValue: string) => verifyClaim(cache, { source: 2, label: '2-11-1.1-c1-0-0', field, claimedValue }).verdict;
    for (const [field, value, verdict] of [
      ['q', '-0.75', 'true'], ['q', '-3/4', 'true'], ['q', '-75e-2', 'true'], ['q', '[3,-4]', 'true'],
      ['q', '0.75', 'false'], ['q', '-0.7', 'false'], ['q', '-0.750001', 'false'], ['q', '3/4', 'false'],
      ['r', '0.75', 'true'], ['r', '3/4', 'true'], ['r', '-0.75', 'false'], ['r', '-3/4', 'false'],
      // The same from the claim's side: a wrapped rational claimed with its sign below.
      ['x', '{"__Rational__":0,"data":[3,-4]}', 'true'], ['x', '{"__Rational__":0,"data":[-3,-4]}', 'false'], ['x', '{"__Rational__":0,"data":[-3,4]}', 'true'],
    ]) expect([field, value, claim(field as string, value as string)]).toEqual([field, value, verdict]);
  });

  it('a row of a shape no check foresaw gives a verdict, never an exception: dim {"toString": 1} made modular_curve throw, and a gRPC handler answered UNKNOWN', () => {
    const nf = sourceCacheFromFile(
      buildCacheFile(1, [{ _table: 'mf_newforms', label: '11.2.a.a', level: 11n, weight: 2n, dim: { toString: 1n }, char_orbit_label: 'a', space_label: '11.2.a', trace_display: [-2n, -1n, 1n, -2n] }], { baseUrl: 't', fetchedAt: 'f' }),
    );
    const claim = { source: 1, label: '11.2.a.a', field: 'modular_curve', claimedValue: '[0,-1,1,0,0]' };
    expect(nf.get('11.2.a.a')?.check.reasons).toEqual(['dim is not an integer']);
    expect(verifyClaim(nf, claim)).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('dim is not an integer') });
    // A record taken as valid whose row holds such a value (a check that did not foresee it):
    // unknown, saying the dimension is not an integer.
    const rec = { ...(nf.get('11.2.a.a') as NonNullable<ReturnType<SourceCache['get']>>), check: { valid: true, reasons: [] } };
    const valid: SourceCache = { ...nf, get: () => rec };
    expect(verifyClaim(valid, claim)).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('dimension not an integer') });
    // Whatever throws inside the check is unknown with the error, never true, never thrown.
    const throwing: SourceCache = {
      ...nf,
      get: () => ({ ...rec, row: new Proxy({}, { get: () => { throw new TypeError('a row of no known shape'); } }) }),
    };
    expect(verifyClaim(throwing, claim)).toEqual({ verdict: 'unknown', reason: 'source 1 record 11.2.a.a: the claim on modular_curve could not be checked (TypeError: a row of no known shape)' });
    expect(verifyClaim(throwing, { ...claim, field: 'level', claimedValue: '11' }).verdict).toBe('unknown');
  });

  it('unknown: no record, no field, source not held', () => {
    expect(v(0, '99.z9', 'jinv', '0')).toEqual({ verdict: 'unknown', reason: 'source 0 has no record 99.z9' });
    expect(v(0, '11.a2', 'cm', '0')).toEqual({ verdict: 'unknown', reason: 'source 0 record 11.a2 has no field cm' });
    expect(verifyClaim(undefined, { source: 4, label: 'x', field: 'y', claimedValue: '1' })).toEqual({ verdict: 'unknown', reason: 'source 4 is not loaded here' });
  });

  it('a list literal decides by its items: spaces inside a string count, empty items are no integers', () => {
    const row = { label: '2-11-1.1-c1-0-0', instance_urls: ['EllipticCurve/Q/11/a', 'ModularForm/GL2/Q/holomorphic/11/2/a/a'] };
    const cache = sourceCacheFromFile(buildCacheFile(2, [row], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (claimedValue: string) => verifyClaim(cache, { source: 2, label: row.label, field: 'instance_urls', claimedValue }).verdict;
    expect(claim('["EllipticCurve/Q/11/a", "ModularForm/GL2/Q/holomorphic/11/2/a/a"]')).toBe('true');
    expect(claim("[ 'EllipticCurve/Q/11/a','ModularForm/GL2/Q/holomorphic/11/2/a/a' ]")).toBe('true');
    expect(claim('["Elliptic Curve/Q/11/a", "ModularForm/GL2/Q/holomorphic/11/2/a/a"]')).toBe('false');
    expect(v(0, '11.a3', 'anlist:3', '[1,-2,-1]').verdict).toBe('true');
    // Numbers meet numbers whatever their notation: a real written 1E-7, a bare float 1.0 or 1.5.
    const nums = sourceCacheFromFile(
      buildCacheFile(2, [{ label: '2-11-1.1-c1-0-0', tiny: { __RealLiteral__: 0n, data: '1E-7', prec: 10n }, order: new LosslessNumber('1.0'), args: { k: new LosslessNumber('1.5') } }], { baseUrl: 'b', fetchedAt: 'f' }),
    );
    const num = (field: string, claimedValue: string) => verifyClaim(nums, { source: 2, label: '2-11-1.1-c1-0-0', field, claimedValue }).verdict;
    expect(num('tiny', '0.0000001')).toBe('true');
    expect(num('tiny', '1e-7')).toBe('true');
    expect(num('tiny', '0.000001')).toBe('false');
    expect(num('order', '1')).toBe('true');
    expect(num('args', '{"k":1.5}')).toBe('true');
    expect(num('args', '{"k":"1.5"}')).toBe('false');
    expect(v(0, '11.a3', 'anlist:3', '[1,,-2,-1]').verdict).toBe('false');
    expect(v(0, '11.a3', 'anlist:3', '[,1,-2,-1,]').verdict).toBe('false');
  });

  it('a fraction or a decimal inside a claimed list is read as the number it is, as a single claimed one is (other spellings were refused as false)', () => {
    const rat = (n: bigint, d: bigint) => ({ __Rational__: 0n, data: [n, d] });
    const row = { label: '2-11-1.1-c1-0-0', ratios: [rat(1n, 2n), rat(-3n, 4n)], one: rat(-3n, 4n), mixed: ['a', new LosslessNumber('0.5')] };
    const cache = sourceCacheFromFile(buildCacheFile(2, [row], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (field: string, claimedValue: string) => verifyClaim(cache, { source: 2, label: row.label, field, claimedValue }).verdict;
    // Each spelling of -3/4 decides alone and inside the list alike (-0.75 is the same number too).
    for (const [spelling, verdict] of [['-3/4', 'true'], ['-6/8', 'true'], ['3/-4', 'true'], ['-3 / 4', 'true'], ['-0.75', 'true'], ['-3/5', 'false'], ['3/4', 'false'], ['-3/0', 'false'], ['-0.7500001', 'false']] as const) {
      expect([spelling, claim('one', spelling)]).toEqual([spelling, verdict]);
      expect([spelling, claim('ratios', `[1/2,${spelling}]`)]).toEqual([spelling, verdict]);
    }
    // Whitespace between a list's items separates them; around a value alone it is no notation.
    expect(claim('ratios', '[1/2, -3 / 4 ]')).toBe('true');
    expect(claim('one', ' -3 / 4 ')).toBe('false');
    expect(claim('ratios', '[+2/4, -3/4]')).toBe('true');
    expect(claim('ratios', '["2/4","-6/8"]')).toBe('true');
    expect(claim('ratios', '[1/2]')).toBe('false');
    // A decimal next to a single-quoted string: the number it is, as in JSON.
    expect(claim('mixed', '["a",0.50]')).toBe('true');
    expect(claim('mixed', "['a', 0.50]")).toBe('true');
    expect(claim('mixed', "['a', 5e-1]")).toBe('true');
    expect(claim('mixed', "['a', 0.51]")).toBe('false');
  });

  it('a real claimed with a long exponent, or zeros that move the point past 1,000 places, is the number it is (it was refused as false)', () => {
    const h = '30800984111840306468901426146';
    expect(v(0, '11.a2', 'faltings_height', `-${h}${'0'.repeat(1000)}e-1029`).verdict).toBe('true');
    expect(v(0, '11.a2', 'faltings_height', `-0.${'0'.repeat(1000)}${h}e+1000`).verdict).toBe('true');
    expect(v(0, '11.a2', 'faltings_height', `-3.${h.slice(1)}e-00001`).verdict).toBe('true');
    expect(v(0, '11.a2', 'faltings_height', `-${h}${'0'.repeat(1000)}e-1028`).verdict).toBe('false');
    expect(v(0, '11.a2', 'faltings_height', `-3.${h.slice(1)}e-${'9'.repeat(16_000)}`).verdict).toBe('false');
    expect(v(7, '9.8.16.1.1', 'hermite', '158740105196819947475170563927e-00029').verdict).toBe('true');
    // Inside a list (JSON allows leading zeros in an exponent) the same.
    const row = { label: '2-11-1.1-c1-0-0', heights: [{ __RealLiteral__: 0n, data: '0.25', prec: 53n }] };
    const cache = sourceCacheFromFile(buildCacheFile(2, [row], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (claimedValue: string) => verifyClaim(cache, { source: 2, label: row.label, field: 'heights', claimedValue }).verdict;
    expect(claim('[25e-00002]')).toBe('true');
    expect(claim(`[${'25'}${'0'.repeat(2000)}e-2002]`)).toBe('true');
    expect(claim('[25e-00003]')).toBe('false');
  });

  it('a list of strings with backslashes or control characters is true when claimed as the node writes it (it was refused as false)', () => {
    // LaTeX in a list, a trailing backslash, a newline: formatValue writes strings inside a list as JSON does.
    const row = { name: 'F', collection: ['\\frac{1}{2}', 'c\\', 'a\nb', 'plain'] };
    const cache = sourceCacheFromFile(buildCacheFile(9, [row], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (claimedValue: string) => verifyClaim(cache, { source: 9, label: 'F', field: 'collection', claimedValue });
    const written = JSON.stringify(row.collection);
    expect(claim(written)).toMatchObject({ verdict: 'true', actual: written });
    expect(claim(written.replace(/,/g, ', '))).toMatchObject({ verdict: 'true' });
    // The backslash undoubled is another text (JSON reads \f as a form feed), and so is any other string.
    expect(claim('["\\frac{1}{2}","c\\\\","a\\nb","plain"]').verdict).toBe('false');
    expect(claim(JSON.stringify(['\\frac{1}{3}', 'c\\', 'a\nb', 'plain'])).verdict).toBe('false');
    // Single-quoted items (Python's notation) still read as before.
    expect(verifyClaim(cache, { source: 9, label: 'F', field: 'collection', claimedValue: "['x']" }).verdict).toBe('false');
  });

  it('reals inside a list or an object compare as single reals do: the same number however written, the precision not part of it', () => {
    const real = (data: string) => ({ __RealLiteral__: 0n, data, prec: 53n });
    const row = { label: '2-11-1.1-c1-0-0', heights: [real('0.25'), real('1.5')], obj: { h: real('0.250'), n: 3n }, odd: [real('NaN'), real('1')] };
    const cache = sourceCacheFromFile(buildCacheFile(2, [row], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (field: string, claimedValue: string) => verifyClaim(cache, { source: 2, label: row.label, field, claimedValue });
    expect(claim('heights', '[0.250,1.5]')).toMatchObject({ verdict: 'true', actual: '[0.25,1.5]' });
    expect(claim('heights', '[2.5e-1, 1.50]').verdict).toBe('true');
    expect(claim('heights', '[0.25,1.6]')).toMatchObject({ verdict: 'false', actual: '[0.25,1.5]' });
    expect(claim('heights', '[0.25]').verdict).toBe('false');
    expect(claim('heights', '["0.25",1.5]').verdict).toBe('false');
    expect(claim('obj', '{"h":0.25,"n":3}')).toMatchObject({ verdict: 'true', actual: '{"h":0.25,"n":3}' });
    expect(claim('obj', '{"n":3, "h":2.5e-1}').verdict).toBe('true');
    expect(claim('obj', '{"h":0.25}').verdict).toBe('false');
    expect(claim('obj', '{"h":0.25,"n":3.5}').verdict).toBe('false');
    expect(claim('obj', '{"h":0.25,"n":3,"x":1}').verdict).toBe('false');
    // A real inside that this node cannot read exactly decides nothing.
    expect(claim('odd', '[1,1]')).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('cannot compare exactly') });
  });

  // One notion of the same value (value-equality.ts): a number is its exact value whatever its
  // notation and its column's type; a rational may also be claimed in LMFDB's own forms [n, d] and
  // "n/d". The rows are the shipped snapshot's (data/lmfdb-snapshot/PROVENANCE.md: ec_curvedata
  // from Cremona's tables, jinv computed from ainvs; g2c_curves 360.a.6480.1 from an LMFDB
  // download; lat_lattices 9.8.16.1.1 from LMFDB's test_lattice.py).
  it('an integer column claimed as the same number in any exact notation is true (15.0 was refused as false); another number stays false', () => {
    for (const spelling of ['11', '11.0', '11.000', '1.1e1', '110e-1', '22/2', '11/1', '+11']) expect([spelling, v(0, '11.a2', 'conductor', spelling).verdict]).toEqual([spelling, 'true']);
    for (const spelling of ['11.5', '11.0000000001', '1.1e0', '23/2', '12', '"11"']) expect([spelling, v(0, '11.a2', 'conductor', spelling).verdict]).toEqual([spelling, 'false']);
    expect(v(0, '11.a2', 'ainvs', '[0, -1.0, 1, -1e1, -20.00]').verdict).toBe('true');
    expect(v(0, '11.a2', 'ainvs', '[0, -1.5, 1, -1e1, -20.00]').verdict).toBe('false');
    // Integers past 2^53 compare exactly: a float would take ...728 for ...729 (30.a1's jinv numerator).
    expect(v(0, '30.a1', 'jinv', '16778985534208729/81000').verdict).toBe('true');
    expect(v(0, '30.a1', 'jinv', '16778985534208728/81000').verdict).toBe('false');
    expect(v(0, '30.a1', 'jinv', '16778985534208729.0/81000').verdict).toBe('false');
    const big = 2n ** 53n + 1n;
    const cache = sourceCacheFromFile(buildCacheFile(9, [{ name: 'F', aut: big, det: 10n ** 400n }], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (field: string, claimedValue: string) => verifyClaim(cache, { source: 9, label: 'F', field, claimedValue }).verdict;
    expect(claim('aut', `${big}.0`)).toBe('true');
    expect(claim('aut', `${big - 1n}.0`)).toBe('false');
    expect(claim('aut', '9.007199254740993e15')).toBe('true');
    expect(claim('aut', '9.007199254740992e15')).toBe('false');
    // 1e400 is 10^400: true of a column that holds it, false of any other.
    expect(claim('det', '1e400')).toBe('true');
    expect(claim('det', '1e399')).toBe('false');
    expect(v(0, '11.a2', 'conductor', '1e400').verdict).toBe('false');
  });

  it('a rational claimed as [n, d], the form LMFDB stores jinv in, is true of a pair, a text "n/d" and a wrapped rational (it was refused as false)', () => {
    expect(v(0, '11.a2', 'jinv', '[-122023936, 161051]')).toMatchObject({ verdict: 'true', actual: '-122023936/161051' });
    expect(v(0, '11.a2', 'jinv', '[122023936,-161051]').verdict).toBe('true');
    expect(v(0, '11.a2', 'jinv', '[-244047872,322102]').verdict).toBe('true');
    expect(v(0, '27.a3', 'jinv', '[0,1]').verdict).toBe('true');
    for (const spelling of ['[-122023936,161050]', '[-122023936,0]', '[-122023936]', '[-122023936,161051,1]', '["-122023936","161051"]', '[-122023936.5,161051]']) {
      expect([spelling, v(0, '11.a2', 'jinv', spelling).verdict]).toEqual([spelling, 'false']);
    }
    expect(v(0, '27.a3', 'jinv', '[0,0]').verdict).toBe('false');
    // The same j-invariant stored as text "n/d" (as a text column holds a rational), and wrapped.
    const rows = [
      { lmfdb_label: '11.a2', jinv: '-122023936/161051' },
      { lmfdb_label: '11.a3', jinv: { __Rational__: 0n, data: [-4096n, 11n] } },
    ];
    const cache = sourceCacheFromFile(buildCacheFile(0, rows, { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (label: string, claimedValue: string) => verifyClaim(cache, { source: 0, label, field: 'jinv', claimedValue });
    for (const spelling of ['-122023936/161051', '[-122023936, 161051]', '[122023936,-161051]', '-244047872/322102']) expect([spelling, claim('11.a2', spelling).verdict]).toEqual([spelling, 'true']);
    expect(claim('11.a2', '[-122023936, 161051]').actual).toBe('-122023936/161051');
    for (const spelling of ['[-122023936,161050]', '[1,0]', '-122023936/161050', '-757.6']) expect([spelling, claim('11.a2', spelling).verdict]).toEqual([spelling, 'false']);
    expect(claim('11.a3', '[-4096,11]').verdict).toBe('true');
    expect(claim('11.a3', '[-4096,12]').verdict).toBe('false');
  });

  it('rationals stored as text (g2_inv) compare by value: an unreduced form, the sign on the denominator, n/1 for n (they compared as text)', () => {
    const inv = (...items: string[]) => v(5, '360.a.6480.1', 'g2_inv', `[${items.join(',')}]`).verdict;
    expect(inv("'28596971960000/81'", "'1150492082200/81'", "'6677950400/9'")).toBe('true');
    expect(inv("'57193943920000/162'", "'1150492082200/81'", "'20033851200/27'")).toBe('true');
    expect(inv('28596971960000/81', '1150492082200/81', '6677950400/9')).toBe('true');
    expect(inv('[28596971960000,81]', '[1150492082200,81]', '[6677950400,9]')).toBe('true');
    expect(inv("'-28596971960000/-81'", "'1150492082200/81'", "'6677950400/9'")).toBe('true');
    expect(inv("'28596971960000/-81'", "'1150492082200/81'", "'6677950400/9'")).toBe('false');
    expect(inv("'28596971960001/81'", "'1150492082200/81'", "'6677950400/9'")).toBe('false');
    expect(inv("'28596971960000/81'", "'1150492082200/81'", "'6677950400/0'")).toBe('false');
    // Signs, n/1 and 0 in every spelling, on a row of the same table built here.
    const cache = sourceCacheFromFile(buildCacheFile(5, [{ label: '1.a.1.1', cond: 1n, abs_disc: 1n, class: '1.a', g2_inv: "['-1/2','3','0']" }], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (claimedValue: string) => verifyClaim(cache, { source: 5, label: '1.a.1.1', field: 'g2_inv', claimedValue }).verdict;
    for (const spelling of ["['-1/2','3','0']", "['1/-2','3/1','0/5']", "['-2/4','6/2','-0']", '[-0.5,3.0,0]', '[[1,-2],[3,1],[0,1]]', '["-1/2","3","0"]']) expect([spelling, claim(spelling)]).toEqual([spelling, 'true']);
    for (const spelling of ["['1/2','3','0']", "['-1/2','3','0','0']", "['-1/2','3.0','0']", "['-1/2','3','0/0']", "['-1/2',' 3','0']"]) expect([spelling, claim(spelling)]).toEqual([spelling, 'false']);
  });

  it('a real claimed as the fraction it is exactly is true (1/2 of 0.5 was refused as false); a fraction it only approximates is false', () => {
    expect(v(7, '9.8.16.1.1', 'hermite', '158740105196819947475170563927/100000000000000000000000000000').verdict).toBe('true');
    expect(v(7, '9.8.16.1.1', 'hermite', '[158740105196819947475170563927,100000000000000000000000000000]').verdict).toBe('false');
    expect(v(7, '9.8.16.1.1', 'hermite', '158740105196819947475170563927/100000000000000000000000000001').verdict).toBe('false');
    // 16384/5 is 3276.8: a rational column claimed as its decimal (20.a3, 20.a2).
    expect(v(0, '20.a3', 'jinv', '3276.8').verdict).toBe('true');
    expect(v(0, '20.a3', 'jinv', '3.2768e3').verdict).toBe('true');
    expect(v(0, '20.a3', 'jinv', '3276.80000001').verdict).toBe('false');
    expect(v(0, '20.a2', 'jinv', '-1326.109696').verdict).toBe('true');
    expect(v(0, '11.a2', 'jinv', '-757.6').verdict).toBe('false');
    const real = (data: string) => ({ __RealLiteral__: 0n, data, prec: 53n });
    const cache = sourceCacheFromFile(buildCacheFile(2, [{ label: '2-11-1.1-c1-0-0', half: real('0.5'), third: real('0.333333333333333'), zero: real('0.0') }], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (field: string, claimedValue: string) => verifyClaim(cache, { source: 2, label: '2-11-1.1-c1-0-0', field, claimedValue }).verdict;
    for (const spelling of ['1/2', '2/4', '-1/-2', '0.5', '5e-1', '0.50']) expect([spelling, claim('half', spelling)]).toEqual([spelling, 'true']);
    for (const spelling of ['1/3', '1/2000000000000000000000000000000', '[1,2]', '"1/2"']) expect([spelling, claim('half', spelling)]).toEqual([spelling, 'false']);
    expect(claim('third', '1/3')).toBe('false');
    expect(claim('third', '333333333333333/1000000000000000')).toBe('true');
    expect(claim('zero', '0/7')).toBe('true');
    expect(claim('zero', '0')).toBe('true');
  });

  it('hostile claims are false with a reason, or unknown unread, never true and never thrown; a long one is refused by its length', () => {
    const conductor = (claimedValue: string) => v(0, '11.a2', 'conductor', claimedValue);
    for (const spelling of ['NaN', 'Infinity', '-Infinity', '0x0b', '0b1011', '1_1', '11.', '.11e2', ' 11', '11 ', '\t11', '11\n', '', '11/0', '[11,1]', '"11"', 'true', 'null', '11e', '1e']) {
      expect([spelling, conductor(spelling).verdict]).toEqual([spelling, 'false']);
    }
    expect(conductor(' 11').reason).toBe('11.a2: conductor is 11, the claim says  11, which is no value: it has whitespace at its start or end (looked up in the record)');
    expect(conductor('0x0b').reason).toMatch(/which is no value: it is not a value this node reads/);
    // Huge numbers within the bound are compared exactly, never written out past what could be equal.
    expect(conductor(`${11n * 10n ** 8000n}/${10n ** 8000n}`).verdict).toBe('true');
    expect(conductor(`11/1${'0'.repeat(16_000)}`).verdict).toBe('false');
    expect(conductor(`1.1e${'9'.repeat(16_000)}`).verdict).toBe('false');
    expect(v(0, '20.a3', 'jinv', `3.2768e${'9'.repeat(16_000)}`).verdict).toBe('false');
    expect(v(0, '20.a3', 'jinv', `3.2768e-${'9'.repeat(16_000)}`).verdict).toBe('false');
    expect(v(0, '20.a3', 'jinv', `3276${'0'.repeat(16_000)}e-16000`).verdict).toBe('false');
    expect(v(0, '20.a3', 'jinv', `32768${'0'.repeat(16_000)}e-16001`).verdict).toBe('true');
    // Past CLAIMED_VALUE_MAX a claim is not read at all: 100,000 or a million digits answer by their length alone.
    for (const digits of [100_000, 1_000_000]) {
      const r = conductor('1'.repeat(digits));
      expect(r).toEqual({ verdict: 'unknown', reason: `11.a2: the claimed value is ${digits} characters long, above the ${CLAIMED_VALUE_MAX} a claim is read at` });
    }
    expect(conductor('1'.repeat(CLAIMED_VALUE_MAX)).verdict).toBe('false');
  });

  it("a claim's (or a row's) own objects are never taken for the node's decoded reals or rationals", () => {
    const real = (data: string) => ({ __RealLiteral__: 0n, data, prec: 53n });
    const row = { label: '2-11-1.1-c1-0-0', heights: [real('0.25'), real('1.5')], shaped: { kind: 'real', digits: 5n } };
    const cache = sourceCacheFromFile(buildCacheFile(2, [row], { baseUrl: 'b', fetchedAt: 'f' }));
    const claim = (field: string, claimedValue: string) => verifyClaim(cache, { source: 2, label: row.label, field, claimedValue });
    // Objects shaped like the decoded values are objects, not the numbers they imitate: false, never a crash.
    expect(claim('heights', '[{"kind":"real","digits":"0.25"},{"kind":"real","digits":"1.5"}]').verdict).toBe('false');
    expect(claim('heights', '[{"kind":"real"},1.5]').verdict).toBe('false');
    expect(claim('heights', '[{"kind":"real","digits":5},1.5]').verdict).toBe('false');
    expect(claim('heights', '[{"kind":"rational","num":"1","den":"4"},1.5]').verdict).toBe('false');
    // A row's own such object is compared key by key, as any object.
    expect(claim('shaped', '{"kind":"real","digits":5}').verdict).toBe('true');
    expect(claim('shaped', '5').verdict).toBe('false');
  });

  it('a value of more items than a claim can write is not written out at every claim: false, saying why', () => {
    const many = Array.from({ length: CLAIMED_VALUE_MAX + 1 }, (_, i) => BigInt(i % 10));
    const cache = sourceCacheFromFile(
      buildCacheFile(7, [{ label: '1.1.1.1.1', dim: 1n, many, nested: { a: [many.slice(0, CLAIMED_VALUE_MAX / 2)], b: many.slice(0, CLAIMED_VALUE_MAX / 2) }, fits: many.slice(0, CLAIMED_VALUE_MAX / 2 - 1) }], {
        baseUrl: 'test',
        fetchedAt: '2026-12-05T00:00:00Z',
      }),
    );
    const claim = (field: string, claimedValue: string) => verifyClaim(cache, { source: 7, label: '1.1.1.1.1', field, claimedValue });
    for (const field of ['many', 'nested']) {
      expect(claim(field, '[1]')).toEqual({
        verdict: 'false',
        reason: `1.1.1.1.1: ${field} holds more than ${CLAIMED_VALUE_MAX} items, more than a claim of at most ${CLAIMED_VALUE_MAX} characters can write, so the claim is not it (looked up in the record; the value is not written out)`,
        method: 'looked up',
      });
    }
    // Within the bound a value is read, written and compared as before.
    const fits = `[${many.slice(0, CLAIMED_VALUE_MAX / 2 - 1).join(',')}]`;
    expect(claim('fits', fits)).toMatchObject({ verdict: 'true', actual: fits });
  });
});
