import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:http2';
import { HealthClient, type HealthListResponse } from '@paxos/proto';
import { Registry } from 'prom-client';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('ended-call-metrics-test');
logger.level = 'silent';

const bytes = (b: Buffer) => b;
const codec = { requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes };
/** A unary method whose handler answers only once told (or never), one that answers at once, and a stream that ends when its client's input does. */
const definition = {
  Slow: { path: '/test.Ended/Slow', requestStream: false, responseStream: false, ...codec },
  Fast: { path: '/test.Ended/Fast', requestStream: false, responseStream: false, ...codec },
  Chat: { path: '/test.Ended/Chat', requestStream: true, responseStream: true, ...codec },
  Held: { path: '/test.Ended/Held', requestStream: false, responseStream: false, ...codec },
};

describe('calls that end before their handler answers', () => {
  let running: RunningServer;
  let client: grpc.Client;
  const registry = new Registry();
  /** Answers the Slow calls waiting (as a handler does that answers once its work is done, after its client left). */
  const waiting: Array<() => void> = [];
  beforeAll(async () => {
    const implementation = {
      Slow: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => waiting.push(() => done(null, Buffer.alloc(0))),
      Fast: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.alloc(0)),
      Held: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.alloc(0)),
      // As the acceptor's and the proposer's stream handlers: the answer stream ends when the input does.
      Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', () => undefined);
        call.on('end', () => call.end());
      },
    };
    running = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [{ name: 'test.Ended', definition, implementation }], maxReceiveBytes: 1024, transport: INSECURE, logger, metrics: registry });
    client = new grpc.Client(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await running.shutdown(100);
  });

  /** One unary call; the status code its client saw. */
  const call = (path: string, opts: grpc.CallOptions, cancelAfterMs?: number) =>
    new Promise<grpc.status>((resolve) => {
      const c = client.makeUnaryRequest(path, bytes, bytes, Buffer.alloc(0), opts, (err) => resolve(err ? (err.code as grpc.status) : grpc.status.OK));
      if (cancelAfterMs !== undefined) setTimeout(() => c.cancel(), cancelAfterMs);
    });

  /** The handled_total and handling_seconds_count samples of a method, by code. */
  const handled = async (method: string): Promise<Record<string, number>> => {
    const text = await registry.metrics();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(new RegExp(`^grpc_server_handled_total\\{grpc_method="${method}",grpc_code="(\\w+)"\\} (\\d+)$`, 'gm'))) out[m[1] as string] = Number(m[2]);
    const timed = new RegExp(`^grpc_server_handling_seconds_count\\{grpc_method="${method}"\\} (\\d+)$`, 'm').exec(text);
    out['timed'] = Number(timed?.[1] ?? 0);
    return out;
  };
  const settle = () => new Promise((r) => setTimeout(r, 100));
  /**
   * The method's samples once they hold `expected`, and one settle later (a count that then moved
   * on is a call counted twice). The server counts a call when it sees its end, a reset or a
   * closed connection it reads from its socket: one settle stood in for that, and a loaded machine
   * that held this process past it ran the timer before the socket was read. 10 s only bounds the
   * wait for a count that never comes.
   */
  const handledOnce = async (method: string, expected: Record<string, number>, partial = false): Promise<Record<string, number>> => {
    const holds = (got: Record<string, number>) => Object.entries(expected).every(([k, v]) => got[k] === v) && (partial || Object.keys(got).length === Object.keys(expected).length);
    const until = Date.now() + 10_000;
    while (!holds(await handled(method)) && Date.now() < until) await settle();
    await settle();
    return handled(method);
  };

  it('counts a call its deadline ended as DEADLINE_EXCEEDED, once, also when the handler answers after it', async () => {
    expect(await call('/test.Ended/Slow', { deadline: Date.now() + 200 })).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(await handledOnce('/test.Ended/Slow', { DEADLINE_EXCEEDED: 1, timed: 1 })).toEqual({ DEADLINE_EXCEEDED: 1, timed: 1 });
    for (const answer of waiting.splice(0)) answer();
    await settle();
    expect(await handled('/test.Ended/Slow')).toEqual({ DEADLINE_EXCEEDED: 1, timed: 1 });
  });

  it('counts a call its client cancelled as CANCELLED, once, also when the handler answers after it', async () => {
    expect(await call('/test.Ended/Slow', {}, 100)).toBe(grpc.status.CANCELLED);
    expect(await handledOnce('/test.Ended/Slow', { DEADLINE_EXCEEDED: 1, CANCELLED: 1, timed: 2 })).toEqual({ DEADLINE_EXCEEDED: 1, CANCELLED: 1, timed: 2 });
    for (const answer of waiting.splice(0)) answer();
    await settle();
    expect(await handled('/test.Ended/Slow')).toEqual({ DEADLINE_EXCEEDED: 1, CANCELLED: 1, timed: 2 });
  });

  it('counts a call answered in time once, with its own code', async () => {
    for (let i = 0; i < 3; i++) expect(await call('/test.Ended/Fast', { deadline: Date.now() + 5000 })).toBe(grpc.status.OK);
    await settle();
    expect(await handled('/test.Ended/Fast')).toEqual({ OK: 3, timed: 3 });
  });

  it('counts and times every method of the health service every server serves, List among them, by its own name', async () => {
    // List was counted as "unknown" and not timed: the server's own list of its paths named only Check and Watch.
    const health = new HealthClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    const listed = await new Promise<HealthListResponse>((resolve, reject) => health.list({}, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r))));
    health.close();
    expect(Object.keys(listed.statuses).sort()).toEqual(['', 'test.Ended']);
    await settle();
    expect(await handled('/grpc.health.v1.Health/List')).toEqual({ OK: 1, timed: 1 });
    expect(await handled('unknown')).toEqual({ timed: 0 });
  });

  it('counts a stream whose client vanished (its process killed) as CANCELLED, not OK, though its handler then ended it', async () => {
    // A stream its client ends and whose status it waits for: OK.
    const ended = client.makeBidiStreamRequest('/test.Ended/Chat', bytes, bytes);
    ended.on('data', () => undefined);
    const got = new Promise<grpc.status>((resolve) => ended.on('status', (st: grpc.StatusObject) => resolve(st.code)));
    ended.write(Buffer.alloc(0));
    ended.end();
    expect(await got).toBe(grpc.status.OK);
    expect(await handledOnce('/test.Ended/Chat', { OK: 1, timed: 0 })).toEqual({ OK: 1, timed: 0 });
    const session = connect(`http://127.0.0.1:${running.port}`);
    const stream = session.request({ ':method': 'POST', ':path': '/test.Ended/Chat', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => undefined);
    stream.write(Buffer.from([0, 0, 0, 0, 0]));
    await settle();
    session.destroy();
    expect(await handledOnce('/test.Ended/Chat', { OK: 1, CANCELLED: 1, timed: 0 })).toEqual({ OK: 1, CANCELLED: 1, timed: 0 });
  });

  it('counts a message over the size bound, which grpc-js refuses itself, as RESOURCE_EXHAUSTED', async () => {
    // Field 1, 2,000 bytes: past the server's 1,024.
    const big = Buffer.concat([Buffer.from([0x0a, 0xd0, 0x0f]), Buffer.alloc(2000)]);
    const code = await new Promise<grpc.status>((resolve) => client.makeUnaryRequest('/test.Ended/Fast', bytes, bytes, big, (err) => resolve(err ? (err.code as grpc.status) : grpc.status.OK)));
    expect(code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(await handledOnce('/test.Ended/Fast', { OK: 3, RESOURCE_EXHAUSTED: 1 }, true)).toMatchObject({ OK: 3, RESOURCE_EXHAUSTED: 1 });
  });

  it('counts a stream the server reset for the bytes of unfinished messages as RESOURCE_EXHAUSTED, what its client reads from the reset', async () => {
    // Messages of 1,024 bytes left one byte short, 100 on one connection: past its share (16 of the
    // 1,024-byte messages and 64 KiB), the streams whose messages arrived longest are reset with
    // ENHANCE_YOUR_CALM, which a grpc-js client reports as RESOURCE_EXHAUSTED. They were counted CANCELLED.
    const session = connect(`http://127.0.0.1:${running.port}`);
    session.on('error', () => undefined);
    const prefix = Buffer.from([0, 0, 0, 4, 0]);
    const streams = Array.from({ length: 100 }, () => {
      const stream = session.request({ ':method': 'POST', ':path': '/test.Ended/Held', 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => undefined);
      stream.write(Buffer.concat([prefix, Buffer.alloc(1023)]));
      return stream;
    });
    const held = 5 + 1023;
    const until = Date.now() + 10_000;
    // Settled once the server holds exactly what the streams the client sees open sent (resets on their way otherwise).
    while (running.arriving.totalBytes() !== streams.filter((st) => (st.rstCode ?? 0) === 0).length * held && Date.now() < until) await settle();
    const reset = streams.filter((st) => st.rstCode === 11).length;
    expect(reset).toBeGreaterThan(0);
    await settle();
    expect(await handled('/test.Ended/Held')).toEqual({ RESOURCE_EXHAUSTED: reset, timed: reset });
    session.destroy();
    expect(await handledOnce('/test.Ended/Held', { RESOURCE_EXHAUSTED: reset, CANCELLED: 100 - reset, timed: 100 })).toEqual({ RESOURCE_EXHAUSTED: reset, CANCELLED: 100 - reset, timed: 100 });
  });
});
