import { createLogger } from '@paxos/grpc-kit';
import { HistoryRetention } from '@paxos/acceptor-node';
import type { ChosenHistory } from './storage';

/** Segments of 10 slots from `first` to `end`: dropBelow drops whole ones, as the real history does. */
function history(first: bigint, end: bigint) {
  const h = {
    firstSlot: first,
    endSlot: end,
    dropBelow(slot: bigint): bigint {
      while (h.firstSlot + 10n <= slot && h.firstSlot + 10n < h.endSlot) h.firstSlot += 10n;
      return h.firstSlot;
    },
  };
  return h;
}

/** The snapshot files as the node last saw them: both whole, at `latest` and `previous` (KeptStateSnapshots.coveredBelow). */
function files() {
  const f = {
    coveredBelow: undefined as bigint | undefined,
    written(latest: bigint, previous: bigint | undefined): void {
      f.coveredBelow = previous === undefined ? undefined : previous < latest ? previous : latest;
    },
  };
  return f;
}

const afterRequest = () => new Promise((r) => setImmediate(r));
const logger = createLogger('history-retention-test');
logger.level = 'silent';

describe('history retention', () => {
  it('drops below the previous snapshot and the newest retained slots, never at or above the quorum committed index', async () => {
    const h = history(0n, 1000n);
    const f = files();
    const retention = new HistoryRetention(h as unknown as ChosenHistory, 100n, logger, f);
    // No proposer has said where the quorum is: nothing goes.
    f.written(900n, 800n);
    retention.snapshotWritten();
    expect(h.firstSlot).toBe(0n);
    // The quorum is at 350: history goes up to it, not to the snapshots (after the request that said so).
    retention.quorumCommittedIs(350n);
    expect(h.firstSlot).toBe(0n);
    await afterRequest();
    expect(h.firstSlot).toBe(350n);
    expect(retention.quorumCommittedIndex).toBe(350n);
    // A lower or equal report changes nothing; a higher one lets the held drop go on.
    retention.quorumCommittedIs(200n);
    await afterRequest();
    expect([h.firstSlot, retention.quorumCommittedIndex]).toEqual([350n, 350n]);
    retention.quorumCommittedIs(5000n);
    await afterRequest();
    expect(h.firstSlot).toBe(800n);
  });

  it('a drop that fails is logged and leaves the history as it was', async () => {
    const h = history(0n, 1000n);
    h.dropBelow = () => {
      throw new Error('EIO');
    };
    const f = files();
    const retention = new HistoryRetention(h as unknown as ChosenHistory, 100n, logger, f);
    f.written(900n, 800n);
    retention.snapshotWritten();
    retention.quorumCommittedIs(350n);
    await afterRequest();
    expect(h.firstSlot).toBe(0n);
  });

  it('keeps everything without the flag, or before a second snapshot', () => {
    const none = history(0n, 1000n);
    const offFiles = files();
    const off = new HistoryRetention(none as unknown as ChosenHistory, undefined, logger, offFiles);
    off.quorumCommittedIs(1000n);
    offFiles.written(900n, 800n);
    off.snapshotWritten();
    expect(none.firstSlot).toBe(0n);
    const one = history(0n, 1000n);
    const f = files();
    const first = new HistoryRetention(one as unknown as ChosenHistory, 10n, logger, f);
    first.quorumCommittedIs(1000n);
    f.written(900n, undefined);
    first.snapshotWritten();
    expect(one.firstSlot).toBe(0n);
    f.written(950n, 900n);
    first.snapshotWritten();
    expect(one.firstSlot).toBe(900n);
  });
});
