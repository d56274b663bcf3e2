import { AcceptorCore } from './acceptor';
import type { Ballot } from './ballot';
import { DEFAULT_LIMITS } from './limits';
import { NOOP, type SlotValue } from './value';

const b = (round: bigint, proposerId = 1): Ballot => ({ round, proposerId });
const v = (id: string): SlotValue => ({ kind: 'batch', commands: [{ clientRequestId: id, contentType: 't', data: new Uint8Array([7]) }] });

describe('the acceptor (DESIGN section 4)', () => {
  it('an acceptor promises a prepare whose ballot is above its promise, and makes it durable first', () => {
    const a = new AcceptorCore({});
    const step = a.handle({ type: 'prepare', ballot: b(1n), fromSlot: 0n });
    expect(step.reply).toEqual({ type: 'promise', ballot: b(1n), accepted: [], truncated: false, committedIndex: 0n });
    expect(step.persist).toEqual({ promised: b(1n) });
    expect(a.promised).toEqual(b(1n));
  });

  it('an acceptor refuses a prepare whose ballot is not above its promise', () => {
    const a = new AcceptorCore({});
    a.handle({ type: 'prepare', ballot: b(2n, 2), fromSlot: 0n });
    expect(a.handle({ type: 'prepare', ballot: b(2n, 1), fromSlot: 0n })).toEqual({ reply: { type: 'reject', promised: b(2n, 2) }, persist: null });
    // a duplicate prepare with the same ballot: a reject carrying its own ballot
    expect(a.handle({ type: 'prepare', ballot: b(2n, 2), fromSlot: 0n }).reply).toEqual({ type: 'reject', promised: b(2n, 2) });
  });

  it('an acceptor accepts at a ballot equal to its promise and raises its promise', () => {
    const a = new AcceptorCore({});
    a.handle({ type: 'prepare', ballot: b(3n), fromSlot: 0n });
    const eq = a.handle({ type: 'accept', ballot: b(3n), slot: 0n, value: v('x') });
    expect(eq.reply).toEqual({ type: 'accepted', ballot: b(3n), slot: 0n });
    expect(eq.persist).toEqual({ accepted: { slot: 0n, ballot: b(3n), value: v('x') } });
    const up = a.handle({ type: 'accept', ballot: b(5n), slot: 1n, value: v('y') });
    expect(up.persist?.promised).toEqual(b(5n));
    expect(a.promised).toEqual(b(5n));
    expect(a.handle({ type: 'accept', ballot: b(4n), slot: 2n, value: v('z') }).reply).toEqual({ type: 'reject', promised: b(5n) });
    expect(a.lastAccepted()?.slot).toBe(1n);
  });

  it('a promise reports accepted values from from_slot on, in slot order, truncated at the bound', () => {
    const a = new AcceptorCore({ limits: { ...DEFAULT_LIMITS, entriesPerPromiseMax: 2 } });
    for (const s of [4n, 1n, 3n, 0n]) a.handle({ type: 'accept', ballot: b(1n), slot: s, value: v(`s${s}`) });
    const p = a.handle({ type: 'prepare', ballot: b(2n), fromSlot: 1n }).reply;
    expect(p.type === 'promise' && p.accepted.map((e) => e.slot)).toEqual([1n, 3n]);
    expect(p.type === 'promise' && p.truncated).toBe(true);
    const q = a.handle({ type: 'prepare', ballot: b(3n), fromSlot: 4n }).reply;
    expect(q.type === 'promise' && q.accepted.map((e) => e.slot)).toEqual([4n]);
    expect(q.type === 'promise' && q.truncated).toBe(false);
  });

  it('a commit records the chosen slot and advances the contiguous committed prefix', () => {
    const a = new AcceptorCore({});
    a.handle({ type: 'accept', ballot: b(1n), slot: 0n, value: v('a') });
    expect(a.handle({ type: 'commit', slot: 1n, ballot: b(1n), value: NOOP }).reply).toEqual({ type: 'committed', committedIndex: 0n });
    const c = a.handle({ type: 'commit', slot: 0n, ballot: b(1n) });
    expect(c.reply).toEqual({ type: 'committed', committedIndex: 2n });
    expect(c.persist?.chosen?.value).toEqual(v('a'));
    // without the value and without a matching vote, nothing is recorded
    expect(a.handle({ type: 'commit', slot: 2n, ballot: b(9n) }).persist).toBeNull();
    // a chosen slot above a gap is reported in promises like an accepted entry; slots below the
    // committed index are not (the promise's committedIndex says they are decided)
    a.handle({ type: 'commit', slot: 4n, ballot: b(1n), value: v('e') });
    const p = a.handle({ type: 'prepare', ballot: b(4n), fromSlot: 0n }).reply;
    expect(p.type === 'promise' && p.accepted.map((e) => e.slot)).toEqual([4n]);
    expect(p.type === 'promise' && p.committedIndex).toBe(2n);
  });

  it('invalid input changes nothing and persists nothing', () => {
    const a = new AcceptorCore({ limits: { ...DEFAULT_LIMITS, valueBytesMax: 8, slotMax: 100n } });
    const cases = [
      a.handle({ type: 'prepare', ballot: b(0n), fromSlot: 0n }),
      a.handle({ type: 'accept', ballot: b(0n), slot: 0n, value: NOOP }),
      a.handle({ type: 'accept', ballot: b(1n), slot: 101n, value: NOOP }),
      a.handle({ type: 'accept', ballot: b(1n), slot: -1n, value: NOOP }),
      a.handle({ type: 'accept', ballot: b(1n), slot: 0n, value: { kind: 'batch', commands: [] } }),
      a.handle({ type: 'accept', ballot: b(1n), slot: 0n, value: { kind: 'batch', commands: [{ clientRequestId: 'long-id', contentType: 'ct', data: new Uint8Array(4) }] } }),
      a.handle({ type: 'accept', ballot: b(1n << 64n), slot: 0n, value: NOOP }),
      a.handle({ type: 'prepare', ballot: b((1n << 62n) + 1n), fromSlot: 0n }),
      a.handle({ type: 'prepare', ballot: b((1n << 64n) - 1n, 16), fromSlot: 0n }),
    ];
    for (const step of cases) {
      expect(step.reply.type).toBe('invalid');
      expect(step.persist).toBeNull();
    }
    expect(a.snapshot()).toEqual({ promised: { round: 0n, proposerId: 0 }, accepted: [], chosen: [], committedIndex: 0n });
  });

  it('no message moves it towards an absurd slot, two values at one ballot, or a value against a higher vote', () => {
    const a = new AcceptorCore({ limits: { ...DEFAULT_LIMITS, slotsAheadMax: 100n, chosenAheadBytesMax: 12 } });
    // An accept far above the committed index is refused, and not reported by a promise.
    expect(a.handle({ type: 'accept', ballot: b(1n), slot: 100n, value: v('far') }).reply.type).toBe('refused');
    expect(a.handle({ type: 'accept', ballot: b(1n), slot: 99n, value: v('near') }).reply.type).toBe('accepted');
    // Another value for the same slot under the same ballot is not from an honest proposer.
    const twice = a.handle({ type: 'accept', ballot: b(1n), slot: 99n, value: v('other') });
    expect([twice.reply.type, twice.persist]).toEqual(['invalid', null]);
    expect(a.acceptedAt(99n)?.value).toEqual(v('near'));
    // A commit under a lower ballot whose value contradicts the vote under a higher one.
    a.handle({ type: 'accept', ballot: b(2n), slot: 5n, value: v('voted') });
    expect(a.handle({ type: 'commit', slot: 5n, ballot: b(1n), value: v('forged') }).reply.type).toBe('invalid');
    expect(a.chosenAt(5n)).toBeUndefined();
    // Notices with values above the committed index are kept only up to the bytes bound.
    const kept = [10n, 11n, 12n, 13n, 14n, 15n].filter((slot) => {
      a.handle({ type: 'commit', slot, ballot: b(2n), value: v(`n${slot}`) });
      return a.chosenAt(slot) !== undefined;
    });
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(6);
    // A notice far ahead is ignored.
    a.handle({ type: 'commit', slot: 100n, ballot: b(2n), value: v('far') });
    expect(a.chosenAt(100n)).toBeUndefined();
  });

  it('the acceptor\'s own check refuses a value with its reason and persists nothing', () => {
    const a = new AcceptorCore({ validate: (x) => (x.kind === 'batch' ? 'claim does not check out' : undefined) });
    expect(a.handle({ type: 'accept', ballot: b(1n), slot: 0n, value: v('bad') })).toEqual({ reply: { type: 'refused', reason: 'claim does not check out', refusal: 'value-check' }, persist: null });
    expect(a.handle({ type: 'accept', ballot: b(1n), slot: 0n, value: NOOP }).reply.type).toBe('accepted');
  });

  it('a restart from durable changes (apply) or a snapshot restores the same state, idempotently', () => {
    const a = new AcceptorCore({});
    const changes = [
      a.handle({ type: 'prepare', ballot: b(2n), fromSlot: 0n }).persist,
      a.handle({ type: 'accept', ballot: b(2n), slot: 0n, value: v('a') }).persist,
      a.handle({ type: 'accept', ballot: b(3n), slot: 1n, value: NOOP }).persist,
      a.handle({ type: 'commit', slot: 0n, ballot: b(2n) }).persist,
    ];
    const replayed = new AcceptorCore({});
    for (const c of [...changes, ...changes]) if (c !== null) replayed.apply(c);
    expect(replayed.snapshot()).toEqual(a.snapshot());
    const restored = new AcceptorCore({ restored: a.snapshot() });
    expect(restored.snapshot()).toEqual(a.snapshot());
    expect(restored.committedIndex).toBe(1n);
    expect(restored.oldestKeptSlot).toBe(0n);
    restored.foldChosenBelow(5n);
    expect(restored.committedIndex).toBe(1n);
    expect(restored.oldestKeptSlot).toBe(1n);
    expect(restored.snapshot().accepted.map((e) => e.slot)).toEqual([1n]);
    expect(restored.chosenFrom(0n, 10)).toEqual([]);
    expect(new AcceptorCore({ restored: restored.snapshot() }).oldestKeptSlot).toBe(1n);
  });

  it('a replayed vote of a lower ballot never replaces the higher vote it held for the slot', () => {
    const a = new AcceptorCore({});
    a.apply({ accepted: { slot: 0n, ballot: b(3n), value: v('high') } });
    a.apply({ accepted: { slot: 0n, ballot: b(2n), value: v('low') } });
    expect(a.acceptedAt(0n)).toEqual({ slot: 0n, ballot: b(3n), value: v('high') });
    expect(a.promised).toEqual(b(3n));
  });

  it('a promise reports, for a slot above its committed index, the value chosen under a higher ballot than its own vote there', () => {
    // It voted for a at 2 in slot 1; slot 1 was chosen with b at 5 (a commit notice with the
    // value, slot 0 still unknown). The promise names the chosen value and its ballot.
    const a = new AcceptorCore({});
    a.handle({ type: 'accept', ballot: b(2n), slot: 1n, value: v('a') });
    a.handle({ type: 'commit', slot: 1n, ballot: b(5n), value: v('b') });
    expect(a.committedIndex).toBe(0n);
    const p = a.handle({ type: 'prepare', ballot: b(6n), fromSlot: 0n }).reply;
    expect(p.type === 'promise' && p.accepted).toEqual([{ slot: 1n, ballot: b(5n), value: v('b') }]);
  });

  it('folds accepted entries below the committed index but keeps the highest for Status', () => {
    const a = new AcceptorCore();
    const ballot = { round: 1n, proposerId: 1 };
    a.handle({ type: 'prepare', ballot, fromSlot: 0n });
    for (const slot of [0n, 1n, 2n]) a.handle({ type: 'accept', ballot, slot, value: NOOP });
    a.handle({ type: 'commit', slot: 0n, ballot });
    a.handle({ type: 'commit', slot: 1n, ballot });
    a.foldAcceptedBelowCommitted();
    expect(a.snapshot().accepted.map((e) => e.slot)).toEqual([2n]);
    expect(a.chosenFrom(0n, 5).map((c) => c.slot)).toEqual([0n, 1n]);
    a.handle({ type: 'commit', slot: 2n, ballot });
    a.foldAcceptedBelowCommitted();
    expect(a.lastAccepted()?.slot).toBe(2n);
  });

  it('moves its committed index past slots whose values are folded everywhere (learnChosenBelow), and only forward', () => {
    // A restarted acceptor: accepted values on disk, the chosen slots it learned in memory lost.
    const a = new AcceptorCore();
    const ballot = b(1n);
    a.handle({ type: 'prepare', ballot, fromSlot: 0n });
    for (const slot of [1n, 3n, 5n, 6n]) a.handle({ type: 'accept', ballot, slot, value: v(`s${slot}`) });
    // Catch-up hands it the values of slots 4 and 6 (the proposer keeps 4.. only): a gap at 0 stays.
    a.handle({ type: 'commit', slot: 4n, ballot, value: v('s4') });
    a.handle({ type: 'commit', slot: 6n, ballot });
    expect(a.committedIndex).toBe(0n);

    expect(a.learnChosenBelow(4n)).toBe(true);
    expect(a.committedIndex).toBe(5n); // 4 was held chosen; 5 is accepted only, not known chosen
    expect(a.oldestKeptSlot).toBe(4n);
    expect(a.chosenFrom(0n, 10)).toEqual([]);
    expect(a.chosenFrom(4n, 10).map((c) => c.slot)).toEqual([4n]);
    expect(a.snapshot().accepted.map((e) => e.slot)).toEqual([5n, 6n]);
    // A promise reports nothing below the committed index.
    const promise = a.handle({ type: 'prepare', ballot: b(2n), fromSlot: 0n }).reply;
    expect(promise).toMatchObject({ type: 'promise', committedIndex: 5n });
    expect(promise.type === 'promise' && promise.accepted.map((e) => e.slot)).toEqual([5n, 6n]);

    expect(a.learnChosenBelow(3n)).toBe(false);
    expect(a.committedIndex).toBe(5n);
    a.handle({ type: 'commit', slot: 5n, ballot });
    expect(a.committedIndex).toBe(7n);
    const restored = new AcceptorCore({ restored: a.snapshot() });
    expect([restored.committedIndex, restored.oldestKeptSlot]).toEqual([7n, 4n]);
  });

  it('a rejoining acceptor neither promises nor votes until it has learned the chosen log past its floor, and never goes below the floor promise', () => {
    const a = new AcceptorCore({ rejoin: { promised: b(5n, 2), catchUpTo: 2n } });
    expect(a.rejoining).toBe(true);
    expect(a.promised).toEqual(b(5n, 2));
    // Below the floor promise: an ordinary reject (the proposer moves above it).
    expect(a.handle({ type: 'accept', ballot: b(5n, 1), slot: 3n, value: v('old') }).reply).toEqual({ type: 'reject', promised: b(5n, 2) });
    // Above it: no promise (a reject naming the lower promise, which a proposer ignores), no vote, nothing persisted.
    expect(a.handle({ type: 'prepare', ballot: b(6n), fromSlot: 0n })).toEqual({ reply: { type: 'reject', promised: b(5n, 2) }, persist: null });
    const refused = a.handle({ type: 'accept', ballot: b(6n), slot: 3n, value: v('x') });
    expect(refused.reply).toMatchObject({ type: 'refused', refusal: 'rejoining' });
    expect(refused.persist).toBeNull();
    expect(a.promised).toEqual(b(5n, 2));
    // It learns chosen values from commit notices; past the floor it is an acceptor again.
    a.handle({ type: 'commit', slot: 0n, ballot: b(4n), value: v('s0') });
    expect(a.rejoining).toBe(true);
    a.handle({ type: 'commit', slot: 1n, ballot: b(4n), value: v('s1') });
    expect([a.rejoining, a.committedIndex]).toEqual([false, 2n]);
    expect(a.handle({ type: 'prepare', ballot: b(6n), fromSlot: 0n }).reply).toMatchObject({ type: 'promise', committedIndex: 2n });
    expect(a.handle({ type: 'accept', ballot: b(6n), slot: 3n, value: v('x') }).reply).toEqual({ type: 'accepted', ballot: b(6n), slot: 3n });
    // Restarted on its durable state with the same floor, it stays an acceptor.
    const restarted = new AcceptorCore({ rejoin: { promised: b(5n, 2), catchUpTo: 2n }, restored: a.snapshot() });
    expect([restarted.rejoining, restarted.promised]).toEqual([false, b(6n)]);
  });
});
