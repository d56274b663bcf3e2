import { Metadata } from '@grpc/grpc-js';
import { deadlineAfter, readHealth } from '@paxos/grpc-kit';
import { type ClusterStatusResponse, ProposerServiceClient } from '@paxos/proto';
import { TestCluster } from '@paxos/test-cluster';

jest.setTimeout(120_000);

function clusterStatus(cluster: TestCluster): Promise<ClusterStatusResponse> {
  const address = cluster.proposerAddress(1);
  const client = new ProposerServiceClient(address, cluster.credentials, TestCluster.channelOptionsFor(address));
  return new Promise((resolve, reject) =>
    client.clusterStatus({ nodeDeadlineMs: 200 }, new Metadata(), { deadline: deadlineAfter(5000) }, (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    }),
  );
}

/** paxos_proposer_learning as the proposer's /metrics shows it. */
async function learningGauge(cluster: TestCluster): Promise<string | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${cluster.metricsPorts.get('proposer-1')}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return /^paxos_proposer_learning(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1];
}

async function until(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not within ${ms} ms: ${what}`);
}

describe('a starting proposer that has not learned the chosen log yet', () => {
  it('answers NOT_SERVING for ProposerService (SERVING for the node and ReadService) and says why in ClusterStatus, then serves once it has', async () => {
    const cluster = await TestCluster.start({ acceptors: 3 });
    try {
      // One acceptor of three: no quorum to learn the committed index from.
      await cluster.killAcceptor(1);
      await cluster.killAcceptor(2);
      await cluster.startProposer(1);
      const address = cluster.proposerAddress(1);
      const transport = cluster.transport;
      expect((await readHealth(address, 5000, transport)).serving).toBe(true);
      expect((await readHealth(address, 5000, transport, 'paxos.v1.ReadService')).serving).toBe(true);
      const proposing = await readHealth(address, 5000, transport, 'paxos.v1.ProposerService');
      expect(proposing).toEqual({ serving: false, reason: 'health answers NOT_SERVING' });
      const learning = await clusterStatus(cluster);
      expect(learning.learning).toMatch(/still learning the chosen log \(at slot 0\)/);
      expect(learning.cannotChoose).toBe('');
      expect(await learningGauge(cluster)).toBe('1');

      await cluster.startAcceptor(1);
      await until('ProposerService SERVING', async () => (await readHealth(address, 1000, transport, 'paxos.v1.ProposerService')).serving);
      expect((await clusterStatus(cluster)).learning).toBe('');
      expect(await learningGauge(cluster)).toBe('0');
    } finally {
      await cluster.stop();
    }
  });
});
