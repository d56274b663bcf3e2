import { ballotEquals, ballotGreater, compareBallots, formatBallot, nextBallotAbove, ZERO_BALLOT } from './ballot';

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

  it('format as round.proposerId', () => {
    expect(formatBallot(b(3n, 1))).toBe('3.1');
  });
});
