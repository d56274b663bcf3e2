import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { ChosenEntry } from '@paxos/consensus-core';
import { buildProposal, encodeProposalValue, LEADERBOARD_ROWS_MAX } from '@paxos/proposal';
import { Consistency, type ListProposalsRequest, ListProposalsResponse } from '@paxos/proto';
import { AgreedState } from '@paxos/state-machine';
import { LIST_PROPOSALS_ANSWER_BYTES_MAX, readService } from './read-service';

/** What grpc-js and grpcurl take by default in one message. */
const CLIENT_RECEIVE_BYTES_DEFAULT = 4 * 1024 * 1024;

const ballot = { round: 1n, proposerId: 1 };
/** Proposals as large as the rules let a leaderboard be: 256 rows of 64-character names and 32-digit numbers (the same 256 frameworks each time). */
function wideProposalLog(proposals: number): ChosenEntry[] {
  const digits = '1'.repeat(32);
  return Array.from({ length: proposals }, (_, s) => {
    const rows = Array.from({ length: LEADERBOARD_ROWS_MAX }, (_, i) => ({ framework: `framework-${String(i).padStart(4, '0')}`.padEnd(64, 'f'), score: digits, pricePerPoint: digits, bid: digits, ask: digits }));
    const value = encodeProposalValue(buildProposal({ proposalNumber: BigInt(s + 1), proposerId: 1, leaderboard: rows }));
    return { slot: BigInt(s), ballot, value: { kind: 'batch' as const, commands: [{ clientRequestId: `wide-${s}`, ...value }] } };
  });
}

function listProposals(state: AgreedState, request: ListProposalsRequest): Promise<ListProposalsResponse> {
  const service = readService({ state, defaultConsistency: Consistency.CONSISTENCY_STALE, readLog: async () => [] });
  const call = { request, cancelled: false, getDeadline: () => Infinity, getPeer: () => 'ipv4:127.0.0.1:1', getAuthContext: () => null } as unknown as ServerUnaryCall<ListProposalsRequest, ListProposalsResponse>;
  return new Promise((resolve, reject) => service.listProposals(call, (err, answer) => (err || !answer ? reject(err) : resolve(answer))));
}

describe('ListProposals answers', () => {
  it('say which numbers the registry forgot, so that a client paging sees numbers forgotten between two pages', async () => {
    const state = new AgreedState({ registry: { numbersMax: 4 } });
    const apply = (n: bigint) => {
      const value = encodeProposalValue(buildProposal({ proposalNumber: n, proposerId: 1, leaderboard: [{ framework: 'f', score: '1', pricePerPoint: '1', bid: '1', ask: '1' }] }));
      state.apply({ slot: state.appliedSlot, ballot, value: { kind: 'batch', commands: [{ clientRequestId: `n-${n}`, ...value }] } });
    };
    for (const n of [50n, 10n, 20n, 30n]) apply(n); // 50 is the oldest in the log and the highest number
    const first = await listProposals(state, { fromNumber: 0n, maxEntries: 2, consistency: Consistency.CONSISTENCY_UNSPECIFIED });
    expect(first.proposals.map((p) => p.proposalNumber)).toEqual([10n, 20n]);
    expect([first.forgottenAtOrBelow, first.forgottenCount]).toEqual([undefined, 0n]);
    apply(60n); // past the bound: 50, the oldest, is forgotten, and listed on no page
    const second = await listProposals(state, { fromNumber: first.nextNumber, maxEntries: 2, consistency: Consistency.CONSISTENCY_UNSPECIFIED });
    expect(second.proposals.map((p) => p.proposalNumber)).toEqual([30n, 60n]);
    expect([second.forgottenAtOrBelow, second.forgottenCount]).toEqual([50n, 1n]);
  });

  it('fit a client at its default receive limit when the proposals carry wide leaderboards (read on from next_number)', async () => {
    // 256 such proposals are about 13 MB on the wire: a page of all of them was refused by every client at its defaults.
    const log = wideProposalLog(300);
    const state = new AgreedState({});
    for (const e of log) state.apply(e);
    const numbers: bigint[] = [];
    let from = 0n;
    for (let page = 0; page < 100; page++) {
      const answer = await listProposals(state, { fromNumber: from, maxEntries: 256, consistency: Consistency.CONSISTENCY_UNSPECIFIED });
      const bytes = ListProposalsResponse.encode(answer).finish().length;
      expect(bytes).toBeLessThanOrEqual(LIST_PROPOSALS_ANSWER_BYTES_MAX);
      expect(bytes).toBeLessThanOrEqual(CLIENT_RECEIVE_BYTES_DEFAULT);
      expect(answer.proposals.length).toBeGreaterThan(0);
      numbers.push(...answer.proposals.map((p) => p.proposalNumber));
      if (answer.nextNumber === 0n) break;
      from = answer.nextNumber;
    }
    // Every proposal once, in number order: nothing skipped at a page's cut.
    expect(numbers).toEqual(log.map((_, s) => BigInt(s + 1)));
  });
});
