import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:http2';
import { HealthClient } from '@paxos/proto';
import { timeoutVerdict } from './incoming-headers';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('incoming-headers-deadline-test');
logger.level = 'silent';
const DAY_MS = 86_400_000;

describe('grpc-timeout', () => {
  it('keeps what a timer holds, drops longer, and names malformed', () => {
    expect(timeoutVerdict('100m')).toBe('keep');
    expect(timeoutVerdict('24H')).toBe('keep');
    expect(timeoutVerdict('2147483S')).toBe('keep');
    expect(timeoutVerdict('2147484S')).toBe('drop');
    expect(timeoutVerdict('720H')).toBe('drop');
    expect(timeoutVerdict('99999999H')).toBe('drop');
    expect(timeoutVerdict('abc')).toBe('malformed');
    expect(timeoutVerdict('10x')).toBe('malformed');
    // Anchored, as the gRPC spec has it: no sign, at most 8 digits, one unit, nothing around them.
    for (const v of ['-5S', '123456789S', '5S5', ' 5S', '5S ', '5 S', '+5S', '5SS', '1.5S', '']) expect(timeoutVerdict(v)).toBe('malformed');
    expect(timeoutVerdict('00000005n')).toBe('keep');
  });

  describe('on a server', () => {
    let running: RunningServer;
    let client: HealthClient;
    beforeAll(async () => {
      running = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [], maxReceiveBytes: 64 * 1024, transport: INSECURE, logger });
      client = new HealthClient(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    });
    afterAll(async () => {
      client.close();
      await running.shutdown(100);
    });

    /** Opens a Health Watch with `deadline`; says how it ended within `waitMs`, or 'open'. */
    const watch = (deadline: number, waitMs: number) =>
      new Promise<string>((resolve) => {
        const call = client.watch({ service: '' }, { deadline });
        const timer = setTimeout(() => {
          call.cancel();
          resolve('open');
        }, waitMs);
        call.on('data', () => undefined);
        call.on('error', (e: grpc.ServiceError) => {
          clearTimeout(timer);
          resolve(grpc.status[e.code] ?? String(e.code));
        });
      });

    it('a stream with a deadline of 25, 30 or 365 days stays open (grpc-js wrapped it past 2^31 ms and ended it at once)', async () => {
      const ended = await Promise.all([25, 30, 365].map((days) => watch(Date.now() + days * DAY_MS, 300)));
      expect(ended).toEqual(['open', 'open', 'open']);
    });

    it('a short deadline still ends the stream', async () => {
      expect(await watch(Date.now() + 100, 3000)).toBe('DEADLINE_EXCEEDED');
    });

    it('a malformed grpc-timeout is INVALID_ARGUMENT, not INTERNAL (a sign or a ninth digit included, which grpc-js read past)', async () => {
      const session = connect(`http://127.0.0.1:${running.port}`);
      try {
        for (const timeout of ['soon', '-5S', '123456789S']) {
          const trailers = await new Promise<Record<string, unknown>>((resolve) => {
            const st = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': timeout });
            st.on('response', (h) => resolve(h as Record<string, unknown>));
            st.on('error', () => undefined);
            st.end(Buffer.alloc(5));
          });
          expect(trailers['grpc-status']).toBe(String(grpc.status.INVALID_ARGUMENT));
          expect(decodeURIComponent(String(trailers['grpc-message']))).toMatch(`grpc-timeout "${timeout}" is not 1-8 digits and a unit`);
        }
      } finally {
        session.close();
      }
    });
  });
});
