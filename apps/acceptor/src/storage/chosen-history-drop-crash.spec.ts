// A crash between the two removals of a retention drop. ChosenHistory removes a sealed segment's
// index (made durable) before the segment, so that an index without its segment always means a
// segment lost, which opening refuses; a drop cut short must therefore leave the segment without its
// index, never the index alone. The process is killed here at the second removal, through a node:fs
// whose rmSync the spec can make throw (the history's own import of it, not a copy).
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ChosenHistory, HISTORY_DIR } from './chosen-history';
import { chosenRecords as records, tempDir } from './storage-test-helpers';

jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return { ...actual, rmSync: jest.fn(actual.rmSync) };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mockedFs = require('node:fs') as { rmSync: jest.Mock };

describe('a retention drop killed between its two removals', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('chosen-history-drop-crash-')));
  afterEach(() => cleanup());

  it('leaves a history that opens whole: the segment without its index, scanned again', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 2048 });
    h.append(records(0, 100));
    h.flush();
    const names = readdirSync(path.join(dir, HISTORY_DIR)).filter((n) => n.endsWith('.seg')).sort();
    expect(names.length).toBeGreaterThan(2);
    const second = BigInt(/^chosen-(\d+)\.seg$/.exec(names[1] as string)?.[1] as string);
    const rmSync = jest.requireActual<typeof import('node:fs')>('node:fs').rmSync;
    let removals = 0;
    mockedFs.rmSync.mockImplementation((file: string, opts?: object) => {
      if (String(file).includes(`${HISTORY_DIR}${path.sep}chosen-`) && ++removals === 2) throw new Error('killed between the two removals');
      rmSync(file, opts);
    });
    try {
      expect(() => h.dropBelow(second)).toThrow('killed between the two removals');
    } finally {
      mockedFs.rmSync.mockImplementation(rmSync);
    }
    h.close();
    // A drop cut short, not a lost segment: the history opens from slot 0, all of it readable.
    const again = ChosenHistory.open(dir, { segmentBytes: 2048 });
    expect([again.firstSlot, again.endSlot]).toEqual([0n, 100n]);
    expect(again.read(0n, 1000, 1 << 30)).toEqual(records(0, 100));
    again.close();
  });
});
