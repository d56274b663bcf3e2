import type { ChosenEntry, SlotValue } from '@paxos/consensus-core';
import { AgreedState } from '@paxos/state-machine';
import { ChosenLog } from './chosen-log';

const value = (...ids: string[]): SlotValue => ({ kind: 'batch', commands: ids.map((id) => ({ clientRequestId: id, contentType: 't', data: new Uint8Array(100) })) });
const entry = (slot: bigint, v: SlotValue): ChosenEntry => ({ slot, ballot: { round: 1n, proposerId: 1 }, value: v });
const log = (retainedBytesMax: number) => new ChosenLog({ retainedSlotsMax: 1000, retainedBytesMax, state: new AgreedState({ digest: () => 'd' }) });

describe('the chosen log', () => {
  it('keeps values within its memory bound, counting each command object, and answers each id once', () => {
    const l = log(1000); // one 2-command slot costs 2 * (100 + about 110 framing/ids) + 2 * 256
    expect(l.learn([entry(0n, value('a', 'b')), entry(1n, value('c', 'd'))]).map((r) => r.clientRequestId)).toEqual(['a', 'b', 'c', 'd']);
    expect(l.oldestSlot).toBe(1n);
    expect(l.entry(0n)).toBeUndefined();
    expect(l.entry(1n)).toBeDefined();
    expect(l.learn([entry(2n, value('a'))])).toEqual([]); // 'a' was answered by slot 0
    expect(l.result('a')?.slot).toBe(0n);
  });

  it('counts for metrics only the commands delivered once it took client work, not the log it learned at start', () => {
    const l = log(1_000_000);
    l.learn([entry(0n, value('a', 'b')), entry(1n, value('c'))]);
    expect(l.commandsDeliveredInService).toBe(0);
    l.startService();
    l.learn([entry(2n, value('d', 'e'))]);
    expect(l.commandsDeliveredInService).toBe(2);
    l.startService(); // once: a second call moves nothing
    expect(l.commandsDeliveredInService).toBe(2);
    expect(l.commandsDelivered).toBe(5);
  });

  it('keeps a retained value in memory of its own, not the buffer it was decoded into', () => {
    // A client's value is decoded into a slice of a buffer shared with other data (grpc-js and
    // protobuf put small ones in 8 KiB pool slabs): kept as it came, each retained value would keep
    // its whole buffer alive, and the bound on retained bytes would count a fraction of the memory.
    const shared = Buffer.alloc(64 * 1024, 7);
    const v: SlotValue = {
      kind: 'batch',
      commands: [
        { clientRequestId: 'a', contentType: 't', data: shared.subarray(100, 300) },
        { clientRequestId: 'b', contentType: 't', data: shared.subarray(5000, 5010) },
      ],
    };
    const l = log(1_000_000);
    l.learn([entry(0n, v)]);
    const kept = l.entry(0n)?.value;
    if (kept?.kind !== 'batch') throw new Error('slot 0 is not retained');
    expect(kept.commands.map((c) => Buffer.from(c.data).toString('hex'))).toEqual(v.commands.map((c) => Buffer.from(c.data).toString('hex')));
    for (const c of kept.commands) {
      expect(c.data.buffer).not.toBe(shared.buffer);
      expect(c.data.buffer.byteLength).toBeLessThanOrEqual(210);
    }
  });
});
