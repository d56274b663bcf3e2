import type { AcceptorReply, SlotValue } from '@paxos/consensus-core';
import { AcceptRequest, PrepareRequest, SlotValue as WireSlotValue } from '@paxos/proto';
import { acceptFromWire, acceptReplyToWire, COMMIT_BATCH_MAX, commitBatchFromWire, prepareFromWire, prepareReplyToWire } from './acceptor-messages';
import { ballotFromWire } from './ballot';
import { slotValueDigest, slotValueFromWire, slotValueToWire, valueBytesDigest } from './slot-value';
import { WireError } from './wire-error';

const ballot = { round: (1n << 60n) + 3n, proposerId: 7 };
const batch: SlotValue = {
  kind: 'batch',
  commands: [
    { clientRequestId: 'a', contentType: 'text/plain', data: new Uint8Array([1, 2, 3]) },
    { clientRequestId: 'b', contentType: 'application/octet-stream', data: new Uint8Array(0) },
  ],
};

describe('wire conversions', () => {
  it('round-trips slot values through the protobuf encoding', () => {
    for (const v of [batch, { kind: 'noop' } as SlotValue]) {
      const bytes = WireSlotValue.encode(slotValueToWire(v)).finish();
      const back = slotValueFromWire(WireSlotValue.decode(bytes));
      expect(back.kind).toBe(v.kind);
      if (back.kind === 'batch' && v.kind === 'batch') {
        expect(back.commands.map((c) => [c.clientRequestId, c.contentType, [...c.data]])).toEqual(v.commands.map((c) => [c.clientRequestId, c.contentType, [...c.data]]));
      }
    }
  });

  it('names the missing field in its error', () => {
    expect(() => ballotFromWire(undefined, 'accept.ballot')).toThrow(new WireError('accept.ballot is missing'));
    expect(() => slotValueFromWire({ kind: undefined })).toThrow(/value is missing: set noop or batch/);
    expect(() => acceptFromWire({ requestId: 1n, kind: undefined })).toThrow(/set accept, commit or commits/);
    expect(() => slotValueFromWire({ kind: { $case: 'batch', value: { commands: [{ clientRequestId: 'x' }] } } })).toThrow(/commands\[0\]\.value is missing/);
  });

  it('maps prepare and accept requests to the core, keeping 64-bit values exact', () => {
    const p = prepareFromWire(PrepareRequest.decode(PrepareRequest.encode({ requestId: 1n, ballot, fromSlot: 2n ** 62n }).finish()));
    expect(p).toEqual({ type: 'prepare', ballot, fromSlot: 2n ** 62n });
    const a = acceptFromWire(AcceptRequest.decode(AcceptRequest.encode({ requestId: 2n, kind: { $case: 'commit', value: { slot: 9n, ballot } } }).finish()));
    expect(a).toEqual({ type: 'commit', slot: 9n, ballot });
  });

  it('maps a commit batch to commit notices, bounded, and only a commit batch', () => {
    const req = AcceptRequest.decode(
      AcceptRequest.encode({
        requestId: 3n,
        kind: { $case: 'commits', value: { commits: [{ slot: 4n, ballot, value: slotValueToWire(batch) }, { slot: 5n, ballot }] } },
      }).finish(),
    );
    const got = commitBatchFromWire(req);
    expect(got?.notices.map((n) => [n.type, n.type === 'commit' && n.slot, n.type === 'commit' && n.value !== undefined])).toEqual([
      ['commit', 4n, true],
      ['commit', 5n, false],
    ]);
    expect(() => acceptFromWire(req)).toThrow(/not a single request/);
    expect(commitBatchFromWire({ requestId: 1n, kind: { $case: 'commit', value: { slot: 1n, ballot } } })).toBeUndefined();
    const tooMany = Array.from({ length: COMMIT_BATCH_MAX + 1 }, (_, i) => ({ slot: BigInt(i), ballot }));
    expect(() => commitBatchFromWire({ requestId: 1n, kind: { $case: 'commits', value: { commits: tooMany } } })).toThrow(/bound is 4096/);
    // A batch without notices is not a request.
    expect(() => commitBatchFromWire({ requestId: 1n, kind: { $case: 'commits', value: { commits: [] } } })).toThrow(/commits is empty/);
  });

  it('maps replies to the stream they belong to, and refuses the others loudly', () => {
    const promise: AcceptorReply = { type: 'promise', ballot, accepted: [{ slot: 0n, ballot, value: batch }], truncated: false, committedIndex: 0n };
    expect(prepareReplyToWire(5n, promise).outcome?.$case).toBe('promised');
    expect(acceptReplyToWire(6n, { type: 'refused', reason: 'false claim' })).toEqual({ requestId: 6n, outcome: { $case: 'refused', value: { reason: 'false claim' } } });
    expect(() => prepareReplyToWire(7n, { type: 'accepted', ballot, slot: 0n })).toThrow(/assertion/);
  });

  it('digests are stable hex SHA-256', () => {
    expect(valueBytesDigest(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(slotValueDigest(batch)).toMatch(/^[0-9a-f]{64}$/);
    expect(slotValueDigest(batch)).toBe(slotValueDigest({ ...batch }));
    expect(slotValueDigest({ kind: 'noop' })).not.toBe(slotValueDigest(batch));
  });
});
