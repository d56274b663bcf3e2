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
});
