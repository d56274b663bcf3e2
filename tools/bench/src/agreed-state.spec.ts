import { status } from '@grpc/grpc-js';
import { type AcceptRequest, type AcceptResponse, RefusalKind } from '@paxos/proto';
import { feedChosen } from './agreed-state';
import { standInAcceptor as standIn } from './stand-in-acceptor.testing';

const committed = (r: AcceptRequest): AcceptResponse => ({ requestId: r.requestId, outcome: { $case: 'committed', value: { committedIndex: r.commits[0]?.toSlot ?? 0n, durableCommittedIndex: 0n } } });

describe('feeding chosen slots to an acceptor (--agreed-state)', () => {
  it('feeds every slot, 250 a message, when each message is committed', async () => {
    const slots: bigint[] = [];
    const s = await standIn((call, r) => {
      for (const c of r.commits) slots.push(c.fromSlot, c.toSlot);
      call.write(committed(r));
    });
    try {
      await feedChosen(s.address, 0, 1100, 10, 5000);
      expect(slots).toEqual([0n, 250n, 250n, 500n, 500n, 750n, 750n, 1000n, 1000n, 1100n]);
    } finally {
      s.stop();
    }
  }, 20_000);

  it('an acceptor that ends the stream part way fails the feed instead of hanging it', async () => {
    const s = await standIn((call, r, n) => {
      if (n < 2) call.write(committed(r));
      else call.end();
    });
    try {
      const started = performance.now();
      await expect(feedChosen(s.address, 0, 5000, 10, 60_000)).rejects.toThrow(/feeding slots 0\.\.5000 to the acceptor at .*: it ended the Accept stream \(2 messages answered/);
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      s.stop();
    }
  }, 20_000);

  it('an acceptor that stops answering fails the feed at the deadline', async () => {
    const s = await standIn((call, r, n) => {
      if (n < 2) call.write(committed(r));
    });
    try {
      const started = performance.now();
      await expect(feedChosen(s.address, 0, 5000, 10, 500)).rejects.toThrow(/no answer for 500 ms/);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      s.stop();
    }
  }, 20_000);

  it('a notice the acceptor refuses fails the feed with its reason, not counted as fed', async () => {
    const s = await standIn((call, r) => call.write({ requestId: r.requestId, outcome: { $case: 'refused', value: { reason: 'rejoining: floor not read', kind: RefusalKind.REFUSAL_KIND_REJOINING } } }));
    try {
      await expect(feedChosen(s.address, 0, 100, 10, 5000)).rejects.toThrow(/answered refused: rejoining: floor not read/);
    } finally {
      s.stop();
    }
  }, 20_000);

  it('a stream the acceptor breaks fails the feed with its error', async () => {
    const s = await standIn((call) => call.emit('error', { code: status.INTERNAL, details: 'disk gone' }));
    try {
      await expect(feedChosen(s.address, 0, 100, 10, 5000)).rejects.toThrow(/disk gone/);
    } finally {
      s.stop();
    }
  }, 20_000);
});
