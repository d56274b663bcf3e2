import type { SlotValue } from '@paxos/consensus-core';
import { AcceptRequest, SlotValue as WireSlotValue } from '@paxos/proto';
import { acceptRequestFromWire } from './acceptor-messages';
import { encodedSlotValue, slotValueToWire } from './slot-value';
import { decodeAcceptRequest } from './slot-value-encoding';

const ballot = { round: 3n, proposerId: 1 };
const value: SlotValue = {
  kind: 'batch',
  commands: [
    { clientRequestId: 'a', contentType: 'text/plain', data: new Uint8Array([1, 2, 3]) },
    { clientRequestId: 'b', contentType: 'application/octet-stream', data: new Uint8Array(300).fill(7) },
  ],
};
const fresh = (v: SlotValue) => Buffer.from(WireSlotValue.encode(slotValueToWire(v)).finish());

function accepted(buf: Buffer): SlotValue {
  const req = acceptRequestFromWire(decodeAcceptRequest(buf)).request;
  if (req?.type !== 'accept') throw new Error('not an accept');
  return req.value;
}

describe('received value bytes', () => {
  it('an accepted value is stored as the bytes it arrived in, equal to a fresh encoding', () => {
    const buf = Buffer.from(AcceptRequest.encode({ requestId: 9n, accept: { ballot, slot: 4n, value: slotValueToWire(value) }, commits: [{ ballot, fromSlot: 1n, toSlot: 4n, values: [] }] }).finish());
    const v = accepted(buf);
    const bytes = encodedSlotValue(v);
    expect(Buffer.from(bytes)).toEqual(fresh(value));
    expect(bytes.buffer).toBe(buf.buffer); // a view into the request: nothing encoded again
  });

  it("the values of commit notices (an acceptor outside the accept fan-out keeps them) are stored as the bytes they arrived in", () => {
    const other: SlotValue = { kind: 'batch', commands: [{ clientRequestId: 'c', contentType: 'text/plain', data: new Uint8Array([9]) }] };
    const commits = [
      { ballot, fromSlot: 1n, toSlot: 2n, values: [] },
      { ballot, fromSlot: 2n, toSlot: 4n, values: [slotValueToWire(value), slotValueToWire(other)] },
      { ballot, fromSlot: 4n, toSlot: 5n, values: [slotValueToWire({ kind: 'noop' })] },
    ];
    const buf = Buffer.from(AcceptRequest.encode({ requestId: 9n, commits }).finish());
    const notices = acceptRequestFromWire(decodeAcceptRequest(buf)).notices;
    const values = notices.flatMap((n) => (n.type === 'commit' && n.value ? [n.value] : []));
    expect(values.map((v) => Buffer.from(encodedSlotValue(v)))).toEqual([fresh(value), fresh(other), fresh({ kind: 'noop' })]);
    for (const v of values.slice(0, 2)) expect(encodedSlotValue(v).buffer).toBe(buf.buffer);
  });

  it('a value whose field appears twice is encoded afresh from what was decoded', () => {
    const commands = value.kind === 'batch' ? value.commands : [];
    const [first, second] = [slotValueToWire({ kind: 'batch', commands: commands.slice(0, 1) }), slotValueToWire({ kind: 'batch', commands: commands.slice(1) })];
    const accept = (v: WireSlotValue) => Buffer.from(AcceptRequest.encode({ requestId: 1n, accept: { ballot, slot: 4n, value: v }, commits: [] }).finish());
    // Two AcceptRequests concatenated are one message with the accept field twice: whatever the
    // decoder made of it, the stored bytes must be those of the decoded value.
    const v = accepted(Buffer.concat([accept(first), accept(second)]));
    expect(Buffer.from(encodedSlotValue(v))).toEqual(fresh(v));
  });

  it('a value built here (not received) is encoded', () => {
    expect(Buffer.from(encodedSlotValue(value))).toEqual(fresh(value));
  });
});
