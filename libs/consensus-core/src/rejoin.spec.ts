import { Quorum } from './quorum';
import { rejoinFloorFrom } from './rejoin';

const b = (round: bigint, proposerId = 1) => ({ round, proposerId });

describe('the floor of an acceptor that lost its data', () => {
  const quorum = new Quorum(5);

  it('is the highest promise, and the highest slot accepted or known chosen plus the margin, over a quorum of the others', () => {
    const floor = rejoinFloorFrom(
      [
        { promised: b(7n, 2), lastAcceptedSlot: 40n, committedIndex: 38n, rejoining: false },
        { promised: b(9n, 1), committedIndex: 45n, rejoining: false },
        { promised: b(3n), lastAcceptedSlot: 41n, committedIndex: 12n, rejoining: false },
      ],
      quorum,
      8n,
    );
    expect(floor).toEqual({ promised: b(9n, 1), catchUpTo: 53n });
  });

  it('counts no acceptor that is itself rejoining, and needs a quorum', () => {
    const reports = [
      { promised: b(7n), lastAcceptedSlot: 40n, committedIndex: 38n, rejoining: false },
      { promised: b(9n), committedIndex: 45n, rejoining: false },
      { promised: b(99n), committedIndex: 2n, rejoining: true },
    ];
    const floor = rejoinFloorFrom(reports, quorum, 8n);
    expect('problem' in floor && floor.problem).toMatch(/2 of the other acceptors answered \(and 1 still rejoining themselves\); the floor needs a quorum of 3/);
  });

  it('in a network that never voted, is the margin alone', () => {
    const none = { promised: { round: 0n, proposerId: 0 }, committedIndex: 0n, rejoining: false };
    expect(rejoinFloorFrom([none, none, none], quorum, 64n)).toEqual({ promised: { round: 0n, proposerId: 0 }, catchUpTo: 64n });
  });
});
