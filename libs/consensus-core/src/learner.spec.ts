import { Learner } from './learner';
import { ZERO_BALLOT } from './ballot';
import { NOOP, type SlotValue } from './value';

const v = (id: string): SlotValue => ({ kind: 'batch', commands: [{ clientRequestId: id, contentType: 't', data: new Uint8Array([1]) }] });
const e = (slot: bigint, value: SlotValue) => ({ slot, ballot: { round: 1n, proposerId: 1 }, value });

describe('the learner', () => {
  it('delivers in slot order from slot 0, with no gaps and no repeats', () => {
    const l = new Learner();
    expect(l.learn(e(1n, v('b')))).toEqual([]);
    expect(l.learn(e(2n, NOOP))).toEqual([]);
    expect(l.learn(e(0n, v('a'))).map((x) => x.slot)).toEqual([0n, 1n, 2n]);
    expect(l.learn(e(1n, v('b')))).toEqual([]);
    expect(l.nextSlot).toBe(3n);
  });

  it('asserts agreement: a slot is never learned with two values', () => {
    const l = new Learner();
    l.learn(e(0n, v('a')));
    expect(() => l.learn(e(0n, v('b')))).toThrow(/agreement/);
    l.learn(e(5n, v('x')));
    expect(() => l.learn({ slot: 5n, ballot: ZERO_BALLOT, value: NOOP })).toThrow(/agreement/);
  });

  it('names a contradiction without asserting, for values that come over the network', () => {
    const l = new Learner();
    l.learn(e(0n, v('a')));
    l.learn(e(5n, v('x')));
    expect(l.contradiction(e(0n, v('a')))).toBeUndefined();
    expect(l.contradiction(e(0n, v('b')))).toMatch(/slot 0 is already known chosen/);
    expect(l.contradiction(e(5n, NOOP))).toMatch(/slot 5/);
    expect(l.contradiction(e(9n, NOOP))).toBeUndefined();
  });

  it('bounds its buffer and can start from a later slot', () => {
    const l = new Learner({ fromSlot: 10n, bufferedSlotsMax: 4 });
    expect(l.learn(e(20n, NOOP))).toEqual([]);
    expect(l.learn(e(10n, NOOP)).length).toBe(1);
    expect(l.nextSlot).toBe(11n);
  });

  it('remembers a bounded window of delivered values for the agreement check', () => {
    const l = new Learner({ recentSlotsMax: 2 });
    for (let s = 0n; s < 4n; s++) l.learn(e(s, v(`c${s}`)));
    expect(() => l.learn(e(3n, v('other')))).toThrow(/agreement/);
    expect(l.learn(e(0n, v('other')))).toEqual([]); // out of the window: no longer checked
  });
});
