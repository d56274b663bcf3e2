import * as grpc from '@grpc/grpc-js';
import { connect, type Http2Server } from 'node:http2';
import { endFinishedCalls } from './finished-calls';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('finished-calls-test');
logger.level = 'silent';
const REFLECTION = '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo';
/** ServerReflectionRequest { list_services: "" } */
const LIST_SERVICES = Buffer.from([0x3a, 0x00]);
/** Not a protobuf message (field number 0). */
const MALFORMED = Buffer.from([0x00, 0x01]);

describe('a stream the client keeps open after its status is reset NO_ERROR', () => {
  let running: RunningServer;
  let openStreams = 0;
  beforeAll(async () => {
    running = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [], maxReceiveBytes: 64 * 1024, transport: INSECURE, logger });
    // A shorter grace than the server's 5 s, so the test is quick.
    endFinishedCalls(running.server, logger, 300);
    for (const s of (running.server as unknown as { http2Servers: Map<Http2Server, unknown> }).http2Servers.keys()) {
      s.on('stream', (st) => {
        openStreams++;
        st.once('close', () => openStreams--);
      });
    }
  });
  afterAll(() => running.shutdown(100));

  it('unary calls refused before their end, never half-closed: the server keeps none of their streams', async () => {
    const session = connect(`http://127.0.0.1:${running.port}`);
    try {
      const resets = await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          new Promise<number>((resolve) => {
            // An unknown method, and a malformed request: both answered at once.
            const st = session.request({ ':method': 'POST', ':path': i % 2 ? '/grpc.health.v1.Health/Check' : '/no.Such/Method', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
            st.on('error', () => undefined);
            st.on('close', () => resolve(st.rstCode ?? -1));
            st.resume();
            st.write(Buffer.from([0, 0, 0, 0, 2, ...MALFORMED]));
          }),
        ),
      );
      expect(new Set(resets)).toEqual(new Set([0]));
      expect(openStreams).toBe(0);
    } finally {
      session.close();
    }
  });

  it('a grpc-js client still gets every answer and the status of a stream ended while it sends', async () => {
    const client = new grpc.Client(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    try {
      const call = client.makeBidiStreamRequest(REFLECTION, (b: Buffer) => b, (b: Buffer) => b);
      let answers = 0;
      call.on('data', () => answers++);
      const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      for (let i = 0; i < 50; i++) call.write(LIST_SERVICES);
      call.write(MALFORMED);
      // Never half-closed.
      const err = await ended;
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(answers).toBe(50);
    } finally {
      client.close();
    }
  });
});
