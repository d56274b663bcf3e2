// A checkpoint folds the votes below its committed index into the snapshot and deletes the log
// segments that held them: from then on the chosen history is the only copy of those values, so
// every byte of it must be durable before the snapshot replaces the old one (a power loss after
// that would otherwise cost values that no file holds, and the node would refuse to start). And a
// sealed history segment is durable before its index says what it holds. Here node:fs is wrapped
// (the storage's own import of it) to follow which bytes written to the history were fdatasynced.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { AcceptorStorage } from './acceptor-storage';
import { ChosenHistory, HISTORY_DIR } from './chosen-history';
import { SNAPSHOT_FILE } from './data-dir';
import { chosenRecord, snapshotOf, tempDir } from './storage-test-helpers';

/** Per history file: bytes written since its last fdatasync. */
const unsynced = new Map<string, number>();
const fdPath = new Map<number, string>();
/** Indexes renamed into place (the check below must have run on some). */
let indexesRenamed = 0;
const inHistory = (file: string) => file.includes(`${path.sep}${HISTORY_DIR}${path.sep}`) && file.endsWith('.seg');

jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return {
    ...actual,
    openSync: (file: string, ...rest: unknown[]) => {
      const fd = (actual.openSync as (...a: unknown[]) => number)(file, ...rest);
      fdPath.set(fd, String(file));
      return fd;
    },
    writeSync: (fd: number, ...rest: unknown[]) => {
      const n = (actual.writeSync as (...a: unknown[]) => number)(fd, ...rest);
      const file = fdPath.get(fd);
      if (file !== undefined && inHistory(file)) unsynced.set(file, (unsynced.get(file) ?? 0) + n);
      return n;
    },
    fdatasyncSync: (fd: number) => {
      actual.fdatasyncSync(fd);
      const file = fdPath.get(fd);
      if (file !== undefined) unsynced.delete(file);
    },
    fsyncSync: (fd: number) => {
      actual.fsyncSync(fd);
      const file = fdPath.get(fd);
      if (file !== undefined) unsynced.delete(file);
    },
    renameSync: (from: string, to: string) => {
      // A sealed segment's index goes into place only once the segment is durable.
      if (String(to).endsWith('.idx')) indexesRenamed++;
      if (String(to).endsWith('.idx')) expect({ index: path.basename(to), unsyncedBytes: unsynced.get(String(to).replace(/\.idx$/, '.seg')) ?? 0 }).toEqual({ index: path.basename(to), unsyncedBytes: 0 });
      actual.renameSync(from, to);
    },
  };
});

const record = (slot: number) => chosenRecord(slot, 120);

describe('durability order of the chosen history', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir('checkpoint-durability-'));
    unsynced.clear();
  });
  afterEach(() => cleanup());

  it('a checkpoint makes every byte of the history durable before its snapshot replaces the old one', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 5 });
    storage.history.append(Array.from({ length: 40 }, (_, s) => record(s)));
    storage.history.flush(); // written, not synced
    expect([...unsynced.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const rename = fsp.rename.bind(fsp);
    const atRename: number[] = [];
    const spy = jest.spyOn(fsp, 'rename').mockImplementation(async (from, to) => {
      if (path.basename(String(to)) === SNAPSHOT_FILE) atRename.push([...unsynced.values()].reduce((a, b) => a + b, 0));
      return rename(from, to);
    });
    try {
      await storage.checkpoint(snapshotOf(40));
    } finally {
      spy.mockRestore();
    }
    expect(atRename).toEqual([0]);
    await storage.close();
  });

  it('a sealed segment is durable before its index is written', () => {
    // The check is in renameSync above: every index renamed into place finds its segment synced.
    indexesRenamed = 0;
    const h = ChosenHistory.open(dir, { segmentBytes: 2048 });
    for (let s = 0; s < 200; s += 10) {
      h.append(Array.from({ length: 10 }, (_, k) => record(s + k)));
      h.flush();
    }
    h.close();
    expect(indexesRenamed).toBeGreaterThan(0);
    const again = ChosenHistory.open(dir, { segmentBytes: 2048 });
    expect([again.firstSlot, again.endSlot]).toEqual([0n, 200n]);
    again.close();
  });
});
