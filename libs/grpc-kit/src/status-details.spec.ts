import * as grpc from '@grpc/grpc-js';
import { type AcceptorServiceServer, AcceptorServiceClient, AcceptorServiceService, HealthClient, type PrepareRequest, type PrepareResponse } from '@paxos/proto';
import { boundedDetails, GrpcError, STATUS_DETAILS_MAX, toServiceError } from './grpc-errors';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('status-details-test');
logger.level = 'silent';

const EMOJI = '\u{1F600}';
// Matching control characters is this pattern's purpose.
// eslint-disable-next-line no-control-regex
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// Each Prepare stream ends, a turn after its first request, with the status message the request's
// ballot round picks: what a handler answering from a promise does.
const MESSAGES = [`${'x'.repeat(STATUS_DETAILS_MAX - 65)}${EMOJI}${'y'.repeat(100)}`, `label \u001b[2J\u009b31m\u202eevil is unknown`, `claim says ${'z'.repeat(100_000)}`, `cut \ud83d`];
const failing: Partial<AcceptorServiceServer> = {
  prepare(call: grpc.ServerDuplexStream<PrepareRequest, PrepareResponse>) {
    call.once('data', (req: PrepareRequest) => {
      void Promise.resolve().then(() => call.emit('error', toServiceError(new GrpcError(grpc.status.FAILED_PRECONDITION, MESSAGES[Number(req.ballot?.round ?? 0n)] as string))));
    });
  },
};

describe('status messages', () => {
  let running: RunningServer;
  let address: string;
  beforeAll(async () => {
    running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1024 * 1024,
      transport: INSECURE,
      logger,
      services: [{ name: 'paxos.v1.AcceptorService', definition: AcceptorServiceService, implementation: failing }],
    });
    address = `127.0.0.1:${running.port}`;
  });
  afterAll(() => running.shutdown(1000));

  it('reach the client bounded, well-formed and without terminal controls, however the handler cut them', async () => {
    const client = new AcceptorServiceClient(address, grpc.credentials.createInsecure());
    const details: string[] = [];
    for (const [i, sent] of MESSAGES.entries()) {
      const call = client.prepare({ deadline: Date.now() + 3000 });
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        call.on('data', () => undefined);
        call.on('error', resolve);
        call.write({ requestId: 0n, ballot: { round: BigInt(i), proposerId: 1 }, fromSlot: 0n });
      });
      // Not DEADLINE_EXCEEDED: a lone surrogate made grpc-js's encodeURI throw, and no status left.
      expect([i, err.code]).toEqual([i, grpc.status.FAILED_PRECONDITION]);
      expect(err.details.length).toBeLessThanOrEqual(STATUS_DETAILS_MAX);
      expect(err.details).not.toMatch(TERMINAL_CONTROL);
      expect(err.details).not.toMatch(LONE_SURROGATE);
      expect(err.details.slice(0, 4)).toBe(sent.slice(0, 4));
      details.push(err.details);
    }
    client.close();
    expect(details[0]).toMatch(/^x{4031}\ufffd\.\.\. \(101 more characters\)$/);
    expect(details[1]).toBe('label \\u001b[2J\\u009b31m\\u202eevil is unknown');
    expect(details[3]).toBe('cut \ufffd');
  });

  it('a health check of a long name with emoji (cut to 200 UTF-16 units inside a pair) is NOT_FOUND, not UNKNOWN', async () => {
    const client = new HealthClient(address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) => client.check({ service: `a${EMOJI.repeat(150)}` }, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (e) => resolve(e as grpc.ServiceError)));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toMatch(/^unknown service "a\u{1F600}+\ufffd" \(cut\)/u);
    client.close();
  });

  it('a call of a one-request method with no request message, or two, is INVALID_ARGUMENT saying so, not UNIMPLEMENTED', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const pass = (b: Buffer) => b;
    const send = (messages: number) =>
      new Promise<grpc.ServiceError>((resolve) => {
        const call = client.makeClientStreamRequest('/grpc.health.v1.Health/Check', pass, pass, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (e) => resolve(e as grpc.ServiceError));
        for (let i = 0; i < messages; i++) call.write(Buffer.alloc(0));
        call.end();
      });
    expect(await send(0)).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'the call ended without a request message: /grpc.health.v1.Health/Check takes exactly one' });
    expect(await send(2)).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'a second request message arrived: /grpc.health.v1.Health/Check takes exactly one' });
    client.close();
  });

  it('boundedDetails of random text can always be sent (encodeURI does not throw), within its bound', () => {
    const seed = Number(process.env['SEED'] ?? 20261205);
    console.log(`status-details seed ${seed} (SEED=${seed} to repeat)`);
    let x = seed >>> 0;
    const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
    const units = [0x41, 0x0a, 0x1b, 0x9b, 0x202e, 0xd83d, 0xde00, 0x4e2d, 0x00e9, 0x2028];
    for (let n = 0; n < 100; n++) {
      const length = next() % 9000;
      let text = '';
      for (let i = 0; i < length; i++) text += String.fromCharCode(units[next() % units.length] as number);
      const d = boundedDetails(text);
      expect(() => encodeURI(d)).not.toThrow();
      expect(d.length).toBeLessThanOrEqual(STATUS_DETAILS_MAX);
      expect(d).not.toMatch(TERMINAL_CONTROL);
    }
  });
});
