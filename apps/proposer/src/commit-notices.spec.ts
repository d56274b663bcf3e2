import type { Commit } from '@paxos/proto';
import { COMMIT_FLUSH_MS, CommitNotices, commitRequests } from './commit-notices';

const b1 = { round: 1n, proposerId: 1 };
const b2 = { round: 2n, proposerId: 1 };
const value = { kind: 'noop' as const };
const shape = (commits: readonly Commit[]) => commits.map((c) => `${c.fromSlot}-${c.toSlot}@${c.ballot?.round}${c.values.length ? `+${c.values.length}` : ''}`);

describe('commit notices held for each acceptor', () => {
  it('hands the notices held for an acceptor to its next accept, a run of one ballot as one range; values never ride', () => {
    jest.useFakeTimers();
    try {
      const alone: string[] = [];
      const notices = new CommitNotices((to, commits) => alone.push(`${to}:${shape(commits).join(',')}`));
      for (const slot of [5n, 3n, 4n, 7n]) notices.queue(0, { slot, ballot: b1 });
      notices.queue(0, { slot: 8n, ballot: b2 });
      notices.queue(0, { slot: 6n, ballot: b1, value });
      notices.queue(1, { slot: 9n, ballot: b2, value });
      expect(shape(notices.take(0))).toEqual(['3-6@1', '7-8@1', '8-9@2']);
      expect(notices.take(0)).toEqual([]);
      // An accept's own value may be near the acceptor's message bound: a spared slot's value goes alone.
      expect(notices.take(1)).toEqual([]);
      expect(alone).toEqual([]);
      jest.advanceTimersByTime(COMMIT_FLUSH_MS);
      expect(alone.sort()).toEqual(['0:6-7@1+1', '1:9-10@2+1']);
      notices.stop();
    } finally {
      jest.useRealTimers();
    }
  });

  it('puts at most 256 slots of notices on one accept', () => {
    const notices = new CommitNotices(() => undefined);
    for (let slot = 0n; slot < 300n; slot++) notices.queue(0, { slot, ballot: slot % 2n === 0n ? b1 : b2 });
    const first = notices.take(0);
    expect(first.reduce((n, c) => n + Number(c.toSlot - c.fromSlot), 0)).toBe(256);
    expect(notices.take(0).reduce((n, c) => n + Number(c.toSlot - c.fromSlot), 0)).toBe(44);
    notices.stop();
  });

  it('sends alone, in one request, what no accept picked up within the flush interval', () => {
    jest.useFakeTimers();
    try {
      const alone: string[] = [];
      const notices = new CommitNotices((to, commits) => alone.push(`${to}:${shape(commits).join(',')}`));
      notices.queue(2, { slot: 9n, ballot: b2 });
      notices.queue(2, { slot: 10n, ballot: b2 });
      notices.queue(3, { slot: 1n, ballot: b1 });
      jest.advanceTimersByTime(COMMIT_FLUSH_MS - 1);
      expect(alone).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(alone.sort()).toEqual(['2:9-11@2', '3:1-2@1']);
      notices.stop();
    } finally {
      jest.useRealTimers();
    }
  });

  it("sends a spared acceptor's values without waiting once 32 of them are held", () => {
    const alone: string[] = [];
    const notices = new CommitNotices((to, commits) => alone.push(`${to}:${shape(commits).join(',')}`));
    for (let slot = 0n; slot < 32n; slot++) notices.queue(4, { slot, ballot: b1, value });
    expect(alone).toEqual(['4:0-32@1+32']);
    notices.stop();
  });

  it('splits requests by slots and value bytes', () => {
    const big = { kind: 'batch' as const, commands: [{ clientRequestId: 'x', contentType: 'text/plain', data: new Uint8Array(100 * 1024) }] };
    const chosen = Array.from({ length: 5 }, (_, i) => ({ slot: BigInt(i), ballot: b1, value: big }));
    expect(commitRequests(chosen).map(shape)).toEqual([['0-2@1+2'], ['2-4@1+2'], ['4-5@1+1']]);
    const many = Array.from({ length: 600 }, (_, i) => ({ slot: BigInt(i), ballot: b1 }));
    expect(commitRequests(many).map(shape)).toEqual([['0-256@1'], ['256-512@1'], ['512-600@1']]);
  });
});
