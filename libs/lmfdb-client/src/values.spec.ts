import { canonicalJson, parseLossless, stringifyLossless } from './json';
import { decodeRow, parseListLiteral } from './values';
import { normalizeDecimal, normalizeNumber } from './decimal';
import { formatRational, parseRational, rational } from './rational';

describe('lossless parsing', () => {
  it('keeps integers beyond 2^53 exact and non-integers as reals with their text', () => {
    const v = parseLossless('{"a":-52893159101157376,"b":[1,2],"c":1.50,"d":1e400}') as Record<string, unknown>;
    expect(v['a']).toBe(-52893159101157376n);
    expect(v['b']).toEqual([1n, 2n]);
    expect(stringifyLossless(v)).toBe('{"a":-52893159101157376,"b":[1,2],"c":1.50,"d":1e400}');
    expect(decodeRow('t', v as Record<string, unknown>)['c']).toEqual({ kind: 'real', digits: '1.50', prec: 0 });
    expect(decodeRow('t', v as Record<string, unknown>)['d']).toEqual({ kind: 'real', digits: '1e400', prec: 0 });
  });

  it('normalises scientific notation exactly, and only within a bounded exponent', () => {
    expect(normalizeNumber('1E-7')).toBe('0.0000001');
    expect(normalizeNumber('1.00000000000000e-7')).toBe('0.0000001');
    expect(normalizeNumber('2.5e3')).toBe('2500');
    expect(normalizeNumber('-12.5E+1')).toBe('-125');
    expect(normalizeNumber('0.0000001')).toBe('0.0000001');
    expect(normalizeNumber('1e400')).toBe(`1${'0'.repeat(400)}`);
    expect(normalizeNumber('1e9999')).toBeUndefined();
    expect(normalizeNumber('e5')).toBeUndefined();
  });

  it('decodes wrapped reals, rationals and datetimes, and list-holding text columns', () => {
    const raw = parseLossless(
      '{"h":{"__RealLiteral__":0,"data":"1.58740105196819947475170563927","prec":100},"q":{"__Rational__":0,"data":[-3,4]},' +
        '"t":{"__datetime__":0,"data":"2020-01-01T00:00:00"},"eqn":"[[-5,0,7,0,-3],[0,1,0,1]]","g2_inv":"[\'28596971960000/81\',\'6677950400/9\']",' +
        '"torsion_subgroup":"[2,2,8]","odd":"bin","j":{"k":"4..24"}}',
    ) as Record<string, unknown>;
    const row = decodeRow('g2c_curves', raw);
    expect(row['h']).toEqual({ kind: 'real', digits: '1.58740105196819947475170563927', prec: 100 });
    expect(row['q']).toEqual({ kind: 'rational', num: -3n, den: 4n });
    expect(row['t']).toEqual({ kind: 'datetime', iso: '2020-01-01T00:00:00' });
    expect(row['eqn']).toEqual([[-5n, 0n, 7n, 0n, -3n], [0n, 1n, 0n, 1n]]);
    expect(row['g2_inv']).toEqual(['28596971960000/81', '6677950400/9']);
    expect(row['torsion_subgroup']).toEqual([2n, 2n, 8n]);
    expect(row['odd']).toBe('bin');
    expect(row['j']).toEqual({ k: '4..24' });
    expect(decodeRow('hgcwa_passports', { group: '[12,5]', signature: '[0,6,6,6]' })).toEqual({ group: [12n, 5n], signature: [0n, 6n, 6n, 6n] });
    expect(parseListLiteral('[1,2')).toBeUndefined();
  });

  it('canonical JSON sorts keys and has no whitespace', () => {
    expect(canonicalJson({ b: 1n, a: [{ d: 'x', c: 12345678901234567890n }] })).toBe('{"a":[{"c":12345678901234567890,"d":"x"}],"b":1}');
  });

  it('decimals and rationals are exact', () => {
    expect(['+012.500', '-0.000', '0', '-00.10', '7.'].map(normalizeDecimal)).toEqual(['12.5', '0', '0', '-0.1', undefined]);
    expect(formatRational(rational(6n, -4n))).toBe('-3/2');
    expect(parseRational('-122023936/161051')).toEqual({ num: -122023936n, den: 161051n });
    expect(parseRational('1/0')).toBeUndefined();
  });
});
