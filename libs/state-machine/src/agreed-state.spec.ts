import { createHash } from 'node:crypto';
import { type ChosenEntry, type Command, SESSION_ID_CHARS_KEPT } from '@paxos/consensus-core';
import { buildProposal, encodeProposalValue, voteProblem } from '@paxos/proposal';
import { AgreedState, commandOutcomes } from './agreed-state';
import { sessionValueKey } from './value-key';
import { HarmonicRegistry, recordBytes } from './harmonic-registry';
import { decodeStateSnapshotWithFormat, encodeStateSnapshot } from './snapshot-codec';

const digest = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const ballot = { round: 1n, proposerId: 1 };
const text = (id: string, t = id): Command => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.from(t) });
const slot = (s: number, ...commands: Command[]): ChosenEntry => ({ slot: BigInt(s), ballot, value: commands.length ? { kind: 'batch', commands } : { kind: 'noop' } });
const row = (framework: string, score: string) => ({ framework, score, pricePerPoint: '1.5', bid: '1', ask: '2' });
function proposal(id: string, n: number, rows: ReturnType<typeof row>[], claims = [{ source: 0, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' }]): Command {
  const v = encodeProposalValue(buildProposal({ proposalNumber: BigInt(n), proposerId: 1, leaderboard: rows, claims }));
  // The certificate names acceptors 0 and 10 of source 0 (and 3, of another source).
  return { clientRequestId: id, contentType: v.contentType, data: v.data, verifiedBy: [0, 3, 10] };
}

describe('the agreed state (client sessions)', () => {
  it('the first chosen copy of an id takes effect; later copies are duplicates of it', () => {
    const s = new AgreedState({ digest });
    expect(s.apply(slot(0, text('a'), text('b'))).commands.map((c) => c.duplicateOf)).toEqual([undefined, undefined]);
    s.apply(slot(1));
    const again = s.apply(slot(2, text('b', 'other bytes'), text('c')));
    expect(again.commands[0]?.duplicateOf).toEqual({ slot: 0n, index: 1, detail: { ballot, digest: digest(Buffer.from('b')), contentType: 'text/plain' }, valueKey: sessionValueKey('text/plain', Buffer.from('b')) });
    expect(again.commands[1]?.duplicateOf).toBeUndefined();
    expect(s.session('c')).toMatchObject({ slot: 2n, index: 1 });
    expect(s.appliedSlot).toBe(3n);
  });

  it('a copy inside one slot is a duplicate of the first', () => {
    const s = new AgreedState({ digest });
    expect(s.apply(slot(0, text('x'), text('x'))).commands.map((c) => c.duplicateOf?.index)).toEqual([undefined, 0]);
  });

  it('applies slots in order only', () => {
    const s = new AgreedState({ digest });
    expect(() => s.apply(slot(1, text('a')))).toThrow(/expected 0/);
  });

  it('remembers the last sessionIdsMax ids in log order, the same way on every node', () => {
    const log = [slot(0, text('a'), text('b')), slot(1, text('c')), slot(2, text('a'))];
    const states = [new AgreedState({ digest, sessionIdsMax: 2 }), new AgreedState({ digest, sessionIdsMax: 2 })];
    const effects = states.map((s) => log.map((e) => s.apply(e).commands.map((c) => c.duplicateOf !== undefined)));
    // 'a' was forgotten when 'c' took effect: its copy in slot 2 takes effect again.
    expect(effects[0]).toEqual([[false, false], [false], [false]]);
    expect(effects[1]).toEqual(effects[0]);
  });

  it('marks a copy whose id it has forgotten since as forgotten when read back, never as having taken effect', () => {
    // x, a duplicate copy of x, then new ids past the window: x is forgotten.
    const log = [slot(0, text('x')), slot(1, text('x')), slot(2, text('y')), slot(3, text('z')), slot(4, text('w'))];
    const s = new AgreedState({ digest, sessionIdsMax: 3 });
    const marks = (e: ChosenEntry) => commandOutcomes(e, s).map((o) => [o.duplicate, o.forgotten]);
    s.apply(log[0] as ChosenEntry);
    s.apply(log[1] as ChosenEntry);
    expect([marks(log[0] as ChosenEntry), marks(log[1] as ChosenEntry)]).toEqual([[[false, false]], [[true, false]]]);
    for (const e of log.slice(2)) s.apply(e);
    expect(s.session('x')).toBeUndefined();
    expect([marks(log[0] as ChosenEntry), marks(log[1] as ChosenEntry), marks(log[4] as ChosenEntry)]).toEqual([[[false, true]], [[false, true]], [[false, false]]]);
    // Taken again after it was forgotten: the old copies say nothing, the new one took effect.
    const again = slot(5, text('x'));
    s.apply(again);
    expect([marks(log[1] as ChosenEntry), marks(again)]).toEqual([[[false, true]], [[false, false]]]);
  });

  it('keeps an id longer than the proposer takes by a bounded key, and still knows its copies', () => {
    // A value from elsewhere may hold ids up to the value's bound (1 MiB): kept whole, the 200,000
    // remembered ones could hold gigabytes on every node.
    const long = 'L'.repeat(100_000);
    const s = new AgreedState({ digest });
    const applied = [slot(0, text(long)), slot(1, text(long, 'retry')), slot(2, text(`${long}x`), text('\ud800'.repeat(300)), text('\udc00'.repeat(300)))].map((e) => s.apply(e).commands.map((c) => c.duplicateOf?.slot));
    expect(applied).toEqual([[undefined], [0n], [undefined, undefined, undefined]]);
    expect(s.session(long)).toMatchObject({ slot: 0n, index: 0, detail: { digest: digest(Buffer.from(long)) } });
    expect(s.snapshot().sessions.ids.map((id) => id.length <= SESSION_ID_CHARS_KEPT)).toEqual([true, true, true, true]);
    // A snapshot that holds the id as it is (written before ids were bounded) is taken by its key.
    const before = s.snapshot();
    const old = { ...before, sessions: { ...before.sessions, ids: [long, ...before.sessions.ids.slice(1)], details: [[long, { ballot, digest: 'd', contentType: 'text/plain' }] as const, ...before.sessions.details.slice(1)] } };
    const restored = new AgreedState({ digest }, old);
    expect(restored.apply(slot(3, text(long))).commands[0]?.duplicateOf).toEqual({ slot: 0n, index: 0, detail: { ballot, digest: 'd', contentType: 'text/plain' }, valueKey: sessionValueKey('text/plain', Buffer.from(long)) });
    expect(restored.snapshot().sessions.ids).toEqual(before.sessions.ids);
  });

  it('marks a copy as forgotten when its id was forgotten and taken again later in the same slot', () => {
    // One slot: x, a duplicate copy of x, three new ids that push x out (three are remembered),
    // then x again, which takes effect anew at index 5. The copy at index 1 was a duplicate.
    const s = new AgreedState({ digest, sessionIdsMax: 3 });
    const e = slot(0, text('x'), text('x'), text('y'), text('z'), text('w'), text('x'));
    const applied = s.apply(e).commands.map((c) => c.duplicateOf !== undefined);
    expect(applied).toEqual([false, true, false, false, false, false]);
    // Read back, neither earlier copy of x can be told apart any more: forgotten, never "took effect"
    // (and y, pushed out by x's return).
    expect(commandOutcomes(e, s).map((o) => [o.duplicate, o.forgotten])).toEqual([
      [false, true],
      [false, true],
      [false, true],
      [false, false],
      [false, false],
      [false, false],
    ]);
  });
});

describe('the agreed state (the Monster Harmonic registry)', () => {
  it('records proposals by number, builds the leaderboard, and keeps its history', () => {
    const s = new AgreedState({ digest });
    s.apply(slot(0, proposal('p1', 1, [row('alpha', '10'), row('beta', '5')])));
    s.apply(slot(1, text('opaque')));
    const applied = s.apply(slot(2, proposal('p2', 2, [row('beta', '7')])));
    expect(applied.commands[0]?.harmonic).toEqual({ kind: 'accepted', proposalNumber: 2n });
    expect(s.registry.leaderboard().map((r) => [r.framework, r.score, r.proposalNumber, r.slot])).toEqual([
      ['alpha', '10', 1n, 0n],
      ['beta', '7', 2n, 2n],
    ]);
    expect(s.registry.history(10).map((r) => `${r.framework}@${r.slot}`)).toEqual(['alpha@0', 'beta@0', 'beta@2']);
    const p1 = s.registry.proposal(1n);
    expect(p1).toMatchObject({ proposalNumber: 1n, slot: 0n, clientRequestId: 'p1' });
    // Who verified the claim: the certificate's acceptors of the claim's source.
    expect(p1 && 'claims' in p1 ? p1.claims[0]?.checkedBy : undefined).toEqual([0, 10]);
    expect(s.registry.proposals(0n, 10).map((p) => p.proposalNumber)).toEqual([1n, 2n]);
  });

  it('refuses a second proposal with a number already chosen, the same way on every node', () => {
    const s = new AgreedState({ digest });
    s.apply(slot(0, proposal('p1', 7, [row('alpha', '10')])));
    const second = s.apply(slot(1, proposal('p1-again-other-id', 7, [row('alpha', '99')])));
    expect(second.commands[0]?.harmonic).toEqual({ kind: 'refused', proposalNumber: 7n, reason: 'proposal 7 was already chosen in slot 0' });
    expect(s.registry.leaderboard()[0]?.score).toBe('10');
    expect(s.registry.refused).toBe(1);
    // Decided again later (a retry's answer): the same outcome for each.
    expect(s.registry.outcomeAt(1n, proposal('p1-again-other-id', 7, [row('alpha', '99')]))).toEqual(second.commands[0]?.harmonic);
    expect(s.registry.outcomeAt(0n, proposal('p1', 7, [row('alpha', '10')]))).toEqual({ kind: 'accepted', proposalNumber: 7n });
  });

  it('decides a retry again as its first answer when two proposals of one number share a slot (one batch)', () => {
    const s = new AgreedState({ digest });
    const first = proposal('q1', 8, [row('alpha', '10')]);
    const second = proposal('q2', 8, [row('alpha', '99')]);
    const applied = s.apply(slot(0, first, second));
    expect(applied.commands.map((c) => c.harmonic?.kind)).toEqual(['accepted', 'refused']);
    expect(s.registry.outcomeAt(0n, first)).toEqual(applied.commands[0]?.harmonic);
    expect(s.registry.outcomeAt(0n, second)).toEqual(applied.commands[1]?.harmonic);
  });

  it('a duplicate copy of a proposal (a retried id) is not applied twice', () => {
    const s = new AgreedState({ digest });
    s.apply(slot(0, proposal('p1', 1, [row('alpha', '10')])));
    const copy = s.apply(slot(1, proposal('p1', 1, [row('alpha', '10')])));
    expect(copy.commands[0]?.duplicateOf?.slot).toBe(0n);
    expect(copy.commands[0]?.harmonic).toBeUndefined();
    expect(s.registry.refused).toBe(0);
  });

  it('a proposal whose hash does not match is recorded as refused', () => {
    const s = new AgreedState({ digest });
    const wrongHash = { ...buildProposal({ proposalNumber: 3n, proposerId: 1, leaderboard: [row('alpha', '10')] }), leaderboardSha256: '0'.repeat(64) };
    const v = encodeProposalValue(wrongHash);
    const bad: Command = { clientRequestId: 'p', contentType: v.contentType, data: v.data };
    expect(s.apply(slot(0, bad)).commands[0]?.harmonic?.kind).toBe('refused');
    expect(s.registry.proposalCount).toBe(0);
  });

  it('refuses, from the bytes of the value, a proposal whose text is not UTF-8, holds an invisible character or gives a framework two rows, as the vote check does', () => {
    // "ff ff ff ff" where the framework's bytes were: a lenient decoder reads four U+FFFD, whose hash it carries.
    const lenient = proposal('u8', 1, [row('\uFFFD\uFFFD\uFFFD\uFFFD', '10')]);
    const data = Buffer.from(lenient.data);
    data.set([0xff, 0xff, 0xff, 0xff], data.indexOf(Buffer.from('\uFFFD\uFFFD\uFFFD\uFFFD')));
    const notUtf8: Command = { ...lenient, data };
    const invisible = proposal('zw', 2, [row('alpha\u200b', '10')]);
    const twice = proposal('dup', 3, [row('alpha', '10'), row('alpha', '11')]);
    const fine = proposal('ok', 4, [row('alpha', '12')]);
    const states = [new AgreedState({ digest }), new AgreedState({ digest })];
    for (const s of states) {
      const applied = s.apply(slot(0, notUtf8, invisible, twice, fine));
      expect(applied.commands.map((c) => c.harmonic)).toEqual([
        { kind: 'refused', reason: expect.stringMatching(/^not a valid proposal: leaderboard\[0\]\.framework is not valid UTF-8/) },
        { kind: 'refused', reason: expect.stringMatching(/^not a valid proposal: leaderboard\[0\]\.framework holds U\+200B/) },
        { kind: 'refused', reason: 'not a valid proposal: leaderboard[1].framework is "alpha", as is leaderboard[0]: give each framework one row' },
        { kind: 'accepted', proposalNumber: 4n },
      ]);
      expect(s.registry.snapshot().rows.map((r) => r.framework)).toEqual(['alpha']);
      expect(s.registry.refused).toBe(3);
    }
    expect(states[0]?.registry.snapshot()).toEqual(states[1]?.registry.snapshot());
    for (const c of [notUtf8, invisible, twice]) expect(voteProblem(c, 23)).toMatch(/^(u8|zw|dup): leaderboard/);
    expect(voteProblem(fine, 23)).toBeUndefined();
  });

  it('keeps full records of the newest proposals only, and the slot of every one', () => {
    const s = new AgreedState({ digest, registry: { proposalsMax: 2 } });
    for (let i = 1; i <= 3; i++) s.apply(slot(i - 1, proposal(`p${i}`, i, [row('alpha', String(i))])));
    expect(s.registry.proposal(1n)).toEqual({ forgotten: true, slot: 0n });
    // A page skips none: a forgotten proposal is listed by its number and slot.
    expect(s.registry.proposals(0n, 10).map((p) => ['forgotten' in p, p.proposalNumber, p.slot])).toEqual([
      [true, 1n, 0n],
      [false, 2n, 1n],
      [false, 3n, 2n],
    ]);
  });

  it('refuses a proposal that would take the leaderboard past its frameworks, the same way after a snapshot', () => {
    const s = new AgreedState({ digest, registry: { frameworksMax: 3 } });
    s.apply(slot(0, proposal('p1', 1, [row('alpha', '1'), row('beta', '1')])));
    // Rows of frameworks already there do not count (a name given twice is refused as a whole).
    const again = s.apply(slot(1, proposal('p2', 2, [row('alpha', '2'), row('gamma', '3')])));
    expect(again.commands[0]?.harmonic).toEqual({ kind: 'accepted', proposalNumber: 2n });
    const restored = new AgreedState({ digest, registry: { frameworksMax: 3 } }, s.snapshot());
    for (const state of [s, restored]) {
      const over = state.apply(slot(2, proposal('p3', 3, [row('alpha', '3'), row('delta', '3')])));
      expect(over.commands[0]?.harmonic).toEqual({ kind: 'refused', proposalNumber: 3n, reason: 'proposal 3 would add 1 frameworks to the 3 on the leaderboard, the limit is 3' });
      expect(state.registry.leaderboard().map((r) => [r.framework, r.score])).toEqual([['alpha', '2'], ['beta', '1'], ['gamma', '3']]);
      expect(state.registry.proposal(3n)).toBeUndefined();
    }
  });

  it('keeps the newest records whole within a bound in bytes, computed from each record alone', () => {
    const claim = (i: number) => ({ source: 0, label: '11.a2', field: 'anlist:1000', claimedValue: String(i).repeat(4000) });
    const apply = (s: AgreedState, from: number, to: number) => {
      for (let i = from; i <= to; i++) s.apply(slot(i - 1, proposal(`p${i}`, i, [row('alpha', String(i))], [claim(i)])));
    };
    const first = new AgreedState({ digest });
    apply(first, 1, 1);
    const one = recordBytes(first.registry.proposal(1n) as Parameters<typeof recordBytes>[0]);
    expect(one).toBeGreaterThan(4000);
    const opts = { digest, registry: { recordsBytesMax: 3 * one + 100 } };
    const s = new AgreedState(opts);
    apply(s, 1, 5);
    expect([1n, 2n, 3n, 4n, 5n].map((n) => 'forgotten' in (s.registry.proposal(n) ?? {}))).toEqual([true, true, false, false, false]);
    // A node that restored a snapshot at slot 3 forgets the same ones as one that applied all.
    const early = new AgreedState(opts);
    apply(early, 1, 3);
    const restored = new AgreedState(opts, early.snapshot());
    apply(restored, 4, 5);
    expect(restored.registry.proposals(0n, 10)).toEqual(s.registry.proposals(0n, 10));
    // One record above the bound is kept whole: the newest always is.
    const tiny = new AgreedState({ digest, registry: { recordsBytesMax: 10 } });
    apply(tiny, 1, 2);
    expect('forgotten' in (tiny.registry.proposal(2n) ?? {})).toBe(false);
    expect(tiny.registry.proposal(1n)).toEqual({ forgotten: true, slot: 0n });
  });

  it('lists proposals by number whatever order they took effect in, from any number, a page at a time', () => {
    const s = new AgreedState({ digest, registry: { proposalsMax: 3 } });
    [50, 7, 90, 7, 12, 3].forEach((n, i) => s.apply(slot(i, proposal(`p${i}`, n, [row('alpha', String(i))]))));
    const numbers = (from: bigint, max: number) => s.registry.proposals(from, max).map((p) => p.proposalNumber);
    expect(numbers(0n, 10)).toEqual([3n, 7n, 12n, 50n, 90n]);
    expect(numbers(8n, 2)).toEqual([12n, 50n]);
    expect(numbers(91n, 2)).toEqual([]);
    // The snapshot's registry lists the same.
    const again = new AgreedState({ digest, registry: { proposalsMax: 3 } }, s.snapshot());
    expect(again.registry.proposals(0n, 10).map((p) => p.proposalNumber)).toEqual([3n, 7n, 12n, 50n, 90n]);
  });

  it('restores a registry of more proposals than one call can take as arguments', () => {
    const slotOf = Array.from({ length: 200_000 }, (_, i) => [BigInt(i + 1), BigInt(i)] as const);
    const r = HarmonicRegistry.fromSnapshot({ slotOf, records: [], rows: [], changes: [], refusedCount: 0 });
    expect(r.proposal(200_000n)).toEqual({ forgotten: true, slot: 199_999n });
  });

  it('keeps the newest numbersMax proposal numbers, and refuses any number at or below the highest it forgot, the same way after a snapshot', () => {
    const opts = { digest, registry: { numbersMax: 3 } };
    const s = new AgreedState(opts);
    let at = 0;
    const submit = (state: AgreedState, n: number) => state.apply(slot(at++, proposal(`p${at}`, n, [row('alpha', String(n))]))).commands[0]?.harmonic;
    for (const n of [5, 9, 7]) expect(submit(s, n)).toEqual({ kind: 'accepted', proposalNumber: BigInt(n) });
    // Written while nothing was forgotten: the format builds before the bound read.
    expect(decodeStateSnapshotWithFormat(encodeStateSnapshot(s.snapshot())).format).toBe(3);
    // The oldest (5) goes, not the lowest: 7 and 9 stay, refused as chosen.
    expect(submit(s, 20)).toEqual({ kind: 'accepted', proposalNumber: 20n });
    expect(s.registry.forgottenAtOrBelow).toBe(5n);
    expect(s.registry.proposals(0n, 10).map((p) => p.proposalNumber)).toEqual([7n, 9n, 20n]);
    const bytes = encodeStateSnapshot(s.snapshot());
    expect(decodeStateSnapshotWithFormat(bytes).format).toBe(4);
    const restored = new AgreedState(opts, decodeStateSnapshotWithFormat(bytes).snapshot);
    for (const state of [s, restored]) {
      const start = at;
      // 5 took effect once, 3 never did: both are at or below the highest number forgotten.
      for (const n of [5, 3]) {
        expect(submit(state, n)).toEqual({
          kind: 'refused',
          proposalNumber: BigInt(n),
          reason: `proposal ${n} is at or below 5, the highest proposal number the registry no longer keeps (it keeps the newest 3): use a number above 5`,
        });
      }
      expect(submit(state, 9)).toMatchObject({ kind: 'refused', reason: 'proposal 9 was already chosen in slot 1' });
      expect(submit(state, 6)).toEqual({ kind: 'accepted', proposalNumber: 6n });
      // 9, the oldest kept, is forgotten now; the bound in numbers moves up to it.
      expect(state.registry.forgottenAtOrBelow).toBe(9n);
      expect(state.registry.proposals(0n, 10).map((p) => p.proposalNumber)).toEqual([6n, 7n, 20n]);
      if (state === s) at = start;
    }
    expect(restored.snapshot()).toEqual(s.snapshot());
  });

  it('forgets its oldest proposal and record without walking its maps from the front, however many it forgot before', () => {
    // A Map asked for its first key walks past every entry deleted at its front since it was last
    // rebuilt: once full, each proposal's eviction cost up to the bound (1,000,000 numbers).
    const opts = { digest, registry: { numbersMax: 300, proposalsMax: 100 } };
    const s = new AgreedState(opts);
    const maps = [(s.registry as unknown as { slotOf: Map<bigint, bigint> }).slotOf, (s.registry as unknown as { records: Map<bigint, unknown> }).records];
    const keys = jest.spyOn(Map.prototype, 'keys');
    const entries = jest.spyOn(Map.prototype, 'entries');
    try {
      for (let n = 0; n < 3000; n++) s.apply(slot(n, proposal(`p${n}`, n + 1, [row('alpha', String(n))])));
      const walked = [...keys.mock.contexts, ...entries.mock.contexts].filter((m) => maps.includes(m as Map<bigint, unknown>)).length;
      expect(walked).toBe(0);
    } finally {
      keys.mockRestore();
      entries.mockRestore();
    }
    expect(s.registry.forgottenAtOrBelow).toBe(2700n);
    expect(s.registry.proposals(0n, 1000).filter((p) => !('forgotten' in p)).map((p) => p.proposalNumber)).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(2901 + i)));
    // The orders hold what the maps hold, and a bounded number of keys already taken.
    expect(s.registry.orderLengths).toEqual({ numbers: 300, records: 100 });
    // The same state from its snapshot, forgetting the same way on.
    const again = new AgreedState(opts, s.snapshot());
    for (const state of [s, again]) state.apply(slot(3000, proposal('p3000', 3001, [row('alpha', '3000')])));
    expect(again.snapshot()).toEqual(s.snapshot());
    expect(again.registry.orderLengths).toEqual({ numbers: 300, records: 100 });
  });

  it('keeps its newest historyMax leaderboard changes without moving all of them on every proposal', () => {
    const historyMax = 500;
    const s = new AgreedState({ digest, registry: { historyMax } });
    // Counts the leaderboard rows that splice and slice move (a row has a framework and a slot).
    let moved = 0;
    const splice = Array.prototype.splice;
    const slice = Array.prototype.slice;
    const isRows = (a: unknown[]) => typeof a[0] === 'object' && a[0] !== null && 'framework' in a[0] && 'slot' in a[0];
    Array.prototype.splice = function (this: unknown[], ...args: unknown[]) {
      if (isRows(this)) moved += this.length;
      return (splice as (...a: unknown[]) => unknown[]).apply(this, args);
    } as typeof splice;
    Array.prototype.slice = function (this: unknown[], ...args: unknown[]) {
      if (isRows(this)) moved += this.length;
      return (slice as (...a: unknown[]) => unknown[]).apply(this, args);
    } as typeof slice;
    const proposals = 5000;
    try {
      for (let n = 0; n < proposals; n++) s.apply(slot(n, proposal(`p${n}`, n + 1, [row('alpha', String(n))])));
    } finally {
      Array.prototype.splice = splice;
      Array.prototype.slice = slice;
    }
    // Before: the whole history moved on each proposal once it was full (about 2,250,000 rows here).
    expect(moved).toBeLessThan(3 * proposals);
    const history = s.registry.history(historyMax + 10);
    expect(history.map((r) => r.score)).toEqual(Array.from({ length: historyMax }, (_, i) => String(proposals - historyMax + i)));
    expect(s.registry.history(3).map((r) => r.score)).toEqual(['4997', '4998', '4999']);
    expect(s.snapshot().registry.changes).toEqual(history);
    const again = new AgreedState({ digest, registry: { historyMax } }, s.snapshot());
    for (const state of [s, again]) state.apply(slot(proposals, proposal('last', proposals + 1, [row('beta', '7')])));
    expect(again.snapshot()).toEqual(s.snapshot());
    // A snapshot holding more changes than the bound (from a node that kept more) is cut to the
    // newest historyMax at once, as applying the log would have kept them.
    const narrow = new AgreedState({ digest, registry: { historyMax: 3 } }, s.snapshot());
    expect(narrow.snapshot().registry.changes.map((r) => r.score)).toEqual(['4998', '4999', '7']);
  });

  it('counts every proposal that took effect, those whose numbers it forgot included, the same after a snapshot', () => {
    const opts = { digest, registry: { numbersMax: 2 } };
    const s = new AgreedState(opts);
    let at = 0;
    for (const n of [5, 9, 7, 20]) s.apply(slot(at++, proposal(`p${n}`, n, [row('alpha', String(n))])));
    expect(s.registry.proposalCount).toBe(4);
    const restored = new AgreedState(opts, decodeStateSnapshotWithFormat(encodeStateSnapshot(s.snapshot())).snapshot);
    expect(restored.registry.proposalCount).toBe(4);
    for (const state of [s, restored]) state.apply(slot(at, proposal('p30', 30, [row('alpha', '30')])));
    expect(restored.registry.proposalCount).toBe(5);
    expect(restored.snapshot()).toEqual(s.snapshot());
  });
});
