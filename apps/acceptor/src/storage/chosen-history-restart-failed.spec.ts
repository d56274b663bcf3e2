// A restart of the chosen history (an installed state snapshot, restartAt) that fails after its
// marker and new empty segment were made, before the history moved to them (here: the new segment
// cannot be opened, as when the process is out of file descriptors). The history stays as it was
// and the node goes on appending to it; the next open must read it so, not finish a restart this
// process gave up on (which dropped every slot appended since, those above the restart's slot too).
// The failure comes through a node:fs whose openSync the spec can make throw (the history's own
// import of it, not a copy).
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ChosenHistory, HISTORY_DIR, historySegmentName } from './chosen-history';
import { chosenRecords as records, tempDir } from './storage-test-helpers';

jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return { ...actual, openSync: jest.fn(actual.openSync) };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mockedFs = require('node:fs') as { openSync: jest.Mock };

describe('a chosen history restart that fails before it took effect', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('chosen-history-restart-failed-')));
  afterEach(() => cleanup());

  it('leaves the history as it was on the disk too: appended on and opened again, every slot is there', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 1 << 20 });
    h.joined();
    h.append(records(0, 10));
    h.sync();
    const openSync = jest.requireActual<typeof import('node:fs')>('node:fs').openSync;
    const newSegment = path.join(dir, HISTORY_DIR, historySegmentName(50n));
    mockedFs.openSync.mockImplementation((file: string, ...rest: unknown[]) => {
      if (file === newSegment && rest[0] === 'r+') throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      return (openSync as (...a: unknown[]) => number)(file, ...rest);
    });
    try {
      expect(() => h.restartAt(50n)).toThrow('EMFILE');
    } finally {
      mockedFs.openSync.mockImplementation(openSync);
    }
    expect([h.firstSlot, h.endSlot]).toEqual([0n, 10n]);
    // The node goes on with the history it has, past the slot the restart named.
    h.append(records(10, 60));
    h.sync();
    h.close();
    const again = ChosenHistory.open(dir, { segmentBytes: 1 << 20 });
    expect([again.firstSlot, again.endSlot]).toEqual([0n, 60n]);
    expect(again.read(0n, 1000, 1 << 30)).toEqual(records(0, 60));
    expect(readdirSync(path.join(dir, HISTORY_DIR)).filter((n) => n.startsWith('restart-') || n === historySegmentName(50n))).toEqual([]);
    again.close();
  });
});
