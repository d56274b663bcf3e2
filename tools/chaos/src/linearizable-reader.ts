// A client that reads while the nemesis works: linearizable GetLeaderboard calls through any
// proposer, each started after some writes were acknowledged. A linearizable answer must reflect
// every write acknowledged before the read began (applied_slot above its slot); one that does not
// is a stale read. Failed reads (UNAVAILABLE, deadlines) are counted, not violations.
import { Metadata } from '@grpc/grpc-js';
import type { SeededRandom } from '@paxos/consensus-core';
import { Consistency, ReadServiceClient } from '@paxos/proto';
import { TestCluster } from '@paxos/test-cluster';

/** What the readers saw, shared. */
export interface ReadLedger {
  reads: number;
  failed: number;
  /** Answers that missed a write acknowledged before the read began. */
  readonly stale: string[];
}

const READ_DEADLINE_MS = 3000;

export interface LinearizableReaderOptions {
  readonly proposers: readonly string[];
  readonly random: SeededRandom;
  /** The highest slot any client had an acknowledgement for, now. */
  readonly highestAcked: () => bigint | undefined;
  readonly reads: ReadLedger;
}

export async function runReader(o: LinearizableReaderOptions, stop: () => boolean): Promise<void> {
  const clients = o.proposers.map((a) => new ReadServiceClient(a, TestCluster.credentialsFor(a), TestCluster.channelOptionsFor(a)));
  try {
    while (!stop()) {
      const floor = o.highestAcked();
      const at = o.random.int(0, clients.length);
      const client = clients[at] as ReadServiceClient;
      const answer = await new Promise<{ appliedSlot: bigint } | undefined>((resolve) =>
        client.getLeaderboard({ consistency: Consistency.CONSISTENCY_LINEARIZABLE, historyMax: 0 }, new Metadata(), { deadline: Date.now() + READ_DEADLINE_MS }, (err, res) =>
          resolve(err ? undefined : { appliedSlot: res.appliedSlot }),
        ),
      );
      o.reads.reads += 1;
      if (answer === undefined) o.reads.failed += 1;
      else if (floor !== undefined && answer.appliedSlot <= floor) {
        o.reads.stale.push(`a linearizable read at ${o.proposers[at]} answered applied_slot ${answer.appliedSlot}, but slot ${floor} was acknowledged before it began`);
      }
      await new Promise((r) => setTimeout(r, o.random.int(20, 120)));
    }
  } finally {
    for (const c of clients) c.close();
  }
}
