import type { AcceptedEntry, AcceptorReply, AcceptorRequest } from '@paxos/consensus-core';
import type { AcceptRequest, AcceptResponse, AcceptedEntry as WireAcceptedEntry, PrepareRequest, PrepareResponse } from '@paxos/proto';
import { ballotFromWire, ballotToWire } from './ballot';
import { slotValueFromWire, slotValueToWire } from './slot-value';
import { WireError } from './wire-error';

export function prepareFromWire(req: PrepareRequest): AcceptorRequest {
  return { type: 'prepare', ballot: ballotFromWire(req.ballot), fromSlot: req.fromSlot };
}

export function acceptFromWire(req: AcceptRequest): AcceptorRequest {
  switch (req.kind?.$case) {
    case 'accept':
      return {
        type: 'accept',
        ballot: ballotFromWire(req.kind.value.ballot, 'accept.ballot'),
        slot: req.kind.value.slot,
        value: slotValueFromWire(req.kind.value.value, 'accept.value'),
      };
    case 'commit': {
      const c = req.kind.value;
      return {
        type: 'commit',
        slot: c.slot,
        ballot: ballotFromWire(c.ballot, 'commit.ballot'),
        ...(c.value ? { value: slotValueFromWire(c.value, 'commit.value') } : {}),
      };
    }
    default:
      throw new WireError('request is empty: set accept or commit');
  }
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

export function acceptReplyToWire(requestId: bigint, reply: AcceptorReply): AcceptResponse {
  switch (reply.type) {
    case 'accepted':
      return { requestId, outcome: { $case: 'accepted', value: { ballot: ballotToWire(reply.ballot), slot: reply.slot } } };
    case 'reject':
      return { requestId, outcome: { $case: 'rejected', value: { promised: ballotToWire(reply.promised) } } };
    case 'refused':
      return { requestId, outcome: { $case: 'refused', value: { reason: reply.reason } } };
    case 'committed':
      return { requestId, outcome: { $case: 'committed', value: { committedIndex: reply.committedIndex } } };
    default:
      throw new Error(`assertion: an accept or commit cannot be answered with ${reply.type}`);
  }
}
