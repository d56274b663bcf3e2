import { status } from '@grpc/grpc-js';
import type { AcceptRequest, AcceptResponse } from '@paxos/proto';
import { pacedAccepts } from './acceptor-stream';
import { standInAcceptor as standIn } from './stand-in-acceptor.testing';

const accepted = (r: AcceptRequest): AcceptResponse => ({
  requestId: r.requestId,
  outcome: { $case: 'accepted', value: { ballot: r.accept?.ballot, slot: r.accept?.slot ?? 0n, committedIndex: 0n, durableCommittedIndex: 0n } },
});

describe('paced accepts (--acceptor) against a server that fails', () => {
  it('a stream the server breaks fails the run with its error instead of hanging it', async () => {
    const s = await standIn((call, r, n) => {
      if (n < 3) call.write(accepted(r));
      else call.emit('error', { code: status.INTERNAL, details: 'disk gone' });
    });
    try {
      await expect(pacedAccepts(s.address, process.pid, 10, 1, 0n, 5000)).rejects.toThrow(/disk gone/);
    } finally {
      s.stop();
    }
  }, 20_000);

  it('a server that stops answering fails the run at the deadline', async () => {
    const s = await standIn((call, r, n) => {
      if (n < 3) call.write(accepted(r));
    });
    try {
      const started = performance.now();
      await expect(pacedAccepts(s.address, process.pid, 10, 1, 0n, 500)).rejects.toThrow(/no answer to the accept of slot 3 at .* within 500 ms/);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      s.stop();
    }
  }, 20_000);
});

describe('paced accepts of batches with commits (--acceptor committedPaced)', () => {
  it('sends values of N commands, commits each slot on the next accept and the last one alone', async () => {
    const seen: AcceptRequest[] = [];
    const s = await standIn((call, r) => {
      seen.push(r);
      if (r.accept) call.write(accepted(r));
      else call.write({ requestId: r.requestId, outcome: { $case: 'committed', value: { committedIndex: 0n, durableCommittedIndex: 0n } } });
    });
    try {
      await pacedAccepts(s.address, process.pid, 10, 1, 5n, 5000, { commands: 3, commits: true });
    } finally {
      s.stop();
    }
    const accepts = seen.filter((r) => r.accept);
    expect(accepts.map((r) => r.accept?.slot)).toEqual(Array.from({ length: 11 }, (_, i) => 5n + BigInt(i)));
    for (const r of accepts) {
      const v = r.accept?.value?.kind;
      expect(v?.$case === 'batch' && new Set(v.value.commands.map((c) => c.clientRequestId)).size).toBe(3);
    }
    expect(accepts[0]?.commits).toEqual([]);
    expect(accepts.slice(1).map((r) => r.commits[0]?.fromSlot)).toEqual(accepts.slice(0, -1).map((r) => r.accept?.slot));
    const last = seen[seen.length - 1];
    expect(last?.accept).toBeUndefined();
    expect(last?.commits.map((c) => [c.fromSlot, c.toSlot])).toEqual([[15n, 16n]]);
  }, 20_000);
});
