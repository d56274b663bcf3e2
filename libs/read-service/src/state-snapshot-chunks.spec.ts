import { status } from '@grpc/grpc-js';
import { DEFAULT_LIMITS } from '@paxos/consensus-core';
import { STATE_SNAPSHOT_CHUNK_BYTES, StateSnapshotAssembler, stateSnapshotChunks } from './state-snapshot-chunks';

describe('state snapshot chunks', () => {
  const body = Buffer.from(Array.from({ length: 2 * STATE_SNAPSHOT_CHUNK_BYTES + 17 }, (_, i) => (i * 31) & 0xff));

  it('are put back together into the same bytes, an empty snapshot included', () => {
    for (const b of [body, Buffer.alloc(0)]) {
      const a = new StateSnapshotAssembler();
      const chunks = [...stateSnapshotChunks({ slot: 42n, body: b })];
      expect(chunks.length).toBe(Math.max(1, Math.ceil(b.length / STATE_SNAPSHOT_CHUNK_BYTES)));
      for (const c of chunks) a.add(c);
      const got = a.finish();
      expect(got.slot).toBe(42n);
      expect(got.body.equals(b)).toBe(true);
    }
  });

  it('refuse every malformed stream with INVALID_ARGUMENT', () => {
    const chunks = [...stateSnapshotChunks({ slot: 7n, body })];
    const [c0, c1, c2] = chunks as [(typeof chunks)[0], (typeof chunks)[0], (typeof chunks)[0]];
    const cases: Array<(a: StateSnapshotAssembler) => void> = [
      (a) => a.finish(), // nothing came
      (a) => a.add(undefined),
      (a) => {
        a.add(c0);
        a.add(c2); // a chunk skipped
      },
      (a) => {
        a.add(c0);
        a.add({ ...c1, slot: 8n }); // another snapshot's chunk
      },
      (a) => {
        a.add(c0);
        a.add(c1);
        a.finish(); // cut short
      },
      (a) => {
        a.add(c0);
        a.add(c1);
        a.add({ ...c2, data: Buffer.concat([c2.data, Buffer.alloc(1)]) }); // too long
      },
      (a) => {
        a.add(c0);
        a.add(c1);
        a.add({ ...c2, data: Buffer.from(c2.data).fill(1, 0, 1) });
        a.finish(); // CRC
      },
      (a) => a.add({ ...c0, totalBytes: 1n << 40n }), // above the bound
      (a) => {
        a.add(c0);
        a.add({ ...c1, data: Buffer.alloc(0) }); // empty chunks could come forever
      },
    ];
    for (const run of cases) {
      expect(() => run(new StateSnapshotAssembler())).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }));
    }
  });

  it('refuse a slot above the highest slot at its first chunk, naming it, whatever its CRC', () => {
    for (const slot of [(1n << 64n) - 1n, DEFAULT_LIMITS.slotMax + 1n]) {
      const a = new StateSnapshotAssembler();
      expect(() => a.add({ slot, totalBytes: 1n, crc32: 0, offset: 0n, data: Buffer.from('x') })).toThrow(
        expect.objectContaining({ code: status.INVALID_ARGUMENT, message: `a state snapshot at slot ${slot}, above the highest slot ${DEFAULT_LIMITS.slotMax}` }),
      );
    }
    const top = new StateSnapshotAssembler();
    for (const c of stateSnapshotChunks({ slot: DEFAULT_LIMITS.slotMax, body })) top.add(c);
    expect(top.finish().slot).toBe(DEFAULT_LIMITS.slotMax);
  });
});
