import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { join } from 'node:path';
import { createLogger, INSECURE, type RunningServer, startGrpcServer } from '@paxos/grpc-kit';
import { loadSources } from '@paxos/lmfdb-client';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { ProposerServiceClient, ProposerServiceService } from '@paxos/proto';
import { proposerService, type ProposerServiceDeps } from './proposer-service';
import { ValueChecker } from './value-check';
import { recordUncaught } from '@paxos/test-cluster';

const SNAPSHOT = join(__dirname, '../../../data/lmfdb-snapshot');
const logger = createLogger('claim-refusal-status-test');
logger.level = 'silent';

// A false claim's refusal quotes the claimed value cut to 200 UTF-16 units: 150 emoji are cut
// inside a pair. grpc-js could not encode that status (encodeURI threw), so the client heard
// nothing and the promise the answer came from rejected unhandled (which ends a proposer).
describe('a false claim whose claimed value is cut inside a surrogate pair', () => {
  let running: RunningServer;
  let uncaught: ReturnType<typeof recordUncaught>;
  beforeAll(async () => {
    uncaught = recordUncaught();
    const { caches } = await loadSources(SNAPSHOT, [0]);
    const checker = new ValueChecker(1024 * 1024, (n) => caches.get(n));
    const node = { reachable: () => 3, quorum: { n: 3, q: 2 }, propose: () => new Promise(() => undefined), abandon: () => undefined };
    const implementation = proposerService({ node, links: [], checker, proposeTimeoutMs: 5000, logger } as unknown as ProposerServiceDeps);
    running = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 4 << 20, transport: INSECURE, logger, services: [{ name: 'paxos.v1.ProposerService', definition: ProposerServiceService, implementation }] });
  });
  afterAll(async () => {
    uncaught.stop();
    await running.shutdown(100);
  });

  it('is refused FAILED_PRECONDITION over gRPC, at once', async () => {
    const client = new ProposerServiceClient(`127.0.0.1:${running.port}`, credentials.createInsecure());
    const v = encodeProposalValue(buildProposal({ proposalNumber: 1n, proposerId: 1, leaderboard: [], claims: [{ source: 0, label: '11.a2', field: 'lmfdb_iso', claimedValue: `x${'\u{1F600}'.repeat(150)}` }] }));
    const err = await new Promise<ServiceError>((resolve) =>
      client.propose({ clientRequestId: 'p1', value: { contentType: v.contentType, data: v.data }, includeVotes: false }, new Metadata(), { deadline: Date.now() + 3000 }, (e) => resolve(e as ServiceError)),
    );
    client.close();
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    // The quote is cut before the pair the 200th unit splits (lmfdb-client), and the status leaves well-formed either way (grpc-kit).
    expect(err.details).toMatch(/lmfdb_iso is 11\.a, the claim says x\u{1F600}{99}… \(301 characters\)/u);
    await new Promise((r) => setImmediate(r));
    expect(uncaught.seen).toEqual([]);
  });
});
