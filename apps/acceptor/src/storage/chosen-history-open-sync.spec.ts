// The fdatasync a history runs when it opens (so that what an earlier run wrote, and a kill -9
// left in the page cache, counts as durable: durableEnd) can fail. A failed fdatasync may have
// dropped written pages that the page cache still shows, and the kernel reports a writeback error
// once: the next fdatasync on the file succeeds although those pages never reached the disk. So
// the failure at open must stay, as a failed sync() does; swallowed, the history went on writing,
// its next sync() claimed the earlier run's records durable, and the acceptor reported a durable
// committed index its disk does not hold. The history's own import of node:fs is made to fail here.
import * as path from 'node:path';
import { ChosenHistory, HISTORY_DIR, historySegmentName } from './chosen-history';
import { chosenRecords as records, tempDir } from './storage-test-helpers';

jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return { ...actual, fdatasyncSync: jest.fn(actual.fdatasyncSync) };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mockedFs = require('node:fs') as typeof import('node:fs') & { fdatasyncSync: jest.Mock };

describe('a chosen history whose fdatasync fails when it opens', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('chosen-history-open-sync-')));
  afterEach(() => cleanup());

  it('stays failed: the unsynced records of the earlier run are never reported durable, and nothing more is written', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 1 << 20 });
    h.append(records(0, 10));
    h.sync();
    h.append(records(10, 15));
    h.flush(); // written, not synced: the process is killed here
    const segment = path.join(dir, HISTORY_DIR, historySegmentName(0n));
    const fdatasync = jest.requireActual<typeof import('node:fs')>('node:fs').fdatasyncSync;
    mockedFs.fdatasyncSync.mockImplementationOnce(() => {
      throw Object.assign(new Error(`EIO: i/o error, fdatasync ${segment}`), { code: 'EIO' });
    });
    let again: ChosenHistory;
    try {
      again = ChosenHistory.open(dir, { segmentBytes: 1 << 20 });
    } finally {
      mockedFs.fdatasyncSync.mockImplementation(fdatasync);
    }
    expect(again.endSlot).toBe(15n); // what the page cache shows
    expect(again.durableEnd).toBeLessThan(15n);
    expect(again.healthy).toBe(false);
    expect(again.failureReason).toMatch(/EIO/);
    expect(again.repair()).toBe(false);
    // The next fdatasync would succeed (the error was reported once): it must not be reached.
    expect(() => again.append(records(15, 16))).toThrow(/cannot be written/);
    expect(() => again.sync()).toThrow(/cannot be written/);
    expect(again.durableEnd).toBeLessThan(15n);
    expect(() => again.close()).toThrow(/cannot be written/);
    // The earlier descriptor (the killed run's) is closed with the process.
    mockedFs.closeSync((h as unknown as { fd: number }).fd);
  });
});
