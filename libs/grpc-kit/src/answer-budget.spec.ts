import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { AnswerBudget, messageBytes } from './answer-budget';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('answer-budget-test');
logger.level = 'silent';

const MIB = 1024 * 1024;
const pass = (b: Buffer) => b;
/** A read and a write whose answers are as many MiB as the request says (0: two bytes). */
const definition = {
  read: { path: '/t.Big/Read', requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
  late: { path: '/t.Big/Late', requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
  write: { path: '/t.Big/Write', requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
};
const implementationCalls = { write: 0, late: 0 };
const answerOf = (request: Buffer) => (request[1] ? Buffer.alloc(request[1] * MIB, 1) : Buffer.from('ok'));
const implementation = {
  read: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, answerOf(call.request)),
  // Answers after 300 ms, whether its client still waits or not.
  late: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
    setTimeout(() => {
      implementationCalls.late++;
      cb(null, answerOf(call.request));
    }, 300),
  write: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    implementationCalls.write++;
    cb(null, answerOf(call.request));
  },
};

/** A protobuf message whose field 1 is the answer's size in MiB. */
const request = (mib: number) => Buffer.from([0x08, mib]);

/** One gRPC frame holding `payload`. */
function frame(payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** A raw HTTP/2 call that never reads its answer (its window stays closed); resolves with the status, if one comes before the stream is left. */
function unreadCall(session: http2.ClientHttp2Session, path: string, mib: number): { status: Promise<number | undefined> } {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.end(frame(request(mib)));
  stream.pause();
  const status = new Promise<number | undefined>((resolve) => {
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) resolve(Number(headers['grpc-status']));
    });
    stream.on('trailers', (trailers) => resolve(Number(trailers['grpc-status'])));
    stream.on('close', () => resolve(undefined));
  });
  return { status };
}

const settle = () => new Promise((r) => setTimeout(r, 300));

/** Waits until `done()` holds (polled), for at most 10 s. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
}

/** The statuses that arrived so far, by call. */
function outcomesOf(calls: readonly { status: Promise<number | undefined> }[]): (number | undefined | 'waiting')[] {
  const outcomes: (number | undefined | 'waiting')[] = calls.map(() => 'waiting');
  calls.forEach((c, i) => void c.status.then((s) => (outcomes[i] = s)));
  return outcomes;
}
const count = (outcomes: readonly unknown[], o: unknown) => outcomes.filter((x) => x === o).length;

describe('the budget of unread unary answers', () => {
  let running: RunningServer;
  let client: grpc.Client;
  let session: http2.ClientHttp2Session;

  beforeEach(async () => {
    running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1024,
      transport: INSECURE,
      maxPendingAnswerBytes: 64 * MIB,
      maxPendingAnswerBytesPerPeer: 16 * MIB,
      services: [{ name: 't.Big', definition, implementation, readMethods: ['read', 'late'] }],
      logger,
    });
    client = new grpc.Client(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    session = http2.connect(`http://127.0.0.1:${running.port}`);
  });

  afterEach(async () => {
    session.destroy();
    client.close();
    await running.shutdown(100);
  });

  const callWithin = (path: string, mib: number, ms: number) =>
    new Promise<{ code: number; details: string; bytes: number }>((resolve) => {
      client.makeUnaryRequest(path, pass, pass, request(mib), { deadline: Date.now() + ms }, (err, answer) =>
        resolve(err ? { code: err.code, details: err.details, bytes: 0 } : { code: 0, details: '', bytes: answer?.length ?? 0 }),
      );
    });
  const call = (path: string, mib: number) => callWithin(path, mib, 10_000);

  it('refuses the large reads of a client that does not read its answers once it holds its share; a write is always answered', async () => {
    const outcomes = outcomesOf(Array.from({ length: 8 }, () => unreadCall(session, '/t.Big/Read', 4)));
    await until(() => count(outcomes, grpc.status.RESOURCE_EXHAUSTED) >= 5);
    await settle();
    // Three 4 MiB answers fit in its 16 MiB; the five beyond were refused.
    expect(count(outcomes, 'waiting')).toBe(3);
    expect(count(outcomes, grpc.status.RESOURCE_EXHAUSTED)).toBe(5);
    expect(running.answers.heldBytes).toBeLessThanOrEqual(16 * MIB);
    // On plaintext a client is its connection: another one is served (local processes share an address).
    expect(await call('/t.Big/Read', 4)).toEqual({ code: 0, details: '', bytes: 4 * MIB });

    // A write's answer goes out even beyond the share; then the client is refused before any handler runs.
    const bigWrite = outcomesOf([unreadCall(session, '/t.Big/Write', 8)]);
    await settle();
    expect(bigWrite).toEqual(['waiting']);
    const writes = implementationCalls.write;
    const refused = outcomesOf([unreadCall(session, '/t.Big/Write', 0)]);
    await until(() => refused[0] !== 'waiting');
    expect(refused).toEqual([grpc.status.RESOURCE_EXHAUSTED]);
    expect(implementationCalls.write).toBe(writes);

    // Leaving the unread calls gives their bytes back.
    session.destroy();
    await until(() => running.answers.heldBytes === 0);
    expect(running.answers.heldBytes).toBe(0);
  });

  it('gives back the bytes of an answer its client no longer waits for (deadline passed, cancelled)', async () => {
    const late = await Promise.all(Array.from({ length: 5 }, () => callWithin('/t.Big/Late', 1, 50)));
    expect(late.every((r) => r.code === grpc.status.DEADLINE_EXCEEDED)).toBe(true);
    await until(() => implementationCalls.late >= 5);
    await settle();
    expect(running.answers.heldBytes).toBe(0);
    expect(await call('/t.Big/Read', 4)).toEqual({ code: 0, details: '', bytes: 4 * MIB });
  });

  it('never holds much more than the share for one peer, however many calls it leaves unread', async () => {
    const outcomes = outcomesOf(Array.from({ length: 40 }, () => unreadCall(session, '/t.Big/Read', 4)));
    await until(() => count(outcomes, grpc.status.RESOURCE_EXHAUSTED) >= 37);
    await settle();
    expect(count(outcomes, grpc.status.RESOURCE_EXHAUSTED)).toBe(37);
    expect(running.answers.heldBytes).toBeLessThanOrEqual(16 * MIB);
  });
});

describe('the estimate of a message', () => {
  it('counts bytes and strings of nested answers', () => {
    expect(messageBytes({ chosen: [{ value: new Uint8Array(1000), slot: 1n }, { value: new Uint8Array(3000), slot: 2n }], note: 'x'.repeat(500) })).toBeGreaterThanOrEqual(4500);
    expect(messageBytes({ slot: 1n })).toBeLessThan(64);
  });
});

describe('the bounds of the budget', () => {
  it('holds per peer and in all, and gives back what it held once', () => {
    const budget = new AnswerBudget({ totalBytes: 10, perPeerBytes: 6 });
    const release = budget.hold('a', 6);
    expect(budget.refusal('a')).toMatch(/per client/);
    expect(budget.refusal('b')).toBeUndefined();
    budget.hold('b', 5);
    expect(budget.refusal('c')).toMatch(/ask again shortly/);
    release();
    release();
    expect(budget.heldFor('a')).toBe(0);
    expect(budget.heldBytes).toBe(5);
  });
});
