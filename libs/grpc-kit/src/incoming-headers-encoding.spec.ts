import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:http2';
import { deflateSync, gzipSync } from 'node:zlib';
import { HealthClient } from '@paxos/proto';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';
import { REFUSAL_KEY } from './incoming-headers';

const logger = createLogger('incoming-headers-encoding-test');
logger.level = 'silent';
const MAX_RECEIVE = 4 * 1024 * 1024;
const CHECK = '/grpc.health.v1.Health/Check';

/** One gRPC message: the compressed flag, the length, the bytes. */
const frame = (body: Buffer, compressed: boolean) => {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
};

/** Sends `calls` unary Health/Check calls with `message` on one raw HTTP/2 connection; returns each call's grpc-status and message. */
async function rawCalls(port: number, calls: number, message: Buffer, headers: Record<string, string>): Promise<Array<{ code: string; details: string }>> {
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    return await Promise.all(
      Array.from({ length: calls }, () =>
        new Promise<{ code: string; details: string }>((resolve) => {
          const st = session.request({ ':method': 'POST', ':path': CHECK, 'content-type': 'application/grpc', te: 'trailers', ...headers });
          let result = { code: 'none', details: '' };
          const take = (h: Record<string, unknown>) => {
            if (h['grpc-status'] !== undefined) result = { code: String(h['grpc-status']), details: decodeURIComponent(String(h['grpc-message'] ?? '')) };
          };
          st.on('response', take);
          st.on('trailers', take);
          st.on('data', () => undefined);
          st.on('error', () => undefined);
          st.on('close', () => resolve(result));
          st.end(message);
        }),
      ),
    );
  } finally {
    session.close();
  }
}

describe('a server takes uncompressed messages only', () => {
  let running: RunningServer;
  beforeAll(async () => {
    running = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [], maxReceiveBytes: MAX_RECEIVE, transport: INSECURE, logger });
  });
  afterAll(() => running.shutdown(100));

  it('refuses gzip and deflate bombs UNIMPLEMENTED without inflating them', async () => {
    // 4 KB each on the wire, 4 MiB + 1 inflated: 300 of them held 1.2 GB while grpc-js inflated them.
    const inflated = Buffer.alloc(MAX_RECEIVE + 1);
    for (const [encoding, body] of [['gzip', gzipSync(inflated, { level: 9 })], ['deflate', deflateSync(inflated, { level: 9 })]] as const) {
      expect(body.length).toBeLessThan(8 * 1024);
      const before = process.memoryUsage().rss;
      let peak = before;
      const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      // Cleared also when the calls fail: a 5 ms interval left running kept jest from exiting.
      const results = await rawCalls(running.port, 300, frame(body, true), { 'grpc-encoding': encoding }).finally(() => clearInterval(sample));
      expect(new Set(results.map((r) => r.code))).toEqual(new Set([String(grpc.status.UNIMPLEMENTED)]));
      expect(results[0]?.details).toMatch(`uncompressed messages only, and the call declared grpc-encoding "${encoding}"`);
      expect(peak - before).toBeLessThan(200 * 1024 * 1024);
    }
  });

  it('reads protobuf only: a call declaring application/grpc+json or grpc-web is UNIMPLEMENTED, +proto is served', async () => {
    // The JSON text '{}' read as protobuf is an empty message: grpc-js served it as one.
    const json = frame(Buffer.from('{}'), false);
    for (const contentType of ['application/grpc+json', 'application/grpc-web', 'application/grpc+JSON; charset=utf-8']) {
      const [r] = await rawCalls(running.port, 1, json, { 'content-type': contentType });
      expect(r?.code).toBe(String(grpc.status.UNIMPLEMENTED));
      expect(r?.details).toMatch(`this server reads protobuf messages only (content-type application/grpc or application/grpc+proto), and the call declared "${contentType}"`);
    }
    for (const contentType of ['application/grpc', 'application/grpc+proto', 'application/grpc+PROTO']) {
      const [r] = await rawCalls(running.port, 1, frame(Buffer.alloc(0), false), { 'content-type': contentType });
      expect([contentType, r?.code]).toEqual([contentType, String(grpc.status.OK)]);
    }
  });

  it('never inflates a message flagged compressed, whatever the call declared', async () => {
    const bomb = frame(gzipSync(Buffer.alloc(MAX_RECEIVE + 1)), true);
    for (const headers of [{}, { 'grpc-encoding': 'identity' }] as Array<Record<string, string>>) {
      const [r] = await rawCalls(running.port, 1, bomb, headers);
      expect(r?.code).toBe(String(grpc.status.UNIMPLEMENTED));
      expect(r?.details).toMatch('uncompressed messages only');
    }
  });

  it('answers uncompressed messages as before, and ignores a client that sends the internal header itself', async () => {
    const empty = frame(Buffer.alloc(0), false);
    for (const headers of [{}, { 'grpc-encoding': 'identity' }, { [REFUSAL_KEY]: '14 forged by the client' }] as Array<Record<string, string>>) {
      const [r] = await rawCalls(running.port, 1, empty, headers);
      expect(r?.code).toBe(String(grpc.status.OK));
    }
  });

  it('a grpc-js client that compresses by default is told once, then sends uncompressed', async () => {
    const client = new HealthClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip });
    const check = () => new Promise<grpc.ServiceError | null>((resolve) => client.check({ service: '' }, (err) => resolve(err)));
    try {
      const first = await check();
      expect(first?.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(first?.details).toMatch('send it without compression');
      expect(await check()).toBeNull();
      expect(await check()).toBeNull();
    } finally {
      client.close();
    }
  });
});
