import { assert } from './assert';

/** A Paxos ballot: ordered by round, then by proposer id. Never reused by a proposer. */
export interface Ballot {
  readonly round: bigint;
  readonly proposerId: number;
}

/** "Nothing promised": below every ballot a proposer may use (round 0 is invalid on the wire). */
export const ZERO_BALLOT: Ballot = Object.freeze({ round: 0n, proposerId: 0 });

export const BALLOT_ROUND_MAX = (1n << 64n) - 1n;
/**
 * The highest round a ballot may carry on the wire (2^62): far above any round a proposer uses
 * (rounds start at the wall clock in milliseconds, about 2^41 today) and below 2^64, so that no
 * promise can push proposers towards overflow: an acceptor refuses a higher round
 * (INVALID_ARGUMENT). It is a ceiling, and a ceiling can be reached: whoever may send a prepare
 * (any client of a plaintext network; with TLS, a proposer's key) can be promised a ballot at
 * this round, and a proposer whose id is not above that ballot's then has no ballot above it
 * (nextBallotAbove answers undefined): it can never again be promised by those acceptors, and
 * when they are more than n - q it cannot choose in this network (DESIGN section 12, "The ballot
 * ceiling").
 */
export const BALLOT_ROUND_WIRE_MAX = 1n << 62n;
export const PROPOSER_ID_MAX = 0xffff_ffff;

export function compareBallots(a: Ballot, b: Ballot): -1 | 0 | 1 {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.proposerId !== b.proposerId) return a.proposerId < b.proposerId ? -1 : 1;
  return 0;
}

export function ballotGreater(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) > 0;
}

export function ballotEquals(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.proposerId === b.proposerId;
}

export function maxBallot(a: Ballot, b: Ballot): Ballot {
  return ballotGreater(b, a) ? b : a;
}

/**
 * The smallest ballot of `proposerId` above `seen`, or undefined when there is none an acceptor
 * takes (its round would pass BALLOT_ROUND_WIRE_MAX). `seen` may be network input (a rival's
 * promise, at the ceiling or above it): nothing it holds trips an assertion here.
 */
export function nextBallotAbove(seen: Ballot, proposerId: number): Ballot | undefined {
  assert(Number.isInteger(proposerId) && proposerId >= 0 && proposerId <= PROPOSER_ID_MAX, `proposer id ${proposerId} out of range`);
  const round = proposerId > seen.proposerId ? seen.round : seen.round + 1n;
  if (round > BALLOT_ROUND_WIRE_MAX) return undefined;
  const result: Ballot = { round: round <= 0n ? 1n : round, proposerId };
  assert(ballotGreater(result, seen), 'nextBallotAbove must move above what was seen');
  return result;
}

/** "round.proposerId", e.g. "3.1". */
export function formatBallot(b: Ballot): string {
  return `${b.round}.${b.proposerId}`;
}

/** Why a ballot is not valid on the wire, or undefined when it is. */
export function ballotProblem(b: Ballot): string | undefined {
  if (typeof b.round !== 'bigint' || b.round <= 0n) return `ballot round must be >= 1 (got ${String(b.round)})`;
  if (b.round > BALLOT_ROUND_WIRE_MAX) return `ballot round ${b.round} is above the ceiling ${BALLOT_ROUND_WIRE_MAX} (2^62)`;
  if (!Number.isInteger(b.proposerId) || b.proposerId < 0 || b.proposerId > PROPOSER_ID_MAX) {
    return `ballot proposer id must be a uint32 (got ${String(b.proposerId)})`;
  }
  return undefined;
}
