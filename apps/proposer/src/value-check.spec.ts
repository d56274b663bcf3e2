import { status } from '@grpc/grpc-js';
import { learnedIdTaken, ValueChecker } from './value-check';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';

describe('the proposer\'s value check', () => {
  const checker = new ValueChecker(1024, () => undefined);
  const value = (bytes: number) => ({ contentType: 'text/plain', data: Buffer.alloc(bytes) });

  it('measures a value as the core does: data, client_request_id and content_type together', () => {
    // 1,024 data bytes alone would pass a data-only check, then be refused by the core.
    expect(() => checker.check('id', value(1024))).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }));
    expect(() => checker.check('id', value(1024 - 'id'.length - 'text/plain'.length + 1))).toThrow('value is 1013 bytes, 1025 with its client_request_id and content_type, which together may hold at most 1024');
    expect(checker.check('id', value(1024 - 'id'.length - 'text/plain'.length)).data.length).toBe(1012);
  });

  it('refuses a content type that is not a media type', () => {
    expect(() => checker.check('id', { contentType: 'plain', data: Buffer.from('x') })).toThrow(/not a media type/);
  });

  it('refuses an id that was not valid UTF-8 on the wire: two such ids would decode alike', () => {
    const decoded = (bytes: number[]) => Buffer.from(bytes).toString('utf8');
    expect(decoded([0x68, 0xff, 0x22])).toBe(decoded([0x68, 0xfe, 0x22]));
    expect(() => checker.check(decoded([0x68, 0xff, 0x22]), value(1))).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/not valid UTF-8/) }));
    expect(checker.check('h\u00e9-\u{1F600}', value(1)).clientRequestId).toBe('h\u00e9-\u{1F600}');
    // 256 emoji are 256 characters (512 UTF-16 units): accepted; 257 are not.
    expect(checker.check('\u{1F600}'.repeat(256), value(1)).clientRequestId).toHaveLength(512);
    expect(() => checker.check('\u{1F600}'.repeat(257), value(1))).toThrow(/257 characters, the limit is 256/);
    expect(() => checker.check('x'.repeat(100_000), value(1))).toThrow(/more than 256 characters/);
  });
});

describe('text a client sends that terminals and logs would obey', () => {
  const checker = new ValueChecker(1024, () => undefined);
  const value = { contentType: 'text/plain', data: Buffer.from('x') };
  // Each one drives a terminal or forges a line where the id is printed (read log, read proposals, the logs).
  const CONTROLS = ['\n', '\r', '\t', '\u001b', '\u0007', '\u007f', '\u0085', '\u009b', '\u2028', '\u2029', '\u202e', '\u2066', '\u202a'];

  it('is refused in client_request_id, anywhere in it (seeded)', () => {
    const seed = Number(process.env['SEED'] ?? 7331);
    console.log(`value-check controls seed ${seed} (SEED=${seed} to repeat)`);
    let x = seed >>> 0;
    const next = (n: number) => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) % n;
    for (let i = 0; i < 200; i++) {
      const c = CONTROLS[next(CONTROLS.length)] as string;
      const at = next(20);
      const id = `${'a'.repeat(at)}${c}${'b'.repeat(next(20))}`;
      expect(() => checker.check(id, value)).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/client_request_id holds a control/) }));
    }
    // Printable text of any script still passes.
    expect(checker.check('r\u00e9sum\u00e9-\u05e9\u05dc\u05d5\u05dd-\u{1F600} 1', value).clientRequestId).toBe('r\u00e9sum\u00e9-\u05e9\u05dc\u05d5\u05dd-\u{1F600} 1');
  });

  it('is refused in a content type (a quoted parameter carried a newline), but for the tab', () => {
    expect(() => checker.check('id', { contentType: 'text/plain; x="a\nslot 9  ballot 1.1  no-op"', data: Buffer.from('x') })).toThrow(/content_type holds a control/);
    expect(() => checker.check('id', { contentType: 'text/plain; x="\u001b[2J"', data: Buffer.from('x') })).toThrow(/content_type holds a control/);
    expect(checker.check('id', { contentType: 'text/plain;\tcharset=utf-8', data: Buffer.from('x') }).contentType).toBe('text/plain;\tcharset=utf-8');
  });
});

describe('invisible format characters (Unicode Cf) in a client_request_id or content type', () => {
  const value = { contentType: 'text/plain', data: Buffer.from('x') };
  // The text-direction marks reorder what is shown; the others make an id read like another.
  const INVISIBLE = ['\u200f', '\u200e', '\u061c', '\u200b', '\ufeff', '\u00ad', '\u2060'];

  it('are refused, as in a framework name: "r1" and "r1" + U+200B read alike in read -- log', () => {
    const checker = new ValueChecker(1024, () => undefined);
    for (const c of INVISIBLE) {
      expect(() => checker.check(`r${c}1`, value)).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/^client_request_id holds U\+[0-9A-F]{4}, an invisible format character/) }));
      expect(() => checker.check('r1', { contentType: `text/plain; q="${c}"`, data: Buffer.from('x') })).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/^value\.content_type holds U\+/) }));
    }
  });

  it('are looked for in a content type only within its bound: one of a whole message is refused for its length', () => {
    const checker = new ValueChecker(8 * 1024 * 1024, () => undefined);
    // Scanned a code point at a time before its length was looked at: 4 MiB took 100 to 200 ms a call.
    const long = { contentType: `${'\u00e9'.repeat(100_000)}\u200b`, data: Buffer.from('x') };
    expect(() => checker.check('r1', long)).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT, message: 'value.content_type is longer than 256 characters' }));
  });

  it('do not keep a retry of an id that took effect with them (an earlier build took them) from its answer', () => {
    const taken = new Set(['r\u200b1']);
    const checker = new ValueChecker(1024, () => undefined, undefined, undefined, undefined, (id) => taken.has(id));
    expect(checker.check('r\u200b1', value).clientRequestId).toBe('r\u200b1');
    expect(() => checker.check('r\u200b2', value)).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }));
    // While the proposer learns the log it cannot tell: retry, not a final refusal.
    const learning = new ValueChecker(1024, () => undefined, undefined, undefined, undefined, () => undefined);
    expect(() => learning.check('r\u200b1', value)).toThrow(expect.objectContaining({ code: status.UNAVAILABLE, message: expect.stringMatching(/still learning the chosen log/) }));
  });
});

describe('other characters Unicode draws as nothing (default-ignorable, not Cf) in a client_request_id or content type', () => {
  const value = { contentType: 'text/plain', data: Buffer.from('x') };
  // The combining grapheme joiner, a variation selector (text and emoji), a Hangul filler (two
  // spellings), a Mongolian variation selector, a Khmer inherent vowel, a supplementary variation
  // selector, a reserved default-ignorable code point: each made an id that reads as another.
  const IGNORABLE = ['\u034f', '\ufe0e', '\ufe0f', '\u3164', '\uffa0', '\u180b', '\u17b4', '\u{e0100}', '\u{e0000}'];

  it('are refused as the format characters are: "pay" + U+034F + "ment" read as "payment" in read -- log', () => {
    const checker = new ValueChecker(1024, () => undefined);
    for (const c of IGNORABLE) {
      expect(() => checker.check(`pay${c}ment`, value)).toThrow(
        expect.objectContaining({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/^client_request_id holds U\+[0-9A-F]{4,5}, an invisible .*variation selectors, the combining grapheme joiner, Hangul fillers.*use printable text$/) }),
      );
      expect(() => checker.check('r1', { contentType: `text/plain; q="${c}"`, data: Buffer.from('x') })).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/^value\.content_type holds U\+/) }));
    }
    // Their neighbours are visible and still taken.
    for (const id of ['pay\u034ement', 'pay\u3163ment', 'pay\ufe10ment', 'caf\u00e9', '\u{1F600}']) expect(checker.check(id, value).clientRequestId).toBe(id);
  });

  it('do not keep a retry of an id that took effect with one (an earlier build took them) from its answer', () => {
    const taken = new Set(['pay\u034fment']);
    const checker = new ValueChecker(1024, () => undefined, undefined, undefined, undefined, (id) => taken.has(id));
    expect(checker.check('pay\u034fment', value).clientRequestId).toBe('pay\u034fment');
    expect(() => checker.check('pay\u034fment-2', value)).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }));
    const learning = new ValueChecker(1024, () => undefined, undefined, undefined, undefined, () => undefined);
    expect(() => learning.check('pay\u034fment', value)).toThrow(expect.objectContaining({ code: status.UNAVAILABLE }));
  });
});

describe('a proposal number already taken', () => {
  it("is refused before any acceptor sees it, unless it is a retry of the proposal that took it", () => {
    const taken = new Map([[100n, { slot: 9n, clientRequestId: 'first' }]]);
    const checker = new ValueChecker(1024 * 1024, () => undefined, undefined, undefined, (n) => taken.get(n));
    const proposal = (n: bigint) => {
      const v = encodeProposalValue(buildProposal({ proposalNumber: n, proposerId: 1, leaderboard: [{ framework: 'alpha', score: '1.5', pricePerPoint: '0.01', bid: '1', ask: '2' }], claims: [] }));
      return { contentType: v.contentType, data: Buffer.from(v.data) };
    };
    expect(() => checker.check('second', proposal(100n))).toThrow(
      expect.objectContaining({ code: status.FAILED_PRECONDITION, message: expect.stringContaining('proposal 100 already took effect in slot 9 (client_request_id "first")') }),
    );
    // The retry of the first goes on (the gateway answers it as a duplicate), and a new number passes.
    expect(checker.check('first', proposal(100n)).clientRequestId).toBe('first');
    expect(checker.check('second', proposal(101n)).clientRequestId).toBe('second');
  });

  it('lets through an id that took effect itself, under whatever number, for the sessions to answer; while learning, says to retry', () => {
    const taken = new Map([[100n, { slot: 9n, clientRequestId: 'first' }]]);
    const ids = new Set(['first', 'second']);
    let learning = false;
    const checker = new ValueChecker(1024 * 1024, () => undefined, undefined, undefined, (n) => taken.get(n), (id) => (learning ? undefined : ids.has(id)));
    const proposal = (n: bigint) => {
      const v = encodeProposalValue(buildProposal({ proposalNumber: n, proposerId: 1, leaderboard: [{ framework: 'beta', score: '2', pricePerPoint: '0.01', bid: '1', ask: '2' }], claims: [] }));
      return { contentType: v.contentType, data: Buffer.from(v.data) };
    };
    // "second" took effect (with other bytes, or this proposal refused by the registry): its
    // answer is ALREADY_EXISTS or its own slot, as at a proposer that has not applied slot 9 yet.
    expect(checker.check('second', proposal(100n)).clientRequestId).toBe('second');
    expect(() => checker.check('third', proposal(100n))).toThrow(expect.objectContaining({ code: status.FAILED_PRECONDITION }));
    learning = true;
    expect(() => checker.check('third', proposal(100n))).toThrow(expect.objectContaining({ code: status.UNAVAILABLE, message: expect.stringContaining('still learning the chosen log') }));
    expect(checker.check('first', proposal(100n)).clientRequestId).toBe('first');
  });
});

describe('a retry while the proposer learns the chosen log', () => {
  it('is let through for the sessions to answer when the log learned so far holds its id: under a number another id took, with an invisible character, or with claims', () => {
    const learned = new Set(['first', 'second', 'old\u200b']);
    const checker = new ValueChecker(1024 * 1024, () => undefined, undefined, undefined, (n) => (n === 100n ? { slot: 9n, clientRequestId: 'first' } : undefined), learnedIdTaken(() => true, (id) => (learned.has(id) ? { slot: 3n } : undefined)));
    const proposal = (n: bigint, claims: { source: number; label: string; field: string; claimedValue: string }[] = []) => {
      const v = encodeProposalValue(buildProposal({ proposalNumber: n, proposerId: 1, leaderboard: [{ framework: 'beta', score: '2', pricePerPoint: '0.01', bid: '1', ask: '2' }], claims }));
      return { contentType: v.contentType, data: Buffer.from(v.data) };
    };
    // Learned: the sessions answer it (its slot, or ALREADY_EXISTS), as the gateway does while learning.
    expect(checker.check('second', proposal(100n)).clientRequestId).toBe('second');
    expect(checker.check('old\u200b', { contentType: 'text/plain', data: Buffer.from('x') }).clientRequestId).toBe('old\u200b');
    // Its claims held when it was chosen: not checked again (the source is not loaded here).
    const claim = { source: 0, label: '11.a2', field: 'conductor', claimedValue: '11' };
    expect(checker.check('second', proposal(101n, [claim])).clientRequestId).toBe('second');
    expect(() => checker.check('third', proposal(101n, [claim]))).toThrow(expect.objectContaining({ code: status.UNAVAILABLE, message: expect.stringContaining('source') }));
    // Not learned yet: it may still be further in the log.
    expect(() => checker.check('third', proposal(100n))).toThrow(expect.objectContaining({ code: status.UNAVAILABLE }));
    expect(() => checker.check('new\u200b', { contentType: 'text/plain', data: Buffer.from('x') })).toThrow(expect.objectContaining({ code: status.UNAVAILABLE }));
  });
});

describe('the time LMFDB claim checks may take', () => {
  it('is a share of the proposer: past it a proposal with claims is RESOURCE_EXHAUSTED at once, and it refills with time', () => {
    let clock = 0;
    let lookups = 0;
    // Each claim check takes 300 ms of the test's clock (a claim of costly computation).
    const source = () => {
      lookups++;
      clock += 300;
      return undefined;
    };
    const checker = new ValueChecker(1024 * 1024, source, undefined, () => clock);
    const proposal = (n: bigint) => {
      const v = encodeProposalValue(buildProposal({ proposalNumber: n, proposerId: 1, leaderboard: [], claims: [{ source: 0, label: '11.a2', field: 'ap:1000003', claimedValue: '0' }] }));
      return { contentType: v.contentType, data: Buffer.from(v.data) };
    };
    const outcome = (n: bigint) => {
      try {
        checker.check(`p${n}`, proposal(n));
        return 'ok';
      } catch (e) {
        return (e as { code: number }).code;
      }
    };
    // The burst (1,000 ms, refilled by 75 ms while each 300 ms check runs) takes five checks;
    // the sixth is refused without being run.
    const first = [1n, 2n, 3n, 4n, 5n, 6n].map(outcome);
    // (The source is not loaded here: each check that ran is UNAVAILABLE, the proposer's want, not the claim's fault.)
    expect(first).toEqual([...Array(5).fill(status.UNAVAILABLE), status.RESOURCE_EXHAUSTED]);
    expect(lookups).toBe(5);
    // A value without claims is not held back.
    expect(checker.check('plain', { contentType: 'text/plain', data: Buffer.from('x') }).clientRequestId).toBe('plain');
    // Two seconds later there is time for claims again.
    clock += 2000;
    expect(outcome(7n)).toBe(status.UNAVAILABLE);
    expect(lookups).toBe(6);
  });
});

describe('a claim the proposer cannot check', () => {
  it('is UNAVAILABLE (retry) when the proposer has not loaded its source, not refused as if the claim were wrong', () => {
    const checker = new ValueChecker(1024 * 1024, () => undefined);
    const v = encodeProposalValue(buildProposal({ proposalNumber: 5n, proposerId: 1, leaderboard: [], claims: [{ source: 0, label: '11.a2', field: 'torsion', claimedValue: '5' }] }));
    expect(() => checker.check('c', { contentType: v.contentType, data: Buffer.from(v.data) })).toThrow(
      expect.objectContaining({ code: status.UNAVAILABLE, message: expect.stringContaining('this proposer has not loaded LMFDB source 0') }),
    );
  });
});

describe('a retry of a proposal with claims that took effect', () => {
  it('is not checked again: neither an unloaded source nor spent claim time keeps it from its slot', () => {
    let clock = 0;
    const source = () => {
      clock += 600;
      return undefined;
    };
    const taken = new Set(['chosen']);
    const checker = new ValueChecker(1024 * 1024, source, undefined, () => clock, undefined, (id) => taken.has(id));
    const v = encodeProposalValue(buildProposal({ proposalNumber: 5n, proposerId: 1, leaderboard: [], claims: [{ source: 0, label: '11.a2', field: 'torsion', claimedValue: '5' }] }));
    const value = { contentType: v.contentType, data: Buffer.from(v.data) };
    for (let i = 0; i < 10; i++) expect(checker.check('chosen', value).clientRequestId).toBe('chosen');
    expect(clock).toBe(0);
    // A new id is checked (here its source is not loaded), and past the share refused at once.
    expect(() => checker.check('new-1', value)).toThrow(expect.objectContaining({ code: status.UNAVAILABLE }));
    expect(() => checker.check('new-2', value)).toThrow(expect.objectContaining({ code: status.UNAVAILABLE }));
    expect(() => checker.check('new-3', value)).toThrow(expect.objectContaining({ code: status.RESOURCE_EXHAUSTED }));
    expect(checker.check('chosen', value).clientRequestId).toBe('chosen');
  });
});

describe('framework names that read alike', () => {
  const checker = new ValueChecker(1 << 20, () => undefined);
  const harmonic = (framework: string) => encodeProposalValue(buildProposal({ proposalNumber: 31n, proposerId: 1, leaderboard: [{ framework, score: '1', pricePerPoint: '1', bid: '1', ask: '2' }] }));

  it('refuses a name not in composed form (NFC), naming the spelling to send; the composed one passes', () => {
    const decomposed = 'cafe\u0301 \u1100\u1161';
    expect(() => checker.check('id', harmonic(decomposed))).toThrow(expect.objectContaining({
      code: status.INVALID_ARGUMENT,
      message: expect.stringContaining('"cafe\\u0301 \\u1100\\u1161" is not in Unicode\'s composed form'),
    }));
    expect(() => checker.check('id', harmonic(decomposed))).toThrow(/send "caf\\u00e9 \\uac00"/);
    expect(checker.check('id', harmonic('caf\u00e9 \uac00')).clientRequestId).toBe('id');
    // Text with no composed form (a mark on a letter that has none) is NFC as written.
    expect(checker.check('id', harmonic('q\u0301 \u{1F600}')).clientRequestId).toBe('id');
  });

  it('lets through the retry of a proposal that took effect under a build that took such names, to be answered with its slot', () => {
    const taken = new Map([[31n, { slot: 4n, clientRequestId: 'earlier' }]]);
    const upgraded = new ValueChecker(1 << 20, () => undefined, undefined, undefined, (n) => taken.get(n));
    expect(upgraded.check('earlier', harmonic('cafe\u0301')).clientRequestId).toBe('earlier');
    expect(() => upgraded.check('another', harmonic('cafe\u0301'))).toThrow(expect.objectContaining({ code: status.FAILED_PRECONDITION }));
  });

  it('lets through the retry of an id that took effect with such a name under a number another id took first, for the sessions to answer', () => {
    // "late" was chosen after "earlier" had taken 31: the registry refused its proposal, and the
    // sessions hold its slot. Its retry is answered from them, its name as that build took it.
    const taken = new Map([[31n, { slot: 4n, clientRequestId: 'earlier' }]]);
    const upgraded = new ValueChecker(1 << 20, () => undefined, undefined, undefined, (n) => taken.get(n), (id) => id === 'earlier' || id === 'late');
    expect(upgraded.check('late', harmonic('cafe\u0301')).clientRequestId).toBe('late');
    expect(() => upgraded.check('another', harmonic('cafe\u0301'))).toThrow(expect.objectContaining({ code: status.FAILED_PRECONDITION }));
  });
});
