import { SlotValue as ProtoSlotValue } from '@paxos/proto';
import { RecordType, decodeRecord, encodeChange, fromProtoSlotValue, toProtoSlotValue } from './record-codec';
import type { SlotValue } from './durable-types';

describe('record codec', () => {
  const batch: SlotValue = {
    kind: 'batch',
    commands: [
      { clientRequestId: 'r1', contentType: 'text/plain', data: new Uint8Array([1, 2, 3]) },
      { clientRequestId: 'r2', contentType: 'text/plain', data: new Uint8Array([4]), verifiedBy: [3, 13] },
    ],
  };

  it('maps SlotValue to and from the proto message', () => {
    expect(toProtoSlotValue({ kind: 'noop' })).toEqual({ kind: { $case: 'noop', value: {} } });
    const proto = toProtoSlotValue(batch);
    expect(proto.kind?.$case).toBe('batch');
    expect(fromProtoSlotValue(ProtoSlotValue.decode(ProtoSlotValue.encode(proto).finish()))).toEqual(batch);
    expect(() => fromProtoSlotValue({})).toThrow(/no kind/);
  });

  it('round-trips changes at the edges of the integer ranges', () => {
    const max = (1n << 64n) - 1n;
    const change = {
      promised: { round: max, proposerId: 0xffffffff },
      accepted: { slot: max, ballot: { round: 0n, proposerId: 0 }, value: { kind: 'noop' as const } },
      chosen: { slot: 0n, ballot: { round: 1n, proposerId: 2 }, value: batch },
    };
    expect(decodeRecord(encodeChange(change))).toEqual({ type: RecordType.Change, change });
    expect(() => encodeChange({ promised: { round: max + 1n, proposerId: 0 } })).toThrow(RangeError);
    expect(() => encodeChange({ promised: { round: 1n, proposerId: -1 } })).toThrow(RangeError);
  });
});
