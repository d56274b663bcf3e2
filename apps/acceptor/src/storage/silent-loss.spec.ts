// Damage at rest that used to reopen silently with data gone (the storage review's probes): each
// must now be refused with a typed error naming the file, while what a crash or retention leaves
// still opens.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { AcceptorStorage } from './acceptor-storage';
import { HISTORY_DIR } from './chosen-history';
import { SNAPSHOT_FILE } from './data-dir';
import type { ChosenRecord } from './durable-types';
import { StorageCorruptionError } from './errors';
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
});
