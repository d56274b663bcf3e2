import type { RejoinFloor } from './acceptor';
import { maxBallot, ZERO_BALLOT, type Ballot } from './ballot';
import type { Quorum } from './quorum';

/** What one of the other acceptors reports for the rejoin floor (its Status). */
export interface RejoinReport {
  readonly promised: Ballot;
  /** The highest slot it holds a vote for, if any. */
  readonly lastAcceptedSlot?: bigint;
  readonly committedIndex: bigint;
  /** It is a rejoin itself, not yet caught up: its report does not count. */
  readonly rejoining: boolean;
}

/**
 * The floor of an acceptor that lost its data, from the reports of the other acceptors, read after
 * every proposer was stopped (DESIGN, "An acceptor that lost its data"). A value chosen with a
 * vote the lost acceptor gave has a vote at every other member of that quorum, so any quorum's
 * worth of reports from the others holds one of them: the floor's slot is above every slot they
 * accepted or know chosen, plus `marginSlots` (at least every proposer's window: accepts a
 * stopped proposer sent may still arrive late at the others). The floor's promise is the highest
 * they gave. Fewer than a quorum of counted reports: no floor can be read.
 */
export function rejoinFloorFrom(reports: readonly RejoinReport[], quorum: Quorum, marginSlots: bigint): RejoinFloor | { readonly problem: string } {
  const counted = reports.filter((r) => !r.rejoining);
  if (counted.length < quorum.q) {
    return { problem: `${counted.length} of the other acceptors answered${counted.length < reports.length ? ` (and ${reports.length - counted.length} still rejoining themselves)` : ''}; the floor needs a quorum of ${quorum.q}` };
  }
  let promised: Ballot = ZERO_BALLOT;
  let known = 0n;
  for (const r of counted) {
    promised = maxBallot(promised, r.promised);
    if (r.lastAcceptedSlot !== undefined && r.lastAcceptedSlot + 1n > known) known = r.lastAcceptedSlot + 1n;
    if (r.committedIndex > known) known = r.committedIndex;
  }
  return { promised, catchUpTo: known + (marginSlots > 0n ? marginSlots : 0n) };
}
