// An acceptor is network input to the proposer: whatever one answers, the proposer keeps running
// and chooses values with the others.
import { type ServerDuplexStream, Server, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { ensureNetworkCertificates, loadTls, serverCredentials, tlsFilesIn } from '@paxos/grpc-kit';
import { type AcceptRequest, type AcceptResponse, AcceptorServiceService, type PrepareRequest, type PrepareResponse } from '@paxos/proto';
import { TestCluster, textValue } from '@paxos/test-cluster';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

jest.setTimeout(120_000);

/** Answers every prepare and accept with a malformed or lying message, a different one each time. */
function hostileAcceptor(): UntypedServiceImplementation {
  let n = 0;
  const prepareAnswers = (r: PrepareRequest): PrepareResponse[] => [
    { requestId: r.requestId, outcome: { $case: 'rejected', value: {} } }, // a rejection without the promise
    { requestId: r.requestId, outcome: { $case: 'promised', value: { accepted: [], truncated: false, committedIndex: 0n } } }, // a promise without its ballot
    {
      requestId: r.requestId,
      outcome: { $case: 'promised', value: { ballot: r.ballot, accepted: [{ slot: 0n, ballot: r.ballot }], truncated: false, committedIndex: 0n } }, // an entry without a value
    },
    { requestId: r.requestId, outcome: { $case: 'promised', value: { ballot: r.ballot, accepted: [], truncated: false, committedIndex: (1n << 62n) + 1n } } }, // an absurd committed index
  ];
  const acceptAnswers = (r: AcceptRequest): AcceptResponse[] => {
    const slot = r.accept?.slot ?? 0n;
    const ballot = r.accept?.ballot;
    return [
      { requestId: r.requestId, outcome: { $case: 'rejected', value: {} } },
      { requestId: r.requestId, outcome: { $case: 'accepted', value: { slot: slot + 7n, ballot, committedIndex: 0n, durableCommittedIndex: 0n } } }, // a vote for another slot
      { requestId: r.requestId, outcome: { $case: 'accepted', value: { slot, committedIndex: 0n, durableCommittedIndex: 0n } } }, // a vote without its ballot
    ];
  };
  return {
    prepare: (call: ServerDuplexStream<PrepareRequest, PrepareResponse>) => {
      call.on('data', (r: PrepareRequest) => call.write(prepareAnswers(r)[n++ % 4] as PrepareResponse));
      call.on('end', () => call.end());
    },
    accept: (call: ServerDuplexStream<AcceptRequest, AcceptResponse>) => {
      call.on('data', (r: AcceptRequest) => call.write(acceptAnswers(r)[n++ % 3] as AcceptResponse));
      call.on('end', () => call.end());
    },
    status: (_call: unknown, callback: (e: Error | null, r?: unknown) => void) => callback(null, {}),
    learn: (_call: unknown, callback: (e: Error | null, r?: unknown) => void) => callback(null, { chosen: [{ slot: 0n }], committedIndex: 5n }),
  };
}

describe('a proposer with one hostile acceptor among 5', () => {
  let cluster: TestCluster;
  let server: Server;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 4 });
    server = new Server();
    server.addService(AcceptorServiceService, hostileAcceptor());
    // The hostile node holds a real certificate of the network (an insider gone bad).
    const tls = cluster.tlsDir as string;
    ensureNetworkCertificates(tls, ['acceptor-4']);
    const creds = serverCredentials(loadTls(tlsFilesIn(tls, 'acceptor-4')));
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
    await cluster.startProposer(1, [], [...cluster.acceptorAddresses, `127.0.0.1:${port}`]);
  });
  afterAll(async () => {
    server.forceShutdown();
    await cluster.stop();
  });

  it('keeps running and chooses values with the honest quorum', async () => {
    const slots = new Set<bigint>();
    try {
      for (let i = 0; i < 12; i++) slots.add((await cluster.propose(1, `hostile-${i}`, textValue(`value ${i}`))).slot);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the proposer's log ends:\n${readFileSync(join(cluster.dir, 'proposer_1.log'), 'utf8').slice(-3000)}`);
    }
    expect(slots.size).toBe(12);
    expect(cluster.proposers.get(1)?.running).toBe(true);
  });
});
