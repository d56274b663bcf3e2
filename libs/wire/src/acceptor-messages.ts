import { type AcceptedEntry, type AcceptorReply, type AcceptorRequest, type Ballot, type SlotValue, ballotEquals } from '@paxos/consensus-core';
import { type AcceptRequest, type AcceptResponse, type AcceptedEntry as WireAcceptedEntry, type Commit as WireCommit, type PrepareRequest, type PrepareResponse, RefusalKind } from '@paxos/proto';
import { ballotFromWire, ballotToWire } from './ballot';
import { slotValueFromWire, slotValueToWire } from './slot-value';
import { WireError } from './wire-error';

export function prepareFromWire(req: PrepareRequest): AcceptorRequest {
  return { type: 'prepare', ballot: ballotFromWire(req.ballot), fromSlot: req.fromSlot };
}

/** The most slots the commit notices of one request may name together. */
export const COMMIT_SLOTS_MAX = 4096;

/** A stream request as the core's requests: its prepare or accept, if any, and the commit notices it carries, one per slot. */
export interface CoreRequests {
  readonly request?: AcceptorRequest;
  readonly notices: readonly AcceptorRequest[];
}

/** One Commit's notices, a slot each; its bounds are checked by the caller. */
function noticesFromWire(c: WireCommit, name: string): AcceptorRequest[] {
  const ballot = ballotFromWire(c.ballot, `${name}.ballot`);
  const values = c.values.map((v, i) => slotValueFromWire(v, `${name}.values[${i}]`));
  const notices: AcceptorRequest[] = [];
  for (let slot = c.fromSlot; slot < c.toSlot; slot++) {
    const value = values[Number(slot - c.fromSlot)];
    notices.push({ type: 'commit', slot, ballot, ...(value ? { value } : {}) });
  }
  return notices;
}

/**
 * An Accept-stream request: the accept (phase 2a) and the commit notices riding on it, or commit
 * notices alone. Bounded before anything is expanded: at most COMMIT_SLOTS_MAX slots in all.
 */
export function acceptRequestFromWire(req: AcceptRequest): CoreRequests {
  if (!req.accept && req.commits.length === 0) throw new WireError(
      'request is empty: set accept, commits or both (a proposer built before 2026-12-05 sends its commit notices in fields 3 and 4, which this acceptor no longer reads: replace it with this build)',
    );
  let slots = 0n;
  req.commits.forEach((c, i) => {
    if (c.toSlot <= c.fromSlot) throw new WireError(`commits[${i}]: to_slot ${c.toSlot} is not above from_slot ${c.fromSlot}`);
    slots += c.toSlot - c.fromSlot;
    if (slots > BigInt(COMMIT_SLOTS_MAX)) throw new WireError(`commits name more than ${COMMIT_SLOTS_MAX} slots, the bound of one request`);
    if (c.values.length !== 0 && BigInt(c.values.length) !== c.toSlot - c.fromSlot) {
      throw new WireError(`commits[${i}] carries ${c.values.length} values for ${c.toSlot - c.fromSlot} slots: send one per slot, or none`);
    }
  });
  const notices = req.commits.flatMap((c, i) => noticesFromWire(c, `commits[${i}]`));
  if (!req.accept) return { notices };
  const a = req.accept;
  return {
    request: { type: 'accept', ballot: ballotFromWire(a.ballot, 'accept.ballot'), slot: a.slot, value: slotValueFromWire(a.value, 'accept.value') },
    notices,
  };
}

/** A chosen slot for a commit notice: its ballot, and its value when the notice carries it. */
export interface ChosenSlot {
  readonly slot: bigint;
  readonly ballot: Ballot;
  readonly value?: SlotValue;
}

/**
 * Commit notices for chosen slots, in the order given: a run of consecutive slots chosen under one
 * ballot, all with their values or all without, is one Commit.
 */
export function commitsToWire(chosen: readonly ChosenSlot[]): WireCommit[] {
  const out: WireCommit[] = [];
  let last: { commit: WireCommit; ballot: Ballot; withValues: boolean } | undefined;
  for (const c of chosen) {
    const withValues = c.value !== undefined;
    if (last && last.commit.toSlot === c.slot && last.withValues === withValues && ballotEquals(last.ballot, c.ballot)) {
      last.commit.toSlot += 1n;
    } else {
      last = { commit: { ballot: ballotToWire(c.ballot), fromSlot: c.slot, toSlot: c.slot + 1n, values: [] }, ballot: c.ballot, withValues };
      out.push(last.commit);
    }
    if (c.value) last.commit.values.push(slotValueToWire(c.value));
  }
  return out;
}

export function acceptedEntryToWire(e: AcceptedEntry): WireAcceptedEntry {
  return { slot: e.slot, ballot: ballotToWire(e.ballot), value: slotValueToWire(e.value) };
}

export function acceptedEntryFromWire(e: WireAcceptedEntry): AcceptedEntry {
  return { slot: e.slot, ballot: ballotFromWire(e.ballot, 'accepted[].ballot'), value: slotValueFromWire(e.value, 'accepted[].value') };
}

/** The phase-1 answer on the wire; only promise and reject belong on the Prepare stream. */
export function prepareReplyToWire(requestId: bigint, reply: AcceptorReply): PrepareResponse {
  switch (reply.type) {
    case 'promise':
      return {
        requestId,
        outcome: {
          $case: 'promised',
          value: {
            ballot: ballotToWire(reply.ballot),
            accepted: reply.accepted.map(acceptedEntryToWire),
            truncated: reply.truncated,
            committedIndex: reply.committedIndex,
          },
        },
      };
    case 'reject':
      return { requestId, outcome: { $case: 'rejected', value: { promised: ballotToWire(reply.promised) } } };
    default:
      throw new Error(`assertion: a prepare cannot be answered with ${reply.type}`);
  }
}

/** The core's refusal category as the wire names it. */
const REFUSAL_KINDS = {
  'value-check': RefusalKind.REFUSAL_KIND_VALUE_CHECK,
  'slot-window': RefusalKind.REFUSAL_KIND_SLOT_WINDOW,
  rejoining: RefusalKind.REFUSAL_KIND_REJOINING,
} as const;

export function acceptReplyToWire(requestId: bigint, reply: AcceptorReply, committedIndex = 0n, durableCommittedIndex = 0n): AcceptResponse {
  switch (reply.type) {
    case 'accepted':
      return { requestId, outcome: { $case: 'accepted', value: { ballot: ballotToWire(reply.ballot), slot: reply.slot, committedIndex, durableCommittedIndex } } };
    case 'reject':
      return { requestId, outcome: { $case: 'rejected', value: { promised: ballotToWire(reply.promised) } } };
    case 'refused':
      return { requestId, outcome: { $case: 'refused', value: { reason: reply.reason, kind: REFUSAL_KINDS[reply.refusal ?? 'value-check'] } } };
    case 'committed':
      return { requestId, outcome: { $case: 'committed', value: { committedIndex: reply.committedIndex, durableCommittedIndex } } };
    default:
      throw new Error(`assertion: an accept or commit cannot be answered with ${reply.type}`);
  }
}
