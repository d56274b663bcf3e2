import { join } from 'node:path';
import { buildCacheFile, loadSource, type SourceCache, sourceCacheFromFile } from './cache';
import { verifyClaim } from './claims';
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
    // Each spelling of -3/4 decides alone and inside the list alike.
    for (const [spelling, verdict] of [['-3/4', 'true'], ['-6/8', 'true'], ['3/-4', 'true'], [' -3 / 4 ', 'true'], ['-3/5', 'false'], ['3/4', 'false'], ['-3/0', 'false'], ['-0.75', 'false']] as const) {
      expect([spelling, claim('one', spelling)]).toEqual([spelling, verdict]);
      expect([spelling, claim('ratios', `[1/2,${spelling}]`)]).toEqual([spelling, verdict]);
    }
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
});
