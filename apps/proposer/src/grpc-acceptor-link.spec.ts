// A paused acceptor takes nothing: what the proposer writes to it must not wait in memory without
// bound, and what it should send (a state snapshot) must not hold the proposer for a whole deadline.
import { type ServerDuplexStream, type ServerWritableStream, Server, ServerCredentials, status } from '@grpc/grpc-js';
import { createLogger, INSECURE } from '@paxos/grpc-kit';
import { type AcceptRequest, type AcceptResponse, AcceptorServiceService, type GetStateSnapshotRequest, type GetStateSnapshotResponse, ReadServiceService } from '@paxos/proto';
import { firstValueFrom } from 'rxjs';
import { GrpcAcceptorLink } from './grpc-acceptor-link';

const logger = createLogger('link-test');
logger.level = 'silent';

const KIB = 1024;

/** A commit notice carrying one value of `bytes` bytes. */
function notice(slot: bigint, bytes: number): Omit<AcceptRequest, 'requestId'> {
  const command = { clientRequestId: `c-${slot}`, value: { contentType: 'application/octet-stream', data: Buffer.alloc(bytes, 1) }, verifiedBy: [] };
  return { commits: [{ ballot: { round: 1n, proposerId: 1 }, fromSlot: slot, toSlot: slot + 1n, values: [{ kind: { $case: 'batch', value: { commands: [command] } } }] }], quorumCommittedIndex: 0n };
}

/** A link to the server on `port`, plaintext, with a minute's request deadline and 1 MiB of unsent bytes. */
function linkTo(port: number, inFlightMax: number): GrpcAcceptorLink {
  return new GrpcAcceptorLink(0, `127.0.0.1:${port}`, {
    requestDeadlineMs: 60_000,
    inFlightMax,
    unsentBytesMax: 1024 * KIB,
    reconnectBackoffMsMin: 100,
    reconnectBackoffMsMax: 1000,
    maxMessageBytes: 4 * 1024 * KIB,
    transport: INSECURE,
    logger,
  });
}

describe('a link to an acceptor that takes nothing', () => {
  let server: Server;
  let link: GrpcAcceptorLink;
  const streams: ServerDuplexStream<AcceptRequest, AcceptResponse>[] = [];

  beforeAll(async () => {
    server = new Server();
    server.addService(AcceptorServiceService, {
      // Like a process under SIGSTOP: the stream is open, nothing is read or answered.
      accept: (call: ServerDuplexStream<AcceptRequest, AcceptResponse>) => {
        streams.push(call);
        call.pause();
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    link = linkTo(port, 100_000);
  });

  afterAll(() => {
    link.close();
    server.forceShutdown();
  });

  it('fails requests at once with UNAVAILABLE once about unsentBytesMax wait to be written, instead of keeping them', async () => {
    const failures: { code?: number; message: string }[] = [];
    let sent = 0;
    // 64 MiB of notices if nothing stopped them; the transport takes a few MiB of windows and socket buffers.
    for (let slot = 0n; slot < 256n; slot++) {
      link.accept(notice(slot, 256 * KIB)).subscribe({ error: (e: { code?: number; message: string }) => failures.push(e) });
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 300));
    const refused = failures.filter((f) => /is not taking what was sent/.test(f.message));
    expect(refused.length).toBeGreaterThan(sent / 2);
    expect(refused[0]?.code).toBe(14); // UNAVAILABLE
    // Requests still pending are those written before the bound: far fewer than were asked.
    expect(link.inFlight).toBeLessThan(sent / 2);
  });

  it('sends again once the acceptor reads', async () => {
    for (const s of streams) {
      s.on('data', (r: AcceptRequest) => s.write({ requestId: r.requestId, outcome: { $case: 'committed', value: { committedIndex: 1n, durableCommittedIndex: 1n } } }));
      s.resume();
    }
    // What waited is written and answered first; then a new request goes through.
    let outcome: string | undefined;
    for (let i = 0; i < 100 && outcome === undefined; i++) {
      outcome = await firstValueFrom(link.accept(notice(1000n, 1))).then(
        (r) => r.outcome?.$case,
        () => new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)),
      );
    }
    expect(outcome).toBe('committed');
  });
});

describe('a state snapshot from an acceptor that stops sending', () => {
  let server: Server;
  let link: GrpcAcceptorLink;
  const calls: ServerWritableStream<GetStateSnapshotRequest, GetStateSnapshotResponse>[] = [];

  beforeAll(async () => {
    server = new Server();
    server.addService(ReadServiceService, {
      // Like a process paused, or cut off, with the request in flight: the call stays open, silent.
      getStateSnapshot: (call: ServerWritableStream<GetStateSnapshotRequest, GetStateSnapshotResponse>) => {
        calls.push(call);
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    link = linkTo(port, 100);
  });

  afterAll(() => {
    link.close();
    server.forceShutdown();
  });

  it('ends UNAVAILABLE once no chunk came for the idle bound, well inside the transfer deadline, and cancels the call', async () => {
    const err = (await link.stateSnapshot(600_000, 200).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: number; message?: string } | undefined;
    expect(err?.code).toBe(status.UNAVAILABLE);
    expect(err?.message).toMatch(/node 0 sent no state snapshot chunk for 200 ms/);
    expect(calls).toHaveLength(1);
    // Up to 10 s for the server to read the cancel from its socket (2 s is little for a loaded 2-core machine).
    for (let i = 0; i < 500 && !calls[0]?.cancelled; i++) await new Promise((r) => setTimeout(r, 20));
    expect(calls[0]?.cancelled).toBe(true);
  });
});
