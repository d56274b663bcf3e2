// A client that reads while the nemesis works: linearizable GetLeaderboard calls through any
// proposer, each started after some writes were acknowledged. A linearizable answer must reflect
// every write acknowledged before the read began (applied_slot above its slot); one that does not
// is a stale read. Failed reads (UNAVAILABLE, deadlines) are counted, not violations.
import { Metadata, status } from '@grpc/grpc-js';
import type { SeededRandom } from '@paxos/consensus-core';
import { Consistency, ReadServiceClient } from '@paxos/proto';
import { TestCluster } from '@paxos/test-cluster';
import { clientChannelOptions } from './client-channel';
import { deadlineAfter } from '@paxos/grpc-kit';

/** What the readers saw, shared. */
export interface ReadLedger {
  reads: number;
  failed: number;
  /** Failed reads by gRPC status name (at most one entry per code). */
  readonly failedBy: Record<string, number>;
  /** The first few distinct messages of each status name among the failed reads (why they failed, not only how often). */
  readonly failedSamples: Record<string, string[]>;
  /** Answers that missed a write acknowledged before the read began. */
  readonly stale: string[];
}

const READ_DEADLINE_MS = 3000;
/** Distinct messages kept per status name. */
const SAMPLES_PER_CODE = 4;

export interface LinearizableReaderOptions {
  readonly proposers: readonly string[];
  readonly random: SeededRandom;
  /** The highest slot any client had an acknowledgement for, now. */
  readonly highestAcked: () => bigint | undefined;
  readonly reads: ReadLedger;
}

export async function runReader(o: LinearizableReaderOptions, stop: () => boolean): Promise<void> {
  const clients = o.proposers.map((a) => new ReadServiceClient(a, TestCluster.credentialsFor(a), clientChannelOptions(a)));
  try {
    while (!stop()) {
      const floor = o.highestAcked();
      const at = o.random.int(0, clients.length);
      const client = clients[at] as ReadServiceClient;
      const answer = await new Promise<{ appliedSlot: bigint } | { code: number; message: string }>((resolve) =>
        client.getLeaderboard({ consistency: Consistency.CONSISTENCY_LINEARIZABLE, historyMax: 0 }, new Metadata(), { deadline: deadlineAfter(READ_DEADLINE_MS) }, (err, res) =>
          resolve(err ? { code: err.code, message: err.details } : { appliedSlot: res.appliedSlot }),
        ),
      );
      o.reads.reads += 1;
      if ('code' in answer) {
        o.reads.failed += 1;
        const name = status[answer.code] ?? String(answer.code);
        o.reads.failedBy[name] = (o.reads.failedBy[name] ?? 0) + 1;
        const seen = (o.reads.failedSamples[name] ??= []);
        const said = answer.message.slice(0, 300);
        if (seen.length < SAMPLES_PER_CODE && !seen.includes(said)) seen.push(said);
      } else if (floor !== undefined && answer.appliedSlot <= floor) {
        o.reads.stale.push(`a linearizable read at ${o.proposers[at]} answered applied_slot ${answer.appliedSlot}, but slot ${floor} was acknowledged before it began`);
      }
      await new Promise((r) => setTimeout(r, o.random.int(20, 120)));
    }
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * After the heal: one linearizable read through the proposer at `address`, asked again until
 * `deadlineMs` passes; what is wrong (no answer, or one that misses slot `acked`), or undefined.
 */
export async function readAfterHeal(address: string, acked: bigint, deadlineMs: number): Promise<string | undefined> {
  const client = new ReadServiceClient(address, TestCluster.credentialsFor(address), TestCluster.channelOptionsFor(address));
  const until = performance.now() + deadlineMs;
  let last = 'not asked';
  try {
    while (performance.now() < until) {
      const answer = await new Promise<{ appliedSlot: bigint } | { error: string }>((resolve) =>
        client.getLeaderboard({ consistency: Consistency.CONSISTENCY_LINEARIZABLE, historyMax: 0 }, new Metadata(), { deadline: deadlineAfter(READ_DEADLINE_MS) }, (err, res) =>
          resolve(err ? { error: err.message } : { appliedSlot: res.appliedSlot }),
        ),
      );
      if ('appliedSlot' in answer) return answer.appliedSlot > acked ? undefined : `a linearizable read at ${address} after the heal answered applied_slot ${answer.appliedSlot}, but slot ${acked} was acknowledged before it began`;
      last = answer.error;
      await new Promise((r) => setTimeout(r, 200));
    }
    return `the proposer at ${address} answered no linearizable read within ${deadlineMs} ms of the heal (last: ${last})`;
  } finally {
    client.close();
  }
}
