// A rotation whose new segment could not be made durable removes it, and makes the removal durable
// too: a header-only segment that came back after a power loss, beside the old segment that took
// records after the failed rotation, read as corruption and refused the next start.
import { existsSync, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { segmentName } from './data-dir';
import { LogWriter } from './log-writer';
import { tempDir } from './storage-test-helpers';

/** Each directory sync, and whether the file `watched` was there when it ran. */
const synced: string[] = [];
let watched = '';
jest.mock('./data-dir', () => {
  const actual = jest.requireActual<typeof import('./data-dir')>('./data-dir');
  return {
    ...actual,
    fsyncDir: async (d: string) => {
      synced.push(jest.requireActual<typeof import('node:fs')>('node:fs').existsSync(watched) ? 'with the new segment' : 'without it');
      return actual.fsyncDir(d);
    },
  };
});

describe('a log rotation that fails', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('log-rotation-')));
  afterEach(() => {
    jest.restoreAllMocks();
    cleanup();
  });

  it('removes the new segment and syncs the directory after the removal', async () => {
    const first = path.join(dir, segmentName(1n));
    const fh = await fsp.open(first, 'w');
    const writer = new LogWriter({ dir, nodeId: 0, fsync: true, maxPendingRecords: 16, maxPendingBytes: 1 << 20, repairIntervalMs: 60_000 }, fh, 1n, 0, 0);
    const next = path.join(dir, segmentName(2n));
    watched = next;
    // The new segment's fdatasync fails (a full disk, an I/O error).
    const open = fsp.open.bind(fsp);
    jest.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const h = await open(...args);
      if (String(args[0]) === next) (h as unknown as { datasync: () => Promise<void> }).datasync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      return h as FileHandle;
    });
    await expect(writer.rotate()).rejects.toThrow(/EIO/);
    expect(existsSync(next)).toBe(false);
    expect(synced).toContain('without it');
    await writer.close();
  });
});
