// A client that sends reflection requests on many streams and never reads the answers (an HTTP/2
// client whose window is 0): a file answer is tens of KB, and each stream queued about 17 of them
// before it stopped reading, on each of the 4,096 calls a client may open. The answers it has not
// taken now count against its share of the server's answer budget, and at the share none of its
// streams reads another request.
import * as http2 from 'node:http2';
import { reflectionV1 } from '@paxos/proto';
import { DescriptorIndex } from './descriptor-index';
import { INSECURE } from './tls';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';

jest.setTimeout(30_000);

const logger = createLogger('unread-reflection');
logger.level = 'silent';

const STREAMS = 64;
const PER_STREAM = 200;
const SYMBOL = 'paxos.v1.ProposerService';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reflection answers a client never reads', () => {
  let server: RunningServer;
  const index = DescriptorIndex.fromGenerated();
  const answerBytes = index.fileWithDependencies(index.fileOfSymbol(SYMBOL) as string).reduce((s, b) => s + b.byteLength, 0);
  /** Room for about ten answers. */
  const share = 10 * answerBytes;
  beforeAll(async () => {
    server = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1024 * 1024, transport: INSECURE, logger, services: [], maxPendingAnswerBytesPerPeer: share, maxPendingAnswerBytes: 4 * share });
  });
  afterAll(() => server.shutdown(100));

  it('stops reading at the share, and gives the bytes back when the client goes', async () => {
    const answered = jest.spyOn(DescriptorIndex.prototype, 'fileWithDependencies');
    const session = http2.connect(`http://127.0.0.1:${server.port}`, { settings: { initialWindowSize: 0 } });
    session.on('error', () => undefined);
    const request = reflectionV1.ServerReflectionRequest.encode({ host: '', messageRequest: { $case: 'fileContainingSymbol', value: SYMBOL } }).finish();
    const framed = Buffer.alloc(5 + request.length);
    framed.writeUInt32BE(request.length, 1);
    framed.set(request, 5);
    for (let s = 0; s < STREAMS; s++) {
      const stream = session.request({ ':method': 'POST', ':path': '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => undefined);
      stream.write(Buffer.concat(Array.from({ length: PER_STREAM }, () => framed)));
    }
    let last = -1;
    for (let quiet = 0; quiet < 4; ) {
      await sleep(250);
      const n = answered.mock.calls.length;
      quiet = n === last && n > 0 ? quiet + 1 : 0;
      last = n;
    }
    // About ten answers fill the share; a stream answers at most one more once it is full
    // (before: every stream queued about 17, over a thousand here).
    expect(answered.mock.calls.length).toBeLessThanOrEqual(share / answerBytes + 2 * STREAMS);
    expect(server.answers.heldBytes).toBeGreaterThan(0);
    expect(server.answers.heldBytes).toBeLessThanOrEqual(2 * share + STREAMS * 2 * answerBytes);
    session.destroy();
    // Up to 10 s for the server to see the connection gone (2 s is little for a loaded 2-core machine).
    for (let i = 0; i < 200 && server.answers.heldBytes > 0; i++) await sleep(50);
    expect(server.answers.heldBytes).toBe(0);
    answered.mockRestore();
  });
});
