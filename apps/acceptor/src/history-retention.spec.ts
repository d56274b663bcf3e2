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

const afterRequest = () => new Promise((r) => setImmediate(r));
const logger = createLogger('history-retention-test');
logger.level = 'silent';

describe('history retention', () => {
  it('drops below the previous snapshot and the newest retained slots, never at or above the quorum committed index', async () => {
    const h = history(0n, 1000n);
    const retention = new HistoryRetention(h as unknown as ChosenHistory, 100n, logger);
    // No proposer has said where the quorum is: nothing goes.
    retention.snapshotWritten(900n, 800n);
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
    const retention = new HistoryRetention(h as unknown as ChosenHistory, 100n, logger);
    retention.snapshotWritten(900n, 800n);
    retention.quorumCommittedIs(350n);
    await afterRequest();
    expect(h.firstSlot).toBe(0n);
  });

  it('keeps everything without the flag, or before a second snapshot', () => {
    const none = history(0n, 1000n);
    const off = new HistoryRetention(none as unknown as ChosenHistory, undefined, logger);
    off.quorumCommittedIs(1000n);
    off.snapshotWritten(900n, 800n);
    expect(none.firstSlot).toBe(0n);
    const one = history(0n, 1000n);
    const first = new HistoryRetention(one as unknown as ChosenHistory, 10n, logger);
    first.quorumCommittedIs(1000n);
    first.snapshotWritten(900n, undefined);
    expect(one.firstSlot).toBe(0n);
    first.snapshotWritten(950n, 900n);
    expect(one.firstSlot).toBe(900n);
  });
});
