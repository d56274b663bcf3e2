// The state machine's records as the wire's paxos.v1 read messages.
import type { ChosenEntry } from '@paxos/consensus-core';
import type { LeaderboardRow as WireRow, LogEntry, ProposalRecord as WireProposal } from '@paxos/proto';
import { type AgreedState, commandOutcomes, type LeaderboardRow, type ProposalRecord } from '@paxos/state-machine';
import { ballotToWire, slotValueToWire } from '@paxos/wire';

export function proposalToWire(p: ProposalRecord): WireProposal {
  return {
    proposalNumber: p.proposalNumber,
    proposerId: p.proposerId,
    slot: p.slot,
    clientRequestId: p.clientRequestId,
    leaderboard: [...p.leaderboard],
    leaderboardSha256: p.leaderboardSha256,
    claims: p.claims.map((c) => ({ claim: c.claim, checkedBy: [...c.checkedBy] })),
  };
}

export function rowToWire(r: LeaderboardRow): WireRow {
  return { ...r };
}

/** A chosen slot with what each of its commands did (the state must have applied the slot). */
export function logEntryToWire(e: ChosenEntry, state: AgreedState): LogEntry {
  return {
    slot: e.slot,
    ballot: ballotToWire(e.ballot),
    value: slotValueToWire(e.value),
    outcomes: commandOutcomes(e, state).map((o) => ({ clientRequestId: o.clientRequestId, index: o.index, duplicate: o.duplicate, firstSlot: o.firstSlot, forgotten: o.forgotten })),
  };
}
