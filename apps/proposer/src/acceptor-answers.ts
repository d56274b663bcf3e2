// An acceptor's answer as the core's event. Answers are network input: one that names another
// ballot or slot than asked, or a slot above the core's bound, is a WireError (taken as no answer
// by the caller), never an assertion.
import { type Ballot, type ProposerEvent, DEFAULT_LIMITS, ballotEquals, formatBallot } from '@paxos/consensus-core';
import { type AcceptResponse, type PrepareResponse, RefusalKind } from '@paxos/proto';
import { WireError, acceptedEntryFromWire, ballotFromWire } from '@paxos/wire';
import type { Answer } from './fan-out';

/** Whether a prepare answer is a promise for the ballot asked (only those count toward a quorum). */
function isPromiseFor(r: PrepareResponse, ballot: Ballot): boolean {
  const o = r.outcome;
  return o?.$case === 'promised' && o.value.ballot !== undefined && ballotEquals(ballotFromWire(o.value.ballot), ballot);
}

/** Whether an accept answer is a vote for the slot and ballot asked (only those count toward a quorum). */
function isVoteFor(r: AcceptResponse, slot: bigint, ballot: Ballot): boolean {
  const o = r.outcome;
  return o?.$case === 'accepted' && o.value.slot === slot && o.value.ballot !== undefined && ballotEquals(ballotFromWire(o.value.ballot), ballot);
}

/** The core's event for an answer to a prepare of `ballot` (throws WireError on a malformed one). */
export function prepareEvent(a: Answer<PrepareResponse>, ballot: Ballot): ProposerEvent {
  const o = a.reply?.outcome;
  if (a.error !== undefined || !o) return { type: 'unreachable', from: a.from, ballot };
  if (o.$case === 'rejected') return { type: 'reject', from: a.from, promised: ballotFromWire(o.value.promised), ballot };
  if (!isPromiseFor(a.reply as PrepareResponse, ballot)) throw new WireError(`a promise that does not name the ballot asked (${formatBallot(ballot)})`);
  // Slots are network input too: one above the core's bound would trip its assertion.
  const tooHigh = [o.value.committedIndex, ...o.value.accepted.map((e) => e.slot)].find((slot) => slot > DEFAULT_LIMITS.slotMax);
  if (tooHigh !== undefined) throw new WireError(`a promise names slot ${tooHigh}, above the highest slot ${DEFAULT_LIMITS.slotMax}`);
  return {
    type: 'promise',
    from: a.from,
    ballot: ballotFromWire(o.value.ballot),
    accepted: o.value.accepted.map(acceptedEntryFromWire),
    truncated: o.value.truncated,
    committedIndex: o.value.committedIndex,
  };
}

/**
 * The core's event for an answer to an accept of `slot` at `ballot` (throws WireError on a
 * malformed one), and the committed indexes a vote reports (for catch-up's bookkeeping).
 */
export function acceptEvent(a: Answer<AcceptResponse>, ballot: Ballot, slot: bigint): { event?: ProposerEvent; committedIndex?: bigint; durableCommittedIndex?: bigint } {
  const o = a.reply?.outcome;
  if (a.error !== undefined || !o) return { event: { type: 'unreachable', from: a.from, ballot, slot } };
  if (o.$case === 'accepted') {
    // The vote counts for the slot and ballot asked, and only for them.
    if (!isVoteFor(a.reply as AcceptResponse, slot, ballot)) {
      const named = o.value.ballot ? formatBallot(ballotFromWire(o.value.ballot)) : 'none';
      throw new WireError(`accepted names slot ${o.value.slot} ballot ${named}, but slot ${slot} ballot ${formatBallot(ballot)} was asked`);
    }
    return { event: { type: 'accepted', from: a.from, ballot, slot }, committedIndex: o.value.committedIndex, durableCommittedIndex: o.value.durableCommittedIndex };
  }
  if (o.$case === 'rejected') return { event: { type: 'reject', from: a.from, promised: ballotFromWire(o.value.promised), ballot, slot } };
  // A rejoining acceptor refuses every value until it has caught up: not an answer about the value,
  // so it counts as an acceptor that did not answer (another is asked), never toward failing it.
  if (o.$case === 'refused' && o.value.kind === RefusalKind.REFUSAL_KIND_REJOINING) return { event: { type: 'unreachable', from: a.from, ballot, slot } };
  if (o.$case === 'refused') return { event: { type: 'refused', from: a.from, ballot, slot, reason: o.value.reason } };
  return {};
}
