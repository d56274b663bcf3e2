import { status } from '@grpc/grpc-js';
import type { ChosenEntry } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import type { LearnResponse } from '@paxos/proto';
import { AgreedState } from '@paxos/state-machine';
import type { AcceptorLink } from './acceptor-link';
import { ChosenLog } from './chosen-log';
import { LogReader } from './log-reader';

/** An acceptor that is paused: each Learn fails at its deadline (here at once), after noting who was asked. */
function pausedLink(nodeId: number, asked: number[]): AcceptorLink {
  return {
    nodeId,
    up: true,
    learn: async () => {
      asked.push(nodeId);
      throw new GrpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 2.000s');
    },
  } as unknown as AcceptorLink;
}

describe("LogReader, a client's read of the acceptors' histories", () => {
  it('asks no further acceptor once its caller left (cancelled, or past its deadline)', async () => {
    const asked: number[] = [];
    const log = new ChosenLog({ retainedSlotsMax: 4, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: () => 'd' }) });
    const reader = new LogReader([0, 1, 2, 3, 4].map((i) => pausedLink(i, asked)), log, () => undefined);
    // The caller's deadline passes while the first acceptor is asked (each paused one costs a
    // Learn deadline, 2 s: 23 acceptors with 11 paused held a read's place for 22 s).
    const caller = { key: 'client-a', gone: () => asked.length > 0 };
    await expect(reader.readForClient(0n, 16, 1 << 20, caller)).rejects.toMatchObject({ code: status.CANCELLED });
    expect(asked).toHaveLength(1);
  });

  it('still asks every acceptor for a caller that stays', async () => {
    const asked: number[] = [];
    const log = new ChosenLog({ retainedSlotsMax: 4, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: () => 'd' }) });
    const reader = new LogReader([0, 1, 2].map((i) => pausedLink(i, asked)), log, () => undefined);
    await expect(reader.readForClient(0n, 16, 1 << 20, { key: 'client-a', gone: () => false })).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(asked.sort()).toEqual([0, 1, 2]);
  });

  it("says why each acceptor failed as a person reads it, without grpc-js's stages", async () => {
    const log = new ChosenLog({ retainedSlotsMax: 4, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: () => 'd' }) });
    const details = 'Deadline exceeded after 2.001s,LB pick: 0.000s,remote_addr=127.0.0.1:7100';
    const silent = { nodeId: 3, up: true, learn: async () => Promise.reject(Object.assign(new Error(`4 DEADLINE_EXCEEDED: ${details}`), { code: status.DEADLINE_EXCEEDED, details })) } as unknown as AcceptorLink;
    const read = new LogReader([silent], log, () => undefined).readForClient(0n, 16, 1 << 20, { key: 'client-a', gone: () => false });
    await expect(read).rejects.toMatchObject({ code: status.UNAVAILABLE, message: 'no acceptor could serve slot 0 of the chosen log (node 3: DEADLINE_EXCEEDED: no answer within 2.001 s (the node paused or overloaded?))' });
  });

  it('names the oldest slot this proposer still keeps when the acceptors dropped more than it did', async () => {
    const ballot = { round: 1n, proposerId: 1 };
    const entry = (i: number): ChosenEntry => ({ slot: BigInt(i), ballot, value: { kind: 'batch', commands: [{ clientRequestId: `c${i}`, contentType: 'text/plain', data: Buffer.from('v') }] } });
    // This proposer keeps slots 24-39 in memory; the acceptors dropped everything below 30.
    const log = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: () => 'd' }) });
    log.learn(Array.from({ length: 40 }, (_, i) => entry(i)));
    const dropped = { nodeId: 0, up: true, learn: async (): Promise<LearnResponse> => ({ chosen: [], committedIndex: 40n, oldestKeptSlot: 30n, snapshotSlot: 35n }) } as unknown as AcceptorLink;
    const reader = new LogReader([dropped], log, () => 40n);
    const read = reader.readForClient(10n, 16, 1 << 20, { key: 'client-a', gone: () => false });
    await expect(read).rejects.toMatchObject({ code: status.OUT_OF_RANGE, message: expect.stringMatching(/slot 10 is below .* this proposer keeps the chosen log from slot 24/) });
    // The same, for a program: where to read on and the snapshot that covers the slots skipped.
    await expect(read).rejects.toMatchObject({ trailers: { 'paxos-history-first-slot': '24', 'paxos-state-snapshot-slot': '35' } });
    // And from there it is read.
    expect((await reader.readForClient(24n, 16, 1 << 20, { key: 'client-a', gone: () => false }))[0]?.slot).toBe(24n);
  });

  it('says when acceptors that may still hold the slot did not answer (a reader that must not skip asks again)', async () => {
    const log = new ChosenLog({ retainedSlotsMax: 4, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: () => 'd' }) });
    const dropped = { nodeId: 0, up: true, learn: async (): Promise<LearnResponse> => ({ chosen: [], committedIndex: 40n, oldestKeptSlot: 30n, snapshotSlot: 35n }) } as unknown as AcceptorLink;
    const down = { nodeId: 2, up: false } as unknown as AcceptorLink;
    const reader = new LogReader([dropped, pausedLink(1, []), down], log, () => 40n);
    await expect(reader.readForClient(10n, 16, 1 << 20, { key: 'client-a', gone: () => false })).rejects.toMatchObject({
      code: status.OUT_OF_RANGE,
      message: expect.stringMatching(/the state snapshot at slot 35 covers it .*; 2 acceptors did not answer and may still hold it \(ask again to read it from them\)$/),
    });
    // Every acceptor answered: nothing more to hope for.
    await expect(new LogReader([dropped], log, () => 40n).readForClient(10n, 16, 1 << 20, { key: 'client-a', gone: () => false })).rejects.toMatchObject({
      message: expect.not.stringMatching(/did not answer/),
    });
  });

  it('names no snapshot as covering the slot when the acceptors that dropped it give none, or only one at or below it', async () => {
    const log = new ChosenLog({ retainedSlotsMax: 4, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: () => 'd' }) });
    // Learn's snapshot_slot 0 is "none to give" (both files damaged); a snapshot at slot 5 covers
    // only slots below 5 (an acceptor whose oldest history segment was lost starts above it).
    const dropped = (nodeId: number, snapshotSlot: bigint) =>
      ({ nodeId, up: true, learn: async (): Promise<LearnResponse> => ({ chosen: [], committedIndex: 40n, oldestKeptSlot: 30n, snapshotSlot }) }) as unknown as AcceptorLink;
    const caller = { key: 'client-a', gone: () => false };
    for (const links of [[dropped(0, 0n)], [dropped(0, 5n)], [dropped(0, 0n), dropped(1, 10n)]]) {
      const err = await new LogReader(links, log, () => 40n).readForClient(10n, 16, 1 << 20, caller).then(
        () => undefined,
        (e: GrpcError) => e,
      );
      expect(err?.code).toBe(status.OUT_OF_RANGE);
      expect(err?.message).toMatch(/^slot 10 is below the chosen history the acceptors that answered retain \(from slot 30\); none of them gives a state snapshot that covers it/);
      expect(err?.message).not.toMatch(/state snapshot at slot/);
      expect(err?.trailers).toEqual({ 'paxos-history-first-slot': '30' });
    }
    // One that gives a covering snapshot is named, whatever the others say.
    await expect(new LogReader([dropped(0, 0n), dropped(1, 35n), dropped(2, 5n)], log, () => 40n).readForClient(10n, 16, 1 << 20, caller)).rejects.toMatchObject({
      message: expect.stringMatching(/the state snapshot at slot 35 covers it/),
      trailers: { 'paxos-history-first-slot': '30', 'paxos-state-snapshot-slot': '35' },
    });
  });
});
