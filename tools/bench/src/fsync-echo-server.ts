import { closeSync, fdatasync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { type AcceptRequest, type AcceptResponse, AcceptorServiceService, type AcceptorServiceServer, type PrepareRequest, type PrepareResponse } from '@paxos/proto';

/**
 * The floor under one acceptor: a grpc-js AcceptorService with no Paxos, no log framing and no
 * state, whose Accept stream writes each request's value bytes to a file, fdatasyncs and answers
 * accepted (Prepare answers promised at once). What an accept costs here, any acceptor built on
 * grpc-js with a durable vote pays. Runs as its own process, like an acceptor.
 */
export async function startFsyncEchoServer(port: number, dir: string): Promise<{ port: number; stop: () => void }> {
  const path = join(dir, 'fsync-echo.bin');
  const fd = openSync(path, 'w');
  const unimplemented = () => {
    throw new Error('the fsync echo server only answers Prepare and Accept');
  };
  const impl: AcceptorServiceServer = {
    prepare(call: ServerDuplexStream<PrepareRequest, PrepareResponse>) {
      call.on('data', (r: PrepareRequest) => call.write({ requestId: r.requestId, outcome: { $case: 'promised', value: { ballot: r.ballot, accepted: [], truncated: false, committedIndex: 0n } } }));
    },
    accept(call: ServerDuplexStream<AcceptRequest, AcceptResponse>) {
      call.on('data', (r: AcceptRequest) => {
        if (!r.accept) return;
        const { ballot, slot, value } = r.accept;
        const bytes = value?.kind?.$case === 'batch' ? Buffer.concat(value.kind.value.commands.map((c) => c.value?.data ?? Buffer.alloc(0))) : Buffer.alloc(1);
        write(fd, bytes, (e) => {
          if (e) return call.destroy(e);
          fdatasync(fd, (e2) => (e2 ? call.destroy(e2) : call.write({ requestId: r.requestId, outcome: { $case: 'accepted', value: { ballot, slot, committedIndex: 0n, durableCommittedIndex: 0n } } })));
        });
      });
    },
    status: unimplemented,
    learn: unimplemented,
    installStateSnapshot: unimplemented,
    verifyClaims: unimplemented,
  };
  const server = new Server();
  server.addService(AcceptorServiceService, impl);
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    port: bound,
    stop: () => {
      server.forceShutdown();
      closeSync(fd);
    },
  };
}
