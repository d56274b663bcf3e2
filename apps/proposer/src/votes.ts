import { type Ballot, formatBallot } from '@paxos/consensus-core';
import { type AcceptResponse, type AcceptorVote, type PrepareResponse, VoteOutcome, VotePhase } from '@paxos/proto';
import { ballotToWire } from '@paxos/wire';
import type { Answer } from './fan-out';

/** The promise a rejection names, as operators read it (an answer without one says so: it is network input). */
function promisedText(promised: { round: bigint; proposerId: number } | undefined): string {
  return promised === undefined ? 'rejected without naming its promise' : `promised ${formatBallot(promised)}`;
}

/** One acceptor's phase-1 answer, for operators (ProposeResponse.votes). */
export function prepareVote(a: Answer<PrepareResponse>, ballot: Ballot, address: string): AcceptorVote {
  const o = a.reply?.outcome;
  const outcome = !o ? VoteOutcome.VOTE_OUTCOME_NO_ANSWER : o.$case === 'promised' ? VoteOutcome.VOTE_OUTCOME_PROMISED : VoteOutcome.VOTE_OUTCOME_REJECTED;
  const detail = !o ? String((a.error as Error)?.message ?? 'no answer') : o.$case === 'rejected' ? promisedText(o.value.promised) : '';
  return { nodeId: a.from, address, phase: VotePhase.VOTE_PHASE_PREPARE, outcome, ballot: ballotToWire(ballot), detail };
}

/** One acceptor's phase-2 answer, for operators (ProposeResponse.votes). */
export function acceptVote(a: Answer<AcceptResponse>, ballot: Ballot, address: string): AcceptorVote {
  const o = a.reply?.outcome;
  let outcome = VoteOutcome.VOTE_OUTCOME_NO_ANSWER;
  let detail = !o ? String((a.error as Error)?.message ?? 'no answer') : '';
  if (o?.$case === 'accepted') outcome = VoteOutcome.VOTE_OUTCOME_ACCEPTED;
  else if (o?.$case === 'rejected') {
    outcome = VoteOutcome.VOTE_OUTCOME_REJECTED;
    detail = promisedText(o.value.promised);
  } else if (o?.$case === 'refused') {
    outcome = VoteOutcome.VOTE_OUTCOME_REFUSED;
    detail = o.value.reason;
  }
  return { nodeId: a.from, address, phase: VotePhase.VOTE_PHASE_ACCEPT, outcome, ballot: ballotToWire(ballot), detail };
}
