import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { KeptStateSnapshots } from '@paxos/acceptor-node';
import { readStateSnapshot, stateSnapshotFiles, stateSnapshotReadsToGive, writeStateSnapshot } from './state-snapshot-file';
import { tempDir } from './storage-test-helpers';

/** Opens files as fsp.open does, but each handle's writes take at most `maxBytes`, then fail with `failAfter` bytes taken (a disk filling up). */
function shortWrites(maxBytes: number, failAfter?: number) {
  const open = fsp.open.bind(fsp);
  return jest.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
    const fh = await open(...args);
    const write = fh.write.bind(fh) as (b: Buffer, o: number, l: number, p: number) => Promise<{ bytesWritten: number }>;
    let taken = 0;
    (fh as unknown as { write: unknown }).write = async (buf: Buffer, offset: number, length: number, position: number) => {
      if (failAfter !== undefined && taken >= failAfter) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const r = await write(buf, offset, Math.min(length, maxBytes), position);
      taken += r.bytesWritten;
      return r;
    };
    // writev, as the disk answers it: a short count and no error.
    (fh as unknown as { writev: unknown }).writev = async (bufs: Buffer[], position?: number) => {
      const all = Buffer.concat(bufs);
      return { bytesWritten: (await write(all, 0, Math.min(all.length, maxBytes), position ?? 0)).bytesWritten, buffers: bufs };
    };
    return fh as FileHandle;
  });
}

describe('state snapshot file', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('state-snapshot-')));
  afterEach(() => {
    jest.restoreAllMocks();
    cleanup();
  });

  it('writes every byte when the disk takes a write in parts', async () => {
    const body = Buffer.alloc(100_000, 7);
    const spy = shortWrites(4096);
    await writeStateSnapshot(dir, 42n, body);
    spy.mockRestore();
    const read = readStateSnapshot(dir);
    expect('missing' in read ? read.missing : read.slot).toBe(42n);
    expect('body' in read && read.body.equals(body)).toBe(true);
  });

  it('a write the disk cuts short fails, leaves the latest and previous snapshots as they were, and no temporary file', async () => {
    await writeStateSnapshot(dir, 10n, Buffer.alloc(5000, 1));
    await writeStateSnapshot(dir, 20n, Buffer.alloc(5000, 2));
    shortWrites(4096, 4096);
    await expect(writeStateSnapshot(dir, 30n, Buffer.alloc(50_000, 3))).rejects.toThrow(/ENOSPC/);
    jest.restoreAllMocks();
    const latest = readStateSnapshot(dir, 'latest');
    const previous = readStateSnapshot(dir, 'previous');
    expect('slot' in latest && latest.slot).toBe(20n);
    expect('slot' in previous && previous.slot).toBe(10n);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(path.join(dir, 'state.snapshot.tmp'))).toBe(false);
  });

  it('a write names the previous snapshot it kept, and replaces a damaged latest without moving it over a whole previous', async () => {
    expect(await writeStateSnapshot(dir, 10n, Buffer.from('ten'))).toEqual({ previousSlot: undefined });
    expect(await writeStateSnapshot(dir, 20n, Buffer.from('twenty'))).toEqual({ previousSlot: 10n });
    await fsp.writeFile(path.join(dir, 'state.snapshot'), 'damaged');
    // Had the damaged latest been renamed to the previous, a crash before the second rename would
    // have left no usable snapshot at all; the whole one at slot 10 stays the previous instead.
    expect(await writeStateSnapshot(dir, 30n, Buffer.from('thirty'))).toEqual({ previousSlot: 10n });
    const latest = readStateSnapshot(dir, 'latest');
    const previous = readStateSnapshot(dir, 'previous');
    expect('slot' in latest && latest.slot).toBe(30n);
    expect('slot' in previous && [previous.slot, previous.body.toString()]).toEqual([10n, 'ten']);
    // Both damaged: the new one is the only whole snapshot, and no previous is named.
    await fsp.writeFile(path.join(dir, 'state.snapshot'), 'damaged');
    await fsp.writeFile(path.join(dir, 'state.snapshot.prev'), 'damaged too');
    expect(await writeStateSnapshot(dir, 40n, Buffer.from('forty'))).toEqual({ previousSlot: undefined });
    expect(await writeStateSnapshot(dir, 50n, Buffer.from('fifty'))).toEqual({ previousSlot: 40n });
  });

  it('is read for transfers again only when a newer snapshot replaced it', async () => {
    const kept = new KeptStateSnapshots(stateSnapshotFiles(dir), stateSnapshotReadsToGive(dir));
    const read = () => kept.give();
    expect(read()).toEqual({ missing: 'none written yet' });
    await writeStateSnapshot(dir, 10n, Buffer.from('ten'));
    const first = read();
    expect('slot' in first && first.slot).toBe(10n);
    // The same file: the bytes already read and checked, not the file read again.
    expect(read()).toBe(first);
    await writeStateSnapshot(dir, 20n, Buffer.from('twenty'));
    const second = read();
    expect('slot' in second && [second.slot, second.body.toString()]).toEqual([20n, 'twenty']);
    // Damaged in place (same inode): its modification time or size changed, so it is read and
    // refused, and the previous snapshot is sent instead (the history continues from it too).
    await fsp.writeFile(path.join(dir, 'state.snapshot'), 'not a snapshot at all');
    expect(kept.slotToGive).toBe(20n); // not yet read: a report does not read the file
    const previous = read();
    expect('slot' in previous && [previous.slot, previous.body.toString()]).toEqual([10n, 'ten']);
    // What Learn and OUT_OF_RANGE name follows what was served.
    expect(kept.slotToGive).toBe(10n);
    await fsp.writeFile(path.join(dir, 'state.snapshot.prev'), 'nor this');
    expect(read()).toEqual({ missing: expect.stringMatching(/state\.snapshot is not a state snapshot; the previous one: .*state\.snapshot\.prev is not a state snapshot/) });
    expect(kept.slotToGive).toBeUndefined();
    // A good latest again: sent, and the previous one's bytes no longer held.
    await writeStateSnapshot(dir, 30n, Buffer.from('thirty'));
    const third = read();
    expect('slot' in third && third.slot).toBe(30n);
    expect(kept.slotToGive).toBe(30n);
  });
});
