import { sessionValueKey } from './value-key';

describe('the value key of a command', () => {
  it('is a whole number below 2^48, the same for the same content type and bytes', () => {
    for (const size of [0, 1, 200, 1024, 1025, 100_000]) {
      const data = Buffer.alloc(size, 7);
      const key = sessionValueKey('text/plain', data);
      expect(Number.isSafeInteger(key) && key >= 0 && key < 2 ** 48).toBe(true);
      expect(sessionValueKey('text/plain', Buffer.from(data))).toBe(key);
    }
  });

  it('tells other bytes, another content type and a moved boundary between them apart, on both sides of 1 KiB', () => {
    for (const size of [200, 4096]) {
      const data = Buffer.alloc(size, 97);
      const key = sessionValueKey('text/plain', data);
      const other = Buffer.from(data);
      other[size - 1] = 98;
      expect(sessionValueKey('text/plain', other)).not.toBe(key);
      expect(sessionValueKey('application/json', data)).not.toBe(key);
    }
    expect(sessionValueKey('a', Buffer.from('bc'))).not.toBe(sessionValueKey('ab', Buffer.from('c')));
  });

  it('keeps the keys snapshots already hold: the function is part of the snapshot format', () => {
    // Every node and every later build must compute the same key for a value, or a proposer restored
    // from a snapshot would refuse a retry of the same value as another one.
    expect(sessionValueKey('text/plain', Buffer.from('first'))).toBe(PINNED_SHORT);
    expect(sessionValueKey('application/octet-stream', Buffer.alloc(2000, 1))).toBe(PINNED_LONG);
  });
});

const PINNED_SHORT = 276930511924705;
const PINNED_LONG = 144319841071717;
