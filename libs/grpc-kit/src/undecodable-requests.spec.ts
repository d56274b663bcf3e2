import { wireProblem } from './undecodable-requests';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('wireProblem: the top level of a request, read as the wire format is', () => {
  it('reads a length as the 64-bit varint it is, and refuses one past the bytes that follow', () => {
    // Field 1 declaring 2^32 + 3 bytes, then "xyz": its low 32 bits would read as 3.
    expect(wireProblem(bytes(0x0a, 0x83, 0x80, 0x80, 0x80, 0x10, 0x78, 0x79, 0x7a))).toBe('field 1: declares 4294967299 bytes, and 3 follow');
    // Field 2 declaring 2^62 bytes and none following: its low 32 bits would read as 0.
    expect(wireProblem(bytes(0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40))).toBe('field 2: declares 4611686018427387904 bytes, and 0 follow');
    // 2^64 - 1, and a length varint of 11 bytes.
    expect(wireProblem(bytes(0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))).toBe('field 2: declares 18446744073709551615 bytes, and 0 follow');
    expect(wireProblem(bytes(0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00))).toBe('field 2: a length varint over 10 bytes');
    expect(wireProblem(bytes(0x12, 0x80))).toBe('field 2: its length is cut short');
    expect(wireProblem(bytes(0x12, 0x04, 0x61))).toBe('field 2: declares 4 bytes, and 1 follow');
    // Inside a group too (field 3 starts it and ends it).
    expect(wireProblem(bytes(0x1b, 0x0a, 0x83, 0x80, 0x80, 0x80, 0x10, 0x78, 0x79, 0x7a, 0x1c))).toBe('field 1: declares 4294967299 bytes, and 4 follow');
  });

  it('takes well-formed messages, a length written in more bytes than it needs included', () => {
    expect(wireProblem(bytes())).toBeUndefined();
    expect(wireProblem(bytes(0x0a, 0x03, 0x78, 0x79, 0x7a, 0x10, 0x01))).toBeUndefined();
    expect(wireProblem(bytes(0x0a, 0x83, 0x80, 0x00, 0x78, 0x79, 0x7a))).toBeUndefined();
    expect(wireProblem(bytes(0x1b, 0x0a, 0x01, 0x61, 0x08, 0x05, 0x1c, 0x10, 0x02))).toBeUndefined();
    const big = new Uint8Array(3 + 300);
    big.set([0x0a, 0xac, 0x02]);
    expect(wireProblem(big)).toBeUndefined();
  });

  it('still names the other faults: field 0, a wire type above 5, an end group out of place, groups too deep', () => {
    expect(wireProblem(bytes(0x02, 0x00))).toMatch(/illegal tag: field no 0/);
    expect(wireProblem(bytes(0x0f))).toMatch(/illegal tag/);
    expect(wireProblem(bytes(0x1b, 0x24))).toBe('invalid end group tag');
    expect(wireProblem(bytes(0x1b))).toMatch(/premature EOF/);
    expect(wireProblem(Uint8Array.from({ length: 101 }, () => 0x1b))).toBe('maximum recursion depth reached');
  });
});
