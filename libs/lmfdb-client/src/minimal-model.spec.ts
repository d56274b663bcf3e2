import { SeededRandom } from '@paxos/consensus-core';
import { join } from 'node:path';
import { buildCacheFile, loadSource, sourceCacheFromFile } from './cache';
import { ellipticInvariants } from './checks';
import { verifyClaim } from './claims';
import { computedClaim } from './computed-claims';
import type { CachedRecord } from './cache';
import { changeOfVariables, isMinimalAt } from './minimal-model';
import type { RawRow } from './values';

const SNAPSHOT = join(__dirname, '../../../data/lmfdb-snapshot');
const WEIGHTS = [1n, 2n, 3n, 4n, 6n];
/** The same curve by a model that is not minimal at p: a_i * p^i. */
const scaled = (ainvs: readonly bigint[], p: bigint) => ainvs.map((a, i) => a * p ** (WEIGHTS[i] as bigint));
const minimalAt = (ainvs: readonly bigint[], p: bigint) => isMinimalAt(ainvs, ellipticInvariants(ainvs), p);

/** One curve row as ec_curvedata holds it, without the columns the API omits when NULL. */
function curveCache(label: string, ainvs: bigint[], extra: RawRow = {}) {
  const m = /^(\d+)\.([a-z])(\d+)$/.exec(label) as RegExpExecArray;
  const row = { lmfdb_label: label, lmfdb_iso: `${m[1]}.${m[2]}`, lmfdb_number: BigInt(m[3] as string), iso_nlabel: BigInt((m[2] as string).charCodeAt(0) - 97), ainvs, ...extra } as RawRow;
  return sourceCacheFromFile(buildCacheFile(0, [row], { baseUrl: 'test', fetchedAt: '2026-12-05T00:00:00Z' }));
}

/** A curve record its checks passed (what the claims meet when the record check could not see the model is wrong). */
const validRecord = (label: string, ainvs: bigint[]): CachedRecord => ({ label, table: 'ec_curvedata', raw: {}, row: { lmfdb_label: label, ainvs }, check: { valid: true, reasons: [] } });

describe('minimality of a model at a prime, from the model alone', () => {
  it('every shipped curve is minimal at 2, 3, 5 and 7; the same curve scaled by p, then moved by any integral change, is not minimal at p and still minimal elsewhere', async () => {
    const curves = [...(await loadSource(SNAPSHOT, 0)).records.values()].map((r) => r.row['ainvs'] as bigint[]);
    const random = new SeededRandom(20261206);
    const small = () => BigInt(Math.floor(random.next() * 41) - 20);
    let tried = 0;
    for (const ainvs of curves) {
      for (const p of [2n, 3n, 5n, 7n]) {
        expect([ainvs, p, minimalAt(ainvs, p)]).toEqual([ainvs, p, true]);
        const moved = changeOfVariables(scaled(ainvs, p), small(), small(), small());
        // A change with u = 1 keeps the discriminant: the formulas are the right ones.
        expect(ellipticInvariants(moved).disc).toBe(ellipticInvariants(ainvs).disc * p ** 12n);
        expect([ainvs, p, minimalAt(moved, p)]).toEqual([ainvs, p, false]);
        for (const q of [2n, 3n, 5n].filter((q) => q !== p)) expect([ainvs, p, q, minimalAt(moved, q)]).toEqual([ainvs, p, q, true]);
        tried++;
      }
    }
    expect(tried).toBe(80 * 4);
  });

  it('decides a minimal model whose discriminant, c4 and c6 pass the bounds at 2: y^2 = x^3 + 4x (disc -2^12)', () => {
    expect(minimalAt([0n, 0n, 0n, 4n, 0n], 2n)).toBe(true);
    expect(minimalAt(scaled([0n, 0n, 0n, 4n, 0n], 2n), 2n)).toBe(false);
  });
});

describe('a_p and a_n are computed only on a model minimal at the primes counted at', () => {
  // y^2 = x^3 - x (32.a, a_5 = -2) scaled by 5: y^2 = x^3 - 625x reduces to a cusp mod 5 (a_5 = 0 counted).
  const model = [0n, 0n, 0n, -625n, 0n];

  it('without a conductor column (the API omits NULL columns) the record check takes the label\'s, and claims are unknown, not true', () => {
    const cache = curveCache('32.a8', model);
    expect(cache.get('32.a8')?.check.reasons).toEqual([expect.stringContaining('has primes outside the conductor 32 (a factor 244140625)')]);
    expect(verifyClaim(cache, { source: 0, label: '32.a8', field: 'ap:5', claimedValue: '0' }).verdict).toBe('unknown');
  });

  it('on a record taken as valid, a_p is unknown at a prime where the model is not minimal and computed where it is', () => {
    const claim = (field: string, claimedValue: string) => computedClaim(0, validRecord('32.a8', model), { source: 0, label: '32.a8', field, claimedValue });
    expect(claim('ap:5', '0')).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('not a minimal model at 5') });
    expect(claim('ap:5', '-2')?.verdict).toBe('unknown');
    expect(claim('anlist:5', '[1,0,0,0,0]')?.verdict).toBe('unknown');
    expect(claim('ap:3', '0')?.verdict).toBe('true');
    expect(claim('anlist:4', '[1,0,0,0]')?.verdict).toBe('true');
  });

  it('with a conductor above the bound of the record check the claim is unknown, not true', () => {
    const cache = curveCache('10000000000037.a1', model, { conductor: 10000000000037n });
    expect(cache.get('10000000000037.a1')?.check.unchecked?.join()).toMatch(/bad primes of ainvs/);
    expect(verifyClaim(cache, { source: 0, label: '10000000000037.a1', field: 'ap:5', claimedValue: '0' }).verdict).toBe('unknown');
  });

  it('a reduced model not minimal at 2 and 3 gives unknown there (11.a2 as y^2 = x^3 - 27 c4 x - 54 c6; a_2 = -2, a_3 = -1, both counted 0)', () => {
    const rec = validRecord('11.a2', [0n, 0n, 0n, -13392n, -1080432n]);
    for (const p of [2, 3]) {
      expect(computedClaim(0, rec, { source: 0, label: '11.a2', field: `ap:${p}`, claimedValue: '0' })).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining(`not a minimal model at ${p}`) });
    }
    expect(computedClaim(0, rec, { source: 0, label: '11.a2', field: 'ap:5', claimedValue: '1' })?.verdict).toBe('true');
  });
});
