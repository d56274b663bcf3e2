// An acceptor's health statuses say what it can do, as its Status does: the node ("") while its
// storage lets it vote, AcceptorService while it votes (not while it rejoins), ReadService while
// its state machine applies the chosen log. They were all set together from the storage events
// alone: a node whose state machine had stopped answered Check SERVING for ReadService while every
// read answered UNAVAILABLE, and a recovered disk set ReadService SERVING again whatever its state.
import { credentials, Metadata } from '@grpc/grpc-js';
import { createLogger, INSECURE, type RunningServer, ServingStatus, startGrpcServer } from '@paxos/grpc-kit';
import { AcceptorServiceService, HealthClient, ReadServiceService } from '@paxos/proto';
import { type AcceptorHealthFacts, followAcceptorHealth } from './node-health';

const logger = createLogger('node-health');
logger.level = 'silent';

const healthy: AcceptorHealthFacts = { storageFailure: undefined, rejoining: false, stateError: undefined };

describe("an acceptor's health statuses", () => {
  let running: RunningServer;
  let client: HealthClient;
  let facts: AcceptorHealthFacts = healthy;
  let follow: ReturnType<typeof followAcceptorHealth>;

  beforeAll(async () => {
    running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1 << 20,
      transport: INSECURE,
      logger,
      services: [
        { name: 'paxos.v1.AcceptorService', definition: AcceptorServiceService, implementation: {} },
        { name: 'paxos.v1.ReadService', definition: ReadServiceService, implementation: {} },
      ],
    });
    client = new HealthClient(`127.0.0.1:${running.port}`, credentials.createInsecure());
    follow = followAcceptorHealth(running.health, () => facts, 50);
  });
  afterAll(async () => {
    follow.stop();
    client.close();
    await running.shutdown(100);
  });

  /** Check of the node and of each service, over the wire, as grpcurl asks. */
  const check = (service: string) =>
    new Promise<string>((resolve, reject) =>
      client.check({ service }, new Metadata(), { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(ServingStatus[r.status] as string))),
    );
  const all = async () => ({ node: await check(''), acceptor: await check('paxos.v1.AcceptorService'), reads: await check('paxos.v1.ReadService') });
  const becomes = async (next: AcceptorHealthFacts, expected: Awaited<ReturnType<typeof all>>) => {
    facts = next;
    // The storage events update at once; the rest within the follow interval.
    for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      if (JSON.stringify(await all()) === JSON.stringify(expected)) break;
    }
    expect(await all()).toEqual(expected);
  };

  it('are SERVING for a node that votes and applies', async () => {
    expect(await all()).toEqual({ node: 'SERVING', acceptor: 'SERVING', reads: 'SERVING' });
  });

  it('say NOT_SERVING for ReadService while the state machine is stopped, and keep it so when the disk recovers', async () => {
    await becomes({ ...healthy, stateError: 'slot 7 does not decode' }, { node: 'SERVING', acceptor: 'SERVING', reads: 'NOT_SERVING' });
    facts = { ...healthy, stateError: 'slot 7 does not decode', storageFailure: 'ENOSPC' };
    follow.update();
    expect(await all()).toEqual({ node: 'NOT_SERVING', acceptor: 'NOT_SERVING', reads: 'NOT_SERVING' });
    facts = { ...healthy, stateError: 'slot 7 does not decode' };
    follow.update();
    expect(await all()).toEqual({ node: 'SERVING', acceptor: 'SERVING', reads: 'NOT_SERVING' });
    await becomes(healthy, { node: 'SERVING', acceptor: 'SERVING', reads: 'SERVING' });
  });

  it('say NOT_SERVING for AcceptorService while the node rejoins (it votes for nothing), SERVING for the node and its reads', async () => {
    await becomes({ ...healthy, rejoining: true }, { node: 'SERVING', acceptor: 'NOT_SERVING', reads: 'SERVING' });
    await becomes(healthy, { node: 'SERVING', acceptor: 'SERVING', reads: 'SERVING' });
  });

  it('storage that fails makes the node and AcceptorService NOT_SERVING, its reads still served from the state it has', async () => {
    facts = { ...healthy, storageFailure: 'EIO' };
    follow.update();
    expect(await all()).toEqual({ node: 'NOT_SERVING', acceptor: 'NOT_SERVING', reads: 'SERVING' });
    facts = healthy;
    follow.update();
    expect(await all()).toEqual({ node: 'SERVING', acceptor: 'SERVING', reads: 'SERVING' });
  });
});
