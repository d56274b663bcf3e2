// Damage at rest that used to reopen silently with data gone (the storage review's probes): each
// must now be refused with a typed error naming the file, while what a crash or retention leaves
// still opens.
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { AcceptorStorage } from './acceptor-storage';
import { ChosenHistory, HISTORY_DIR, INDEX_FIRST_FILE, historySegmentName } from './chosen-history';
import { SNAPSHOT_FILE, segmentName } from './data-dir';
import type { ChosenRecord } from './durable-types';
import { StorageCorruptionError } from './errors';
import { FRAME_HEADER_BYTES, HEADER_BYTES, ZEROS_FLAG } from './framing';
import { ballot, snapshotOf, tempDir } from './storage-test-helpers';

const chosen = (slot: number): ChosenRecord => ({
  slot: BigInt(slot),
  ballot: ballot(1),
  value: { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 'text/plain', data: Buffer.alloc(100, slot & 0xff) }] },
});
const chosenRange = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => chosen(from + i));

/** Rewrites a log segment's or snapshot's header as a format-1 build wrote it. */
function asFormat1(file: string): void {
  const buf = readFileSync(file);
  buf.writeUInt32LE(1, 8);
  buf.writeUInt32LE(0, 24);
  buf.writeUInt32LE(crc32(buf.subarray(0, 28)), 28);
  writeFileSync(file, buf);
}

/** Byte offsets where the frames of a log segment start. */
function frameStarts(buf: Buffer): number[] {
  const out: number[] = [];
  for (let at = HEADER_BYTES; at + FRAME_HEADER_BYTES <= buf.length; at += FRAME_HEADER_BYTES + ((buf.readUInt32LE(at) & ~ZEROS_FLAG) >>> 0)) out.push(at);
  return out;
}

describe('damage at rest that must not reopen with data silently gone', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('silent-loss-')));
  afterEach(() => cleanup());
  const open = () => AcceptorStorage.open({ dataDir: dir, nodeId: 5, fsync: false });

  describe('(a) the whole history dir deleted', () => {
    /** A dir whose history holds slots 0..9, folded into a snapshot at 10. */
    async function build(): Promise<void> {
      const { storage } = await open();
      await storage.append({ promised: ballot(3) });
      storage.history.append(chosenRange(0, 10));
      await storage.checkpoint(snapshotOf(10));
      await storage.append({ promised: ballot(4) });
      await storage.close();
    }

    it('is refused in a dir written by a build with the history (format 2 files), naming the dir and what to do', async () => {
      await build();
      rmSync(path.join(dir, HISTORY_DIR), { recursive: true });
      const err = await open().then(
        async ({ storage }) => {
          const h = storage.history;
          await storage.close();
          return new Error(`opened, with the history at ${h.firstSlot}..${h.endSlot}`);
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageCorruptionError);
      expect((err as Error).message).toContain(path.join(dir, HISTORY_DIR));
      expect((err as Error).message).toMatch(/npm run rejoin/);
      expect(existsSync(path.join(dir, HISTORY_DIR))).toBe(false); // left as it was found
    });

    it('still opens a dir from before the history (format-1 files only), starting its history afresh', async () => {
      await build();
      rmSync(path.join(dir, HISTORY_DIR), { recursive: true });
      rmSync(path.join(dir, `${HISTORY_DIR}.join-pending`), { force: true });
      for (const name of readdirSync(dir)) if (name.endsWith('.wal') || name === SNAPSHOT_FILE) asFormat1(path.join(dir, name));
      const { storage, recovered } = await open();
      expect(storage.history.created).toBe(true);
      expect(recovered.snapshot?.committedIndex).toBe(10n);
      await storage.close();
    });
  });

  describe('(b) a retired log segment cut at a frame boundary', () => {
    /**
     * A crash between a rotation and its snapshot: segment 1 retired but still live (the snapshot
     * that would cover it never written), promises 7 and 8 its last records, segment 2 active.
     */
    async function build(): Promise<void> {
      const { storage } = await open();
      for (let r = 1; r <= 8; r++) await storage.append({ promised: ballot(r) });
      const retired = readFileSync(path.join(dir, segmentName(1n)));
      await storage.checkpoint(snapshotOf(0));
      await storage.append({ accepted: { slot: 0n, ballot: ballot(8), value: { kind: 'noop' } } });
      await storage.close();
      rmSync(path.join(dir, SNAPSHOT_FILE));
      writeFileSync(path.join(dir, segmentName(1n)), retired);
    }

    it('opens whole, with every promise', async () => {
      await build();
      const { storage, recovered } = await open();
      await storage.close();
      expect(recovered.changes.filter((c) => c.promised).at(-1)?.promised).toEqual(ballot(8));
    });

    it('still opens a dir an older build wrote, whose headers record no size (0 in the reserved field)', async () => {
      await build();
      const next = path.join(dir, segmentName(2n));
      const head = readFileSync(next);
      expect(head.readUInt32LE(24)).toBe(readFileSync(path.join(dir, segmentName(1n))).length);
      head.writeUInt32LE(0, 24);
      head.writeUInt32LE(crc32(head.subarray(0, 28)), 28);
      writeFileSync(next, head);
      const { storage, recovered } = await open();
      await storage.close();
      expect(recovered.changes.filter((c) => c.promised).at(-1)?.promised).toEqual(ballot(8));
    });

    it('is refused when its last records are cut away, naming the segment', async () => {
      await build();
      const file = path.join(dir, segmentName(1n));
      const starts = frameStarts(readFileSync(file));
      for (const cut of [starts.at(-1) as number, starts.at(-3) as number, HEADER_BYTES]) {
        const copy = path.join(dir, `..`, `cut-${cut}`);
        cpSync(dir, copy, { recursive: true });
        truncateSync(path.join(copy, segmentName(1n)), cut);
        const err = await AcceptorStorage.open({ dataDir: copy, nodeId: 5, fsync: false }).then(
          async ({ storage, recovered }) => {
            await storage.close();
            return new Error(`opened, promised ${JSON.stringify(recovered.changes.filter((c) => c.promised).at(-1)?.promised, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
          },
          (e: unknown) => e,
        );
        rmSync(copy, { recursive: true, force: true });
        expect(err).toBeInstanceOf(StorageCorruptionError);
        expect((err as StorageCorruptionError).file).toBe(path.join(copy, segmentName(1n)));
      }
    });
  });

  describe('(c) the oldest history segment deleted', () => {
    function build(): ChosenHistory {
      const h = ChosenHistory.open(dir, { segmentBytes: 4096 });
      for (let s = 0; s < 300; s += 50) {
        h.append(chosenRange(s, s + 50));
        h.flush();
      }
      return h;
    }
    const segs = () =>
      readdirSync(path.join(dir, HISTORY_DIR))
        .filter((n) => n.endsWith('.seg'))
        .sort();

    it('is refused when the segment is gone but its index is there (retention removes both)', () => {
      build().close();
      const oldest = path.join(dir, HISTORY_DIR, historySegmentName(0n));
      rmSync(oldest);
      expect(() => ChosenHistory.open(dir, { segmentBytes: 4096 }).close()).toThrow(StorageCorruptionError);
      expect(() => ChosenHistory.open(dir, { segmentBytes: 4096 }).close()).toThrow(oldest);
    });

    it('still opens, once, a dir whose index an earlier build left behind (it removed the segment first, then its index)', () => {
      const h = build();
      h.close();
      // As an earlier build left it: no INDEX_FIRST_FILE, killed between its two removals.
      rmSync(path.join(dir, HISTORY_DIR, INDEX_FIRST_FILE), { force: true });
      const oldest = path.join(dir, HISTORY_DIR, historySegmentName(0n));
      rmSync(oldest);
      const upgraded = ChosenHistory.open(dir, { segmentBytes: 4096 });
      expect(upgraded.endSlot).toBe(300n);
      expect(upgraded.firstSlot).toBeGreaterThan(0n);
      expect(upgraded.leftovers).toMatch(/chosen-0{20}\.idx/);
      upgraded.close();
      expect(existsSync(oldest.replace('.seg', '.idx'))).toBe(false);
      // From then on the dir is this build's: an index without its segment is a loss.
      rmSync(path.join(dir, HISTORY_DIR, segs()[0] as string));
      expect(() => ChosenHistory.open(dir, { segmentBytes: 4096 }).close()).toThrow(StorageCorruptionError);
    });

    it('still opens after retention dropped it, and after a crash in the middle of the drop', () => {
      const h = build();
      const first = h.dropBelow(100n);
      expect(first).toBeGreaterThan(0n);
      h.close();
      const again = ChosenHistory.open(dir, { segmentBytes: 4096 });
      expect([again.firstSlot, again.endSlot]).toEqual([first, 300n]);
      again.close();
      // A crash after the drop removed the next segment's index but not the segment itself.
      const next = segs()[0] as string;
      rmSync(path.join(dir, HISTORY_DIR, next.replace('.seg', '.idx')));
      const third = ChosenHistory.open(dir, { segmentBytes: 4096 });
      expect([third.firstSlot, third.endSlot]).toEqual([first, 300n]);
      third.close();
    });
  });
});
