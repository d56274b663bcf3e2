import type { AcceptedEntry, AcceptorReply, AcceptorRequest } from '@paxos/consensus-core';
import type { AcceptRequest, AcceptResponse, AcceptedEntry as WireAcceptedEntry, Commit as WireCommit, PrepareRequest, PrepareResponse } from '@paxos/proto';
import { ballotFromWire, ballotToWire } from './ballot';
import { slotValueFromWire, slotValueToWire } from './slot-value';
import { WireError } from './wire-error';

export function prepareFromWire(req: PrepareRequest): AcceptorRequest {
  return { type: 'prepare', ballot: ballotFromWire(req.ballot), fromSlot: req.fromSlot };
}

/** The most commit notices one CommitBatch may carry. */
export const COMMIT_BATCH_MAX = 4096;

function commitFromWire(c: WireCommit, name: string): AcceptorRequest {
  return {
    type: 'commit',
    slot: c.slot,
    ballot: ballotFromWire(c.ballot, `${name}.ballot`),
    ...(c.value ? { value: slotValueFromWire(c.value, `${name}.value`) } : {}),
  };
}

/** A CommitBatch request: its commit notices. */
export interface CommitBatchRequest {
  readonly notices: readonly AcceptorRequest[];
}

/** The commit notices of a CommitBatch request, or undefined for any other request. */
export function commitBatchFromWire(req: AcceptRequest): CommitBatchRequest | undefined {
  if (req.kind?.$case !== 'commits') return undefined;
  const list = req.kind.value.commits;
  if (list.length === 0) throw new WireError('commits is empty');
  if (list.length > COMMIT_BATCH_MAX) throw new WireError(`commits carries ${list.length} notices, the bound is ${COMMIT_BATCH_MAX}`);
  return { notices: list.map((c, i) => commitFromWire(c, `commits[${i}]`)) };
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
    case 'commit':
      return commitFromWire(req.kind.value, 'commit');
    case 'commits':
      throw new WireError('a commit batch is not a single request');
    default:
      throw new WireError('request is empty: set accept, commit or commits');
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

/** Commit notices riding on an accept: slots [from, to) chosen under the accept's ballot. */
export interface PiggybackedCommits {
  readonly from: bigint;
  readonly to: bigint;
}

/** The longest commit range one accept may carry. */
export const PIGGYBACKED_COMMITS_MAX = 4096n;

export function piggybackedCommitsFromWire(req: AcceptRequest): PiggybackedCommits | undefined {
  if (req.kind?.$case !== 'accept' || !req.kind.value.commit) return undefined;
  const { fromSlot, toSlot } = req.kind.value.commit;
  if (toSlot < fromSlot) throw new WireError(`accept.commit: to_slot ${toSlot} is below from_slot ${fromSlot}`);
  if (toSlot - fromSlot > PIGGYBACKED_COMMITS_MAX) throw new WireError(`accept.commit spans ${toSlot - fromSlot} slots, the bound is ${PIGGYBACKED_COMMITS_MAX}`);
  return toSlot > fromSlot ? { from: fromSlot, to: toSlot } : undefined;
}

export function acceptReplyToWire(requestId: bigint, reply: AcceptorReply, committedIndex = 0n): AcceptResponse {
  switch (reply.type) {
    case 'accepted':
      return { requestId, outcome: { $case: 'accepted', value: { ballot: ballotToWire(reply.ballot), slot: reply.slot, committedIndex } } };
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
