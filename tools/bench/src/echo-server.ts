import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { type ProposeRequest, type ProposeResponse, ProposerServiceService, type ProposerServiceServer } from '@paxos/proto';

/**
 * The baseline: a grpc-js server whose Propose answers at once (no consensus), so the cost of
 * consensus shows as a ratio at the same concurrency. Runs as its own process, like a proposer.
 */
export async function startEchoServer(port: number): Promise<number> {
  const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  const unimplemented = () => {
    throw new Error('the echo server only answers Propose');
  };
  const impl: ProposerServiceServer = {
    propose(call: ServerUnaryCall<ProposeRequest, ProposeResponse>, cb: sendUnaryData<ProposeResponse>) {
      cb(null, { clientRequestId: call.request.clientRequestId, slot: 0n, valueDigest: '', duplicate: false, votes: [] });
    },
    proposeStream: unimplemented,
    proposeBulk: unimplemented,
    watchChosen: unimplemented,
    clusterStatus: unimplemented,
  };
  server.addService(ProposerServiceService, impl);
  return new Promise((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
}
