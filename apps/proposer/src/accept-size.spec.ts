// The accept a proposer builds from values it took must fit what an acceptor receives (its value
// bound plus 64 KiB): one that does not is refused by the acceptor's transport on every retry, and
// its slot, then the proposer's window, never moves.
import { type Command, ProposerCore, Quorum } from '@paxos/consensus-core';
import { AcceptRequest } from '@paxos/proto';
import { ballotToWire, slotValueToWire } from '@paxos/wire';
import { ValueChecker } from './value-check';

const MAX_VALUE_BYTES = 1024 * 1024;
/** The acceptor's receive bound (apps/acceptor main.ts: its value bound plus REQUEST_OVERHEAD_BYTES). */
const ACCEPTOR_RECEIVE_BYTES = MAX_VALUE_BYTES + 64 * 1024;

describe('an accept built from the largest values a proposer takes', () => {
  it('fits the acceptors\' receive bound when ids and content types are written in multi-byte characters', () => {
    const checker = new ValueChecker(MAX_VALUE_BYTES, () => undefined);
    // 256 characters of three UTF-8 bytes each, in the id and in a quoted parameter of the content type.
    const wide = (i: number, dataBytes: number): Command =>
      checker.check(`${String(i).padStart(4, '0')}${'漢'.repeat(252)}`, { contentType: `text/plain; q="${'漢'.repeat(240)}"`, data: Buffer.alloc(dataBytes, 1) });
    const units = wide(0, 0).clientRequestId.length + wide(0, 0).contentType.length;
    // As the proposer service runs it: 256 commands a batch, batches up to the value bound.
    const core = new ProposerCore({ proposerId: 1, quorum: new Quorum(3), acceptorIds: [0, 1, 2], random: () => 0.5, batchCommandsMax: 256, batchBytesMax: MAX_VALUE_BYTES, windowSlots: 64 });
    const commands = Array.from({ length: 256 }, (_, i) => wide(i, MAX_VALUE_BYTES / 256 - units));
    expect(core.submitAll(commands).rejected).toEqual([]);
    let accepts: Array<{ slot: bigint; value: Parameters<typeof slotValueToWire>[0] }> = [];
    for (const from of [0, 1]) {
      const o = core.handle({ type: 'promise', from, ballot: core.ballot, accepted: [], truncated: false, committedIndex: 0n });
      accepts = accepts.concat(o.messages.flatMap((m) => (m.type === 'accept' && m.to === 0 ? [{ slot: m.slot, value: m.value }] : [])));
    }
    expect(accepts.length).toBeGreaterThan(0);
    const carried = accepts.reduce((n, a) => n + (a.value.kind === 'batch' ? a.value.commands.length : 0), 0);
    expect(carried).toBe(256);
    for (const a of accepts) {
      const bytes = AcceptRequest.encode({ requestId: 1n, accept: { ballot: ballotToWire(core.ballot), slot: a.slot, value: slotValueToWire(a.value) }, commits: [], quorumCommittedIndex: 0n }).finish().length;
      expect(bytes).toBeLessThanOrEqual(ACCEPTOR_RECEIVE_BYTES);
    }
  });

  it("fits when a batch holds as many small commands as the queue does (--batch-commands above it; protobuf's framing counted)", () => {
    const checker = new ValueChecker(MAX_VALUE_BYTES, () => undefined);
    const core = new ProposerCore({ proposerId: 1, quorum: new Quorum(3), acceptorIds: [0, 1, 2], random: () => 0.5, batchCommandsMax: 100_000, batchBytesMax: MAX_VALUE_BYTES, windowSlots: 64 });
    // As many as the core's queue holds (10,000), of 100 bytes each: about 1 MiB counted, and
    // some 14 bytes of framing each that the count left out (40 and more with a certificate).
    const commands = Array.from({ length: 10_000 }, (_, i) => checker.check(i.toString(36), { contentType: 'a/b', data: Buffer.alloc(100, 1) }));
    const accepts: Array<{ slot: bigint; value: Parameters<typeof slotValueToWire>[0] }> = [];
    const take = (messages: ReturnType<typeof core.handle>['messages']) => accepts.push(...messages.flatMap((m) => (m.type === 'accept' && m.to === 0 ? [{ slot: m.slot, value: m.value }] : [])));
    const submitted = core.submitAll(commands);
    expect(submitted.rejected).toEqual([]);
    take(submitted.output.messages);
    for (const from of [0, 1]) take(core.handle({ type: 'promise', from, ballot: core.ballot, accepted: [], truncated: false, committedIndex: 0n }).messages);
    expect(accepts.length).toBeGreaterThan(0);
    for (const a of accepts) {
      const bytes = AcceptRequest.encode({ requestId: 1n, accept: { ballot: ballotToWire(core.ballot), slot: a.slot, value: slotValueToWire(a.value) }, commits: [], quorumCommittedIndex: 0n }).finish().length;
      expect(bytes).toBeLessThanOrEqual(ACCEPTOR_RECEIVE_BYTES);
    }
  });
});
