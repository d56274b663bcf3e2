// A frame the log writer has written and synced is no longer its to keep: the queue held every
// written item until more than 1,024 had passed through it, so an acceptor taking accepts of
// 1 MiB values kept up to a GiB of written frames reachable (about 400 MB seen after a few hundred
// such slots, all of it in the queue's written-out slots).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { segmentName } from './data-dir';
import { LogWriter } from './log-writer';
import { tempDir } from './storage-test-helpers';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('the log writer', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('log-writer-memory-')));
  afterEach(() => cleanup());

  it('keeps no frame it has written and synced', async () => {
    const fh = await fsp.open(path.join(dir, segmentName(1n)), 'w');
    const writer = new LogWriter({ dir, nodeId: 0, fsync: false, maxPendingRecords: 16, maxPendingBytes: 1 << 20, repairIntervalMs: 60_000 }, fh, 1n, 0, 0);
    const written: WeakRef<Buffer>[] = [];
    // Each frame is made and handed over in a function of its own, so that only the writer can hold it.
    const append = (fill: number): Promise<void> => {
      const frame = Buffer.alloc(1024, fill);
      written.push(new WeakRef(frame));
      return writer.append(frame);
    };
    // One at a time, as an acceptor under light load appends them; then a few queued together.
    for (let i = 0; i < 8; i++) await append(i);
    await Promise.all([100, 101, 102, 103].map(append));
    // A WeakRef keeps its target through the task that made it: collect in a later one.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(written.map((w, i) => (w.deref() === undefined ? -1 : i)).filter((i) => i >= 0)).toEqual([]);
    await writer.close();
  });
});
