import * as grpc from '@grpc/grpc-js';
import { createLogger } from './logger';
import { startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('shutdown-status-test');
logger.level = 'silent';

const pass = (b: Buffer) => b;
/** A stream that sends one message and never ends (as WatchChosen does), and a unary call that never answers. */
const definition = {
  follow: { path: '/t.Long/Follow', requestStream: false, responseStream: true, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
  hang: { path: '/t.Long/Hang', requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
};

describe('calls still open when a server shuts down', () => {
  it('end UNAVAILABLE (which clients retry), not reset (which a grpc-js client reads as CANCELLED, its own cancel)', async () => {
    let handled = 0;
    const running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1024,
      transport: INSECURE,
      logger,
      services: [
        {
          name: 't.Long',
          definition,
          implementation: {
            follow: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
              handled++;
              call.write(Buffer.from('slot 0'));
            },
            hang: () => {
              handled++;
            },
          },
        },
      ],
    });
    const client = new grpc.Client(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    try {
      const stream = client.makeServerStreamRequest('/t.Long/Follow', pass, pass, Buffer.alloc(0));
      let received = 0;
      stream.on('data', () => received++);
      const streamEnd = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
      const unaryEnd = new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest('/t.Long/Hang', pass, pass, Buffer.alloc(0), (e) => resolve(e)));
      while (handled < 2 || received < 1) await new Promise((r) => setTimeout(r, 10));
      await running.shutdown(200);
      const [s, u] = await Promise.all([streamEnd, unaryEnd]);
      expect({ code: grpc.status[s.code], details: s.details }).toEqual({ code: 'UNAVAILABLE', details: expect.stringMatching(/shutting down.*retry/) });
      expect(u && grpc.status[u.code]).toBe('UNAVAILABLE');
    } finally {
      client.close();
    }
  });
});
