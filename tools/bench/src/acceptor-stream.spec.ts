import { Server, ServerCredentials, type ServerDuplexStream, status } from '@grpc/grpc-js';
import { type AcceptRequest, type AcceptResponse, AcceptorServiceService, type AcceptorServiceServer, type PrepareRequest, type PrepareResponse } from '@paxos/proto';
import { pacedAccepts } from './acceptor-stream';

/** An AcceptorService that promises at once and treats accepts as `onAccept` says. */
async function standIn(onAccept: (call: ServerDuplexStream<AcceptRequest, AcceptResponse>, r: AcceptRequest, n: number) => void): Promise<{ address: string; stop: () => void }> {
  const unimplemented = () => {
    throw new Error('not here');
  };
  const impl: AcceptorServiceServer = {
    prepare(call: ServerDuplexStream<PrepareRequest, PrepareResponse>) {
      call.on('data', (r: PrepareRequest) => call.write({ requestId: r.requestId, outcome: { $case: 'promised', value: { ballot: r.ballot, accepted: [], truncated: false, committedIndex: 0n } } }));
      call.on('end', () => call.end());
    },
    accept(call: ServerDuplexStream<AcceptRequest, AcceptResponse>) {
      let n = 0;
      call.on('data', (r: AcceptRequest) => onAccept(call, r, n++));
    },
    status: unimplemented,
    learn: unimplemented,
    installStateSnapshot: unimplemented,
    verifyClaims: unimplemented,
  };
  const server = new Server();
  server.addService(AcceptorServiceService, impl);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

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
