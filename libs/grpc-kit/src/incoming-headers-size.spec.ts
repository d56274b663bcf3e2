import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:http2';
import { HealthClient } from '@paxos/proto';
import { HEADER_LIST_BYTES_MAX, headerListBytes } from './incoming-headers';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('incoming-headers-size-test');
logger.level = 'silent';

it('counts headers as HTTP/2 does', () => {
  expect(headerListBytes({ ':path': '/a', 'x-k': ['v1', 'v2'] })).toBe(5 + 2 + 32 + 2 * (3 + 2 + 32));
});

describe('a call may send 16 KiB of headers', () => {
  let running: RunningServer;
  beforeAll(async () => {
    running = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [], maxReceiveBytes: 64 * 1024, transport: INSECURE, logger });
  });
  afterAll(() => running.shutdown(100));

  it('a grpc-js client with more is RESOURCE_EXHAUSTED, with less answered', async () => {
    const client = new HealthClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    const check = (bytes: number) => {
      const metadata = new grpc.Metadata();
      metadata.set('x-pad', 'a'.repeat(bytes));
      return new Promise<string>((resolve) => client.check({ service: '' }, metadata, (err) => resolve(err ? (grpc.status[err.code] ?? String(err.code)) : 'OK')));
    };
    try {
      expect(await check(8000)).toBe('OK');
      expect(await check(30_000)).toBe('RESOURCE_EXHAUSTED');
      expect(await check(100)).toBe('OK');
    } finally {
      client.close();
    }
  });

  it('calls sent before the client acknowledges the bound are held to it all the same (node applies it only after)', async () => {
    const session = connect(`http://127.0.0.1:${running.port}`);
    try {
      // Sent at once on connect: node still takes up to 64 KiB for these.
      const answers = await Promise.all(
        [60_000, 50_000, 100].map(
          (bytes) =>
            new Promise<{ code: string; details: string }>((resolve) => {
              const st = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers', 'x-pad': 'a'.repeat(bytes) });
              let got = { code: 'none', details: '' };
              const take = (h: Record<string, unknown>) => {
                if (h['grpc-status'] !== undefined) got = { code: String(h['grpc-status']), details: decodeURIComponent(String(h['grpc-message'] ?? '')) };
              };
              st.on('response', take);
              st.on('trailers', take);
              st.on('data', () => undefined);
              st.on('error', () => undefined);
              st.on('close', () => resolve(got));
              st.end(Buffer.alloc(5));
            }),
        ),
      );
      expect(answers.map((a) => a.code)).toEqual([String(grpc.status.RESOURCE_EXHAUSTED), String(grpc.status.RESOURCE_EXHAUSTED), String(grpc.status.OK)]);
      expect(answers[0]?.details).toMatch(`more than the ${HEADER_LIST_BYTES_MAX} a call may send`);
    } finally {
      session.close();
    }
  });
});
