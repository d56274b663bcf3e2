import type { AcceptRequest, PrepareRequest, SlotValue } from '@paxos/proto';

export type ForgedMessage =
  | { readonly name: string; readonly kind: 'prepare'; readonly request: PrepareRequest }
  | { readonly name: string; readonly kind: 'accept'; readonly request: AcceptRequest };

const U64_MAX = (1n << 64n) - 1n;
const value = (id: string): SlotValue => ({ kind: { $case: 'batch', value: { commands: [{ clientRequestId: id, value: { contentType: 'application/octet-stream', data: Buffer.from([0xde, 0xad]) }, verifiedBy: [] }] } } });

/**
 * Messages no configured proposer sends: ballots of an unknown proposer (huge rounds included),
 * absurd slots and ranges, commit notices for slots nobody accepted, fields missing. Each must be
 * refused with a status and change nothing.
 */
export function forgedMessages(proposers: number): ForgedMessage[] {
  const stranger = proposers + 100;
  const ballot = (round: bigint) => ({ round, proposerId: stranger });
  return [
    { name: 'prepare at round 2^62 by an unknown proposer', kind: 'prepare', request: { requestId: 1n, ballot: ballot(1n << 62n), fromSlot: 0n } },
    { name: 'prepare without a ballot', kind: 'prepare', request: { requestId: 2n, fromSlot: 0n } },
    { name: 'prepare from slot 2^64-1', kind: 'prepare', request: { requestId: 3n, ballot: ballot(U64_MAX), fromSlot: U64_MAX } },
    { name: 'accept at slot 2^64-1', kind: 'accept', request: { requestId: 4n, accept: { ballot: ballot(1n << 62n), slot: U64_MAX, value: value('forged-1') }, commits: [], quorumCommittedIndex: 0n } },
    { name: 'accept of a forged value at slot 0', kind: 'accept', request: { requestId: 5n, accept: { ballot: ballot(1n << 40n), slot: 0n, value: value('forged-2') }, commits: [], quorumCommittedIndex: 0n } },
    { name: 'accept without a value', kind: 'accept', request: { requestId: 6n, accept: { ballot: ballot(1n), slot: 0n }, commits: [], quorumCommittedIndex: 0n } },
    { name: 'empty accept request', kind: 'accept', request: { requestId: 7n, commits: [], quorumCommittedIndex: 0n } },
    {
      name: 'commit notice for 2^64 slots',
      kind: 'accept',
      request: { requestId: 8n, commits: [{ ballot: ballot(1n), fromSlot: 0n, toSlot: U64_MAX, values: [] }], quorumCommittedIndex: 0n },
    },
    {
      name: 'commit notice with a forged value for slots nobody accepted',
      kind: 'accept',
      request: { requestId: 9n, commits: [{ ballot: ballot(1n << 40n), fromSlot: 0n, toSlot: 2n, values: [value('forged-3'), value('forged-4')] }], quorumCommittedIndex: 0n },
    },
    {
      name: 'commit notice without a ballot',
      kind: 'accept',
      request: { requestId: 10n, commits: [{ fromSlot: 0n, toSlot: 1n, values: [value('forged-5')] }], quorumCommittedIndex: 0n },
    },
  ];
}
