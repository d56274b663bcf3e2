// An AcceptorService stand-in for the bench's specs: promises at once, and treats each message on
// its Accept stream as the spec says (answer it, break the stream, or stay silent).
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { type AcceptRequest, type AcceptResponse, AcceptorServiceService, type AcceptorServiceServer, type PrepareRequest, type PrepareResponse } from '@paxos/proto';

export type OnAcceptMessage = (call: ServerDuplexStream<AcceptRequest, AcceptResponse>, r: AcceptRequest, n: number) => void;

/** Serves the stand-in on a free loopback port (plaintext); `n` counts the Accept stream's messages from 0. */
export async function standInAcceptor(onAccept: OnAcceptMessage): Promise<{ address: string; stop: () => void }> {
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
      call.on('end', () => call.end());
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
