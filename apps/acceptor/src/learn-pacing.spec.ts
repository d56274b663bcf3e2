// Learn as a caller that is not a proposer's certificate reaches it (every caller on plaintext):
// paced by the node's history read turns, refused past their bound naming it, read in slices that
// let the event loop turn, and no longer read once the caller left.
import { status, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { ChosenRecord } from '@paxos/consensus-core';
import { createLogger, INSECURE } from '@paxos/grpc-kit';
import { type AcceptorNode, MemoryDisk, MemoryHistory } from '@paxos/acceptor-node';
import type { LearnRequest, LearnResponse } from '@paxos/proto';
import { acceptorService, type AcceptorStateContext } from './acceptor-service';
import { historyReadPacer, PACED_ANSWER_BYTES_MAX, READS_WAITING_PER_CLIENT_MAX } from './history-read-pacer';
import { ProposerAccess } from './proposer-access';
import type { SourceHolder } from './source-holder';
import type { StatusContext } from './status';
import type { AcceptorStorage } from './storage';

const logger = createLogger('learn-pacing');
logger.level = 'silent';

const record = (slot: number, bytes: number): ChosenRecord => ({
  slot: BigInt(slot),
  ballot: { round: 1n, proposerId: 1 },
  value: { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 'text/plain', data: Buffer.alloc(bytes, 1) }] },
});

/** A plaintext acceptor's Learn over a history of `records` values of `bytes` each; counts the slices read and which call read each. */
function plaintextLearn(records: number, bytes: number) {
  const history = new MemoryHistory(new MemoryDisk(), false);
  history.append(Array.from({ length: records }, (_, i) => record(i, bytes)));
  const slices: bigint[] = [];
  const read = history.read.bind(history);
  history.read = (from, max, maxBytes) => {
    slices.push(from);
    return read(from, max, maxBytes);
  };
  const node = { storage: { history }, core: { committedIndex: BigInt(records) }, nodeId: 0 } as unknown as AcceptorNode<AcceptorStorage>;
  const stateContext = { snapshotSlot: () => undefined } as unknown as AcceptorStateContext;
  const service = acceptorService(node, {} as StatusContext, stateContext, {} as Pick<SourceHolder, 'verify'>, new ProposerAccess(INSECURE), historyReadPacer(), logger);
  const learn = (fromSlot: bigint, peer = 'ipv4:127.0.0.1:40000') => {
    const call = { request: { fromSlot, maxEntries: 1_000_000 }, cancelled: false, getPeer: () => peer, getAuthContext: () => null, getDeadline: () => Infinity };
    const answer = new Promise<{ reply?: LearnResponse; error?: ServiceError }>((resolve) =>
      service.learn(call as unknown as ServerUnaryCall<LearnRequest, LearnResponse>, (error, reply) => resolve(error ? { error: error as ServiceError } : { reply: reply as LearnResponse })),
    );
    return { call, answer };
  };
  return { learn, slices };
}

describe('Learn from a caller that is not a proposer certificate (plaintext)', () => {
  it('a flood from one caller is refused past the waiting bound with RESOURCE_EXHAUSTED naming it; the reads go one at a time', async () => {
    const { learn, slices } = plaintextLearn(64, 64 * 1024);
    const calls = Array.from({ length: 30 }, (_, i) => learn(BigInt(i)));
    const answers = await Promise.all(calls.map((c) => c.answer));
    const refused = answers.filter((a) => a.error);
    // One reads, 8 wait for their turn; the rest are refused at once.
    expect(answers.length - refused.length).toBe(1 + READS_WAITING_PER_CLIENT_MAX);
    for (const a of refused) {
      expect(a.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(a.error?.details).toContain('reads of ipv4:127.0.0.1:40000 wait already');
      expect(a.error?.details).toContain('at most 1 at once');
    }
    // One at a time: the slices of each read come together (its slots rise), never interleaved with another's.
    const starts = slices.filter((from, i) => i === 0 || from <= (slices[i - 1] as bigint));
    expect(starts.length).toBe(1 + READS_WAITING_PER_CLIENT_MAX);
  });

  it('reads a large answer in slices, the event loop turning between two', async () => {
    const { learn, slices } = plaintextLearn(100, 64 * 1024);
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const { reply } = await learn(0n).answer;
    spinning = false;
    // About 1 MiB of 64 KiB values, in slices of about 256 KiB.
    expect(reply?.chosen.length).toBe(15);
    expect(slices.length).toBeGreaterThanOrEqual(4);
    // The loop turned at least once between every two slices.
    expect(turns).toBeGreaterThanOrEqual(slices.length - 1);
  });

  it('answers about PACED_ANSWER_BYTES_MAX of values (encoded in one go), at least one entry, and the reader asks on from the next slot', async () => {
    const { learn } = plaintextLearn(40, 100 * 1024);
    const first = (await learn(0n).answer).reply as LearnResponse;
    const bytes = first.chosen.reduce((n, e) => n + (e.value?.kind?.$case === 'batch' ? e.value.kind.value.commands.reduce((m, c) => m + (c.value?.data.length ?? 0), 0) : 0), 0);
    expect(bytes).toBeLessThanOrEqual(PACED_ANSWER_BYTES_MAX);
    expect(first.chosen.length).toBe(10);
    const next = (await learn(10n).answer).reply as LearnResponse;
    expect(next.chosen[0]?.slot).toBe(10n);
    const { learn: learnHuge } = plaintextLearn(3, 2 * 1024 * 1024);
    expect((await learnHuge(1n).answer).reply?.chosen.map((e) => e.slot)).toEqual([1n]);
  });

  it('a cancelled Learn stops reading', async () => {
    const { learn, slices } = plaintextLearn(100, 64 * 1024);
    const { call, answer } = learn(0n);
    // The first slice is read at once; the caller leaves before the next.
    setImmediate(() => {
      call.cancelled = true;
    });
    const { error } = await answer;
    expect(error?.code).toBe(status.CANCELLED);
    expect(slices.length).toBeLessThanOrEqual(2);
  });

  it('a read whose caller left while it waited is not made', async () => {
    const { learn, slices } = plaintextLearn(100, 64 * 1024);
    const first = learn(0n);
    const second = learn(10n);
    second.call.cancelled = true;
    expect((await first.answer).reply?.chosen.length).toBe(15);
    expect((await second.answer).error?.code).toBe(status.CANCELLED);
    expect(slices[0]).toBe(0n);
    expect(slices.filter((from) => from === 10n)).toEqual([]);
  });
});
