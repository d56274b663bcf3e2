import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { ChosenEntry } from '@paxos/consensus-core';
import { Consistency, type ReadLogRequest, ReadLogResponse } from '@paxos/proto';
import { AgreedState } from '@paxos/state-machine';
import { READ_LOG_ANSWER_BYTES_MAX, readService } from './read-service';

/** What grpc-js and grpcurl take by default in one message. */
const CLIENT_RECEIVE_BYTES_DEFAULT = 4 * 1024 * 1024;

const ballot = { round: 1n, proposerId: 1 };
/** A log of small commands, as ProposeBulk clients make it: 36 per slot, 60 bytes of value each. */
function smallCommandLog(slots: number): ChosenEntry[] {
  return Array.from({ length: slots }, (_, s) => ({
    slot: BigInt(s),
    ballot,
    value: {
      kind: 'batch' as const,
      commands: Array.from({ length: 36 }, (_, i) => ({ clientRequestId: `bulk-client-${String(s).padStart(6, '0')}-${String(i).padStart(4, '0')}`, contentType: 'application/octet-stream', data: Buffer.alloc(60, i) })),
    },
  }));
}

function readLog(log: readonly ChosenEntry[], request: ReadLogRequest): Promise<ReadLogResponse> {
  const state = new AgreedState({ digest: () => 'd' });
  for (const e of log) state.apply(e);
  const service = readService({ state, defaultConsistency: Consistency.CONSISTENCY_STALE, readLog: async (from, max) => log.slice(Number(from), Number(from) + max) });
  const call = { request, cancelled: false, getDeadline: () => Infinity, getPeer: () => 'ipv4:127.0.0.1:1', getAuthContext: () => null } as unknown as ServerUnaryCall<ReadLogRequest, ReadLogResponse>;
  return new Promise((resolve, reject) => service.readLog(call, (err, answer) => (err || !answer ? reject(err) : resolve(answer))));
}

describe('ReadLog answers', () => {
  it('fit a client at its default receive limit when the slots hold many small commands (read on from the next slot)', async () => {
    // 1,000 slots hold about 3.9 MiB of values, the nodes' bound, and 5.8 MB on the wire.
    const log = smallCommandLog(1000);
    const first = await readLog(log, { fromSlot: 0n, maxEntries: 1024 });
    const bytes = ReadLogResponse.encode(first).finish().length;
    expect(bytes).toBeLessThanOrEqual(READ_LOG_ANSWER_BYTES_MAX);
    expect(bytes).toBeLessThanOrEqual(CLIENT_RECEIVE_BYTES_DEFAULT);
    expect(first.entries.length).toBeGreaterThan(500);
    expect(first.entries.map((e) => e.slot)).toEqual(log.slice(0, first.entries.length).map((e) => e.slot));
    // The rest comes from the next slot on, and nothing is lost.
    const second = await readLog(log, { fromSlot: BigInt(first.entries.length), maxEntries: 1024 });
    expect(first.entries.length + second.entries.length).toBe(1000);
    expect(ReadLogResponse.encode(second).finish().length).toBeLessThanOrEqual(CLIENT_RECEIVE_BYTES_DEFAULT);
  });

  it('still give one slot that alone is larger than the bound', async () => {
    const big: ChosenEntry = { slot: 0n, ballot, value: { kind: 'batch', commands: [{ clientRequestId: 'big', contentType: 'application/octet-stream', data: Buffer.alloc(READ_LOG_ANSWER_BYTES_MAX + 10) }] } };
    const answer = await readLog([big, { ...big, slot: 1n }], { fromSlot: 0n, maxEntries: 10 });
    expect(answer.entries.map((e) => e.slot)).toEqual([0n]);
  });
});
