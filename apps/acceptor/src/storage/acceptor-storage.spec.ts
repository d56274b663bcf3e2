import { promises as fsp, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AcceptorStorage } from './acceptor-storage';
import { segmentName } from './data-dir';
import { StorageCorruptionError, StorageUnavailableError } from './errors';
import { HEADER_BYTES, ZEROS_FLAG } from './framing';
import { crc32 } from 'node:zlib';
import { change, snapshotOf, tempDir } from './storage-test-helpers';

describe('AcceptorStorage', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const open = (extra: Partial<Parameters<typeof AcceptorStorage.open>[0]> = {}) => AcceptorStorage.open({ dataDir: dir, nodeId: 5, ...extra });
  const logFile = (gen = 1n) => path.join(dir, segmentName(gen));
  /** Opens, takes the recovered state, closes. */
  async function reopened() {
    const { storage, recovered } = await open();
    await storage.close();
    return recovered;
  }

  async function writeChanges(n: number): Promise<void> {
    const { storage } = await open();
    for (let i = 0; i < n; i++) await storage.append(change(i));
    await storage.close();
  }

  it('recovers exactly the appended changes after close and reopen', async () => {
    const first = await open();
    expect(first.recovered).toEqual({ snapshot: null, changes: [], warnings: [] });
    const changes = Array.from({ length: 40 }, (_, i) => change(i));
    for (const c of changes) await first.storage.append(c);
    expect(first.storage.stats()).toMatchObject({ records: 40, fsyncs: 40, snapshotSlot: 0n, dataDir: dir });
    await first.storage.close();

    const second = await open();
    expect(second.recovered.changes).toEqual(changes);
    expect(second.recovered.warnings).toEqual([]);
    expect(second.storage.stats().logBytes).toBe(statSync(logFile()).size);
    await second.storage.append(change(40));
    await second.storage.close();
    expect((await reopened()).changes).toEqual([...changes, change(40)]);
  });

  it('shares fdatasyncs between concurrent appends (group commit)', async () => {
    const { storage } = await open();
    const n = 1000;
    await Promise.all(Array.from({ length: n }, (_, i) => storage.append(change(i))));
    const { fsyncs, records } = storage.stats();
    expect(records).toBe(n);
    expect(fsyncs).toBeLessThan(n / 10);
    await storage.close();
    const again = await open();
    expect(again.recovered.changes).toHaveLength(n);
    await again.storage.close();
  });

  it('truncates a torn tail with a warning and keeps the records before it', async () => {
    await writeChanges(10);
    const size = statSync(logFile()).size;
    const goodSizes: number[] = [];
    {
      // Find the record boundaries by reopening logs of 9 records.
      const { dir: d2, cleanup: c2 } = tempDir();
      const s = (await AcceptorStorage.open({ dataDir: d2, nodeId: 5 })).storage;
      for (let i = 0; i < 9; i++) await s.append(change(i));
      goodSizes.push(s.stats().logBytes);
      await s.close();
      c2();
    }
    await fsp.truncate(logFile(), size - 3);
    const { storage, recovered } = await open();
    expect(recovered.changes).toEqual(Array.from({ length: 9 }, (_, i) => change(i)));
    expect(recovered.warnings).toHaveLength(1);
    expect(recovered.warnings[0]).toMatch(/torn tail at byte offset \d+/);
    expect(statSync(logFile()).size).toBe(goodSizes[0]);
    await storage.append(change(99));
    await storage.close();
    expect((await reopened()).changes).toHaveLength(10);
  });

  it('refuses to start when any bit of the last, acknowledged record is flipped: it is not a torn tail', async () => {
    // Like an acceptor that answered a Prepare of round 7 and was killed: its promise is the last record.
    {
      const { storage } = await open();
      for (let i = 0; i < 3; i++) await storage.append(change(i));
      await storage.append({ promised: { round: 7n, proposerId: 1 } });
      await storage.close();
    }
    const good = await fsp.readFile(logFile());
    let last = HEADER_BYTES;
    for (let i = 0; i < 3; i++) last += 8 + good.readUInt32LE(last);
    expect(last + 8 + good.readUInt32LE(last)).toBe(good.length);
    let refused = 0;
    for (let byte = last; byte < good.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(good);
        damaged[byte] ^= 1 << bit;
        await fsp.writeFile(logFile(), damaged);
        if (byte === last + 3 && bit === 7) {
          // The length's top bit is ZEROS_FLAG, outside the CRC: flipped, the record reads whole
          // (and damage to it would be refused the stricter way).
          const r = await reopened();
          expect(r.changes.at(-1)).toEqual({ promised: { round: 7n, proposerId: 1 } });
          continue;
        }
        const err = await open().then(
          async ({ storage }) => {
            await storage.close();
            return undefined;
          },
          (e: unknown) => e,
        );
        if (!(err instanceof StorageCorruptionError)) throw new Error(`bit ${bit} of byte ${byte} was not refused (the promise would be lost)`);
        expect(err).toMatchObject({ file: logFile(), offset: last });
        refused += 1;
      }
    }
    expect(refused).toBe((good.length - last) * 8 - 1);
    // The file is left alone for the operator.
    expect(statSync(logFile()).size).toBe(good.length);
  });

  it('refuses a damaged last record whose own value holds sector-aligned zeros (a client can send them), instead of cutting it as a torn tail', async () => {
    const ballot = { round: 3n, proposerId: 1 };
    const withZeros = (data: Uint8Array) => ({ promised: ballot, accepted: { slot: 9n, ballot, value: { kind: 'batch' as const, commands: [{ clientRequestId: 'z', contentType: 't', data }] } } });
    // Zeros in the middle (a whole sector of them wherever the record lands), then zeros at the end.
    const middle = new Uint8Array(2048 + 64).fill(7).fill(0, 32, 32 + 2048);
    const trailing = new Uint8Array(3000).fill(7).fill(0, 1000);
    for (const data of [middle, trailing]) {
      rmSync(dir, { recursive: true, force: true });
      {
        const { storage } = await open();
        for (let i = 0; i < 3; i++) await storage.append(change(i));
        await storage.append(withZeros(data));
        await storage.close();
      }
      const good = await fsp.readFile(logFile());
      let last = HEADER_BYTES;
      for (let i = 0; i < 3; i++) last += 8 + good.readUInt32LE(last);
      // Damage to a non-zero byte of the acknowledged record: refused, naming the record.
      for (const byte of [last + 20, good.length - 1, good.length - 1200]) {
        if (good[byte] === 0) continue;
        const damaged = Buffer.from(good);
        damaged[byte] ^= 0x10;
        await fsp.writeFile(logFile(), damaged);
        const err = await open().then(
          async ({ storage }) => {
            await storage.close();
            return undefined;
          },
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StorageCorruptionError);
        expect(err).toMatchObject({ file: logFile(), offset: last });
      }
      // The record cut short by a crash (a short write) is still a torn tail.
      await fsp.writeFile(logFile(), good.subarray(0, good.length - 700));
      const r = await reopened();
      expect(r.changes).toHaveLength(3);
      expect(r.warnings[0]).toMatch(/cut short/);
    }
  });

  it('reads a version-1 log as it was, flags nothing in it, and writes version 2 from its next segment on (an older build refuses those)', async () => {
    {
      const { storage } = await open();
      await storage.append(change(0));
      await storage.close();
    }
    // The segment as a build of version 1 wrote it.
    const v1 = await fsp.readFile(logFile());
    expect(v1.readUInt32LE(8)).toBe(2);
    v1.writeUInt32LE(1, 8);
    v1.writeUInt32LE(crc32(v1.subarray(0, 28)), 28);
    await fsp.writeFile(logFile(), v1);
    const zeros = { promised: { round: 3n, proposerId: 1 }, accepted: { slot: 9n, ballot: { round: 3n, proposerId: 1 }, value: { kind: 'batch' as const, commands: [{ clientRequestId: 'z', contentType: 't', data: new Uint8Array(2048) }] } } };
    const { storage, recovered } = await open();
    expect(recovered.changes).toHaveLength(1);
    await storage.append(zeros);
    const inV1 = await fsp.readFile(logFile());
    expect(inV1.readUInt32LE(v1.length) & ZEROS_FLAG).toBe(0);
    // After a checkpoint the log goes on in a version-2 segment, where such a frame is flagged.
    await storage.checkpoint(snapshotOf(1));
    await storage.append(zeros);
    await storage.close();
    const v2 = await fsp.readFile(logFile(2n));
    expect(v2.readUInt32LE(8)).toBe(2);
    expect(v2.readUInt32LE(HEADER_BYTES) & ZEROS_FLAG).not.toBe(0);
    expect((await reopened()).changes.at(-1)).toEqual(zeros);
  });

  it('repairs the zeroed tail a crash leaves: zeros after the last record, or over the end of a record being written', async () => {
    await writeChanges(5);
    const good = await fsp.readFile(logFile());
    // The file grew by a block whose data never reached the disk.
    await fsp.writeFile(logFile(), Buffer.concat([good, Buffer.alloc(4096)]));
    let r = await reopened();
    expect(r.changes).toHaveLength(5);
    expect(r.warnings[0]).toMatch(/torn tail .*ends in zeros/);
    // A record whose last sector never reached the disk: its end is zeros from a sector boundary.
    const big = (await open()).storage;
    const value = { kind: 'batch' as const, commands: [{ clientRequestId: 'big', contentType: 't', data: new Uint8Array(3000).fill(7) }] };
    await big.append({ accepted: { slot: 99n, ballot: { round: 1n, proposerId: 1 }, value } });
    await big.close();
    const withBig = await fsp.readFile(logFile());
    const sector = Math.ceil((withBig.length - 1000) / 512) * 512;
    withBig.fill(0, sector);
    await fsp.writeFile(logFile(), withBig);
    r = await reopened();
    expect(r.changes).toHaveLength(5);
    expect(r.warnings[0]).toMatch(/CRC mismatch; the file ends in zeros from sector offset/);
  });

  it('treats a partial frame header after the last record as a torn tail', async () => {
    await writeChanges(5);
    const size = statSync(logFile()).size;
    const fh = await fsp.open(logFile(), 'r+');
    await fh.write(Buffer.from([1, 2, 3]), 0, 3, size);
    await fh.close();
    const r = await reopened();
    expect(r.changes).toHaveLength(5);
    expect(r.warnings[0]).toMatch(/partial frame header/);
  });

  it('refuses to start when a record in the middle is corrupt, naming the file and offset', async () => {
    await writeChanges(10);
    const buf = await fsp.readFile(logFile());
    // Find the start of the fifth record by walking the frames.
    let offset = HEADER_BYTES;
    for (let i = 0; i < 4; i++) offset += 8 + buf.readUInt32LE(offset);
    for (const at of [offset + 12, offset + 5, offset + 1]) {
      const damaged = Buffer.from(buf);
      damaged[at] ^= 0x40; // payload byte, CRC byte, length byte
      await fsp.writeFile(logFile(), damaged);
      const err = await open().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageCorruptionError);
      expect(err).toMatchObject({ file: logFile(), offset });
      expect((err as Error).message).toContain(`${logFile()} at byte offset ${offset}`);
    }
    // The file is left alone for the operator.
    expect(statSync(logFile()).size).toBe(buf.length);
  });

  it('is unhealthy while its chosen history cannot be written, and healthy once the history repaired itself (space errors only)', async () => {
    const { storage } = await open();
    const history = storage.history as unknown as { failure: string | undefined; failureCode: string | undefined; scheduleRepair(): void };
    // As a write that failed for want of space leaves it: the history tries its repair a second later.
    history.failure = 'ENOSPC: no space left on device, write';
    history.failureCode = 'ENOSPC';
    history.scheduleRepair();
    expect(storage.healthy).toBe(false);
    expect(storage.lastError).toBe('the chosen history cannot be written: ENOSPC: no space left on device, write');
    await new Promise((r) => setTimeout(r, 1300));
    expect(storage.healthy).toBe(true);
    // After an I/O error it is not repaired in place: unhealthy until a restart.
    history.failure = 'EIO: i/o error, fdatasync';
    history.failureCode = 'EIO';
    history.scheduleRepair();
    await new Promise((r) => setTimeout(r, 1300));
    expect(storage.healthy).toBe(false);
    history.failure = undefined;
    await storage.close();
  });

  it('checkpoints: the log restarts small and reopening gives the same state', async () => {
    const { storage } = await open({ checkpointEveryRecords: 20 });
    for (let i = 0; i < 20; i++) await storage.append(change(i));
    expect(storage.checkpointDue).toBe(true);
    const bigLog = storage.stats().logBytes;
    // The node's byte bound on the live log reads this figure (a checkpoint is due on bytes too).
    expect(storage.liveLogBytes).toBe(bigLog);
    const snap = snapshotOf(20);
    await storage.checkpoint(snap);
    expect(storage.checkpointDue).toBe(false);
    expect(storage.liveLogBytes).toBe(HEADER_BYTES);
    expect(storage.stats()).toMatchObject({ records: 0, logBytes: HEADER_BYTES, snapshotSlot: 20n });
    expect(bigLog).toBeGreaterThan(HEADER_BYTES * 10);
    await storage.append(change(21));
    await storage.close();
    // history.join-pending: storage alone does not join the history to the recovered state (the acceptor's start does).
    expect(readdirSync(dir).sort()).toEqual(['history', 'history.join-pending', 'lock.sqlite', 'node.json', 'snapshot.bin', segmentName(2n)].sort());

    const again = await open();
    expect(again.recovered).toEqual({ snapshot: snap, changes: [change(21)], warnings: [] });
    expect(again.storage.stats().snapshotSlot).toBe(20n);
    await again.storage.checkpoint(snapshotOf(22));
    await again.storage.close();
    expect(await reopened()).toEqual({ snapshot: snapshotOf(22), changes: [], warnings: [] });
  });

  it('recovers from a crash between the snapshot rename and the deletion of the old log', async () => {
    const { storage } = await open({
      testHooks: {
        afterSnapshotRename: () => {
          throw new Error('simulated crash');
        },
      },
    });
    const before = Array.from({ length: 8 }, (_, i) => change(i));
    for (const c of before) await storage.append(c);
    await expect(storage.checkpoint(snapshotOf(8))).rejects.toThrow('simulated crash');
    await storage.append(change(8));
    await storage.close();
    expect(readdirSync(dir)).toContain(segmentName(1n)); // the old segment is still there

    const again = await open();
    expect(again.recovered).toEqual({ snapshot: snapshotOf(8), changes: [change(8)], warnings: [] });
    expect(readdirSync(dir)).not.toContain(segmentName(1n));
    await again.storage.close();
  });

  it('refuses a snapshot whose first segment is missing, and leaves the older segments where they were', async () => {
    const { storage } = await open({
      testHooks: {
        afterSnapshotRename: () => {
          throw new Error('simulated crash');
        },
      },
    });
    for (let i = 0; i < 8; i++) await storage.append(change(i));
    await expect(storage.checkpoint(snapshotOf(8))).rejects.toThrow('simulated crash');
    await storage.close();
    const named = readdirSync(dir).filter((f) => f !== segmentName(1n) && /^log-/.test(f));
    for (const f of named) await fsp.rm(path.join(dir, f));
    await expect(open()).rejects.toThrow(/log segment missing/);
    // Refused as found: the segment folded into the snapshot is still there for whoever looks.
    expect(readdirSync(dir)).toContain(segmentName(1n));
  });

  it('recovers from a crash before the snapshot rename (a leftover temp snapshot)', async () => {
    await writeChanges(6);
    // The crash left a new, empty segment and a half-written snapshot.
    const { storage } = await open();
    await storage.checkpoint(snapshotOf(3));
    await storage.append(change(6));
    await storage.close();
    await fsp.copyFile(path.join(dir, 'snapshot.bin'), path.join(dir, 'snapshot.bin.tmp'));
    await fsp.truncate(path.join(dir, 'snapshot.bin.tmp'), 50);
    await fsp.writeFile(logFile(3n), Buffer.alloc(10)); // a torn header of a segment being created
    const again = await open();
    expect(again.recovered.snapshot).toEqual(snapshotOf(3));
    expect(again.recovered.changes).toEqual([change(6)]);
    expect(again.recovered.warnings).toHaveLength(2);
    expect(readdirSync(dir)).not.toContain('snapshot.bin.tmp');
    await again.storage.append(change(7));
    await again.storage.close();
    expect((await reopened()).changes).toEqual([change(6), change(7)]);
  });

  it('keeps appends made during a checkpoint in the new segment', async () => {
    const { storage } = await open();
    for (let i = 0; i < 5; i++) await storage.append(change(i));
    const during = storage.checkpoint(snapshotOf(5));
    const late = [storage.append(change(5)), storage.append(change(6))];
    await Promise.all([during, ...late]);
    await storage.close();
    expect(await reopened()).toEqual({ snapshot: snapshotOf(5), changes: [change(5), change(6)], warnings: [] });
  });

  it('refuses a corrupt snapshot', async () => {
    const { storage } = await open();
    await storage.checkpoint(snapshotOf(4));
    await storage.close();
    const file = path.join(dir, 'snapshot.bin');
    const buf = await fsp.readFile(file);
    buf[buf.length - 3] ^= 1;
    await fsp.writeFile(file, buf);
    await expect(open()).rejects.toMatchObject({ name: 'StorageCorruptionError', file });
  });

  it('refuses appends after close and rejects an empty change', async () => {
    const { storage } = await open();
    await expect(storage.append({})).rejects.toThrow(/must carry/);
    await storage.close();
    await expect(storage.append(change(1))).rejects.toBeInstanceOf(StorageUnavailableError);
    await storage.close(); // idempotent
  });

  // Review rv-disk: a lost vote log must not look like a fresh data dir.
  const chosen = (slot: number) => ({ slot: BigInt(slot), ballot: { round: 1n, proposerId: 1 }, value: { kind: 'noop' } as const });

  it('refuses to start when the vote log is gone but the chosen history holds slots (no fresh start that forgets promises)', async () => {
    const { storage } = await open();
    for (let i = 0; i < 8; i++) await storage.append(change(i));
    storage.history.append([chosen(0), chosen(1)]);
    storage.history.sync();
    await storage.close();
    rmSync(logFile());
    await expect(open()).rejects.toThrow(/vote log is missing .*chosen history holds slots 0\.\.2/);
    await expect(open()).rejects.toBeInstanceOf(StorageCorruptionError);
    // The first segment cut to nothing is the same loss, not a segment cut while being created.
    writeFileSync(logFile(), Buffer.alloc(0));
    await expect(open()).rejects.toThrow(/cut to 0 bytes.*chosen history holds slots/);
  });

  it('still starts afresh after a crash during the first start (no log yet, an empty history)', async () => {
    const { storage } = await open();
    await storage.close();
    rmSync(logFile());
    const again = await open();
    expect(again.recovered.changes).toEqual([]);
    await again.storage.close();
  });

  it('refuses a log segment cut to its header or less when snapshot.bin names it (its header was synced before the snapshot)', async () => {
    const { storage } = await open();
    for (let i = 0; i < 8; i++) await storage.append(change(i));
    await storage.checkpoint(snapshotOf(8));
    await storage.append(change(8)); // a promise or vote acknowledged after the checkpoint
    await storage.close();
    truncateSync(logFile(2n), 0);
    await expect(open()).rejects.toThrow(/log-0000000000000002\.wal.*cut to 0 bytes.*snapshot\.bin names it/);
  });

  it('still repairs a torn header of a segment the snapshot does not name (a crash during a rotation)', async () => {
    const { storage } = await open();
    for (let i = 0; i < 8; i++) await storage.append(change(i));
    await storage.checkpoint(snapshotOf(8));
    await storage.append(change(8));
    await storage.close();
    writeFileSync(logFile(3n), Buffer.alloc(10));
    const again = await open();
    expect(again.recovered.changes).toEqual([change(8)]);
    expect(again.recovered.warnings.join(' ')).toMatch(/torn segment header/);
    await again.storage.close();
  });
});
