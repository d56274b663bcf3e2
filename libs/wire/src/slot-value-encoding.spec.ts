import { type SlotValue, SeededRandom } from '@paxos/consensus-core';
import { AcceptRequest, SlotValue as WireSlotValue } from '@paxos/proto';
import { acceptRequestFromWire } from './acceptor-messages';
import { encodedSlotValue, slotValueFromWire, slotValueToWire } from './slot-value';
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
  it('a value whose fields run past its own bytes is stored encoded afresh, as the acceptor read it', () => {
    // Inside the request, the command's id (3 bytes here, 7 by its length) swallows the Accept's
    // slot field after the value: the value's bytes alone do not decode. Stored as they came, they
    // would be a vote log and history record no acceptor can read back, on every one that voted.
    const command = Buffer.from([0x12, 0x03, 0x0a, 0x01, 0x61, 0x0a, 0x07, 0x61, 0x62, 0x63]);
    const batch = Buffer.concat([Buffer.from([0x0a, command.length]), command]);
    const bytes = Buffer.concat([Buffer.from([0x12, batch.length]), batch]);
    const accept = Buffer.concat([Buffer.from([0x0a, 0x04, 0x08, 0x01, 0x10, 0x01, 0x1a, bytes.length]), bytes, Buffer.from([0x10, 0x07, 0x20, 0x01])]);
    const req = decodeAcceptRequest(Buffer.concat([Buffer.from([0x12, accept.length]), accept]));
    const voted = slotValueFromWire(req.accept?.value);
    expect(voted).toMatchObject({ kind: 'batch', commands: [{ clientRequestId: 'abc\u0010\u0007 \u0001' }] });
    expect(() => WireSlotValue.decode(bytes)).toThrow(/premature EOF/);
    expect(slotValueFromWire(WireSlotValue.decode(encodedSlotValue(voted)))).toEqual(voted);
  });

  it('a value whose packed verified_by ends in a varint that runs past its own bytes is stored encoded afresh', () => {
    // verified_by [1, then a varint whose continuation bit takes the Accept's next byte]. The
    // bytes after the value read as fields both from their start and from their second byte.
    const command = Buffer.from([0x12, 0x03, 0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62, 0x1a, 0x02, 0x01, 0x85]);
    const batch = Buffer.concat([Buffer.from([0x0a, command.length]), command]);
    const bytes = Buffer.concat([Buffer.from([0x12, batch.length]), batch]);
    const accept = Buffer.concat([Buffer.from([0x0a, 0x04, 0x08, 0x01, 0x10, 0x01, 0x1a, bytes.length]), bytes, Buffer.from([0x22, 0x20, 0x80, 0x01]), Buffer.alloc(30, 0x20)]);
    const voted = slotValueFromWire(decodeAcceptRequest(Buffer.concat([Buffer.from([0x12, accept.length]), accept])).accept?.value);
    expect(voted).toMatchObject({ kind: 'batch', commands: [{ clientRequestId: 'b', verifiedBy: [1, 0x1105] }] });
    expect(slotValueFromWire(WireSlotValue.decode(encodedSlotValue(voted)))).toEqual(voted);
  });

  it('an accepted value is stored as the bytes it arrived in, equal to a fresh encoding', () => {
    const buf = Buffer.from(AcceptRequest.encode({ requestId: 9n, quorumCommittedIndex: 0n, accept: { ballot, slot: 4n, value: slotValueToWire(value) }, commits: [{ ballot, fromSlot: 1n, toSlot: 4n, values: [] }] }).finish());
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
    const buf = Buffer.from(AcceptRequest.encode({ requestId: 9n, quorumCommittedIndex: 0n, commits }).finish());
    const notices = acceptRequestFromWire(decodeAcceptRequest(buf)).notices;
    const values = notices.flatMap((n) => (n.type === 'commit' && n.value ? [n.value] : []));
    expect(values.map((v) => Buffer.from(encodedSlotValue(v)))).toEqual([fresh(value), fresh(other), fresh({ kind: 'noop' })]);
    for (const v of values.slice(0, 2)) expect(encodedSlotValue(v).buffer).toBe(buf.buffer);
  });

  it('a value whose field appears twice is encoded afresh from what was decoded', () => {
    const commands = value.kind === 'batch' ? value.commands : [];
    const [first, second] = [slotValueToWire({ kind: 'batch', commands: commands.slice(0, 1) }), slotValueToWire({ kind: 'batch', commands: commands.slice(1) })];
    const accept = (v: WireSlotValue) => Buffer.from(AcceptRequest.encode({ requestId: 1n, quorumCommittedIndex: 0n, accept: { ballot, slot: 4n, value: v }, commits: [] }).finish());
    // Two AcceptRequests concatenated are one message with the accept field twice: whatever the
    // decoder made of it, the stored bytes must be those of the decoded value.
    const v = accepted(Buffer.concat([accept(first), accept(second)]));
    expect(Buffer.from(encodedSlotValue(v))).toEqual(fresh(v));
  });

  it('a value built here (not received) is encoded', () => {
    expect(Buffer.from(encodedSlotValue(value))).toEqual(fresh(value));
  });

  it('stores, for any bytes a value arrives in, bytes that decode alone to the value voted on (seeded, mutated values)', () => {
    const rnd = new SeededRandom(20240611);
    const field = (no: number, b: Buffer) => {
      const len: number[] = [];
      for (let n = b.length; ; n >>>= 7) {
        if (n < 0x80) {
          len.push(n);
          break;
        }
        len.push((n & 0x7f) | 0x80);
      }
      return Buffer.concat([Buffer.from([(no << 3) | 2, ...len]), b]);
    };
    const bytesOf = (n: number) => Uint8Array.from({ length: n }, () => rnd.int(0, 256));
    let reused = 0;
    let afresh = 0;
    for (let round = 0; round < 3000; round++) {
      const v: SlotValue =
        round % 17 === 0
          ? { kind: 'noop' }
          : {
              kind: 'batch',
              commands: Array.from({ length: rnd.int(1, 4) }, (_, i) => ({
                clientRequestId: `c${round}-${i}`,
                contentType: 'text/plain',
                data: bytesOf(rnd.int(0, 40)),
                ...(rnd.int(0, 2) === 0 ? { verifiedBy: [rnd.int(0, 300), rnd.int(0, 1 << 20)] } : {}),
              })),
            };
      const encoded = Buffer.from(fresh(v));
      // A few bytes changed, dropped or added: lengths and tags that run past their message or stop it early.
      const mutated = [...encoded];
      const changes = round % 5 === 0 ? 0 : rnd.int(1, 4);
      for (let k = 0; k < changes && mutated.length > 0; k++) {
        const at = rnd.int(0, mutated.length);
        const op = rnd.int(0, 3);
        if (op === 0) mutated[at] = rnd.int(0, 256);
        else if (op === 1) mutated.splice(at, 1);
        else mutated.splice(at, 0, rnd.int(0, 256));
      }
      const bytes = Buffer.from(mutated);
      const after = Buffer.concat([Buffer.from([0x10, 0x07, 0x20, 0x01, 0x0a, 0x02, 0x08, 0x01]), Buffer.from(round % 2 === 0 ? [] : bytesOf(rnd.int(0, 12)))]);
      const accept = Buffer.concat([Buffer.from([0x0a, 0x04, 0x08, 0x01, 0x10, 0x01]), field(3, bytes), after]);
      const request = field(2, accept);
      let req: AcceptRequest;
      try {
        req = decodeAcceptRequest(request);
      } catch {
        continue; // refused as undecodable
      }
      let voted: SlotValue;
      try {
        voted = slotValueFromWire(req.accept?.value);
      } catch {
        continue;
      }
      const stored = encodedSlotValue(voted);
      if (stored.buffer === request.buffer) reused++;
      else afresh++;
      expect(slotValueFromWire(WireSlotValue.decode(stored))).toEqual(voted);
    }
    // Unchanged values are stored as they came.
    expect(reused).toBeGreaterThan(300);
    expect(afresh).toBeGreaterThan(50);
  });
});

