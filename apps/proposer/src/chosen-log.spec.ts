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
});
