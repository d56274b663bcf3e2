import { contentKind, isHarmonicContentType, parseMediaType } from './content-type';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadSource, type SourceCache } from '@paxos/lmfdb-client';
import type { LeaderboardEntry } from '@paxos/proto';
import {
  buildProposal,
  canonicalLeaderboardBytes,
  checkProposalClaims,
  DECIMAL_TEXT_MAX,
  decodeProposalValue,
  encodeProposalValue,
  FRAMEWORK_NAME_MAX,
  LEADERBOARD_ROWS_MAX,
  leaderboardSha256,
  MONSTER_HARMONIC_CONTENT_TYPE,
  parseProposalJson,
  ProposalFormatError,
  validateProposalValue,
} from './index';

const entry = (o: Partial<LeaderboardEntry> = {}): LeaderboardEntry => ({ framework: 'Monster', score: '12.50', pricePerPoint: '0.10', bid: '1', ask: '2', ...o });

describe('canonical leaderboard encoding', () => {
  it('is the documented text, numbers normalised, order kept', () => {
    const bytes = canonicalLeaderboardBytes([entry({ score: '+012.500', bid: '-0' }), entry({ framework: 'Baby "M"\n' })]);
    expect(Buffer.from(bytes).toString('utf8')).toBe(
      'harmonic.v1.leaderboard/1\n["Monster","12.5","0.1","0","2"]\n["Baby \\"M\\"\\n","12.5","0.1","1","2"]\n',
    );
    expect(leaderboardSha256([entry()])).toBe(createHash('sha256').update('harmonic.v1.leaderboard/1\n["Monster","12.5","0.1","1","2"]\n').digest('hex'));
    expect(leaderboardSha256([entry({ score: '12.5' })])).toBe(leaderboardSha256([entry({ score: '0012.50000' })]));
    expect(leaderboardSha256([entry(), entry({ framework: 'B' })])).not.toBe(leaderboardSha256([entry({ framework: 'B' }), entry()]));
  });
  it('rejects non-decimal text', () => {
    for (const bad of ['1e3', '', ' 1', '1.', '.5', 'NaN', '0x10', '1,5']) {
      expect(() => leaderboardSha256([entry({ ask: bad })])).toThrow(/leaderboard\[0\]\.ask is not a decimal number/);
    }
  });
});

describe('the proposal value', () => {
  const p = buildProposal({
    proposalNumber: (1n << 63n) + 5n,
    proposerId: 3,
    leaderboard: [entry()],
    claims: [{ source: 0, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' }],
  });

  it('round-trips through encode/decode and validates', () => {
    const v = encodeProposalValue(p);
    expect(v.contentType).toBe(MONSTER_HARMONIC_CONTENT_TYPE);
    expect(decodeProposalValue(v)).toEqual(p);
    expect(validateProposalValue(v.contentType, v.data)).toEqual({ ok: true, proposal: p });
  });

  it('refuses a hash mismatch with FAILED_PRECONDITION', () => {
    const v = encodeProposalValue({ ...p, leaderboard: [entry({ score: '13' })] });
    const r = validateProposalValue(v.contentType, v.data);
    expect(r).toEqual({
      ok: false,
      code: 'FAILED_PRECONDITION',
      reason: `leaderboard_sha256 is ${p.leaderboardSha256}, the leaderboard hashes to ${leaderboardSha256([entry({ score: '13' })])}`,
    });
  });

  it('refuses malformed protobuf, non-decimal numbers and bad claims with INVALID_ARGUMENT', () => {
    expect(validateProposalValue(MONSTER_HARMONIC_CONTENT_TYPE, Buffer.from([0x1a, 0xff, 0xff]))).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(validateProposalValue('text/plain', encodeProposalValue(p).data)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    const nd = encodeProposalValue({ ...p, leaderboard: [entry({ bid: '1e3' })] });
    expect(validateProposalValue(nd.contentType, nd.data)).toEqual({ ok: false, code: 'INVALID_ARGUMENT', reason: 'leaderboard[0].bid is not a decimal number: "1e3"' });
    const bc = encodeProposalValue({ ...p, claims: [{ source: 12, label: 'x', field: 'y', claimedValue: '1' }] });
    expect(validateProposalValue(bc.contentType, bc.data)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', reason: 'claims[0].source is 12, not one of 0..9' });
    const many = encodeProposalValue({ ...p, claims: Array.from({ length: 65 }, () => ({ source: 0, label: '11.a2', field: 'jinv', claimedValue: '1' })) });
    expect(validateProposalValue(many.contentType, many.data)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', reason: 'the proposal makes 65 claims, the limit is 64' });
    // A claimed value of 20,000 digits would cost every verifier a long computation: refused by length.
    const long = encodeProposalValue({ ...p, claims: [{ source: 0, label: '11.a2', field: 'jinv', claimedValue: `${'9'.repeat(20_000)}/7` }] });
    expect(validateProposalValue(long.contentType, long.data)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', reason: 'claims[0].claimed_value is 20002 characters long, the limit is 16384' });
    const label = encodeProposalValue({ ...p, claims: [{ source: 0, label: 'x'.repeat(300), field: 'jinv', claimedValue: '1' }] });
    expect(validateProposalValue(label.contentType, label.data)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', reason: 'claims[0].label is 300 characters long, the limit is 256' });
  });
});

describe('the bounds of a leaderboard (every node keeps every framework\'s row)', () => {
  const refused = (leaderboard: LeaderboardEntry[]) => {
    const v = encodeProposalValue(buildProposal({ proposalNumber: 1n, proposerId: 1, leaderboard }));
    return validateProposalValue(v.contentType, v.data);
  };
  it('takes 256 rows of names up to 64 characters and numbers up to 32, and refuses more with INVALID_ARGUMENT', () => {
    const rows = Array.from({ length: LEADERBOARD_ROWS_MAX }, (_, i) => entry({ framework: `f${i}`.padEnd(FRAMEWORK_NAME_MAX, 'x'), score: '9'.repeat(DECIMAL_TEXT_MAX) }));
    expect(refused(rows)).toMatchObject({ ok: true });
    expect(refused([...rows, entry()])).toEqual({ ok: false, code: 'INVALID_ARGUMENT', reason: 'the leaderboard has 257 rows, the limit is 256' });
    expect(refused([entry(), entry({ framework: 'x'.repeat(65) })])).toEqual({ ok: false, code: 'INVALID_ARGUMENT', reason: 'leaderboard[1].framework is 65 characters long, the limit is 64' });
    expect(refused([entry({ ask: `1.${'0'.repeat(31)}` })])).toEqual({ ok: false, code: 'INVALID_ARGUMENT', reason: 'leaderboard[0].ask is 33 characters long, the limit is 32' });
    expect(refused([entry({ framework: '' })])).toEqual({ ok: false, code: 'INVALID_ARGUMENT', reason: 'leaderboard[0].framework is empty' });
    for (const name of ['a\nb', 'a\u001b[31m', 'a\u0085', 'a\u202eb', 'a\u2066b', 'a\u2028b']) {
      expect(refused([entry({ framework: name })])).toEqual({ ok: false, code: 'INVALID_ARGUMENT', reason: 'leaderboard[0].framework holds a control or text-direction character' });
    }
    expect(refused([entry({ framework: 'Mönster ✓ 群' })])).toMatchObject({ ok: true });
    // Characters as a person counts them: 64 emoji (128 UTF-16 units) are 64 characters.
    expect(refused([entry({ framework: '🎵'.repeat(64) })])).toMatchObject({ ok: true });
    expect(refused([entry({ framework: '🎵'.repeat(65) })])).toEqual({ ok: false, code: 'INVALID_ARGUMENT', reason: 'leaderboard[0].framework is 65 characters long, the limit is 64' });
  });
});

describe('text fields are read from their bytes: UTF-8 or refused', () => {
  /** The value's bytes with the first copy of `marker` overwritten by `bytes`. */
  const withBytes = (data: Uint8Array, marker: string, bytes: number[]): Buffer => {
    const out = Buffer.from(data);
    const at = out.indexOf(Buffer.from(marker));
    expect(at).toBeGreaterThanOrEqual(0);
    out.set(bytes, at);
    return out;
  };
  const value = (leaderboard: LeaderboardEntry[], claims = [{ source: 0, label: '11.a2', field: 'jinv', claimedValue: '1' }]) =>
    encodeProposalValue(buildProposal({ proposalNumber: 7n, proposerId: 1, leaderboard, claims }));

  it('refuses a framework name that is not UTF-8, naming the row, whatever hash it carries', () => {
    // "ff ff ff ff" and "fe fe fe fe" both decode leniently to four U+FFFD: one name, one hash.
    for (const hashOf of ['ZZZZ', '\uFFFD\uFFFD\uFFFD\uFFFD']) {
      const v = value([entry(), entry({ framework: 'ZZZZ' })]);
      const data = withBytes(encodeProposalValue({ ...decodeProposalValue(v), leaderboardSha256: leaderboardSha256([entry(), entry({ framework: hashOf })]) }).data, 'ZZZZ', [0xff, 0xff, 0xff, 0xff]);
      expect(validateProposalValue(v.contentType, data)).toEqual({
        ok: false,
        code: 'INVALID_ARGUMENT',
        reason: 'leaderboard[1].framework is not valid UTF-8: framework names, numbers and claims are UTF-8 text (bytes that are not would read as U+FFFD, and two names as one)',
      });
      expect(() => decodeProposalValue({ contentType: v.contentType, data })).toThrow(ProposalFormatError);
    }
    // U+FFFD written as UTF-8 (ef bf bd) is text like any other.
    expect(validateProposalValue(value([entry({ framework: '\uFFFDx' })]).contentType, value([entry({ framework: '\uFFFDx' })]).data)).toMatchObject({ ok: true });
  });

  it("refuses a claim's label, field or value that is not UTF-8, and a number's text", () => {
    const v = value([entry()], [{ source: 0, label: '11.aZ', field: 'jiZZ', claimedValue: '1QQQ' }]);
    for (const [marker, bytes, where] of [
      ['11.aZ', [0x31, 0x31, 0x2e, 0x61, 0xc3], 'claims[0].label'],
      ['jiZZ', [0x6a, 0x69, 0xed, 0xa0], 'claims[0].field'],
      ['1QQQ', [0x31, 0xe0, 0x80, 0x80], 'claims[0].claimed_value'],
    ] as const) {
      expect(validateProposalValue(v.contentType, withBytes(v.data, marker, [...bytes]))).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', reason: expect.stringMatching(new RegExp(`^${where.replace(/[[\]]/g, '\\$&')} is not valid UTF-8`)) });
    }
    const n = value([entry({ score: '1234' })]);
    expect(validateProposalValue(n.contentType, withBytes(n.data, '1234', [0x31, 0x80, 0x33, 0x34]))).toMatchObject({ ok: false, reason: expect.stringMatching(/^leaderboard\[0\]\.score is not valid UTF-8/) });
  });

  it('refuses invisible format characters (Unicode Cf) in a framework name, naming the character', () => {
    for (const [name, shown] of [
      ['fw\u200b', 'U+200B'],
      ['\u00adfw', 'U+00AD'],
      ['f\u2060w', 'U+2060'],
      ['fw\ufeff', 'U+FEFF'],
      ['f\u{e0041}w', 'U+E0041'],
      ['f\u061cw', 'U+061C'],
    ] as const) {
      const v = value([entry({ framework: name })]);
      expect(validateProposalValue(v.contentType, v.data)).toEqual({
        ok: false,
        code: 'INVALID_ARGUMENT',
        reason: `leaderboard[0].framework holds ${shown}, an invisible format character: a name that reads like another would be another row`,
      });
    }
    // Letters, marks, symbols and spaces stay names.
    const ok = value([entry({ framework: 'Mönster ✓ 群 é' })]);
    expect(validateProposalValue(ok.contentType, ok.data)).toMatchObject({ ok: true });
  });

  it('refuses a leaderboard that gives one framework two rows', () => {
    const v = value([entry({ framework: 'a' }), entry({ framework: 'dup' }), entry({ framework: 'dup', score: '2' })]);
    expect(validateProposalValue(v.contentType, v.data)).toEqual({
      ok: false,
      code: 'INVALID_ARGUMENT',
      reason: 'leaderboard[2].framework is "dup", as is leaderboard[1]: give each framework one row',
    });
  });
});

describe('claims of a proposal', () => {
  const caches = new Map<number, SourceCache>();
  beforeAll(async () => {
    for (const n of [0, 3]) caches.set(n, await loadSource(join(__dirname, '../../../data/lmfdb-snapshot'), n));
  });
  const prop = (claims: Array<[number, string, string, string]>) =>
    buildProposal({ proposalNumber: 1n, proposerId: 0, leaderboard: [], claims: claims.map(([source, label, field, claimedValue]) => ({ source, label, field, claimedValue })) });

  it('the proposer (requireAll) refuses false and unverifiable claims', () => {
    const lookup = (n: number) => caches.get(n);
    expect(checkProposalClaims(prop([[0, '11.a2', 'jinv', '-122023936/161051'], [3, '2.0.15.1', 'disc_abs', '15']]), lookup, { requireAll: true })).toEqual({ ok: true, checked: 2, skipped: 0 });
    const f = checkProposalClaims(prop([[0, '11.a2', 'jinv', '1/1']]), lookup, { requireAll: true });
    expect(f.ok === false && f.reason).toBe('claims[0] (source 0, 11.a2, jinv) is false: 11.a2: jinv is -122023936/161051, the claim says 1/1 (looked up in the record)');
    const u = checkProposalClaims(prop([[5, '360.a.6480.1', 'cond', '360']]), lookup, { requireAll: true });
    expect(u.ok === false && u.reason).toBe('claims[0] (source 5, 360.a.6480.1, cond) cannot be verified: source 5 is not loaded here');
  });

  it('an acceptor checks only its own source', () => {
    const own = (n: number) => (n === 3 ? caches.get(3) : undefined);
    const p = prop([[0, '11.a2', 'jinv', '1/1'], [3, '2.0.15.1', 'disc_abs', '15']]);
    expect(checkProposalClaims(p, own, { requireAll: false })).toEqual({ ok: true, checked: 1, skipped: 1 });
    expect(checkProposalClaims(p, (n) => (n === 0 ? null : undefined), { requireAll: false, onlySource: 0 }).ok).toBe(false);
  });
});

describe('proposal.json', () => {
  it('reads numbers losslessly, exactly as written', () => {
    const p = parseProposalJson(
      '{"proposal_number": 18446744073709551615, "proposer_id": 2, "leaderboard": [{"framework": "M", "score": 12.50, "price_per_point": "0.10", "bid": 100000000000000000001, "ask": 2}],' +
        '"claims": [{"source": 0, "label": "11.a2", "field": "ainvs", "value": [0,-1,1,-10,-20]}, {"source": 0, "label": "11.a2", "field": "conductor", "value": 11}]}',
    );
    expect(p.proposalNumber).toBe(18446744073709551615n);
    expect(p.leaderboard[0]).toEqual({ framework: 'M', score: '12.50', pricePerPoint: '0.10', bid: '100000000000000000001', ask: '2' });
    expect(p.claims.map((c) => c.claimedValue)).toEqual(['[0,-1,1,-10,-20]', '11']);
    expect(p.leaderboardSha256).toBe(leaderboardSha256(p.leaderboard));
  });
  it('rejects bad input with a reason', () => {
    expect(() => parseProposalJson('{"proposal_number": 1, "leaderboard": [{"framework": "M", "score": 1e3, "price_per_point": 1, "bid": 1, "ask": 1}]}')).toThrow(
      'leaderboard[0].score is not a decimal number: "1e3"',
    );
    expect(() => parseProposalJson('{"proposal_number": -1}')).toThrow(/proposal_number must be an integer/);
    expect(() => parseProposalJson('{"proposal_number": 1, "leaderboard_sha256": "00"}')).toThrow(/leaderboard_sha256 is 00, the leaderboard hashes to/);
    // Not text: refused as a format error naming what was given, not a TypeError from printing it.
    expect(() => parseProposalJson('{"proposal_number": 1, "leaderboard_sha256": {"toString": 1}}')).toThrow(ProposalFormatError);
    expect(() => parseProposalJson('{"proposal_number": 1, "leaderboard_sha256": {"toString": 1}}')).toThrow(/leaderboard_sha256 is \{"toString":1\}, the leaderboard hashes to/);
    expect(() => parseProposalJson('[')).toThrow(/not JSON/);
    // Half a surrogate pair: the nodes would read U+FFFD and hash another leaderboard. A whole pair is text.
    const row = (name: string) => `{"proposal_number": 1, "leaderboard": [{"framework": "${name}", "score": 1, "price_per_point": 1, "bid": 1, "ask": 1}]}`;
    expect(() => parseProposalJson(row('M\\ud800'))).toThrow(/leaderboard\[0\]\.framework holds half of a surrogate pair/);
    expect(() => parseProposalJson(row('\\udc00M'))).toThrow(ProposalFormatError);
    expect(parseProposalJson(row('M\\ud83d\\ude00')).leaderboard[0]?.framework).toBe('M\u{1F600}');
    expect(() => parseProposalJson('{"proposal_number": 1, "claims": [{"source": 0, "label": "11.a2", "field": "conductor", "value": "1\\ud800"}]}')).toThrow(/claims\[0\]\.value holds half of a surrogate pair/);
  });
});

describe('content types: a proposal is recognised by what it is, not how it is spelled', () => {
  it.each([
    'application/x-protobuf; messageType=harmonic.v1.MonsterHarmonicProposal',
    'application/x-protobuf;messageType=harmonic.v1.MonsterHarmonicProposal',
    'APPLICATION/X-PROTOBUF; MESSAGETYPE=harmonic.v1.MonsterHarmonicProposal',
    'application/x-protobuf ;  messagetype="harmonic.v1.MonsterHarmonicProposal"  ',
    'application/x-protobuf; charset=binary; messageType=harmonic.v1.MonsterHarmonicProposal',
  ])('%s is a Monster Harmonic proposal', (ct) => {
    expect(isHarmonicContentType(ct)).toBe(true);
  });

  it.each([
    ['application/x-protobuf; messageType=harmonic.v1.monsterharmonicproposal', /spelled exactly/],
    ['application/x-protobuf; messageType=HARMONIC.v1.MonsterHarmonicProposal', /spelled exactly/],
    ['application/x-protobuf; messageType=harmonic.v2.Other', /spelled exactly/],
    ['application/x-protobuf messageType=harmonic.v1.MonsterHarmonicProposal', /not a media type/],
    ['application/x-protobuf; messageType=a; messageType=b', /not a media type/],
    ['t', /not a media type/],
    ['', /not a media type/],
    ['text/plain; charset', /not a media type/],
  ])('%s is refused', (ct, reason) => {
    const k = contentKind(ct);
    expect(k.kind).toBe('invalid');
    expect(k.kind === 'invalid' && k.reason).toMatch(reason);
  });

  it.each(['text/plain', 'application/octet-stream', 'application/json; charset=utf-8', 'application/x-protobuf; messageType=acme.Order'])('%s is an opaque value', (ct) => {
    expect(contentKind(ct)).toEqual({ kind: 'opaque' });
  });

  it('parses parameters case-insensitively by name and keeps quoted values', () => {
    expect(parseMediaType('Text/HTML; Charset="utf-8"')).toEqual({ type: 'text', subtype: 'html', parameters: new Map([['charset', 'utf-8']]) });
  });
});
