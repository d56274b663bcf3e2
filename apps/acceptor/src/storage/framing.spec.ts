import { encodeChange } from './record-codec';
import { encodeFrame, HEADER_BYTES, markZeroSectors, scanFrames, ZEROS_FLAG } from './framing';

const ballot = { round: 3n, proposerId: 1 };
const vote = (data: Uint8Array, slot = 9n) => ({ promised: ballot, accepted: { slot, ballot, value: { kind: 'batch' as const, commands: [{ clientRequestId: 'z', contentType: 't', data }] } } });

/** A log of one record written where the writer puts it (right after the header). */
function logOf(data: Uint8Array): Buffer {
  return logOfAll([data]);
}

/** A log of one record per value, each flagged as the writer flags it where it lands. */
function logOfAll(values: Uint8Array[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(HEADER_BYTES, 1)];
  let at = HEADER_BYTES;
  values.forEach((data, i) => {
    const frame = encodeFrame(encodeChange(vote(data, BigInt(i))));
    markZeroSectors(frame, at);
    parts.push(frame);
    at += frame.length;
  });
  return Buffer.concat(parts);
}

/** Every payload bit of the last record flipped in turn: how many of them recovery cut away as a torn tail. */
function cutAsTorn(file: Buffer): number[] {
  const cut: number[] = [];
  for (let byte = HEADER_BYTES + 8; byte < file.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      const damaged = Buffer.from(file);
      damaged[byte] ^= 1 << bit;
      try {
        if (scanFrames(damaged, HEADER_BYTES, 'f', true).torn !== undefined) cut.push(byte);
      } catch {
        // refused: the acknowledged record is damage, as it should be
      }
    }
  }
  return cut;
}

describe('ZEROS_FLAG: one flipped bit in a record holding zeros is refused, never cut as a torn tail', () => {
  // Where the record's bytes lie: the payload starts at HEADER_BYTES + 8, its end at file.length.
  const sized = (total: number) => new Uint8Array(total).fill(7);

  it('trailing zeros that cross a sector boundary without starting on one', () => {
    for (const zeros of [70, 95, 300, 511]) {
      const data = sized(1500).fill(0, 1500 - zeros);
      const file = logOf(data);
      const start = file.length - zeros;
      expect(start % 512 === 0 || Math.ceil(start / 512) * 512 < file.length).toBe(true);
      expect({ zeros, cut: cutAsTorn(file) }).toEqual({ zeros, cut: [] });
    }
  });

  it('a sector of zeros but for one byte of one set bit, and trailing zeros reached through such a byte', () => {
    const payloadAt = HEADER_BYTES + 8;
    // Find where the value's bytes sit in the frame from a first encoding, then place the patterns in file offsets.
    const probe = logOf(sized(2000));
    const valueAt = probe.length - 2000;
    const inSector = sized(2000);
    const s = 1024 - valueAt; // file sector [1024, 1536) inside the value
    inSector.fill(0, s, s + 512);
    inSector[s + 100] = 0x10;
    const ending = sized(2000);
    const b = 1536 - valueAt; // file offset 1536 holds 0x02, zeros after it to the end
    ending.fill(0, b);
    ending[b] = 0x02;
    for (const data of [inSector, ending]) {
      const file = logOf(data);
      expect(file.length - payloadAt).toBeGreaterThan(0);
      expect(cutAsTorn(file)).toEqual([]);
    }
  });

  it('any bit of its length field flipped, last or followed by other records', () => {
    const zeros = new Uint8Array(3000).fill(7).fill(0, 1000, 2200);
    const small = (b: number) => new Uint8Array(40).fill(b);
    for (const values of [[zeros], [zeros, small(9)], [small(3), zeros, small(9)]]) {
      const file = logOfAll(values);
      const at = values.length === 3 ? HEADER_BYTES + 8 + encodeChange(vote(small(3), 0n)).length : HEADER_BYTES;
      expect(file.readUInt32LE(at) & ZEROS_FLAG).not.toBe(0);
      const cut: number[] = [];
      for (let bit = 0; bit < 31; bit++) {
        const damaged = Buffer.from(file);
        damaged.writeUInt32LE((damaged.readUInt32LE(at) ^ (1 << bit)) >>> 0, at);
        try {
          if (scanFrames(damaged, HEADER_BYTES, 'f', true).torn !== undefined) cut.push(bit);
        } catch {
          // refused: the acknowledged record is damage
        }
      }
      expect({ records: values.length, cut }).toEqual({ records: values.length, cut: [] });
    }
  });

  it('a record whose first bytes lie in a sector never written again (a power loss) is a torn tail, not damage', () => {
    // The second record's header starts k bytes before a sector boundary; that sector (holding the
    // end of the first record, synced earlier) kept its old contents, zeros past the first record,
    // while the later sectors of the same unsynced write reached the disk.
    const second = new Uint8Array(40).fill(9);
    for (const k of [1, 2, 3, 4]) {
      for (const after of [[], [new Uint8Array(40).fill(5)]]) {
        // Size the first record so that the second's frame starts at 512 - k.
        const firstFrame = (n: number) => 8 + encodeChange(vote(new Uint8Array(n).fill(3), 0n)).length;
        let n = 0;
        while (HEADER_BYTES + firstFrame(n) !== 512 - k) n++;
        const file = logOfAll([new Uint8Array(n).fill(3), second, ...after]);
        const at = 512 - k;
        const lost = Buffer.from(file);
        lost.fill(0, at, 512);
        const r = scanFrames(lost, HEADER_BYTES, 'f', true);
        expect({ k, after: after.length, frames: r.frames.length, goodEnd: r.goodEnd, reason: r.torn?.reason }).toEqual({
          k,
          after: after.length,
          frames: 1,
          goodEnd: at,
          reason: expect.stringMatching(/up to the sector boundary at byte offset 512, read as zeros \(never written\)/),
        });
      }
    }
  });

  it('a record whose length has zero low bytes just before a sector boundary is still refused when its payload is damaged', () => {
    // Lengths of 256 and 512 bytes have a zero first byte (little-endian): at 1 byte before a
    // boundary that byte reads as a sector's zeros, but the record was written whole.
    for (const target of [256, 512]) {
      let m = 0;
      while (encodeChange(vote(new Uint8Array(m).fill(9), 1n)).length !== target) m++;
      const firstFrame = (n: number) => 8 + encodeChange(vote(new Uint8Array(n).fill(3), 0n)).length;
      let n = 0;
      while (HEADER_BYTES + firstFrame(n) !== 511) n++;
      const file = logOfAll([new Uint8Array(n).fill(3), new Uint8Array(m).fill(9)]);
      expect(file[511]).toBe(0);
      const damaged = Buffer.from(file);
      damaged[file.length - 5] ^= 0x04;
      expect(() => scanFrames(damaged, HEADER_BYTES, 'f', true)).toThrow(/CRC mismatch in the last record, which is complete/);
    }
  });

  it('a record cut short by a crash is still a torn tail', () => {
    const file = logOf(sized(1500).fill(0, 1000));
    const r = scanFrames(file.subarray(0, file.length - 300), HEADER_BYTES, 'f', true);
    expect(r.frames).toHaveLength(0);
    expect(r.torn?.reason).toMatch(/cut short/);
  });
});
