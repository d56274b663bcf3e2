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
