import { COMMIT_FLUSH_MS, CommitNotices } from './commit-notices';

const b1 = { round: 1n, proposerId: 1 };
const b2 = { round: 2n, proposerId: 1 };

describe('commit notices riding on accepts', () => {
  it('hands out the longest run of consecutive slots under the accept ballot', () => {
    const alone: string[] = [];
    const notices = new CommitNotices((to, slot) => alone.push(`${to}:${slot}`));
    for (const slot of [5n, 3n, 4n, 7n]) notices.queue(0, slot, b1);
    notices.queue(0, 8n, b2);
    expect(notices.takeRange(0, b1)).toEqual({ fromSlot: 3n, toSlot: 6n });
    expect(notices.takeRange(0, b1)).toEqual({ fromSlot: 7n, toSlot: 8n });
    expect(notices.takeRange(0, b1)).toBeUndefined(); // slot 8 was chosen under another ballot
    expect(notices.takeRange(1, b1)).toBeUndefined();
    notices.stop();
    expect(alone).toEqual([]);
  });

  it('sends alone what no accept picked up within the flush interval', () => {
    jest.useFakeTimers();
    try {
      const alone: string[] = [];
      const notices = new CommitNotices((to, slot, ballot) => alone.push(`${to}:${slot}@${ballot.round}`));
      notices.queue(2, 9n, b2);
      notices.queue(3, 1n, b1);
      jest.advanceTimersByTime(COMMIT_FLUSH_MS - 1);
      expect(alone).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(alone.sort()).toEqual(['2:9@2', '3:1@1']);
      notices.stop();
    } finally {
      jest.useRealTimers();
    }
  });
});
