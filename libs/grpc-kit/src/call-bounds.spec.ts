import * as grpc from '@grpc/grpc-js';
import { CallBounds } from './call-bounds';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('call-bounds-test');
logger.level = 'silent';

const pass = (b: Buffer) => b;
/** A method that answers only when the test says, so its calls stay open. */
const definition = {
  hang: { path: '/t.Calls/Hang', requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
};

describe('calls open at once on a server', () => {
  let running: RunningServer;
  let client: grpc.Client;
  const answers: (() => void)[] = [];
  let handled = 0;

  beforeAll(async () => {
    running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1024,
      transport: INSECURE,
      maxCalls: 64,
      maxCallsPerClient: 16,
      services: [
        {
          name: 't.Calls',
          definition,
          implementation: {
            hang: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => {
              handled++;
              answers.push(() => cb(null, Buffer.from('ok')));
            },
          },
        },
      ],
      logger,
    });
    client = new grpc.Client(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await running.shutdown(100);
  });

  const call = () =>
    new Promise<string>((resolve) =>
      client.makeUnaryRequest('/t.Calls/Hang', pass, pass, Buffer.alloc(0), { deadline: Date.now() + 10_000 }, (e) => resolve(e ? String(grpc.status[e.code]) : 'OK')),
    );

  it('refuses one more call from a client at its share before any handler runs, and takes calls again as they end', async () => {
    const open = Array.from({ length: 16 }, () => call());
    while (handled < 16) await new Promise((r) => setTimeout(r, 10));
    expect(await call()).toBe('RESOURCE_EXHAUSTED');
    expect(handled).toBe(16);
    for (const answer of answers.splice(0)) answer();
    expect(await Promise.all(open)).toEqual(Array(16).fill('OK'));
    const again = call();
    while (answers.length === 0) await new Promise((r) => setTimeout(r, 10));
    answers.shift()?.();
    expect(await again).toBe('OK');
  });
});

describe('the count of calls', () => {
  it('holds per client and in all', () => {
    const bounds = new CallBounds({ total: 3, perClient: 2 });
    expect(bounds.admit('a')).toBeUndefined();
    expect(bounds.admit('a')).toBeUndefined();
    expect(bounds.admit('a')).toMatch(/--max-calls-per-client/);
    expect(bounds.admit('b')).toBeUndefined();
    expect(bounds.admit('c')).toMatch(/--max-calls\)/);
    bounds.end('a');
    expect(bounds.admit('c')).toBeUndefined();
    expect(bounds.openCalls).toBe(3);
  });
});
