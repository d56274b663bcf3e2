// A read of the chosen history in slices (Learn and ReadLog read about 256 KiB at a time, the
// event loop turning between two) asks each slice's first slot anew. Started from the index point
// below it with 1 MiB windows, every slice read its segment again from there: a 4 MiB page of
// 64 KiB records cost 59 MiB of reads. The history's own import of node:fs is counted here.
import { ChosenHistory } from './chosen-history';
import { chosenRecords as records, tempDir } from './storage-test-helpers';

jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return { ...actual, readSync: jest.fn(actual.readSync) };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mockedFs = require('node:fs') as typeof import('node:fs') & { readSync: jest.Mock };

const bytesRead = (): number => mockedFs.readSync.mock.results.reduce((n, r) => n + (r.type === 'return' ? (r.value as number) : 0), 0);

describe('a chosen history read in slices', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('chosen-history-read-bytes-')));
  afterEach(() => cleanup());

  it('reads each record from disk about once, however the read is cut into slices', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 64 << 20 });
    const recordBytes = 64 * 1024;
    h.append(records(0, 200, recordBytes));
    h.flush();
    for (const from of [0, 60]) {
      mockedFs.readSync.mockClear();
      const got: bigint[] = [];
      // Slices of about 256 KiB (three or four records), each going on from the slot after the last.
      for (let slot = BigInt(from), i = 0; i < 200 && slot < 200n; i++) {
        const slice = h.read(slot, 256, 256 * 1024);
        got.push(...slice.map((r) => r.slot));
        slot = (slice[slice.length - 1]?.slot ?? 199n) + 1n;
      }
      expect(got).toEqual(Array.from({ length: 200 - from }, (_, i) => BigInt(from + i)));
      const data = (200 - from) * recordBytes;
      // What was read from disk: the records once, with their framing and a window's slack per slice.
      expect(bytesRead()).toBeLessThan(1.5 * data);
    }
    h.close();
  });
});
