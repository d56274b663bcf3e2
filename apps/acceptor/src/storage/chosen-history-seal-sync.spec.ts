// The fdatasync that seals a full history segment can fail, with ENOSPC too (NFS, thin volumes,
// quotas report lack of space at writeback). A failed fdatasync may have dropped written pages the
// page cache still shows, and the kernel reports a writeback error once: the next fdatasync
// succeeds over them. So a failed seal stays failed whatever its code, as a failed sync() does;
// taken for a failed write (a space error, repaired in place), the repair's own fdatasync
// succeeded, the history counted the segment's records durable, and the next flush sealed it with
// an index. The history's own import of node:fs is made to fail here.
import * as path from 'node:path';
import { ChosenHistory, HISTORY_DIR, historySegmentName } from './chosen-history';
import { chosenRecords as records, tempDir } from './storage-test-helpers';

jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return { ...actual, fdatasyncSync: jest.fn(actual.fdatasyncSync) };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mockedFs = require('node:fs') as typeof import('node:fs') & { fdatasyncSync: jest.Mock };

describe('a chosen history whose fdatasync fails as it seals a segment', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('chosen-history-seal-sync-')));
  afterEach(() => cleanup());

  for (const code of ['ENOSPC', 'EIO']) {
    it(`stays failed (${code}): the segment's records are never counted durable`, () => {
      const h = ChosenHistory.open(dir, { segmentBytes: 4096 });
      h.append(records(0, 10, 200)); // not yet 4 KiB: the segment is open
      h.flush();
      expect(h.durableEnd).toBe(0n);
      const segment = path.join(dir, HISTORY_DIR, historySegmentName(0n));
      mockedFs.fdatasyncSync.mockImplementationOnce(() => {
        throw Object.assign(new Error(`${code}: fdatasync ${segment}`), { code });
      });
      // Fills the segment past 4 KiB, then seals it before the rest.
      expect(() => h.append(records(10, 300, 200))).toThrow(/cannot be written/);
      expect(h.healthy).toBe(false);
      expect(h.failureReason).toMatch(/fdatasync that seals it failed.*restart the acceptor/);
      expect(h.repair()).toBe(false);
      expect(h.healthy).toBe(false);
      expect(h.durableEnd).toBe(0n);
      expect(() => h.sync()).toThrow(/cannot be written/);
      expect(h.durableEnd).toBe(0n);
      expect(() => h.close()).toThrow(/cannot be written/);
    });
  }
});
