import type { AcceptorReply, SlotValue } from '@paxos/consensus-core';
import { AcceptRequest, PrepareRequest, RefusalKind, SlotValue as WireSlotValue } from '@paxos/proto';
import { acceptReplyToWire, acceptRequestFromWire, COMMIT_SLOTS_MAX, commitsToWire, prepareFromWire, prepareReplyToWire } from './acceptor-messages';
import { ballotFromWire } from './ballot';
import { slotValueDigest, slotValueFromWire, slotValueToWire, valueBytesDigest } from './slot-value';
import { WireError } from './wire-error';

const ballot = { round: (1n << 60n) + 3n, proposerId: 7 };
const batch: SlotValue = {
  kind: 'batch',
  commands: [
    { clientRequestId: 'a', contentType: 'text/plain', data: new Uint8Array([1, 2, 3]) },
    { clientRequestId: 'b', contentType: 'application/octet-stream', data: new Uint8Array(0) },
    { clientRequestId: 'c', contentType: 'text/plain', data: new Uint8Array([4]), verifiedBy: [0, 10] },
  ],
};

describe('wire conversions', () => {
  it('round-trips slot values through the protobuf encoding', () => {
    for (const v of [batch, { kind: 'noop' } as SlotValue]) {
      const bytes = WireSlotValue.encode(slotValueToWire(v)).finish();
      const back = slotValueFromWire(WireSlotValue.decode(bytes));
      expect(back.kind).toBe(v.kind);
      if (back.kind === 'batch' && v.kind === 'batch') {
        // The claim certificate is part of the value: it survives the wire.
        const fields = (c: (typeof v.commands)[number]) => [c.clientRequestId, c.contentType, [...c.data], c.verifiedBy ?? []];
        expect(back.commands.map(fields)).toEqual(v.commands.map(fields));
      }
    }
  });

  it('names the missing field in its error', () => {
    expect(() => ballotFromWire(undefined, 'accept.ballot')).toThrow(new WireError('accept.ballot is missing'));
    expect(() => slotValueFromWire({ kind: undefined })).toThrow(/value is missing: set noop or batch/);
    expect(() => acceptRequestFromWire({ requestId: 1n, quorumCommittedIndex: 0n, commits: [] })).toThrow(/set accept, commits or both/);
    expect(() => slotValueFromWire({ kind: { $case: 'batch', value: { commands: [{ clientRequestId: 'x', verifiedBy: [] }] } } })).toThrow(/commands\[0\]\.value is missing/);
  });

  it('maps prepare and accept requests to the core, keeping 64-bit values exact', () => {
    const p = prepareFromWire(PrepareRequest.decode(PrepareRequest.encode({ requestId: 1n, ballot, fromSlot: 2n ** 62n }).finish()));
    expect(p).toEqual({ type: 'prepare', ballot, fromSlot: 2n ** 62n });
    const a = acceptRequestFromWire(AcceptRequest.decode(AcceptRequest.encode({ requestId: 2n, quorumCommittedIndex: 0n, commits: [{ ballot, fromSlot: 9n, toSlot: 10n, values: [] }] }).finish()));
    expect(a).toEqual({ notices: [{ type: 'commit', slot: 9n, ballot }] });
  });

  it('has one shape for commit notices: a range under one ballot, with a value per slot or none, alone or on an accept', () => {
    const req = AcceptRequest.decode(
      AcceptRequest.encode({
        requestId: 3n,
        quorumCommittedIndex: 0n,
        accept: { ballot, slot: 7n, value: slotValueToWire(batch) },
        commits: [
          { ballot, fromSlot: 4n, toSlot: 5n, values: [slotValueToWire(batch)] },
          { ballot, fromSlot: 5n, toSlot: 7n, values: [] },
        ],
      }).finish(),
    );
    const got = acceptRequestFromWire(req);
    expect(got.request).toMatchObject({ type: 'accept', slot: 7n, ballot });
    expect(got.notices.map((n) => [n.type, n.type === 'commit' && n.slot, n.type === 'commit' && n.value !== undefined])).toEqual([
      ['commit', 4n, true],
      ['commit', 5n, false],
      ['commit', 6n, false],
    ]);
    const range = (fromSlot: bigint, toSlot: bigint, values = 0) => ({ ballot, fromSlot, toSlot, values: Array.from({ length: values }, () => slotValueToWire(batch)) });
    // Bounded before anything is expanded: a range of 2^64 slots costs nothing to refuse.
    expect(() => acceptRequestFromWire({ requestId: 1n, quorumCommittedIndex: 0n, commits: [range(0n, 1n << 64n)] })).toThrow(/more than 4096 slots/);
    expect(() => acceptRequestFromWire({ requestId: 1n, quorumCommittedIndex: 0n, commits: [range(0n, BigInt(COMMIT_SLOTS_MAX)), range(5000n, 5001n)] })).toThrow(/more than 4096 slots/);
    expect(() => acceptRequestFromWire({ requestId: 1n, quorumCommittedIndex: 0n, commits: [range(5n, 5n)] })).toThrow(/to_slot 5 is not above from_slot 5/);
    expect(() => acceptRequestFromWire({ requestId: 1n, quorumCommittedIndex: 0n, commits: [range(0n, 3n, 2)] })).toThrow(/2 values for 3 slots/);
    expect(() => acceptRequestFromWire({ requestId: 1n, quorumCommittedIndex: 0n, commits: [{ fromSlot: 0n, toSlot: 1n, values: [] }] })).toThrow(/commits\[0\]\.ballot is missing/);
  });

  it('writes chosen slots as commit notices: a run of one ballot, all with values or all without, in one Commit', () => {
    const other = { round: 9n, proposerId: 1 };
    const chosen = [
      { slot: 3n, ballot, value: batch },
      { slot: 4n, ballot, value: batch },
      { slot: 5n, ballot: other, value: batch },
      { slot: 6n, ballot: other },
      { slot: 7n, ballot: other },
      { slot: 9n, ballot: other },
    ];
    expect(commitsToWire(chosen).map((c) => [c.fromSlot, c.toSlot, c.values.length])).toEqual([
      [3n, 5n, 2],
      [5n, 6n, 1],
      [6n, 8n, 0],
      [9n, 10n, 0],
    ]);
    expect(acceptRequestFromWire({ requestId: 1n, quorumCommittedIndex: 0n, commits: commitsToWire(chosen) }).notices.map((n) => n.type === 'commit' && [n.slot, n.value?.kind])).toEqual([
      [3n, 'batch'],
      [4n, 'batch'],
      [5n, 'batch'],
      [6n, undefined],
      [7n, undefined],
      [9n, undefined],
    ]);
  });

  it('maps replies to the stream they belong to, and refuses the others loudly', () => {
    const promise: AcceptorReply = { type: 'promise', ballot, accepted: [{ slot: 0n, ballot, value: batch }], truncated: false, committedIndex: 0n };
    expect(prepareReplyToWire(5n, promise).outcome?.$case).toBe('promised');
    expect(acceptReplyToWire(6n, { type: 'refused', reason: 'false claim' })).toEqual({ requestId: 6n, outcome: { $case: 'refused', value: { reason: 'false claim', kind: RefusalKind.REFUSAL_KIND_VALUE_CHECK } } });
    expect(acceptReplyToWire(7n, { type: 'refused', reason: 'rejoining', refusal: 'rejoining' }).outcome).toEqual({ $case: 'refused', value: { reason: 'rejoining', kind: RefusalKind.REFUSAL_KIND_REJOINING } });
    expect(() => prepareReplyToWire(7n, { type: 'accepted', ballot, slot: 0n })).toThrow(/assertion/);
  });

  it('digests are stable hex SHA-256', () => {
    expect(valueBytesDigest(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(slotValueDigest(batch)).toMatch(/^[0-9a-f]{64}$/);
    expect(slotValueDigest(batch)).toBe(slotValueDigest({ ...batch }));
    expect(slotValueDigest({ kind: 'noop' })).not.toBe(slotValueDigest(batch));
  });
});
