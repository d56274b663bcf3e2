import type { ChosenRecord } from '@paxos/consensus-core';
import { readChosenInSlices, READ_SLICE_BYTES, type ReadSlicing } from './history-slices';
import { MemoryDisk, MemoryHistory } from './memory-storage';

const record = (slot: number, bytes: number): ChosenRecord => ({
  slot: BigInt(slot),
  ballot: { round: 1n, proposerId: 1 },
  value: { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 'text/plain', data: Buffer.alloc(bytes, slot % 251) }] },
});

function historyOf(records: number, bytes: number): { history: MemoryHistory; disk: MemoryDisk } {
  const disk = new MemoryDisk();
  const history = new MemoryHistory(disk, false);
  history.append(Array.from({ length: records }, (_, i) => record(i, bytes)));
  return { history, disk };
}

/** Slicing that counts the pauses and the slices read, with hooks for what happens during a pause. */
function counting(history: MemoryHistory, duringPause: (pauses: number) => void = () => undefined) {
  const seen = { pauses: 0, slices: 0, gone: false };
  const read = history.read.bind(history);
  history.read = (from, max, maxBytes) => {
    seen.slices++;
    return read(from, max, maxBytes);
  };
  const slicing: ReadSlicing = {
    pause: async () => {
      seen.pauses++;
      duringPause(seen.pauses);
    },
    gone: () => seen.gone,
    stopped: () => new Error('caller left'),
  };
  return { seen, slicing };
}

describe('a read of the chosen history in slices', () => {
  it('answers what one read answers, in slices with a pause between two', async () => {
    const { history } = historyOf(1000, 1000);
    const { seen, slicing } = counting(history);
    const out = await readChosenInSlices(history, 10n, 1024, 4 * 1024 * 1024, slicing);
    expect(out.map((r) => r.slot)).toEqual(Array.from({ length: 990 }, (_, i) => BigInt(i + 10)));
    expect(seen.slices).toBeGreaterThan(1);
    expect(seen.pauses).toBe(seen.slices - 1);
    expect(out).toEqual(history.read(10n, 1024, 4 * 1024 * 1024));
  });

  it('never reads a whole large answer in one slice: about READ_SLICE_BYTES a slice, and the byte bound holds', async () => {
    const { history } = historyOf(200, 64 * 1024);
    const { seen, slicing } = counting(history);
    const out = await readChosenInSlices(history, 0n, 1024, 4 * 1024 * 1024, slicing);
    // 4 MiB of 64 KiB values (a little more each with its names): 63 of them, in slices of 4.
    expect(out.length).toBe(63);
    expect(out.map((r) => r.slot)).toEqual(Array.from({ length: 63 }, (_, i) => BigInt(i)));
    expect(seen.slices).toBeGreaterThanOrEqual(Math.floor((4 * 1024 * 1024) / READ_SLICE_BYTES));
  });

  it('takes one record larger than the bound alone, and no second one', async () => {
    const { history } = historyOf(4, 5 * 1024 * 1024);
    const { slicing } = counting(history);
    const out = await readChosenInSlices(history, 1n, 1024, 4 * 1024 * 1024, slicing);
    expect(out.map((r) => r.slot)).toEqual([1n]);
  });

  it('keeps to maxEntries', async () => {
    const { history } = historyOf(2000, 10);
    const { slicing } = counting(history);
    expect((await readChosenInSlices(history, 0n, 1024, 4 * 1024 * 1024, slicing)).length).toBe(1024);
    expect((await readChosenInSlices(history, 1990n, 1024, 4 * 1024 * 1024, slicing)).length).toBe(10);
    expect(await readChosenInSlices(history, 2000n, 1024, 4 * 1024 * 1024, slicing)).toEqual([]);
  });

  it('stops reading once its caller left: no slice after that', async () => {
    const { history } = historyOf(200, 64 * 1024);
    const c = counting(history, (pauses) => {
      if (pauses === 2) c.seen.gone = true;
    });
    await expect(readChosenInSlices(history, 0n, 1024, 4 * 1024 * 1024, c.slicing)).rejects.toThrow('caller left');
    expect(c.seen.slices).toBe(2);
  });

  it('ends the answer at slots the history dropped while it read (retention): what was read stays a gapless run', async () => {
    const { history, disk } = historyOf(200, 64 * 1024);
    disk.historySyncedEnd = 200n;
    const c = counting(history, (pauses) => {
      if (pauses === 1) {
        // Everything below slot 100 goes while the read waits between its slices.
        disk.history = disk.history.slice(100);
        disk.historyFirstSlot = 100n;
      }
    });
    const out = await readChosenInSlices(history, 0n, 1024, 4 * 1024 * 1024, c.slicing);
    expect(out.length).toBeGreaterThan(0);
    expect(out.map((r) => r.slot)).toEqual(Array.from({ length: out.length }, (_, i) => BigInt(i)));
    expect(c.seen.slices).toBe(1);
  });
});
