import { AcceptorCatchUp } from './catch-up';
import { ChosenLog } from './chosen-log';

describe('acceptor catch-up bookkeeping', () => {
  it('tells of every committed answer, and ignores other answers', () => {
    const told: string[] = [];
    const catchUp = new AcceptorCatchUp([], new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, rememberedIdsMax: 16, digest: () => 'd' }), { batchSlots: 64, windowSlots: 2, onCommitted: (node, index) => told.push(`${node}:${index}`) });
    catchUp.noteReply(3, { requestId: 1n, outcome: { $case: 'committed', value: { committedIndex: 7n } } });
    catchUp.noteReply(4, { requestId: 2n, outcome: { $case: 'refused', value: { reason: 'false claim' } } });
    expect(told).toEqual(['3:7']);
    expect(catchUp.anyAhead()).toBe(true); // acceptor 3 knows 7 chosen slots, nothing delivered here
  });
});
