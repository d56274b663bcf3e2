import { valueProblem } from './acceptor-validation';
import { DEFAULT_LIMITS } from './limits';
import { NOOP, slotValueBytes, slotValueKey, slotValuesEqual, type SlotValue } from './value';

const batch = (...ids: string[]): SlotValue => ({
  kind: 'batch',
  commands: ids.map((id) => ({ clientRequestId: id, contentType: 'ct', data: new Uint8Array([1, 2, 3]) })),
});

describe('slot values', () => {
  it('size counts data, ids and content types', () => {
    expect(slotValueBytes(NOOP)).toBe(0);
    expect(slotValueBytes(batch('ab', 'c'))).toBe(3 + 2 + 2 + 3 + 1 + 2);
  });

  it('have a canonical key that matches equality', () => {
    expect(slotValuesEqual(batch('a'), batch('a'))).toBe(true);
    expect(slotValuesEqual(batch('a'), batch('b'))).toBe(false);
    expect(slotValuesEqual(NOOP, { kind: 'noop' })).toBe(true);
    expect(slotValueKey(batch('a'))).toBe(slotValueKey(batch('a')));
    expect(slotValueKey(batch('a', 'b'))).not.toBe(slotValueKey(batch('b', 'a')));
    expect(slotValueKey(NOOP)).not.toBe(slotValueKey(batch('a')));
  });

  it('count a claim certificate as part of the value (two certificates, two values), not of its size', () => {
    const certified = (verifiedBy: number[] | undefined): SlotValue => ({ kind: 'batch', commands: [{ clientRequestId: 'a', contentType: 'ct', data: new Uint8Array([1]), ...(verifiedBy ? { verifiedBy } : {}) }] });
    expect(slotValuesEqual(certified([0, 10]), certified([0, 10]))).toBe(true);
    expect(slotValuesEqual(certified([0, 10]), certified([0, 20]))).toBe(false);
    expect(slotValuesEqual(certified(undefined), certified([]))).toBe(true);
    expect(slotValueKey(certified([0, 10]))).not.toBe(slotValueKey(certified([0, 20])));
    expect(slotValueKey(certified(undefined))).toBe(slotValueKey(certified([])));
    expect(slotValueBytes(certified([0, 10]))).toBe(slotValueBytes(certified(undefined)));
    // Its length is bounded instead.
    expect(valueProblem(certified([0, 10]), DEFAULT_LIMITS)).toBeUndefined();
    expect(valueProblem(certified(Array.from({ length: DEFAULT_LIMITS.verifiersMax + 1 }, (_, i) => i)), DEFAULT_LIMITS)).toMatch(/names 1025 verifying acceptors, the limit is 1024/);
  });
});
