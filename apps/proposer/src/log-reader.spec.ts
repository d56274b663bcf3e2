import { status } from '@grpc/grpc-js';
import { GrpcError } from '@paxos/grpc-kit';
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
});
