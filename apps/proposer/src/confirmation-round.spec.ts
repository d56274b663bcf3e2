import { BALLOT_ROUND_WIRE_MAX, type Ballot, Quorum } from '@paxos/consensus-core';
import { ballotToWire } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';
import { CONFIRM_EXPAND_MS, ConfirmationRounds, OutbidError } from './confirmation-round';

const ours: Ballot = { round: 3n, proposerId: 1 };
const lowerBallot: Ballot = { round: 2n, proposerId: 1 };

/** Five acceptors whose Status answers the test gives one by one (`answer(i, ballot)` or `fail(i)`). */
function links() {
  const pending = new Map<number, { resolve: (b: Ballot) => void; reject: (e: Error) => void }>();
  const asked: number[] = [];
  const list = [0, 1, 2, 3, 4].map(
    (nodeId) =>
      ({
        nodeId,
        status: () =>
          new Promise((resolve, reject) => {
            asked.push(nodeId);
            pending.set(nodeId, { resolve: (b) => resolve({ promised: ballotToWire(b), committedIndex: 0n }), reject });
          }),
      }) as unknown as AcceptorLink,
  );
  const answer = (i: number, b: Ballot) => pending.get(i)?.resolve(b);
  const fail = (i: number) => pending.get(i)?.reject(new Error('deadline exceeded'));
  return { list, asked, answer, fail };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('confirmation rounds of linearizable reads', () => {
  const quorum = Quorum.majority(5);
  const deps = (list: AcceptorLink[], log: string[] = []) => ({ links: list, quorum, outbid: () => log.push('outbid'), stepDown: () => log.push('step down') });

  it('ask every acceptor the first time, then the quorum that confirmed first, and the rest only when one of those does not hold the ballot', async () => {
    const a = links();
    const rounds = new ConfirmationRounds(deps(a.list));
    const first = rounds.run(ours);
    expect(a.asked).toEqual([0, 1, 2, 3, 4]);
    for (const i of [3, 1, 4]) a.answer(i, ours);
    await first;
    // The next round asks the three that confirmed first, and settles on them.
    a.asked.length = 0;
    const second = rounds.run(ours);
    expect(a.asked.sort()).toEqual([1, 3, 4]);
    for (const i of [1, 3, 4]) a.answer(i, ours);
    await second;
    expect(a.asked.sort()).toEqual([1, 3, 4]);
    // One of them holds a lower promise (it restarted): the others are asked at once, and confirm.
    a.asked.length = 0;
    const third = rounds.run(ours);
    a.answer(1, lowerBallot);
    await turn();
    expect(a.asked.sort()).toEqual([0, 1, 2, 3, 4]);
    for (const i of [3, 0, 2]) a.answer(i, ours);
    await third;
  });

  it('take a promise at the round ceiling that our id cannot pass as a no, not an outbid: a quorum of the others still confirms', async () => {
    // Two of five acceptors promised (2^62, 16): leading again cannot pass it, and failing the
    // round on it failed every read that heard one of them first.
    const a = links();
    const log: string[] = [];
    const rounds = new ConfirmationRounds(deps(a.list, log));
    const round = rounds.run(ours);
    a.answer(0, { round: BALLOT_ROUND_WIRE_MAX, proposerId: 16 });
    a.answer(1, { round: BALLOT_ROUND_WIRE_MAX, proposerId: 16 });
    await turn();
    for (const i of [2, 3, 4]) a.answer(i, ours);
    await expect(round).resolves.toBeUndefined();
    expect(log).toEqual(['outbid', 'outbid']); // the core still learns them
    // Three of five: no quorum can hold our ballot; said as such.
    const b = links();
    const blocked = new ConfirmationRounds(deps(b.list)).run(ours);
    for (const i of [0, 1, 2]) b.answer(i, { round: BALLOT_ROUND_WIRE_MAX, proposerId: 16 });
    await expect(blocked).rejects.toMatchObject({ message: expect.stringContaining('3 a promise at the ballot round ceiling that no ballot of ours passes') });
  });

  it('ask the rest when the first ones are slow (a paused acceptor costs a read the expansion delay, not its Status deadline)', async () => {
    jest.useFakeTimers();
    try {
      const a = links();
      const rounds = new ConfirmationRounds(deps(a.list));
      const first = rounds.run(ours);
      for (const i of [0, 1, 2]) a.answer(i, ours);
      await first;
      a.asked.length = 0;
      const second = rounds.run(ours);
      a.answer(0, ours);
      a.answer(1, ours); // acceptor 2 is paused
      await jest.advanceTimersByTimeAsync(CONFIRM_EXPAND_MS);
      expect(a.asked.sort()).toEqual([0, 1, 2, 3, 4]);
      a.answer(4, ours);
      await second;
    } finally {
      jest.useRealTimers();
    }
  });

  it('fail, and step down, once a quorum can no longer hold the ballot; and end on the first higher promise', async () => {
    const log: string[] = [];
    const a = links();
    const rounds = new ConfirmationRounds(deps(a.list, log));
    const failing = rounds.run(ours).catch((e: Error) => e.message);
    for (const i of [0, 1]) a.answer(i, lowerBallot);
    a.fail(2);
    expect(await failing).toMatch(/could not confirm leadership with a quorum: 0 of 5 acceptors hold our ballot, 2 a lower promise, 3 did not answer .*3 needed/);
    expect(log).toEqual(['step down']);
    // Outbid: any one answer above our ballot ends the round (and every acceptor is asked again next time).
    const b = links();
    const r2 = new ConfirmationRounds(deps(b.list, log));
    const outbid = r2.run(ours).catch((e: unknown) => e);
    b.answer(2, { round: 9n, proposerId: 2 });
    expect(await outbid).toBeInstanceOf(OutbidError);
    expect(log).toEqual(['step down', 'outbid']);
    b.asked.length = 0;
    void r2.run(ours).catch(() => undefined);
    expect(b.asked).toEqual([0, 1, 2, 3, 4]);
  });
});
