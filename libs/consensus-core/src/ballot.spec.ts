import { BALLOT_ROUND_MAX, BALLOT_ROUND_WIRE_MAX, ballotEquals, ballotGreater, ballotProblem, compareBallots, formatBallot, nextBallotAbove, ZERO_BALLOT } from './ballot';

const b = (round: bigint, proposerId: number) => ({ round, proposerId });

describe('ballots', () => {
  it('are ordered by round, then by proposer id', () => {
    expect(compareBallots(b(2n, 1), b(1n, 9))).toBe(1);
    expect(compareBallots(b(1n, 1), b(1n, 2))).toBe(-1);
    expect(compareBallots(b(3n, 4), b(3n, 4))).toBe(0);
    expect(ballotGreater(b(1n, 1), ZERO_BALLOT)).toBe(true);
    expect(ballotEquals(b(1n, 1), b(1n, 1))).toBe(true);
  });

  it('nextBallotAbove gives the smallest round above what was seen', () => {
    expect(nextBallotAbove(b(5n, 2), 3)).toEqual(b(5n, 3));
    expect(nextBallotAbove(b(5n, 3), 3)).toEqual(b(6n, 3));
    expect(nextBallotAbove(b(5n, 4), 3)).toEqual(b(6n, 3));
    expect(nextBallotAbove(ZERO_BALLOT, 1)).toEqual(b(1n, 1));
  });

  it('nextBallotAbove names no ballot past the round ceiling, and takes any ballot a peer sends without an assertion', () => {
    const top = BALLOT_ROUND_WIRE_MAX;
    // A rival promised at the ceiling: a higher proposer id still passes it at that round, a lower or equal one cannot.
    expect(nextBallotAbove(b(top, 16), 17)).toEqual(b(top, 17));
    expect(nextBallotAbove(b(top, 16), 16)).toBeUndefined();
    expect(nextBallotAbove(b(top, 16), 1)).toBeUndefined();
    expect(nextBallotAbove(b(top - 1n, 16), 1)).toEqual(b(top, 1));
    // Whatever it names, every ballot it gives is one acceptors take.
    for (const seen of [b(top - 1n, 16), b(top, 0), b(top + 1n, 0), b(BALLOT_ROUND_MAX, 0xffff_ffff), b(BALLOT_ROUND_MAX + 5n, 0)]) {
      const next = nextBallotAbove(seen, 1);
      if (next !== undefined) expect(ballotProblem(next)).toBeUndefined();
    }
  });

  it('format as round.proposerId', () => {
    expect(formatBallot(b(3n, 1))).toBe('3.1');
  });
});
